//===- Layout.cuh - Layout kernels ----------------------------------------===//
//
// Transposes, slices, concatenation and the gather of one position per
// sequence.
//
//===----------------------------------------------------------------------===//

#ifndef XFORMER_RUNTIME_CUDA_KERNELS_LAYOUT_CUH
#define XFORMER_RUNTIME_CUDA_KERNELS_LAYOUT_CUH

#include "xformer/Runtime/CUDA/Kernels/Support.cuh"

namespace xformer::cuda {

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

} // namespace xformer::cuda

#endif // XFORMER_RUNTIME_CUDA_KERNELS_LAYOUT_CUH
