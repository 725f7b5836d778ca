//===- Norm.cuh - Normalization kernels -----------------------------------===//
//
// Layer norm and RMS norm, one block per row.
//
//===----------------------------------------------------------------------===//

#ifndef XFORMER_RUNTIME_CUDA_KERNELS_NORM_CUH
#define XFORMER_RUNTIME_CUDA_KERNELS_NORM_CUH

#include "xformer/Runtime/CUDA/Kernels/Support.cuh"

namespace xformer::cuda {

/// LayerNorm in two passes over the row (mean, then centred variance) as
/// the CPU kernel and PyTorch compute it.
__global__ void layerNormKernel(const float *x, const float *gamma,
                                const float *beta, float *y, int64_t rows,
                                int64_t dim, float eps) {
  __shared__ float shared[32];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float *xr = x + r * dim;
    float *yr = y + r * dim;
    float s = 0.0f;
    for (int64_t d = threadIdx.x; d < dim; d += blockDim.x)
      s += xr[d];
    const float mean = blockSum(s, shared) / float(dim);
    float v = 0.0f;
    for (int64_t d = threadIdx.x; d < dim; d += blockDim.x) {
      float c = xr[d] - mean;
      v += c * c;
    }
    const float inv = rsqrtf(blockSum(v, shared) / float(dim) + eps);
    for (int64_t d = threadIdx.x; d < dim; d += blockDim.x) {
      float o = (xr[d] - mean) * inv;
      if (gamma)
        o *= gamma[d];
      if (beta)
        o += beta[d];
      yr[d] = o;
    }
  }
}

inline int32_t xfk_layer_norm(xfk_frame *f, const float *x,
                              const float *gamma, const float *beta,
                              float *y, int64_t rows, int64_t dim,
                              float eps) {
  if (rows == 0)
    return 0;
  layerNormKernel<<<blocksFor(rows, 1), kThreads>>>(x, gamma, beta, y, rows,
                                                    dim, eps);
  return launched(f, "layer_norm");
}

__global__ void rmsNormKernel(const float *x, const float *gamma, float *y,
                              int64_t rows, int64_t dim, float eps) {
  __shared__ float shared[32];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float *xr = x + r * dim;
    float *yr = y + r * dim;
    float ss = 0.0f;
    for (int64_t d = threadIdx.x; d < dim; d += blockDim.x)
      ss += xr[d] * xr[d];
    const float inv = rsqrtf(blockSum(ss, shared) / float(dim) + eps);
    for (int64_t d = threadIdx.x; d < dim; d += blockDim.x)
      yr[d] = gamma[d] * (xr[d] * inv);
  }
}

inline int32_t xfk_rms_norm(xfk_frame *f, const float *x, const float *gamma,
                            float *y, int64_t rows, int64_t dim, float eps) {
  if (rows == 0)
    return 0;
  rmsNormKernel<<<blocksFor(rows, 1), kThreads>>>(x, gamma, y, rows, dim,
                                                  eps);
  return launched(f, "rms_norm");
}

} // namespace xformer::cuda

#endif // XFORMER_RUNTIME_CUDA_KERNELS_NORM_CUH
