//===- DeriveGeneration.cpp - Prefill and decode programs of a decoder ----===//

#include "xformer/Analysis/MaskRecognition.h"
#include "xformer/IR/XformerOps.h"
#include "xformer/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/StringSet.h"
#include <functional>

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

/// An i64 tensor constant of `shape` filled with `value`.
Value i64Splat(OpBuilder &b, Location loc, ArrayRef<int64_t> shape,
               int64_t value) {
  return arith::ConstantOp::create(
      b, loc,
      DenseElementsAttr::get(tensorOf(shape, b.getI64Type()),
                             b.getI64IntegerAttr(value).getValue()));
}

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
  // A cast's and an embedding's element type is the op's choice, not its
  // operands'.
  if (isa<CastOp>(op))
    return tensorOf(shapeOfOperand(0), elt);
  if (isa<EmbeddingOp>(op)) {
    SmallVector<int64_t> shape(shapeOfOperand(1));
    shape.push_back(shapeOfOperand(0)[1]);
    return tensorOf(shape, elt);
  }
  // Ops whose result follows from their operands say so themselves
  // (elementwise and broadcasting ops, norms, softmax, RoPE, linear, glu,
  // matmul, transpose, head splits and merges, gathers).
  if (auto infer = dyn_cast<InferTypeOpInterface>(op)) {
    SmallVector<Type> types;
    if (failed(infer.inferReturnTypes(
            op->getContext(), op->getLoc(), op->getOperands(),
            op->getAttrDictionary(), op->getPropertiesStorage(),
            op->getRegions(), types)) ||
        types.size() != 1)
      return failure();
    auto inferred = dyn_cast<RankedTensorType>(types.front());
    if (!inferred)
      return failure();
    return tensorOf(inferred.getShape(), elt);
  }
  if (auto att = dyn_cast<AttentionOp>(op)) {
    // [batch, heads, queries, the values' head_dim].
    SmallVector<int64_t> shape(att.getQuery().getType().getShape());
    shape[3] = att.getValue().getType().getDimSize(3);
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
  if (isa<ReshapeOp>(op)) {
    // Reshapes that only add or drop unit dimensions (the position and
    // mask rows exporters write): each non-unit dimension follows its
    // operand dimension, paired in order on the old shapes.
    ArrayRef<int64_t> oldIn = typeOf(oldOperands[0]).getShape();
    ArrayRef<int64_t> newIn = shapeOfOperand(0);
    // Positions [seq] become per-sequence [batch, chunk]; a reshape that
    // gave them a leading unit (batch) dimension now keeps the batch.
    if (newIn.size() == oldIn.size() + 1 &&
        oldResult.getRank() == static_cast<int64_t>(newIn.size()) &&
        oldResult.getDimSize(0) == 1 &&
        oldResult.getShape().drop_front() == oldIn)
      return tensorOf(newIn, elt);
    SmallVector<unsigned> inDims, outDims;
    for (auto [k, d] : llvm::enumerate(oldIn))
      if (d != 1)
        inDims.push_back(k);
    for (auto [k, d] : llvm::enumerate(oldResult.getShape()))
      if (d != 1)
        outDims.push_back(k);
    if (inDims.size() != outDims.size() || newIn.size() != oldIn.size())
      return failure();
    SmallVector<int64_t> shape(oldResult.getShape());
    for (auto [i, o] : llvm::zip(inDims, outDims)) {
      if (oldIn[i] != shape[o])
        return failure();
      shape[o] = newIn[i];
    }
    return tensorOf(shape, elt);
  }
  if (isa<BroadcastOp>(op)) {
    // Dimensions the broadcast stretched keep their size; the others
    // follow the operand (trailing dimensions align).
    ArrayRef<int64_t> oldIn = typeOf(oldOperands[0]).getShape();
    ArrayRef<int64_t> newIn = shapeOfOperand(0);
    SmallVector<int64_t> shape(oldResult.getShape());
    size_t lead = shape.size() - oldIn.size();
    for (auto [k, d] : llvm::enumerate(oldIn))
      if (d == shape[lead + k])
        shape[lead + k] = newIn[k];
    return tensorOf(shape, elt);
  }
  return failure();
}

struct XformerDeriveGenerationPass
    : mlir::xformer::impl::XformerDeriveGenerationBase<
          XformerDeriveGenerationPass> {
  using Base::Base;

  /// Which inputs a forward value depends on.
  enum Dep : unsigned { Free = 0, Source = 1, Target = 2 };

  struct CacheInfo {
    KVCacheOp decl;
    int64_t capacityIfRing = 0;
  };

  func::FuncOp forward;
  bool encoderDecoder = false;
  int64_t batch = 0, seq = 0;
  BlockArgument targetIds;                // decoder token ids [batch, seq]
  Value forwardLengths;                   // decoder-only: [batch] lengths
  llvm::SetVector<BlockArgument> sources; // encoder-decoder: encoder inputs
  llvm::DenseMap<Operation *, unsigned> deps;
  llvm::DenseMap<Operation *, CacheInfo> caches;

  unsigned depOf(Value v) {
    if (auto arg = dyn_cast<BlockArgument>(v))
      return arg == targetIds || arg == forwardLengths ? Target
             : sources.contains(arg)                   ? Source
                                                       : Free;
    return deps.lookup(v.getDefiningOp());
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    forward = module.lookupSymbol<func::FuncOp>(functionName);
    if (!forward) {
      module.emitError() << "xformer-derive-generation: no function @"
                         << functionName << " to derive from";
      return signalPassFailure();
    }
    if (failed(checkForward()))
      return signalPassFailure();
    for (Operation &op : forward.getBody().front()) {
      unsigned d = Free;
      for (Value operand : op.getOperands())
        d |= depOf(operand);
      deps[&op] = d;
    }
    if (failed(declareCaches()))
      return signalPassFailure();
    if (verifyChunk < 0 || verifyChunk > seq) {
      forward.emitError() << "xformer-derive-generation: verify-chunk="
                          << int64_t(verifyChunk)
                          << " must be between 0 and the prefill chunk ("
                          << seq << ")";
      return signalPassFailure();
    }
    FailureOr<SmallVector<int64_t>> counts = parseRowCounts();
    if (failed(counts))
      return signalPassFailure();
    OpBuilder b(module.getContext());
    b.setInsertionPointAfter(forward);
    if (failed(buildPrograms(b, batch, "")))
      return signalPassFailure();
    for (int64_t rows : *counts)
      buildFewerRows(b, rows);
  }

  /// The programs of one row count: @encode, @prefill, @decode and @verify
  /// with `suffix` appended to their names.
  LogicalResult buildPrograms(OpBuilder &b, int64_t rows, StringRef suffix) {
    if (encoderDecoder && failed(buildEncode(b, ("encode" + suffix).str(), rows)))
      return failure();
    if (failed(buildProgram(b, ("prefill" + suffix).str(), rows, seq,
                            /*decode=*/false, allLogits)) ||
        failed(buildProgram(b, ("decode" + suffix).str(), rows, 1,
                            /*decode=*/true, false)))
      return failure();
    if (verifyChunk > 0 &&
        failed(buildProgram(b, ("verify" + suffix).str(), rows, verifyChunk,
                            /*decode=*/false, /*everyPosition=*/true)))
      return failure();
    return success();
  }

  /// The row counts of `row-counts`, each below the batch, descending.
  FailureOr<SmallVector<int64_t>> parseRowCounts() {
    SmallVector<int64_t> counts;
    StringRef spec = StringRef(rowCounts).trim();
    if (spec == "none")
      return counts;
    if (spec == "auto") {
      for (int64_t r = 1; r < batch; r *= 2)
        counts.push_back(r);
    } else {
      SmallVector<StringRef> parts;
      spec.split(parts, ',');
      for (StringRef part : parts) {
        int64_t r = 0;
        if (part.trim().getAsInteger(10, r) || r < 1 || r > batch) {
          forward.emitError()
              << "xformer-derive-generation: row-counts='" << rowCounts
              << "': '" << part.trim()
              << "' is not a row count from 1 to the model's batch ("
              << batch << "); give 'auto', 'none' or a list such as '1,2'";
          return failure();
        }
        if (r < batch && !llvm::is_contained(counts, r))
          counts.push_back(r);
      }
    }
    llvm::sort(counts, std::greater<int64_t>());
    return counts;
  }

  /// The programs buildPrograms made with `suffix` (those it got to).
  SmallVector<func::FuncOp> programs(StringRef suffix) {
    SmallVector<func::FuncOp> found;
    for (StringRef name : {"encode", "prefill", "decode", "verify"})
      if (auto f = getOperation().lookupSymbol<func::FuncOp>(
              (name + suffix).str()))
        found.push_back(f);
    return found;
  }

  /// The programs over the first `rows` sequences (names suffixed _r<rows>),
  /// which a call whose sequences all sit in those rows runs instead of the
  /// whole batch. A model whose ops cannot be re-typed to fewer rows (a
  /// constant of the batch's shape) keeps only the whole batch's programs,
  /// with a warning saying why.
  void buildFewerRows(OpBuilder &b, int64_t rows) {
    ModuleOp module = getOperation();
    std::string suffix = "_r" + std::to_string(rows);
    std::string why;
    Operation *last = b.getInsertionBlock()->empty()
                          ? nullptr
                          : &*std::prev(b.getInsertionPoint());
    LogicalResult built = success();
    {
      ScopedDiagnosticHandler capture(
          module.getContext(), [&](Diagnostic &diag) {
            if (diag.getSeverity() != DiagnosticSeverity::Error)
              return failure();
            if (why.empty())
              why = diag.str();
            return success();
          });
      built = buildPrograms(b, rows, suffix);
      for (func::FuncOp f : programs(suffix))
        if (succeeded(built) && failed(verify(f)))
          built = failure();
    }
    if (succeeded(built))
      return;
    for (func::FuncOp f : programs(suffix))
      f.erase();
    b.setInsertionPointAfter(last ? last : forward.getOperation());
    mlir::emitWarning(forward.getLoc())
        << "xformer-derive-generation: no programs over "
                          << rows << " of the " << batch
                          << " rows (every call computes all of them): "
                          << why;
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
    encoderDecoder = model.getValue() == ModelKind::encoder_decoder;
    if (!forward.getBody().hasOneBlock())
      return forward.emitError() << "xformer-derive-generation: expects a "
                                    "single-block function";

    // The decoder's token ids: the first argument of a decoder; the input
    // sequence of the cross-attention queries in an encoder-decoder.
    if (encoderDecoder) {
      AttentionOp cross;
      forward.walk([&](AttentionOp op) {
        if (!cross && op.getMask().getKind() == MaskKind::cross)
          cross = op;
      });
      if (!cross)
        return forward.emitError()
               << "xformer-derive-generation: an encoder-decoder needs a "
                  "cross-attention to tell its decoder from its encoder";
      llvm::SetVector<Value> roots = sequenceRoots(cross.getQuery());
      if (roots.size() != 1)
        return forward.emitError()
               << "xformer-derive-generation: the cross-attention queries "
                  "must come from one input, the decoder's token ids";
      targetIds = cast<BlockArgument>(roots.front());
      for (BlockArgument arg : forward.getArguments())
        if (arg != targetIds)
          sources.insert(arg);
    } else {
      targetIds = forward.getArgument(0);
    }
    auto ids = dyn_cast<RankedTensorType>(targetIds.getType());
    if (!ids || ids.getRank() != 2 || !ids.hasStaticShape() ||
        !isa<IntegerType>(ids.getElementType()))
      return forward.emitError() << "xformer-derive-generation: the decoder's "
                                    "token ids must be [batch, seq] with "
                                    "static sizes";
    batch = ids.getDimSize(0);
    seq = ids.getDimSize(1);
    if (!encoderDecoder) {
      for (unsigned i = 1; i < forward.getNumArguments(); ++i) {
        auto t = dyn_cast<RankedTensorType>(forward.getArgument(i).getType());
        if (!t || t.getRank() != 1 || t.getDimSize(0) != batch ||
            !isa<IntegerType>(t.getElementType()) || forwardLengths)
          return forward.emitError()
                 << "xformer-derive-generation: argument #" << i
                 << " is not the one [batch] lengths input a decoder may "
                    "have";
        forwardLengths = forward.getArgument(i);
      }
    }
    return success();
  }

  /// The one forward result that depends on the decoder: its logits.
  FailureOr<unsigned> logitsIndex() {
    auto ret = cast<func::ReturnOp>(forward.getBody().front().getTerminator());
    std::optional<unsigned> found;
    for (auto [i, v] : llvm::enumerate(ret.getOperands())) {
      if (!(depOf(v) & Target))
        continue;
      auto t = dyn_cast<RankedTensorType>(v.getType());
      if (found || !t || t.getRank() != 3 || t.getDimSize(0) != batch ||
          t.getDimSize(1) != seq)
        return forward.emitError()
               << "xformer-derive-generation: expects one decoder result, "
                  "the logits [batch, seq, vocab]";
      found = i;
    }
    if (!found)
      return forward.emitError() << "xformer-derive-generation: no result "
                                    "depends on the decoder's tokens";
    return *found;
  }

  LogicalResult declareCaches() {
    ModuleOp module = getOperation();
    OpBuilder b(module.getContext());
    b.setInsertionPointToStart(module.getBody());
    llvm::StringSet<> used;
    int index = 0;
    WalkResult walk = forward.walk([&](AttentionOp op) -> WalkResult {
      if (!(deps.lookup(op) & Target))
        return WalkResult::advance(); // the encoder's: runs once, no cache
      std::string layer = attentionLayerName(op);
      MaskAttr mask = op.getMask();
      auto fail = [&](const Twine &why) {
        op.emitError() << "xformer-derive-generation: attention"
                       << (layer.empty() ? "" : " '" + layer + "'") << " "
                       << why;
        return WalkResult::interrupt();
      };
      bool cross = mask.getKind() == MaskKind::cross;
      switch (mask.getKind()) {
      case MaskKind::causal:
      case MaskKind::sliding_window:
      case MaskKind::prefix_lm:
        break;
      case MaskKind::cross:
        if (!encoderDecoder)
          return fail("is a cross-attention in a decoder-only model");
        if (depOf(op.getKey()) & Target || depOf(op.getValue()) & Target)
          return fail("is a cross-attention whose keys depend on the "
                      "decoder");
        break;
      case MaskKind::custom:
        // An explicit mask fusion did not prove a kind: not necessarily one
        // that sees later positions (a causal mask past the proof's size
        // budget stays explicit too).
        return fail("has an explicit mask (#xformer.mask<custom>) that "
                    "--xformer-fuse-attention did not prove causal, "
                    "sliding-window or prefix-LM (it proves masks of at "
                    "most 2^26 evaluated elements; export a shorter "
                    "sequence): decode needs one of those kinds");
      default:
        return fail("has a #xformer.mask<" +
                    stringifyMaskKind(mask.getKind()).str() +
                    "> mask, which can see later positions: it cannot be "
                    "decoded one token at a time");
      }
      if (Value bias = op.getBias()) {
        // T5's relative position bias is recomputed for each chunk from the
        // positions; other biases are fixed to the whole sequence.
        auto rel = bias.getDefiningOp<RelativePositionBiasOp>();
        if (!rel || cross || !rel.getQueryPositions().getDefiningOp<PositionsOp>() ||
            !rel.getKeyPositions().getDefiningOp<PositionsOp>())
          return fail("has an additive bias that is not a relative position "
                      "bias of the positions: decode cannot recompute it");
      }
      if (op.getMaskTensor() || op.getSegmentIds() || mask.hasDynamicPrefix())
        return fail("has a custom tensor, document ids or a runtime prefix, "
                    "which decode does not carry yet");
      if (op.getQLengths() && op.getQLengths() != forwardLengths)
        return fail("has query lengths that are not the lengths input");
      RankedTensorType k = op.getKey().getType(), v = op.getValue().getType();
      if (k.getDimSize(3) != v.getDimSize(3))
        return fail("has keys and values of different head_dim");
      if (op.getQuery().getType().getDimSize(2) != seq ||
          (!cross && k.getDimSize(2) != seq))
        return fail("is not an attention over the whole sequence");
      std::string name = layer.empty() ? "attention." + std::to_string(index)
                                       : layer;
      while (!used.insert(name).second)
        name += "." + std::to_string(index);
      ++index;
      bool ring = mask.getKind() == MaskKind::sliding_window;
      CacheKind kind = cross ? CacheKind::cross
                       : ring ? CacheKind::ring
                              : CacheKind::self;
      auto decl = KVCacheOp::create(
          b, op.getLoc(), b.getStringAttr(name),
          CacheKindAttr::get(b.getContext(), kind),
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

  /// Maps forward values into a program: arguments and values already
  /// computed map directly; weights and constants are cloned where first
  /// needed; positions are re-based by `positions`.
  struct Cloner {
    OpBuilder &b;
    IRMapping map;
    Value positions; // re-based positions [batch, chunk], or null: clone
    int64_t seq;

    /// Whether an op depends on no input (weights, constants, positions
    /// and what is computed from them only).
    std::function<bool(Operation *)> isFree;

    FailureOr<Value> get(Value old) {
      if (Value v = map.lookupOrNull(old))
        return v;
      Operation *def = old.getDefiningOp();
      if (!def || def->getNumResults() != 1 || !isFree(def))
        return failure();
      if (def->getNumOperands() != 0) {
        // Computed from free values only (BART's positions + 2): clone it
        // where it is first needed.
        if (failed(cloneRetyped(*def, seq)))
          return failure();
        return map.lookup(old);
      }
      if (auto pos = dyn_cast<PositionsOp>(def); pos && positions) {
        if (pos.getOffset() || pos.getSize() ||
            pos.getType().getDimSize(0) != seq)
          return failure();
        Value p = positions;
        Type elt = pos.getType().getElementType();
        if (elt != cast<RankedTensorType>(p.getType()).getElementType())
          p = CastOp::create(
              b, pos.getLoc(),
              tensorOf(cast<RankedTensorType>(p.getType()).getShape(), elt),
              p);
        map.map(old, p);
        return p;
      }
      Operation *clone = b.clone(*def);
      map.map(old, clone->getResult(0));
      return clone->getResult(0);
    }

    /// Clones `op` with re-typed results.
    LogicalResult cloneRetyped(Operation &op, int64_t chunk) {
      for (Value operand : op.getOperands())
        if (failed(get(operand)))
          return op.emitError() << "xformer-derive-generation: an operand of '"
                                << op.getName()
                                << "' is not available in this program";
      SmallVector<Value> oldOperands(op.getOperands());
      Operation *clone = b.clone(op, map);
      for (auto [oldResult, newResult] :
           llvm::zip_equal(op.getResults(), clone->getResults())) {
        auto oldType = dyn_cast<RankedTensorType>(oldResult.getType());
        if (!oldType)
          continue;
        FailureOr<RankedTensorType> type =
            inferResultType(clone, oldOperands, oldType);
        if (failed(type))
          return op.emitError() << "xformer-derive-generation: cannot re-type '"
                                << op.getName() << "' for a chunk of " << chunk
                                << " tokens";
        newResult.setType(*type);
      }
      return success();
    }
  };

  std::function<bool(Operation *)> isFreeFn() {
    return [this](Operation *op) { return deps.lookup(op) == Free; };
  }

  /// The valid source length of a cross-attention in a derived program:
  /// its key lengths mapped in, or the forward function's static source
  /// length when it has none.
  FailureOr<Value> crossLengths(Cloner &c, AttentionOp att, int64_t rows) {
    if (Value kl = att.getKvLengths()) {
      FailureOr<Value> mapped = c.get(kl);
      if (failed(mapped))
        att.emitError("xformer-derive-generation: cross-attention key "
                      "lengths are not an encoder input");
      return mapped;
    }
    return i64Splat(c.b, att.getLoc(), {rows},
                    att.getKey().getType().getDimSize(2));
  }

  /// `t` with its leading (batch) dimension `rows`.
  Type withRows(Type t, int64_t rows) {
    auto ranked = dyn_cast<RankedTensorType>(t);
    if (!ranked || ranked.getRank() == 0 || ranked.getDimSize(0) != batch)
      return t;
    SmallVector<int64_t> shape(ranked.getShape());
    shape[0] = rows;
    return tensorOf(shape, ranked.getElementType());
  }

  /// @encode (named `name`, over the first `rows` sequences): the encoder
  /// once, and the cross-attention K/V into their static caches.
  LogicalResult buildEncode(OpBuilder &b, StringRef name, int64_t rows) {
    MLIRContext *ctx = b.getContext();
    auto ret = cast<func::ReturnOp>(forward.getBody().front().getTerminator());
    SmallVector<Type> inputs;
    for (BlockArgument arg : sources) {
      auto t = dyn_cast<RankedTensorType>(arg.getType());
      if (!t || t.getRank() == 0 || t.getDimSize(0) != batch)
        return forward.emitError()
               << "xformer-derive-generation: encoder input #"
               << arg.getArgNumber()
               << " does not lead with the batch dimension (" << batch << ")";
      inputs.push_back(withRows(t, rows));
    }
    SmallVector<Value> outs;
    for (Value v : ret.getOperands())
      if (depOf(v) == Source)
        outs.push_back(v);
    Location loc = forward.getLoc();
    auto func = func::FuncOp::create(b, loc, name,
                                     FunctionType::get(ctx, inputs, {}));
    func->setAttr(XformerDialect::kModelAttrName,
                  forward->getAttr(XformerDialect::kModelAttrName));
    Block *entry = func.addEntryBlock();
    OpBuilder fb = OpBuilder::atBlockBegin(entry);
    Cloner c{fb, {}, Value(), seq, isFreeFn()};
    for (auto [i, arg] : llvm::enumerate(sources))
      c.map.map(arg, entry->getArgument(i));
    for (Operation &op : forward.getBody().front()) {
      if (isa<func::ReturnOp>(op) || deps.lookup(&op) != Source ||
          op.getNumOperands() == 0)
        continue;
      if (failed(c.cloneRetyped(op, seq)))
        return failure();
    }
    // Cross K/V into the caches, at positions [0, source length).
    for (Operation &op : forward.getBody().front()) {
      auto att = dyn_cast<AttentionOp>(op);
      if (!att || att.getMask().getKind() != MaskKind::cross)
        continue;
      CacheInfo info = caches.lookup(&op);
      FailureOr<Value> k = c.get(att.getKey()), v = c.get(att.getValue());
      if (failed(k) || failed(v))
        return att.emitError("xformer-derive-generation: cross-attention "
                             "keys are not computed by the encoder");
      Value zero = i64Splat(fb, loc, {rows}, 0);
      Value lengths;
      if (att.getKvLengths()) {
        FailureOr<Value> mapped = crossLengths(c, att, rows);
        if (failed(mapped))
          return failure();
        lengths = *mapped;
      }
      CacheAppendOp::create(fb, att.getLoc(),
                            FlatSymbolRefAttr::get(info.decl.getSymNameAttr()),
                            *k, *v, zero, lengths);
    }
    SmallVector<Value> mapped;
    SmallVector<Type> results;
    for (Value v : outs) {
      mapped.push_back(c.map.lookup(v));
      results.push_back(mapped.back().getType());
    }
    func::ReturnOp::create(fb, loc, mapped);
    func.setType(FunctionType::get(ctx, inputs, results));
    b.setInsertionPointAfter(func);
    return success();
  }

  /// Builds @name over chunks of `chunk` tokens of the first `rows`
  /// sequences.
  LogicalResult buildProgram(OpBuilder &b, StringRef name, int64_t rows,
                             int64_t chunk, bool decode, bool everyPosition) {
    MLIRContext *ctx = b.getContext();
    Type i64 = b.getI64Type();
    FailureOr<unsigned> resultIndex = logitsIndex();
    if (failed(resultIndex))
      return failure();
    auto ret = cast<func::ReturnOp>(forward.getBody().front().getTerminator());
    auto logitsType = cast<RankedTensorType>(
        ret.getOperand(*resultIndex).getType());
    int64_t vocab = logitsType.getDimSize(2);
    Type elt = logitsType.getElementType();
    // Encoder inputs the decoder reads directly (the source lengths of a
    // cross-attention).
    llvm::SetVector<BlockArgument> direct;
    for (Operation &op : forward.getBody().front())
      if (deps.lookup(&op) & Target)
        for (Value operand : op.getOperands())
          if (auto arg = dyn_cast<BlockArgument>(operand);
              arg && sources.contains(arg))
            direct.insert(arg);

    SmallVector<Type> inputs = {
        tensorOf({rows, chunk},
                 cast<RankedTensorType>(targetIds.getType()).getElementType()),
        tensorOf({rows}, i64)};
    if (!decode)
      inputs.push_back(tensorOf({rows}, i64));
    for (BlockArgument arg : direct)
      inputs.push_back(withRows(arg.getType(), rows));
    Type result = !decode && everyPosition
                      ? Type(tensorOf({rows, chunk, vocab}, elt))
                      : Type(tensorOf({rows, vocab}, elt));
    Location loc = forward.getLoc();
    auto func = func::FuncOp::create(b, loc, name,
                                     FunctionType::get(ctx, inputs, result));
    func->setAttr(XformerDialect::kModelAttrName,
                  forward->getAttr(XformerDialect::kModelAttrName));
    b.setInsertionPointAfter(func);
    Block *entry = func.addEntryBlock();
    OpBuilder fb = OpBuilder::atBlockBegin(entry);
    Value ids = entry->getArgument(0);
    Value start = entry->getArgument(1);
    unsigned next = decode ? 2 : 3;
    Value lengths;
    if (decode) {
      lengths = i64Splat(fb, loc, {rows}, 1);
    } else {
      lengths = entry->getArgument(2);
    }
    // Positions start[b] + i of the chunk, and the valid cache length.
    Value iota = PositionsOp::create(fb, loc, tensorOf({chunk}, i64), Value(),
                                     Value());
    Value row = ReshapeOp::create(fb, loc, tensorOf({1, chunk}, i64), iota);
    Value col = ReshapeOp::create(fb, loc, tensorOf({rows, 1}, i64), start);
    Value positions =
        AddOp::create(fb, loc, tensorOf({rows, chunk}, i64), col, row);
    Value kvLen = AddOp::create(fb, loc, tensorOf({rows}, i64), start, lengths);

    Cloner c{fb, {}, positions, seq, isFreeFn()};
    c.map.map(targetIds, ids);
    if (forwardLengths)
      c.map.map(forwardLengths, lengths);
    for (auto [i, arg] : llvm::enumerate(direct))
      c.map.map(arg, entry->getArgument(next + i));

    for (Operation &op : forward.getBody().front()) {
      if (auto r = dyn_cast<func::ReturnOp>(op)) {
        Value logits = c.map.lookup(r.getOperand(*resultIndex));
        Value out;
        if (decode) {
          out = ReshapeOp::create(fb, loc, result, logits);
        } else if (everyPosition) {
          out = logits;
        } else {
          Value last = SubOp::create(fb, loc, tensorOf({rows}, i64), lengths,
                                     i64Splat(fb, loc, {rows}, 1));
          out = GatherPositionsOp::create(fb, loc, result, logits, last);
        }
        func::ReturnOp::create(fb, loc, out);
        continue;
      }
      if (!(deps.lookup(&op) & Target))
        continue; // the encoder's, or a weight cloned where needed
      auto att = dyn_cast<AttentionOp>(op);
      if (!att) {
        if (failed(c.cloneRetyped(op, chunk)))
          return failure();
        continue;
      }
      CacheInfo cache = caches.lookup(&op);
      auto sym = FlatSymbolRefAttr::get(cache.decl.getSymNameAttr());
      FailureOr<Value> q = c.get(att.getQuery());
      if (failed(q))
        return att.emitError("xformer-derive-generation: queries unavailable");
      bool cross = att.getMask().getKind() == MaskKind::cross;
      RankedTensorType kOld = att.getKey().getType();
      auto cacheType = tensorOf({rows, kOld.getDimSize(1), ShapedType::kDynamic,
                                 kOld.getDimSize(3)},
                                kOld.getElementType());
      Value visible = kvLen;
      if (cross) {
        // Written once by @encode; the source lengths come in directly, or
        // are the forward function's static source length.
        FailureOr<Value> mapped = crossLengths(c, att, rows);
        if (failed(mapped))
          return failure();
        visible = *mapped;
      } else {
        FailureOr<Value> k = c.get(att.getKey()), v = c.get(att.getValue());
        if (failed(k) || failed(v))
          return att.emitError("xformer-derive-generation: keys unavailable");
        CacheAppendOp::create(fb, att.getLoc(), sym, *k, *v, start, lengths);
        if (cache.capacityIfRing) {
          // A ring holds its last `capacity` positions.
          Value cap = i64Splat(fb, loc, {}, cache.capacityIfRing);
          Value below =
              CompareOp::create(fb, loc, tensorOf({rows}, fb.getI1Type()),
                                ComparePredicate::lt, kvLen, cap);
          visible = SelectOp::create(fb, loc, tensorOf({rows}, i64), below,
                                     kvLen, cap);
        }
      }
      auto read = CacheReadOp::create(fb, att.getLoc(), cacheType, cacheType,
                                      sym);
      RankedTensorType qt = typeOf(*q);
      auto outType = tensorOf({qt.getDimSize(0), qt.getDimSize(1),
                               qt.getDimSize(2),
                               att.getValue().getType().getDimSize(3)},
                              att.getType().getElementType());
      Value bias;
      if (auto rel = att.getBias()
                         ? att.getBias().getDefiningOp<RelativePositionBiasOp>()
                         : RelativePositionBiasOp()) {
        // Queries at their chunk positions, keys at 0 .. cache length - 1.
        FailureOr<Value> table = c.get(rel.getTable());
        FailureOr<Value> qpos = c.get(rel.getQueryPositions());
        if (failed(table) || failed(qpos))
          return att.emitError("xformer-derive-generation: cannot rebuild the "
                               "relative position bias");
        Value two = arith::ConstantIndexOp::create(fb, loc, 2);
        Value keys = tensor::DimOp::create(fb, loc, read.getKey(), two);
        Type posElt = typeOf(*qpos).getElementType();
        Value kpos = PositionsOp::create(
            fb, loc, tensorOf({ShapedType::kDynamic}, posElt), Value(), keys);
        RankedTensorType relType = rel.getType();
        bias = RelativePositionBiasOp::create(
            fb, rel.getLoc(),
            tensorOf({rows, relType.getDimSize(1), chunk, ShapedType::kDynamic},
                     relType.getElementType()),
            *table, *qpos, kpos, rel.getNumBucketsAttr(),
            rel.getMaxDistanceAttr(), rel.getBidirectionalAttr());
      }
      Value out = AttentionOp::create(
          fb, att.getLoc(), outType, *q, read.getKey(), read.getValue(),
          lengths, visible, Value(), Value(), bias, Value(), att.getMask(),
          att.getScaleAttr());
      c.map.map(att.getResult(), out);
    }
    return success();
  }
};

} // namespace
