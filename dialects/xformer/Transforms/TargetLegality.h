//===- TargetLegality.h - What each code-generation target accepts -*- C++
//-*-===//
//
// The contract between the middle end and a code-generation target: which
// ops, element types, shapes, weights and KV caches the target lowers. The
// `xformer-verify-target` pass reports every violation at its location;
// the emitter checks it again on entry (it can be called directly, from
// Python), so what reaches it is always lowerable.
//
//===----------------------------------------------------------------------===//

#ifndef XFORMER_TRANSFORMS_TARGETLEGALITY_H
#define XFORMER_TRANSFORMS_TARGETLEGALITY_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LLVM.h"

namespace mlir::xformer {

/// Which kernel library the emitted code calls: the CPU runtime's
/// (xformer/Runtime/CPU/Kernels.h, compiled by a C++ compiler) or the CUDA
/// kernels (xformer/Runtime/CUDA/Kernels.cuh, compiled by nvcc).
enum class ModelTarget { cpu, cuda };

/// "CPU" or "CUDA", as diagnostics name the target.
StringRef targetName(ModelTarget target);

/// Checks that `target` can lower every function, op, type, weight and KV
/// cache of `module`; reports each violation at its location and fails.
LogicalResult verifyTargetLegality(ModuleOp module, ModelTarget target);

} // namespace mlir::xformer

#endif // XFORMER_TRANSFORMS_TARGETLEGALITY_H
