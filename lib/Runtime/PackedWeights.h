//===- PackedWeights.h - A model's weights packed for decode -----*- C++ -*-===//
//
// The CPU linears over ggml blocks read a weight packed by 8 rows
// (cpu::packBlocks) where they can: each model packs a weight on its first
// decode-sized call (on AVX512-VNNI CPUs, where prefill reads it too, its
// first call) and keeps it until it is closed, beside the blocks as bound
// (the prefill panels, the outputs past the last group of 8 and any
// gather still read those).
//
//===----------------------------------------------------------------------===//

#ifndef XFORMER_LIB_RUNTIME_PACKEDWEIGHTS_H
#define XFORMER_LIB_RUNTIME_PACKEDWEIGHTS_H

#include "xformer/Runtime/CPU/Linear.h"

namespace xformer::runtime {

/// The packed form of `blocks` ([out, in] of `type`) for the model whose
/// frame's runtime is `runtime`, packed now if this is its first use; null
/// where the format or the CPU has no packed kernel, the packing fails (out
/// of memory: the blocks are read as stored) or `runtime` is null.
const cpu::PackedBlocks *packedWeight(void *runtime, const void *blocks,
                                      GGMLType type, int64_t out, int64_t in);

} // namespace xformer::runtime

#endif // XFORMER_LIB_RUNTIME_PACKEDWEIGHTS_H
