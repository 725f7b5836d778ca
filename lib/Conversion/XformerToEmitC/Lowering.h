//===- Lowering.h - What the xformer-to-EmitC patterns share ----*- C++ -*-===//
//
// The state of one lowering (the module's tables, each function's frame and
// scratch plan), the target's table of callees, and the builders every
// pattern uses: pointers into the scratch, literals, and a kernel call with
// its comment and status check.
//
//===----------------------------------------------------------------------===//

#ifndef XFORMER_LIB_CONVERSION_XFORMERTOEMITC_LOWERING_H
#define XFORMER_LIB_CONVERSION_XFORMERTOEMITC_LOWERING_H

#include "xformer/Analysis/ScratchPlan.h"
#include "xformer/IR/XformerOps.h"
#include "xformer/Transforms/TargetLegality.h"

#include "mlir/Dialect/EmitC/IR/EmitC.h"
#include "mlir/Transforms/DialectConversion.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/MapVector.h"

#include <map>
#include <string>
#include <vector>

namespace mlir::xformer::to_emitc {

/// What one target's generated code calls and declares: the only place CPU
/// and CUDA differ.
struct KernelTable {
  ModelTarget target;
  StringRef name;   // in diagnostics: "CPU"
  StringRef header; // the kernels' declarations
  /// Verbatim after the includes ("" for none).
  StringRef preamble;
  /// Verbatim before each constant array: where it lives ("" for none).
  StringRef constantQualifier;
  /// Callee giving a constant array's address ("" to use the array).
  StringRef constantAddress;
  /// Copies a function's result out: (out, src, bytes), with the frame
  /// first and a status returned where `copyOutTakesFrame`.
  StringRef copyOut;
  bool copyOutTakesFrame;
  /// Called before a function returns, its status checked ("" for none).
  StringRef finish;
  /// Attention with its mask kind and head sizes as template arguments.
  bool specialiseAttention;
  /// The model descriptor's target and device operations.
  StringRef targetEnum, deviceOps;
  /// The fused linear kernel for weights stored as `weightElement`.
  StringRef linearCallee(Type weightElement) const;
};

const KernelTable &kernelTableFor(ModelTarget target);

/// One function being lowered (by its emitc.func): the values of its frame and
/// its scratch plan (keyed by the original xformer values).
struct FunctionFrame {
  Value frame, in, out, scratch, weights;
  ScratchPlan plan;
};

/// Module-wide state the patterns share.
class LoweringState {
public:
  LoweringState(ModuleOp module, const KernelTable &kernels)
      : kernels(kernels), module(module) {}

  const KernelTable &kernels;
  ModuleOp module;

  /// One entry per (name, type): a tied weight read in f32 and in bf16 is
  /// bound twice, converted to each.
  llvm::MapVector<std::pair<StringRef, Type>, RankedTensorType> weights;
  /// Weights the runtime joins on open (a concat of weights), after
  /// `weights` in the frame's table.
  struct FusedWeight {
    std::vector<int32_t> parts;
    int64_t axis;
    RankedTensorType type;
  };
  std::vector<FusedWeight> fused;
  std::map<std::pair<std::vector<int32_t>, int64_t>, size_t> fusedIndex;
  /// Weights some op other than a weight concat reads.
  llvm::DenseSet<int32_t> readDirectly;
  llvm::MapVector<StringRef, KVCacheOp> caches;
  int64_t maxBatch = 0, maxSeqLen = 0, arenaBytes = 0;

  /// Ops lowered to kernel calls so far.
  int64_t kernelCalls = 0;
  /// The op whose comment was printed last.
  Operation *commented = nullptr;

  /// Each function's frame, by its emitc.func.
  llvm::DenseMap<Operation *, FunctionFrame> frames;
  /// Static arrays and tables go before this op.
  Operation *declAnchor = nullptr;

  int32_t weightIndex(WeightOp w) const;
  /// The frame's index of a concat of weights, entered on first sight.
  size_t fusedWeight(ConcatOp concat);
  int32_t cacheIndex(StringRef name) const;

  FunctionFrame &frameOf(Operation *op);
  /// The static shape of an original (xformer) value, sizes resolved.
  ArrayRef<int64_t> shapeOf(Operation *op, Value v) {
    return frameOf(op).plan.shapeOf(v);
  }

  /// A static int64_t array holding `dims` ({1} when empty), one per
  /// distinct shape; its name.
  StringRef shapeArray(OpBuilder &b, ArrayRef<int64_t> dims);
  /// A constant array named `name`.
  void constantArray(OpBuilder &b, Location loc, StringRef name,
                     DenseElementsAttr values);
  int constants = 0;

private:
  std::map<std::vector<int64_t>, std::string> shapes;
};

/// The element type of a tensor value.
inline Type elementOf(Value v) {
  return cast<RankedTensorType>(v.getType()).getElementType();
}
/// The number of elements of a static shape (the plan bounded it).
inline int64_t product(ArrayRef<int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

/// The pointer type the kernels take for elements of `elementType` (i1 as
/// bytes, bf16 and f16 as 16-bit words, ggml blocks as bytes).
Type pointerType(MLIRContext *ctx, Type elementType);
/// The C type of `elementType`'s storage.
Type storageType(MLIRContext *ctx, Type elementType);
Type opaqueType(MLIRContext *ctx, StringRef text);

/// A C expression printed where it is used.
Value literal(OpBuilder &b, Location loc, Type type, StringRef text);
/// `table[index]` of a pointer to pointers (the frame's weights, a call's
/// inputs or outputs), cast to `type` when given.
Value tableEntry(OpBuilder &b, Location loc, Value table, int64_t index,
                 Type type = {});
/// `base` moved by `bytes`, as a pointer of `type`.
Value offsetPointer(OpBuilder &b, Location loc, Value base, int64_t bytes,
                    Type type);
/// The pointer into the scratch that the plan gave `result`.
Value scratchResult(OpBuilder &b, LoweringState &state, Operation *op,
                    Value result);
/// The scratch at `offset`, as a pointer of `type` (an op's temporaries).
Value scratchAt(OpBuilder &b, LoweringState &state, Operation *op,
                int64_t offset, Type type);

/// An exact C++ literal of a finite double (hexadecimal), and of a float.
std::string doubleLiteral(double v);
std::string floatLiteral(double v);
std::string cString(StringRef s);
/// The ABI's name for an element type (XFM_F32, ...).
std::string dtypeName(Type t);

/// One call of a kernel for `op`: the comment naming the op (once per op),
/// the call and the check of its status.
class KernelCall {
public:
  KernelCall(LoweringState &state, Operation *op, StringRef callee);

  KernelCall &frame(); // the xfk_frame
  KernelCall &value(Value v);
  KernelCall &valueOrNull(Value v);
  KernelCall &integer(int64_t v);
  KernelCall &opaque(StringRef text);
  /// A static array holding `dims` padded with leading 1s to `rank`.
  KernelCall &shape(ArrayRef<int64_t> dims, size_t rank = 0);
  KernelCall &templateArg(Attribute arg);

  void emit(OpBuilder &b);

private:
  LoweringState &state;
  Operation *op;
  std::string callee;
  SmallVector<Value> operands;
  SmallVector<Attribute> args, templateArgs;
};

/// The comment above `op`'s code, printed once.
void commentOp(OpBuilder &b, LoweringState &state, Operation *op);
/// `if (status) return status;`
void checkStatus(OpBuilder &b, Location loc, Value status);

/// Pattern base: the state and the converter.
template <typename OpT>
struct LoweringPattern : OpConversionPattern<OpT> {
  LoweringPattern(LoweringState &state, const TypeConverter &converter,
                  PatternBenefit benefit = 1)
      : OpConversionPattern<OpT>(converter, state.module.getContext(),
                                 benefit),
        state(state) {}
  LoweringState &state;
};

/// An op whose one result kernel calls write into the scratch the plan gave
/// it: `lower` emits the calls writing `y`, the op is replaced by `y`.
template <typename OpT>
struct KernelPattern : LoweringPattern<OpT> {
  using LoweringPattern<OpT>::LoweringPattern;
  using Adaptor = typename OpT::Adaptor;

  virtual void lower(OpT op, Adaptor adaptor, Value y,
                     OpBuilder &b) const = 0;
  /// Whether the pattern applies to `op` (all of its kind by default).
  virtual bool applies(OpT op) const { return true; }

  /// A call of `callee` for `op`, the frame its first argument.
  KernelCall call(OpT op, StringRef callee) const {
    KernelCall c(this->state, op, callee);
    c.frame();
    return c;
  }
  ArrayRef<int64_t> shapeOf(OpT op, Value v) const {
    return this->state.shapeOf(op, v);
  }

  LogicalResult
  matchAndRewrite(OpT op, Adaptor adaptor,
                  ConversionPatternRewriter &rewriter) const final {
    if (!applies(op))
      return failure();
    commentOp(rewriter, this->state, op);
    Value y = scratchResult(rewriter, this->state, op, op->getResult(0));
    lower(op, adaptor, y, rewriter);
    rewriter.replaceOp(op, y);
    return success();
  }
};

// The patterns, by op family.
void populateLinearPatterns(LoweringState &, const TypeConverter &,
                            RewritePatternSet &);
void populateAttentionPatterns(LoweringState &, const TypeConverter &,
                               RewritePatternSet &);
void populateElementwisePatterns(LoweringState &, const TypeConverter &,
                                 RewritePatternSet &);
void populateNormalizationPatterns(LoweringState &, const TypeConverter &,
                                   RewritePatternSet &);
void populateLayoutPatterns(LoweringState &, const TypeConverter &,
                            RewritePatternSet &);
void populateCachePatterns(LoweringState &, const TypeConverter &,
                           RewritePatternSet &);
void populatePositionPatterns(LoweringState &, const TypeConverter &,
                              RewritePatternSet &);
void populateValuePatterns(LoweringState &, const TypeConverter &,
                           RewritePatternSet &);

} // namespace mlir::xformer::to_emitc

#endif // XFORMER_LIB_CONVERSION_XFORMERTOEMITC_LOWERING_H
