//===- Softmax.cuh - Softmax ----------------------------------------------===//
//
// Softmax over the last dimension, one block per row.
//
//===----------------------------------------------------------------------===//

#ifndef XFORMER_RUNTIME_CUDA_KERNELS_SOFTMAX_CUH
#define XFORMER_RUNTIME_CUDA_KERNELS_SOFTMAX_CUH

#include "xformer/Runtime/CUDA/Kernels/Support.cuh"

namespace xformer::cuda {

/// Softmax over `axis` of [outer, axis, inner]; one block per (outer,
/// inner) line. A line of -inf gives zeros (the CPU kernel's rule).
__global__ void softmaxKernel(const float *x, float *y, int64_t outer,
                              int64_t axis, int64_t inner) {
  __shared__ float shared[32];
  for (int64_t line = blockIdx.x; line < outer * inner; line += gridDim.x) {
    const int64_t o = line / inner, in = line % inner;
    const float *xr = x + o * axis * inner + in;
    float *yr = y + o * axis * inner + in;
    float mx = -INFINITY;
    for (int64_t a = threadIdx.x; a < axis; a += blockDim.x)
      mx = fmaxf(mx, xr[a * inner]);
    mx = blockMax(mx, shared);
    if (mx == -INFINITY) {
      for (int64_t a = threadIdx.x; a < axis; a += blockDim.x)
        yr[a * inner] = 0.0f;
      continue;
    }
    float s = 0.0f;
    for (int64_t a = threadIdx.x; a < axis; a += blockDim.x)
      s += expf(xr[a * inner] - mx);
    const float inv = 1.0f / blockSum(s, shared);
    for (int64_t a = threadIdx.x; a < axis; a += blockDim.x)
      yr[a * inner] = expf(xr[a * inner] - mx) * inv;
  }
}

inline int32_t xfk_softmax(xfk_frame *f, const float *x, float *y,
                           int64_t outer, int64_t axis, int64_t inner) {
  if (outer * inner == 0)
    return 0;
  softmaxKernel<<<blocksFor(outer * inner, 1), kThreads>>>(x, y, outer, axis,
                                                           inner);
  return launched(f, "softmax");
}

} // namespace xformer::cuda

#endif // XFORMER_RUNTIME_CUDA_KERNELS_SOFTMAX_CUH
