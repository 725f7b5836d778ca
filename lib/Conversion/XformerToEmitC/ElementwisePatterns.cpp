//===- ElementwisePatterns.cpp - Elementwise ops to kernel calls ----------===//
//
// Broadcasting binary ops and comparisons share xfk_binary (shapes padded to
// the result's rank), activations and logical not xfk_unary, and casts,
// masked fills and selects have a kernel each.
//
//===----------------------------------------------------------------------===//

#include "Lowering.h"

#include "xformer/Runtime/KernelTypes.h"

using namespace mlir;
using namespace mlir::xformer;
using namespace mlir::xformer::to_emitc;

// The kernels' codes are the ODS enums' numbers.
#define XF_SAME(abi, ods) static_assert(int(abi) == int(ods), #abi)
XF_SAME(XFK_GELU_ERF, Activation::gelu);
XF_SAME(XFK_GELU_TANH, Activation::gelu_tanh);
XF_SAME(XFK_RELU, Activation::relu);
XF_SAME(XFK_SILU, Activation::silu);
XF_SAME(XFK_TANH, Activation::tanh);
XF_SAME(XFK_NE - XFK_EQ, ComparePredicate::ne);
XF_SAME(XFK_LT - XFK_EQ, ComparePredicate::lt);
XF_SAME(XFK_LE - XFK_EQ, ComparePredicate::le);
XF_SAME(XFK_GT - XFK_EQ, ComparePredicate::gt);
XF_SAME(XFK_GE - XFK_EQ, ComparePredicate::ge);
#undef XF_SAME

namespace {

/// out = lhs <op> rhs, NumPy broadcasting.
template <typename OpT>
struct BinaryLowering : LoweringPattern<OpT> {
  BinaryLowering(LoweringState &state, const TypeConverter &converter,
                 std::string code)
      : LoweringPattern<OpT>(state, converter), code(std::move(code)) {}
  std::string code;

  LogicalResult
  matchAndRewrite(OpT op, typename OpT::Adaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    LoweringState &state = this->state;
    std::string text = code;
    if constexpr (std::is_same_v<OpT, CompareOp>)
      text = "XFK_EQ + " + std::to_string(int(op.getPredicate()));
    Value a = op->getOperand(0), b = op->getOperand(1);
    Value result = op->getResult(0);
    auto rs = state.shapeOf(op, result);
    Value y = scratchResult(rewriter, state, op, result);
    KernelCall(state, op, "xfk_binary")
        .frame()
        .opaque(text)
        .opaque(dtypeName(elementOf(a)))
        .value(adaptor.getOperands()[0])
        .shape(state.shapeOf(op, a), rs.size())
        .value(adaptor.getOperands()[1])
        .shape(state.shapeOf(op, b), rs.size())
        .value(y)
        .shape(rs, rs.size())
        .integer(rs.size())
        .emit(rewriter);
    rewriter.replaceOp(op, y);
    return success();
  }
};

/// y = f(x) elementwise.
template <typename OpT>
struct UnaryLowering : LoweringPattern<OpT> {
  UnaryLowering(LoweringState &state, const TypeConverter &converter,
                StringRef code)
      : LoweringPattern<OpT>(state, converter), code(code) {}
  StringRef code;

  LogicalResult
  matchAndRewrite(OpT op, typename OpT::Adaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    LoweringState &state = this->state;
    StringRef text = code;
    if constexpr (std::is_same_v<OpT, GeluOp>)
      text = op.getApproximation() == GeluApproximation::tanh
                 ? "XFK_GELU_TANH"
                 : "XFK_GELU_ERF";
    Value result = op->getResult(0);
    Value y = scratchResult(rewriter, state, op, result);
    KernelCall(state, op, "xfk_unary")
        .frame()
        .opaque(text)
        .value(adaptor.getOperands()[0])
        .value(y)
        .integer(product(state.shapeOf(op, result)))
        .emit(rewriter);
    rewriter.replaceOp(op, y);
    return success();
  }
};

struct CastLowering : LoweringPattern<CastOp> {
  using LoweringPattern::LoweringPattern;
  LogicalResult
  matchAndRewrite(CastOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Value y = scratchResult(rewriter, state, op, op.getResult());
    KernelCall(state, op, "xfk_cast")
        .frame()
        .opaque(dtypeName(elementOf(op.getInput())))
        .opaque(dtypeName(elementOf(op.getResult())))
        .value(adaptor.getInput())
        .value(y)
        .integer(product(state.shapeOf(op, op.getResult())))
        .emit(rewriter);
    rewriter.replaceOp(op, y);
    return success();
  }
};

struct MaskedFillLowering : LoweringPattern<MaskedFillOp> {
  using LoweringPattern::LoweringPattern;
  LogicalResult
  matchAndRewrite(MaskedFillOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto rs = state.shapeOf(op, op.getResult());
    Value y = scratchResult(rewriter, state, op, op.getResult());
    KernelCall(state, op, "xfk_masked_fill")
        .frame()
        .value(adaptor.getInput())
        .shape(state.shapeOf(op, op.getInput()), rs.size())
        .value(adaptor.getMask())
        .shape(state.shapeOf(op, op.getMask()), rs.size())
        .opaque(floatLiteral(op.getValue().convertToDouble()))
        .value(y)
        .shape(rs)
        .integer(rs.size())
        .emit(rewriter);
    rewriter.replaceOp(op, y);
    return success();
  }
};

struct SelectLowering : LoweringPattern<SelectOp> {
  using LoweringPattern::LoweringPattern;
  LogicalResult
  matchAndRewrite(SelectOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto rs = state.shapeOf(op, op.getResult());
    Value y = scratchResult(rewriter, state, op, op.getResult());
    KernelCall(state, op, "xfk_select")
        .frame()
        .integer(elementBytes(elementOf(op.getResult())))
        .value(adaptor.getCondition())
        .shape(state.shapeOf(op, op.getCondition()), rs.size())
        .value(adaptor.getTrueValue())
        .shape(state.shapeOf(op, op.getTrueValue()), rs.size())
        .value(adaptor.getFalseValue())
        .shape(state.shapeOf(op, op.getFalseValue()), rs.size())
        .value(y)
        .shape(rs)
        .integer(rs.size())
        .emit(rewriter);
    rewriter.replaceOp(op, y);
    return success();
  }
};

} // namespace

void mlir::xformer::to_emitc::populateElementwisePatterns(
    LoweringState &state, const TypeConverter &converter,
    RewritePatternSet &patterns) {
  patterns.add<BinaryLowering<AddOp>>(state, converter, "XFK_ADD");
  patterns.add<BinaryLowering<SubOp>>(state, converter, "XFK_SUB");
  patterns.add<BinaryLowering<MulOp>>(state, converter, "XFK_MUL");
  patterns.add<BinaryLowering<DivOp>>(state, converter, "XFK_DIV");
  patterns.add<BinaryLowering<AndOp>>(state, converter, "XFK_AND");
  patterns.add<BinaryLowering<OrOp>>(state, converter, "XFK_OR");
  patterns.add<BinaryLowering<CompareOp>>(state, converter, "");
  patterns.add<UnaryLowering<GeluOp>>(state, converter, "");
  patterns.add<UnaryLowering<ReluOp>>(state, converter, "XFK_RELU");
  patterns.add<UnaryLowering<SiluOp>>(state, converter, "XFK_SILU");
  patterns.add<UnaryLowering<TanhOp>>(state, converter, "XFK_TANH");
  patterns.add<UnaryLowering<NotOp>>(state, converter, "XFK_NOT");
  patterns.add<CastLowering, MaskedFillLowering, SelectLowering>(state,
                                                                 converter);
}
