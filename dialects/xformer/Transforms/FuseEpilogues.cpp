//===- FuseEpilogues.cpp - Activations and residuals into linears ---------===//

#include "xformer/IR/XformerOps.h"
#include "xformer/Transforms/Passes.h"

namespace mlir::xformer {
#define GEN_PASS_DEF_XFORMERFUSEEPILOGUES
#include "xformer/Transforms/Passes.h.inc"
} // namespace mlir::xformer

using namespace mlir;
using namespace mlir::xformer;

namespace {

/// The only reader of `v`, in `v`'s block.
Operation *onlyReader(Value v, Block *block) {
  if (!v.hasOneUse())
    return nullptr;
  Operation *user = *v.getUsers().begin();
  return user->getBlock() == block ? user : nullptr;
}

struct XformerFuseEpiloguesPass
    : mlir::xformer::impl::XformerFuseEpiloguesBase<XformerFuseEpiloguesPass> {
  void runOnOperation() override {
    SmallVector<LinearOp> linears;
    getOperation().walk([&](LinearOp l) { linears.push_back(l); });
    for (LinearOp l : linears)
      fuse(l);
  }

  void fuse(LinearOp l) {
    Block *block = l->getBlock();
    if (!l.getActivation() && !l.getResidual())
      if (Operation *user = onlyReader(l.getResult(), block))
        if (std::optional<Activation> act = activationOf(user)) {
          l.setActivationAttr(ActivationAttr::get(l.getContext(), *act));
          user->getResult(0).replaceAllUsesWith(l.getResult());
          user->erase();
        }
    if (l.getResidual())
      return;
    auto add = dyn_cast_or_null<AddOp>(onlyReader(l.getResult(), block));
    if (!add || add.getLhs() == add.getRhs() ||
        add.getLhs().getType() != add.getRhs().getType() ||
        add.getType() != l.getType())
      return;
    Value other = add.getLhs() == l.getResult() ? add.getRhs() : add.getLhs();
    // The GEMM reads the residual as it writes each output.
    if (Operation *def = other.getDefiningOp();
        def && (def->getBlock() != block || !def->isBeforeInBlock(l)))
      return;
    l.getResidualMutable().assign(other);
    add.getResult().replaceAllUsesWith(l.getResult());
    add.erase();
  }
};

} // namespace
