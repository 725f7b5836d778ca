//===- XformerTypes.h - xformer types ----------------------------*- C++ -*-===//

#ifndef XFORMER_IR_XFORMERTYPES_H
#define XFORMER_IR_XFORMERTYPES_H

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/DialectImplementation.h"
#include "xformer/IR/XformerAttrs.h"

#define GET_TYPEDEF_CLASSES
#include "xformer/IR/XformerTypes.h.inc"

#endif // XFORMER_IR_XFORMERTYPES_H
