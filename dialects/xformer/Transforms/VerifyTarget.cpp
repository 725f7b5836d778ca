//===- VerifyTarget.cpp - Check what a code-generation target accepts -----===//

#include "xformer/IR/XformerOps.h"
#include "xformer/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinAttributes.h"

namespace mlir::xformer {
#define GEN_PASS_DEF_XFORMERVERIFYTARGET
#include "xformer/Transforms/Passes.h.inc"
} // namespace mlir::xformer

using namespace mlir;
using namespace mlir::xformer;

StringRef mlir::xformer::targetName(ModelTarget target) {
  return target == ModelTarget::cuda ? "CUDA" : "CPU";
}

namespace {

/// Element types every kernel computes on.
bool isComputeType(Type t) {
  return t.isF32() || t.isInteger(64) || t.isInteger(32) || t.isInteger(1);
}

/// Element types weights may be stored in and decoded from by the op that
/// reads them (linear weights, embedding tables).
bool isStorageType(Type t) {
  return isa<GGMLType>(t) || t.isBF16() || t.isF16();
}

/// A weight (or a concat of weights) read only where it is decoded: as a
/// linear's weight or an embedding's table.
bool decodedWhereRead(Value w) {
  return llvm::all_of(w.getUsers(), [&](Operation *user) {
    if (auto linear = dyn_cast<LinearOp>(user))
      return linear.getWeight() == w && linear.getInput() != w;
    if (isWeightConcat(user))
      return decodedWhereRead(user->getResult(0));
    auto embedding = dyn_cast<EmbeddingOp>(user);
    return embedding && embedding.getTable() == w && embedding.getIds() != w;
  });
}

struct Legality {
  ModelTarget target;

  bool cuda() const { return target == ModelTarget::cuda; }

  InFlightDiagnostic error(Operation *op) const {
    return op->emitError() << "the " << targetName(target) << " target ";
  }

  LogicalResult checkTypes(Operation *op) const;
  LogicalResult checkOp(Operation *op) const;
  LogicalResult checkWeights(ModuleOp module) const;
  LogicalResult checkCaches(ModuleOp module) const;
  LogicalResult checkFunction(func::FuncOp func) const;
};

LogicalResult Legality::checkTypes(Operation *op) const {
  for (Type t :
       llvm::concat<Type>(op->getOperandTypes(), op->getResultTypes())) {
    if (isa<IndexType>(t) &&
        isa<PositionsOp, arith::ConstantIndexOp, tensor::DimOp>(op))
      continue; // a size resolved at compile time
    auto tensor = dyn_cast<RankedTensorType>(t);
    if (!tensor)
      return error(op) << "handles ranked tensors only, not " << t;
    Type elem = tensor.getElementType();
    const bool stored = isStorageType(elem);
    // bf16, f16 and ggml blocks: weights on the CPU, read where they are
    // decoded (an embedding's result is f32: its rows are decoded).
    const bool storedWeight =
        stored && !cuda() &&
        (isa<LinearOp, EmbeddingOp>(op) ||
         ((isa<WeightOp>(op) || isWeightConcat(op)) &&
          decodedWhereRead(op->getResult(0))));
    const bool embeddingRow =
        stored && isa<EmbeddingOp>(op) && t == op->getResult(0).getType();
    if ((!stored && !isComputeType(elem)) ||
        (stored && (!storedWeight || embeddingRow)))
      return error(op) << "has no kernels for element type " << elem
                       << " yet (f32, i64, i32, i1"
                       << (cuda() ? ""
                                  : "; bf16, f16 and ggml blocks for linear "
                                    "weights and embedding tables")
                       << ")";
    if (!tensor.hasStaticShape() &&
        !isa<CacheReadOp, AttentionOp, PositionsOp, RelativePositionBiasOp>(op))
      return error(op) << "needs static shapes; " << tensor << " is dynamic";
  }
  return success();
}

LogicalResult Legality::checkOp(Operation *op) const {
  if (isa<func::ReturnOp, arith::ConstantIndexOp>(op))
    return success();
  if (auto cst = dyn_cast<arith::ConstantOp>(op)) {
    if (!isa<DenseElementsAttr>(cst.getValue()) ||
        !isa<RankedTensorType>(cst.getType()))
      return error(op) << "lowers tensor constants only";
    return checkTypes(op);
  }
  if (auto dim = dyn_cast<tensor::DimOp>(op)) {
    std::optional<int64_t> d = dim.getConstantIndex();
    auto source = dyn_cast<RankedTensorType>(dim.getSource().getType());
    if (!d || !source || *d < 0 || *d >= source.getRank())
      return error(op) << "cannot resolve this dimension";
    return success();
  }
  if (op->getDialect() != op->getContext()->getLoadedDialect<XformerDialect>())
    return error(op) << "cannot lower '" << op->getName() << "' yet";
  if (auto p = dyn_cast<PositionsOp>(op)) {
    if (p.getOffset())
      return error(op) << "lowers positions without an offset operand; "
                          "derive-generation adds offsets with xformer.add";
    if (Value size = p.getSize();
        size && !size.getDefiningOp<arith::ConstantIndexOp>() &&
        !size.getDefiningOp<tensor::DimOp>())
      return error(op) << "needs a size known at compile time";
  }
  if (auto r = dyn_cast<RopeOp>(op))
    if (cast<RankedTensorType>(r.getInput().getType()).getRank() != 4)
      return error(op) << "applies rope to [batch, heads, seq, head_dim] "
                          "tensors";
  if (auto a = dyn_cast<AttentionOp>(op))
    for (Value v : {a.getQuery(), a.getKey(), a.getValue()})
      if (!cast<RankedTensorType>(v.getType()).hasStaticShape() &&
          !v.getDefiningOp<CacheReadOp>())
        return error(op) << "needs static attention shapes (dynamic ones "
                            "come only from cache_read)";
  return checkTypes(op);
}

LogicalResult Legality::checkWeights(ModuleOp module) const {
  // (One name read as two shapes is the weight op's verifier's.)
  WalkResult walk = module.walk([&](WeightOp w) {
    auto type = cast<RankedTensorType>(w.getType());
    Type elem = type.getElementType();
    if (!type.hasStaticShape() ||
        !(isComputeType(elem) || (isStorageType(elem) && !cuda()))) {
      error(w) << "needs static f32/i64/i32"
               << (cuda() ? "" : "/bf16/f16/ggml-block") << " weights, not "
               << type;
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  return failure(walk.wasInterrupted());
}

LogicalResult Legality::checkCaches(ModuleOp module) const {
  if (auto plan = module->getAttrOfType<DictionaryAttr>(
          XformerDialect::kKVPlanAttrName))
    if (auto layout = plan.getAs<StringAttr>("layout");
        layout && layout.getValue() != "contiguous")
      return error(module) << "supports the contiguous KV layout only, not '"
                           << layout.getValue() << "'";
  for (auto cache : module.getOps<KVCacheOp>()) {
    if (!cache.getCapacity() || !cache.getOffset() || !cache.getBytes())
      return cache.emitError("KV cache without a plan: run "
                             "--xformer-plan-kv-cache before code generation");
    if (!cache.getElementType().isF32())
      return error(cache) << "stores f32 KV caches only, not "
                          << cache.getElementType();
  }
  return success();
}

LogicalResult Legality::checkFunction(func::FuncOp func) const {
  if (!func.getBody().hasOneBlock())
    return error(func) << "needs single-block functions";
  for (auto [i, t] : llvm::enumerate(func.getArgumentTypes())) {
    auto tensor = dyn_cast<RankedTensorType>(t);
    if (!tensor || !tensor.hasStaticShape() ||
        !isComputeType(tensor.getElementType()))
      return func.emitError("argument #")
             << i << " of @" << func.getSymName()
             << " must be a static tensor of f32, i64, i32 or i1, not " << t;
  }
  for (Operation &op : func.getBody().front())
    if (failed(checkOp(&op)))
      return failure();
  return success();
}

struct XformerVerifyTargetPass
    : mlir::xformer::impl::XformerVerifyTargetBase<XformerVerifyTargetPass> {
  using Base::Base;

  void runOnOperation() override {
    if (failed(verifyTargetLegality(getOperation(), target)))
      signalPassFailure();
    markAllAnalysesPreserved();
  }
};

} // namespace

LogicalResult mlir::xformer::verifyTargetLegality(ModuleOp module,
                                                  ModelTarget target) {
  Legality legality{target};
  if (failed(legality.checkWeights(module)) ||
      failed(legality.checkCaches(module)))
    return failure();
  SmallVector<func::FuncOp> funcs;
  bool kind = false;
  for (auto func : module.getOps<func::FuncOp>()) {
    if (func.isExternal())
      continue;
    funcs.push_back(func);
    kind |= bool(func->getAttrOfType<ModelKindAttr>("xformer.model"));
  }
  if (funcs.empty())
    return module.emitError("no function to compile");
  if (!kind)
    return module.emitError("no function says what the model is: add "
                            "{xformer.model = #xformer.model<...>}");
  for (func::FuncOp func : funcs)
    if (failed(legality.checkFunction(func)))
      return failure();
  return success();
}
