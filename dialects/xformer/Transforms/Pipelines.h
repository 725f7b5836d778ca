//===- Pipelines.h - The compiler pipelines of each target -------*- C++
//-*-===//
//
// `xformer-cpu-pipeline` and `xformer-cuda-pipeline`: model IR as an importer
// writes it, to IR a target's emitter prints. Registered once; xformer-opt,
// xformer-compile and the Python bindings run the same pipeline.
//
//===----------------------------------------------------------------------===//

#ifndef XFORMER_TRANSFORMS_PIPELINES_H
#define XFORMER_TRANSFORMS_PIPELINES_H

#include "xformer/Transforms/PassOptionTypes.h"
#include "xformer/Transforms/TargetLegality.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

namespace mlir::xformer {

/// How linear layers' weights are computed on, from the pipelines'
/// `precision` option.
enum class WeightPrecision { f32, bf16 };

struct XformerPipelineOptions
    : public PassPipelineOptions<XformerPipelineOptions> {
  PassOptions::Option<int64_t> maxBatch{
      *this, "max-batch",
      llvm::cl::desc("Sequences the KV caches hold (0: the programs' batch)"),
      llvm::cl::init(0)};
  PassOptions::Option<int64_t> maxSeqLen{
      *this, "max-seq-len", llvm::cl::desc("Positions each KV cache holds"),
      llvm::cl::init(1024)};
  PassOptions::Option<int64_t> maxSourceLen{
      *this, "max-source-len",
      llvm::cl::desc(
          "Encoder positions of cross caches (0: the encoder input's length)"),
      llvm::cl::init(0)};
  PassOptions::Option<WeightPrecision> precision{
      *this, "precision",
      llvm::cl::desc("Linear weights in f32, or stored in bf16 "
                     "(xformer-narrow-weights)"),
      llvm::cl::init(WeightPrecision::f32),
      llvm::cl::values(
          clEnumValN(WeightPrecision::f32, "f32", "as the IR says"),
          clEnumValN(WeightPrecision::bf16, "bf16",
                     "bf16 products summed in f32"))};
  PassOptions::Option<WeightStorage> weights{
      *this, "weights",
      llvm::cl::desc("Storage format of linear weights "
                     "(xformer-weight-format; unset: as the IR says)"),
      XFORMER_WEIGHT_STORAGE_CL_VALUES};
  PassOptions::Option<int64_t> verifyChunk{
      *this, "verify-chunk",
      llvm::cl::desc("Also derive @verify, checking this many tokens a call "
                     "with every position's logits (speculative decoding; "
                     "0: none)"),
      llvm::cl::init(0)};
  PassOptions::Option<std::string> rowCounts{
      *this, "row-counts",
      llvm::cl::desc("Programs over fewer sequences than the batch, so a "
                     "call computes the rows in use: 'auto' (the powers of "
                     "two below the batch), 'none', or a list such as '1,2'"),
      llvm::cl::init("auto")};
  PassOptions::Option<bool> fuseProjections{
      *this, "fuse-projections",
      llvm::cl::desc("One linear for the projections that share an input "
                     "(Q, K and V; gate and up with a glu): "
                     "xformer-fuse-projections"),
      llvm::cl::init(true)};
};

/// Appends the pipeline of `target` to `pm` (on builtin.module): fuse
/// attention, verify masks, choose weight storage, fuse projections, derive
/// and plan generation, fuse linear epilogues, verify the target's legality.
void buildXformerPipeline(OpPassManager &pm, ModelTarget target,
                          const XformerPipelineOptions &options);

/// Registers `xformer-cpu-pipeline` and `xformer-cuda-pipeline`.
void registerXformerPipelines();

} // namespace mlir::xformer

#endif // XFORMER_TRANSFORMS_PIPELINES_H
