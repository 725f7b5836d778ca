//===- VerifyMasks.cpp - Check masks against what the model is ------------===//

#include "xformer/Analysis/MaskRecognition.h"
#include "xformer/IR/XformerOps.h"
#include "xformer/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/SetVector.h"

namespace mlir::xformer {
#define GEN_PASS_DEF_XFORMERVERIFYMASKS
#include "xformer/Transforms/Passes.h.inc"
} // namespace mlir::xformer

using namespace mlir;
using namespace mlir::xformer;

namespace {


std::string layerOf(AttentionOp op) {
  std::string name = attentionLayerName(op);
  return name.empty() ? std::string() : " in layer '" + name + "'";
}

std::string argNames(const llvm::SetVector<Value> &roots) {
  std::string out;
  for (Value r : roots) {
    if (!out.empty())
      out += ", ";
    out += "argument #" +
           std::to_string(cast<BlockArgument>(r).getArgNumber());
  }
  return out;
}

/// Values of a constant 1-D integer tensor.
std::optional<SmallVector<int64_t>> constantInts(Value v) {
  auto cst = v ? v.getDefiningOp<arith::ConstantOp>() : nullptr;
  if (!cst)
    return std::nullopt;
  auto dense = dyn_cast<DenseIntElementsAttr>(cst.getValue());
  if (!dense)
    return std::nullopt;
  SmallVector<int64_t> out;
  for (const APInt &x : dense.getValues<APInt>())
    out.push_back(x.getSExtValue());
  return out;
}

struct XformerVerifyMasksPass
    : mlir::xformer::impl::XformerVerifyMasksBase<XformerVerifyMasksPass> {
  void runOnOperation() override {
    bool failed = false;
    getOperation().walk([&](func::FuncOp func) {
      if (!verifyFunction(func))
        failed = true;
    });
    if (failed)
      signalPassFailure();
  }

  bool verifyFunction(func::FuncOp func) {
    auto model = func->getAttrOfType<ModelKindAttr>(
        XformerDialect::kModelAttrName);
    SmallVector<AttentionOp> attentions;
    func.walk([&](AttentionOp op) { attentions.push_back(op); });

    // The decoder's sequences: in a decoder, every self-attention's; in an
    // encoder-decoder, those that query a cross-attention.
    llvm::SetVector<Value> decoderRoots;
    bool encoderDecoder =
        model && model.getValue() == ModelKind::encoder_decoder;
    bool decoderOnly = model && model.getValue() == ModelKind::decoder;
    if (encoderDecoder)
      for (AttentionOp op : attentions)
        if (op.getMask().getKind() == MaskKind::cross)
          decoderRoots.insert_range(sequenceRoots(op.getQuery()));

    bool ok = true;
    for (AttentionOp op : attentions) {
      MaskAttr mask = op.getMask();
      MaskKind kind = mask.getKind();
      llvm::SetVector<Value> qRoots = sequenceRoots(op.getQuery());
      if (kind == MaskKind::cross) {
        ok &= checkCross(op, qRoots);
        continue;
      }
      bool isDecoderSelf =
          decoderOnly ||
          (encoderDecoder && llvm::any_of(qRoots, [&](Value r) {
             return decoderRoots.contains(r);
           }));
      if (isDecoderSelf)
        ok &= checkAutoregressive(op);
      warnLengths(op);
    }
    return ok;
  }

  bool checkCross(AttentionOp op, const llvm::SetVector<Value> &qRoots) {
    llvm::SetVector<Value> kRoots = sequenceRoots(op.getKey());
    if (kRoots.empty()) {
      op.emitError() << "cross-attention" << layerOf(op)
                     << ": its keys do not come from an input sequence (no "
                        "encoder output reaches them)";
      return false;
    }
    llvm::SetVector<Value> shared;
    for (Value r : kRoots)
      if (qRoots.contains(r))
        shared.insert(r);
    if (!shared.empty()) {
      op.emitError() << "cross-attention" << layerOf(op)
                     << ": its keys come from the queries' own sequence ("
                     << argNames(shared)
                     << "), not from the encoder; use a self-attention mask "
                        "or feed the encoder output";
      return false;
    }
    return true;
  }

  bool checkAutoregressive(AttentionOp op) {
    MaskAttr mask = op.getMask();
    auto qType = op.getQuery().getType();
    auto kType = op.getKey().getType();
    int64_t qLen = qType.getDimSize(2), kvLen = kType.getDimSize(2);
    switch (mask.getKind()) {
    case MaskKind::causal:
    case MaskKind::sliding_window:
    case MaskKind::prefix_lm:
      return true;
    case MaskKind::bidirectional: {
      auto diag = op.emitError();
      diag << "self-attention" << layerOf(op)
           << " of an autoregressive decoder is not causal: "
              "#xformer.mask<bidirectional> lets every query see later "
              "positions";
      if (!ShapedType::isDynamic(kvLen) && kvLen > 1)
        diag << " (the query at position 0 sees keys 1.." << kvLen - 1 << ")";
      return false;
    }
    case MaskKind::custom: {
      if (!qType.hasStaticShape() || !kType.hasStaticShape()) {
        op.emitError() << "self-attention" << layerOf(op)
                       << " of an autoregressive decoder has a custom mask "
                          "that cannot be checked for future positions";
        return false;
      }
      ScoreGeometry g{qType.getDimSize(0), qType.getDimSize(1), qLen, kvLen,
                      4};
      MaskTerm term{MaskTermKind::Keep, op.getMaskTensor()};
      auto grid = evaluateMaskGrid(term, g);
      if (!grid) {
        op.emitError() << "self-attention" << layerOf(op)
                       << " of an autoregressive decoder has a custom mask "
                          "that cannot be checked for future positions";
        return false;
      }
      for (int64_t i = 0; i < qLen; ++i)
        for (int64_t j = 0; j < kvLen; ++j) {
          int64_t pos = mask::queryPosition(i, qLen, kvLen);
          if (j > pos && (*grid)[i][j]) {
            op.emitError() << "self-attention" << layerOf(op)
                           << " of an autoregressive decoder is not causal: "
                              "its custom mask lets the query at position "
                           << pos << " see the key at position " << j;
            return false;
          }
        }
      return true;
    }
    case MaskKind::cross:
      return true;
    }
    return true;
  }

  void warnLengths(AttentionOp op) {
    MaskAttr mask = op.getMask();
    MaskKind kind = mask.getKind();
    auto qType = op.getQuery().getType();
    auto kType = op.getKey().getType();
    int64_t qLen = qType.getDimSize(2), kvLen = kType.getDimSize(2);
    bool positional = mask::isPositional(toSemanticKind(kind));
    if (positional && op.getKvLengths() && !op.getQLengths() &&
        (ShapedType::isDynamic(qLen) || qLen > 1))
      op.emitWarning() << stringifyMaskKind(kind) << " attention"
                       << layerOf(op)
                       << " has key lengths but no query lengths: when a "
                          "key length is below the "
                       << (ShapedType::isDynamic(qLen)
                               ? std::string("number of queries")
                               : std::to_string(qLen) + " queries")
                       << ", the first query rows see no key (fully masked "
                          "rows); pass q_lengths for right-padded sequences";
    if (kind == MaskKind::bidirectional && op.getQLengths() &&
        op.getKvLengths() && op.getQLengths() != op.getKvLengths())
      op.emitWarning() << "bidirectional self-attention" << layerOf(op)
                       << " has query and key lengths from different values";
    if (kind == MaskKind::prefix_lm && !mask.hasDynamicPrefix() &&
        !ShapedType::isDynamic(kvLen) && mask.getPrefix() >= kvLen)
      op.emitWarning() << "prefix " << mask.getPrefix() << layerOf(op)
                       << " covers every one of the " << kvLen
                       << " keys: the mask is bidirectional";
    for (auto [name, lengths, bound] :
         {std::tuple<StringRef, Value, int64_t>{"q_lengths", op.getQLengths(),
                                                qLen},
          {"kv_lengths", op.getKvLengths(), kvLen}}) {
      if (ShapedType::isDynamic(bound))
        continue;
      if (auto values = constantInts(lengths))
        for (int64_t x : *values)
          if (x < 0 || x > bound) {
            op.emitWarning() << name << " value " << x << layerOf(op)
                             << " is outside [0, " << bound << "]";
            break;
          }
    }
    if (kind == MaskKind::custom && qType.hasStaticShape() &&
        kType.hasStaticShape()) {
      ScoreGeometry g{qType.getDimSize(0), qType.getDimSize(1), qLen, kvLen,
                      4};
      MaskTerm term{MaskTermKind::Keep, op.getMaskTensor()};
      if (auto grid = evaluateMaskGrid(term, g))
        for (int64_t i = 0; i < qLen; ++i)
          if (llvm::none_of((*grid)[i], [](bool b) { return b; })) {
            op.emitWarning() << "custom mask" << layerOf(op) << ": query row "
                             << i << " sees no key (a fully masked row)";
            break;
          }
    }
  }
};

} // namespace
