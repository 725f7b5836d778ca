//===- XformerDialect.h - The xformer dialect --------------------*- C++ -*-===//

#ifndef XFORMER_IR_XFORMERDIALECT_H
#define XFORMER_IR_XFORMERDIALECT_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Dialect.h"

#include "xformer/IR/XformerDialect.h.inc"

#endif // XFORMER_IR_XFORMERDIALECT_H
