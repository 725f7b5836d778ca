//===- Linear.cuh - Linear layers and matmuls -----------------------------===//
//
// Linear layers on cuBLASLt (Gemm.cuh) with the epilogues it cannot fuse
// as one kernel, and batched matmuls.
//
//===----------------------------------------------------------------------===//

#ifndef XFORMER_RUNTIME_CUDA_KERNELS_LINEAR_CUH
#define XFORMER_RUNTIME_CUDA_KERNELS_LINEAR_CUH

#include "xformer/Runtime/CUDA/Kernels/Support.cuh"
#include "xformer/Runtime/CUDA/Gemm.cuh"

namespace xformer::cuda {

/// y = act(x + bias[col]) + residual: the epilogue cuBLASLt cannot fuse.
__global__ void biasActResidualKernel(float *y, const float *bias,
                                      int32_t act, const float *residual,
                                      int64_t rows, int64_t cols) {
  XFK_FOR(i, rows * cols) {
    float v = y[i];
    if (bias)
      v += bias[i % cols];
    v = activate(act, v);
    if (residual)
      v += residual[i];
    y[i] = v;
  }
}

/// y = act(x W^T + bias) + residual. cuBLASLt fuses the bias, and GELU
/// (tanh) or ReLU; the other activations and a residual after an activation
/// run as one epilogue kernel. A residual without activation is cuBLASLt's
/// C operand (beta = 1).
inline int32_t xfk_linear_fused(xfk_frame *f, const float *x, const float *w,
                                const float *bias, float *y, int64_t rows,
                                int64_t in, int64_t out, int32_t transposed,
                                int32_t act, const float *residual) {
  if (act != -1 && (act < XFK_GELU_ERF || act > XFK_TANH))
    return xfk_fail(f, XF_ERROR_INTERNAL, "linear: unknown activation");
  if (rows == 0 || out == 0)
    return 0;
  GemmShape g = linearGemm(rows, in, out, transposed != 0);
  GemmEpilogue ep;
  ep.bias = bias;
  ep.gelu = act == XFK_GELU_TANH;
  ep.relu = act == XFK_RELU;
  const bool fusedAct = act == -1 || ep.gelu || ep.relu;
  // cuBLASLt adds C before its activation: a residual rides along only
  // without one.
  ep.residual = act == -1 ? residual : nullptr;
  if (!fusedAct)
    ep.bias = nullptr; // added before the activation, in the kernel below
  if (int32_t rc = gemm(f, g, w, x, y, ep, 1, 0, 0, 0))
    return rc;
  if (fusedAct && !(act != -1 && residual))
    return 0;
  if (fusedAct) {
    // Activation fused; the residual still to add.
    biasActResidualKernel<<<blocksFor(rows * out, kThreads), kThreads>>>(
        y, nullptr, -1, residual, rows, out);
  } else {
    biasActResidualKernel<<<blocksFor(rows * out, kThreads), kThreads>>>(
        y, bias, act, residual, rows, out);
  }
  return launched(f, "linear epilogue");
}

inline int32_t xfk_linear(xfk_frame *f, const float *x, const float *w,
                          const float *bias, float *y, int64_t rows,
                          int64_t in, int64_t out, int32_t transposed) {
  return xfk_linear_fused(f, x, w, bias, y, rows, in, out, transposed, -1,
                          nullptr);
}

/// Batched matmul with broadcast batch dimensions: one strided-batched
/// cuBLASLt call when each operand is either full or broadcast along every
/// batch dimension, else one call per batch index.
inline int32_t xfk_matmul(xfk_frame *f, const float *a, const float *b,
                          float *c, int32_t rank, const int64_t *aBatch,
                          const int64_t *bBatch, const int64_t *cBatch,
                          int64_t m, int64_t k, int64_t n,
                          int32_t transposeRhs) {
  if (int32_t rc = checkRank(f, rank, "matmul"))
    return rc;
  int64_t total = 1, aCount = 1, bCount = 1;
  for (int32_t d = 0; d < rank; ++d) {
    total *= cBatch[d];
    aCount *= aBatch[d];
    bCount *= bBatch[d];
  }
  if (total == 0 || m == 0 || n == 0)
    return 0;
  // b [k, n] is an [in, out] weight; b^T [n, k] is [out, in].
  GemmShape g = linearGemm(m, k, n, !transposeRhs);
  if ((aCount == total || aCount == 1) && (bCount == total || bCount == 1))
    return gemm(f, g, b, a, c, GemmEpilogue(), total,
                bCount == 1 ? 0 : k * n, aCount == 1 ? 0 : m * k, m * n);
  const int64_t *shapes[2] = {aBatch, bBatch};
  BroadcastShape<2> s = broadcastShape<2>(cBatch, shapes, rank);
  for (int64_t t = 0; t < total; ++t) {
    int64_t ao = broadcastOffset(s, 0, t), bo = broadcastOffset(s, 1, t);
    if (int32_t rc = gemm(f, g, b + bo * k * n, a + ao * m * k, c + t * m * n,
                          GemmEpilogue(), 1, 0, 0, 0))
      return rc;
  }
  return 0;
}

} // namespace xformer::cuda

#endif // XFORMER_RUNTIME_CUDA_KERNELS_LINEAR_CUH
