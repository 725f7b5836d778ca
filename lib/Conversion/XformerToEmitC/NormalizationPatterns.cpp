//===- NormalizationPatterns.cpp - Norms and softmax to kernel calls ------===//

#include "Lowering.h"

using namespace mlir;
using namespace mlir::xformer;
using namespace mlir::xformer::to_emitc;

namespace {

struct LayerNormLowering : LoweringPattern<LayerNormOp> {
  using LoweringPattern::LoweringPattern;
  LogicalResult
  matchAndRewrite(LayerNormOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto rs = state.shapeOf(op, op.getResult());
    const int64_t dim = rs.back();
    Value y = scratchResult(rewriter, state, op, op.getResult());
    KernelCall(state, op, "xfk_layer_norm")
        .frame()
        .value(adaptor.getInput())
        .value(adaptor.getGamma())
        .valueOrNull(adaptor.getBeta())
        .value(y)
        .integer(product(rs) / dim)
        .integer(dim)
        .opaque(floatLiteral(op.getEpsilon().convertToDouble()))
        .emit(rewriter);
    rewriter.replaceOp(op, y);
    return success();
  }
};

struct RMSNormLowering : LoweringPattern<RMSNormOp> {
  using LoweringPattern::LoweringPattern;
  LogicalResult
  matchAndRewrite(RMSNormOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto rs = state.shapeOf(op, op.getResult());
    const int64_t dim = rs.back();
    Value y = scratchResult(rewriter, state, op, op.getResult());
    KernelCall(state, op, "xfk_rms_norm")
        .frame()
        .value(adaptor.getInput())
        .value(adaptor.getGamma())
        .value(y)
        .integer(product(rs) / dim)
        .integer(dim)
        .opaque(floatLiteral(op.getEpsilon().convertToDouble()))
        .emit(rewriter);
    rewriter.replaceOp(op, y);
    return success();
  }
};

/// Softmax over one axis: the tensor as [outer, axis, inner].
struct SoftmaxLowering : LoweringPattern<SoftmaxOp> {
  using LoweringPattern::LoweringPattern;
  LogicalResult
  matchAndRewrite(SoftmaxOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto rs = state.shapeOf(op, op.getResult());
    int64_t axis = op.getAxis();
    if (axis < 0)
      axis += rs.size();
    Value y = scratchResult(rewriter, state, op, op.getResult());
    KernelCall(state, op, "xfk_softmax")
        .frame()
        .value(adaptor.getInput())
        .value(y)
        .integer(product(rs.take_front(axis)))
        .integer(rs[axis])
        .integer(product(rs.drop_front(axis + 1)))
        .emit(rewriter);
    rewriter.replaceOp(op, y);
    return success();
  }
};

} // namespace

void mlir::xformer::to_emitc::populateNormalizationPatterns(
    LoweringState &state, const TypeConverter &converter,
    RewritePatternSet &patterns) {
  patterns.add<LayerNormLowering, RMSNormLowering, SoftmaxLowering>(state,
                                                                   converter);
}
