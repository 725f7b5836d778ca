//===- FuseProjections.cpp - One GEMM for linears sharing an input --------===//

#include "xformer/IR/XformerOps.h"
#include "xformer/Transforms/Passes.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/Dominance.h"
#include "llvm/ADT/MapVector.h"

namespace mlir::xformer {
#define GEN_PASS_DEF_XFORMERFUSEPROJECTIONS
#include "xformer/Transforms/Passes.h.inc"
} // namespace mlir::xformer

using namespace mlir;
using namespace mlir::xformer;

namespace {

/// Makes `v` available before `point`: weights and constants (no operands)
/// move up; anything else must already dominate.
bool hoistBefore(Value v, Operation *point, DominanceInfo &dom) {
  if (dom.properlyDominates(v, point))
    return true;
  Operation *def = v.getDefiningOp();
  if (!def || def->getNumOperands() != 0 || def->getBlock() != point->getBlock())
    return false;
  def->moveBefore(point);
  return true;
}

/// A gated MLP's two projections: `mul(act(gate), up)` (either operand
/// order) where each linear and the activation have that one use, and
/// gate and up are of one width.
struct Gate {
  LinearOp gate, up;
  Operation *activation;
  MulOp product;
  Activation kind;
};

std::optional<Gate> matchGate(LinearOp a, LinearOp b) {
  for (auto [gate, up] : {std::pair{a, b}, std::pair{b, a}}) {
    if (!gate->hasOneUse() || !up->hasOneUse() ||
        gate.getType() != up.getType())
      continue;
    Operation *act = *gate->getUsers().begin();
    std::optional<Activation> kind = activationOf(act);
    if (!kind || act->getNumOperands() != 1 || !act->hasOneUse() ||
        act->getResult(0).getType() != gate.getType())
      continue;
    auto mul = dyn_cast<MulOp>(*act->getUsers().begin());
    if (!mul || mul.getType() != gate.getType() ||
        *up->getUsers().begin() != mul.getOperation())
      continue;
    Value l = mul.getLhs(), r = mul.getRhs();
    if ((l == act->getResult(0) && r == up.getResult()) ||
        (r == act->getResult(0) && l == up.getResult()))
      return Gate{gate, up, act, mul, *kind};
  }
  return std::nullopt;
}

struct XformerFuseProjectionsPass
    : mlir::xformer::impl::XformerFuseProjectionsBase<
          XformerFuseProjectionsPass> {
  void runOnOperation() override {
    // Group linears by (input, layout, has bias, weight element type): a
    // Q4_K_M file's Q4_K query and key fuse while its Q6_K value stays
    // apart.
    llvm::MapVector<std::tuple<Value, unsigned, unsigned, Type>,
                    SmallVector<LinearOp>>
        groups;
    getOperation().walk([&](LinearOp op) {
      if (op.hasEpilogue())
        return; // its epilogue applies to its own outputs only
      groups[{op.getInput(), static_cast<unsigned>(op.getWeightTransposed()),
              static_cast<unsigned>(static_cast<bool>(op.getBias())),
              op.getWeight().getType().getElementType()}]
          .push_back(op);
    });
    DominanceInfo dom(getOperation());
    for (auto &[key, ops] : groups) {
      if (ops.size() < 2)
        continue;
      fuse(ops, dom);
    }
  }

  void fuse(SmallVector<LinearOp> &ops, DominanceInfo &dom) {
    // Program order; all in one block.
    Block *block = ops.front()->getBlock();
    if (llvm::any_of(ops, [&](LinearOp op) { return op->getBlock() != block; }))
      return;
    llvm::sort(ops, [](LinearOp a, LinearOp b) {
      return a->isBeforeInBlock(b);
    });
    LinearOp first = ops.front();
    bool transposed = first.getWeightTransposed();
    Type elt = first.getType().getElementType();
    Type weightElt = first.getWeight().getType().getElementType();
    for (LinearOp op : ops) {
      auto w = op.getWeight().getType();
      if (!w.hasStaticShape() || op.getType().getElementType() != elt ||
          w.getElementType() != weightElt)
        return;
    }
    for (LinearOp op : ops) {
      if (!hoistBefore(op.getWeight(), first, dom) ||
          (op.getBias() && !hoistBefore(op.getBias(), first, dom)))
        return;
    }
    // A gated MLP's pair: gate first in the weights, whatever the program
    // order, so one glu reads the halves.
    std::optional<Gate> gate;
    if (ops.size() == 2 && (gate = matchGate(ops[0], ops[1])))
      ops = {gate->gate, gate->up};

    OpBuilder b(first);
    Location loc = b.getFusedLoc(llvm::map_to_vector(
        ops, [](LinearOp op) { return op.getLoc(); }));
    int64_t outAxis = transposed ? 1 : 0;
    int64_t in = first.getWeight().getType().getDimSize(1 - outAxis);
    int64_t totalOut = 0;
    SmallVector<Value> weights, biases;
    for (LinearOp op : ops) {
      totalOut += op.getWeight().getType().getDimSize(outAxis);
      weights.push_back(op.getWeight());
      if (op.getBias())
        biases.push_back(op.getBias());
    }
    SmallVector<int64_t> wShape = transposed ? SmallVector<int64_t>{in, totalOut}
                                             : SmallVector<int64_t>{totalOut, in};
    Value weight = ConcatOp::create(b, loc,
                                    RankedTensorType::get(wShape, weightElt),
                                    weights, b.getI64IntegerAttr(outAxis));
    Value bias;
    if (!biases.empty())
      bias = ConcatOp::create(b, loc, RankedTensorType::get({totalOut}, elt),
                              biases, b.getI64IntegerAttr(0));
    auto inType = first.getInput().getType();
    SmallVector<int64_t> outShape(inType.getShape());
    outShape.back() = totalOut;
    auto fused = LinearOp::create(
        b, loc, RankedTensorType::get(outShape, elt), first.getInput(),
        cast<TypedValue<RankedTensorType>>(weight), bias, transposed);
    if (gate) {
      // act(gate) * up in one op where the product was.
      b.setInsertionPoint(gate->product);
      auto glu = GluOp::create(b, gate->product.getLoc(),
                               gate->product.getType(), gate->kind, fused);
      gate->product.replaceAllUsesWith(glu.getResult());
      gate->product.erase();
      gate->activation->erase();
      gate->gate.erase();
      gate->up.erase();
      return;
    }
    // All slices first (the builder sits before the first original), then
    // the originals go.
    int64_t offset = 0;
    SmallVector<Value> slices;
    for (LinearOp op : ops) {
      SmallVector<int64_t> offsets(outShape.size(), 0);
      offsets.back() = offset;
      offset += op.getWeight().getType().getDimSize(outAxis);
      slices.push_back(SliceOp::create(b, op.getLoc(), op.getType(), fused,
                                       b.getDenseI64ArrayAttr(offsets)));
    }
    for (auto [op, slice] : llvm::zip_equal(ops, slices)) {
      op.replaceAllUsesWith(slice);
      op.erase();
    }
  }
};

} // namespace
