//===- Elementwise.cuh - Broadcasting elementwise kernels -----------------===//
//
// Binary ops and comparisons under NumPy broadcasting, unary ops and
// activations, casts, broadcasts, select and masked_fill.
//
//===----------------------------------------------------------------------===//

#ifndef XFORMER_RUNTIME_CUDA_KERNELS_ELEMENTWISE_CUH
#define XFORMER_RUNTIME_CUDA_KERNELS_ELEMENTWISE_CUH

#include "xformer/Runtime/CUDA/Kernels/Support.cuh"

namespace xformer::cuda {

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

__global__ void gluKernel(int32_t act, const float *x, float *y, int64_t rows,
                          int64_t n) {
  XFK_FOR(i, rows * n) {
    const int64_t r = i / n, c = i % n;
    const float *row = x + r * 2 * n;
    y[i] = activate(act, row[c]) * row[n + c];
  }
}

inline int32_t xfk_glu(xfk_frame *f, int32_t act, const float *x, float *y,
                       int64_t rows, int64_t n) {
  if (act < XFK_GELU_ERF || act >= XFK_NOT)
    return xfk_fail(f, XF_ERROR_INTERNAL, "glu: unknown activation");
  if (rows * n == 0)
    return 0;
  gluKernel<<<blocksFor(rows * n, kThreads), kThreads>>>(act, x, y, rows, n);
  return launched(f, "glu");
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

} // namespace xformer::cuda

#endif // XFORMER_RUNTIME_CUDA_KERNELS_ELEMENTWISE_CUH
