//===- ModelToCpp.h - Emit a compiled model as C++ or CUDA C++ --*- C++ -*-===//
//
// Translates a module of xformer ops with static shapes (after the target's
// pipeline, xformer-cpu-pipeline or xformer-cuda-pipeline) into one C++
// translation unit: each function becomes straight-line calls to the
// kernels of xformer/Runtime/CPU/Kernels.h or xformer/Runtime/CUDA/
// Kernels.cuh with its shapes baked in, over a scratch buffer at the
// offsets --xformer-plan-scratch gave (checked; planned by the same code
// when the IR carries no plan); the module becomes the `xformer_model`
// descriptor of xformer/Runtime/ModelABI.h. Registered as the translations
// `xformer-to-cpp` and `xformer-to-cuda` of xformer-translate.
//
//===----------------------------------------------------------------------===//

#ifndef XFORMER_TARGET_CPP_MODELTOCPP_H
#define XFORMER_TARGET_CPP_MODELTOCPP_H

#include "xformer/Transforms/TargetLegality.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LLVM.h"

namespace mlir::xformer {

struct EmitStats {
  int64_t kernelCalls = 0;
  int64_t scratchBytes = 0; // the largest function's
};

/// Writes the C++ source of `module`; reports unsupported ops, types and
/// shapes as errors at their locations and fails.
LogicalResult translateModelToCpp(ModuleOp module, raw_ostream &os,
                                  EmitStats *stats = nullptr,
                                  ModelTarget target = ModelTarget::cpu);

/// Registers `--xformer-to-cpp` and `--xformer-to-cuda` with the
/// translation registry (mlirTranslateMain: xformer-translate).
void registerToCppTranslations();

} // namespace mlir::xformer

#endif // XFORMER_TARGET_CPP_MODELTOCPP_H
