//===- Epilogue.h - A linear's epilogue, element by element -----*- C++ -*-===//
//
// activation(sum + bias) + residual, as oneDNN's post-ops compute it, for the
// runtime's own linear kernels (streamed bf16, ggml blocks).
//
//===----------------------------------------------------------------------===//

#ifndef XFORMER_LIB_RUNTIME_CPU_EPILOGUE_H
#define XFORMER_LIB_RUNTIME_CPU_EPILOGUE_H

#include "xformer/Runtime/CPU/Linear.h"

#include <cmath>

namespace xformer::runtime::cpu {

inline float activate(Activation act, float x) {
  switch (act) {
  case Activation::None:
    return x;
  case Activation::GeluErf:
    return 0.5f * x * (1.0f + std::erf(x * 0.70710678118654752f));
  case Activation::GeluTanh:
    return 0.5f * x *
           (1.0f +
            std::tanh(0.79788456080286536f * (x + 0.044715f * x * x * x)));
  case Activation::Silu:
    return x / (1.0f + std::exp(-x));
  case Activation::Relu:
    return x > 0.0f ? x : 0.0f;
  case Activation::Tanh:
    return std::tanh(x);
  }
  return x;
}

/// Writes y[r][o] = act(sum + bias[o]) + residual[r][o].
inline void finish(const LinearArgs &a, int64_t r, int64_t o, float sum) {
  if (a.bias)
    sum += a.bias[o];
  sum = activate(a.activation, sum);
  const int64_t at = r * a.out + o;
  a.output[at] = a.residual ? sum + a.residual[at] : sum;
}

/// The linear over ggml blocks (QuantLinear.cpp); `a.weightBlocks` set.
bool blockLinear(const LinearArgs &a, std::string &error);

/// Writes the f32 weights of outputs [o0, o0 + n) of a linear, [n, in].
using PanelDecoder = void (*)(const LinearArgs &a, int64_t o0, int64_t n,
                              float *panel);

/// A linear whose weights are decoded to f32 a panel of outputs at a time,
/// on the pool thread that then multiplies the panel by oneDNN's f32 GEMM
/// (the epilogue as its post-ops) while it is in that core's cache
/// (Linear.cpp).
bool panelLinear(const LinearArgs &a, PanelDecoder decode, std::string &error);

} // namespace xformer::runtime::cpu

#endif // XFORMER_LIB_RUNTIME_CPU_EPILOGUE_H
