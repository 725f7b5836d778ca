//===- Passes.h - xformer dialect passes -------------------------*- C++ -*-===//

#ifndef XFORMER_TRANSFORMS_PASSES_H
#define XFORMER_TRANSFORMS_PASSES_H

#include "xformer/Transforms/PassOptionTypes.h"
#include "xformer/Transforms/TargetLegality.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir::xformer {

#define GEN_PASS_DECL
#include "xformer/Transforms/Passes.h.inc"

/// Adds the pattern that raises unfused attention into xformer.attention.
void populateFuseAttentionPatterns(RewritePatternSet &patterns);

#define GEN_PASS_REGISTRATION
#include "xformer/Transforms/Passes.h.inc"

} // namespace mlir::xformer

#endif // XFORMER_TRANSFORMS_PASSES_H
