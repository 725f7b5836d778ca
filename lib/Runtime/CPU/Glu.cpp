//===- Glu.cpp - The gated linear unit ------------------------------------===//
//
// y = act(gate) * up over a [rows, 2n] input (gate the first n of a row):
// SiLU by AVX2 where the CPU has it (the activation of SwiGLU decoders,
// in vectors as the linear epilogue computes it), every other activation
// and the tail element by element; rows spread over the pool when there
// are enough of them.
//
//===----------------------------------------------------------------------===//

#include "Epilogue.h"
#include "ThreadPool.h"
#include "VectorMath.h"

#include "xformer/Runtime/CPU/Linear.h"

using namespace xformer::runtime::cpu;

namespace {

/// Elements below which one thread does the whole call.
constexpr int64_t kParallelElements = 1 << 15;

__attribute__((target(XF_AVX2_FMA))) void
siluRowAVX2(const float *gate, const float *up, float *y, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(y + i, _mm256_mul_ps(silu8(_mm256_loadu_ps(gate + i)),
                                          _mm256_loadu_ps(up + i)));
  for (; i < n; ++i)
    y[i] = activate(Activation::Silu, gate[i]) * up[i];
}

} // namespace

void xformer::runtime::cpu::gatedLinearUnit(Activation act, const float *x,
                                            float *y, int64_t rows,
                                            int64_t n) {
  const bool vector =
      act == Activation::Silu && cpuISA() != CpuISA::Baseline;
  const auto row = [=](int64_t r) {
    const float *gate = x + r * 2 * n, *up = gate + n;
    float *out = y + r * n;
    if (vector) {
      siluRowAVX2(gate, up, out, n);
      return;
    }
    for (int64_t i = 0; i < n; ++i)
      out[i] = activate(act, gate[i]) * up[i];
  };
  if (rows > 1 && rows * n >= kParallelElements) {
    parallelFor(rows, row);
    return;
  }
  for (int64_t r = 0; r < rows; ++r)
    row(r);
}
