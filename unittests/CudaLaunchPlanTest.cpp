//===- CudaLaunchPlanTest.cpp - Host decisions of the CUDA kernels ------===//
//
// The parts of the CUDA kernel library that run on the host, checked on any
// machine: the row-major -> column-major GEMM mapping handed to cuBLASLt
// (against a direct triple loop, through an emulation of column-major
// GEMM semantics), broadcast strides and offsets (against explicit index
// arithmetic), the split-key plan of decode attention and the choice of
// attention kernel.
//
//===----------------------------------------------------------------------===//

#include "xformer/Runtime/CUDA/LaunchPlan.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

using namespace xformer::cuda;

namespace {

/// Column-major D[m, n] = op(A)[m, k] * B[k, n], as cuBLASLt defines it.
void columnMajorGemm(const GemmShape &g, const float *A, const float *B,
                     float *D) {
  for (int64_t j = 0; j < g.n; ++j)
    for (int64_t i = 0; i < g.m; ++i) {
      double s = 0;
      for (int64_t p = 0; p < g.k; ++p) {
        float a = g.transA ? A[i * g.lda + p] : A[p * g.lda + i];
        s += double(a) * B[j * g.ldb + p];
      }
      D[j * g.ldd + i] = float(s);
    }
}

TEST(CudaLaunchPlan, LinearGemmMatchesRowMajorLinear) {
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(-1, 1);
  for (bool inOut : {false, true})
    for (auto [rows, in, out] : {std::tuple<int64_t, int64_t, int64_t>{3, 5, 7},
                                 {1, 16, 4}, {9, 1, 2}}) {
      std::vector<float> x(rows * in), w(in * out), y(rows * out);
      for (float &v : x)
        v = u(rng);
      for (float &v : w)
        v = u(rng);
      columnMajorGemm(linearGemm(rows, in, out, inOut), w.data(), x.data(),
                      y.data());
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t o = 0; o < out; ++o) {
          double ref = 0;
          for (int64_t i = 0; i < in; ++i)
            ref += double(x[r * in + i]) *
                   (inOut ? w[i * out + o] : w[o * in + i]);
          EXPECT_NEAR(y[r * out + o], ref, 1e-5)
              << "rows " << rows << " in " << in << " out " << out
              << (inOut ? " [in, out]" : " [out, in]");
        }
    }
}

TEST(CudaLaunchPlan, BroadcastOffsetsFollowNumPyRules) {
  const int64_t out[] = {2, 3, 4};
  const int64_t a[] = {2, 1, 4}, b[] = {1, 3, 1};
  const int64_t *shapes[2] = {a, b};
  BroadcastShape<2> s = broadcastShape<2>(out, shapes, 3);
  EXPECT_EQ(s.total, 24);
  for (int64_t i0 = 0; i0 < 2; ++i0)
    for (int64_t i1 = 0; i1 < 3; ++i1)
      for (int64_t i2 = 0; i2 < 4; ++i2) {
        int64_t flat = (i0 * 3 + i1) * 4 + i2;
        EXPECT_EQ(broadcastOffset(s, 0, flat), i0 * 4 + i2);
        EXPECT_EQ(broadcastOffset(s, 1, flat), i1);
      }
}

TEST(CudaLaunchPlan, SplitPlanCoversEveryKeyOnce) {
  for (int64_t kv : {1, 63, 64, 255, 1000, 4096, 8192, 32768, 131072})
    for (int64_t blocks : {1, 8, 64, 1000})
      for (int64_t sms : {1, 108, 132}) {
        SplitPlan p = planSplits(kv, blocks, sms);
        ASSERT_GE(p.splits, 1);
        EXPECT_LE(p.splits, 64);
        EXPECT_EQ(p.keysPerSplit % 64, 0);
        // Every key in exactly one split, no split empty.
        EXPECT_GE(p.splits * p.keysPerSplit, kv);
        EXPECT_LT((p.splits - 1) * p.keysPerSplit, kv);
        if (blocks >= 2 * sms)
          EXPECT_EQ(p.splits, 1) << "enough blocks without splitting";
      }
  // A single long decode on an H100-sized GPU spreads over many SMs.
  SplitPlan p = planSplits(8192, 8, 132);
  EXPECT_GE(p.splits * 8, 132);
  EXPECT_GE(p.keysPerSplit, 256);
}

TEST(CudaLaunchPlan, AttentionPath) {
  EXPECT_EQ(attentionPath(64, 64, 512, false), AttentionPath::TensorCore);
  EXPECT_EQ(attentionPath(128, 128, 2048, false), AttentionPath::TensorCore);
  EXPECT_EQ(attentionPath(128, 128, 1, false), AttentionPath::SplitKeys);
  EXPECT_EQ(attentionPath(80, 80, 512, false), AttentionPath::TensorCore);
  EXPECT_EQ(attentionPath(72, 72, 512, false), AttentionPath::SplitKeys);
  EXPECT_EQ(attentionPath(64, 32, 512, false), AttentionPath::SplitKeys);
  EXPECT_EQ(attentionPath(256, 256, 512, false), AttentionPath::SplitKeys);
  EXPECT_EQ(attentionPath(64, 64, 512, true), AttentionPath::SplitKeys);
}

} // namespace
