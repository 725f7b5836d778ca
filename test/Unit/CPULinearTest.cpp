//===- CPULinearTest.cpp - oneDNN GEMMs against a naive product -----------===//

#include "xformer/Runtime/CPU/Linear.h"

#include "gtest/gtest.h"

#include <cmath>
#include <random>
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

TEST(CPULinear, RejectsInvalidArguments) {
  LinearArgs a;
  std::string error;
  EXPECT_FALSE(linear(a, error));
  EXPECT_EQ(error, "linear: invalid arguments");
}

} // namespace
