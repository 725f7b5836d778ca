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

} // namespace xformer::runtime

#endif // XFORMER_RUNTIME_GGMLFORMATS_H
