//===- KernelMath.h - Scalar math both kernel libraries share ---*- C++ -*-===//
//
// The formulas the CPU kernels (lib/Runtime/CPU/Kernels.cpp) and the CUDA
// kernels (xformer/Runtime/CUDA/Kernels.cuh) must compute identically, in
// the fp32 arithmetic Hugging Face uses, defined once for host and device:
// RoPE's inverse frequencies with their 'linear' and 'llama3' rescaling,
// and T5's relative position buckets.
//
//===----------------------------------------------------------------------===//

#ifndef XFORMER_RUNTIME_KERNELMATH_H
#define XFORMER_RUNTIME_KERNELMATH_H

#include "xformer/Runtime/KernelTypes.h"

#include <cmath>
#include <cstdint>

#if defined(__CUDACC__)
#define XFORMER_HD __host__ __device__
#else
#define XFORMER_HD
#endif

namespace xformer::kernels {

/// RoPE's inverse frequency of rotary pair k as Hugging Face computes it
/// (fp32), rescaled as its rope_type 'linear' (`scaling` 1) or 'llama3'
/// (2) does, with the same fp32 operations.
XFORMER_HD inline float
ropeInverseFrequency(int64_t k, int64_t rotaryDim, double theta,
                     int32_t scaling, double factor, double lowFreqFactor,
                     double highFreqFactor, int64_t originalMaxPositions) {
  float v = 1.0f / ::powf(float(theta), float(2 * k) / float(rotaryDim));
  if (scaling == XFK_ROPE_SCALING_LINEAR)
    return v / float(factor);
  if (scaling != XFK_ROPE_SCALING_LLAMA3)
    return v;
  const double old = double(originalMaxPositions);
  const float lowWavelen = float(old / lowFreqFactor);
  const float highWavelen = float(old / highFreqFactor);
  const float twoPi = float(2.0 * 3.14159265358979323846);
  const float wavelen = twoPi / v;
  const float scaled = wavelen > lowWavelen ? v / float(factor) : v;
  const float smooth = (float(old) / wavelen - float(lowFreqFactor)) /
                       float(highFreqFactor - lowFreqFactor);
  const float smoothed =
      (1.0f - smooth) * scaled / float(factor) + smooth * scaled;
  const bool medium = !(wavelen < highWavelen) && !(wavelen > lowWavelen);
  return medium ? smoothed : scaled;
}

/// T5's _relative_position_bucket of key position minus query position
/// `rel`, in the same fp32 arithmetic.
XFORMER_HD inline int64_t t5RelativeBucket(int64_t rel, int64_t numBuckets,
                                           int64_t maxDistance,
                                           bool bidirectional) {
  int64_t nb = numBuckets, result = 0;
  if (bidirectional) {
    nb /= 2;
    if (rel > 0)
      result += nb;
    rel = rel < 0 ? -rel : rel;
  } else {
    rel = rel < 0 ? -rel : 0;
  }
  const int64_t maxExact = nb / 2;
  if (rel < maxExact)
    return result + rel;
  const float scaled = ::logf(float(rel) / float(maxExact)) /
                       float(::log(double(maxDistance) / double(maxExact))) *
                       float(nb - maxExact);
  const int64_t large = maxExact + int64_t(scaled);
  return result + (large < nb - 1 ? large : nb - 1);
}

} // namespace xformer::kernels

#endif // XFORMER_RUNTIME_KERNELMATH_H
