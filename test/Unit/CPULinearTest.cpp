//===- CPULinearTest.cpp - oneDNN GEMMs against a naive product -----------===//

#include "xformer/Runtime/CPU/Linear.h"

#include "gtest/gtest.h"

#include <atomic>
#include <cmath>
#include <cstdint>
#include <random>
#include <thread>
#include <vector>

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
