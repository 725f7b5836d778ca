//===- XformerTraits.h - xformer op traits -----------------------*- C++ -*-===//

#ifndef XFORMER_IR_XFORMERTRAITS_H
#define XFORMER_IR_XFORMERTRAITS_H

#include "mlir/IR/OpDefinition.h"
#include "llvm/ADT/SmallVector.h"
#include <optional>

namespace mlir::xformer {

/// The NumPy broadcast of two shapes (dynamic dimensions allowed), or
/// std::nullopt with `why` set when they are incompatible.
std::optional<llvm::SmallVector<int64_t>>
broadcastShapes(llvm::ArrayRef<int64_t> a, llvm::ArrayRef<int64_t> b,
                std::string *why = nullptr);

/// Whether `from` broadcasts to exactly `to` (NumPy rules, `from` may have
/// fewer dimensions). Dynamic dimensions are compatible with anything.
bool isBroadcastableTo(llvm::ArrayRef<int64_t> from, llvm::ArrayRef<int64_t> to,
                       std::string *why = nullptr);

/// Formats a shape as `[2, ?, 768]` for diagnostics.
std::string shapeToString(llvm::ArrayRef<int64_t> shape);

/// Verifies that all operands broadcast together and that the result has
/// the broadcast shape.
LogicalResult verifyBroadcastingElementwise(Operation *op);

} // namespace mlir::xformer

namespace mlir::OpTrait::xformer {
template <typename ConcreteType>
class BroadcastingElementwise
    : public TraitBase<ConcreteType, BroadcastingElementwise> {
public:
  static LogicalResult verifyTrait(Operation *op) {
    return ::mlir::xformer::verifyBroadcastingElementwise(op);
  }
};
} // namespace mlir::OpTrait::xformer

#endif // XFORMER_IR_XFORMERTRAITS_H
