//===- XformerTraits.cpp - Shape rules shared by xformer ops --------------===//

#include "xformer/IR/XformerTraits.h"

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Diagnostics.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

std::string mlir::xformer::shapeToString(ArrayRef<int64_t> shape) {
  std::string out;
  llvm::raw_string_ostream os(out);
  os << "[";
  llvm::interleaveComma(shape, os, [&](int64_t d) {
    if (ShapedType::isDynamic(d))
      os << "?";
    else
      os << d;
  });
  os << "]";
  return out;
}

std::optional<SmallVector<int64_t>>
mlir::xformer::broadcastShapes(ArrayRef<int64_t> a, ArrayRef<int64_t> b,
                               std::string *why) {
  size_t rank = std::max(a.size(), b.size());
  SmallVector<int64_t> out(rank);
  for (size_t i = 0; i < rank; ++i) {
    // Align trailing dimensions; a missing leading dimension acts as 1.
    int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da == 1) {
      out[i] = db;
    } else if (db == 1) {
      out[i] = da;
    } else if (ShapedType::isDynamic(da)) {
      out[i] = db;
    } else if (ShapedType::isDynamic(db) || da == db) {
      out[i] = da;
    } else {
      if (why)
        *why = "dimension " + std::to_string(i) + " of the broadcast is " +
               std::to_string(da) + " in one operand and " +
               std::to_string(db) + " in the other";
      return std::nullopt;
    }
  }
  return out;
}

bool mlir::xformer::isBroadcastableTo(ArrayRef<int64_t> from,
                                      ArrayRef<int64_t> to, std::string *why) {
  if (from.size() > to.size()) {
    if (why)
      *why = "rank " + std::to_string(from.size()) + " exceeds the target rank " +
             std::to_string(to.size());
    return false;
  }
  size_t lead = to.size() - from.size();
  for (size_t i = 0; i < from.size(); ++i) {
    int64_t f = from[i], t = to[lead + i];
    if (f == 1 || ShapedType::isDynamic(f) || ShapedType::isDynamic(t) ||
        f == t)
      continue;
    if (why)
      *why = "dimension " + std::to_string(i) + " is " + std::to_string(f) +
             " but the target's is " + std::to_string(t);
    return false;
  }
  return true;
}

LogicalResult mlir::xformer::verifyBroadcastingElementwise(Operation *op) {
  SmallVector<int64_t> shape;
  bool first = true;
  for (Value operand : op->getOperands()) {
    auto type = dyn_cast<RankedTensorType>(operand.getType());
    if (!type)
      return op->emitOpError("expects ranked tensor operands");
    if (first) {
      shape.assign(type.getShape().begin(), type.getShape().end());
      first = false;
      continue;
    }
    std::string why;
    auto merged = broadcastShapes(shape, type.getShape(), &why);
    if (!merged)
      return op->emitOpError("operand shapes do not broadcast: ")
             << shapeToString(shape) << " and "
             << shapeToString(type.getShape()) << " (" << why << ")";
    shape = std::move(*merged);
  }
  auto resultType = cast<RankedTensorType>(op->getResult(0).getType());
  ArrayRef<int64_t> result = resultType.getShape();
  bool ok = result.size() == shape.size();
  for (size_t i = 0; ok && i < shape.size(); ++i)
    ok = ShapedType::isDynamic(shape[i]) || ShapedType::isDynamic(result[i]) ||
         shape[i] == result[i];
  if (!ok)
    return op->emitOpError("result shape ")
           << shapeToString(result) << " is not the broadcast shape "
           << shapeToString(shape) << " of the operands";
  return success();
}
