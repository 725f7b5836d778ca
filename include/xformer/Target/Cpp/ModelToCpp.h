//===- ModelToCpp.h - Emit a compiled model as C++ or CUDA C++ --*- C++ -*-===//
//
// Translates a module of xformer ops with static shapes (after the target's
// pipeline, xformer-cpu-pipeline or xformer-cuda-pipeline) into one C++
// translation unit: lowered to EmitC by --xformer-convert-to-emitc (each
// function straight-line calls to the kernels of xformer/Runtime/CPU/
// Kernels.h or xformer/Runtime/CUDA/Kernels.cuh over the planned scratch;
// the module the `xformer_model` descriptor of xformer/Runtime/ModelABI.h)
// and printed by the upstream C++ emitter. Registered as the translations
// `xformer-to-cpp` and `xformer-to-cuda` of xformer-translate, beside the
// emitter's own `mlir-to-cpp` for IR already in EmitC.
//
//===----------------------------------------------------------------------===//

#ifndef XFORMER_TARGET_CPP_MODELTOCPP_H
#define XFORMER_TARGET_CPP_MODELTOCPP_H

#include "xformer/Conversion/XformerToEmitC/XformerToEmitC.h"
#include "xformer/Transforms/TargetLegality.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LLVM.h"

namespace mlir::xformer {

using EmitStats = EmitCStats;

/// Writes the C++ source of `module`; reports unsupported ops, types and
/// shapes as errors at their locations and fails.
LogicalResult translateModelToCpp(ModuleOp module, raw_ostream &os,
                                  EmitStats *stats = nullptr,
                                  ModelTarget target = ModelTarget::cpu);

/// Registers `--xformer-to-cpp`, `--xformer-to-cuda` and `--mlir-to-cpp` with the
/// translation registry (mlirTranslateMain: xformer-translate).
void registerToCppTranslations();

} // namespace mlir::xformer

#endif // XFORMER_TARGET_CPP_MODELTOCPP_H
