//===- QuantGemm.cpp - Linear layers on ggml blocks -----------------------===//
//
// Linear layers whose weights are ggml blocks, computed on the blocks as
// stored (QuantLinear.cpp), packed on first use where the CPU's kernels
// read them so (PackedWeights.h).
//
//===----------------------------------------------------------------------===//

#include "Common.h"

#include "PackedWeights.h"

using namespace xformer::runtime;
using namespace xformer::runtime::cpu;
using namespace xformer::runtime::cpu::kernels;

extern "C" {

int32_t xfk_linear_ggml_fused(xfk_frame *f, const float *x, const void *w,
                              int32_t ggmlType, const float *bias, float *y,
                              int64_t rows, int64_t in, int64_t out,
                              int32_t act, const float *residual) {
  LinearArgs args;
  args.weightBlocks = w;
  args.blockType = GGMLType(ggmlType);
  // Decode (and prefill on AVX512-VNNI) reads the weight packed by 8 rows
  // where the CPU can.
  if (f && readsPacked(rows))
    args.packed = packedWeight(f->runtime, w, args.blockType, out, in);
  return runLinear(f, args, x, bias, y, rows, in, out, 0, act, residual);
}

} // extern "C"
