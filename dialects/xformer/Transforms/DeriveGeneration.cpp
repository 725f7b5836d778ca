//===- DeriveGeneration.cpp - Prefill and decode programs of a decoder ----===//

#include "xformer/Analysis/MaskRecognition.h"
#include "xformer/IR/XformerOps.h"
#include "xformer/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/StringSet.h"

namespace mlir::xformer {
#define GEN_PASS_DEF_XFORMERDERIVEGENERATION
#include "xformer/Transforms/Passes.h.inc"
} // namespace mlir::xformer

using namespace mlir;
using namespace mlir::xformer;

namespace {

RankedTensorType tensorOf(ArrayRef<int64_t> shape, Type elt) {
  return RankedTensorType::get(shape, elt);
}

RankedTensorType typeOf(Value v) { return cast<RankedTensorType>(v.getType()); }

/// The result type of `op` (cloned from the forward function) once its
/// operands have the types of `operands`: the sequence dimension follows the
/// operands. Fails for ops whose result shape is fixed in the op (reshape,
/// broadcast) when their operand changed.
FailureOr<RankedTensorType> inferResultType(Operation *op,
                                            ArrayRef<Value> oldOperands,
                                            RankedTensorType oldResult) {
  auto shapeOfOperand = [&](unsigned i) { return typeOf(op->getOperand(i)).getShape(); };
  bool unchanged = llvm::all_of(llvm::enumerate(oldOperands), [&](auto it) {
    return it.value().getType() == op->getOperand(it.index()).getType();
  });
  if (unchanged)
    return oldResult;
  Type elt = oldResult.getElementType();
  if (isa<ReluOp, SiluOp, TanhOp, GeluOp, SoftmaxOp, CastOp, NotOp,
          LayerNormOp, RMSNormOp, RopeOp, MaskedFillOp>(op))
    return tensorOf(shapeOfOperand(0), elt);
  if (isa<AddOp, SubOp, MulOp, DivOp, CompareOp, AndOp, OrOp, SelectOp>(op)) {
    SmallVector<int64_t> shape(shapeOfOperand(0));
    for (unsigned i = 1; i < op->getNumOperands(); ++i) {
      auto merged = broadcastShapes(shape, shapeOfOperand(i));
      if (!merged)
        return failure();
      shape = *merged;
    }
    return tensorOf(shape, elt);
  }
  if (isa<EmbeddingOp>(op)) {
    SmallVector<int64_t> shape(shapeOfOperand(1));
    shape.push_back(shapeOfOperand(0)[1]);
    return tensorOf(shape, elt);
  }
  if (isa<LinearOp>(op)) {
    SmallVector<int64_t> shape(shapeOfOperand(0));
    shape.back() = oldResult.getShape().back();
    return tensorOf(shape, elt);
  }
  if (auto mm = dyn_cast<MatmulOp>(op)) {
    ArrayRef<int64_t> a = shapeOfOperand(0), b = shapeOfOperand(1);
    auto batch = broadcastShapes(a.drop_back(2), b.drop_back(2));
    if (!batch)
      return failure();
    SmallVector<int64_t> shape(*batch);
    shape.push_back(a[a.size() - 2]);
    shape.push_back(mm.getTransposeRhs() ? b[b.size() - 2] : b.back());
    return tensorOf(shape, elt);
  }
  if (auto t = dyn_cast<TransposeOp>(op)) {
    SmallVector<int64_t> shape;
    for (int64_t p : t.getPermutation())
      shape.push_back(shapeOfOperand(0)[p]);
    return tensorOf(shape, elt);
  }
  if (auto s = dyn_cast<SliceOp>(op)) {
    // Dimensions taken whole follow the operand; sliced ones keep their size.
    ArrayRef<int64_t> oldIn = typeOf(oldOperands[0]).getShape();
    SmallVector<int64_t> shape;
    for (auto [k, d] : llvm::enumerate(oldResult.getShape()))
      shape.push_back(d == oldIn[k] && s.getOffsets()[k] == 0
                          ? shapeOfOperand(0)[k]
                          : d);
    return tensorOf(shape, elt);
  }
  if (auto sh = dyn_cast<SplitHeadsOp>(op)) {
    ArrayRef<int64_t> in = shapeOfOperand(0);
    return tensorOf({in[0], oldResult.getDimSize(1), in[1],
                     oldResult.getDimSize(3)},
                    elt);
  }
  if (isa<MergeHeadsOp>(op)) {
    ArrayRef<int64_t> in = shapeOfOperand(0);
    return tensorOf({in[0], in[2], oldResult.getDimSize(2)}, elt);
  }
  if (isa<GatherPositionsOp>(op)) {
    ArrayRef<int64_t> in = shapeOfOperand(0);
    SmallVector<int64_t> shape = {in[0]};
    llvm::append_range(shape, in.drop_front(2));
    return tensorOf(shape, elt);
  }
  return failure();
}

struct XformerDeriveGenerationPass
    : mlir::xformer::impl::XformerDeriveGenerationBase<
          XformerDeriveGenerationPass> {
  using Base::Base;

  struct CacheInfo {
    KVCacheOp decl;
    int64_t capacityIfRing = 0;
  };

  func::FuncOp forward;
  int64_t batch = 0, seq = 0;
  Value forwardLengths; // A [batch] argument of the forward function.
  llvm::DenseMap<Operation *, CacheInfo> caches;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    forward = module.lookupSymbol<func::FuncOp>(functionName);
    if (!forward) {
      module.emitError() << "xformer-derive-generation: no function @"
                         << functionName << " to derive from";
      return signalPassFailure();
    }
    if (failed(checkForward()) || failed(declareCaches()))
      return signalPassFailure();
    OpBuilder b(module.getContext());
    b.setInsertionPointAfter(forward);
    if (failed(buildProgram(b, "prefill", seq, /*decode=*/false)) ||
        failed(buildProgram(b, "decode", 1, /*decode=*/true)))
      return signalPassFailure();
  }

  LogicalResult checkForward() {
    auto model = forward->getAttrOfType<ModelKindAttr>(
        XformerDialect::kModelAttrName);
    if (!model)
      return forward.emitError()
             << "xformer-derive-generation: @" << forward.getSymName()
             << " does not say what it computes; add xformer.model = "
                "#xformer.model<decoder>";
    if (model.getValue() == ModelKind::encoder)
      return forward.emitError()
             << "xformer-derive-generation: @" << forward.getSymName()
             << " is an encoder: it has no autoregressive part to decode";
    if (model.getValue() == ModelKind::encoder_decoder)
      return forward.emitError()
             << "xformer-derive-generation: encoder-decoder models are not "
                "derived yet; only decoders";
    FunctionType type = forward.getFunctionType();
    auto ids = type.getNumInputs() ? dyn_cast<RankedTensorType>(type.getInput(0))
                                   : RankedTensorType();
    if (!ids || ids.getRank() != 2 || !ids.hasStaticShape() ||
        !isa<IntegerType>(ids.getElementType()))
      return forward.emitError() << "xformer-derive-generation: the first "
                                    "argument must be token ids [batch, seq] "
                                    "with static sizes";
    batch = ids.getDimSize(0);
    seq = ids.getDimSize(1);
    for (unsigned i = 1; i < type.getNumInputs(); ++i) {
      auto t = dyn_cast<RankedTensorType>(type.getInput(i));
      if (!t || t.getRank() != 1 || t.getDimSize(0) != batch ||
          !isa<IntegerType>(t.getElementType()) || forwardLengths)
        return forward.emitError()
               << "xformer-derive-generation: argument #" << i
               << " is not the one [batch] lengths input a decoder may have";
      forwardLengths = forward.getArgument(i);
    }
    if (type.getNumResults() != 1)
      return forward.emitError() << "xformer-derive-generation: expects one "
                                    "result, the logits [batch, seq, vocab]";
    auto logits = dyn_cast<RankedTensorType>(type.getResult(0));
    if (!logits || logits.getRank() != 3 || logits.getDimSize(0) != batch ||
        logits.getDimSize(1) != seq)
      return forward.emitError() << "xformer-derive-generation: the result "
                                    "must be logits [batch, seq, vocab]";
    if (!forward.getBody().hasOneBlock())
      return forward.emitError() << "xformer-derive-generation: expects a "
                                    "single-block function";
    return success();
  }

  LogicalResult declareCaches() {
    ModuleOp module = getOperation();
    OpBuilder b(module.getContext());
    b.setInsertionPointToStart(module.getBody());
    llvm::StringSet<> used;
    int index = 0;
    WalkResult walk = forward.walk([&](AttentionOp op) -> WalkResult {
      std::string layer = attentionLayerName(op);
      MaskAttr mask = op.getMask();
      auto fail = [&](const Twine &why) {
        op.emitError() << "xformer-derive-generation: attention"
                       << (layer.empty() ? "" : " '" + layer + "'") << " "
                       << why;
        return WalkResult::interrupt();
      };
      switch (mask.getKind()) {
      case MaskKind::causal:
      case MaskKind::sliding_window:
      case MaskKind::prefix_lm:
        break;
      case MaskKind::cross:
        return fail("is a cross-attention; only decoders are derived");
      default:
        return fail("has a #xformer.mask<" +
                    stringifyMaskKind(mask.getKind()).str() +
                    "> mask, which can see later positions: it cannot be "
                    "decoded one token at a time");
      }
      if (op.getMaskTensor() || op.getSegmentIds() || op.getBias() ||
          mask.hasDynamicPrefix())
        return fail("has a custom tensor, document ids, a bias or a runtime "
                    "prefix, which decode does not carry yet");
      if (op.getQLengths() && op.getQLengths() != forwardLengths)
        return fail("has query lengths that are not the lengths input");
      RankedTensorType k = op.getKey().getType(), v = op.getValue().getType();
      if (k.getDimSize(3) != v.getDimSize(3))
        return fail("has keys and values of different head_dim");
      if (k.getDimSize(2) != seq || op.getQuery().getType().getDimSize(2) != seq)
        return fail("is not a self-attention over the whole sequence");
      std::string name = layer.empty() ? "attention." + std::to_string(index)
                                       : layer;
      while (!used.insert(name).second)
        name += "." + std::to_string(index);
      ++index;
      bool ring = mask.getKind() == MaskKind::sliding_window;
      auto decl = KVCacheOp::create(
          b, op.getLoc(), b.getStringAttr(name),
          CacheKindAttr::get(b.getContext(), ring ? CacheKind::ring : CacheKind::self),
          b.getI64IntegerAttr(k.getDimSize(1)),
          b.getI64IntegerAttr(k.getDimSize(3)),
          TypeAttr::get(k.getElementType()),
          ring ? b.getI64IntegerAttr(mask.getWindow()) : IntegerAttr(),
          ring && seq > 1 ? b.getI64IntegerAttr(seq) : IntegerAttr(),
          IntegerAttr(), IntegerAttr(), IntegerAttr());
      caches[op] = {decl, ring ? mask.getWindow() + seq - 1 : 0};
      return WalkResult::advance();
    });
    return failure(walk.wasInterrupted());
  }

  /// Builds @name over chunks of `chunk` tokens.
  LogicalResult buildProgram(OpBuilder &b, StringRef name, int64_t chunk,
                             bool decode) {
    MLIRContext *ctx = b.getContext();
    Type i64 = b.getI64Type();
    auto idsType = typeOf(forward.getArgument(0));
    auto logitsType = cast<RankedTensorType>(
        forward.getFunctionType().getResult(0));
    int64_t vocab = logitsType.getDimSize(2);
    Type elt = logitsType.getElementType();
    SmallVector<Type> inputs = {
        tensorOf({batch, chunk}, idsType.getElementType()),
        tensorOf({batch}, i64)};
    if (!decode)
      inputs.push_back(tensorOf({batch}, i64));
    Type result = !decode && allLogits ? Type(tensorOf({batch, chunk, vocab}, elt))
                                       : Type(tensorOf({batch, vocab}, elt));
    Location loc = forward.getLoc();
    auto func = func::FuncOp::create(b, loc, name,
                                     FunctionType::get(ctx, inputs, result));
    func->setAttr(XformerDialect::kModelAttrName,
                  forward->getAttr(XformerDialect::kModelAttrName));
    Block *entry = func.addEntryBlock();
    OpBuilder fb = OpBuilder::atBlockBegin(entry);
    Value ids = entry->getArgument(0);
    Value start = entry->getArgument(1);
    Value lengths;
    if (decode) {
      auto ones = DenseElementsAttr::get(tensorOf({batch}, i64),
                                         b.getI64IntegerAttr(1).getValue());
      lengths = arith::ConstantOp::create(fb, loc, ones);
    } else {
      lengths = entry->getArgument(2);
    }
    // Positions start[b] + i of the chunk, and the valid cache length.
    Value iota = PositionsOp::create(fb, loc, tensorOf({chunk}, i64), Value(),
                                     Value());
    Value row = ReshapeOp::create(fb, loc, tensorOf({1, chunk}, i64), iota);
    Value col = ReshapeOp::create(fb, loc, tensorOf({batch, 1}, i64), start);
    Value positions =
        AddOp::create(fb, loc, tensorOf({batch, chunk}, i64), col, row);
    Value kvLen = AddOp::create(fb, loc, tensorOf({batch}, i64), start, lengths);

    IRMapping map;
    map.map(forward.getArgument(0), ids);
    if (forwardLengths)
      map.map(forwardLengths, lengths);
    for (Operation &op : forward.getBody().front()) {
      if (auto ret = dyn_cast<func::ReturnOp>(op)) {
        Value logits = map.lookup(ret.getOperand(0));
        Value out;
        if (decode) {
          out = ReshapeOp::create(fb, loc, result, logits);
        } else if (allLogits) {
          out = logits;
        } else {
          auto one = DenseElementsAttr::get(tensorOf({batch}, i64),
                                            b.getI64IntegerAttr(1).getValue());
          Value last = SubOp::create(fb, loc, tensorOf({batch}, i64), lengths,
                                     arith::ConstantOp::create(fb, loc, one));
          out = GatherPositionsOp::create(fb, loc, result, logits, last);
        }
        func::ReturnOp::create(fb, loc, out);
        continue;
      }
      if (auto pos = dyn_cast<PositionsOp>(op)) {
        if (pos.getOffset() || pos.getSize() ||
            pos.getType().getDimSize(0) != seq) {
          pos.emitError("xformer-derive-generation: positions that are not "
                        "the sequence's [0, seq) cannot be re-based");
          return failure();
        }
        Value p = positions;
        if (pos.getType().getElementType() != i64)
          p = CastOp::create(fb, loc,
                             tensorOf({batch, chunk},
                                      pos.getType().getElementType()),
                             positions);
        map.map(pos.getResult(), p);
        continue;
      }
      if (auto att = dyn_cast<AttentionOp>(op)) {
        CacheInfo cache = caches.lookup(&op);
        Value q = map.lookup(att.getQuery());
        Value k = map.lookup(att.getKey());
        Value v = map.lookup(att.getValue());
        auto sym = FlatSymbolRefAttr::get(cache.decl.getSymNameAttr());
        CacheAppendOp::create(fb, att.getLoc(), sym, k, v, start, lengths);
        RankedTensorType kt = typeOf(k);
        auto cacheType = tensorOf({batch, kt.getDimSize(1), ShapedType::kDynamic,
                                   kt.getDimSize(3)},
                                  kt.getElementType());
        auto read = CacheReadOp::create(fb, att.getLoc(), cacheType, cacheType,
                                        sym);
        Value visible = kvLen;
        if (cache.capacityIfRing) {
          // A ring holds its last `capacity` positions.
          auto capAttr = DenseElementsAttr::get(
              tensorOf({}, i64),
              b.getI64IntegerAttr(cache.capacityIfRing).getValue());
          Value cap = arith::ConstantOp::create(fb, loc, capAttr);
          Value below = CompareOp::create(fb, loc, tensorOf({batch}, b.getI1Type()),
                                          ComparePredicate::lt, kvLen, cap);
          visible = SelectOp::create(fb, loc, tensorOf({batch}, i64), below,
                                     kvLen, cap);
        }
        RankedTensorType qt = typeOf(q);
        auto outType = tensorOf({qt.getDimSize(0), qt.getDimSize(1),
                                 qt.getDimSize(2),
                                 typeOf(v).getDimSize(3)},
                                att.getType().getElementType());
        Value out = AttentionOp::create(
            fb, att.getLoc(), outType, q, read.getKey(), read.getValue(),
            lengths, visible, Value(), Value(), Value(), Value(),
            att.getMask(), att.getScaleAttr());
        map.map(att.getResult(), out);
        continue;
      }
      SmallVector<Value> oldOperands(op.getOperands());
      Operation *clone = fb.clone(op, map);
      for (auto [oldResult, newResult] :
           llvm::zip_equal(op.getResults(), clone->getResults())) {
        auto oldType = dyn_cast<RankedTensorType>(oldResult.getType());
        if (!oldType)
          continue;
        FailureOr<RankedTensorType> type =
            inferResultType(clone, oldOperands, oldType);
        if (failed(type)) {
          op.emitError() << "xformer-derive-generation: cannot re-type '"
                         << op.getName() << "' for a chunk of " << chunk
                         << " tokens";
          return failure();
        }
        newResult.setType(*type);
      }
    }
    return success();
  }
};

} // namespace
