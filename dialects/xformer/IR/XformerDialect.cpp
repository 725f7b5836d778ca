//===- XformerDialect.cpp - The xformer dialect ---------------------------===//

#include "xformer/IR/XformerDialect.h"
#include "xformer/IR/XformerAttrs.h"
#include "xformer/IR/XformerOps.h"
#include "xformer/IR/XformerTypes.h"

using namespace mlir;
using namespace mlir::xformer;

#include "xformer/IR/XformerDialect.cpp.inc"

void XformerDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "xformer/IR/XformerOps.cpp.inc"
      >();
  registerAttributes();
  registerTypes();
}
