//===- XformerCanonicalize.cpp - Folders and canonicalization patterns ----===//
//
// The normal forms attention fusion matches on: head reshapes become
// split/merge_heads, K^T transposes fold into matmul, merged-head (BMM)
// products and softmax are lifted to the per-head form, scalar factors sink
// through split_heads.
//
//===----------------------------------------------------------------------===//

#include "xformer/IR/XformerOps.h"

#include "mlir/IR/PatternMatch.h"

using namespace mlir;
using namespace mlir::xformer;

//===----------------------------------------------------------------------===//
// Folders and canonicalization
//===----------------------------------------------------------------------===//

static bool isIdentity(ArrayRef<int64_t> perm) {
  for (auto [i, p] : llvm::enumerate(perm))
    if (static_cast<int64_t>(i) != p)
      return false;
  return true;
}

/// A permutation that swaps the last two dimensions and keeps the others.
static bool swapsLastTwo(ArrayRef<int64_t> perm) {
  size_t n = perm.size();
  if (n < 2)
    return false;
  for (size_t i = 0; i + 2 < n; ++i)
    if (perm[i] != static_cast<int64_t>(i))
      return false;
  return perm[n - 2] == static_cast<int64_t>(n - 1) &&
         perm[n - 1] == static_cast<int64_t>(n - 2);
}

OpFoldResult TransposeOp::fold(FoldAdaptor) {
  if (isIdentity(getPermutation()) && getInput().getType() == getType())
    return getInput();
  return {};
}

OpFoldResult ReshapeOp::fold(FoldAdaptor) {
  if (getInput().getType() == getType())
    return getInput();
  return {};
}

OpFoldResult CastOp::fold(FoldAdaptor) {
  if (getInput().getType() == getType())
    return getInput();
  return {};
}

namespace {

/// transpose(transpose(x, p1), p2) -> transpose(x, p1[p2]).
struct ComposeTransposes : OpRewritePattern<TransposeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(TransposeOp op,
                                PatternRewriter &rewriter) const override {
    auto inner = op.getInput().getDefiningOp<TransposeOp>();
    if (!inner)
      return rewriter.notifyMatchFailure(op, "input is not a transpose");
    SmallVector<int64_t> composed;
    for (int64_t p : op.getPermutation())
      composed.push_back(inner.getPermutation()[p]);
    rewriter.replaceOpWithNewOp<TransposeOp>(op, op.getType(), inner.getInput(),
                                             composed);
    return success();
  }
};

/// transpose(reshape([B, S, H*D] -> [B, S, H, D]), [0, 2, 1, 3])
///   -> split_heads(x, H)
/// and with [0, 2, 3, 1] (K^T directly) -> transpose(split_heads, [0, 1, 3, 2]).
struct TransposeOfReshapeToSplitHeads : OpRewritePattern<TransposeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(TransposeOp op,
                                PatternRewriter &rewriter) const override {
    auto reshape = op.getInput().getDefiningOp<ReshapeOp>();
    if (!reshape)
      return rewriter.notifyMatchFailure(op, "input is not a reshape");
    auto in = dyn_cast<RankedTensorType>(reshape.getInput().getType());
    auto mid = cast<RankedTensorType>(reshape.getType());
    if (!in || !isa<FloatType>(in.getElementType()) || in.getRank() != 3 ||
        mid.getRank() != 4 || !in.hasStaticShape() || !mid.hasStaticShape())
      return rewriter.notifyMatchFailure(op, "not [B, S, E] -> [B, S, H, D]");
    if (in.getDimSize(0) != mid.getDimSize(0) ||
        in.getDimSize(1) != mid.getDimSize(1) ||
        in.getDimSize(2) != mid.getDimSize(2) * mid.getDimSize(3))
      return rewriter.notifyMatchFailure(op, "reshape does not split E");
    ArrayRef<int64_t> perm = op.getPermutation();
    bool heads = perm == ArrayRef<int64_t>{0, 2, 1, 3};
    bool headsT = perm == ArrayRef<int64_t>{0, 2, 3, 1};
    if (!heads && !headsT)
      return rewriter.notifyMatchFailure(op, "not a head transpose");
    int64_t b = mid.getDimSize(0), s = mid.getDimSize(1);
    int64_t h = mid.getDimSize(2), d = mid.getDimSize(3);
    auto splitType = RankedTensorType::get({b, h, s, d}, mid.getElementType());
    Value split = SplitHeadsOp::create(rewriter, op.getLoc(), splitType,
                                       reshape.getInput(),
                                       rewriter.getI64IntegerAttr(h));
    if (heads) {
      rewriter.replaceOp(op, split);
      return success();
    }
    rewriter.replaceOpWithNewOp<TransposeOp>(
        op, op.getType(), split, ArrayRef<int64_t>{0, 1, 3, 2});
    return success();
  }
};

/// reshape(transpose(x [B, H, S, D], [0, 2, 1, 3]) -> [B, S, H*D])
///   -> merge_heads(x).
struct ReshapeOfTransposeToMergeHeads : OpRewritePattern<ReshapeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ReshapeOp op,
                                PatternRewriter &rewriter) const override {
    auto transpose = op.getInput().getDefiningOp<TransposeOp>();
    if (!transpose ||
        transpose.getPermutation() != ArrayRef<int64_t>{0, 2, 1, 3})
      return rewriter.notifyMatchFailure(op, "input is not a head transpose");
    auto in = cast<RankedTensorType>(transpose.getInput().getType());
    auto out = cast<RankedTensorType>(op.getType());
    if (!isa<FloatType>(in.getElementType()) || out.getRank() != 3 ||
        !in.hasStaticShape() || !out.hasStaticShape() ||
        out.getDimSize(2) != in.getDimSize(1) * in.getDimSize(3))
      return rewriter.notifyMatchFailure(op, "not [B, S, H, D] -> [B, S, H*D]");
    rewriter.replaceOpWithNewOp<MergeHeadsOp>(op, op.getType(),
                                              transpose.getInput());
    return success();
  }
};

/// reshape(reshape(x)) -> reshape(x).
struct ComposeReshapes : OpRewritePattern<ReshapeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ReshapeOp op,
                                PatternRewriter &rewriter) const override {
    auto inner = op.getInput().getDefiningOp<ReshapeOp>();
    if (!inner)
      return rewriter.notifyMatchFailure(op, "input is not a reshape");
    rewriter.replaceOpWithNewOp<ReshapeOp>(op, op.getType(), inner.getInput());
    return success();
  }
};

/// reshape(linear(reshape(x -> [M, K])) -> [L..., N]) with M = prod(L)
///   -> linear(reshape(x -> [L..., K])).
/// Exporters flatten the rows to call a 2-D GEMM and unflatten the result;
/// rows keep their order through both reshapes, so the linear can run on
/// the [batch, seq, K] form that the sequence-aware passes read.
struct LinearThroughRowReshapes : OpRewritePattern<ReshapeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ReshapeOp op,
                                PatternRewriter &rewriter) const override {
    auto linear = op.getInput().getDefiningOp<LinearOp>();
    if (!linear || !linear->hasOneUse() || linear.hasEpilogue())
      return rewriter.notifyMatchFailure(
          op, "input is not a linear without an epilogue");
    auto rows = linear.getInput().getDefiningOp<ReshapeOp>();
    if (!rows)
      return rewriter.notifyMatchFailure(op, "linear input is not a reshape");
    auto flat = cast<RankedTensorType>(rows.getType());
    auto lin = cast<RankedTensorType>(linear.getType());
    auto out = cast<RankedTensorType>(op.getType());
    if (!flat.hasStaticShape() || !out.hasStaticShape() || out.getRank() < 2 ||
        out.getShape().back() != lin.getShape().back())
      return rewriter.notifyMatchFailure(op, "not a row unflattening");
    ArrayRef<int64_t> lead = out.getShape().drop_back();
    auto product = [](ArrayRef<int64_t> dims) {
      int64_t p = 1;
      for (int64_t d : dims)
        p *= d;
      return p;
    };
    if (product(lead) != product(flat.getShape().drop_back()))
      return rewriter.notifyMatchFailure(op, "rows do not correspond");
    SmallVector<int64_t> inShape(lead);
    inShape.push_back(flat.getShape().back());
    auto inType = RankedTensorType::get(inShape, flat.getElementType());
    Value in = rows.getInput();
    if (in.getType() != inType)
      in = ReshapeOp::create(rewriter, op.getLoc(), inType, in);
    rewriter.replaceOpWithNewOp<LinearOp>(op, out, in, linear.getWeight(),
                                          linear.getBias(),
                                          linear.getWeightTransposed());
    return success();
  }
};

/// matmul(a, transpose(b, [..., n-1, n-2])) -> matmul(a, b) {transpose_rhs}.
struct FoldTransposeIntoMatmul : OpRewritePattern<MatmulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MatmulOp op,
                                PatternRewriter &rewriter) const override {
    auto transpose = op.getRhs().getDefiningOp<TransposeOp>();
    if (!transpose || !swapsLastTwo(transpose.getPermutation()))
      return rewriter.notifyMatchFailure(op, "rhs is not a last-two transpose");
    auto rhs = cast<TypedValue<RankedTensorType>>(transpose.getInput());
    rewriter.replaceOpWithNewOp<MatmulOp>(op, op.getType(), op.getLhs(), rhs,
                                          !op.getTransposeRhs());
    return success();
  }
};

/// split_heads(x * c) -> split_heads(x) * c for a scalar c, so a scale
/// applied to a projection reaches the attention that consumes it.
struct SinkScalarMulThroughSplitHeads : OpRewritePattern<SplitHeadsOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(SplitHeadsOp op,
                                PatternRewriter &rewriter) const override {
    auto mul = op.getInput().getDefiningOp<MulOp>();
    if (!mul || !mul->hasOneUse())
      return rewriter.notifyMatchFailure(op, "input is not a single-use mul");
    for (auto [x, c] : {std::pair{mul.getLhs(), mul.getRhs()},
                        std::pair{mul.getRhs(), mul.getLhs()}}) {
      auto cType = cast<RankedTensorType>(c.getType());
      if (x.getType() != mul.getType() || cType.getNumElements() != 1 ||
          !cType.hasStaticShape() || cType.getRank() > 4)
        continue;
      Value split = SplitHeadsOp::create(rewriter, op.getLoc(), op.getType(),
                                         x, op.getHeadsAttr());
      rewriter.replaceOpWithNewOp<MulOp>(op, op.getType(), split, c);
      return success();
    }
    return rewriter.notifyMatchFailure(op, "no scalar factor");
  }
};

/// The rank-4 [B, H, X, Y] source of a reshape to [B*H, X, Y], if any.
static Value unmergedHeads(Value v) {
  auto reshape = v.getDefiningOp<ReshapeOp>();
  if (!reshape)
    return {};
  auto in = dyn_cast<RankedTensorType>(reshape.getInput().getType());
  auto out = cast<RankedTensorType>(reshape.getType());
  if (!in || in.getRank() != 4 || out.getRank() != 3 || !in.hasStaticShape() ||
      !out.hasStaticShape())
    return {};
  if (out.getDimSize(0) != in.getDimSize(0) * in.getDimSize(1) ||
      out.getDimSize(1) != in.getDimSize(2) ||
      out.getDimSize(2) != in.getDimSize(3))
    return {};
  return reshape.getInput();
}

/// matmul(reshape(a [B, H, M, K] -> [B*H, M, K]), reshape(b [B, H, K, N] ->
/// [B*H, K, N])) -> reshape(matmul(a, b) -> [B*H, M, N]): the batched
/// form exporters emit becomes the per-head form attention fusion reads.
struct LiftMergedHeadsMatmul : OpRewritePattern<MatmulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MatmulOp op,
                                PatternRewriter &rewriter) const override {
    Value a = unmergedHeads(op.getLhs()), b = unmergedHeads(op.getRhs());
    if (!a || !b)
      return rewriter.notifyMatchFailure(op, "operands are not merged heads");
    auto at = cast<RankedTensorType>(a.getType());
    auto bt = cast<RankedTensorType>(b.getType());
    if (at.getDimSize(0) != bt.getDimSize(0) ||
        at.getDimSize(1) != bt.getDimSize(1))
      return rewriter.notifyMatchFailure(op, "batch and heads differ");
    auto result = cast<RankedTensorType>(op.getType());
    auto type4 = RankedTensorType::get(
        {at.getDimSize(0), at.getDimSize(1), result.getDimSize(1),
         result.getDimSize(2)},
        result.getElementType());
    auto lhs = cast<TypedValue<RankedTensorType>>(a);
    auto rhs = cast<TypedValue<RankedTensorType>>(b);
    Value mm = MatmulOp::create(rewriter, op.getLoc(), type4, lhs, rhs,
                                op.getTransposeRhs());
    rewriter.replaceOpWithNewOp<ReshapeOp>(op, result, mm);
    return success();
  }
};

/// softmax(reshape(x), last axis) -> reshape(softmax(x, last axis)) when the
/// reshape keeps the last dimension: the normalised rows are the same.
struct SoftmaxThroughReshape : OpRewritePattern<SoftmaxOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(SoftmaxOp op,
                                PatternRewriter &rewriter) const override {
    auto reshape = op.getInput().getDefiningOp<ReshapeOp>();
    if (!reshape)
      return rewriter.notifyMatchFailure(op, "input is not a reshape");
    auto in = dyn_cast<RankedTensorType>(reshape.getInput().getType());
    auto out = op.getType();
    if (!in || in.getRank() < 1 || !isa<FloatType>(in.getElementType()) ||
        op.getAxisAttr().getInt() != out.getRank() - 1 ||
        in.getShape().back() != out.getShape().back() ||
        ShapedType::isDynamic(in.getShape().back()))
      return rewriter.notifyMatchFailure(op, "reshape changes the rows");
    auto typed = cast<TypedValue<RankedTensorType>>(reshape.getInput());
    Value sm = SoftmaxOp::create(rewriter, op.getLoc(), in, typed,
                                 rewriter.getI64IntegerAttr(in.getRank() - 1));
    rewriter.replaceOpWithNewOp<ReshapeOp>(op, out, sm);
    return success();
  }
};

/// gather_positions(linear(x)) -> linear(gather_positions(x)), and the same
/// through rms_norm: a row-wise op of the one position a sequence keeps
/// (its last prompt token's logits) is computed for that row alone, not for
/// every position of the chunk. Both ops map a zero row to a zero row (a
/// linear without bias; rms_norm), so a position outside the sequence still
/// yields zeros.
struct GatherBeforeRowwise : OpRewritePattern<GatherPositionsOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(GatherPositionsOp op,
                                PatternRewriter &rewriter) const override {
    Operation *def = op.getInput().getDefiningOp();
    if (!def || !def->hasOneUse())
      return rewriter.notifyMatchFailure(op, "input has other uses");
    auto linear = dyn_cast<LinearOp>(def);
    auto norm = dyn_cast<RMSNormOp>(def);
    if ((!linear || linear.getBias() || linear.hasEpilogue()) && !norm)
      return rewriter.notifyMatchFailure(
          op, "input is not a linear without bias or an rms_norm");
    Value rows = linear ? Value(linear.getInput()) : Value(norm.getInput());
    auto rowsType = cast<RankedTensorType>(rows.getType());
    if (rowsType.getRank() < 3)
      return rewriter.notifyMatchFailure(op, "no [batch, seq, ...] rows");
    SmallVector<int64_t> shape = {rowsType.getDimSize(0)};
    llvm::append_range(shape, rowsType.getShape().drop_front(2));
    auto gatheredType = RankedTensorType::get(shape, rowsType.getElementType());
    auto gathered = GatherPositionsOp::create(
        rewriter, op.getLoc(), gatheredType, rows, op.getPositions());
    auto result = cast<RankedTensorType>(op.getType());
    if (linear)
      rewriter.replaceOpWithNewOp<LinearOp>(op, result, gathered.getResult(),
                                            linear.getWeight(), Value(),
                                            linear.getWeightTransposed());
    else
      rewriter.replaceOpWithNewOp<RMSNormOp>(op, result, gathered.getResult(),
                                             norm.getGamma(),
                                             norm.getEpsilonAttr());
    return success();
  }
};

} // namespace

void SoftmaxOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                            MLIRContext *context) {
  results.add<SoftmaxThroughReshape>(context);
}

void SplitHeadsOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                               MLIRContext *context) {
  results.add<SinkScalarMulThroughSplitHeads>(context);
}

void TransposeOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                              MLIRContext *context) {
  results.add<ComposeTransposes, TransposeOfReshapeToSplitHeads>(context);
}

void ReshapeOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                            MLIRContext *context) {
  results.add<ComposeReshapes, ReshapeOfTransposeToMergeHeads,
              LinearThroughRowReshapes>(context);
}

void GatherPositionsOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                                    MLIRContext *context) {
  results.add<GatherBeforeRowwise>(context);
}

void MatmulOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                           MLIRContext *context) {
  results.add<FoldTransposeIntoMatmul, LiftMergedHeadsMatmul>(context);
}

