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

struct LinearLowering : KernelPattern<LinearOp> {
  using KernelPattern::KernelPattern;
  void lower(LinearOp op, OpAdaptor adaptor, Value y,
             OpBuilder &b) const override {
    auto xs = shapeOf(op, op.getInput());
    const int64_t in = xs.back();
    const int64_t out = shapeOf(op, op.getResult()).back();
    // The kernels' activation codes are the ODS enum's numbers.
    const int64_t act = op.getActivation() ? int64_t(*op.getActivation()) : -1;
    Type welem = elementOf(op.getWeight());
    KernelCall c = call(op, state.kernels.linearCallee(welem));
    c.value(adaptor.getInput()).value(adaptor.getWeight());
    if (auto g = dyn_cast<GGMLType>(welem))
      c.opaque(std::to_string(int64_t(g.getFormat())) + " /* " +
               g.getGGMLName().str() + " */");
    c.valueOrNull(adaptor.getBias())
        .value(y)
        .integer(product(xs.drop_back()))
        .integer(in)
        .integer(out);
    if (!isa<GGMLType>(welem))
      c.integer(op.getWeightTransposed() ? 1 : 0);
    c.integer(act).valueOrNull(adaptor.getResidual()).emit(b);
  }
};

/// act(gate) * up over the two halves of a fused gate/up projection.
struct GluLowering : KernelPattern<GluOp> {
  using KernelPattern::KernelPattern;
  void lower(GluOp op, OpAdaptor adaptor, Value y,
             OpBuilder &b) const override {
    auto rs = shapeOf(op, op.getResult());
    const int64_t n = rs.back();
    call(op, "xfk_glu")
        .integer(int64_t(op.getActivation()))
        .value(adaptor.getInput())
        .value(y)
        .integer(n ? product(rs) / n : 0)
        .integer(n)
        .emit(b);
  }
};

/// c[batch..., m, n] = a @ b (or b^T), batch dimensions broadcast.
struct MatmulLowering : KernelPattern<MatmulOp> {
  using KernelPattern::KernelPattern;
  void lower(MatmulOp op, OpAdaptor adaptor, Value y,
             OpBuilder &b) const override {
    auto as = shapeOf(op, op.getLhs()), bs = shapeOf(op, op.getRhs());
    auto rs = shapeOf(op, op.getResult());
    const size_t rank = rs.size() - 2;
    call(op, "xfk_matmul")
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
        .emit(b);
  }
};

} // namespace

void mlir::xformer::to_emitc::populateLinearPatterns(
    LoweringState &state, const TypeConverter &converter,
    RewritePatternSet &patterns) {
  patterns.add<LinearLowering, GluLowering, MatmulLowering>(state, converter);
}
