//===- Rope.cuh - Position encodings --------------------------------------===//
//
// Rotary embeddings with HF's rescalings (KernelMath.h) and T5's relative
// position bias.
//
//===----------------------------------------------------------------------===//

#ifndef XFORMER_RUNTIME_CUDA_KERNELS_ROPE_CUH
#define XFORMER_RUNTIME_CUDA_KERNELS_ROPE_CUH

#include "xformer/Runtime/CUDA/Kernels/Support.cuh"
#include "xformer/Runtime/KernelMath.h"

namespace xformer::cuda {

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

} // namespace xformer::cuda

#endif // XFORMER_RUNTIME_CUDA_KERNELS_ROPE_CUH
