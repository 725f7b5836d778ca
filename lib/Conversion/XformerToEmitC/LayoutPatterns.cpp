//===- LayoutPatterns.cpp - Views, copies and data movement ---------------===//
//
// A result the scratch plan made a view (a reshape, a contiguous slice, a
// transpose that moves only unit dimensions) is its operand's pointer moved
// by the view's byte offset: no kernel. Other transposes, head splits and
// merges, broadcasts, slices, concatenations and position gathers copy.
//
//===----------------------------------------------------------------------===//

#include "Lowering.h"

using namespace mlir;
using namespace mlir::xformer;
using namespace mlir::xformer::to_emitc;

namespace {

/// Any op whose result the plan made a view of operand #0.
struct ViewLowering : ConversionPattern {
  ViewLowering(LoweringState &state, const TypeConverter &converter)
      : ConversionPattern(converter, MatchAnyOpTypeTag(), /*benefit=*/10,
                          state.module.getContext()),
        state(state) {}
  LoweringState &state;

  LogicalResult
  matchAndRewrite(Operation *op, ArrayRef<Value> operands,
                  ConversionPatternRewriter &rewriter) const override {
    if (op->getNumResults() != 1 || operands.empty() ||
        !op->getParentOfType<emitc::FuncOp>())
      return failure();
    FunctionFrame &frame = state.frameOf(op);
    auto it = frame.plan.views.find(op->getResult(0));
    if (it == frame.plan.views.end())
      return failure();
    Type type = getTypeConverter()->convertType(op->getResult(0).getType());
    rewriter.replaceOp(op, offsetPointer(rewriter, op->getLoc(), operands[0],
                                         it->second, type));
    return success();
  }
};

/// y = x transposed by `perm`.
LogicalResult transpose(LoweringState &state, Operation *op,
                        ConversionPatternRewriter &rewriter, Value x,
                        ArrayRef<int64_t> xs, ArrayRef<int64_t> perm) {
  Value result = op->getResult(0);
  Value y = scratchResult(rewriter, state, op, result);
  KernelCall(state, op, "xfk_transpose")
      .frame()
      .integer(elementBytes(elementOf(result)))
      .value(x)
      .shape(xs)
      .shape(perm)
      .value(y)
      .integer(xs.size())
      .emit(rewriter);
  rewriter.replaceOp(op, y);
  return success();
}

struct TransposeLowering : LoweringPattern<TransposeOp> {
  using LoweringPattern::LoweringPattern;
  LogicalResult
  matchAndRewrite(TransposeOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    return transpose(state, op, rewriter, adaptor.getInput(),
                     state.shapeOf(op, op.getInput()), op.getPermutation());
  }
};

/// [B, S, H*D] viewed as [B, S, H, D] -> [B, H, S, D].
struct SplitHeadsLowering : LoweringPattern<SplitHeadsOp> {
  using LoweringPattern::LoweringPattern;
  LogicalResult
  matchAndRewrite(SplitHeadsOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto rs = state.shapeOf(op, op.getResult());
    SmallVector<int64_t> view = {rs[0], rs[2], rs[1], rs[3]};
    return transpose(state, op, rewriter, adaptor.getInput(), view,
                     {0, 2, 1, 3});
  }
};

struct MergeHeadsLowering : LoweringPattern<MergeHeadsOp> {
  using LoweringPattern::LoweringPattern;
  LogicalResult
  matchAndRewrite(MergeHeadsOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    return transpose(state, op, rewriter, adaptor.getInput(),
                     state.shapeOf(op, op.getInput()), {0, 2, 1, 3});
  }
};

struct BroadcastLowering : LoweringPattern<BroadcastOp> {
  using LoweringPattern::LoweringPattern;
  LogicalResult
  matchAndRewrite(BroadcastOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto rs = state.shapeOf(op, op.getResult());
    Value y = scratchResult(rewriter, state, op, op.getResult());
    KernelCall(state, op, "xfk_broadcast")
        .frame()
        .integer(elementBytes(elementOf(op.getResult())))
        .value(adaptor.getInput())
        .shape(state.shapeOf(op, op.getInput()), rs.size())
        .value(y)
        .shape(rs)
        .integer(rs.size())
        .emit(rewriter);
    rewriter.replaceOp(op, y);
    return success();
  }
};

struct SliceLowering : LoweringPattern<SliceOp> {
  using LoweringPattern::LoweringPattern;
  LogicalResult
  matchAndRewrite(SliceOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto rs = state.shapeOf(op, op.getResult());
    Value y = scratchResult(rewriter, state, op, op.getResult());
    KernelCall(state, op, "xfk_slice")
        .frame()
        .integer(elementBytes(elementOf(op.getResult())))
        .value(adaptor.getInput())
        .shape(state.shapeOf(op, op.getInput()))
        .shape(op.getOffsets())
        .value(y)
        .shape(rs)
        .integer(rs.size())
        .emit(rewriter);
    rewriter.replaceOp(op, y);
    return success();
  }
};

/// Each input copied into its columns of the result. A concat of weights
/// is a weight the runtime joins on open (ValuePatterns).
struct ConcatLowering : LoweringPattern<ConcatOp> {
  using LoweringPattern::LoweringPattern;
  LogicalResult
  matchAndRewrite(ConcatOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (isWeightConcat(op))
      return failure();
    auto rs = state.shapeOf(op, op.getResult());
    int64_t axis = op.getAxis();
    if (axis < 0)
      axis += rs.size();
    const int64_t outer = product(rs.take_front(axis));
    const int64_t yInner = product(rs.drop_front(axis));
    const int64_t eb = elementBytes(elementOf(op.getResult()));
    Value y = scratchResult(rewriter, state, op, op.getResult());
    int64_t at = 0;
    for (auto [in, ptr] : llvm::zip(op.getInputs(), adaptor.getInputs())) {
      const int64_t inner = product(state.shapeOf(op, in).drop_front(axis));
      KernelCall(state, op, "xfk_concat_part")
          .frame()
          .integer(eb)
          .value(ptr)
          .integer(outer)
          .integer(inner)
          .value(y)
          .integer(yInner)
          .integer(at)
          .emit(rewriter);
      at += inner;
    }
    rewriter.replaceOp(op, y);
    return success();
  }
};

struct GatherPositionsLowering : LoweringPattern<GatherPositionsOp> {
  using LoweringPattern::LoweringPattern;
  LogicalResult
  matchAndRewrite(GatherPositionsOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto xs = state.shapeOf(op, op.getInput());
    Value y = scratchResult(rewriter, state, op, op.getResult());
    KernelCall(state, op, "xfk_gather_positions")
        .frame()
        .integer(elementBytes(elementOf(op.getResult())))
        .value(adaptor.getInput())
        .integer(xs[0])
        .integer(xs[1])
        .integer(product(xs.drop_front(2)))
        .value(adaptor.getPositions())
        .opaque(dtypeName(elementOf(op.getPositions())))
        .value(y)
        .emit(rewriter);
    rewriter.replaceOp(op, y);
    return success();
  }
};

} // namespace

void mlir::xformer::to_emitc::populateLayoutPatterns(
    LoweringState &state, const TypeConverter &converter,
    RewritePatternSet &patterns) {
  patterns.add<ViewLowering, TransposeLowering, SplitHeadsLowering,
               MergeHeadsLowering, BroadcastLowering, SliceLowering,
               ConcatLowering, GatherPositionsLowering>(state, converter);
}
