//===- Common.h - What the CPU kernel families share ------------*- C++ -*-===//
//
// Index reads, broadcast strides and the run-by-run walk of broadcasting
// ops, and the linear layers' call into Linear.h, for the kernels of
// xformer/Runtime/CPU/Kernels.h (one file per op family in this folder).
//
//===----------------------------------------------------------------------===//

#ifndef XFORMER_LIB_RUNTIME_CPU_KERNELS_COMMON_H
#define XFORMER_LIB_RUNTIME_CPU_KERNELS_COMMON_H

#include "xformer/Runtime/CPU/Kernels.h"
#include "xformer/Runtime/CPU/Linear.h"
#include "xformer/Runtime/xformer.h"

#include <cstdint>
#include <vector>

namespace xformer::runtime::cpu::kernels {

inline int64_t readIndex(const void *p, int32_t dtype, int64_t i) {
  return dtype == XFM_I32 ? static_cast<const int32_t *>(p)[i]
                          : static_cast<const int64_t *>(p)[i];
}

/// Strides of `shape` read as broadcast to `rank` dimensions: size-1
/// dimensions repeat (stride 0).
inline std::vector<int64_t> broadcastStrides(const int64_t *shape, int32_t rank) {
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

/// The activation of a kernel's xfk_unary_op code (XFK_NOT excepted), or
/// none for -1 when `none` is allowed; false for any other code.
inline bool activationOf(int32_t code, bool none, Activation &act) {
  switch (code) {
  case XFK_GELU_ERF:
    act = Activation::GeluErf;
    return true;
  case XFK_GELU_TANH:
    act = Activation::GeluTanh;
    return true;
  case XFK_SILU:
    act = Activation::Silu;
    return true;
  case XFK_RELU:
    act = Activation::Relu;
    return true;
  case XFK_TANH:
    act = Activation::Tanh;
    return true;
  case -1:
    act = Activation::None;
    return none;
  default:
    return false;
  }
}

/// Runs y = act(x W^T + bias) + residual with the weight already set in
/// `args` (f32, bf16, f16 or ggml blocks); `act` is -1 or an xfk_unary_op.
int32_t runLinear(xfk_frame *f, LinearArgs args, const float *x,
                  const float *bias, float *y, int64_t rows, int64_t in,
                  int64_t out, int32_t transposed, int32_t act,
                  const float *residual);

} // namespace xformer::runtime::cpu::kernels

#endif // XFORMER_LIB_RUNTIME_CPU_KERNELS_COMMON_H
