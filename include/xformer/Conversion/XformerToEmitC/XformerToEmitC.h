//===- XformerToEmitC.h - Lower a compiled model to EmitC --------*- C++ -*-===//
//
// The conversion behind --xformer-convert-to-emitc: a module after the
// target's pipeline becomes EmitC (kernel calls over the planned scratch,
// the model's descriptor tables) that the upstream C++ emitter prints.
//
//===----------------------------------------------------------------------===//

#ifndef XFORMER_CONVERSION_XFORMERTOEMITC_XFORMERTOEMITC_H
#define XFORMER_CONVERSION_XFORMERTOEMITC_XFORMERTOEMITC_H

#include "xformer/Transforms/TargetLegality.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LLVM.h"

namespace mlir::xformer {

/// What a lowering produced, for xformer-compile's report.
struct EmitCStats {
  int64_t kernelCalls = 0;  // ops lowered to kernel calls
  int64_t scratchBytes = 0; // the largest function's
};

/// Rewrites `module` in place into EmitC for `target`. Checks the target's
/// legality and the scratch plans first; on failure reports at the op at
/// fault and leaves the module unusable for printing.
LogicalResult convertXformerToEmitC(ModuleOp module, ModelTarget target,
                                    EmitCStats *stats = nullptr);

} // namespace mlir::xformer

#endif // XFORMER_CONVERSION_XFORMERTOEMITC_XFORMERTOEMITC_H
