//===- attention_bench.cpp - Time the CPU attention kernel ----------------===//
//
//   xformer-attention-bench KIND SEQ HEAD_DIM [HEADS] [REPEATS]
//
// KIND is bidirectional, causal, prefix_lm (prefix SEQ/2), sliding_window
// (window 256) or cross (queries SEQ/4). Checks sampled rows against a naive
// evaluation first, then prints one CSV line:
//   kind,seq,head_dim,heads,visible_pairs,median_ms,min_ms,max_ms,gflops
// where GFLOP counts only visible pairs (4 * heads * head_dim * pairs).
//
//===----------------------------------------------------------------------===//

#include "xformer/Runtime/CPU/Attention.h"
#include "xformer/Semantics/BlockSparsity.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

using namespace xformer::runtime::cpu;

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
  mask::Spec spec;
  int64_t qLen = seq;
  if (kind == "bidirectional")
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
  std::vector<float> q(heads * qLen * hd), k(heads * seq * hd),
      v(heads * seq * hd), out(heads * qLen * hd);
  for (auto *x : {&q, &k, &v})
    for (float &e : *x)
      e = n(rng);
  AttentionArgs a;
  a.query = q.data();
  a.key = k.data();
  a.value = v.data();
  a.out = out.data();
  a.batch = 1;
  a.heads = a.kvHeads = heads;
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

  std::vector<double> ms;
  for (int r = 0; r < repeats; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    attention(spec, a);
    auto t1 = std::chrono::steady_clock::now();
    ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  int64_t pairs = mask::countVisiblePairs(spec, qLen, seq);
  double median = ms[ms.size() / 2];
  double gflops = 4.0 * heads * hd * double(pairs) / (median * 1e6);
  std::printf("%s,%lld,%lld,%lld,%lld,%.3f,%.3f,%.3f,%.2f\n", kind.c_str(),
              (long long)seq, (long long)hd, (long long)heads,
              (long long)pairs, median, ms.front(), ms.back(), gflops);
  return 0;
}
