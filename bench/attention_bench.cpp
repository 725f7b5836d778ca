//===- attention_bench.cpp - Time the CPU attention kernel ----------------===//
//
//   xformer-attention-bench KIND SEQ HEAD_DIM [HEADS] [REPEATS]
//
// KIND is bidirectional, causal, prefix_lm (prefix SEQ/2), sliding_window
// (window 256) or cross (queries SEQ/4); decode (one query per head over SEQ
// cached tokens, GQA with HEADS/4 K/V heads) prints
//   decode,seq,head_dim,heads,kv_heads,median_ms,GB/s of K/V read
// (over separate caches that together take twice the last-level cache, as
// a model's layers do, so K and V come from memory);
// membw SIZE_MIB prints the machine's read bandwidth (membw,MiB,GB/s). Checks sampled rows against a naive
// evaluation first, then prints one CSV line:
//   kind,seq,head_dim,heads,visible_pairs,median_ms,min_ms,max_ms,gflops
// where GFLOP counts only visible pairs (4 * heads * head_dim * pairs).
//
//===----------------------------------------------------------------------===//

#include "xformer/Runtime/CPU/Attention.h"
#include "xformer/Semantics/BlockSparsity.h"

#include <algorithm>
#include <unistd.h>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

using namespace xformer::runtime::cpu;

/// Read bandwidth of this machine in GB/s: sums a buffer of `mb` MiB on
/// XFORMER_NUM_THREADS threads (default 2), the access pattern of decode.
static int memoryBandwidth(int64_t mb, int repeats) {
  const int64_t n = mb * (1 << 20) / sizeof(float);
  const char *env = std::getenv("XFORMER_NUM_THREADS");
  const int threads = env ? std::max(1, std::atoi(env)) : 2;
  std::vector<float> buf(n, 1.0f);
  std::vector<double> ms;
  volatile float sink = 0;
  for (int r = 0; r <= repeats; ++r) {
    std::vector<float> partial(threads, 0.0f);
    auto t0 = std::chrono::steady_clock::now();
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&, t] {
        const float *p = buf.data() + n / threads * t;
        float acc[16] = {};
        for (int64_t i = 0; i + 16 <= n / threads; i += 16)
          for (int l = 0; l < 16; ++l)
            acc[l] += p[i + l];
        for (float x : acc)
          partial[t] += x;
      });
    for (auto &th : pool)
      th.join();
    auto t1 = std::chrono::steady_clock::now();
    sink = sink + partial[0];
    if (r) // the first pass warms up
      ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  double median = ms[ms.size() / 2];
  std::printf("membw,%lld,%.2f\n", (long long)mb,
              double(n) * sizeof(float) / (median * 1e6));
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s KIND SEQ HEAD_DIM [HEADS] [REPEATS]\n",
                 argv[0]);
    return 2;
  }
  std::string kind = argv[1];
  int64_t seq = std::atoll(argv[2]), hd = std::atoll(argv[3]);
  int64_t heads = argc > 4 ? std::atoll(argv[4]) : 8;
  int repeats = argc > 5 ? std::atoi(argv[5]) : 5;
  if (kind == "membw")
    return memoryBandwidth(seq, repeats);
  mask::Spec spec;
  int64_t qLen = seq;
  int64_t kvHeads = heads;
  bool decode = false;
  if (kind == "decode") {
    // One query per head over SEQ cached tokens, 4 query heads per K/V head.
    spec.kind = mask::Kind::Causal;
    qLen = 1;
    kvHeads = std::max<int64_t>(1, heads / 4);
    decode = true;
  } else if (kind == "bidirectional")
    spec.kind = mask::Kind::Bidirectional;
  else if (kind == "causal")
    spec.kind = mask::Kind::Causal;
  else if (kind == "prefix_lm")
    spec = {mask::Kind::PrefixLM, 0, seq / 2, false};
  else if (kind == "sliding_window")
    spec = {mask::Kind::SlidingWindow, 256, 0, false};
  else if (kind == "cross") {
    spec.kind = mask::Kind::Cross;
    qLen = seq / 4;
  } else {
    std::fprintf(stderr, "unknown kind '%s'\n", kind.c_str());
    return 2;
  }
  if (seq <= 0 || hd <= 0 || heads <= 0 || repeats <= 0) {
    std::fprintf(stderr, "sizes and repeats must be positive\n");
    return 2;
  }
  std::mt19937_64 rng(1);
  std::normal_distribution<float> n(0.0f, 1.0f);
  std::vector<float> q(heads * qLen * hd), k(kvHeads * seq * hd),
      v(kvHeads * seq * hd), out(heads * qLen * hd);
  for (auto *x : {&q, &k, &v})
    for (float &e : *x)
      e = n(rng);
  AttentionArgs a;
  a.query = q.data();
  a.key = k.data();
  a.value = v.data();
  a.out = out.data();
  a.batch = 1;
  a.heads = heads;
  a.kvHeads = kvHeads;
  a.qLen = qLen;
  a.kvLen = seq;
  a.headDim = a.vHeadDim = hd;
  a.scale = 1.0f / std::sqrt(float(hd));

  // Check sampled rows against a naive evaluation before timing.
  attention(spec, a);
  for (int64_t i : {int64_t(0), qLen / 3, qLen - 1}) {
    double mx = -INFINITY, sum = 0;
    std::vector<double> s(seq, -INFINITY), acc(hd, 0.0);
    for (int64_t j = 0; j < seq; ++j) {
      if (!mask::isVisible(spec, i, j, qLen, seq))
        continue;
      double x = 0;
      for (int64_t d = 0; d < hd; ++d)
        x += double(q[i * hd + d]) * k[j * hd + d];
      s[j] = x * a.scale;
      mx = std::max(mx, s[j]);
    }
    for (int64_t j = 0; j < seq; ++j)
      if (s[j] != -INFINITY) {
        double p = std::exp(s[j] - mx);
        sum += p;
        for (int64_t d = 0; d < hd; ++d)
          acc[d] += p * v[j * hd + d];
      }
    for (int64_t d = 0; d < hd; ++d)
      if (std::fabs(acc[d] / sum - out[i * hd + d]) > 1e-4) {
        std::fprintf(stderr, "check failed at row %lld\n", (long long)i);
        return 1;
      }
  }

  // Decode reads every layer's cache once per token, and a model's caches
  // together outgrow the last-level cache: time it over as many separate
  // caches ("layers") as take twice the LLC, one after another, so K and V
  // come from memory as in a model rather than from a cache they fit in.
  std::vector<std::vector<float>> layerK, layerV;
  if (decode) {
    const long llc = std::max(0L, sysconf(_SC_LEVEL3_CACHE_SIZE));
    const double bytes = 2.0 * kvHeads * seq * hd * sizeof(float);
    const int64_t layers =
        std::clamp<int64_t>(int64_t(std::ceil(2.0 * double(llc) / bytes)), 1,
                            int64_t(4e9 / bytes));
    for (int64_t l = 0; l < layers; ++l) {
      layerK.push_back(k);
      layerV.push_back(v);
    }
  }
  std::vector<double> ms;
  for (int r = 0; r < repeats; ++r) {
    if (decode) {
      a.key = layerK[r % layerK.size()].data();
      a.value = layerV[r % layerV.size()].data();
    }
    auto t0 = std::chrono::steady_clock::now();
    attention(spec, a);
    auto t1 = std::chrono::steady_clock::now();
    ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  if (decode) {
    // Bytes of K and V read once per step (each K/V head serves its group).
    double bytes = 2.0 * kvHeads * seq * hd * sizeof(float);
    double median = ms[ms.size() / 2];
    std::printf("decode,%lld,%lld,%lld,%lld,%.4f,%.2f\n", (long long)seq,
                (long long)hd, (long long)heads, (long long)kvHeads, median,
                bytes / (median * 1e6));
    return 0;
  }
  int64_t pairs = mask::countVisiblePairs(spec, qLen, seq);
  double median = ms[ms.size() / 2];
  double gflops = 4.0 * heads * hd * double(pairs) / (median * 1e6);
  std::printf("%s,%lld,%lld,%lld,%lld,%.3f,%.3f,%.3f,%.2f\n", kind.c_str(),
              (long long)seq, (long long)hd, (long long)heads,
              (long long)pairs, median, ms.front(), ms.back(), gflops);
  return 0;
}
