//===- Gemm.cpp - Linear layers and matmuls -------------------------------===//
//
// Linear layers with their epilogues on f32, bf16 and f16 weights
// (Linear.cpp: oneDNN and the runtime's weight-streaming kernels), and
// batched matmuls.
//
//===----------------------------------------------------------------------===//

#include "Common.h"

#include <string>

using namespace xformer::runtime;
using namespace xformer::runtime::cpu;
using namespace xformer::runtime::cpu::kernels;

int32_t xformer::runtime::cpu::kernels::runLinear(
    xfk_frame *f, LinearArgs args, const float *x, const float *bias, float *y,
    int64_t rows, int64_t in, int64_t out, int32_t transposed, int32_t act,
    const float *residual) {
  args.input = x;
  args.bias = bias;
  args.output = y;
  args.rows = rows;
  args.in = in;
  args.out = out;
  args.transposed = transposed != 0;
  args.residual = residual;
  if (!activationOf(act, /*none=*/true, args.activation))
    return xfk_fail(f, XF_ERROR_INTERNAL, "linear: unknown activation");
  std::string error;
  if (!linear(args, error))
    return xfk_fail(f, XF_ERROR_INTERNAL, error.c_str());
  return 0;
}

extern "C" {

int32_t xfk_linear_bf16_fused(xfk_frame *f, const float *x, const uint16_t *w,
                              const float *bias, float *y, int64_t rows,
                              int64_t in, int64_t out, int32_t transposed,
                              int32_t act, const float *residual) {
  LinearArgs args;
  args.weightBF16 = w;
  return runLinear(f, args, x, bias, y, rows, in, out, transposed, act,
                   residual);
}

int32_t xfk_linear_f16_fused(xfk_frame *f, const float *x, const uint16_t *w,
                             const float *bias, float *y, int64_t rows,
                             int64_t in, int64_t out, int32_t transposed,
                             int32_t act, const float *residual) {
  LinearArgs args;
  args.weightF16 = w;
  return runLinear(f, args, x, bias, y, rows, in, out, transposed, act,
                   residual);
}

int32_t xfk_linear_fused(xfk_frame *f, const float *x, const float *w,
                         const float *bias, float *y, int64_t rows, int64_t in,
                         int64_t out, int32_t transposed, int32_t act,
                         const float *residual) {
  LinearArgs args;
  args.weight = w;
  return runLinear(f, args, x, bias, y, rows, in, out, transposed, act,
                   residual);
}

int32_t xfk_linear(xfk_frame *f, const float *x, const float *w,
                   const float *bias, float *y, int64_t rows, int64_t in,
                   int64_t out, int32_t transposed) {
  return xfk_linear_fused(f, x, w, bias, y, rows, in, out, transposed, -1,
                          nullptr);
}

int32_t xfk_matmul(xfk_frame *f, const float *a, const float *b, float *c,
                   int32_t rank, const int64_t *aBatch, const int64_t *bBatch,
                   const int64_t *cBatch, int64_t m, int64_t k, int64_t n,
                   int32_t transposeRhs) {
  std::vector<int64_t> strides[2] = {broadcastStrides(aBatch, rank),
                                     broadcastStrides(bBatch, rank)};
  int64_t total = 1;
  for (int32_t d = 0; d < rank; ++d)
    total *= cBatch[d];
  std::vector<int64_t> idx(rank, 0);
  for (int64_t t = 0; t < total; ++t) {
    int64_t ao = 0, bo = 0;
    for (int32_t d = 0; d < rank; ++d) {
      ao += idx[d] * strides[0][d];
      bo += idx[d] * strides[1][d];
    }
    // b [k, n] is a Conv1D-style [in, out] weight; b^T [n, k] is [out, in].
    if (int32_t rc = xfk_linear(f, a + ao * m * k, b + bo * k * n, nullptr,
                                c + t * m * n, m, k, n, transposeRhs ? 0 : 1))
      return rc;
    for (int32_t d = rank - 1; d >= 0; --d) {
      if (++idx[d] < cBatch[d])
        break;
      idx[d] = 0;
    }
  }
  return 0;
}

} // extern "C"
