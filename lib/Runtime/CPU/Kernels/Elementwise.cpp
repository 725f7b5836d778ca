//===- Elementwise.cpp - Broadcasting elementwise kernels -----------------===//
//
// Binary ops and comparisons under NumPy broadcasting, unary ops and
// activations, casts, select and masked_fill.
//
//===----------------------------------------------------------------------===//

#include "Common.h"

#include <algorithm>
#include <cmath>
#include <cstring>

using namespace xformer::runtime;
using namespace xformer::runtime::cpu;
using namespace xformer::runtime::cpu::kernels;

namespace {

template <typename T, typename R, typename Op>
void binaryLoop(const T *a, const int64_t *aShape, const T *b,
                const int64_t *bShape, R *out, const int64_t *oShape,
                int32_t rank, Op op) {
  std::vector<int64_t> strides[2] = {broadcastStrides(aShape, rank),
                                     broadcastStrides(bShape, rank)};
  forEachRun(oShape, rank, strides,
             [&](int64_t o, const int64_t *offs, int64_t n, const int64_t *s) {
               const T *pa = a + offs[0];
               const T *pb = b + offs[1];
               R *po = out + o;
               if (s[0] == 1 && s[1] == 1) {
                 for (int64_t i = 0; i < n; ++i)
                   po[i] = op(pa[i], pb[i]);
               } else if (s[0] == 1 && s[1] == 0) {
                 const T vb = *pb;
                 for (int64_t i = 0; i < n; ++i)
                   po[i] = op(pa[i], vb);
               } else {
                 for (int64_t i = 0; i < n; ++i)
                   po[i] = op(pa[i * s[0]], pb[i * s[1]]);
               }
             });
}

template <typename T, typename R>
int32_t binaryTyped(xfk_frame *f, int32_t op, const T *a, const int64_t *as,
                    const T *b, const int64_t *bs, void *out,
                    const int64_t *os, int32_t rank) {
  R *o = static_cast<R *>(out);
  switch (op) {
  case XFK_ADD:
    binaryLoop(a, as, b, bs, o, os, rank, [](T x, T y) { return R(x + y); });
    return 0;
  case XFK_SUB:
    binaryLoop(a, as, b, bs, o, os, rank, [](T x, T y) { return R(x - y); });
    return 0;
  case XFK_MUL:
    binaryLoop(a, as, b, bs, o, os, rank, [](T x, T y) { return R(x * y); });
    return 0;
  case XFK_DIV:
    if constexpr (std::is_integral_v<T>) {
      bool zero = false;
      binaryLoop(a, as, b, bs, o, os, rank, [&](T x, T y) {
        if (y == 0) {
          zero = true;
          return R(0);
        }
        return R(x / y);
      });
      if (zero)
        return xfk_fail(f, XF_ERROR_INVALID_ARGUMENT,
                        "integer division by zero");
    } else {
      binaryLoop(a, as, b, bs, o, os, rank, [](T x, T y) { return R(x / y); });
    }
    return 0;
  case XFK_AND:
    binaryLoop(a, as, b, bs, o, os, rank, [](T x, T y) { return R(x && y); });
    return 0;
  case XFK_OR:
    binaryLoop(a, as, b, bs, o, os, rank, [](T x, T y) { return R(x || y); });
    return 0;
  }
  return xfk_fail(f, XF_ERROR_INTERNAL, "binary: unknown operation");
}

template <typename T>
int32_t compareTyped(xfk_frame *f, int32_t op, const T *a, const int64_t *as,
                     const T *b, const int64_t *bs, void *out,
                     const int64_t *os, int32_t rank) {
  uint8_t *o = static_cast<uint8_t *>(out);
  switch (op) {
  case XFK_EQ:
    binaryLoop(a, as, b, bs, o, os, rank, [](T x, T y) { return uint8_t(x == y); });
    return 0;
  case XFK_NE:
    binaryLoop(a, as, b, bs, o, os, rank, [](T x, T y) { return uint8_t(x != y); });
    return 0;
  case XFK_LT:
    binaryLoop(a, as, b, bs, o, os, rank, [](T x, T y) { return uint8_t(x < y); });
    return 0;
  case XFK_LE:
    binaryLoop(a, as, b, bs, o, os, rank, [](T x, T y) { return uint8_t(x <= y); });
    return 0;
  case XFK_GT:
    binaryLoop(a, as, b, bs, o, os, rank, [](T x, T y) { return uint8_t(x > y); });
    return 0;
  case XFK_GE:
    binaryLoop(a, as, b, bs, o, os, rank, [](T x, T y) { return uint8_t(x >= y); });
    return 0;
  }
  return xfk_fail(f, XF_ERROR_INTERNAL, "compare: unknown predicate");
}

template <typename T>
int32_t binaryDispatch(xfk_frame *f, int32_t op, const void *a,
                       const int64_t *as, const void *b, const int64_t *bs,
                       void *out, const int64_t *os, int32_t rank) {
  const T *pa = static_cast<const T *>(a);
  const T *pb = static_cast<const T *>(b);
  if (op >= XFK_EQ)
    return compareTyped<T>(f, op, pa, as, pb, bs, out, os, rank);
  return binaryTyped<T, T>(f, op, pa, as, pb, bs, out, os, rank);
}

} // namespace

extern "C" {

int32_t xfk_binary(xfk_frame *f, int32_t op, int32_t dtype, const void *a,
                   const int64_t *as, const void *b, const int64_t *bs,
                   void *out, const int64_t *os, int32_t rank) {
  switch (dtype) {
  case XFM_F32:
    return binaryDispatch<float>(f, op, a, as, b, bs, out, os, rank);
  case XFM_I64:
    return binaryDispatch<int64_t>(f, op, a, as, b, bs, out, os, rank);
  case XFM_I32:
    return binaryDispatch<int32_t>(f, op, a, as, b, bs, out, os, rank);
  case XFM_BOOL:
    return binaryDispatch<uint8_t>(f, op, a, as, b, bs, out, os, rank);
  }
  return xfk_fail(f, XF_ERROR_INTERNAL, "binary: unknown dtype");
}

int32_t xfk_unary(xfk_frame *f, int32_t op, const void *xv, void *yv,
                  int64_t n) {
  if (op == XFK_NOT) {
    const uint8_t *x = static_cast<const uint8_t *>(xv);
    uint8_t *y = static_cast<uint8_t *>(yv);
    for (int64_t i = 0; i < n; ++i)
      y[i] = !x[i];
    return 0;
  }
  const float *x = static_cast<const float *>(xv);
  float *y = static_cast<float *>(yv);
  switch (op) {
  case XFK_GELU_ERF:
    for (int64_t i = 0; i < n; ++i)
      y[i] = 0.5f * x[i] * (1.0f + std::erf(x[i] * 0.70710678118654752f));
    return 0;
  case XFK_GELU_TANH:
    for (int64_t i = 0; i < n; ++i) {
      float v = x[i];
      y[i] = 0.5f * v *
             (1.0f + std::tanh(0.79788456080286536f * (v + 0.044715f * v * v * v)));
    }
    return 0;
  case XFK_RELU:
    for (int64_t i = 0; i < n; ++i)
      y[i] = x[i] > 0.0f ? x[i] : 0.0f;
    return 0;
  case XFK_SILU:
    for (int64_t i = 0; i < n; ++i)
      y[i] = x[i] / (1.0f + std::exp(-x[i]));
    return 0;
  case XFK_TANH:
    for (int64_t i = 0; i < n; ++i)
      y[i] = std::tanh(x[i]);
    return 0;
  }
  return xfk_fail(f, XF_ERROR_INTERNAL, "unary: unknown operation");
}

int32_t xfk_glu(xfk_frame *f, int32_t act, const float *x, float *y,
                int64_t rows, int64_t n) {
  Activation a;
  if (!activationOf(act, /*none=*/false, a))
    return xfk_fail(f, XF_ERROR_INTERNAL, "glu: unknown activation");
  gatedLinearUnit(a, x, y, rows, n);
  return 0;
}

int32_t xfk_cast(xfk_frame *f, int32_t from, int32_t to, const void *x,
                 void *y, int64_t n) {
  auto load = [&](int64_t i) -> double {
    switch (from) {
    case XFM_F32:
      return static_cast<const float *>(x)[i];
    case XFM_I64:
      return double(static_cast<const int64_t *>(x)[i]);
    case XFM_I32:
      return static_cast<const int32_t *>(x)[i];
    default:
      return static_cast<const uint8_t *>(x)[i] ? 1.0 : 0.0;
    }
  };
  if (from == XFM_I64 && to == XFM_I32) {
    for (int64_t i = 0; i < n; ++i)
      static_cast<int32_t *>(y)[i] =
          int32_t(static_cast<const int64_t *>(x)[i]);
    return 0;
  }
  if (from == XFM_I32 && to == XFM_I64) {
    for (int64_t i = 0; i < n; ++i)
      static_cast<int64_t *>(y)[i] = static_cast<const int32_t *>(x)[i];
    return 0;
  }
  for (int64_t i = 0; i < n; ++i) {
    double v = load(i);
    switch (to) {
    case XFM_F32:
      static_cast<float *>(y)[i] = float(v);
      break;
    case XFM_I64:
      if (!std::isfinite(v))
        return xfk_fail(f, XF_ERROR_NONFINITE,
                        "cast: NaN or Inf converted to an integer");
      static_cast<int64_t *>(y)[i] = int64_t(v);
      break;
    case XFM_I32:
      if (!std::isfinite(v))
        return xfk_fail(f, XF_ERROR_NONFINITE,
                        "cast: NaN or Inf converted to an integer");
      static_cast<int32_t *>(y)[i] = int32_t(v);
      break;
    default:
      static_cast<uint8_t *>(y)[i] = v != 0.0;
      break;
    }
  }
  return 0;
}

int32_t xfk_select(xfk_frame *, int32_t eb, const uint8_t *cond,
                   const int64_t *cs, const void *t, const int64_t *ts,
                   const void *e, const int64_t *es, void *out,
                   const int64_t *os, int32_t rank) {
  std::vector<int64_t> strides[3] = {broadcastStrides(cs, rank),
                                     broadcastStrides(ts, rank),
                                     broadcastStrides(es, rank)};
  const char *pt = static_cast<const char *>(t);
  const char *pe = static_cast<const char *>(e);
  char *po = static_cast<char *>(out);
  forEachRun(os, rank, strides,
             [&](int64_t o, const int64_t *offs, int64_t n, const int64_t *s) {
               for (int64_t i = 0; i < n; ++i) {
                 bool c = cond[offs[0] + i * s[0]];
                 const char *src = c ? pt + (offs[1] + i * s[1]) * eb
                                     : pe + (offs[2] + i * s[2]) * eb;
                 std::memcpy(po + (o + i) * eb, src, eb);
               }
             });
  return 0;
}

int32_t xfk_masked_fill(xfk_frame *, const float *x, const int64_t *xs,
                        const uint8_t *mask, const int64_t *ms, float value,
                        float *out, const int64_t *os, int32_t rank) {
  std::vector<int64_t> strides[2] = {broadcastStrides(xs, rank),
                                     broadcastStrides(ms, rank)};
  forEachRun(os, rank, strides,
             [&](int64_t o, const int64_t *offs, int64_t n, const int64_t *s) {
               for (int64_t i = 0; i < n; ++i)
                 out[o + i] = mask[offs[1] + i * s[1]] ? value
                                                       : x[offs[0] + i * s[0]];
             });
  return 0;
}

} // extern "C"
