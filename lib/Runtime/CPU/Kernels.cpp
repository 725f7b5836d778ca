//===- Kernels.cpp - CPU kernels called by generated model code -----------===//
//
// Straightforward, vectorisable loops for the memory-bound ops (norms,
// activations, broadcasting elementwise, layout changes); GEMMs go to
// oneDNN (Linear.cpp) and attention to the fused kernel (Attention.cpp).
//
//===----------------------------------------------------------------------===//

#include "xformer/Runtime/CPU/Kernels.h"
#include "xformer/Runtime/CPU/Attention.h"
#include "xformer/Runtime/CPU/Linear.h"
#include "xformer/Runtime/GGMLFormats.h"
#include "xformer/Runtime/KernelMath.h"
#include "xformer/Runtime/xformer.h"

#include "PackedWeights.h"
#include "RuntimeError.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

using namespace xformer::runtime;
using namespace xformer::runtime::cpu;

namespace {

int64_t readIndex(const void *p, int32_t dtype, int64_t i) {
  return dtype == XFM_I32 ? static_cast<const int32_t *>(p)[i]
                          : static_cast<const int64_t *>(p)[i];
}

/// Strides of `shape` read as broadcast to `rank` dimensions: size-1
/// dimensions repeat (stride 0).
std::vector<int64_t> broadcastStrides(const int64_t *shape, int32_t rank) {
  std::vector<int64_t> strides(rank, 0);
  int64_t s = 1;
  for (int32_t d = rank - 1; d >= 0; --d) {
    strides[d] = shape[d] == 1 ? 0 : s;
    s *= shape[d];
  }
  return strides;
}

/// Calls body(outOffset, offsets[N], innerCount, innerStrides[N]) for each
/// run along the last dimension of `outShape`.
template <size_t N, typename Body>
void forEachRun(const int64_t *outShape, int32_t rank,
                const std::vector<int64_t> (&strides)[N], Body &&body) {
  if (rank == 0) {
    int64_t offs[N] = {};
    int64_t inner[N] = {};
    body(int64_t(0), offs, int64_t(1), inner);
    return;
  }
  int64_t total = 1;
  for (int32_t d = 0; d < rank; ++d)
    total *= outShape[d];
  if (total == 0)
    return;
  const int64_t n = outShape[rank - 1];
  int64_t inner[N];
  for (size_t o = 0; o < N; ++o)
    inner[o] = strides[o][rank - 1];
  std::vector<int64_t> idx(rank, 0);
  int64_t offs[N] = {};
  for (int64_t out = 0; out < total; out += n) {
    body(out, offs, n, inner);
    // Advance the outer index (all dimensions but the last).
    for (int32_t d = rank - 2; d >= 0; --d) {
      ++idx[d];
      for (size_t o = 0; o < N; ++o)
        offs[o] += strides[o][d];
      if (idx[d] < outShape[d])
        break;
      for (size_t o = 0; o < N; ++o)
        offs[o] -= strides[o][d] * idx[d];
      idx[d] = 0;
    }
  }
}

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

int32_t xfk_fail(xfk_frame *, int32_t status, const char *message) {
  setLastError(message);
  return status;
}

namespace {

/// Reads id `i` into `id`; a failure of the frame if it is outside the
/// table.
int32_t embeddingId(xfk_frame *f, int64_t vocab, const void *ids,
                    int32_t idsDtype, int64_t i, const char *what,
                    int64_t &id) {
  id = readIndex(ids, idsDtype, i);
  if (id >= 0 && id < vocab)
    return 0;
  std::string msg = std::string(what) + ": id " + std::to_string(id) +
                    " at index " + std::to_string(i) + " is outside [0, " +
                    std::to_string(vocab) + ")";
  return xfk_fail(f, XF_ERROR_OUT_OF_RANGE, msg.c_str());
}

} // namespace

int32_t xfk_embedding(xfk_frame *f, const float *table, int64_t vocab,
                      int64_t dim, const void *ids, int32_t idsDtype,
                      int64_t n, float *out, const char *what) {
  for (int64_t i = 0; i < n; ++i) {
    int64_t id;
    if (int32_t status = embeddingId(f, vocab, ids, idsDtype, i, what, id))
      return status;
    std::memcpy(out + i * dim, table + id * dim, dim * sizeof(float));
  }
  return 0;
}

int32_t xfk_embedding_ggml(xfk_frame *f, const void *table, int32_t ggmlType,
                           int64_t vocab, int64_t dim, const void *ids,
                           int32_t idsDtype, int64_t n, float *out,
                           const char *what) {
  const std::optional<GGMLTypeTraits> traits = ggmlTypeTraits(uint32_t(ggmlType));
  if (!traits || dim % traits->blockElements != 0)
    return xfk_fail(f, XF_ERROR_INTERNAL,
                    (std::string(what) + ": no rows of " + std::to_string(dim) +
                     " elements in ggml type " + std::to_string(ggmlType))
                        .c_str());
  const int64_t rowBytes = dim / traits->blockElements * traits->blockBytes;
  const uint8_t *rows = static_cast<const uint8_t *>(table);
  for (int64_t i = 0; i < n; ++i) {
    int64_t id;
    if (int32_t status = embeddingId(f, vocab, ids, idsDtype, i, what, id))
      return status;
    dequantizeRow(traits->type, rows + id * rowBytes, out + i * dim, dim);
  }
  return 0;
}

namespace {

/// Runs y = act(x W^T + bias) + residual with the weight already set in
/// `args` (f32 or bf16); `act` is -1 or an xfk_unary_op.
int32_t runLinear(xfk_frame *f, LinearArgs args, const float *x,
                  const float *bias, float *y, int64_t rows, int64_t in,
                  int64_t out, int32_t transposed, int32_t act,
                  const float *residual) {
  args.input = x;
  args.bias = bias;
  args.output = y;
  args.rows = rows;
  args.in = in;
  args.out = out;
  args.transposed = transposed != 0;
  args.residual = residual;
  switch (act) {
  case -1:
    break;
  case XFK_GELU_ERF:
    args.activation = Activation::GeluErf;
    break;
  case XFK_GELU_TANH:
    args.activation = Activation::GeluTanh;
    break;
  case XFK_SILU:
    args.activation = Activation::Silu;
    break;
  case XFK_RELU:
    args.activation = Activation::Relu;
    break;
  case XFK_TANH:
    args.activation = Activation::Tanh;
    break;
  default:
    return xfk_fail(f, XF_ERROR_INTERNAL, "linear: unknown activation");
  }
  std::string error;
  if (!linear(args, error))
    return xfk_fail(f, XF_ERROR_INTERNAL, error.c_str());
  return 0;
}

} // namespace

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

int32_t xfk_linear_ggml_fused(xfk_frame *f, const float *x, const void *w,
                              int32_t ggmlType, const float *bias, float *y,
                              int64_t rows, int64_t in, int64_t out,
                              int32_t act, const float *residual) {
  LinearArgs args;
  args.weightBlocks = w;
  args.blockType = GGMLType(ggmlType);
  // Decode reads the weight packed by 8 rows where the CPU can.
  if (f && readsPacked(rows))
    args.packed = packedWeight(f->runtime, w, args.blockType, out, in);
  return runLinear(f, args, x, bias, y, rows, in, out, 0, act, residual);
}

int32_t xfk_linear_fused(xfk_frame *f, const float *x, const float *w,
                         const float *bias, float *y, int64_t rows,
                         int64_t in, int64_t out, int32_t transposed,
                         int32_t act, const float *residual) {
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
    if (int32_t rc = xfk_linear(f, a + ao * m * k, b + bo * k * n,
                                nullptr, c + t * m * n, m, k, n,
                                transposeRhs ? 0 : 1))
      return rc;
    for (int32_t d = rank - 1; d >= 0; --d) {
      if (++idx[d] < cBatch[d])
        break;
      idx[d] = 0;
    }
  }
  return 0;
}

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

int32_t xfk_broadcast(xfk_frame *, int32_t eb, const void *x,
                      const int64_t *xs, void *y, const int64_t *ys,
                      int32_t rank) {
  std::vector<int64_t> strides[1] = {broadcastStrides(xs, rank)};
  const char *px = static_cast<const char *>(x);
  char *py = static_cast<char *>(y);
  forEachRun(ys, rank, strides,
             [&](int64_t o, const int64_t *offs, int64_t n, const int64_t *s) {
               if (s[0] == 1) {
                 std::memcpy(py + o * eb, px + offs[0] * eb, n * eb);
                 return;
               }
               for (int64_t i = 0; i < n; ++i)
                 std::memcpy(py + (o + i) * eb, px + (offs[0] + i * s[0]) * eb,
                             eb);
             });
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

int32_t xfk_layer_norm(xfk_frame *, const float *x, const float *gamma,
                       const float *beta, float *y, int64_t rows, int64_t dim,
                       float eps) {
  for (int64_t r = 0; r < rows; ++r) {
    const float *xr = x + r * dim;
    float *yr = y + r * dim;
    float mean = 0.0f;
    for (int64_t d = 0; d < dim; ++d)
      mean += xr[d];
    mean /= float(dim);
    float var = 0.0f;
    for (int64_t d = 0; d < dim; ++d) {
      float c = xr[d] - mean;
      var += c * c;
    }
    var /= float(dim);
    const float inv = 1.0f / std::sqrt(var + eps);
    for (int64_t d = 0; d < dim; ++d) {
      float v = (xr[d] - mean) * inv;
      if (gamma)
        v *= gamma[d];
      if (beta)
        v += beta[d];
      yr[d] = v;
    }
  }
  return 0;
}

int32_t xfk_rms_norm(xfk_frame *, const float *x, const float *gamma,
                     float *y, int64_t rows, int64_t dim, float eps) {
  for (int64_t r = 0; r < rows; ++r) {
    const float *xr = x + r * dim;
    float *yr = y + r * dim;
    float ss = 0.0f;
    for (int64_t d = 0; d < dim; ++d)
      ss += xr[d] * xr[d];
    const float inv = 1.0f / std::sqrt(ss / float(dim) + eps);
    for (int64_t d = 0; d < dim; ++d)
      yr[d] = gamma[d] * (xr[d] * inv);
  }
  return 0;
}

int32_t xfk_softmax(xfk_frame *, const float *x, float *y, int64_t outer,
                    int64_t axis, int64_t inner) {
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t in = 0; in < inner; ++in) {
      const float *xr = x + o * axis * inner + in;
      float *yr = y + o * axis * inner + in;
      float mx = -INFINITY;
      for (int64_t a = 0; a < axis; ++a)
        mx = std::max(mx, xr[a * inner]);
      if (mx == -INFINITY) {
        // Every entry hidden: PyTorch yields NaN; keep the row defined.
        for (int64_t a = 0; a < axis; ++a)
          yr[a * inner] = 0.0f;
        continue;
      }
      float sum = 0.0f;
      for (int64_t a = 0; a < axis; ++a) {
        float e = std::exp(xr[a * inner] - mx);
        yr[a * inner] = e;
        sum += e;
      }
      const float inv = 1.0f / sum;
      for (int64_t a = 0; a < axis; ++a)
        yr[a * inner] *= inv;
    }
  return 0;
}

int32_t xfk_transpose(xfk_frame *, int32_t eb, const void *x,
                      const int64_t *xs, const int64_t *perm, void *y,
                      int32_t rank) {
  // y[i0, ..., ir] = x[...] with y's dimension d being x's perm[d].
  std::vector<int64_t> xStrides(rank), yShape(rank);
  int64_t s = 1;
  for (int32_t d = rank - 1; d >= 0; --d) {
    xStrides[d] = s;
    s *= xs[d];
  }
  std::vector<int64_t> strides[1] = {std::vector<int64_t>(rank)};
  for (int32_t d = 0; d < rank; ++d) {
    yShape[d] = xs[perm[d]];
    strides[0][d] = xStrides[perm[d]];
  }
  const char *px = static_cast<const char *>(x);
  char *py = static_cast<char *>(y);
  forEachRun(yShape.data(), rank, strides,
             [&](int64_t o, const int64_t *offs, int64_t n, const int64_t *st) {
               if (st[0] == 1) {
                 std::memcpy(py + o * eb, px + offs[0] * eb, n * eb);
                 return;
               }
               if (eb == 4) {
                 const uint32_t *src =
                     reinterpret_cast<const uint32_t *>(px) + offs[0];
                 uint32_t *dst = reinterpret_cast<uint32_t *>(py) + o;
                 for (int64_t i = 0; i < n; ++i)
                   dst[i] = src[i * st[0]];
                 return;
               }
               for (int64_t i = 0; i < n; ++i)
                 std::memcpy(py + (o + i) * eb, px + (offs[0] + i * st[0]) * eb,
                             eb);
             });
  return 0;
}

int32_t xfk_slice(xfk_frame *, int32_t eb, const void *x, const int64_t *xs,
                  const int64_t *offsets, void *y, const int64_t *ys,
                  int32_t rank) {
  std::vector<int64_t> xStrides(rank);
  int64_t s = 1, base = 0;
  for (int32_t d = rank - 1; d >= 0; --d) {
    xStrides[d] = s;
    base += offsets[d] * s;
    s *= xs[d];
  }
  std::vector<int64_t> strides[1] = {xStrides};
  const char *px = static_cast<const char *>(x) + base * eb;
  char *py = static_cast<char *>(y);
  forEachRun(ys, rank, strides,
             [&](int64_t o, const int64_t *offs, int64_t n, const int64_t *) {
               std::memcpy(py + o * eb, px + offs[0] * eb, n * eb);
             });
  return 0;
}

int32_t xfk_concat_part(xfk_frame *, int32_t eb, const void *x, int64_t outer,
                        int64_t inner, void *y, int64_t yInner, int64_t at) {
  const char *px = static_cast<const char *>(x);
  char *py = static_cast<char *>(y);
  for (int64_t o = 0; o < outer; ++o)
    std::memcpy(py + (o * yInner + at) * eb, px + o * inner * eb, inner * eb);
  return 0;
}

int32_t xfk_gather_positions(xfk_frame *, int32_t eb, const void *x,
                             int64_t batch, int64_t seq, int64_t inner,
                             const void *pos, int32_t posDtype, void *y) {
  const char *px = static_cast<const char *>(x);
  char *py = static_cast<char *>(y);
  for (int64_t b = 0; b < batch; ++b) {
    int64_t p = readIndex(pos, posDtype, b);
    if (p < 0 || p >= seq)
      std::memset(py + b * inner * eb, 0, inner * eb);
    else
      std::memcpy(py + b * inner * eb, px + (b * seq + p) * inner * eb,
                  inner * eb);
  }
  return 0;
}

int32_t xfk_positions(xfk_frame *, int32_t dtype, int64_t n, void *y) {
  for (int64_t i = 0; i < n; ++i) {
    if (dtype == XFM_I32)
      static_cast<int32_t *>(y)[i] = int32_t(i);
    else
      static_cast<int64_t *>(y)[i] = i;
  }
  return 0;
}

int32_t xfk_rope(xfk_frame *f, int32_t interleaved, const float *x, float *y,
                 int64_t batch, int64_t heads, int64_t seq, int64_t headDim,
                 int64_t rotaryDim, const void *pos, int32_t posDtype,
                 int32_t posPerBatch, double theta) {
  return xfk_rope_scaled(f, interleaved, x, y, batch, heads, seq, headDim,
                         rotaryDim, pos, posDtype, posPerBatch, theta,
                         XFK_ROPE_SCALING_NONE, 1.0, 1.0, 4.0, 0);
}

int32_t xfk_rope_scaled(xfk_frame *, int32_t interleaved, const float *x,
                        float *y, int64_t batch, int64_t heads, int64_t seq,
                        int64_t headDim, int64_t rotaryDim, const void *pos,
                        int32_t posDtype, int32_t posPerBatch, double theta,
                        int32_t scaling, double factor, double lowFreqFactor,
                        double highFreqFactor, int64_t originalMaxPositions) {
  const int64_t half = rotaryDim / 2;
  // The frequencies as Hugging Face computes them (KernelMath.h).
  std::vector<float> invFreq(half), cosv(half), sinv(half);
  for (int64_t k = 0; k < half; ++k)
    invFreq[k] = xformer::kernels::ropeInverseFrequency(
        k, rotaryDim, theta, scaling, factor, lowFreqFactor, highFreqFactor,
        originalMaxPositions);
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t s = 0; s < seq; ++s) {
      const float p = float(readIndex(pos, posDtype, posPerBatch ? b * seq + s : s));
      for (int64_t k = 0; k < half; ++k) {
        const float angle = p * invFreq[k];
        cosv[k] = std::cos(angle);
        sinv[k] = std::sin(angle);
      }
      for (int64_t h = 0; h < heads; ++h) {
        const int64_t row = ((b * heads + h) * seq + s) * headDim;
        const float *xr = x + row;
        float *yr = y + row;
        for (int64_t k = 0; k < half; ++k) {
          const int64_t i0 = interleaved ? 2 * k : k;
          const int64_t i1 = interleaved ? 2 * k + 1 : k + half;
          const float a = xr[i0], c = xr[i1];
          yr[i0] = a * cosv[k] - c * sinv[k];
          yr[i1] = c * cosv[k] + a * sinv[k];
        }
        for (int64_t d = rotaryDim; d < headDim; ++d)
          yr[d] = xr[d];
      }
    }
  return 0;
}

int32_t xfk_relative_position_bias(xfk_frame *, const float *table,
                                   int64_t heads, const void *qPos,
                                   int32_t qDtype, int64_t qBatch, int64_t qLen,
                                   const void *kPos, int32_t kDtype,
                                   int64_t kLen, int64_t numBuckets,
                                   int64_t maxDistance, int32_t bidirectional,
                                   float *out) {
  for (int64_t b = 0; b < qBatch; ++b)
    for (int64_t i = 0; i < qLen; ++i) {
      const int64_t qp = readIndex(qPos, qDtype, b * qLen + i);
      for (int64_t j = 0; j < kLen; ++j) {
        // T5's _relative_position_bucket (KernelMath.h).
        const int64_t bk = xformer::kernels::t5RelativeBucket(
            readIndex(kPos, kDtype, j) - qp, numBuckets, maxDistance,
            bidirectional != 0);
        for (int64_t h = 0; h < heads; ++h)
          out[((b * heads + h) * qLen + i) * kLen + j] = table[bk * heads + h];
      }
    }
  return 0;
}

int32_t xfk_attention(xfk_frame *f, const xfk_attention_args *a) {
  AttentionArgs args;
  args.query = a->q;
  args.key = a->k;
  args.value = a->v;
  args.out = a->out;
  args.batch = a->batch;
  args.heads = a->heads;
  args.kvHeads = a->kv_heads;
  args.qLen = a->q_len;
  args.kvLen = a->kv_len;
  args.headDim = a->head_dim;
  args.vHeadDim = a->v_head_dim;
  args.scale = a->scale;
  // Index tensors reach the kernel as int64.
  std::vector<int64_t> qLens, kvLens, prefixes, segments;
  auto widen = [&](const void *p, int32_t dtype, int64_t n,
                   std::vector<int64_t> &store) -> const int64_t * {
    if (!p)
      return nullptr;
    if (dtype == XFM_I64)
      return static_cast<const int64_t *>(p);
    store.resize(n);
    for (int64_t i = 0; i < n; ++i)
      store[i] = readIndex(p, dtype, i);
    return store.data();
  };
  args.qLengths = widen(a->q_lengths, a->q_lengths_dtype, a->batch, qLens);
  args.kvLengths = widen(a->kv_lengths, a->kv_lengths_dtype, a->batch, kvLens);
  args.prefixLengths =
      widen(a->prefix_lengths, a->prefix_lengths_dtype, a->batch, prefixes);
  args.segmentIds = widen(a->segment_ids, a->segment_ids_dtype,
                          a->batch * a->kv_len, segments);
  args.bias = a->bias;
  args.biasBatchStride = a->bias_batch_stride;
  args.biasHeadStride = a->bias_head_stride;
  if (a->mask_kind == XFK_MASK_CUSTOM) {
    attentionCustom(args, reinterpret_cast<const bool *>(a->mask),
                    a->mask_batch_stride, a->mask_head_stride);
    return 0;
  }
  mask::Spec spec;
  switch (a->mask_kind) {
  case XFK_MASK_BIDIRECTIONAL:
    spec.kind = mask::Kind::Bidirectional;
    break;
  case XFK_MASK_CAUSAL:
    spec.kind = mask::Kind::Causal;
    break;
  case XFK_MASK_PREFIX_LM:
    spec.kind = mask::Kind::PrefixLM;
    break;
  case XFK_MASK_SLIDING_WINDOW:
    spec.kind = mask::Kind::SlidingWindow;
    break;
  case XFK_MASK_CROSS:
    spec.kind = mask::Kind::Cross;
    break;
  default:
    return xfk_fail(f, XF_ERROR_INTERNAL, "attention: unknown mask kind");
  }
  spec.window = a->window;
  spec.prefix = a->prefix;
  spec.documents = a->documents != 0;
  attention(spec, args);
  return 0;
}

int32_t xfk_cache_append(xfk_frame *f, const xfm_cache_desc *c,
                         int32_t ci, int64_t maxBatch, const float *k,
                         const float *v, int64_t batch, int64_t n,
                         const void *start, int32_t startDtype,
                         const void *lengths, int32_t lengthsDtype) {
  if (batch > maxBatch)
    return xfk_fail(f, XF_ERROR_CAPACITY, "cache_append: batch above the plan");
  const int64_t hd = c->head_dim, cap = c->capacity, kvh = c->kv_heads;
  float *kc = reinterpret_cast<float *>(f->arena + c->offset);
  float *vc = kc + maxBatch * kvh * cap * hd;
  for (int64_t b = 0; b < batch; ++b) {
    if (f->active && !f->active[b])
      continue; // a sequence outside this call: its cache stays as it is
    const int64_t s = readIndex(start, startDtype, b);
    int64_t len = lengths ? readIndex(lengths, lengthsDtype, b) : n;
    if (int32_t rc = xfk_check_cache_append(f, c, b, s, len, n))
      return rc;
    if (len == 0)
      continue;
    for (int64_t h = 0; h < kvh; ++h)
      for (int64_t i = 0; i < len; ++i) {
        const int64_t slot = c->kind == XFM_CACHE_RING ? (s + i) % cap : s + i;
        const int64_t src = ((b * kvh + h) * n + i) * hd;
        const int64_t dst = ((b * kvh + h) * cap + slot) * hd;
        std::memcpy(kc + dst, k + src, hd * sizeof(float));
        std::memcpy(vc + dst, v + src, hd * sizeof(float));
      }
    f->cache_fill[ci * maxBatch + b] = s + len;
  }
  return 0;
}

int32_t xfk_cache_read(xfk_frame *f, const xfm_cache_desc *c, int32_t ci,
                       int64_t maxBatch, int64_t batch, float *kOut,
                       float *vOut, const float **k, const float **v) {
  const int64_t hd = c->head_dim, cap = c->capacity, kvh = c->kv_heads;
  const float *kc = reinterpret_cast<const float *>(f->arena + c->offset);
  const float *vc = kc + maxBatch * kvh * cap * hd;
  if (c->kind != XFM_CACHE_RING) {
    *k = kc;
    *v = vc;
    return 0;
  }
  // A ring: the last min(filled, capacity) positions, oldest first.
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t filled = f->cache_fill[ci * maxBatch + b];
    const int64_t count = std::min(filled, cap);
    for (int64_t h = 0; h < kvh; ++h)
      for (int64_t i = 0; i < count; ++i) {
        const int64_t slot = (filled - count + i) % cap;
        const int64_t src = ((b * kvh + h) * cap + slot) * hd;
        const int64_t dst = ((b * kvh + h) * cap + i) * hd;
        std::memcpy(kOut + dst, kc + src, hd * sizeof(float));
        std::memcpy(vOut + dst, vc + src, hd * sizeof(float));
      }
  }
  *k = kOut;
  *v = vOut;
  return 0;
}

} // extern "C"
