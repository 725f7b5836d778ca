//===- attention_test.cu - CUDA attention kernels against a reference ----===//
//
// Runs xfk_attention<MASK, D, DV> (tensor-core prefill and split-key
// decode paths) on random inputs for every mask kind, head sizes 64, 128,
// 80, 72 and 64/32 (the last two on the split-key path), GQA groups,
// per-sequence lengths (padding rows must be zeros), a runtime prefix,
// documents, additive bias, a custom mask and the edge cases with defined
// results (lengths 0 and 1 beside full ones, prefixes 0 and whole), and
// compares with a double-precision reference built from mask::isVisible
// on the host. bf16 tensor-core inputs: max abs error relative to the
// output's scale <= 2e-2.
//
// Built by CI for sm_80 and sm_90a; without a CUDA device it prints
// "SKIP: ..." and exits 0 (scripts/gpu-test.sh runs it, also under
// compute-sanitizer, where a GPU is present).
//
//===----------------------------------------------------------------------===//

#include "xformer/Runtime/CUDA/Kernels.cuh"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

using namespace xformer::cuda;
namespace mask = mlir::xformer::mask;

static std::string lastMessage;
extern "C" int32_t xfk_fail(xfk_frame *, int32_t status, const char *m) {
  lastMessage = m;
  return status;
}

namespace {

struct Case {
  const char *name;
  int maskKind;
  int64_t batch, heads, kvHeads, qLen, kvLen;
  int64_t window = 0, prefix = 0;
  bool lengths = false, runtimePrefix = false, documents = false, bias = false,
       custom = false;
  /// Explicit per-sequence key lengths (with `lengths`) and prefixes (with
  /// `runtimePrefix`) instead of the generated ones.
  std::vector<int64_t> lengthList = {}, prefixList = {};
};

int failures = 0;

template <typename T> T *upload(const std::vector<T> &h) {
  T *d = nullptr;
  cudaMalloc(&d, std::max<size_t>(1, h.size() * sizeof(T)));
  cudaMemcpy(d, h.data(), h.size() * sizeof(T), cudaMemcpyHostToDevice);
  return d;
}

template <int MASK, int D, int DV> void run(const Case &c) {
  std::mt19937 rng(1234);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  auto fill = [&](size_t n) {
    std::vector<float> v(n);
    for (float &x : v)
      x = normal(rng);
    return v;
  };
  std::vector<float> q = fill(c.batch * c.heads * c.qLen * D),
                     k = fill(c.batch * c.kvHeads * c.kvLen * D),
                     v = fill(c.batch * c.kvHeads * c.kvLen * DV);
  std::vector<int64_t> qLens(c.batch, c.qLen), kvLens(c.batch, c.kvLen),
      prefixes(c.batch, c.prefix), segments(c.batch * c.kvLen, 0);
  if (c.lengths)
    for (int64_t b = 0; b < c.batch; ++b) {
      kvLens[b] = c.lengthList.empty()
                      ? c.kvLen - (b * 37) % std::max<int64_t>(1, c.kvLen)
                      : c.lengthList[b];
      qLens[b] = c.qLen == c.kvLen ? kvLens[b] : std::min(c.qLen, kvLens[b]);
    }
  if (c.runtimePrefix)
    for (int64_t b = 0; b < c.batch; ++b)
      prefixes[b] =
          c.prefixList.empty() ? (b * 13 + 5) % (c.kvLen + 1) : c.prefixList[b];
  if (c.documents)
    for (int64_t b = 0; b < c.batch; ++b)
      for (int64_t j = 0; j < c.kvLen; ++j)
        segments[b * c.kvLen + j] = j / (17 + 5 * b);
  std::vector<float> bias;
  if (c.bias)
    bias = fill(c.heads * c.qLen * c.kvLen);
  std::vector<uint8_t> custom;
  if (c.custom) {
    custom.resize(c.batch * c.qLen * c.kvLen);
    for (auto &m : custom)
      m = rng() % 3 != 0;
    for (int64_t j = 0; j < c.kvLen; ++j) // a fully masked row
      custom[j] = 0;
  }
  const float scale = 1.0f / std::sqrt(float(D));

  // Reference in double.
  std::vector<double> ref(c.batch * c.heads * c.qLen * DV, 0.0);
  const int64_t group = c.heads / c.kvHeads;
  for (int64_t b = 0; b < c.batch; ++b)
    for (int64_t h = 0; h < c.heads; ++h)
      for (int64_t i = 0; i < c.qLen; ++i) {
        mask::Spec spec;
        spec.kind = static_cast<mask::Kind>(MASK);
        spec.window = c.window;
        spec.prefix = prefixes[b];
        spec.documents = c.documents;
        const int64_t kvh = h / group;
        std::vector<double> s(c.kvLen);
        std::vector<bool> vis(c.kvLen);
        double mx = -INFINITY;
        for (int64_t j = 0; j < c.kvLen; ++j) {
          vis[j] = mask::isVisibleInDocuments(spec, i, j, qLens[b], kvLens[b],
                                              segments.data() + b * c.kvLen);
          if (c.custom)
            vis[j] = vis[j] && custom[(b * c.qLen + i) * c.kvLen + j];
          if (!vis[j])
            continue;
          double x = 0;
          for (int d = 0; d < D; ++d)
            x += double(q[((b * c.heads + h) * c.qLen + i) * D + d]) *
                 k[((b * c.kvHeads + kvh) * c.kvLen + j) * D + d];
          x *= scale;
          if (c.bias)
            x += bias[(h * c.qLen + i) * c.kvLen + j];
          s[j] = x;
          mx = std::max(mx, x);
        }
        if (mx == -INFINITY)
          continue;
        double sum = 0;
        for (int64_t j = 0; j < c.kvLen; ++j)
          if (vis[j])
            sum += std::exp(s[j] - mx);
        for (int64_t j = 0; j < c.kvLen; ++j)
          if (vis[j])
            for (int d = 0; d < DV; ++d)
              ref[((b * c.heads + h) * c.qLen + i) * DV + d] +=
                  std::exp(s[j] - mx) / sum *
                  v[((b * c.kvHeads + kvh) * c.kvLen + j) * DV + d];
      }

  float *dq = upload(q), *dk = upload(k), *dv = upload(v), *db = upload(bias);
  int64_t *dql = upload(qLens), *dkl = upload(kvLens), *dp = upload(prefixes),
          *ds = upload(segments);
  uint8_t *dm = upload(custom);
  float *dout = nullptr;
  cudaMalloc(&dout, ref.size() * sizeof(float));
  cudaMemset(dout, 0xff, ref.size() * sizeof(float)); // NaN: all written?

  xfk_attention_args a = {};
  a.q = dq;
  a.k = dk;
  a.v = dv;
  a.out = dout;
  a.batch = c.batch;
  a.heads = c.heads;
  a.kv_heads = c.kvHeads;
  a.q_len = c.qLen;
  a.kv_len = c.kvLen;
  a.head_dim = D;
  a.v_head_dim = DV;
  a.scale = scale;
  a.mask_kind = MASK;
  a.window = c.window;
  a.prefix = c.prefix;
  a.documents = c.documents;
  if (c.lengths) {
    a.q_lengths = dql;
    a.kv_lengths = dkl;
    a.q_lengths_dtype = a.kv_lengths_dtype = XFM_I64;
  }
  if (c.runtimePrefix) {
    a.prefix_lengths = dp;
    a.prefix_lengths_dtype = XFM_I64;
  }
  if (c.documents) {
    a.segment_ids = ds;
    a.segment_ids_dtype = XFM_I64;
  }
  if (c.bias) {
    a.bias = db;
    a.bias_batch_stride = 0;
    a.bias_head_stride = c.qLen * c.kvLen;
  }
  if (c.custom) {
    a.mask = dm;
    a.mask_batch_stride = c.qLen * c.kvLen;
    a.mask_head_stride = 0;
  }
  xfk_frame f = {};
  int32_t rc = xfk_attention<MASK, D, DV>(&f, &a);
  cudaError_t e = cudaDeviceSynchronize();
  std::vector<float> got(ref.size());
  cudaMemcpy(got.data(), dout, got.size() * sizeof(float),
             cudaMemcpyDeviceToHost);
  double scaleRef = 1e-30, err = 0;
  bool finite = true;
  for (size_t i = 0; i < ref.size(); ++i) {
    scaleRef = std::max(scaleRef, std::abs(ref[i]));
    finite = finite && std::isfinite(got[i]);
    err = std::max(err, std::abs(double(got[i]) - ref[i]));
  }
  const double rel = err / scaleRef;
  const bool ok = rc == 0 && e == cudaSuccess && finite && rel <= 2e-2;
  std::printf(
      "%s %s (D=%d, DV=%d, %s path): max abs error / scale = %.3g%s%s\n",
      ok ? "PASS" : "FAIL", c.name, D, DV,
      attentionPath(D, DV, c.qLen, c.custom) == AttentionPath::TensorCore
          ? "tensor-core"
          : "split-key",
      rel, finite ? "" : ", non-finite output",
      rc ? (", " + lastMessage).c_str() : "");
  if (!ok)
    ++failures;
  for (void *p :
       {(void *)dq, (void *)dk, (void *)dv, (void *)db, (void *)dql,
        (void *)dkl, (void *)dp, (void *)ds, (void *)dm, (void *)dout})
    cudaFree(p);
}

template <int MASK> void allSizes(Case c) {
  run<MASK, 64, 64>(c);
  run<MASK, 128, 128>(c);
  run<MASK, 80, 80>(c);
  run<MASK, 72, 72>(c); // not a multiple of 16: split-key path
  run<MASK, 64, 32>(c); // value heads of another size: split-key path
}

} // namespace

int main() {
  int count = 0;
  cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess || count == 0) {
    std::printf("SKIP: no CUDA device (%s); the GPU attention checks did not "
                "run\n",
                e == cudaSuccess ? "none found" : cudaGetErrorString(e));
    return 0;
  }
  allSizes<XFK_MASK_BIDIRECTIONAL>(
      {"bidirectional, lengths", 0, 3, 4, 4, 200, 200, 0, 0, true});
  allSizes<XFK_MASK_CAUSAL>({"causal, GQA 8:2", 1, 2, 8, 2, 300, 300});
  allSizes<XFK_MASK_CAUSAL>({"causal chunk at an offset", 1, 2, 4, 4, 70, 250});
  allSizes<XFK_MASK_CAUSAL>({"causal decode step, GQA 8:1, lengths", 1, 3, 8, 1,
                             1, 4100, 0, 0, true});
  allSizes<XFK_MASK_PREFIX_LM>(
      {"prefix-LM, runtime prefix", 2, 3, 4, 4, 190, 190, 0, 0, false, true});
  allSizes<XFK_MASK_SLIDING_WINDOW>(
      {"sliding window 48", 3, 2, 4, 2, 260, 260, 48});
  allSizes<XFK_MASK_SLIDING_WINDOW>(
      {"sliding window 1", 3, 1, 2, 2, 100, 100, 1});
  allSizes<XFK_MASK_CROSS>({"cross, key lengths, bias", 4, 2, 4, 4, 33, 120, 0,
                            0, true, false, false, true});
  allSizes<XFK_MASK_CAUSAL>(
      {"causal, documents", 1, 2, 4, 4, 150, 150, 0, 0, false, false, true});
  allSizes<XFK_MASK_CUSTOM>({"custom mask with a fully masked row", 5, 2, 4, 4,
                             40, 90, 0, 0, false, false, false, false, true});

  // Edge cases with defined results: sequences of length 0 (all rows
  // zeros) and 1 beside full ones in one batch, prefixes of 0 (causal) and
  // of the whole sequence (bidirectional), a compile-time prefix equal to
  // the sequence.
  Case mixed{"mixed lengths 0, 1, 3 and 260", 0, 4, 4, 2, 260, 260};
  mixed.lengths = true;
  mixed.lengthList = {0, 1, 260, 3};
  allSizes<XFK_MASK_BIDIRECTIONAL>(mixed);
  mixed.maskKind = XFK_MASK_CAUSAL;
  mixed.name = "causal, mixed lengths 0, 1, 3 and 260";
  allSizes<XFK_MASK_CAUSAL>(mixed);
  Case decodeEdge{
      "decode step over caches of 0, 1 and 4100 keys", 1, 3, 8, 2, 1, 4100};
  decodeEdge.lengths = true;
  decodeEdge.lengthList = {0, 1, 4100};
  allSizes<XFK_MASK_CAUSAL>(decodeEdge);
  Case prefixes{
      "prefix-LM, prefixes 0 and the whole sequence", 2, 2, 4, 4, 150, 150};
  prefixes.runtimePrefix = true;
  prefixes.prefixList = {0, 150};
  allSizes<XFK_MASK_PREFIX_LM>(prefixes);
  Case wholePrefix{
      "prefix-LM, compile-time prefix = sequence", 2, 1, 4, 4, 96, 96, 0, 96};
  allSizes<XFK_MASK_PREFIX_LM>(wholePrefix);

  if (failures)
    std::printf("%d check(s) failed\n", failures);
  return failures ? 1 : 0;
}
