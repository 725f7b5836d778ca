//===- WeightFormats.cpp - How linear weights are stored ------------------===//
//
// --xformer-narrow-weights (bf16 linear weights) and --xformer-weight-format
// (any storage format: f32, bf16, ggml blocks) retype the `xformer.weight`
// ops that linears and embeddings read; the runtime converts the stored
// tensor to the type the IR names when the model is opened.
//
//===----------------------------------------------------------------------===//

#include "xformer/IR/XformerOps.h"
#include "xformer/Transforms/Passes.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/StringSwitch.h"

namespace mlir::xformer {
#define GEN_PASS_DEF_XFORMERNARROWWEIGHTS
#define GEN_PASS_DEF_XFORMERWEIGHTFORMAT
#include "xformer/Transforms/Passes.h.inc"
} // namespace mlir::xformer

using namespace mlir;
using namespace mlir::xformer;

namespace {

/// Retypes the weights that linears (as their weight) and embeddings (as
/// their table) read: `choose(user, weight type)` gives the new element type
/// or null to leave the operand as it is. One weight op per (block, name,
/// type), placed at the first weight op it replaces so that it dominates
/// every use; weights left without uses are erased.
void retypeWeights(func::FuncOp func,
                   function_ref<Type(Operation *, RankedTensorType)> choose) {
  OpBuilder b(func.getContext());
  llvm::DenseMap<std::tuple<Block *, Attribute, Type>, Value> retyped;
  llvm::SetVector<Operation *> maybeDead;
  auto visit = [&](Operation *user, OpOperand &operand) {
    auto weight = operand.get().getDefiningOp<WeightOp>();
    if (!weight)
      return;
    Type elem = choose(user, weight.getType());
    if (!elem || elem == weight.getType().getElementType())
      return;
    RankedTensorType type = weight.getType().clone(elem);
    Value &slot = retyped[{weight->getBlock(), weight.getNameAttr(), type}];
    if (!slot) {
      b.setInsertionPoint(weight);
      slot = WeightOp::create(b, weight.getLoc(), type, weight.getNameAttr());
    }
    operand.set(slot);
    maybeDead.insert(weight);
  };
  func.walk([&](Operation *op) {
    if (auto linear = dyn_cast<LinearOp>(op))
      visit(op, linear.getWeightMutable());
    else if (auto embedding = dyn_cast<EmbeddingOp>(op))
      visit(op, embedding.getTableMutable());
  });
  for (Operation *weight : maybeDead)
    if (weight->use_empty())
      weight->erase();
}

/// Whether a linear may read its weight in `blocks`: an f32 input, the
/// weight stored [out, in] in whole blocks.
bool fitsBlocks(LinearOp linear, GGMLType blocks) {
  RankedTensorType w = linear.getWeight().getType();
  return linear.getInput().getType().getElementType().isF32() &&
         !linear.getWeightTransposed() && w.getRank() == 2 &&
         w.getDimSize(1) % blocks.getBlockElements() == 0;
}

struct XformerNarrowWeightsPass
    : mlir::xformer::impl::XformerNarrowWeightsBase<XformerNarrowWeightsPass> {
  using Base::Base;

  void runOnOperation() override {
    Type bf16 = BFloat16Type::get(&getContext());
    retypeWeights(getOperation(), [&](Operation *user, RankedTensorType w) {
      auto linear = dyn_cast<LinearOp>(user);
      return linear && w.getElementType().isF32() &&
                     linear.getInput().getType().getElementType().isF32()
                 ? bf16
                 : Type();
    });
  }
};

struct XformerWeightFormatPass
    : mlir::xformer::impl::XformerWeightFormatBase<XformerWeightFormatPass> {
  using Base::Base;

  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    Type f32 = Float32Type::get(ctx);
    if (format == WeightStorage::f32) {
      // Every stored format decoded to f32, for linears and embeddings.
      retypeWeights(getOperation(), [&](Operation *, RankedTensorType w) {
        return isa<GGMLType, BFloat16Type, Float16Type>(w.getElementType())
                   ? f32
                   : Type();
      });
      return;
    }
    if (format == WeightStorage::bf16) {
      Type bf16 = BFloat16Type::get(ctx);
      // As --xformer-narrow-weights, both layouts; and from f16 and ggml
      // blocks (always [out, in]).
      retypeWeights(getOperation(), [&](Operation *user, RankedTensorType w) {
        auto linear = dyn_cast<LinearOp>(user);
        return linear &&
                       isa<Float32Type, Float16Type, GGMLType>(
                           w.getElementType()) &&
                       linear.getInput().getType().getElementType().isF32()
                   ? bf16
                   : Type();
      });
      return;
    }
    auto type = GGMLType::get(ctx, *ggmlFormatOf(format));
    // Linears only; a weight whose rows are not whole blocks keeps its
    // format (llama.cpp falls back the same way).
    retypeWeights(getOperation(), [&](Operation *user, RankedTensorType) {
      auto linear = dyn_cast<LinearOp>(user);
      return linear && fitsBlocks(linear, type) ? Type(type) : Type();
    });
  }
};

} // namespace
