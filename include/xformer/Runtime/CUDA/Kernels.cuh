//===- Kernels.cuh - CUDA kernels called by generated model code ---------===//
//
// The CUDA target's kernel library: the same entry points, arguments and
// status codes as the CPU kernels (xformer/Runtime/CPU/Kernels.h), on
// device pointers, so the compiler emits one orchestration for both
// targets. Memory-bound ops are grid-stride kernels here; GEMMs go to
// cuBLASLt (Gemm.cuh) and attention to the fused kernels (Attention.cuh),
// whose mask kind and head sizes are template arguments the generated code
// fixes.
//
// Header-only: a compiled model's .cu includes it, and nvcc builds exactly
// the kernels that model uses for the architectures it targets.
//
//===----------------------------------------------------------------------===//

#ifndef XFORMER_RUNTIME_CUDA_KERNELS_CUH
#define XFORMER_RUNTIME_CUDA_KERNELS_CUH

#include "xformer/Runtime/CUDA/Attention.cuh"
#include "xformer/Runtime/CUDA/Common.cuh"
#include "xformer/Runtime/CUDA/Gemm.cuh"
#include "xformer/Runtime/KernelMath.h"

#include <cmath>
#include <string>
#include <type_traits>

namespace xformer::cuda {

constexpr int kThreads = 256;

// --- embedding, positions ------------------------------------------------

__global__ void embeddingKernel(const float *table, int64_t vocab,
                                int64_t dim, const void *ids, int32_t dtype,
                                int64_t n, float *out,
                                unsigned long long what) {
  for (int64_t r = blockIdx.x; r < n; r += gridDim.x) {
    int64_t id = readIndex(ids, dtype, r);
    bool ok = id >= 0 && id < vocab;
    if (!ok && threadIdx.x == 0)
      recordError(XF_ERROR_OUT_OF_RANGE, kErrorTokenId, id, r, vocab, what);
    for (int64_t d = threadIdx.x; d < dim; d += blockDim.x)
      out[r * dim + d] = ok ? table[id * dim + d] : 0.0f;
  }
}

inline int32_t xfk_embedding(xfk_frame *f, const float *table, int64_t vocab,
                             int64_t dim, const void *ids, int32_t idsDtype,
                             int64_t n, float *out, const char *what) {
  if (n == 0)
    return 0;
  embeddingKernel<<<blocksFor(n, 1), 128>>>(
      table, vocab, dim, ids, idsDtype, n, out,
      reinterpret_cast<unsigned long long>(what));
  return launched(f, "embedding");
}

__global__ void positionsKernel(int32_t dtype, int64_t n, void *y) {
  XFK_FOR(i, n) {
    if (dtype == XFM_I32)
      static_cast<int32_t *>(y)[i] = int32_t(i);
    else
      static_cast<int64_t *>(y)[i] = i;
  }
}

inline int32_t xfk_positions(xfk_frame *f, int32_t dtype, int64_t n,
                             void *y) {
  if (n == 0)
    return 0;
  positionsKernel<<<blocksFor(n, kThreads), kThreads>>>(dtype, n, y);
  return launched(f, "positions");
}

// --- elementwise -----------------------------------------------------------

template <typename T, typename R>
__device__ inline R applyBinary(int32_t op, T x, T y, int *divZero) {
  switch (op) {
  case XFK_ADD:
    return R(x + y);
  case XFK_SUB:
    return R(x - y);
  case XFK_MUL:
    return R(x * y);
  case XFK_DIV:
    if constexpr (std::is_integral_v<T>) {
      if (y == 0) {
        *divZero = 1;
        return R(0);
      }
    }
    return R(x / y);
  case XFK_AND:
    return R(x && y);
  case XFK_OR:
    return R(x || y);
  case XFK_EQ:
    return R(x == y);
  case XFK_NE:
    return R(x != y);
  case XFK_LT:
    return R(x < y);
  case XFK_LE:
    return R(x <= y);
  case XFK_GT:
    return R(x > y);
  case XFK_GE:
    return R(x >= y);
  }
  return R(0);
}

template <typename T, typename R>
__global__ void binaryKernel(int32_t op, const T *a, const T *b, R *out,
                             BroadcastShape<2> s) {
  int divZero = 0;
  XFK_FOR(i, s.total) {
    out[i] = applyBinary<T, R>(op, a[broadcastOffset(s, 0, i)],
                               b[broadcastOffset(s, 1, i)], &divZero);
  }
  if (divZero)
    recordError(XF_ERROR_INVALID_ARGUMENT, 2, 0, 0, 0, 0);
}

template <typename T>
inline int32_t binaryTyped(xfk_frame *f, int32_t op, const void *a,
                           const void *b, void *out,
                           const BroadcastShape<2> &s) {
  unsigned grid = blocksFor(s.total, kThreads);
  if (op >= XFK_EQ)
    binaryKernel<T, uint8_t><<<grid, kThreads>>>(
        op, static_cast<const T *>(a), static_cast<const T *>(b),
        static_cast<uint8_t *>(out), s);
  else
    binaryKernel<T, T><<<grid, kThreads>>>(op, static_cast<const T *>(a),
                                           static_cast<const T *>(b),
                                           static_cast<T *>(out), s);
  return launched(f, "binary");
}

inline int32_t checkRank(xfk_frame *f, int32_t rank, const char *what) {
  if (rank <= kMaxRank)
    return 0;
  std::string msg = std::string(what) + ": rank " + std::to_string(rank) +
                    " exceeds the CUDA kernels' " + std::to_string(kMaxRank);
  return xfk_fail(f, XF_ERROR_INVALID_ARGUMENT, msg.c_str());
}

inline int32_t xfk_binary(xfk_frame *f, int32_t op, int32_t dtype,
                          const void *a, const int64_t *as, const void *b,
                          const int64_t *bs, void *out, const int64_t *os,
                          int32_t rank) {
  if (int32_t rc = checkRank(f, rank, "binary"))
    return rc;
  const int64_t *shapes[2] = {as, bs};
  BroadcastShape<2> s = broadcastShape<2>(os, shapes, rank);
  if (s.total == 0)
    return 0;
  switch (dtype) {
  case XFM_F32:
    return binaryTyped<float>(f, op, a, b, out, s);
  case XFM_I64:
    return binaryTyped<long long>(f, op, a, b, out, s);
  case XFM_I32:
    return binaryTyped<int32_t>(f, op, a, b, out, s);
  case XFM_BOOL:
    return binaryTyped<uint8_t>(f, op, a, b, out, s);
  }
  return xfk_fail(f, XF_ERROR_INTERNAL, "binary: unknown dtype");
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

__global__ void unaryKernel(int32_t op, const void *xv, void *yv, int64_t n) {
  if (op == XFK_NOT) {
    const uint8_t *x = static_cast<const uint8_t *>(xv);
    uint8_t *y = static_cast<uint8_t *>(yv);
    XFK_FOR(i, n) { y[i] = !x[i]; }
    return;
  }
  const float *x = static_cast<const float *>(xv);
  float *y = static_cast<float *>(yv);
  XFK_FOR(i, n) { y[i] = activate(op, x[i]); }
}

inline int32_t xfk_unary(xfk_frame *f, int32_t op, const void *x, void *y,
                         int64_t n) {
  if (op < XFK_GELU_ERF || op > XFK_NOT)
    return xfk_fail(f, XF_ERROR_INTERNAL, "unary: unknown operation");
  if (n == 0)
    return 0;
  unaryKernel<<<blocksFor(n, kThreads), kThreads>>>(op, x, y, n);
  return launched(f, "unary");
}

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

__global__ void castKernel(int32_t from, int32_t to, const void *x, void *y,
                           int64_t n) {
  int bad = 0;
  XFK_FOR(i, n) {
    double v;
    switch (from) {
    case XFM_F32:
      v = static_cast<const float *>(x)[i];
      break;
    case XFM_I64:
      v = double(static_cast<const long long *>(x)[i]);
      break;
    case XFM_I32:
      v = static_cast<const int32_t *>(x)[i];
      break;
    default:
      v = static_cast<const uint8_t *>(x)[i] ? 1.0 : 0.0;
      break;
    }
    if (from == XFM_I64 && to == XFM_I32) {
      static_cast<int32_t *>(y)[i] =
          int32_t(static_cast<const long long *>(x)[i]);
      continue;
    }
    if (from == XFM_I32 && to == XFM_I64) {
      static_cast<long long *>(y)[i] = static_cast<const int32_t *>(x)[i];
      continue;
    }
    switch (to) {
    case XFM_F32:
      static_cast<float *>(y)[i] = float(v);
      break;
    case XFM_I64:
      if (!isfinite(v))
        bad = 1;
      static_cast<long long *>(y)[i] = isfinite(v) ? (long long)v : 0;
      break;
    case XFM_I32:
      if (!isfinite(v))
        bad = 1;
      static_cast<int32_t *>(y)[i] = isfinite(v) ? int32_t(v) : 0;
      break;
    default:
      static_cast<uint8_t *>(y)[i] = v != 0.0;
      break;
    }
  }
  if (bad)
    recordError(XF_ERROR_NONFINITE, 3, 0, 0, 0, 0);
}

inline int32_t xfk_cast(xfk_frame *f, int32_t from, int32_t to,
                        const void *x, void *y, int64_t n) {
  if (n == 0)
    return 0;
  castKernel<<<blocksFor(n, kThreads), kThreads>>>(from, to, x, y, n);
  return launched(f, "cast");
}

template <typename E>
__global__ void broadcastKernel(const E *x, E *y, BroadcastShape<1> s) {
  XFK_FOR(i, s.total) { y[i] = x[broadcastOffset(s, 0, i)]; }
}

inline int32_t xfk_broadcast(xfk_frame *f, int32_t eb, const void *x,
                             const int64_t *xs, void *y, const int64_t *ys,
                             int32_t rank) {
  if (int32_t rc = checkRank(f, rank, "broadcast"))
    return rc;
  const int64_t *shapes[1] = {xs};
  BroadcastShape<1> s = broadcastShape<1>(ys, shapes, rank);
  if (s.total == 0)
    return 0;
  unsigned grid = blocksFor(s.total, kThreads);
  if (eb == 1)
    broadcastKernel<uint8_t><<<grid, kThreads>>>(
        static_cast<const uint8_t *>(x), static_cast<uint8_t *>(y), s);
  else if (eb == 4)
    broadcastKernel<uint32_t><<<grid, kThreads>>>(
        static_cast<const uint32_t *>(x), static_cast<uint32_t *>(y), s);
  else if (eb == 8)
    broadcastKernel<unsigned long long><<<grid, kThreads>>>(
        static_cast<const unsigned long long *>(x),
        static_cast<unsigned long long *>(y), s);
  else
    return xfk_fail(f, XF_ERROR_INTERNAL, "broadcast: element size");
  return launched(f, "broadcast");
}

template <typename E>
__global__ void selectKernel(const uint8_t *c, const E *t, const E *e, E *o,
                             BroadcastShape<3> s) {
  XFK_FOR(i, s.total) {
    o[i] = c[broadcastOffset(s, 0, i)] ? t[broadcastOffset(s, 1, i)]
                                       : e[broadcastOffset(s, 2, i)];
  }
}

inline int32_t xfk_select(xfk_frame *f, int32_t eb, const uint8_t *cond,
                          const int64_t *cs, const void *t,
                          const int64_t *ts, const void *e,
                          const int64_t *es, void *out, const int64_t *os,
                          int32_t rank) {
  if (int32_t rc = checkRank(f, rank, "select"))
    return rc;
  const int64_t *shapes[3] = {cs, ts, es};
  BroadcastShape<3> s = broadcastShape<3>(os, shapes, rank);
  if (s.total == 0)
    return 0;
  unsigned grid = blocksFor(s.total, kThreads);
  if (eb == 1)
    selectKernel<uint8_t><<<grid, kThreads>>>(
        cond, static_cast<const uint8_t *>(t), static_cast<const uint8_t *>(e),
        static_cast<uint8_t *>(out), s);
  else if (eb == 4)
    selectKernel<uint32_t><<<grid, kThreads>>>(
        cond, static_cast<const uint32_t *>(t),
        static_cast<const uint32_t *>(e), static_cast<uint32_t *>(out), s);
  else if (eb == 8)
    selectKernel<unsigned long long><<<grid, kThreads>>>(
        cond, static_cast<const unsigned long long *>(t),
        static_cast<const unsigned long long *>(e),
        static_cast<unsigned long long *>(out), s);
  else
    return xfk_fail(f, XF_ERROR_INTERNAL, "select: element size");
  return launched(f, "select");
}

__global__ void maskedFillKernel(const float *x, const uint8_t *m,
                                 float value, float *o, BroadcastShape<2> s) {
  XFK_FOR(i, s.total) {
    o[i] = m[broadcastOffset(s, 1, i)] ? value : x[broadcastOffset(s, 0, i)];
  }
}

inline int32_t xfk_masked_fill(xfk_frame *f, const float *x,
                               const int64_t *xs, const uint8_t *mask,
                               const int64_t *ms, float value, float *out,
                               const int64_t *os, int32_t rank) {
  if (int32_t rc = checkRank(f, rank, "masked_fill"))
    return rc;
  const int64_t *shapes[2] = {xs, ms};
  BroadcastShape<2> s = broadcastShape<2>(os, shapes, rank);
  if (s.total == 0)
    return 0;
  maskedFillKernel<<<blocksFor(s.total, kThreads), kThreads>>>(x, mask, value,
                                                               out, s);
  return launched(f, "masked_fill");
}

// --- layout ----------------------------------------------------------------

template <typename E>
__global__ void gatherKernel(const E *x, E *y, BroadcastShape<1> s,
                             int64_t base) {
  XFK_FOR(i, s.total) { y[i] = x[base + broadcastOffset(s, 0, i)]; }
}

/// y[i] = x[base + sum(idx_d * strides_d)] over y's shape: transposes and
/// slices are both this gather.
inline int32_t gather(xfk_frame *f, int32_t eb, const void *x, void *y,
                      const BroadcastShape<1> &s, int64_t base,
                      const char *what) {
  if (s.total == 0)
    return 0;
  unsigned grid = blocksFor(s.total, kThreads);
  if (eb == 1)
    gatherKernel<uint8_t><<<grid, kThreads>>>(
        static_cast<const uint8_t *>(x), static_cast<uint8_t *>(y), s, base);
  else if (eb == 4)
    gatherKernel<uint32_t><<<grid, kThreads>>>(
        static_cast<const uint32_t *>(x), static_cast<uint32_t *>(y), s, base);
  else if (eb == 8)
    gatherKernel<unsigned long long><<<grid, kThreads>>>(
        static_cast<const unsigned long long *>(x),
        static_cast<unsigned long long *>(y), s, base);
  else
    return xfk_fail(f, XF_ERROR_INTERNAL, "gather: element size");
  return launched(f, what);
}

inline int32_t xfk_transpose(xfk_frame *f, int32_t eb, const void *x,
                             const int64_t *xs, const int64_t *perm, void *y,
                             int32_t rank) {
  if (int32_t rc = checkRank(f, rank, "transpose"))
    return rc;
  BroadcastShape<1> s;
  s.rank = rank;
  int64_t xStrides[kMaxRank];
  int64_t st = 1;
  for (int32_t d = rank - 1; d >= 0; --d) {
    xStrides[d] = st;
    st *= xs[d];
  }
  for (int32_t d = 0; d < rank; ++d) {
    s.out[d] = xs[perm[d]];
    s.strides[0][d] = xStrides[perm[d]];
    s.total *= s.out[d];
  }
  return gather(f, eb, x, y, s, 0, "transpose");
}

inline int32_t xfk_slice(xfk_frame *f, int32_t eb, const void *x,
                         const int64_t *xs, const int64_t *offsets, void *y,
                         const int64_t *ys, int32_t rank) {
  if (int32_t rc = checkRank(f, rank, "slice"))
    return rc;
  BroadcastShape<1> s;
  s.rank = rank;
  int64_t st = 1, base = 0;
  for (int32_t d = rank - 1; d >= 0; --d) {
    s.strides[0][d] = st;
    base += offsets[d] * st;
    st *= xs[d];
  }
  for (int32_t d = 0; d < rank; ++d) {
    s.out[d] = ys[d];
    s.total *= ys[d];
  }
  return gather(f, eb, x, y, s, base, "slice");
}

inline int32_t xfk_concat_part(xfk_frame *f, int32_t eb, const void *x,
                               int64_t outer, int64_t inner, void *y,
                               int64_t yInner, int64_t at) {
  if (outer == 0 || inner == 0)
    return 0;
  if (cudaError_t e = cudaMemcpy2DAsync(
          static_cast<char *>(y) + at * eb, size_t(yInner * eb), x,
          size_t(inner * eb), size_t(inner * eb), size_t(outer),
          cudaMemcpyDeviceToDevice))
    return cudaFail(f, e, "concat");
  return 0;
}

__global__ void gatherPositionsKernel(const char *x, int64_t batch,
                                      int64_t seq, int64_t rowBytes,
                                      const void *pos, int32_t dtype,
                                      char *y) {
  XFK_FOR(i, batch * rowBytes) {
    int64_t b = i / rowBytes, c = i % rowBytes;
    int64_t p = readIndex(pos, dtype, b);
    y[i] = p < 0 || p >= seq ? 0 : x[(b * seq + p) * rowBytes + c];
  }
}

inline int32_t xfk_gather_positions(xfk_frame *f, int32_t eb, const void *x,
                                    int64_t batch, int64_t seq, int64_t inner,
                                    const void *pos, int32_t posDtype,
                                    void *y) {
  if (batch * inner == 0)
    return 0;
  gatherPositionsKernel<<<blocksFor(batch * inner * eb, kThreads), kThreads>>>(
      static_cast<const char *>(x), batch, seq, inner * eb, pos, posDtype,
      static_cast<char *>(y));
  return launched(f, "gather_positions");
}

// --- norms and softmax: one block per row ----------------------------------

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

// --- positions: RoPE, relative position bias -------------------------------

/// The inverse frequencies as Hugging Face computes them (fp32), rescaled
/// as its rope_type 'linear' or 'llama3' does; computed on the host once
/// per call (at most 256 values) and passed by value.
struct RopeFrequencies {
  float inv[128];
};

inline RopeFrequencies ropeFrequencies(int64_t rotaryDim, double theta,
                                       int32_t scaling, double factor,
                                       double lowFreqFactor,
                                       double highFreqFactor,
                                       int64_t originalMaxPositions) {
  RopeFrequencies r = {};
  for (int64_t k = 0; k < rotaryDim / 2; ++k)
    r.inv[k] = xformer::kernels::ropeInverseFrequency(
        k, rotaryDim, theta, scaling, factor, lowFreqFactor, highFreqFactor,
        originalMaxPositions);
  return r;
}

/// One thread per (row, rotary pair) plus the pass-through dimensions.
__global__ void ropeKernel(int32_t interleaved, const float *x, float *y,
                           int64_t batch, int64_t heads, int64_t seq,
                           int64_t headDim, int64_t rotaryDim,
                           const void *pos, int32_t posDtype,
                           int32_t posPerBatch, RopeFrequencies freq) {
  const int64_t half = rotaryDim / 2;
  const int64_t perRow = half + (headDim - rotaryDim);
  XFK_FOR(i, batch * heads * seq * perRow) {
    const int64_t rowIdx = i / perRow, k = i % perRow;
    const int64_t s = rowIdx % seq, b = rowIdx / (heads * seq);
    const float *xr = x + rowIdx * headDim;
    float *yr = y + rowIdx * headDim;
    if (k >= half) {
      const int64_t d = rotaryDim + (k - half);
      yr[d] = xr[d];
      continue;
    }
    const float p = float(readIndex(pos, posDtype, posPerBatch ? b * seq + s : s));
    const float angle = p * freq.inv[k];
    float sn, cs;
    sincosf(angle, &sn, &cs);
    const int64_t i0 = interleaved ? 2 * k : k;
    const int64_t i1 = interleaved ? 2 * k + 1 : k + half;
    const float a = xr[i0], c = xr[i1];
    yr[i0] = a * cs - c * sn;
    yr[i1] = c * cs + a * sn;
  }
}

inline int32_t xfk_rope_scaled(xfk_frame *f, int32_t interleaved,
                               const float *x, float *y, int64_t batch,
                               int64_t heads, int64_t seq, int64_t headDim,
                               int64_t rotaryDim, const void *pos,
                               int32_t posDtype, int32_t posPerBatch,
                               double theta, int32_t scaling, double factor,
                               double lowFreqFactor, double highFreqFactor,
                               int64_t originalMaxPositions) {
  if (rotaryDim / 2 > 128)
    return xfk_fail(f, XF_ERROR_INVALID_ARGUMENT,
                    "rope: the CUDA kernel rotates at most 256 dimensions");
  const int64_t n =
      batch * heads * seq * (rotaryDim / 2 + (headDim - rotaryDim));
  if (n == 0)
    return 0;
  RopeFrequencies freq =
      ropeFrequencies(rotaryDim, theta, scaling, factor, lowFreqFactor,
                      highFreqFactor, originalMaxPositions);
  ropeKernel<<<blocksFor(n, kThreads), kThreads>>>(
      interleaved, x, y, batch, heads, seq, headDim, rotaryDim, pos, posDtype,
      posPerBatch, freq);
  return launched(f, "rope");
}

inline int32_t xfk_rope(xfk_frame *f, int32_t interleaved, const float *x,
                        float *y, int64_t batch, int64_t heads, int64_t seq,
                        int64_t headDim, int64_t rotaryDim, const void *pos,
                        int32_t posDtype, int32_t posPerBatch, double theta) {
  return xfk_rope_scaled(f, interleaved, x, y, batch, heads, seq, headDim,
                         rotaryDim, pos, posDtype, posPerBatch, theta,
                         XFK_ROPE_SCALING_NONE, 1.0, 1.0, 4.0, 0);
}


__global__ void relativeBiasKernel(const float *table, int64_t heads,
                                   const void *qPos, int32_t qDtype,
                                   int64_t qBatch, int64_t qLen,
                                   const void *kPos, int32_t kDtype,
                                   int64_t kLen, int64_t numBuckets,
                                   int64_t maxDistance, int32_t bidirectional,
                                   float *out) {
  XFK_FOR(i, qBatch * heads * qLen * kLen) {
    const int64_t j = i % kLen, qi = (i / kLen) % qLen,
                  h = (i / (kLen * qLen)) % heads,
                  b = i / (kLen * qLen * heads);
    const int64_t qp = readIndex(qPos, qDtype, b * qLen + qi);
    const int64_t bk = xformer::kernels::t5RelativeBucket(
        readIndex(kPos, kDtype, j) - qp, numBuckets, maxDistance,
        bidirectional != 0);
    out[i] = table[bk * heads + h];
  }
}

inline int32_t xfk_relative_position_bias(
    xfk_frame *f, const float *table, int64_t heads, const void *qPos,
    int32_t qDtype, int64_t qBatch, int64_t qLen, const void *kPos,
    int32_t kDtype, int64_t kLen, int64_t numBuckets, int64_t maxDistance,
    int32_t bidirectional, float *out) {
  const int64_t n = qBatch * heads * qLen * kLen;
  if (n == 0)
    return 0;
  relativeBiasKernel<<<blocksFor(n, kThreads), kThreads>>>(
      table, heads, qPos, qDtype, qBatch, qLen, kPos, kDtype, kLen,
      numBuckets, maxDistance, bidirectional, out);
  return launched(f, "relative_position_bias");
}

// --- KV cache --------------------------------------------------------------

__global__ void cacheAppendKernel(float *kc, float *vc, const float *k,
                                  const float *v, int64_t kvh, int64_t hd,
                                  int64_t cap, int64_t n, int64_t b,
                                  int64_t start, int64_t len, int32_t ring) {
  XFK_FOR(i, kvh * len * hd) {
    const int64_t d = i % hd, t = (i / hd) % len, h = i / (hd * len);
    const int64_t slot = ring ? (start + t) % cap : start + t;
    const int64_t src = ((b * kvh + h) * n + t) * hd + d;
    const int64_t dst = ((b * kvh + h) * cap + slot) * hd + d;
    kc[dst] = k[src];
    vc[dst] = v[src];
  }
}

/// The start positions and lengths are read back to the host: the runtime
/// tracks each sequence's fill (xfk_frame::cache_fill) and capacity errors
/// are reported before anything is written.
inline int32_t xfk_cache_append(xfk_frame *f, const xfm_cache_desc *c,
                                int32_t ci, int64_t maxBatch, const float *k,
                                const float *v, int64_t batch, int64_t n,
                                const void *start, int32_t startDtype,
                                const void *lengths, int32_t lengthsDtype) {
  if (batch > maxBatch)
    return xfk_fail(f, XF_ERROR_CAPACITY,
                    "cache_append: batch above the plan");
  long long starts[256], lens[256];
  if (batch > 256)
    return xfk_fail(f, XF_ERROR_CAPACITY,
                    "cache_append: the CUDA kernels take at most 256 "
                    "sequences");
  auto fetch = [&](const void *p, int32_t dtype, long long *out) {
    if (dtype == XFM_I32) {
      int32_t tmp[256];
      cudaError_t e = cudaMemcpy(tmp, p, batch * 4, cudaMemcpyDeviceToHost);
      for (int64_t b = 0; b < batch; ++b)
        out[b] = tmp[b];
      return e;
    }
    return cudaMemcpy(out, p, batch * 8, cudaMemcpyDeviceToHost);
  };
  if (cudaError_t e = fetch(start, startDtype, starts))
    return cudaFail(f, e, "cache_append (start positions)");
  if (lengths) {
    if (cudaError_t e = fetch(lengths, lengthsDtype, lens))
      return cudaFail(f, e, "cache_append (lengths)");
  } else {
    for (int64_t b = 0; b < batch; ++b)
      lens[b] = n;
  }
  const int64_t hd = c->head_dim, cap = c->capacity, kvh = c->kv_heads;
  float *kc = reinterpret_cast<float *>(f->arena + c->offset);
  float *vc = kc + maxBatch * kvh * cap * hd;
  for (int64_t b = 0; b < batch; ++b) {
    if (f->active && !f->active[b])
      continue; // a sequence outside this call: its cache stays as it is
    const int64_t s = starts[b], len = lens[b];
    if (int32_t rc = xfk_check_cache_append(f, c, b, s, len, n))
      return rc;
    if (len == 0)
      continue;
    cacheAppendKernel<<<blocksFor(kvh * len * hd, kThreads), kThreads>>>(
        kc, vc, k, v, kvh, hd, cap, n, b, s, len,
        c->kind == XFM_CACHE_RING);
    if (int32_t rc = launched(f, "cache_append"))
      return rc;
    f->cache_fill[ci * maxBatch + b] = s + len;
  }
  return 0;
}

__global__ void ringUnrollKernel(const float *kc, const float *vc, float *ko,
                                 float *vo, int64_t kvh, int64_t hd,
                                 int64_t cap, int64_t b, int64_t filled,
                                 int64_t count) {
  XFK_FOR(i, kvh * count * hd) {
    const int64_t d = i % hd, t = (i / hd) % count, h = i / (hd * count);
    const int64_t slot = (filled - count + t) % cap;
    const int64_t src = ((b * kvh + h) * cap + slot) * hd + d;
    const int64_t dst = ((b * kvh + h) * cap + t) * hd + d;
    ko[dst] = kc[src];
    vo[dst] = vc[src];
  }
}

inline int32_t xfk_cache_read(xfk_frame *f, const xfm_cache_desc *c,
                              int32_t ci, int64_t maxBatch, int64_t batch,
                              float *kOut, float *vOut, const float **k,
                              const float **v) {
  const int64_t hd = c->head_dim, cap = c->capacity, kvh = c->kv_heads;
  const float *kc = reinterpret_cast<const float *>(f->arena + c->offset);
  const float *vc = kc + maxBatch * kvh * cap * hd;
  if (c->kind != XFM_CACHE_RING) {
    *k = kc;
    *v = vc;
    return 0;
  }
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t filled = f->cache_fill[ci * maxBatch + b];
    const int64_t count = filled < cap ? filled : cap;
    if (count == 0)
      continue;
    ringUnrollKernel<<<blocksFor(kvh * count * hd, kThreads), kThreads>>>(
        kc, vc, kOut, vOut, kvh, hd, cap, b, filled, count);
    if (int32_t rc = launched(f, "cache_read (ring)"))
      return rc;
  }
  *k = kOut;
  *v = vOut;
  return 0;
}

// --- GEMMs -----------------------------------------------------------------

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

// Every kernel against the contract both kernel libraries follow: a
// definition whose parameters drift from KernelContract.def fails to
// compile here (the CPU library declares its kernels from the same list).
// Unevaluated: nothing is instantiated or emitted.
#define XFK_KERNEL(name, params)                                               \
  static_assert(std::is_same<decltype(&name), int32_t(*) params>::value,       \
                #name " differs from xformer/Runtime/KernelContract.def");
// Attention's parameters, on one instance of its template.
#define XFK_SPECIALISED_KERNEL(name, params)                                   \
  static_assert(std::is_same<decltype(&name<XFK_MASK_CAUSAL, 64, 64>),         \
                             int32_t(*) params>::value,                        \
                #name " differs from xformer/Runtime/KernelContract.def");
#include "xformer/Runtime/KernelContract.def"

} // namespace xformer::cuda

#endif // XFORMER_RUNTIME_CUDA_KERNELS_CUH
