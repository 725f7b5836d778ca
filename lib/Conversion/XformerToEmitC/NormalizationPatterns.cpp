//===- NormalizationPatterns.cpp - Norms and softmax to kernel calls ------===//

#include "Lowering.h"

using namespace mlir;
using namespace mlir::xformer;
using namespace mlir::xformer::to_emitc;

namespace {

/// Layer and RMS norms over the last dimension: rows, dim, epsilon.
template <typename OpT>
struct NormLowering : KernelPattern<OpT> {
  using KernelPattern<OpT>::KernelPattern;
  void lower(OpT op, typename OpT::Adaptor adaptor, Value y,
             OpBuilder &b) const override {
    auto rs = this->shapeOf(op, op.getResult());
    constexpr bool layerNorm = std::is_same_v<OpT, LayerNormOp>;
    KernelCall c = this->call(op, layerNorm ? "xfk_layer_norm" : "xfk_rms_norm");
    c.value(adaptor.getInput()).value(adaptor.getGamma());
    if constexpr (layerNorm)
      c.valueOrNull(adaptor.getBeta());
    c.value(y)
        .integer(product(rs) / rs.back())
        .integer(rs.back())
        .opaque(floatLiteral(op.getEpsilon().convertToDouble()))
        .emit(b);
  }
};

/// Softmax over one axis: the tensor as [outer, axis, inner].
struct SoftmaxLowering : KernelPattern<SoftmaxOp> {
  using KernelPattern::KernelPattern;
  void lower(SoftmaxOp op, OpAdaptor adaptor, Value y,
             OpBuilder &b) const override {
    auto rs = shapeOf(op, op.getResult());
    int64_t axis = op.getAxis();
    if (axis < 0)
      axis += rs.size();
    call(op, "xfk_softmax")
        .value(adaptor.getInput())
        .value(y)
        .integer(product(rs.take_front(axis)))
        .integer(rs[axis])
        .integer(product(rs.drop_front(axis + 1)))
        .emit(b);
  }
};

} // namespace

void mlir::xformer::to_emitc::populateNormalizationPatterns(
    LoweringState &state, const TypeConverter &converter,
    RewritePatternSet &patterns) {
  patterns.add<NormLowering<LayerNormOp>, NormLowering<RMSNormOp>,
               SoftmaxLowering>(state, converter);
}
