//===- LinearPatterns.cpp - Linear layers, gated units and matmuls --------===//
//
// A linear carries its epilogue (xformer-fuse-epilogues): the activation and
// the residual add run by the GEMM on each output. The callee follows the
// weight's stored format (the target's table).
//
//===----------------------------------------------------------------------===//

#include "Lowering.h"

using namespace mlir;
using namespace mlir::xformer;
using namespace mlir::xformer::to_emitc;

namespace {

struct LinearLowering : LoweringPattern<LinearOp> {
  using LoweringPattern::LoweringPattern;
  LogicalResult
  matchAndRewrite(LinearOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto xs = state.shapeOf(op, op.getInput());
    const int64_t in = xs.back();
    const int64_t rows = product(xs.drop_back());
    const int64_t out = state.shapeOf(op, op.getResult()).back();
    // The kernels' activation codes are the ODS enum's numbers.
    const int64_t act = op.getActivation() ? int64_t(*op.getActivation()) : -1;
    Value y = scratchResult(rewriter, state, op, op.getResult());
    Type welem =
        cast<RankedTensorType>(op.getWeight().getType()).getElementType();
    KernelCall call(state, op, state.kernels.linearCallee(welem));
    call.frame().value(adaptor.getInput()).value(adaptor.getWeight());
    if (auto g = dyn_cast<GGMLType>(welem)) {
      call.opaque(std::to_string(int64_t(g.getFormat())) + " /* " +
                  g.getGGMLName().str() + " */")
          .valueOrNull(adaptor.getBias())
          .value(y)
          .integer(rows)
          .integer(in)
          .integer(out);
    } else {
      call.valueOrNull(adaptor.getBias())
          .value(y)
          .integer(rows)
          .integer(in)
          .integer(out)
          .integer(op.getWeightTransposed() ? 1 : 0);
    }
    call.integer(act).valueOrNull(adaptor.getResidual()).emit(rewriter);
    rewriter.replaceOp(op, y);
    return success();
  }
};

/// act(gate) * up over the two halves of a fused gate/up projection.
struct GluLowering : LoweringPattern<GluOp> {
  using LoweringPattern::LoweringPattern;
  LogicalResult
  matchAndRewrite(GluOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto rs = state.shapeOf(op, op.getResult());
    const int64_t rn = product(rs);
    const int64_t n = rs.back();
    Value y = scratchResult(rewriter, state, op, op.getResult());
    KernelCall(state, op, "xfk_glu")
        .frame()
        .integer(int64_t(op.getActivation()))
        .value(adaptor.getInput())
        .value(y)
        .integer(n ? rn / n : 0)
        .integer(n)
        .emit(rewriter);
    rewriter.replaceOp(op, y);
    return success();
  }
};

/// c[batch..., m, n] = a @ b (or b^T), batch dimensions broadcast.
struct MatmulLowering : LoweringPattern<MatmulOp> {
  using LoweringPattern::LoweringPattern;
  LogicalResult
  matchAndRewrite(MatmulOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto as = state.shapeOf(op, op.getLhs()), bs = state.shapeOf(op, op.getRhs());
    auto rs = state.shapeOf(op, op.getResult());
    const size_t rank = rs.size() - 2;
    Value y = scratchResult(rewriter, state, op, op.getResult());
    KernelCall(state, op, "xfk_matmul")
        .frame()
        .value(adaptor.getLhs())
        .value(adaptor.getRhs())
        .value(y)
        .integer(rank)
        .shape(as.drop_back(2), rank)
        .shape(bs.drop_back(2), rank)
        .shape(rs.drop_back(2), rank)
        .integer(as[as.size() - 2])
        .integer(as.back())
        .integer(rs.back())
        .integer(op.getTransposeRhs() ? 1 : 0)
        .emit(rewriter);
    rewriter.replaceOp(op, y);
    return success();
  }
};

} // namespace

void mlir::xformer::to_emitc::populateLinearPatterns(
    LoweringState &state, const TypeConverter &converter,
    RewritePatternSet &patterns) {
  patterns.add<LinearLowering, GluLowering, MatmulLowering>(state, converter);
}
