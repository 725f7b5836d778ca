//===- Pipelines.cpp - The compiler pipelines of each target --------------===//

#include "xformer/Transforms/Pipelines.h"
#include "xformer/Transforms/Passes.h"

#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;
using namespace mlir::xformer;

void mlir::xformer::buildXformerPipeline(
    OpPassManager &pm, ModelTarget target,
    const XformerPipelineOptions &options) {
  pm.addNestedPass<func::FuncOp>(createXformerFuseAttention());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  pm.addPass(createXformerVerifyMasks());
  if (options.precision == WeightPrecision::bf16)
    pm.addNestedPass<func::FuncOp>(createXformerNarrowWeights());
  if (options.weights.hasValue())
    pm.addNestedPass<func::FuncOp>(
        createXformerWeightFormat(XformerWeightFormatOptions{options.weights}));
  // After the weights' formats are final: a concat joins weights of one
  // format (a Q4_K_M file's Q4_K query and key, not its Q6_K value).
  if (options.fuseProjections)
    pm.addNestedPass<func::FuncOp>(createXformerFuseProjections());
  XformerPlanGenerationOptions generation;
  generation.maxBatch = options.maxBatch;
  generation.maxSeqLen = options.maxSeqLen;
  generation.maxSourceLen = options.maxSourceLen;
  generation.verifyChunk = options.verifyChunk;
  generation.rowCounts = options.rowCounts;
  pm.addPass(createXformerPlanGeneration(generation));
  pm.addNestedPass<func::FuncOp>(createXformerFuseEpilogues());
  pm.addPass(createXformerVerifyTarget(XformerVerifyTargetOptions{target}));
  pm.addPass(createXformerPlanScratch());
}

void mlir::xformer::registerXformerPipelines() {
  PassPipelineRegistration<XformerPipelineOptions>(
      "xformer-cpu-pipeline",
      "Model IR to what the CPU emitter prints: fuse attention, verify "
      "masks, weight storage, projection fusion, generation programs and "
      "their KV plan, CPU legality, the scratch plan",
      [](OpPassManager &pm, const XformerPipelineOptions &options) {
        buildXformerPipeline(pm, ModelTarget::cpu, options);
      });
  PassPipelineRegistration<XformerPipelineOptions>(
      "xformer-cuda-pipeline",
      "Model IR to what the CUDA emitter prints: fuse attention, verify "
      "masks, projection fusion, generation programs and their KV plan, "
      "CUDA legality, the scratch plan",
      [](OpPassManager &pm, const XformerPipelineOptions &options) {
        buildXformerPipeline(pm, ModelTarget::cuda, options);
      });
}
