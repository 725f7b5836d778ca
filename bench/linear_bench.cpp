//===- linear_bench.cpp - Time one linear over each weight format ---------===//
//
//   xformer-linear-bench ROWS IN OUT FORMAT [REPEATS]
//
// FORMAT is f32, f16, bf16, or a ggml block format (q8_0, q4_0, q4_1,
// q4_k, q6_k, ...). The weights are random, quantized as the runtime
// quantizes a checkpoint, and cycled over copies that together take four
// times the last-level cache, as a model's layers do, so each call reads
// its weights from memory. Prints one CSV line:
//   linear,rows,in,out,format,median_ms,GB/s of weights read,GFLOP/s
// XFORMER_NUM_THREADS sets the threads (default: the runtime's), and
// XFORMER_BLOCK_ISA the block kernels' instruction set. Block weights are
// also packed by 8 rows (packBlocks) as a model packs them on its first
// decode; XFORMER_BENCH_UNPACKED=1 reads the blocks as stored instead.
//
//===----------------------------------------------------------------------===//

#include "xformer/Runtime/CPU/Linear.h"
#include "xformer/Runtime/GGMLFormats.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

using namespace xformer::runtime;
using namespace xformer::runtime::cpu;

int main(int argc, char **argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: %s ROWS IN OUT FORMAT [REPEATS]\n", argv[0]);
    return 2;
  }
  const int64_t rows = std::atoll(argv[1]), in = std::atoll(argv[2]),
                out = std::atoll(argv[3]);
  const std::string format = argv[4];
  const int repeats = argc > 5 ? std::atoi(argv[5]) : 200;
  std::optional<GGMLTypeTraits> traits;
  for (uint32_t t = 0; t < 64 && !traits; ++t)
    if (auto tr = ggmlTypeTraits(t)) {
      std::string name = tr->name;
      std::transform(name.begin(), name.end(), name.begin(), ::tolower);
      if (name == format)
        traits = tr;
    }
  if (!traits || !canQuantize(traits->type) || rows <= 0 || in <= 0 ||
      out <= 0 || in % traits->blockElements) {
    std::fprintf(stderr, "%s: no linear %lld x %lld x %lld in '%s'\n", argv[0],
                 (long long)rows, (long long)in, (long long)out,
                 format.c_str());
    return 2;
  }
  std::mt19937 rng(1);
  std::normal_distribution<float> normal;
  std::vector<float> w(size_t(out * in)), x(size_t(rows * in)),
      y(size_t(rows * out));
  for (float &v : w)
    v = normal(rng) * 0.05f;
  for (float &v : x)
    v = normal(rng);
  const int64_t bytes = out * (in / traits->blockElements) * traits->blockBytes;
  const int64_t copies = std::max<int64_t>(2, (int64_t(256) << 20) / bytes);
  std::vector<std::vector<uint8_t>> stored(static_cast<size_t>(copies));
  for (auto &s : stored) {
    s.resize(size_t(bytes));
    quantizeRow(traits->type, w.data(), s.data(), out * in);
  }
  const bool unpacked = std::getenv("XFORMER_BENCH_UNPACKED") != nullptr;
  std::vector<std::unique_ptr<PackedBlocks>> packed(
      static_cast<size_t>(copies));
  if (!unpacked && traits->blockElements > 1)
    for (int64_t c = 0; c < copies; ++c)
      packed[size_t(c)] =
          packBlocks(traits->type, stored[size_t(c)].data(), out, in);
  auto args = [&](int64_t c) {
    LinearArgs a;
    a.input = x.data();
    a.output = y.data();
    a.rows = rows;
    a.in = in;
    a.out = out;
    const void *p = stored[size_t(c % copies)].data();
    if (traits->type == GGMLType::F32)
      a.weight = static_cast<const float *>(p);
    else if (traits->type == GGMLType::BF16)
      a.weightBF16 = static_cast<const uint16_t *>(p);
    else if (traits->type == GGMLType::F16)
      a.weightF16 = static_cast<const uint16_t *>(p);
    else {
      a.weightBlocks = p;
      a.blockType = traits->type;
      a.packed = packed[size_t(c % copies)].get();
    }
    return a;
  };
  std::string error;
  std::vector<double> ms;
  for (int r = 0; r <= repeats; ++r) {
    const LinearArgs a = args(r);
    const auto t0 = std::chrono::steady_clock::now();
    if (!linear(a, error)) {
      std::fprintf(stderr, "%s: %s\n", argv[0], error.c_str());
      return 1;
    }
    const auto t1 = std::chrono::steady_clock::now();
    if (r) // the first call creates what is cached
      ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  const double median = ms[ms.size() / 2];
  std::printf("linear,%lld,%lld,%lld,%s,%.4f,%.2f,%.2f\n", (long long)rows,
              (long long)in, (long long)out, format.c_str(), median,
              double(bytes) / (median * 1e6),
              2.0 * double(rows * in * out) / (median * 1e6));
  return 0;
}
