//===- NarrowWeights.cpp - bf16 weights for linear layers -----------------===//

#include "xformer/IR/XformerOps.h"
#include "xformer/Transforms/Passes.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SetVector.h"

namespace mlir::xformer {
#define GEN_PASS_DEF_XFORMERNARROWWEIGHTS
#include "xformer/Transforms/Passes.h.inc"
} // namespace mlir::xformer

using namespace mlir;
using namespace mlir::xformer;

namespace {

struct XformerNarrowWeightsPass
    : mlir::xformer::impl::XformerNarrowWeightsBase<XformerNarrowWeightsPass> {
  using Base::Base;

  void runOnOperation() override {
    if (dtype != "bf16") {
      getOperation().emitError("xformer-narrow-weights: dtype must be bf16, "
                               "not '")
          << dtype << "'";
      return signalPassFailure();
    }
    OpBuilder b(&getContext());
    Type bf16 = b.getBF16Type();
    // One bf16 weight per (block, name), placed at the first f32 weight op
    // of that name it replaces, so it dominates every linear that reads it.
    llvm::DenseMap<std::pair<Block *, StringAttr>, Value> narrowed;
    llvm::SetVector<Operation *> maybeDead;
    getOperation().walk([&](LinearOp op) {
      auto weight = op.getWeight().getDefiningOp<WeightOp>();
      if (!weight || !weight.getType().getElementType().isF32() ||
          !op.getInput().getType().getElementType().isF32())
        return;
      auto key = std::make_pair(weight->getBlock(), weight.getNameAttr());
      Value &slot = narrowed[key];
      if (!slot) {
        b.setInsertionPoint(weight);
        slot = WeightOp::create(b, weight.getLoc(),
                                weight.getType().clone(bf16),
                                weight.getNameAttr());
      }
      op.getWeightMutable().assign(slot);
      maybeDead.insert(weight);
    });
    for (Operation *weight : maybeDead)
      if (weight->use_empty())
        weight->erase();
  }
};

} // namespace
