//===- PlanGeneration.cpp - Programs and KV plan for any model kind -------===//
//
// Runs derive-generation and the KV-cache planner on the models that
// generate, with the sizes the model states itself (its batch, its encoder
// input's length), so one pipeline serves encoders, decoders and
// encoder-decoders.
//
//===----------------------------------------------------------------------===//

#include "xformer/IR/XformerOps.h"
#include "xformer/Transforms/Passes.h"

#include "mlir/IR/Matchers.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"

namespace mlir::xformer {
#define GEN_PASS_DEF_XFORMERPLANGENERATION
#include "xformer/Transforms/Passes.h.inc"
} // namespace mlir::xformer

using namespace mlir;
using namespace mlir::xformer;

namespace {

std::optional<ModelKind> modelKind(ModuleOp module) {
  for (auto func : module.getOps<func::FuncOp>())
    if (auto a = func->getAttrOfType<ModelKindAttr>("xformer.model"))
      return a.getValue();
  return std::nullopt;
}

/// The leading dimension of the first function's first argument: the
/// sequences one call of the model runs.
int64_t programBatch(ModuleOp module) {
  for (auto func : module.getOps<func::FuncOp>())
    if (func.getNumArguments() > 0)
      if (auto t = dyn_cast<RankedTensorType>(func.getArgumentTypes()[0]))
        if (t.getRank() >= 1 && !t.isDynamicDim(0))
          return t.getDimSize(0);
  return 1;
}

/// The length of @encode's input sequence, 0 without an encoder.
int64_t sourceLength(ModuleOp module) {
  auto encode = module.lookupSymbol<func::FuncOp>("encode");
  if (!encode || encode.getNumArguments() == 0)
    return 0;
  auto t = dyn_cast<RankedTensorType>(encode.getArgumentTypes()[0]);
  return t && t.getRank() == 2 && !t.isDynamicDim(1) ? t.getDimSize(1) : 0;
}

/// A learned position table (an embedding indexed by xformer.positions,
/// plus a constant) must have a row for every position the KV cache
/// holds; otherwise the run would fail at the first position past it.
LogicalResult checkPositionTables(ModuleOp module, int64_t maxSeqLen) {
  WalkResult r = module.walk([&](EmbeddingOp e) {
    Value ids = e.getIds();
    int64_t offset = 0;
    // Through adds of a constant splat (BART's +2).
    while (auto add = ids.getDefiningOp<AddOp>()) {
      Value other;
      DenseIntElementsAttr c;
      if (matchPattern(add.getRhs(), m_Constant(&c)))
        other = add.getLhs();
      else if (matchPattern(add.getLhs(), m_Constant(&c)))
        other = add.getRhs();
      if (!other || !c.isSplat())
        break;
      offset += c.getSplatValue<APInt>().getSExtValue();
      ids = other;
    }
    if (!ids.getDefiningOp<PositionsOp>())
      return WalkResult::advance();
    const int64_t rows = e.getTable().getType().getDimSize(0);
    if (ShapedType::isDynamic(rows) || maxSeqLen + offset <= rows)
      return WalkResult::advance();
    e.emitError() << "the position table has " << rows
                  << " rows, but --max-seq-len " << maxSeqLen
                  << " needs positions up to " << maxSeqLen - 1 + offset
                  << ": compile with --max-seq-len=" << rows - offset
                  << " or less (the model's context)";
    return WalkResult::interrupt();
  });
  return failure(r.wasInterrupted());
}

struct XformerPlanGenerationPass
    : mlir::xformer::impl::XformerPlanGenerationBase<
          XformerPlanGenerationPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    std::optional<ModelKind> kind = modelKind(module);
    if (!kind) {
      module.emitError("no function says what the model is: add "
                       "attributes {xformer.model = "
                       "#xformer.model<encoder|decoder|encoder_decoder>}");
      return signalPassFailure();
    }
    if (*kind == ModelKind::encoder)
      return markAllAnalysesPreserved();
    if (maxSeqLen < 1) {
      module.emitError() << "xformer-plan-generation: max-seq-len must be "
                            "positive, not "
                         << int64_t(maxSeqLen);
      return signalPassFailure();
    }
    const int64_t batch = programBatch(module);
    if (maxBatch < 0 || (maxBatch != 0 && maxBatch < batch)) {
      module.emitError() << "xformer-plan-generation: max-batch="
                         << int64_t(maxBatch)
                         << (maxBatch < 0
                                 ? " must be positive"
                                 : " is below the model IR's batch of " +
                                       std::to_string(batch) +
                                       ": its programs run that many sequences "
                                       "per call (import the model with a "
                                       "smaller --batch)");
      return signalPassFailure();
    }
    if (failed(checkPositionTables(module, maxSeqLen)))
      return signalPassFailure();

    OpPassManager derive(ModuleOp::getOperationName());
    XformerDeriveGenerationOptions programs;
    programs.verifyChunk = verifyChunk;
    programs.rowCounts = rowCounts;
    derive.addPass(createXformerDeriveGeneration(programs));
    derive.addPass(createCanonicalizerPass());
    derive.addPass(createCSEPass());
    if (failed(runPipeline(derive, module)))
      return signalPassFailure();

    XformerPlanKVCacheOptions plan;
    plan.maxBatch = maxBatch != 0 ? int64_t(maxBatch) : batch;
    plan.maxSeqLen = maxSeqLen;
    plan.maxSourceLen =
        maxSourceLen != 0 ? int64_t(maxSourceLen) : sourceLength(module);
    OpPassManager planner(ModuleOp::getOperationName());
    planner.addPass(createXformerPlanKVCache(plan));
    if (failed(runPipeline(planner, module)))
      return signalPassFailure();
  }
};

} // namespace
