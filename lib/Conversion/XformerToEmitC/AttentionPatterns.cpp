//===- AttentionPatterns.cpp - Masked attention to the fused kernel -------===//
//
// xformer.attention becomes one call of xfk_attention over an
// xfk_attention_args whose fields are set one by one: the shapes, the mask
// kind and its parameters, the padding and document index tensors, and the
// materialised mask and bias as [batch or 1, heads or 1, q, kv] with their
// strides (other broadcasts are expanded first into the scratch the plan
// holds for them). Relative position biases (T5) have their own kernel.
//
//===----------------------------------------------------------------------===//

#include "Lowering.h"

using namespace mlir;
using namespace mlir::xformer;
using namespace mlir::xformer::to_emitc;

namespace {

/// The kernels' name of a mask kind: XFK_MASK_ and the ODS name (their
/// numbers are checked in Lowering.cpp).
std::string maskKindName(MaskKind kind) {
  return "XFK_MASK_" + stringifyMaskKind(kind).upper();
}

struct AttentionLowering : LoweringPattern<AttentionOp> {
  using LoweringPattern::LoweringPattern;
  LogicalResult
  matchAndRewrite(AttentionOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    MLIRContext *ctx = op.getContext();
    Location loc = op.getLoc();
    auto qs = state.shapeOf(op, op.getQuery());
    auto ks = state.shapeOf(op, op.getKey());
    auto vs = state.shapeOf(op, op.getValue());
    for (ArrayRef<int64_t> s : {qs, ks, vs})
      if (llvm::any_of(s, ShapedType::isDynamic))
        return op.emitError("the ")
               << state.kernels.name
               << " target needs static attention shapes (dynamic ones come "
                  "only from cache_read)";
    MaskAttr mask = op.getMask();
    commentOp(rewriter, state, op);
    Value y = scratchResult(rewriter, state, op, op.getResult());

    // Masks and biases broadcast in the scratch first (the mask's buffer
    // first, the bias's second).
    struct Operand4d {
      Value ptr;
      SmallVector<int64_t> shape;
    };
    auto operand4d = [&](Value original, Value ptr,
                         int64_t elemBytes) -> std::optional<Operand4d> {
      if (!original)
        return std::nullopt;
      auto s = state.shapeOf(op, original);
      SmallVector<int64_t> shape(4 - std::min<size_t>(4, s.size()), 1);
      llvm::append_range(shape, s);
      if (shape[2] == qs[2] && shape[3] == ks[2])
        return Operand4d{ptr, shape};
      SmallVector<int64_t> full = {shape[0], shape[1], qs[2], ks[2]};
      int64_t offset =
          state.frameOf(op).plan.temps.lookup(op)[elemBytes == 1 ? 0 : 1];
      Value into = scratchAt(rewriter, state, op, offset, ptr.getType());
      KernelCall(state, op, "xfk_broadcast")
          .frame()
          .integer(elemBytes)
          .value(ptr)
          .shape(shape)
          .value(into)
          .shape(full)
          .integer(4)
          .emit(rewriter);
      return Operand4d{into, full};
    };
    auto maskOperand = operand4d(op.getMaskTensor(), adaptor.getMaskTensor(), 1);
    auto biasOperand = operand4d(op.getBias(), adaptor.getBias(), 4);

    Type argsType = opaqueType(ctx, "xfk_attention_args");
    Value args = emitc::VariableOp::create(
        rewriter, loc, emitc::LValueType::get(argsType),
        emitc::OpaqueAttr::get(ctx, "{}"));
    auto set = [&](StringRef field, Value v) {
      Value member = emitc::MemberOp::create(
          rewriter, loc, emitc::LValueType::get(v.getType()), field, args);
      emitc::AssignOp::create(rewriter, loc, member, v);
    };
    Type i64 = rewriter.getI64Type();
    auto setInt = [&](StringRef field, int64_t v) {
      set(field, literal(rewriter, loc, i64, std::to_string(v)));
    };
    auto setText = [&](StringRef field, StringRef text) {
      set(field, literal(rewriter, loc, opaqueType(ctx, "int32_t"), text));
    };
    set("q", adaptor.getQuery());
    set("k", adaptor.getKey());
    set("v", adaptor.getValue());
    set("out", y);
    setInt("batch", qs[0]);
    setInt("heads", qs[1]);
    setInt("kv_heads", ks[1]);
    setInt("q_len", qs[2]);
    setInt("kv_len", ks[2]);
    setInt("head_dim", qs[3]);
    setInt("v_head_dim", vs[3]);
    set("scale", literal(rewriter, loc, rewriter.getF32Type(),
                         floatLiteral(op.getScale().convertToDouble())));
    setText("mask_kind", maskKindName(mask.getKind()));
    setInt("window", mask.getWindow());
    setInt("prefix", mask.hasDynamicPrefix() ? 0 : mask.getPrefix());
    setInt("documents", mask.getDocuments() ? 1 : 0);
    auto index = [&](Value original, Value ptr, StringRef field) {
      if (!original)
        return;
      set(field, ptr);
      setText((field + "_dtype").str(), dtypeName(elementOf(original)));
    };
    index(op.getQLengths(), adaptor.getQLengths(), "q_lengths");
    index(op.getKvLengths(), adaptor.getKvLengths(), "kv_lengths");
    index(op.getPrefixLengths(), adaptor.getPrefixLengths(), "prefix_lengths");
    index(op.getSegmentIds(), adaptor.getSegmentIds(), "segment_ids");
    auto setOperand = [&](const std::optional<Operand4d> &o, StringRef field) {
      if (!o)
        return;
      ArrayRef<int64_t> s = o->shape;
      set(field, o->ptr);
      setInt((field + "_batch_stride").str(),
             s[0] == 1 ? 0 : s[1] * s[2] * s[3]);
      setInt((field + "_head_stride").str(), s[1] == 1 ? 0 : s[2] * s[3]);
    };
    setOperand(maskOperand, "mask");
    setOperand(biasOperand, "bias");

    KernelCall call(state, op, "xfk_attention");
    call.frame().value(emitc::AddressOfOp::create(
        rewriter, loc, emitc::PointerType::get(argsType), args));
    // CUDA: the mask kind and head sizes are template arguments, so each
    // attention gets a kernel specialised to them.
    if (state.kernels.specialiseAttention)
      call.templateArg(emitc::OpaqueAttr::get(ctx, maskKindName(mask.getKind())))
          .templateArg(rewriter.getI64IntegerAttr(qs[3]))
          .templateArg(rewriter.getI64IntegerAttr(vs[3]));
    call.emit(rewriter);
    rewriter.replaceOp(op, y);
    return success();
  }
};

/// T5's bucketed relative position bias, [batch or 1, heads, q, k].
struct RelativePositionBiasLowering
    : KernelPattern<RelativePositionBiasOp> {
  using KernelPattern::KernelPattern;
  void lower(RelativePositionBiasOp op, OpAdaptor adaptor, Value y,
             OpBuilder &b) const override {
    auto qs = shapeOf(op, op.getQueryPositions());
    call(op, "xfk_relative_position_bias")
        .value(adaptor.getTable())
        .integer(shapeOf(op, op.getTable())[1])
        .value(adaptor.getQueryPositions())
        .opaque(dtypeName(elementOf(op.getQueryPositions())))
        .integer(qs.size() == 2 ? qs[0] : 1)
        .integer(qs.back())
        .value(adaptor.getKeyPositions())
        .opaque(dtypeName(elementOf(op.getKeyPositions())))
        .integer(shapeOf(op, op.getKeyPositions()).back())
        .integer(op.getNumBuckets())
        .integer(op.getMaxDistance())
        .integer(op.getBidirectional() ? 1 : 0)
        .value(y)
        .emit(b);
  }
};

} // namespace

void mlir::xformer::to_emitc::populateAttentionPatterns(
    LoweringState &state, const TypeConverter &converter,
    RewritePatternSet &patterns) {
  patterns.add<AttentionLowering, RelativePositionBiasLowering>(state,
                                                                converter);
}
