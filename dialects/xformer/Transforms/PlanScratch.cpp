//===- PlanScratch.cpp - The scratch plan into the IR ---------------------===//

#include "xformer/Analysis/ScratchPlan.h"
#include "xformer/Transforms/Passes.h"

#include "mlir/IR/BuiltinOps.h"

namespace mlir::xformer {
#define GEN_PASS_DEF_XFORMERPLANSCRATCH
#include "xformer/Transforms/Passes.h.inc"
} // namespace mlir::xformer

using namespace mlir;
using namespace mlir::xformer;

namespace {

struct XformerPlanScratchPass
    : mlir::xformer::impl::XformerPlanScratchBase<XformerPlanScratchPass> {
  void runOnOperation() override {
    for (auto func : getOperation().getOps<func::FuncOp>()) {
      if (func.isExternal())
        continue;
      FailureOr<ScratchPlan> plan = planScratch(func);
      if (failed(plan))
        return signalPassFailure();
      writeScratchPlan(func, *plan);
    }
  }
};

} // namespace
