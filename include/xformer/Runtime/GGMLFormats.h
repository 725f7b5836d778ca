//===- GGMLFormats.h - ggml's block formats, element by element -*- C++ -*-===//
//
// The reference conversions of ggml's weight formats: each block type
// decoded to f32 exactly as ggml's dequantize_row_* computes it (the same
// float operations in the same order, no contraction into FMAs), and the
// round-to-nearest quantizers of the formats xformer writes
// (quantize_row_*_ref), so files written here and by llama.cpp agree byte
// for byte. These are the definitions the fast kernels are tested against.
//
//===----------------------------------------------------------------------===//

#ifndef XFORMER_RUNTIME_GGMLFORMATS_H
#define XFORMER_RUNTIME_GGMLFORMATS_H

#include "xformer/Runtime/GGUF.h"

#include <cstdint>

namespace xformer::runtime {

/// IEEE half <-> float (round to nearest even, NaN kept quiet).
float halfToFloat(uint16_t h);
uint16_t floatToHalf(float f);

/// Decodes `n` elements (a whole number of blocks) of `type` from `src`
/// into `dst`. Returns false, writing nothing, if `n` is not a whole number
/// of blocks.
bool dequantizeRow(GGMLType type, const void *src, float *dst, int64_t n);

/// Whether quantizeRow writes `type` (F32, F16, BF16, Q8_0, Q4_0, Q4_1,
/// Q4_K, Q6_K), each as ggml's reference quantizer (quantize_row_*_ref)
/// rounds, bit for bit.
bool canQuantize(GGMLType type);
/// Encodes `n` floats (a whole number of blocks) as `type` into `dst`
/// (n / blockElements * blockBytes bytes). Returns false if the type is not
/// one canQuantize accepts or `n` is not a whole number of blocks.
bool quantizeRow(GGMLType type, const float *src, void *dst, int64_t n);

/// The 6-bit scale `d` and minimum `m` of sub-block `j` (0-7) of a Q4_K or
/// Q5_K block, from its 12 bytes of packed scales `q`.
inline void scaleMinK4(int j, const uint8_t *q, uint8_t &d, uint8_t &m) {
  if (j < 4) {
    d = q[j] & 63;
    m = q[j + 4] & 63;
  } else {
    d = uint8_t((q[j + 4] & 0x0f) | ((q[j - 4] >> 6) << 4));
    m = uint8_t((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
  }
}

} // namespace xformer::runtime

#endif // XFORMER_RUNTIME_GGMLFORMATS_H
