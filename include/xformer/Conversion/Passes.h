//===- Passes.h - Conversions out of the xformer dialect ---------*- C++ -*-===//

#ifndef XFORMER_CONVERSION_PASSES_H
#define XFORMER_CONVERSION_PASSES_H

#include "xformer/Transforms/TargetLegality.h"

#include "mlir/Dialect/EmitC/IR/EmitC.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir::xformer {

#define GEN_PASS_DECL
#include "xformer/Conversion/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "xformer/Conversion/Passes.h.inc"

} // namespace mlir::xformer

#endif // XFORMER_CONVERSION_PASSES_H
