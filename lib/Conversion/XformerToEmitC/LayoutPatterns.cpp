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

/// y = x, viewed with shape `xs`, transposed by `perm`.
template <typename OpT>
struct TransposeLikeLowering : KernelPattern<OpT> {
  using KernelPattern<OpT>::KernelPattern;
  void lower(OpT op, typename OpT::Adaptor adaptor, Value y,
             OpBuilder &b) const override {
    SmallVector<int64_t> xs(this->shapeOf(op, op.getInput()));
    SmallVector<int64_t> perm = {0, 2, 1, 3};
    if constexpr (std::is_same_v<OpT, TransposeOp>) {
      perm.assign(op.getPermutation().begin(), op.getPermutation().end());
    } else if constexpr (std::is_same_v<OpT, SplitHeadsOp>) {
      // [B, S, H*D] viewed as [B, S, H, D] -> [B, H, S, D].
      auto rs = this->shapeOf(op, op.getResult());
      xs = {rs[0], rs[2], rs[1], rs[3]};
    }
    this->call(op, "xfk_transpose")
        .integer(elementBytes(elementOf(op.getResult())))
        .value(adaptor.getInput())
        .shape(xs)
        .shape(perm)
        .value(y)
        .integer(xs.size())
        .emit(b);
  }
};

struct BroadcastLowering : KernelPattern<BroadcastOp> {
  using KernelPattern::KernelPattern;
  void lower(BroadcastOp op, OpAdaptor adaptor, Value y,
             OpBuilder &b) const override {
    auto rs = shapeOf(op, op.getResult());
    call(op, "xfk_broadcast")
        .integer(elementBytes(elementOf(op.getResult())))
        .value(adaptor.getInput())
        .shape(shapeOf(op, op.getInput()), rs.size())
        .value(y)
        .shape(rs)
        .integer(rs.size())
        .emit(b);
  }
};

struct SliceLowering : KernelPattern<SliceOp> {
  using KernelPattern::KernelPattern;
  void lower(SliceOp op, OpAdaptor adaptor, Value y,
             OpBuilder &b) const override {
    auto rs = shapeOf(op, op.getResult());
    call(op, "xfk_slice")
        .integer(elementBytes(elementOf(op.getResult())))
        .value(adaptor.getInput())
        .shape(shapeOf(op, op.getInput()))
        .shape(op.getOffsets())
        .value(y)
        .shape(rs)
        .integer(rs.size())
        .emit(b);
  }
};

/// Each input copied into its columns of the result. A concat of weights
/// is a weight the runtime joins on open (ValuePatterns).
struct ConcatLowering : KernelPattern<ConcatOp> {
  using KernelPattern::KernelPattern;
  bool applies(ConcatOp op) const override { return !isWeightConcat(op); }
  void lower(ConcatOp op, OpAdaptor adaptor, Value y,
             OpBuilder &b) const override {
    auto rs = shapeOf(op, op.getResult());
    int64_t axis = op.getAxis();
    if (axis < 0)
      axis += rs.size();
    int64_t at = 0;
    for (auto [in, ptr] : llvm::zip(op.getInputs(), adaptor.getInputs())) {
      const int64_t inner = product(shapeOf(op, in).drop_front(axis));
      call(op, "xfk_concat_part")
          .integer(elementBytes(elementOf(op.getResult())))
          .value(ptr)
          .integer(product(rs.take_front(axis)))
          .integer(inner)
          .value(y)
          .integer(product(rs.drop_front(axis)))
          .integer(at)
          .emit(b);
      at += inner;
    }
  }
};

struct GatherPositionsLowering : KernelPattern<GatherPositionsOp> {
  using KernelPattern::KernelPattern;
  void lower(GatherPositionsOp op, OpAdaptor adaptor, Value y,
             OpBuilder &b) const override {
    auto xs = shapeOf(op, op.getInput());
    call(op, "xfk_gather_positions")
        .integer(elementBytes(elementOf(op.getResult())))
        .value(adaptor.getInput())
        .integer(xs[0])
        .integer(xs[1])
        .integer(product(xs.drop_front(2)))
        .value(adaptor.getPositions())
        .opaque(dtypeName(elementOf(op.getPositions())))
        .value(y)
        .emit(b);
  }
};

} // namespace

void mlir::xformer::to_emitc::populateLayoutPatterns(
    LoweringState &state, const TypeConverter &converter,
    RewritePatternSet &patterns) {
  patterns.add<ViewLowering, TransposeLikeLowering<TransposeOp>,
               TransposeLikeLowering<SplitHeadsOp>,
               TransposeLikeLowering<MergeHeadsOp>, BroadcastLowering,
               SliceLowering, ConcatLowering, GatherPositionsLowering>(
      state, converter);
}
