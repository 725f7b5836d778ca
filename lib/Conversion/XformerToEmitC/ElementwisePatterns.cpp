//===- ElementwisePatterns.cpp - Elementwise ops to kernel calls ----------===//
//
// Broadcasting binary ops and comparisons share xfk_binary (shapes padded to
// the result's rank), activations and logical not xfk_unary, and casts,
// masked fills and selects have a kernel each.
//
//===----------------------------------------------------------------------===//

#include "Lowering.h"

using namespace mlir;
using namespace mlir::xformer;
using namespace mlir::xformer::to_emitc;

namespace {

/// out = lhs <op> rhs, NumPy broadcasting.
template <typename OpT>
struct BinaryLowering : KernelPattern<OpT> {
  BinaryLowering(LoweringState &state, const TypeConverter &converter,
                 std::string code)
      : KernelPattern<OpT>(state, converter), code(std::move(code)) {}
  std::string code;

  void lower(OpT op, typename OpT::Adaptor adaptor, Value y,
             OpBuilder &b) const override {
    std::string text = code;
    if constexpr (std::is_same_v<OpT, CompareOp>)
      text = "XFK_EQ + " + std::to_string(int(op.getPredicate()));
    Value lhs = op->getOperand(0), rhs = op->getOperand(1);
    auto rs = this->shapeOf(op, op->getResult(0));
    this->call(op, "xfk_binary")
        .opaque(text)
        .opaque(dtypeName(elementOf(lhs)))
        .value(adaptor.getOperands()[0])
        .shape(this->shapeOf(op, lhs), rs.size())
        .value(adaptor.getOperands()[1])
        .shape(this->shapeOf(op, rhs), rs.size())
        .value(y)
        .shape(rs, rs.size())
        .integer(rs.size())
        .emit(b);
  }
};

/// y = f(x) elementwise.
template <typename OpT>
struct UnaryLowering : KernelPattern<OpT> {
  UnaryLowering(LoweringState &state, const TypeConverter &converter,
                StringRef code)
      : KernelPattern<OpT>(state, converter), code(code) {}
  StringRef code;

  void lower(OpT op, typename OpT::Adaptor adaptor, Value y,
             OpBuilder &b) const override {
    StringRef text = code;
    if constexpr (std::is_same_v<OpT, GeluOp>)
      text = op.getApproximation() == GeluApproximation::tanh
                 ? "XFK_GELU_TANH"
                 : "XFK_GELU_ERF";
    this->call(op, "xfk_unary")
        .opaque(text)
        .value(adaptor.getOperands()[0])
        .value(y)
        .integer(product(this->shapeOf(op, op->getResult(0))))
        .emit(b);
  }
};

struct CastLowering : KernelPattern<CastOp> {
  using KernelPattern::KernelPattern;
  void lower(CastOp op, OpAdaptor adaptor, Value y,
             OpBuilder &b) const override {
    call(op, "xfk_cast")
        .opaque(dtypeName(elementOf(op.getInput())))
        .opaque(dtypeName(elementOf(op.getResult())))
        .value(adaptor.getInput())
        .value(y)
        .integer(product(shapeOf(op, op.getResult())))
        .emit(b);
  }
};

struct MaskedFillLowering : KernelPattern<MaskedFillOp> {
  using KernelPattern::KernelPattern;
  void lower(MaskedFillOp op, OpAdaptor adaptor, Value y,
             OpBuilder &b) const override {
    auto rs = shapeOf(op, op.getResult());
    call(op, "xfk_masked_fill")
        .value(adaptor.getInput())
        .shape(shapeOf(op, op.getInput()), rs.size())
        .value(adaptor.getMask())
        .shape(shapeOf(op, op.getMask()), rs.size())
        .opaque(floatLiteral(op.getValue().convertToDouble()))
        .value(y)
        .shape(rs)
        .integer(rs.size())
        .emit(b);
  }
};

struct SelectLowering : KernelPattern<SelectOp> {
  using KernelPattern::KernelPattern;
  void lower(SelectOp op, OpAdaptor adaptor, Value y,
             OpBuilder &b) const override {
    auto rs = shapeOf(op, op.getResult());
    KernelCall c = call(op, "xfk_select");
    c.integer(elementBytes(elementOf(op.getResult())));
    for (auto [original, ptr] :
         llvm::zip(op->getOperands(), adaptor.getOperands()))
      c.value(ptr).shape(shapeOf(op, original), rs.size());
    c.value(y).shape(rs).integer(rs.size()).emit(b);
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
