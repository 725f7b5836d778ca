//===- FuseAttention.cpp - Raise unfused attention ------------------------===//

#include "xformer/Analysis/MaskRecognition.h"
#include "xformer/IR/XformerOps.h"
#include "xformer/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/ADT/SetVector.h"

#include <cmath>

namespace mlir::xformer {
#define GEN_PASS_DEF_XFORMERFUSEATTENTION
#include "xformer/Transforms/Passes.h.inc"
} // namespace mlir::xformer

using namespace mlir;
using namespace mlir::xformer;

namespace {

/// The value of a splat float constant that does not grow the shape of
/// what it multiplies (all dimensions 1, or rank 0).
std::optional<double> splatScalar(Value v) {
  auto cst = v.getDefiningOp<arith::ConstantOp>();
  if (!cst)
    return std::nullopt;
  auto dense = dyn_cast<DenseFPElementsAttr>(cst.getValue());
  if (!dense || !dense.isSplat())
    return std::nullopt;
  for (int64_t d : dense.getType().getShape())
    if (d != 1)
      return std::nullopt;
  return dense.getSplatValue<APFloat>().convertToDouble();
}

bool isHiddenFill(Value v) {
  std::optional<double> x = splatScalar(v);
  return x && *x <= kHiddenThreshold;
}

bool isFloatToFloatCast(Operation *op) {
  auto cast = dyn_cast_or_null<CastOp>(op);
  return cast && isa<FloatType>(cast.getInput().getType().getElementType()) &&
         isa<FloatType>(cast.getType().getElementType());
}

/// The other operand when `op` is a binary op with a splat scalar operand
/// and the product keeps the shape of that other operand.
Value scaledOperand(Operation *op, double &factor) {
  if (auto mul = dyn_cast_or_null<MulOp>(op)) {
    for (auto [a, b] : {std::pair{mul.getLhs(), mul.getRhs()},
                        std::pair{mul.getRhs(), mul.getLhs()}})
      if (std::optional<double> s = splatScalar(b))
        if (a.getType() == mul.getType()) {
          factor = *s;
          return a;
        }
  }
  if (auto div = dyn_cast_or_null<DivOp>(op))
    if (std::optional<double> s = splatScalar(div.getRhs()))
      if (div.getLhs().getType() == div.getType() && *s != 0.0) {
        factor = 1.0 / *s;
        return div.getLhs();
      }
  return {};
}

/// Looks through float casts and multiplications/divisions by a scalar,
/// accumulating the scale.
Value peelScale(Value v, double &scale) {
  while (Operation *def = v.getDefiningOp()) {
    if (isFloatToFloatCast(def)) {
      v = def->getOperand(0);
      continue;
    }
    double factor = 1.0;
    if (Value inner = scaledOperand(def, factor)) {
      scale *= factor;
      v = inner;
      continue;
    }
    break;
  }
  return v;
}

/// Looks through float casts only (V: a scale on V is not the attention's).
Value peelCasts(Value v) {
  while (isFloatToFloatCast(v.getDefiningOp()))
    v = v.getDefiningOp()->getOperand(0);
  return v;
}

/// Grouped-query K/V as exporters write it: `repeat_kv`
/// ([B, KV, S, D] -> [B, KV, 1, S, D] -> [B, KV, R, S, D] -> [B, KV*R, S, D])
/// or a broadcast of a single head ([B, 1, S, D] -> [B, H, S, D]). Returns
/// the un-repeated tensor, whose head h / R serves query head h.
Value peelRepeatKV(Value v) {
  if (auto outer = v.getDefiningOp<ReshapeOp>())
    if (auto bc = outer.getInput().getDefiningOp<BroadcastOp>())
      if (auto inner = bc.getInput().getDefiningOp<ReshapeOp>()) {
        auto x = dyn_cast<RankedTensorType>(inner.getInput().getType());
        auto r1 = cast<RankedTensorType>(inner.getType());
        auto r2 = cast<RankedTensorType>(bc.getType());
        auto out = cast<RankedTensorType>(outer.getType());
        if (x && x.getRank() == 4 && r1.getRank() == 5 && r2.getRank() == 5 &&
            out.getRank() == 4 && x.hasStaticShape() && r2.hasStaticShape() &&
            out.hasStaticShape()) {
          int64_t b = x.getDimSize(0), kv = x.getDimSize(1);
          int64_t s = x.getDimSize(2), d = x.getDimSize(3);
          int64_t r = r2.getDimSize(2);
          if (r1.getShape() == ArrayRef<int64_t>{b, kv, 1, s, d} &&
              r2.getShape() == ArrayRef<int64_t>{b, kv, r, s, d} &&
              out.getShape() == ArrayRef<int64_t>{b, kv * r, s, d})
            return inner.getInput();
        }
      }
  if (auto bc = v.getDefiningOp<BroadcastOp>()) {
    auto x = dyn_cast<RankedTensorType>(bc.getInput().getType());
    auto out = cast<RankedTensorType>(bc.getType());
    if (x && x.getRank() == 4 && out.getRank() == 4 && x.getDimSize(1) == 1 &&
        x.getDimSize(0) == out.getDimSize(0) &&
        x.getDimSize(2) == out.getDimSize(2) &&
        x.getDimSize(3) == out.getDimSize(3))
      return bc.getInput();
  }
  return v;
}

/// Whether `v` is (through the ops a score chain uses) the product Q K^T.
bool reachesScores(Value v, int depth = 0) {
  if (depth > 32)
    return false;
  Operation *def = v.getDefiningOp();
  if (!def)
    return false;
  if (auto mm = dyn_cast<MatmulOp>(def))
    return mm.getType().getRank() == 4;
  double factor;
  if (isFloatToFloatCast(def))
    return reachesScores(def->getOperand(0), depth + 1);
  if (Value inner = scaledOperand(def, factor))
    return reachesScores(inner, depth + 1);
  if (auto fill = dyn_cast<MaskedFillOp>(def))
    return reachesScores(fill.getInput(), depth + 1);
  if (auto sel = dyn_cast<SelectOp>(def))
    return reachesScores(sel.getTrueValue(), depth + 1) ||
           reachesScores(sel.getFalseValue(), depth + 1);
  if (auto add = dyn_cast<AddOp>(def))
    return reachesScores(add.getLhs(), depth + 1) ||
           reachesScores(add.getRhs(), depth + 1);
  return false;
}


/// The result shape of broadcasting two values, as an i1 or float tensor.
RankedTensorType broadcastType(Value a, Value b, Type elt) {
  auto sa = cast<RankedTensorType>(a.getType()).getShape();
  auto sb = cast<RankedTensorType>(b.getType()).getShape();
  return RankedTensorType::get(*broadcastShapes(sa, sb), elt);
}

struct FuseAttentionPattern : OpRewritePattern<MatmulOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(MatmulOp pv,
                                PatternRewriter &rewriter) const override {
    if (pv.getTransposeRhs() || pv.getType().getRank() != 4)
      return rewriter.notifyMatchFailure(pv, "not a rank-4 P @ V product");
    // P: a softmax over the key axis, possibly cast back down.
    Value p = pv.getLhs();
    if (isFloatToFloatCast(p.getDefiningOp()))
      p = p.getDefiningOp()->getOperand(0);
    auto softmax = p.getDefiningOp<SoftmaxOp>();
    if (!softmax)
      return rewriter.notifyMatchFailure(pv, "lhs is not a softmax");
    int64_t rank = softmax.getType().getRank();
    if (rank != 4 ||
        softmax.getAxisAttr().getInt() != rank - 1)
      return rewriter.notifyMatchFailure(pv, "softmax is not over the keys");
    if (!softmax->hasOneUse())
      return rewriter.notifyMatchFailure(pv, "probabilities are used elsewhere");

    // Walk the scores back to Q K^T, collecting scale, masks and biases.
    double scale = 1.0;
    SmallVector<MaskTerm> terms;
    SmallVector<Value> addends;
    Value s = softmax.getInput();
    MatmulOp qk;
    while (!qk) {
      Operation *def = s.getDefiningOp();
      if (!def)
        return rewriter.notifyMatchFailure(pv, "scores are a block argument");
      double factor = 1.0;
      if (auto mm = dyn_cast<MatmulOp>(def)) {
        qk = mm;
      } else if (isFloatToFloatCast(def)) {
        s = def->getOperand(0);
      } else if (Value inner = scaledOperand(def, factor)) {
        scale *= factor;
        s = inner;
      } else if (auto fill = dyn_cast<MaskedFillOp>(def)) {
        if (fill.getValue().convertToDouble() > kHiddenThreshold)
          return rewriter.notifyMatchFailure(pv, "masked_fill with a value "
                                                 "that does not hide keys");
        terms.push_back({MaskTermKind::Hide, fill.getMask()});
        s = fill.getInput();
      } else if (auto sel = dyn_cast<SelectOp>(def)) {
        if (isHiddenFill(sel.getFalseValue()) &&
            sel.getTrueValue().getType() == sel.getType()) {
          terms.push_back({MaskTermKind::Keep, sel.getCondition()});
          s = sel.getTrueValue();
        } else if (isHiddenFill(sel.getTrueValue()) &&
                   sel.getFalseValue().getType() == sel.getType()) {
          terms.push_back({MaskTermKind::Hide, sel.getCondition()});
          s = sel.getFalseValue();
        } else {
          return rewriter.notifyMatchFailure(pv, "select that is not a mask");
        }
      } else if (auto add = dyn_cast<AddOp>(def)) {
        bool lhsScores = reachesScores(add.getLhs());
        bool rhsScores = reachesScores(add.getRhs());
        if (lhsScores == rhsScores)
          return rewriter.notifyMatchFailure(pv, "cannot tell scores from "
                                                 "bias in an add");
        Value other = lhsScores ? add.getRhs() : add.getLhs();
        s = lhsScores ? add.getLhs() : add.getRhs();
        if (other.getType() != add.getType() &&
            !isBroadcastableTo(
                cast<RankedTensorType>(other.getType()).getShape(),
                add.getType().getShape()))
          return rewriter.notifyMatchFailure(pv, "bias grows the scores");
        // Flatten sums of mask and bias terms (T5: bias + causal mask).
        SmallVector<Value> work{other};
        while (!work.empty()) {
          Value t = work.pop_back_val();
          auto sum = t.getDefiningOp<AddOp>();
          if (sum && isa<FloatType>(sum.getType().getElementType()) &&
              sum.getType() == cast<RankedTensorType>(t.getType())) {
            work.push_back(sum.getLhs());
            work.push_back(sum.getRhs());
          } else {
            addends.push_back(t);
          }
        }
      } else {
        return rewriter.notifyMatchFailure(pv, "unsupported op '" +
                                                   def->getName().getStringRef() +
                                                   "' between Q K^T and softmax");
      }
    }
    if (qk.getType().getRank() != 4)
      return rewriter.notifyMatchFailure(pv, "Q K^T is not rank 4");

    // Q, K, V in [batch, heads, seq, head_dim].
    Value q = peelScale(qk.getLhs(), scale);
    Value k = qk.getRhs();
    if (!qk.getTransposeRhs()) {
      k = peelScale(k, scale);
      auto t = k.getDefiningOp<TransposeOp>();
      if (!t || t.getPermutation() != ArrayRef<int64_t>{0, 1, 3, 2})
        return rewriter.notifyMatchFailure(pv, "rhs of Q K^T is not K^T");
      k = t.getInput();
    }
    k = peelScale(peelRepeatKV(peelScale(k, scale)), scale);
    Value v = peelCasts(peelRepeatKV(peelCasts(pv.getRhs())));
    if (!(scale > 0.0) || !std::isfinite(scale))
      return rewriter.notifyMatchFailure(pv, "scale is not positive");

    auto qType = cast<RankedTensorType>(q.getType());
    auto kType = cast<RankedTensorType>(k.getType());
    auto vType = cast<RankedTensorType>(v.getType());
    Type elt = qType.getElementType();
    if (kType.getElementType() != elt || vType.getElementType() != elt ||
        qType.getRank() != 4 || kType.getRank() != 4 || vType.getRank() != 4)
      return rewriter.notifyMatchFailure(pv, "Q, K, V types disagree");
    if (kType.getDimSize(1) != vType.getDimSize(1))
      return rewriter.notifyMatchFailure(pv, "K and V heads differ");

    auto scores = cast<RankedTensorType>(qk.getType());
    ScoreGeometry geometry;
    geometry.batch = scores.getDimSize(0);
    geometry.heads = scores.getDimSize(1);
    geometry.qLen = scores.getDimSize(2);
    geometry.kvLen = scores.getDimSize(3);
    bool staticScores = scores.hasStaticShape();

    // Additive terms are masks when they are 0 / very negative everywhere.
    SmallVector<Value> biases;
    for (Value t : addends) {
      if (staticScores && isAdditiveMask(t, geometry))
        terms.push_back({MaskTermKind::Additive, t});
      else
        biases.push_back(t);
    }

    llvm::SetVector<Value> qRoots = sequenceRoots(q);
    llvm::SetVector<Value> kRoots = sequenceRoots(k);
    bool isCross = !kRoots.empty() &&
                   llvm::none_of(kRoots, [&](Value r) {
                     return qRoots.contains(r);
                   });

    MaskAttr maskAttr;
    Value qLengths, kvLengths, maskTensor, segmentIds;
    MLIRContext *ctx = rewriter.getContext();
    if (terms.empty()) {
      if (isCross) {
        maskAttr = MaskAttr::get(ctx, MaskKind::cross);
      } else {
        if (staticScores && geometry.qLen != geometry.kvLen)
          return rewriter.notifyMatchFailure(
              pv, "unmasked self-attention with fewer queries than keys");
        maskAttr = MaskAttr::get(ctx, MaskKind::bidirectional);
      }
    } else {
      std::optional<RecognizedMask> recognized;
      if (staticScores)
        recognized = recognizeMask(terms, geometry, isCross);
      if (recognized && recognized->lengths &&
          !isa<RankedTensorType>(recognized->lengths.getType()))
        recognized.reset();
      // Lengths and document ids become operands of i32 or i64.
      for (Value input : {recognized ? recognized->lengths : Value(),
                          recognized ? recognized->segmentIds : Value()}) {
        if (!input || !recognized)
          continue;
        Type e = cast<RankedTensorType>(input.getType()).getElementType();
        if (!e.isInteger(32) && !e.isInteger(64))
          recognized.reset();
      }
      // Positional kinds align queries to the last key positions; with more
      // queries than keys the op would not verify, so keep such masks custom.
      if (recognized && mask::isPositional(recognized->spec.kind) &&
          geometry.qLen > geometry.kvLen)
        recognized.reset();
      if (recognized) {
        const mask::Spec &spec = recognized->spec;
        maskAttr = MaskAttr::get(ctx, static_cast<MaskKind>(spec.kind),
                                 spec.window, spec.prefix, spec.documents);
        segmentIds = recognized->segmentIds;
        if (Value len = recognized->lengths) {
          kvLengths = len;
          if (mask::isPositional(spec.kind))
            qLengths = len;
        }
      } else {
        // Keep the mask as an explicit tensor: the conjunction of the terms,
        // true where visible.
        maskTensor = buildMaskTensor(rewriter, terms, scores);
        if (!maskTensor)
          return rewriter.notifyMatchFailure(pv, "mask cannot be expressed "
                                                 "as a custom tensor");
        maskAttr = MaskAttr::get(ctx, MaskKind::custom);
      }
    }

    Value bias;
    for (Value b : biases) {
      if (!bias) {
        bias = b;
        continue;
      }
      Type e = cast<RankedTensorType>(b.getType()).getElementType();
      bias = AddOp::create(rewriter, pv.getLoc(), broadcastType(bias, b, e),
                           bias, b);
    }

    Location loc = rewriter.getFusedLoc({qk.getLoc(), softmax.getLoc(),
                                         pv.getLoc()});
    auto resultType = RankedTensorType::get(
        {qType.getDimSize(0), qType.getDimSize(1), qType.getDimSize(2),
         vType.getDimSize(3)},
        elt);
    Value attention = AttentionOp::create(
        rewriter, loc, resultType, q, k, v, qLengths, kvLengths,
        /*prefix_lengths=*/Value(), maskTensor, bias, segmentIds, maskAttr,
        rewriter.getF64FloatAttr(scale));
    if (resultType != pv.getType())
      attention = CastOp::create(rewriter, loc, pv.getType(), attention);
    rewriter.replaceOp(pv, attention);
    return success();
  }

  static Value buildMaskTensor(PatternRewriter &rewriter,
                               ArrayRef<MaskTerm> terms,
                               RankedTensorType scores) {
    Location loc = rewriter.getUnknownLoc();
    Type i1 = rewriter.getI1Type();
    Value result;
    for (const MaskTerm &t : terms) {
      auto type = cast<RankedTensorType>(t.value.getType());
      Value keep;
      switch (t.kind) {
      case MaskTermKind::Keep:
        keep = t.value;
        break;
      case MaskTermKind::Hide:
        keep = NotOp::create(rewriter, loc, t.value);
        break;
      case MaskTermKind::Additive: {
        auto zeroType = RankedTensorType::get({}, type.getElementType());
        Value zero = arith::ConstantOp::create(
            rewriter, loc,
            DenseElementsAttr::get(zeroType,
                                   rewriter.getFloatAttr(type.getElementType(),
                                                         0.0)));
        keep = CompareOp::create(
            rewriter, loc, RankedTensorType::get(type.getShape(), i1),
            ComparePredicate::eq, t.value, zero);
        break;
      }
      }
      if (!result) {
        result = keep;
        continue;
      }
      result = AndOp::create(rewriter, loc, broadcastType(result, keep, i1),
                             result, keep);
    }
    if (!result ||
        !isBroadcastableTo(cast<RankedTensorType>(result.getType()).getShape(),
                           scores.getShape()))
      return {};
    return result;
  }
};

struct XformerFuseAttentionPass
    : mlir::xformer::impl::XformerFuseAttentionBase<XformerFuseAttentionPass> {
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    // Normalise first so matching is on meaning, not on op order.
    RewritePatternSet canonical(ctx);
    for (RegisteredOperationName name : ctx->getRegisteredOperations())
      if (name.getDialectNamespace() == XformerDialect::getDialectNamespace())
        name.getCanonicalizationPatterns(canonical, ctx);
    FrozenRewritePatternSet frozenCanonical(std::move(canonical));
    if (failed(applyPatternsGreedily(getOperation(), frozenCanonical)))
      return signalPassFailure();
    RewritePatternSet fusion(ctx);
    populateFuseAttentionPatterns(fusion);
    if (failed(applyPatternsGreedily(getOperation(), std::move(fusion))))
      return signalPassFailure();
  }
};

} // namespace

void mlir::xformer::populateFuseAttentionPatterns(RewritePatternSet &patterns) {
  patterns.add<FuseAttentionPattern>(patterns.getContext());
}
