//===- ModelToCpp.h - Emit a compiled model as C++ for the CPU --*- C++ -*-===//
//
// Translates a module of xformer ops with static shapes (after fusion,
// derive-generation and the KV-cache plan) into one C++ translation unit:
// each function becomes straight-line calls to the CPU kernels of
// xformer/Runtime/CPU/Kernels.h with its shapes baked in, over a scratch
// buffer whose offsets are planned here from value lifetimes; the module
// becomes the `xformer_model` descriptor of xformer/Runtime/ModelABI.h.
//
//===----------------------------------------------------------------------===//

#ifndef XFORMER_TARGET_CPU_MODELTOCPP_H
#define XFORMER_TARGET_CPU_MODELTOCPP_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LLVM.h"

namespace mlir::xformer {

/// Which kernel library the emitted code calls: the CPU runtime's
/// (xformer/Runtime/CPU/Kernels.h, compiled by a C++ compiler) or the CUDA
/// kernels (xformer/Runtime/CUDA/Kernels.cuh, compiled by nvcc into the
/// model's library with a fatbin). The orchestration is the same.
enum class ModelTarget { cpu, cuda };

struct CpuEmitStats {
  int64_t kernelCalls = 0;
  int64_t scratchBytes = 0; // the largest function's
};

/// Writes the C++ source of `module`; reports unsupported ops, types and
/// shapes as errors at their locations and fails.
LogicalResult translateModelToCpp(ModuleOp module, raw_ostream &os,
                                  CpuEmitStats *stats = nullptr,
                                  ModelTarget target = ModelTarget::cpu);

} // namespace mlir::xformer

#endif // XFORMER_TARGET_CPU_MODELTOCPP_H
