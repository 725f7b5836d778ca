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

#endif // XFORMER_IR_XFORMEROPS_H
