//===- ScratchPlan.h - Where each tensor of a function lives ----*- C++ -*-===//
//
// The scratch plan of a lowered function: the static shape of every tensor
// (dynamic ones resolved: positions sized by an index, a relative bias over
// them, cache reads at their cache's capacity), which results are views of
// an operand's bytes (reshapes, a slice of one contiguous run, a transpose
// or head split/merge that moves only unit dimensions), and the byte offset
// of every other result in one scratch buffer, planned first-fit over value
// lifetimes in program order. `--xformer-plan-scratch` writes the plan into
// the IR; the C++ emitter reads it from there (and plans by the same code
// when a caller skipped the pass).
//
//===----------------------------------------------------------------------===//

#ifndef XFORMER_ANALYSIS_SCRATCHPLAN_H
#define XFORMER_ANALYSIS_SCRATCHPLAN_H

#include "xformer/IR/XformerDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SmallVector.h"

namespace mlir::xformer {

/// Attribute names of the plan in the IR (XformerDialect's, verified
/// there): on an op, the byte offset of each result (-1: no storage of its
/// own); on a view, the byte offset into operand #0; on an op, the offsets
/// of buffers it needs while it runs (a ring cache's unrolled keys and
/// values; an attention's broadcast mask and bias); on a function, the
/// bytes of its scratch buffer.
inline constexpr llvm::StringLiteral kScratchAttr =
    XformerDialect::kScratchAttrName;
inline constexpr llvm::StringLiteral kViewAttr = XformerDialect::kViewAttrName;
inline constexpr llvm::StringLiteral kScratchTempsAttr =
    XformerDialect::kScratchTempsAttrName;
inline constexpr llvm::StringLiteral kScratchBytesAttr =
    XformerDialect::kScratchBytesAttrName;

struct ScratchPlan {
  /// Shapes of tensors whose type has dynamic dimensions, resolved.
  llvm::DenseMap<Value, SmallVector<int64_t>> shapes;
  /// Index values known at compile time (constants, dimensions).
  llvm::DenseMap<Value, int64_t> indexValues;
  /// Results with bytes of their own in the scratch buffer.
  llvm::DenseMap<Value, int64_t> offsets;
  /// Results that are operand #0's bytes at an offset.
  llvm::DenseMap<Value, int64_t> views;
  /// Buffers an op uses while it runs (kScratchTempsAttr), -1 when unused.
  llvm::DenseMap<Operation *, SmallVector<int64_t>> temps;
  int64_t bytes = 0;

  /// The static shape of `v`.
  ArrayRef<int64_t> shapeOf(Value v) const;
};

/// Bytes of one element as the generated code stores it (i1 as a byte;
/// ggml blocks are counted whole, by storedTensorBytes).
int64_t elementBytes(Type elementType);

/// The bytes of a static tensor of `shape` and `elementType` (ggml blocks
/// as stored), if no dimension is negative and they come to at most 2^48:
/// the bound on every tensor the emitters lay out.
std::optional<int64_t> storedTensorBytes(ArrayRef<int64_t> shape,
                                         Type elementType);

/// Where `op`'s single result is operand #0's bytes: their offset.
std::optional<int64_t> viewOffset(Operation *op);

/// Plans `func` (already legal for its target); reports at the op at fault
/// and fails where a size is not known at compile time.
FailureOr<ScratchPlan> planScratch(func::FuncOp func);

/// The plan `--xformer-plan-scratch` wrote into `func`, or a fresh one
/// where it wrote none.
FailureOr<ScratchPlan> readOrPlanScratch(func::FuncOp func);

/// Writes `plan` into `func` as the attributes above.
void writeScratchPlan(func::FuncOp func, const ScratchPlan &plan);

} // namespace mlir::xformer

#endif // XFORMER_ANALYSIS_SCRATCHPLAN_H
