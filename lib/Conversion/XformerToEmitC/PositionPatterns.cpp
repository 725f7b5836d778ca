//===- PositionPatterns.cpp - Embeddings, positions and rotary embeddings -===//
//
// Embedding lookups (tables in f32, or rows decoded to f32 from ggml blocks,
// bf16 or f16 as they are looked up), position ramps and RoPE with its
// frequency scaling.
//
//===----------------------------------------------------------------------===//

#include "Lowering.h"

using namespace mlir;
using namespace mlir::xformer;
using namespace mlir::xformer::to_emitc;

namespace {

struct EmbeddingLowering : KernelPattern<EmbeddingOp> {
  using KernelPattern::KernelPattern;
  void lower(EmbeddingOp op, OpAdaptor adaptor, Value y,
             OpBuilder &b) const override {
    auto ts = shapeOf(op, op.getTable());
    std::string what = "embedding";
    if (auto w = op.getTable().getDefiningOp<WeightOp>())
      what = w.getName().str();
    // Rows stored in ggml blocks, bf16 or f16 (ggml's types 30 and 1),
    // decoded to f32 as they are looked up.
    const Type telem = elementOf(op.getTable());
    std::optional<std::pair<int64_t, StringRef>> stored;
    if (auto g = dyn_cast<GGMLType>(telem))
      stored = {int64_t(g.getFormat()), g.getGGMLName()};
    else if ((telem.isBF16() || telem.isF16()) &&
             elementOf(op.getResult()).isF32())
      stored = telem.isBF16() ? std::pair<int64_t, StringRef>{30, "BF16"}
                              : std::pair<int64_t, StringRef>{1, "F16"};
    KernelCall c =
        call(op, stored ? "xfk_embedding_ggml" : "xfk_embedding");
    c.value(adaptor.getTable());
    if (stored)
      c.opaque(std::to_string(stored->first) + " /* " +
               stored->second.str() + " */");
    c.integer(ts[0])
        .integer(ts[1])
        .value(adaptor.getIds())
        .opaque(dtypeName(elementOf(op.getIds())))
        .integer(product(shapeOf(op, op.getIds())))
        .value(y)
        .opaque(cString(what))
        .emit(b);
  }
};

/// 0, 1, ..., n - 1.
struct PositionsLowering : KernelPattern<PositionsOp> {
  using KernelPattern::KernelPattern;
  void lower(PositionsOp op, OpAdaptor, Value y,
             OpBuilder &b) const override {
    call(op, "xfk_positions")
        .opaque(dtypeName(elementOf(op.getResult())))
        .integer(product(shapeOf(op, op.getResult())))
        .value(y)
        .emit(b);
  }
};

/// RoPE over [batch, heads, seq, head_dim], positions per batch row or
/// shared; scaled frequencies (linear, Llama 3) by their own entry point.
struct RopeLowering : KernelPattern<RopeOp> {
  using KernelPattern::KernelPattern;
  void lower(RopeOp op, OpAdaptor adaptor, Value y,
             OpBuilder &b) const override {
    auto xs = shapeOf(op, op.getInput());
    auto ps = shapeOf(op, op.getPositions());
    RopeScalingAttr scaling = op.getScalingAttr();
    KernelCall c = call(op, scaling ? "xfk_rope_scaled" : "xfk_rope");
    c.integer(op.getStyle() == RopeStyle::interleaved ? 1 : 0)
        .value(adaptor.getInput())
        .value(y)
        .integer(xs[0])
        .integer(xs[1])
        .integer(xs[2])
        .integer(xs[3])
        .integer(op.getRotaryDim() ? *op.getRotaryDim() : xs[3])
        .value(adaptor.getPositions())
        .opaque(dtypeName(elementOf(op.getPositions())))
        .integer(ps.size() == 2 ? 1 : 0)
        .opaque(doubleLiteral(op.getTheta().convertToDouble()));
    if (scaling) {
      auto fp = [](const APFloat &v) {
        return doubleLiteral(v.convertToDouble());
      };
      c.opaque(scaling.getKind() == RopeScalingKind::linear
                   ? "XFK_ROPE_SCALING_LINEAR"
                   : "XFK_ROPE_SCALING_LLAMA3")
          .opaque(fp(scaling.getFactor()))
          .opaque(fp(scaling.getLowFreqFactor()))
          .opaque(fp(scaling.getHighFreqFactor()))
          .integer(scaling.getOriginalMaxPositions());
    }
    c.emit(b);
  }
};

} // namespace

void mlir::xformer::to_emitc::populatePositionPatterns(
    LoweringState &state, const TypeConverter &converter,
    RewritePatternSet &patterns) {
  patterns.add<EmbeddingLowering, PositionsLowering, RopeLowering>(state,
                                                                   converter);
}
