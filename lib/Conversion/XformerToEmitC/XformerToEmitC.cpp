//===- XformerToEmitC.cpp - Lower a compiled model to EmitC ---------------===//
//
// Every function of the module is straight-line code over tensors with
// static shapes (sizes resolved by the scratch plan), so lowering needs no
// control flow: each op becomes kernel calls whose sizes are literals, each
// intermediate tensor a pointer into one scratch buffer at the offset
// --xformer-plan-scratch gave it. The functions become emitc.funcs taking
// the runtime's frame, their inputs and outputs (xfm_entry); the module's
// weights, caches and functions become the tables of the `xformer_model`
// descriptor (xformer/Runtime/ModelABI.h).
//
//===----------------------------------------------------------------------===//

#include "xformer/Conversion/XformerToEmitC/XformerToEmitC.h"
#include "xformer/Conversion/Passes.h"

#include "Lowering.h"

#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <map>

namespace mlir::xformer {
#define GEN_PASS_DEF_CONVERTXFORMERTOEMITC
#include "xformer/Conversion/Passes.h.inc"
} // namespace mlir::xformer

using namespace mlir;
using namespace mlir::xformer;
using namespace mlir::xformer::to_emitc;

namespace {

/// What the function table says of one function, gathered before lowering.
struct FunctionInfo {
  std::string name;
  SmallVector<Type> inputs, outputs;
  int64_t scratchBytes = 0;
  /// The vocabulary of the token ids (argument #0), for the runtime's
  /// up-front check of a call's ids; 0 when none.
  int64_t tokenVocab = 0;
};

/// A static const array of `count` (at least one) `elementType`s, its
/// initializer C text.
Operation *table(OpBuilder &b, Location loc, StringRef name,
                 StringRef elementType, int64_t count, StringRef initializer) {
  MLIRContext *ctx = b.getContext();
  return emitc::GlobalOp::create(
      b, loc, name,
      emitc::ArrayType::get({std::max<int64_t>(1, count)},
                            opaqueType(ctx, elementType)),
      emitc::OpaqueAttr::get(ctx, initializer), /*extern_specifier=*/false,
      /*static_specifier=*/true, /*const_specifier=*/true);
}

/// "{name, dtype, rank, shape}".
std::string tensorDesc(LoweringState &state, OpBuilder &b, StringRef name,
                       RankedTensorType type) {
  return "{" + cString(name) + ", " +
         dtypeName(type.getElementType()) + ", " +
         std::to_string(type.getRank()) + ", " +
         state.shapeArray(b, type.getShape()).str() + "}";
}

/// The emitc.func replacing `func`: its body moved in after the frame's
/// prologue, its arguments read from `in`.
emitc::FuncOp lowerSignature(OpBuilder &b, LoweringState &state,
                             func::FuncOp func, ScratchPlan plan) {
  MLIRContext *ctx = b.getContext();
  Location loc = func.getLoc();
  Type framePtr = emitc::PointerType::get(opaqueType(ctx, "xfk_frame"));
  Type inPtr = emitc::PointerType::get(opaqueType(ctx, "const void *const"));
  Type outPtr = emitc::PointerType::get(opaqueType(ctx, "void *const"));
  b.setInsertionPoint(func);
  auto lowered = emitc::FuncOp::create(
      b, loc, ("fn_" + func.getSymName()).str(),
      b.getFunctionType({framePtr, inPtr, outPtr}, {b.getI32Type()}));
  lowered.setSpecifiersAttr(b.getStrArrayAttr({"static"}));
  Block *entry = lowered.addEntryBlock();
  b.setInsertionPointToStart(entry);

  FunctionFrame frame;
  frame.frame = entry->getArgument(0);
  frame.in = entry->getArgument(1);
  frame.out = entry->getArgument(2);
  // The frame's fields through an lvalue of the frame pointer (`->`).
  Value frameRef = emitc::VariableOp::create(
      b, loc, emitc::LValueType::get(framePtr),
      emitc::OpaqueAttr::get(ctx, ""));
  emitc::AssignOp::create(b, loc, frameRef, frame.frame);
  auto field = [&](StringRef name, Type type) -> Value {
    Value member = emitc::MemberOfPtrOp::create(
        b, loc, emitc::LValueType::get(type), name, frameRef);
    return emitc::LoadOp::create(b, loc, type, member);
  };
  frame.scratch = field("scratch", emitc::PointerType::get(opaqueType(ctx, "char")));
  frame.weights = field("weights", inPtr);

  Block &body = func.getBody().front();
  for (auto [i, arg] : llvm::enumerate(body.getArguments())) {
    Value p = tableEntry(b, loc, frame.in, i,
                         pointerType(ctx, elementOf(arg)));
    Value asTensor =
        UnrealizedConversionCastOp::create(b, loc, arg.getType(), p)
            .getResult(0);
    arg.replaceAllUsesWith(asTensor);
  }
  entry->getOperations().splice(entry->end(), body.getOperations());
  frame.plan = std::move(plan);
  state.frames[lowered] = std::move(frame);
  func.erase();
  return lowered;
}

} // namespace

LogicalResult mlir::xformer::convertXformerToEmitC(ModuleOp module,
                                                   ModelTarget target,
                                                   EmitCStats *stats) {
  // What reaches the lowering is lowerable (xformer-verify-target); it is
  // checked here too for callers that skip the pipeline.
  if (failed(verifyTargetLegality(module, target)))
    return failure();
  MLIRContext *ctx = module.getContext();
  ctx->getOrLoadDialect<emitc::EmitCDialect>();
  LoweringState state(module, kernelTableFor(target));

  // The module's tables: weights in order of first use, then the weights
  // joined on open, caches as planned.
  module.walk([&](WeightOp w) {
    auto type = cast<RankedTensorType>(w.getType());
    state.weights.insert({{w.getName(), type}, type});
  });
  module.walk([&](WeightOp w) {
    if (llvm::any_of(w->getUsers(),
                     [](Operation *user) { return !isWeightConcat(user); }))
      state.readDirectly.insert(state.weightIndex(w));
  });
  module.walk([&](ConcatOp c) {
    if (isWeightConcat(c))
      state.fusedWeight(c);
  });
  if (auto plan = module->getAttrOfType<DictionaryAttr>("xformer.kv_plan")) {
    auto get = [&](StringRef key) {
      auto a = plan.getAs<IntegerAttr>(key);
      return a ? a.getInt() : 0;
    };
    state.maxBatch = get("max_batch");
    state.maxSeqLen = get("max_seq_len");
    state.arenaBytes = get("total_bytes");
  }
  for (auto cache : module.getOps<KVCacheOp>())
    state.caches.insert({cache.getSymName(), cache});

  // Each function's plan (read and checked, or made) and table entry.
  SmallVector<func::FuncOp> funcs;
  std::optional<ModelKind> kind;
  SmallVector<FunctionInfo> infos;
  SmallVector<ScratchPlan> plans;
  for (auto func : module.getOps<func::FuncOp>()) {
    if (func.isExternal())
      continue;
    if (auto attr = func->getAttrOfType<ModelKindAttr>("xformer.model"))
      kind = attr.getValue();
    FailureOr<ScratchPlan> plan = readOrPlanScratch(func);
    if (failed(plan))
      return failure();
    FunctionInfo info;
    info.name = func.getSymName().str();
    llvm::append_range(info.inputs, func.getArgumentTypes());
    llvm::append_range(info.outputs, func.getResultTypes());
    info.scratchBytes = plan->bytes;
    if (func.getNumArguments() > 0)
      for (Operation *user : func.getArgument(0).getUsers())
        if (auto e = dyn_cast<EmbeddingOp>(user))
          if (e.getIds() == func.getArgument(0))
            info.tokenVocab = cast<RankedTensorType>(e.getTable().getType())
                                  .getDimSize(0);
    funcs.push_back(func);
    infos.push_back(std::move(info));
    plans.push_back(std::move(*plan));
  }

  // The file's head: what it includes, then the tables of caches and
  // weights (static arrays of shapes and constants go before them).
  OpBuilder b(ctx);
  Location loc = module.getLoc();
  b.setInsertionPointToStart(module.getBody());
  emitc::VerbatimOp::create(b, loc,
                            ("// Generated by xformer-compile (" +
                             state.kernels.name + " target). Do not edit.")
                                .str());
  emitc::IncludeOp::create(b, loc, state.kernels.header);
  emitc::IncludeOp::create(b, loc, "math.h", /*is_standard_include=*/true);
  emitc::IncludeOp::create(b, loc, "string.h", /*is_standard_include=*/true);
  if (!state.kernels.preamble.empty())
    emitc::VerbatimOp::create(b, loc, state.kernels.preamble);
  std::string caches = "{\n";
  for (auto &[name, cache] : state.caches)
    caches += "  {" + cString(name) + ", " +
              std::to_string(static_cast<int>(cache.getKind())) + ", " +
              std::to_string(cache.getKvHeads()) + ", " +
              std::to_string(cache.getHeadDim()) + ", " +
              std::to_string(*cache.getCapacity()) + ", " +
              std::to_string(cache.getWindow().value_or(0)) + ", " +
              std::to_string(*cache.getOffset()) + ", " +
              std::to_string(*cache.getBytes()) + "},\n";
  if (state.caches.empty())
    caches += "  {0, 0, 0, 0, 0, 0, 0, 0},\n";
  caches += "}";
  state.declAnchor = table(b, loc, "kCaches", "xfm_cache_desc", state.caches.size(), caches);

  // The weights' tables.
  std::string weights = "{\n";
  for (auto &[key, type] : state.weights)
    weights += "  " + tensorDesc(state, b, key.first, type) + ",\n";
  if (state.weights.empty())
    weights += "  {0, 0, 0, 0},\n";
  table(b, loc, "kWeights", "xfm_tensor_desc", state.weights.size(),
        weights + "}");
  // Weights joined on open: each part's index, then the table. A part no
  // code reads but through its joined weight is freed once joined.
  std::map<int32_t, int> partUses;
  for (const auto &fw : state.fused)
    for (int32_t p : fw.parts)
      ++partUses[p];
  std::string fused = "{\n";
  for (auto [k, fw] : llvm::enumerate(state.fused)) {
    std::string parts = "kFusedParts" + std::to_string(k), name;
    const bool unread = llvm::all_of(fw.parts, [&](int32_t p) {
      return !state.readDirectly.contains(p) && partUses[p] == 1;
    });
    SmallVector<int32_t> indices(fw.parts.begin(), fw.parts.end());
    for (auto [i, p] : llvm::enumerate(fw.parts))
      name += (i ? "+" : "") + state.weights.begin()[p].first.first.str();
    emitc::GlobalOp::create(
        b, loc, parts,
        emitc::ArrayType::get({int64_t(indices.size())}, b.getI32Type()),
        DenseElementsAttr::get(
            RankedTensorType::get({int64_t(indices.size())}, b.getI32Type()),
            ArrayRef<int32_t>(indices)),
        /*extern_specifier=*/false, /*static_specifier=*/true,
        /*const_specifier=*/true);
    fused += "  {" + tensorDesc(state, b, name, fw.type) + ", " +
             std::to_string(fw.axis) + ", " + std::to_string(fw.parts.size()) +
             ", " + parts + ", " + (unread ? "1" : "0") + "},\n";
  }
  if (state.fused.empty())
    fused += "  {{0, 0, 0, 0}, 0, 0, 0, 0},\n";
  table(b, loc, "kFusedWeights", "xfm_fused_weight_desc", state.fused.size(),
        fused + "}");

  // The functions, lowered.
  SmallVector<emitc::FuncOp> lowered;
  for (auto [func, plan] : llvm::zip(funcs, plans))
    lowered.push_back(lowerSignature(b, state, func, std::move(plan)));

  TypeConverter converter;
  converter.addConversion([](Type t) { return t; });
  converter.addConversion([ctx](RankedTensorType t) -> Type {
    return pointerType(ctx, t.getElementType());
  });
  ConversionTarget legal(*ctx);
  legal.addLegalDialect<emitc::EmitCDialect>();
  legal.addLegalOp<UnrealizedConversionCastOp>();
  legal.addIllegalDialect<XformerDialect, arith::ArithDialect,
                          tensor::TensorDialect>();
  legal.addIllegalOp<func::ReturnOp>();
  RewritePatternSet patterns(ctx);
  populateValuePatterns(state, converter, patterns);
  populateLinearPatterns(state, converter, patterns);
  populateAttentionPatterns(state, converter, patterns);
  populateElementwisePatterns(state, converter, patterns);
  populateNormalizationPatterns(state, converter, patterns);
  populateLayoutPatterns(state, converter, patterns);
  populateCachePatterns(state, converter, patterns);
  populatePositionPatterns(state, converter, patterns);
  FrozenRewritePatternSet frozen(std::move(patterns));
  for (emitc::FuncOp func : lowered) {
    if (failed(applyPartialConversion(func, legal, frozen)))
      return failure();
  }
  // Pointers no call reads (the parts of joined weights).
  for (emitc::FuncOp func : lowered) {
    SmallVector<Operation *> ops;
    func.walk([&](Operation *op) { ops.push_back(op); });
    for (Operation *op : llvm::reverse(ops))
      if (isa<emitc::CastOp, emitc::LoadOp, emitc::SubscriptOp,
              emitc::LiteralOp, emitc::AddOp>(op) &&
          op->use_empty())
        op->erase();
  }
  SmallVector<UnrealizedConversionCastOp> casts;
  module.walk([&](UnrealizedConversionCastOp c) { casts.push_back(c); });
  reconcileUnrealizedCasts(casts);
  WalkResult stray = module.walk([&](UnrealizedConversionCastOp c) {
    c.emitError("a tensor the ") << state.kernels.name
                                 << " lowering could not replace";
    return WalkResult::interrupt();
  });
  if (stray.wasInterrupted())
    return failure();
  // What the tables now say: caches, weights, external declarations.
  for (Operation &op : llvm::make_early_inc_range(module.getOps()))
    if (isa<KVCacheOp, WeightDeclOp, func::FuncOp>(op))
      op.erase();

  // The descriptor tables after the functions.
  b.setInsertionPointToEnd(module.getBody());
  std::string functions = "{\n";
  for (auto &info : infos) {
    std::string sym = "fn_" + info.name;
    auto descs = [&](StringRef name, ArrayRef<Type> types) {
      std::string init = "{";
      for (auto [i, t] : llvm::enumerate(types))
        init += std::string(i ? ", " : "") +
                tensorDesc(state, b, "#" + std::to_string(i),
                           cast<RankedTensorType>(t));
      if (types.empty())
        init += "{0, 0, 0, 0}";
      table(b, loc, name, "xfm_tensor_desc", types.size(), init + "}");
    };
    descs("k" + sym + "_in", info.inputs);
    descs("k" + sym + "_out", info.outputs);
    functions += "  {" + cString(info.name) + ", " + sym + ", " +
                 std::to_string(info.inputs.size()) + ", k" + sym + "_in, " +
                 std::to_string(info.outputs.size()) + ", k" + sym +
                 "_out, " + std::to_string(info.scratchBytes) + ", " +
                 std::to_string(info.tokenVocab) + "},\n";
  }
  table(b, loc, "kFunctions", "xfm_function_desc", infos.size(),
        functions + "}");

  // The entry point the runtime looks up.
  Type descType = opaqueType(ctx, "const xfm_model_desc");
  emitc::GlobalOp::create(
      b, loc, "kModel", descType,
      emitc::OpaqueAttr::get(
          ctx, "{XFORMER_MODEL_ABI_VERSION, " +
                   cString(XFORMER_VERSION_STRING) + ", " +
                   std::to_string(static_cast<int>(*kind)) + ", " +
                   std::to_string(state.weights.size()) + ", kWeights, " +
                   std::to_string(infos.size()) + ", kFunctions, " +
                   std::to_string(state.caches.size()) + ", kCaches, " +
                   std::to_string(state.arenaBytes) + ", " +
                   std::to_string(state.maxBatch) + ", " +
                   std::to_string(state.maxSeqLen) + ", " +
                   state.kernels.targetEnum.str() + ", " +
                   state.kernels.deviceOps.str() + ", " +
                   std::to_string(state.fused.size()) + ", kFusedWeights}"),
      /*extern_specifier=*/false, /*static_specifier=*/true,
      /*const_specifier=*/false);
  auto entry = emitc::FuncOp::create(
      b, loc, "xformer_model",
      b.getFunctionType({}, {emitc::PointerType::get(descType)}));
  entry.setSpecifiersAttr(b.getStrArrayAttr(
      {"extern \"C\" __attribute__((visibility(\"default\")))"}));
  b.setInsertionPointToStart(entry.addEntryBlock());
  Value desc = emitc::GetGlobalOp::create(
      b, loc, emitc::LValueType::get(descType), "kModel");
  emitc::ReturnOp::create(
      b, loc,
      emitc::AddressOfOp::create(b, loc, emitc::PointerType::get(descType),
                                 desc));

  if (stats) {
    stats->kernelCalls = state.kernelCalls;
    stats->scratchBytes = 0;
    for (auto &info : infos)
      stats->scratchBytes = std::max(stats->scratchBytes, info.scratchBytes);
  }
  return success();
}

namespace {

struct ConvertXformerToEmitCPass
    : mlir::xformer::impl::ConvertXformerToEmitCBase<
          ConvertXformerToEmitCPass> {
  using ConvertXformerToEmitCBase::ConvertXformerToEmitCBase;
  void runOnOperation() override {
    if (failed(convertXformerToEmitC(getOperation(), target)))
      signalPassFailure();
  }
};

} // namespace
