//===- Rope.cpp - Position encodings --------------------------------------===//
//
// Rotary embeddings (half and interleaved pairs, HF's linear and llama3
// rescaling from KernelMath.h) and T5's relative position bias.
//
//===----------------------------------------------------------------------===//

#include "Common.h"

#include "xformer/Runtime/KernelMath.h"

#include <cmath>
#include <vector>

using namespace xformer::runtime;
using namespace xformer::runtime::cpu;
using namespace xformer::runtime::cpu::kernels;

extern "C" {

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

} // extern "C"
