//===- CPULinearTest.cpp - oneDNN GEMMs against a naive product -----------===//

#include "xformer/Runtime/CPU/Linear.h"
#include "xformer/Runtime/GGMLFormats.h"

#include "gtest/gtest.h"

#include <array>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <sys/wait.h>
#include <unistd.h>
#include <thread>
#include <vector>

using namespace xformer::runtime;
using namespace xformer::runtime::cpu;

namespace {

TEST(CPULinear, MatchesNaiveProductInBothLayouts) {
  std::mt19937_64 rng(3);
  std::normal_distribution<float> n(0.0f, 1.0f);
  for (int t = 0; t < 24; ++t) {
    int64_t rows = 1 + t * 5 % 37, in = 8 + t * 7 % 61, out = 1 + t * 11 % 53;
    bool transposed = t % 2, withBias = t % 3 != 0;
    std::vector<float> x(rows * in), w(in * out), b(out), y(rows * out, 9.0f);
    for (float &v : x)
      v = n(rng);
    for (float &v : w)
      v = n(rng);
    for (float &v : b)
      v = n(rng);
    LinearArgs a;
    a.input = x.data();
    a.weight = w.data();
    a.bias = withBias ? b.data() : nullptr;
    a.output = y.data();
    a.rows = rows;
    a.in = in;
    a.out = out;
    a.transposed = transposed;
    std::string error;
    ASSERT_TRUE(linear(a, error)) << error;
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t o = 0; o < out; ++o) {
        double want = withBias ? b[o] : 0.0;
        for (int64_t i = 0; i < in; ++i)
          want += double(x[r * in + i]) *
                  (transposed ? w[i * out + o] : w[o * in + i]);
        ASSERT_NEAR(y[r * out + o], want, 1e-4 * (1 + std::fabs(want)))
            << "rows " << rows << " in " << in << " out " << out
            << " transposed " << transposed;
      }
  }
}

/// The nearest bf16 to v (ties to even), computed from the definition: the
/// float's value rounded to 8 significant bits.
double nearestBF16(float v) {
  if (v == 0.0f)
    return 0.0;
  int e;
  const double m = std::frexp(double(v), &e); // v = m * 2^e, 0.5 <= |m| < 1
  const double scaled = std::ldexp(m, 8);     // 8 significant bits
  return std::ldexp(std::nearbyint(scaled), e - 8); // FE_TONEAREST: even
}

double activation(Activation act, double x) {
  switch (act) {
  case Activation::None:
    return x;
  case Activation::GeluErf:
    return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0)));
  case Activation::GeluTanh:
    return 0.5 * x *
           (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
  case Activation::Silu:
    return x / (1.0 + std::exp(-x));
  case Activation::Relu:
    return x > 0 ? x : 0.0;
  case Activation::Tanh:
    return std::tanh(x);
  }
  return x;
}

/// One bf16 linear against the definition: bf16 weights, the input rounded
/// to bf16, f32 sums and an f32 epilogue.
void checkBF16(std::mt19937_64 &rng, int64_t rows, int64_t in, int64_t out,
               bool transposed, bool withBias, bool withResidual,
               Activation act) {
  std::normal_distribution<float> n(0.0f, 1.0f);
  std::uniform_int_distribution<int> bits(0, 0xffff);
  std::vector<float> x(rows * in), b(out), res(rows * out), y(rows * out);
  std::vector<uint16_t> w(in * out);
  for (float &v : x)
    v = n(rng);
  for (uint16_t &v : w) { // finite bf16 values of moderate size
    do
      v = uint16_t(bits(rng));
    while (((v >> 7) & 0xff) > 130 || ((v >> 7) & 0xff) < 110);
  }
  for (float &v : b)
    v = n(rng);
  for (float &v : res)
    v = n(rng);
  auto weightAt = [&](int64_t o, int64_t i) {
    const uint16_t h = transposed ? w[i * out + o] : w[o * in + i];
    const double mag =
        std::ldexp(1.0 + (h & 0x7f) / 128.0, ((h >> 7) & 0xff) - 127);
    return (h & 0x8000) ? -mag : mag;
  };
  LinearArgs a;
  a.input = x.data();
  a.weightBF16 = w.data();
  a.bias = withBias ? b.data() : nullptr;
  a.output = y.data();
  a.rows = rows;
  a.in = in;
  a.out = out;
  a.transposed = transposed;
  a.activation = act;
  a.residual = withResidual ? res.data() : nullptr;
  std::string error;
  ASSERT_TRUE(linear(a, error)) << error;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t o = 0; o < out; ++o) {
      double sum = withBias ? b[o] : 0.0, scale = 0.0;
      for (int64_t i = 0; i < in; ++i) {
        const double p = nearestBF16(x[r * in + i]) * weightAt(o, i);
        sum += p;
        scale += std::fabs(p);
      }
      double want = activation(act, sum);
      if (withResidual)
        want += res[r * out + o];
      ASSERT_NEAR(y[r * out + o], want, 1e-5 * (1 + scale + std::fabs(want)))
          << "rows " << rows << " in " << in << " out " << out
          << " transposed " << transposed << " act " << int(act) << " at ["
          << r << ", " << o << "]";
    }
}

// Rows 1-8 take the streamed kernel, more rows the many-row path of this
// CPU (XFORMER_BF16_GEMM picks one: test/Target/CPU/bf16-linear-paths.test runs
// each); both layouts, odd sizes (vector tails), every activation, bias and
// residual.
// The gated linear unit after a fused gate/up projection: act(gate) * up
// against a double-precision reference, every activation, odd widths (the
// vector SiLU's tail), one row and enough rows to spread over the pool;
// large gates (the SiLU's e^-|x| form) included.
TEST(CPULinear, GatedLinearUnitMatchesReference) {
  std::mt19937_64 rng(11);
  std::normal_distribution<float> n(0.0f, 4.0f);
  const std::pair<Activation, double (*)(double)> acts[] = {
      {Activation::Silu, [](double v) { return v / (1.0 + std::exp(-v)); }},
      {Activation::GeluErf,
       [](double v) { return 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0))); }},
      {Activation::GeluTanh,
       [](double v) {
         return 0.5 * v *
                (1.0 + std::tanh(std::sqrt(2.0 / M_PI) *
                                 (v + 0.044715 * v * v * v)));
       }},
      {Activation::Relu, [](double v) { return v > 0 ? v : 0.0; }},
      {Activation::Tanh, [](double v) { return std::tanh(v); }}};
  for (auto [act, ref] : acts)
    for (auto [rows, width] : {std::pair<int64_t, int64_t>{1, 1},
                               {1, 13},
                               {3, 8},
                               {2, 1536},
                               {64, 1029}}) {
      std::vector<float> x(size_t(rows * 2 * width)),
          y(size_t(rows * width), 7.0f);
      for (float &v : x)
        v = n(rng);
      x[0] = 95.0f; // e^-x underflows
      if (x.size() > 2)
        x[1] = -95.0f;
      gatedLinearUnit(act, x.data(), y.data(), rows, width);
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t i = 0; i < width; ++i) {
          const double gate = x[size_t(r * 2 * width + i)],
                       up = x[size_t(r * 2 * width + width + i)];
          const double want = ref(gate) * up;
          ASSERT_NEAR(y[size_t(r * width + i)], want,
                      2e-6 * (1.0 + std::fabs(want)))
              << "activation " << int(act) << " rows " << rows << " width "
              << width << " at " << r << ", " << i;
        }
    }
}

TEST(CPULinear, BF16WeightsMatchRoundedProduct) {
  std::mt19937_64 rng(5);
  const Activation acts[] = {Activation::None,     Activation::GeluErf,
                             Activation::GeluTanh, Activation::Silu,
                             Activation::Relu,     Activation::Tanh};
  for (int t = 0; t < 36; ++t)
    checkBF16(rng, 1 + t % 12, 5 + t * 13 % 300, 1 + t * 29 % 600, t % 2,
              t % 3 != 0, t % 4 == 1, acts[t % 6]);
}

// Weights past 16 MB in f32: the widened path converts them a block of
// outputs at a time, writing the output (and reading the residual) through
// copies of the block's columns.
TEST(CPULinear, BF16LargeWeightsInBlocks) {
  std::mt19937_64 rng(7);
  checkBF16(rng, 12, 8197, 1203, false, true, true, Activation::GeluTanh);
  checkBF16(rng, 10, 8197, 1203, true, true, true, Activation::None);
}

TEST(CPULinear, RejectsInvalidArguments) {
  LinearArgs a;
  std::string error;
  EXPECT_FALSE(linear(a, error));
  EXPECT_EQ(error, "linear: invalid arguments");
  // Both an f32 and a bf16 weight.
  float x = 1, wf = 1, y = 0;
  uint16_t wb = 0x3f80;
  a.input = &x;
  a.weight = &wf;
  a.weightBF16 = &wb;
  a.output = &y;
  a.rows = a.in = a.out = 1;
  EXPECT_FALSE(linear(a, error));
}

} // namespace

namespace {

// One shape's primitive run from two threads at once, as two models on two
// threads do: every result must be the one it gets alone (the primitive's
// library-owned scratchpad and one shared stream used to mix them).
TEST(CPULinear, OnePrimitiveOnTwoThreadsAtOnce) {
  const int64_t shapes[][3] = {{64, 768, 768}, {7, 576, 1536}, {128, 384, 1536}};
  for (const auto &shape : shapes) {
    const int64_t rows = shape[0], in = shape[1], out = shape[2];
    std::mt19937_64 rng(rows);
    std::normal_distribution<float> n(0.0f, 1.0f);
    std::vector<float> w(in * out), bias(out), residual(rows * out);
    for (float &v : w)
      v = n(rng);
    for (float &v : residual)
      v = n(rng);
    for (float &v : bias)
      v = n(rng);
    std::vector<float> x[2], want[2];
    for (int t = 0; t < 2; ++t) {
      x[t].resize(rows * in);
      for (float &v : x[t])
        v = n(rng);
      want[t].resize(rows * out);
      LinearArgs a;
      a.input = x[t].data();
      a.weight = w.data();
      a.bias = bias.data();
      a.output = want[t].data();
      a.rows = rows;
      a.in = in;
      a.out = out;
      a.activation = Activation::GeluTanh;
      a.residual = residual.data();
      std::string error;
      ASSERT_TRUE(linear(a, error)) << error;
    }
    std::atomic<int> wrong{0};
    auto worker = [&](int t) {
      std::vector<float> y(rows * out);
      for (int i = 0; i < 60; ++i) {
        LinearArgs a;
        a.input = x[t].data();
        a.weight = w.data();
        a.bias = bias.data();
        a.output = y.data();
        a.rows = rows;
        a.in = in;
        a.out = out;
        a.activation = Activation::GeluTanh;
        a.residual = residual.data();
        std::string error;
        if (!linear(a, error) || y != want[t])
          ++wrong;
      }
    };
    std::thread t0(worker, 0), t1(worker, 1);
    t0.join();
    t1.join();
    EXPECT_EQ(wrong.load(), 0) << rows << "x" << in << "x" << out;
  }
}

} // namespace

namespace {

/// One f32 linear with every epilogue against a double-precision product.
void checkF32(std::mt19937_64 &rng, int64_t rows, int64_t in, int64_t out,
              bool transposed, Activation act, bool inPlace) {
  std::normal_distribution<float> n(0.0f, 1.0f);
  std::vector<float> x(rows * in), w(in * out), b(out), res(rows * out),
      y(rows * out, 7.0f);
  for (float &v : x)
    v = n(rng);
  for (float &v : w)
    v = n(rng);
  for (float &v : b)
    v = n(rng);
  for (float &v : res)
    v = n(rng);
  const std::vector<float> residual = res;
  LinearArgs a;
  a.input = x.data();
  a.weight = w.data();
  a.bias = b.data();
  a.output = inPlace ? res.data() : y.data(); // the residual stream in place
  a.rows = rows;
  a.in = in;
  a.out = out;
  a.transposed = transposed;
  a.activation = act;
  a.residual = res.data();
  std::string error;
  ASSERT_TRUE(linear(a, error)) << error;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t o = 0; o < out; ++o) {
      double sum = b[o], scale = std::fabs(b[o]);
      for (int64_t i = 0; i < in; ++i) {
        const double p = double(x[r * in + i]) *
                         (transposed ? w[i * out + o] : w[o * in + i]);
        sum += p;
        scale += std::fabs(p);
      }
      const double want = activation(act, sum) + residual[r * out + o];
      ASSERT_NEAR(a.output[r * out + o], want, 2e-6 * (1 + scale))
          << "rows " << rows << " in " << in << " out " << out
          << " transposed " << transposed << " act " << int(act) << " at ["
          << r << ", " << o << "]";
    }
}

// Outputs wider than one block: the columns are split over the runtime's
// threads (a strided view of the weight, bias, residual and output per
// block, the last block shorter), in both layouts, in place on the residual
// too.
TEST(CPULinear, F32ColumnBlocksMatchProduct) {
  std::mt19937_64 rng(11);
  const int64_t shapes[][3] = {
      {1, 64, 1000}, {3, 96, 200}, {17, 130, 577}, {64, 48, 1536}, {9, 33, 129}};
  const Activation acts[] = {Activation::None, Activation::Silu,
                             Activation::GeluTanh, Activation::GeluErf,
                             Activation::Relu};
  int t = 0;
  for (const auto &s : shapes)
    for (bool transposed : {false, true}) {
      checkF32(rng, s[0], s[1], s[2], transposed, acts[t % 5], t % 3 == 0);
      ++t;
    }
}

// Up to four rows of an [out, in] weight stream it (one output at a time,
// several accumulators per row, XFORMER_F32_GEMV=onednn sends them to
// oneDNN instead): inputs shorter than a vector, not a multiple of the
// unrolled step, outputs not a multiple of a thread's block, every row
// count of a group, each epilogue.
TEST(CPULinear, F32FewRowsMatchProduct) {
  std::mt19937_64 rng(17);
  const Activation acts[] = {Activation::None, Activation::Silu,
                             Activation::GeluTanh, Activation::Relu};
  int t = 0;
  for (int64_t rows : {1, 2, 3, 4})
    for (int64_t in : {5, 40, 77, 576, 1537})
      for (int64_t out : {1, 19, 300}) {
        checkF32(rng, rows, in, out, false, acts[t % 4], t % 3 == 0);
        ++t;
      }
}

/// One linear over f16 weights (GGUF F16) with an epilogue against the
/// double-precision product of the f16 values and the f32 input.
void checkF16(std::mt19937_64 &rng, int64_t rows, int64_t in, int64_t out,
              Activation act, bool inPlace) {
  std::normal_distribution<float> n(0.0f, 1.0f);
  std::vector<float> x(rows * in), b(out), res(rows * out), y(rows * out, 7.0f);
  std::vector<uint16_t> w(in * out);
  for (float &v : x)
    v = n(rng);
  for (uint16_t &v : w)
    v = floatToHalf(n(rng));
  w[0] = 0x0001; // the smallest subnormal half
  for (float &v : b)
    v = n(rng);
  for (float &v : res)
    v = n(rng);
  const std::vector<float> residual = res;
  LinearArgs a;
  a.input = x.data();
  a.weightF16 = w.data();
  a.bias = b.data();
  a.output = inPlace ? res.data() : y.data();
  a.rows = rows;
  a.in = in;
  a.out = out;
  a.activation = act;
  a.residual = res.data();
  std::string error;
  ASSERT_TRUE(linear(a, error)) << error;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t o = 0; o < out; ++o) {
      double sum = b[o], scale = std::fabs(b[o]);
      for (int64_t i = 0; i < in; ++i) {
        const double p = double(x[r * in + i]) * halfToFloat(w[o * in + i]);
        sum += p;
        scale += std::fabs(p);
      }
      const double want = activation(act, sum) + residual[r * out + o];
      ASSERT_NEAR(a.output[r * out + o], want, 2e-6 * (1 + scale))
          << "rows " << rows << " in " << in << " out " << out << " act "
          << int(act) << " at [" << r << ", " << o << "]";
    }
}

// Up to four rows stream the f16 weights (F16C where the build has it);
// more rows widen them to f32 panels for oneDNN's GEMM. Both, with every
// tail; a transposed f16 weight is refused.
TEST(CPULinear, F16WeightsMatchProduct) {
  std::mt19937_64 rng(19);
  const Activation acts[] = {Activation::None, Activation::Silu,
                             Activation::GeluErf};
  int t = 0;
  for (int64_t rows : {1, 3, 4, 5, 12, 33})
    for (int64_t in : {5, 40, 577})
      for (int64_t out : {1, 19, 300}) {
        checkF16(rng, rows, in, out, acts[t % 3], t % 4 == 0);
        ++t;
      }
  std::vector<float> x(8, 1.0f), y(8);
  std::vector<uint16_t> w(64, 0);
  LinearArgs a;
  a.input = x.data();
  a.weightF16 = w.data();
  a.output = y.data();
  a.rows = 1;
  a.in = a.out = 8;
  a.transposed = true;
  std::string error;
  EXPECT_FALSE(linear(a, error));
  EXPECT_EQ(error, "linear: an f16 weight is stored [out, in], not transposed");
}

extern "C" void omp_set_num_threads(int);

int64_t threadsOfProcess() {
  int64_t n = 0;
  std::error_code ec;
  for (const auto &entry :
       std::filesystem::directory_iterator("/proc/self/task", ec)) {
    (void)entry;
    ++n;
  }
  return n;
}

/// Runs oneDNN linears with two kernel threads and an OpenMP default of
/// two (even on a one-core machine); returns 0 if the process then has the
/// pool's one helper thread more than before and nothing else.
int linearThreadsCheck() {
  setenv("XFORMER_NUM_THREADS", "2", 1);
  omp_set_num_threads(2);
  const int64_t before = threadsOfProcess();
  std::mt19937_64 rng(13);
  std::normal_distribution<float> n(0.0f, 1.0f);
  const int64_t rows = 128, in = 512, out = 1024;
  std::vector<float> x(rows * in), w(in * out), y(rows * out);
  for (float &v : x)
    v = n(rng);
  for (float &v : w)
    v = n(rng);
  LinearArgs a;
  a.input = x.data();
  a.weight = w.data();
  a.output = y.data();
  a.rows = rows;
  a.in = in;
  a.out = out;
  std::string error;
  for (int i = 0; i < 3; ++i)
    if (!linear(a, error))
      return 2;
  return threadsOfProcess() == before + 1 ? 0 : 3;
}

// oneDNN runs on the runtime's own threads: a linear starts no OpenMP team
// beside the pool (the two took turns on the same cores, and on a loaded
// machine each OpenMP barrier waited a scheduler time slice for a member
// that had lost its core). Run in a fresh process (a death test in the
// threadsafe style re-executes this binary), so no earlier test has
// started threads.
TEST(CPULinearDeathTest, StartsNoThreadsBesideThePool) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(std::_Exit(linearThreadsCheck()), ::testing::ExitedWithCode(0),
              "");
}

/// Runs a linear, forks, and runs it again in the child; returns 0 if the
/// child finished within 20 s with the right result.
int forkedLinearCheck() {
  auto run = [] {
    std::vector<float> x(128 * 512, 1.0f), w(512 * 1024, 0.5f), y(128 * 1024);
    LinearArgs a;
    a.input = x.data();
    a.weight = w.data();
    a.output = y.data();
    a.rows = 128;
    a.in = 512;
    a.out = 1024;
    std::string error;
    return linear(a, error) && y[5] == 256.0f && y.back() == 256.0f;
  };
  setenv("XFORMER_NUM_THREADS", "2", 1);
  omp_set_num_threads(2);
  if (!run())
    return 2;
  const pid_t child = fork();
  if (child == 0) {
    alarm(20); // a child stuck in a dead OpenMP team ends with SIGALRM
    std::_Exit(run() ? 0 : 4);
  }
  int status = 0;
  if (child < 0 || waitpid(child, &status, 0) != child)
    return 5;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 6;
}

// A child forked after the parent ran linears runs them too: no OpenMP
// team exists whose threads the child would wait for (it hung in its
// first GEMM when oneDNN ran on its own team).
TEST(CPULinearDeathTest, ForkedChildRunsLinears) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(std::_Exit(forkedLinearCheck()), ::testing::ExitedWithCode(0),
              "");
}

} // namespace

namespace {

/// `count` standard normal values.
std::vector<float> normals(std::mt19937_64 &rng, int64_t count) {
  std::normal_distribution<float> n(0.0f, 1.0f);
  std::vector<float> v(count);
  for (float &e : v)
    e = n(rng);
  return v;
}

/// `w` [out, in] as ggml blocks of `type`.
std::vector<uint8_t> blocksOf(GGMLType type, const std::vector<float> &w) {
  const auto traits = *ggmlTypeTraits(uint32_t(type));
  std::vector<uint8_t> blocks(w.size() / traits.blockElements *
                             traits.blockBytes);
  EXPECT_TRUE(quantizeRow(type, w.data(), blocks.data(), int64_t(w.size())));
  return blocks;
}

std::vector<uint8_t> randomBlocks(std::mt19937_64 &rng, GGMLType type,
                                  int64_t elements);

/// `w` in blocks of `type` as the runtime quantizes it, or random blocks of
/// the formats it does not write (Q5_0, Q5_1).
std::vector<uint8_t> someBlocks(std::mt19937_64 &rng, GGMLType type,
                                const std::vector<float> &w) {
  return canQuantize(type) ? blocksOf(type, w)
                           : randomBlocks(rng, type, int64_t(w.size()));
}

/// A linear of `rows` x `in` by a [out, in] weight in ggml blocks.
LinearArgs blockArgs(const float *x, const std::vector<uint8_t> &blocks,
                     GGMLType type, float *y, int64_t rows, int64_t in,
                     int64_t out) {
  LinearArgs a;
  a.input = x;
  a.weightBlocks = blocks.data();
  a.blockType = type;
  a.output = y;
  a.rows = rows;
  a.in = in;
  a.out = out;
  return a;
}

// ggml blocks: Q8_0, Q4_0 and Q4_1 weights on every instruction set the
// CPU has, against the double-precision product of the dequantized weights
// (GGMLFormats, checked bit for bit against the gguf package) with the
// exact input. The kernel quantizes its input to 16 bits per block of 32,
// so each block's error is bounded by sum |w| * (max|x| / 32512) / 2.
// The k-quants (blocks of 256) on their own shapes.
TEST(CPULinear, GGMLBlocksMatchDequantizedProduct) {
  std::mt19937_64 rng(17);
  const GGMLType types[] = {GGMLType::Q8_0, GGMLType::Q4_0, GGMLType::Q4_1,
                            GGMLType::Q5_0, GGMLType::Q5_1, GGMLType::Q4_K,
                            GGMLType::Q6_K};
  const BlockISA isas[] = {BlockISA::Scalar, BlockISA::AVX2,
                           BlockISA::AVX512VNNI};
  using Shapes = std::vector<std::array<int64_t, 3>>;
  // From 12 rows on the weights as stored are decoded to f32 panels for
  // oneDNN's GEMM (33 x 70: panels of 48 and a tail of 22), exact
  // products; packed ones on AVX512-VNNI run the packed GEMM: pairs of
  // groups by tiles of 8 rows (33 rows: four tiles and one row; 70
  // outputs: four pairs and 6 past the last group; 24: one pair and an odd
  // group; 16: one pair; 8: one group, no pair).
  const Shapes shapes = {{1, 32, 1},    {1, 64, 8},    {1, 96, 5},
                         {1, 576, 33},  {3, 96, 17},   {9, 576, 200},
                         {2, 1536, 67}, {33, 576, 70}, {16, 64, 3},
                         {13, 96, 24},  {12, 64, 16},  {15, 160, 8}};
  const Shapes kShapes = {{1, 256, 1},   {1, 768, 7},  {3, 512, 17},
                          {9, 1536, 70}, {21, 512, 37}, {17, 256, 24},
                          {12, 512, 8}};
  int paths = 0;
  for (BlockISA isa : isas) {
    if (!cpuHasBlockISA(isa))
      continue;
    ++paths;
    forceBlockISA(isa);
    for (GGMLType type : types)
      for (const auto &s : ggmlTypeTraits(uint32_t(type))->blockElements == 256
                               ? kShapes
                               : shapes) {
        const int64_t rows = s[0], in = s[1], out = s[2];
        const auto traits = *ggmlTypeTraits(uint32_t(type));
        const std::vector<float> w = normals(rng, out * in),
                                 x = normals(rng, rows * in),
                                 bias = normals(rng, out),
                                 res = normals(rng, rows * out);
        std::vector<float> wd(out * in), y0(rows * out), y1(rows * out);
        const std::vector<uint8_t> blocks = someBlocks(rng, type, w);
        ASSERT_TRUE(dequantizeRow(type, blocks.data(), wd.data(), out * in));
        // Also packed by 8 rows (decode on AVX2; the outputs past the last
        // group of 8 from the blocks).
        const std::unique_ptr<PackedBlocks> packed =
            isa == BlockISA::Scalar ? nullptr
                                    : packBlocks(type, blocks.data(), out, in);
        if (isa != BlockISA::Scalar && out >= 8)
          ASSERT_TRUE(packed) << traits.name << " out " << out;
        for (const PackedBlocks *pack :
             {static_cast<const PackedBlocks *>(nullptr),
              static_cast<const PackedBlocks *>(packed.get())}) {
          LinearArgs a =
              blockArgs(x.data(), blocks, type, y0.data(), rows, in, out);
          a.packed = pack;
          std::string error;
          ASSERT_TRUE(linear(a, error)) << error;
          for (int64_t r = 0; r < rows; ++r)
            for (int64_t o = 0; o < out; ++o) {
              double want = 0, bound = 0;
              for (int64_t b = 0; b < in / 32; ++b) {
                double amax = 0, wsum = 0;
                for (int64_t j = b * 32; j < b * 32 + 32; ++j) {
                  want += double(wd[o * in + j]) * x[r * in + j];
                  amax = std::max(amax, double(std::fabs(x[r * in + j])));
                  wsum += std::fabs(wd[o * in + j]);
                }
                // Half a step of the input's quantization to 16 bits.
                bound += wsum * amax / 32512.0 * 0.5;
              }
              ASSERT_NEAR(y0[r * out + o], want, bound * 1.001 + 1e-4)
                  << traits.name << " isa " << int(isa) << " rows " << rows
                  << " in " << in << " out " << out << " packed " << bool(pack)
                  << " at [" << r << ", " << o << "]";
            }
          // The epilogue: bias, activation, residual on the same sums
          // (the packed GEMM's SiLU and ReLU in vectors, GELU per element).
          a.output = y1.data();
          a.bias = bias.data();
          a.residual = res.data();
          for (Activation act :
               {Activation::Silu, Activation::Relu, Activation::GeluTanh}) {
            a.activation = act;
            ASSERT_TRUE(linear(a, error)) << error;
            for (int64_t e = 0; e < rows * out; ++e) {
              const double z = double(y0[e]) + bias[e % out];
              const double f =
                  act == Activation::Silu   ? z / (1 + std::exp(-z))
                  : act == Activation::Relu ? std::max(z, 0.0)
                                            : 0.5 * z *
                                                  (1 + std::tanh(
                                                           0.7978845608028654 *
                                                           (z + 0.044715 * z *
                                                                    z * z)));
              const double want = f + res[e];
              ASSERT_NEAR(y1[e], want, 1e-5 * (1 + std::fabs(want)))
                  << traits.name << " activation " << int(act) << " at " << e;
            }
          }
          // The residual added in place: the output is the residual stream.
          std::vector<float> stream = res;
          a.output = stream.data();
          a.residual = stream.data();
          a.bias = nullptr;
          a.activation = Activation::None;
          ASSERT_TRUE(linear(a, error)) << error;
          for (int64_t e = 0; e < rows * out; ++e)
            ASSERT_NEAR(stream[e], double(y0[e]) + res[e],
                        1e-5 * (1 + std::fabs(res[e])))
                << traits.name << " rows " << rows << " in place at " << e;
        }
      }
  }
  forceBlockISA(BlockISA::Scalar);
  forceBlockISA(BlockISA(-1));
  EXPECT_GE(paths, 1);
  // Refused: a transposed weight, rows not whole blocks.
  std::vector<uint8_t> blocks(34);
  float xv[33] = {}, yv[1];
  LinearArgs a;
  a.input = xv;
  a.weightBlocks = blocks.data();
  a.output = yv;
  a.rows = 1;
  a.in = 33;
  a.out = 1;
  std::string error;
  EXPECT_FALSE(linear(a, error));
  EXPECT_NE(error.find("in a whole number of blocks, not Q8_0 with in = 33"),
            std::string::npos)
      << error;
}

/// Random blocks of `type`: random bytes with every f16 scale (and minimum)
/// replaced by a small finite half, so each block decodes to finite values.
std::vector<uint8_t> randomBlocks(std::mt19937_64 &rng, GGMLType type,
                                  int64_t elements) {
  const auto traits = *ggmlTypeTraits(uint32_t(type));
  std::vector<uint8_t> bytes(elements / traits.blockElements *
                             traits.blockBytes);
  for (uint8_t &b : bytes)
    b = uint8_t(rng());
  // Where each format keeps its f16 values, in bytes from the block start.
  std::vector<int64_t> halves;
  switch (type) {
  case GGMLType::Q5_0:
    halves = {0};
    break;
  case GGMLType::Q5_1:
    halves = {0, 2};
    break;
  case GGMLType::Q2_K:
    halves = {80, 82};
    break;
  case GGMLType::Q3_K:
    halves = {108};
    break;
  case GGMLType::Q4_K:
  case GGMLType::Q5_K:
    halves = {0, 2};
    break;
  case GGMLType::Q6_K:
    halves = {208};
    break;
  default:
    ADD_FAILURE() << "no scale layout for " << traits.name;
  }
  std::uniform_real_distribution<float> scale(-0.05f, 0.05f);
  for (int64_t blk = 0; blk < int64_t(bytes.size()) / traits.blockBytes;
       ++blk)
    for (int64_t at : halves) {
      const uint16_t h = floatToHalf(scale(rng));
      std::memcpy(&bytes[blk * traits.blockBytes + at], &h, sizeof h);
    }
  return bytes;
}

// The formats without an integer kernel (Q2_K, Q3_K, Q5_K): each
// weight row decoded as ggml decodes it, dotted in f32 with the input; the
// result is the product of the decoded weights to f32 rounding, with the
// epilogue.
TEST(CPULinear, GGMLDecodedFormatsMatchDequantizedProduct) {
  std::mt19937_64 rng(23);
  const GGMLType types[] = {GGMLType::Q2_K, GGMLType::Q3_K, GGMLType::Q5_K};
  const int64_t shapes[][3] = {{1, 256, 1}, {3, 512, 37}, {17, 768, 70}};
  for (GGMLType type : types)
    for (const auto &s : shapes) {
      const int64_t rows = s[0], in = s[1], out = s[2];
      const std::vector<uint8_t> blocks = randomBlocks(rng, type, out * in);
      const std::vector<float> x = normals(rng, rows * in),
                               bias = normals(rng, out);
      std::vector<float> wd(out * in), y(rows * out);
      ASSERT_TRUE(dequantizeRow(type, blocks.data(), wd.data(), out * in));
      LinearArgs a = blockArgs(x.data(), blocks, type, y.data(), rows, in, out);
      a.bias = bias.data();
      std::string error;
      ASSERT_TRUE(linear(a, error)) << error;
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t o = 0; o < out; ++o) {
          double want = bias[o], mag = std::fabs(bias[o]);
          for (int64_t k = 0; k < in; ++k) {
            want += double(wd[o * in + k]) * x[r * in + k];
            mag += std::fabs(double(wd[o * in + k]) * x[r * in + k]);
          }
          ASSERT_NEAR(y[r * out + o], want, 1e-5 * mag + 1e-6)
              << ggmlTypeName(uint32_t(type)) << " rows " << rows << " at ["
              << r << ", " << o << "]";
        }
    }
}

// The vector paths compute the same integer dot products as the scalar one:
// their results agree to float rounding on every tile shape (7 rows: tiles
// of 4 and a tail of 3; 99 outputs: tiles of 4 or 2 and a tail). Float
// sums in another order differ by a few ulps of the terms' magnitude,
// sum |w| |x|, not of the result (the 4-bit formats' offsets cancel).
TEST(CPULinear, GGMLBlockPathsAgree) {
  std::mt19937_64 rng(19);
  const int64_t rows = 7, in = 768, out = 99;
  for (GGMLType type : {GGMLType::Q8_0, GGMLType::Q4_0, GGMLType::Q4_1,
                        GGMLType::Q5_0, GGMLType::Q5_1, GGMLType::Q4_K,
                        GGMLType::Q6_K}) {
    const auto traits = *ggmlTypeTraits(uint32_t(type));
    const std::vector<float> w = normals(rng, out * in),
                             x = normals(rng, rows * in);
    const std::vector<uint8_t> blocks = someBlocks(rng, type, w);
    std::vector<float> wd(out * in), magnitude(rows * out);
    ASSERT_TRUE(dequantizeRow(type, blocks.data(), wd.data(), out * in));
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t o = 0; o < out; ++o)
        for (int64_t k = 0; k < in; ++k)
          magnitude[r * out + o] +=
              std::fabs(wd[o * in + k]) * std::fabs(x[r * in + k]);
    std::vector<float> scalar(rows * out);
    for (BlockISA isa :
         {BlockISA::Scalar, BlockISA::AVX2, BlockISA::AVX512VNNI}) {
      if (!cpuHasBlockISA(isa))
        continue;
      forceBlockISA(isa);
      std::vector<float> y(rows * out);
      const LinearArgs a =
          blockArgs(x.data(), blocks, type, y.data(), rows, in, out);
      std::string error;
      ASSERT_TRUE(linear(a, error)) << error;
      if (isa == BlockISA::Scalar)
        scalar = y;
      for (int64_t e = 0; e < rows * out; ++e)
        ASSERT_NEAR(y[e], scalar[e], 1e-6 * (1 + magnitude[e]))
            << traits.name << " isa " << int(isa) << " at " << e;
    }
  }
  forceBlockISA(BlockISA(-1));
}

} // namespace

// The build of the attention and linear kernels this process runs (one per
// instruction set, chosen from the CPU unless XFORMER_CPU_ISA narrows it):
// printed for test/Target/CPU/cpu-isa-builds.test, which runs the kernels'
// tests under each build the CPU has.
TEST(CPUISA, ReportsTheBuildItRuns) {
  const CpuISA isa = cpuISA();
  const char *name = isa == CpuISA::AVX512 ? "avx512"
                     : isa == CpuISA::AVX2 ? "avx2"
                                           : "baseline";
  std::printf("cpu isa build: %s\n", name);
  __builtin_cpu_init();
  if (isa != CpuISA::Baseline)
    EXPECT_TRUE(__builtin_cpu_supports("avx2"));
  if (isa == CpuISA::AVX512)
    EXPECT_TRUE(__builtin_cpu_supports("avx512bf16"));
}

// The packed weights' buffer: zeroed, 2 MiB-aligned from a huge page up
// (the kernel may back it with huge pages), owned once after a move.
TEST(CPULinear, HugePageBufferIsZeroedAlignedAndMoves) {
  for (size_t size : {size_t(1000), size_t(2) << 20, (size_t(3) << 20) + 17}) {
    HugePageBuffer b(size);
    ASSERT_NE(b.data(), nullptr);
    EXPECT_EQ(b.size(), size);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(b.data()) %
                  (size >= (size_t(2) << 20) ? (size_t(2) << 20) : 64),
              0u);
    for (size_t i = 0; i < size; i += 4093)
      EXPECT_EQ(b.data()[i], 0) << i;
    EXPECT_EQ(b.data()[size - 1], 0);
    uint8_t *p = b.data();
    HugePageBuffer moved(std::move(b));
    EXPECT_EQ(moved.data(), p);
    EXPECT_EQ(b.data(), nullptr);
    HugePageBuffer assigned;
    assigned = std::move(moved);
    EXPECT_EQ(assigned.data(), p);
    EXPECT_EQ(assigned.size(), size);
  }
  EXPECT_EQ(HugePageBuffer(0).data(), nullptr);
}

