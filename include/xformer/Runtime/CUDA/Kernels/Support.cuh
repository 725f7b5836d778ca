//===- Support.cuh - What the CUDA kernel families share ------------------===//
//
// The launch width, the rank check of broadcasting ops, activations and
// block-wide reductions.
//
//===----------------------------------------------------------------------===//

#ifndef XFORMER_RUNTIME_CUDA_KERNELS_SUPPORT_CUH
#define XFORMER_RUNTIME_CUDA_KERNELS_SUPPORT_CUH

#include "xformer/Runtime/CUDA/Common.cuh"

#include <cmath>
#include <string>

namespace xformer::cuda {

constexpr int kThreads = 256;

inline int32_t checkRank(xfk_frame *f, int32_t rank, const char *what) {
  if (rank <= kMaxRank)
    return 0;
  std::string msg = std::string(what) + ": rank " + std::to_string(rank) +
                    " exceeds the CUDA kernels' " + std::to_string(kMaxRank);
  return xfk_fail(f, XF_ERROR_INVALID_ARGUMENT, msg.c_str());
}

__device__ inline float activate(int32_t op, float v) {
  switch (op) {
  case XFK_GELU_ERF:
    return 0.5f * v * (1.0f + erff(v * 0.70710678118654752f));
  case XFK_GELU_TANH:
    return 0.5f * v *
           (1.0f + tanhf(0.79788456080286536f * (v + 0.044715f * v * v * v)));
  case XFK_RELU:
    return v > 0.0f ? v : 0.0f;
  case XFK_SILU:
    return v / (1.0f + expf(-v));
  case XFK_TANH:
    return tanhf(v);
  }
  return v;
}

/// Sum over the block (blockDim.x a multiple of 32, at most 1024).
__device__ inline float blockSum(float v, float *shared) {
  for (int o = 16; o > 0; o >>= 1)
    v += __shfl_xor_sync(0xffffffffu, v, o);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  __syncthreads(); // `shared` may still be read from a previous call
  if (lane == 0)
    shared[warp] = v;
  __syncthreads();
  const int warps = blockDim.x / 32;
  v = lane < warps ? shared[lane] : 0.0f;
  for (int o = 16; o > 0; o >>= 1)
    v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

__device__ inline float blockMax(float v, float *shared) {
  for (int o = 16; o > 0; o >>= 1)
    v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  __syncthreads();
  if (lane == 0)
    shared[warp] = v;
  __syncthreads();
  const int warps = blockDim.x / 32;
  v = lane < warps ? shared[lane] : -INFINITY;
  for (int o = 16; o > 0; o >>= 1)
    v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

} // namespace xformer::cuda

#endif // XFORMER_RUNTIME_CUDA_KERNELS_SUPPORT_CUH
