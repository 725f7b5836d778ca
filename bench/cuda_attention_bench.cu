//===- cuda_attention_bench.cu - GPU attention throughput ----------------===//
//
// Times xfk_attention<MASK, D, D> (the kernels the CUDA target's generated
// code calls) on random inputs: prefill attention per mask kind (TFLOP/s
// counting only the visible query-key pairs, as ../docs/performance.md
// explains) and decode steps over a long cache (bytes of K/V read per
// second against the device-to-device copy bandwidth measured here). One
// JSON object per line on stdout; bench/gpu_vs_torch.py runs the peers and
// writes the table. Without a CUDA device it prints SKIP and exits 0.
//
//   xformer-cuda-attention-bench [--quick]
//
//===----------------------------------------------------------------------===//

#include "xformer/Runtime/CUDA/Kernels.cuh"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

using namespace xformer::cuda;
namespace mask = mlir::xformer::mask;

extern "C" int32_t xfk_fail(xfk_frame *, int32_t status, const char *m) {
  std::fprintf(stderr, "xfk_fail: %s\n", m);
  return status;
}

namespace {

#define CHECK(x)                                                               \
  do {                                                                         \
    cudaError_t e_ = (x);                                                      \
    if (e_ != cudaSuccess) {                                                   \
      std::fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #x,          \
                   cudaGetErrorString(e_));                                    \
      std::exit(1);                                                            \
    }                                                                          \
  } while (0)

float *randomDevice(size_t n, uint32_t seed) {
  std::vector<float> h(n);
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (float &x : h)
    x = normal(rng);
  float *d = nullptr;
  CHECK(cudaMalloc(&d, n * sizeof(float)));
  CHECK(cudaMemcpy(d, h.data(), n * sizeof(float), cudaMemcpyHostToDevice));
  return d;
}

/// Median milliseconds of `reps` timed calls after `warmup` untimed ones.
template <typename F> double medianMs(F &&call, int warmup, int reps) {
  for (int i = 0; i < warmup; ++i)
    call();
  CHECK(cudaDeviceSynchronize());
  cudaEvent_t a, b;
  CHECK(cudaEventCreate(&a));
  CHECK(cudaEventCreate(&b));
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) {
    CHECK(cudaEventRecord(a));
    call();
    CHECK(cudaEventRecord(b));
    CHECK(cudaEventSynchronize(b));
    float ms = 0;
    CHECK(cudaEventElapsedTime(&ms, a, b));
    t.push_back(ms);
  }
  CHECK(cudaEventDestroy(a));
  CHECK(cudaEventDestroy(b));
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

const char *kindName(int m, bool documents) {
  if (documents)
    return "documents";
  switch (m) {
  case XFK_MASK_BIDIRECTIONAL:
    return "bidirectional";
  case XFK_MASK_CAUSAL:
    return "causal";
  case XFK_MASK_PREFIX_LM:
    return "prefix-lm";
  case XFK_MASK_SLIDING_WINDOW:
    return "sliding-window";
  default:
    return "cross";
  }
}

constexpr int64_t kWindow = 1024;   // sliding window
constexpr int64_t kDocument = 1024; // packed documents of this length

/// Prefill: batch * seq = 16k tokens, heads * D = 2048 (one layer of a
/// ~1B model); the prefix is half the sequence.
template <int MASK, int D> void prefill(int64_t seq, bool documents) {
  const int64_t batch = std::max<int64_t>(1, 16384 / seq), heads = 2048 / D;
  const size_t n = size_t(batch * heads * seq * D);
  float *q = randomDevice(n, 1), *k = randomDevice(n, 2),
        *v = randomDevice(n, 3), *out = nullptr;
  CHECK(cudaMalloc(&out, n * sizeof(float)));
  std::vector<int64_t> segments(size_t(batch * seq));
  for (size_t i = 0; i < segments.size(); ++i)
    segments[i] = int64_t(i % seq) / kDocument;
  int64_t *segDev = nullptr;
  CHECK(cudaMalloc(&segDev, segments.size() * sizeof(int64_t)));
  CHECK(cudaMemcpy(segDev, segments.data(), segments.size() * sizeof(int64_t),
                   cudaMemcpyHostToDevice));

  mask::Spec spec;
  spec.kind = static_cast<mask::Kind>(MASK);
  spec.window = kWindow;
  spec.prefix = seq / 2;
  double pairs = 0; // visible (query, key) pairs of one sequence and head
  for (int64_t i = 0; i < seq; ++i) {
    mask::KeyRange r = mask::visibleKeys(spec, i, seq, seq);
    if (documents)
      r.first = std::max(r.first, i / kDocument * kDocument);
    pairs += double(std::max<int64_t>(0, r.last - r.first));
  }
  const double flops = 4.0 * D * pairs * double(batch * heads);

  xfk_attention_args a = {};
  a.q = q;
  a.k = k;
  a.v = v;
  a.out = out;
  a.batch = batch;
  a.heads = a.kv_heads = heads;
  a.q_len = a.kv_len = seq;
  a.head_dim = a.v_head_dim = D;
  a.scale = 1.0f / std::sqrt(float(D));
  a.mask_kind = MASK;
  a.window = kWindow;
  a.prefix = seq / 2;
  if (documents) {
    a.documents = 1;
    a.segment_ids = segDev;
    a.segment_ids_dtype = XFM_I64;
  }
  xfk_frame f = {};
  bool failed = false;
  double ms = medianMs(
      [&] { failed = failed || xfk_attention<MASK, D, D>(&f, &a) != 0; }, 3,
      seq >= 8192 ? 10 : 20);
  CHECK(cudaGetLastError());
  if (failed)
    std::exit(1);
  std::printf("{\"bench\": \"prefill\", \"mask\": \"%s\", \"seq\": %lld, "
              "\"head_dim\": %d, \"batch\": %lld, \"heads\": %lld, \"ms\": "
              "%.4f, \"tflops\": %.2f}\n",
              kindName(MASK, documents), (long long)seq, D, (long long)batch,
              (long long)heads, ms, flops / ms * 1e-9);
  std::fflush(stdout);
  CHECK(cudaFree(q));
  CHECK(cudaFree(k));
  CHECK(cudaFree(v));
  CHECK(cudaFree(out));
  CHECK(cudaFree(segDev));
}

/// Decode: one query per sequence over `kvLen` cached keys, 32 query heads
/// sharing 8 KV heads (GQA 4:1), head_dim 128, f32 cache as the CUDA
/// target keeps it.
void decode(int64_t kvLen, double copyGBs) {
  constexpr int D = 128;
  const int64_t batch = 8, heads = 32, kvHeads = 8;
  const size_t kvN = size_t(batch * kvHeads * kvLen * D);
  float *q = randomDevice(size_t(batch * heads * D), 4),
        *k = randomDevice(kvN, 5), *v = randomDevice(kvN, 6), *out = nullptr;
  CHECK(cudaMalloc(&out, size_t(batch * heads * D) * sizeof(float)));
  xfk_attention_args a = {};
  a.q = q;
  a.k = k;
  a.v = v;
  a.out = out;
  a.batch = batch;
  a.heads = heads;
  a.kv_heads = kvHeads;
  a.q_len = 1;
  a.kv_len = kvLen;
  a.head_dim = a.v_head_dim = D;
  a.scale = 1.0f / std::sqrt(float(D));
  a.mask_kind = XFK_MASK_CAUSAL;
  xfk_frame f = {};
  bool failed = false;
  double ms = medianMs(
      [&] {
        failed = failed || xfk_attention<XFK_MASK_CAUSAL, D, D>(&f, &a) != 0;
      },
      5, 50);
  CHECK(cudaGetLastError());
  if (failed)
    std::exit(1);
  const double bytes = 2.0 * double(kvN) * sizeof(float);
  const double gbs = bytes / ms * 1e-6;
  std::printf("{\"bench\": \"decode\", \"kv_len\": %lld, \"batch\": %lld, "
              "\"heads\": %lld, \"kv_heads\": %lld, \"head_dim\": %d, "
              "\"ms\": %.4f, \"gbs\": %.1f, \"of_copy\": %.3f}\n",
              (long long)kvLen, (long long)batch, (long long)heads,
              (long long)kvHeads, D, ms, gbs, gbs / copyGBs);
  std::fflush(stdout);
  CHECK(cudaFree(q));
  CHECK(cudaFree(k));
  CHECK(cudaFree(v));
  CHECK(cudaFree(out));
}

/// Device-to-device copy of 2 GiB, bytes read plus written per second.
double copyBandwidth() {
  const size_t bytes = size_t(1) << 31;
  void *a = nullptr, *b = nullptr;
  CHECK(cudaMalloc(&a, bytes));
  CHECK(cudaMalloc(&b, bytes));
  CHECK(cudaMemset(a, 1, bytes));
  double ms = medianMs(
      [&] { CHECK(cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice)); }, 3,
      20);
  CHECK(cudaFree(a));
  CHECK(cudaFree(b));
  const double gbs = 2.0 * double(bytes) / ms * 1e-6;
  std::printf("{\"bench\": \"copy\", \"gbs\": %.1f}\n", gbs);
  return gbs;
}

template <int D> void prefillAll(int64_t seq) {
  prefill<XFK_MASK_BIDIRECTIONAL, D>(seq, false);
  prefill<XFK_MASK_CAUSAL, D>(seq, false);
  prefill<XFK_MASK_PREFIX_LM, D>(seq, false);
  prefill<XFK_MASK_SLIDING_WINDOW, D>(seq, false);
  prefill<XFK_MASK_CAUSAL, D>(seq, true);
}

} // namespace

int main(int argc, char **argv) {
  bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
    std::printf("SKIP: no CUDA device: the GPU attention benchmark did not "
                "run\n");
    return 0;
  }
  cudaDeviceProp prop;
  CHECK(cudaGetDeviceProperties(&prop, 0));
  std::printf("{\"bench\": \"device\", \"name\": \"%s\", \"sms\": %d}\n",
              prop.name, prop.multiProcessorCount);
  double copy = copyBandwidth();
  std::vector<int64_t> seqs =
      quick ? std::vector<int64_t>{2048} : std::vector<int64_t>{2048, 8192};
  for (int64_t seq : seqs) {
    prefillAll<64>(seq);
    prefillAll<128>(seq);
  }
  for (int64_t kv : {int64_t(8192), int64_t(32768)})
    decode(kv, copy);
  return 0;
}
