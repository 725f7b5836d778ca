//===- XformerOps.h - xformer operations -------------------------*- C++ -*-===//

#ifndef XFORMER_IR_XFORMEROPS_H
#define XFORMER_IR_XFORMEROPS_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "xformer/IR/XformerAttrs.h"
#include "xformer/IR/XformerDialect.h"
#include "xformer/IR/XformerTraits.h"
#include "xformer/IR/XformerTypes.h"

#define GET_OP_CLASSES
#include "xformer/IR/XformerOps.h.inc"

namespace mlir::xformer {
/// The activation an elementwise op computes (gelu, relu, silu, tanh), as a
/// linear's epilogue or a glu names it; none for any other op.
std::optional<Activation> activationOf(Operation *op);

/// A concat of `xformer.weight` results (xformer-fuse-projections): a weight
/// of its own that the runtime builds once, on open.
bool isWeightConcat(Operation *op);
} // namespace mlir::xformer

#endif // XFORMER_IR_XFORMEROPS_H
