//===- XformerAttrs.h - xformer attributes and enums -------------*- C++ -*-===//

#ifndef XFORMER_IR_XFORMERATTRS_H
#define XFORMER_IR_XFORMERATTRS_H

#include "mlir/IR/Attributes.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectImplementation.h"
#include "xformer/Semantics/MaskSemantics.h"

#include "xformer/IR/XformerEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "xformer/IR/XformerAttrs.h.inc"

namespace mlir::xformer {
/// The plain-C++ kind for an ODS MaskKind (same numbering).
inline mask::Kind toSemanticKind(MaskKind kind) {
  return static_cast<mask::Kind>(static_cast<uint32_t>(kind));
}
} // namespace mlir::xformer

#endif // XFORMER_IR_XFORMERATTRS_H
