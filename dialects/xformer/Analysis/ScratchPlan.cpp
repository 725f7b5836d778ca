//===- ScratchPlan.cpp - Where each tensor of a function lives ------------===//

#include "xformer/Analysis/ScratchPlan.h"
#include "xformer/IR/XformerOps.h"
#include "xformer/Support/GGMLBlocks.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/SymbolTable.h"

#include <map>

using namespace mlir;
using namespace mlir::xformer;

ArrayRef<int64_t> ScratchPlan::shapeOf(Value v) const {
  auto it = shapes.find(v);
  if (it != shapes.end())
    return it->second;
  return cast<RankedTensorType>(v.getType()).getShape();
}

int64_t mlir::xformer::elementBytes(Type elementType) {
  if (elementType.isInteger(1) || isa<GGMLType>(elementType))
    return 1;
  return elementType.isIntOrFloat() ? elementType.getIntOrFloatBitWidth() / 8
                                    : 0;
}

std::optional<int64_t>
mlir::xformer::storedTensorBytes(ArrayRef<int64_t> shape, Type elementType) {
  constexpr int64_t kLimit = int64_t(1) << 48;
  if (llvm::any_of(shape, [](int64_t d) { return d < 0; }))
    return std::nullopt;
  if (auto g = dyn_cast<GGMLType>(elementType)) {
    if (shape.size() != 2)
      return std::nullopt;
    int64_t n = ::xformer::ggmlBytes(
        *::xformer::ggmlBlockLayout(uint32_t(g.getFormat())), shape[0],
        shape[1]);
    if (n < 0 || n > kLimit)
      return std::nullopt;
    return n;
  }
  int64_t n = elementBytes(elementType);
  for (int64_t d : shape)
    if (__builtin_mul_overflow(n, d, &n) || n > kLimit)
      return std::nullopt;
  return n;
}

std::optional<int64_t> mlir::xformer::viewOffset(Operation *op) {
  if (isa<ReshapeOp>(op))
    return 0;
  if (op->getNumOperands() < 1 || op->getNumResults() != 1)
    return std::nullopt;
  auto in = dyn_cast<RankedTensorType>(op->getOperand(0).getType());
  auto res = dyn_cast<RankedTensorType>(op->getResult(0).getType());
  if (!in || !res || !in.hasStaticShape() || !res.hasStaticShape())
    return std::nullopt;
  ArrayRef<int64_t> is = in.getShape(), rs = res.getShape();
  // Permutations that keep the order of the non-unit dimensions.
  auto keepsOrder = [](ArrayRef<int64_t> shape, ArrayRef<int64_t> perm) {
    int64_t last = -1;
    for (int64_t p : perm) {
      if (shape[p] == 1)
        continue;
      if (p < last)
        return false;
      last = p;
    }
    return true;
  };
  std::optional<int64_t> none;
  if (auto t = dyn_cast<TransposeOp>(op))
    return keepsOrder(is, t.getPermutation()) ? std::optional<int64_t>(0)
                                              : none;
  if (isa<SplitHeadsOp>(op)) // [B, S, H*D] as [B, S, H, D] -> [B, H, S, D]
    return keepsOrder({rs[0], rs[2], rs[1], rs[3]}, {0, 2, 1, 3})
               ? std::optional<int64_t>(0)
               : none;
  if (isa<MergeHeadsOp>(op))
    return keepsOrder(is, {0, 2, 1, 3}) ? std::optional<int64_t>(0) : none;
  auto slice = dyn_cast<SliceOp>(op);
  if (!slice)
    return none;
  // Leading single indices, one partial dimension, then whole ones.
  const size_t rank = is.size();
  size_t k = 0;
  while (k < rank && rs[k] == 1)
    ++k;
  for (size_t d = k + 1; d < rank; ++d)
    if (rs[d] != is[d])
      return none;
  int64_t offset = 0, stride = elementBytes(in.getElementType());
  for (size_t d = rank; d-- > 0;) {
    offset += slice.getOffsets()[d] * stride;
    stride *= is[d];
  }
  return offset;
}

namespace {

int64_t product(ArrayRef<int64_t> s) {
  int64_t n = 1;
  for (int64_t d : s)
    n *= d;
  return n;
}

constexpr int64_t kAlign = 64;
int64_t alignUp(int64_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

/// Ops that need no bytes of their own: index arithmetic, constants (static
/// arrays), weights, cache appends and the return.
bool ownsNoBytes(Operation *op) {
  return isa<func::ReturnOp, arith::ConstantIndexOp, arith::ConstantOp,
             tensor::DimOp, WeightOp, CacheAppendOp>(op) ||
         isWeightConcat(op);
}

KVCacheOp cacheOf(CacheReadOp read) {
  return SymbolTable::lookupNearestSymbolFrom<KVCacheOp>(read,
                                                         read.getCacheAttr());
}

/// Shapes the types leave dynamic and the compile-time index values.
LogicalResult resolveShapes(func::FuncOp func, ScratchPlan &plan) {
  for (auto [i, arg] : llvm::enumerate(func.getArguments()))
    if (auto t = dyn_cast<RankedTensorType>(arg.getType());
        t && t.hasStaticShape() &&
        !storedTensorBytes(t.getShape(), t.getElementType()))
      return func.emitError() << "argument #" << i << " (" << t
                              << ") is larger than 2^48 bytes";
  for (Operation &op : func.getBody().front()) {
    if (auto cst = dyn_cast<arith::ConstantIndexOp>(op)) {
      plan.indexValues[cst.getResult()] = cst.value();
    } else if (auto dim = dyn_cast<tensor::DimOp>(op)) {
      std::optional<int64_t> d = dim.getConstantIndex();
      ArrayRef<int64_t> shape = plan.shapeOf(dim.getSource());
      if (!d || *d < 0 || *d >= int64_t(shape.size()) ||
          ShapedType::isDynamic(shape[*d]))
        return op.emitError("cannot resolve this dimension at compile time");
      plan.indexValues[dim.getResult()] = shape[*d];
    } else if (auto p = dyn_cast<PositionsOp>(op)) {
      int64_t n = cast<RankedTensorType>(p.getType()).getDimSize(0);
      if (p.getSize()) {
        auto it = plan.indexValues.find(p.getSize());
        if (it == plan.indexValues.end())
          return op.emitError("needs a size known at compile time");
        n = it->second;
      }
      plan.shapes[p.getResult()] = {n};
    } else if (auto b = dyn_cast<RelativePositionBiasOp>(op)) {
      SmallVector<int64_t> shape(
          cast<RankedTensorType>(b.getType()).getShape());
      shape.back() = plan.shapeOf(b.getKeyPositions()).back();
      plan.shapes[b.getResult()] = shape;
    } else if (auto read = dyn_cast<CacheReadOp>(op)) {
      KVCacheOp cache = cacheOf(read);
      if (!cache || !cache.getCapacity())
        return op.emitError("reads a cache without a planned capacity "
                            "(run --xformer-plan-kv-cache)");
      SmallVector<int64_t> shape(
          cast<RankedTensorType>(read.getKey().getType()).getShape());
      shape[2] = *cache.getCapacity();
      plan.shapes[read.getKey()] = shape;
      plan.shapes[read.getValue()] = shape;
    }
    // An attention's mask and bias broadcast to [b, h, q, kv] must fit too.
    if (auto a = dyn_cast<AttentionOp>(op)) {
      ArrayRef<int64_t> qs = plan.shapeOf(a.getQuery()),
                        ks = plan.shapeOf(a.getKey());
      for (Value v : {a.getMaskTensor(), a.getBias()}) {
        if (!v || qs.size() != 4 || ks.size() != 4)
          continue;
        ArrayRef<int64_t> vs = plan.shapeOf(v);
        SmallVector<int64_t> full(4 - std::min<size_t>(4, vs.size()), 1);
        llvm::append_range(full, vs);
        auto vt = cast<RankedTensorType>(v.getType());
        if (full.size() != 4 ||
            !storedTensorBytes({full[0], full[1], qs[2], ks[2]},
                               vt.getElementType()))
          return op.emitError("broadcasts a mask or bias of shape [")
                 << llvm::make_range(vs.begin(), vs.end())
                 << "] to more than 2^48 bytes";
      }
    }
    for (auto [i, r] : llvm::enumerate(op.getResults())) {
      auto t = dyn_cast<RankedTensorType>(r.getType());
      if (!t)
        continue;
      if (!t.hasStaticShape() && !plan.shapes.count(r))
        return op.emitError("has a result of dynamic shape ")
               << t << " that no cache or position count resolves";
      if (storedTensorBytes(plan.shapeOf(r), t.getElementType()))
        continue;
      if (t.hasStaticShape())
        return op.emitError() << "result #" << i << " (" << t
                               << ") is larger than 2^48 bytes";
      return op.emitError("has a result of shape [")
             << llvm::make_range(plan.shapeOf(r).begin(),
                                 plan.shapeOf(r).end())
             << "] (its sizes resolved) that is negative or larger than "
                "2^48 bytes";
    }
  }
  return success();
}

/// Bytes of `v` as the plan stores it.
int64_t bytesOf(const ScratchPlan &plan, Value v) {
  return product(plan.shapeOf(v)) *
         elementBytes(cast<RankedTensorType>(v.getType()).getElementType());
}

/// Broadcast buffers an attention needs: its mask tensor and bias where
/// they are not already [b, h, q, kv]; 0 when none.
std::array<int64_t, 2> attentionTemps(const ScratchPlan &plan,
                                      AttentionOp a) {
  ArrayRef<int64_t> qs = plan.shapeOf(a.getQuery()),
                    ks = plan.shapeOf(a.getKey());
  auto need = [&](Value v, int64_t bytes) -> int64_t {
    if (!v)
      return 0;
    ArrayRef<int64_t> s = plan.shapeOf(v);
    SmallVector<int64_t> shape(4 - std::min<size_t>(4, s.size()), 1);
    llvm::append_range(shape, s);
    if (shape[2] == qs[2] && shape[3] == ks[2])
      return 0;
    return shape[0] * shape[1] * qs[2] * ks[2] * bytes;
  };
  return {need(a.getMaskTensor(), 1), need(a.getBias(), 4)};
}

/// First-fit over one buffer, coalescing freed neighbours.
class Arena {
public:
  int64_t allocate(int64_t bytes) {
    bytes = alignUp(std::max<int64_t>(bytes, 1));
    for (auto it = freeList.begin(); it != freeList.end(); ++it) {
      if (it->second < bytes)
        continue;
      int64_t offset = it->first, size = it->second;
      freeList.erase(it);
      if (size > bytes)
        freeList[offset + bytes] = size - bytes;
      return offset;
    }
    // Grow the top, merging a free block that ends there.
    if (!freeList.empty()) {
      auto last = std::prev(freeList.end());
      if (last->first + last->second == top) {
        int64_t offset = last->first;
        freeList.erase(last);
        top = offset + bytes;
        return offset;
      }
    }
    int64_t offset = top;
    top += bytes;
    return offset;
  }

  void release(int64_t offset, int64_t bytes) {
    bytes = alignUp(std::max<int64_t>(bytes, 1));
    auto it = freeList.emplace(offset, bytes).first;
    auto next = std::next(it);
    if (next != freeList.end() && it->first + it->second == next->first) {
      it->second += next->second;
      freeList.erase(next);
    }
    if (it != freeList.begin()) {
      auto prev = std::prev(it);
      if (prev->first + prev->second == it->first) {
        prev->second += it->second;
        freeList.erase(it);
      }
    }
  }

  int64_t size() const { return top; }

private:
  std::map<int64_t, int64_t> freeList; // offset -> bytes
  int64_t top = 0;
};

/// Lifetimes in program order: each view's owner (the value whose bytes
/// it names) and the index of each owner's last reader.
struct Lifetimes {
  llvm::DenseMap<Value, Value> owner;
  llvm::DenseMap<Value, unsigned> lastUse;

  Value ownerOf(Value v) const {
    Value o = owner.lookup(v);
    return o ? o : v;
  }
};

Lifetimes lifetimes(func::FuncOp func, const llvm::DenseMap<Value, int64_t> &views) {
  Lifetimes l;
  unsigned index = 0;
  for (Operation &op : func.getBody().front()) {
    for (Value operand : op.getOperands())
      l.lastUse[l.ownerOf(operand)] = index;
    if (op.getNumResults() == 1 && views.count(op.getResult(0)))
      l.owner[op.getResult(0)] = l.ownerOf(op.getOperand(0));
    ++index;
  }
  return l;
}

/// Calls `dead(owner)` for each owner whose last reader is the op at
/// `index` (and for results nobody reads).
template <typename F>
void forEachDead(Operation &op, unsigned index, const Lifetimes &l, F dead) {
  llvm::SmallPtrSet<Value, 8> seen;
  auto consider = [&](Value v) {
    Value o = l.ownerOf(v);
    if (seen.insert(o).second && l.lastUse.lookup(o) <= index)
      dead(o);
  };
  for (Value operand : op.getOperands())
    consider(operand);
  for (Value result : op.getResults())
    if (result.use_empty())
      consider(result);
}

/// The views of `func`: results that are operand #0's bytes.
llvm::DenseMap<Value, int64_t> findViews(func::FuncOp func) {
  llvm::DenseMap<Value, int64_t> views;
  for (Operation &op : func.getBody().front())
    if (std::optional<int64_t> offset = viewOffset(&op))
      views[op.getResult(0)] = *offset;
  return views;
}

/// Temps of `op` and their sizes, in the order they are placed.
SmallVector<int64_t> tempSizes(const ScratchPlan &plan, Operation &op) {
  if (auto read = dyn_cast<CacheReadOp>(op)) {
    KVCacheOp cache = cacheOf(read);
    if (cache && cache.getKind() == CacheKind::ring)
      return {bytesOf(plan, read.getKey()), bytesOf(plan, read.getValue())};
    return {};
  }
  if (auto a = dyn_cast<AttentionOp>(op)) {
    std::array<int64_t, 2> t = attentionTemps(plan, a);
    if (t[0] || t[1])
      return {t[0], t[1]};
  }
  return {};
}

} // namespace

FailureOr<ScratchPlan> mlir::xformer::planScratch(func::FuncOp func) {
  ScratchPlan plan;
  if (failed(resolveShapes(func, plan)))
    return failure();
  plan.views = findViews(func);
  Lifetimes l = lifetimes(func, plan.views);
  Arena arena;
  llvm::DenseMap<Value, int64_t> held; // owner -> bytes
  unsigned index = 0;
  for (Operation &op : func.getBody().front()) {
    if (!ownsNoBytes(&op) && !isa<CacheReadOp>(op) &&
        !(op.getNumResults() == 1 && plan.views.count(op.getResult(0))))
      for (Value r : op.getResults()) {
        if (!isa<RankedTensorType>(r.getType()))
          continue;
        int64_t bytes = bytesOf(plan, r);
        plan.offsets[r] = arena.allocate(bytes);
        held[r] = bytes;
      }
    // Temps: a ring cache's unrolled copy is held for the whole function
    // (it is small); an attention's broadcasts live while it runs.
    SmallVector<int64_t> sizes = tempSizes(plan, op);
    if (!sizes.empty()) {
      SmallVector<int64_t> &temps = plan.temps[&op];
      for (int64_t bytes : sizes)
        temps.push_back(bytes ? arena.allocate(bytes) : -1);
      if (isa<AttentionOp>(op))
        for (auto [offset, bytes] : llvm::zip(temps, sizes))
          if (bytes)
            arena.release(offset, bytes);
    }
    forEachDead(op, index++, l, [&](Value owner) {
      auto it = held.find(owner);
      if (it == held.end())
        return;
      arena.release(plan.offsets[owner], it->second);
      held.erase(it);
    });
  }
  plan.bytes = arena.size();
  return plan;
}

void mlir::xformer::writeScratchPlan(func::FuncOp func,
                                     const ScratchPlan &plan) {
  Builder b(func.getContext());
  for (Operation &op : func.getBody().front()) {
    op.removeAttr(kScratchAttr);
    op.removeAttr(kViewAttr);
    op.removeAttr(kScratchTempsAttr);
    SmallVector<int64_t> offsets;
    bool any = false;
    for (Value r : op.getResults()) {
      auto it = plan.offsets.find(r);
      offsets.push_back(it == plan.offsets.end() ? -1 : it->second);
      any |= it != plan.offsets.end();
    }
    if (any)
      op.setAttr(kScratchAttr, b.getDenseI64ArrayAttr(offsets));
    if (op.getNumResults() == 1)
      if (auto it = plan.views.find(op.getResult(0)); it != plan.views.end())
        op.setAttr(kViewAttr, b.getI64IntegerAttr(it->second));
    if (auto it = plan.temps.find(&op); it != plan.temps.end())
      op.setAttr(kScratchTempsAttr, b.getDenseI64ArrayAttr(it->second));
  }
  func->setAttr(kScratchBytesAttr, b.getI64IntegerAttr(plan.bytes));
}

FailureOr<ScratchPlan> mlir::xformer::readOrPlanScratch(func::FuncOp func) {
  auto total = func->getAttrOfType<IntegerAttr>(kScratchBytesAttr);
  if (!total)
    return planScratch(func);
  // The plan as written, checked: every view is one, every buffer lies in
  // the scratch, no two live buffers overlap.
  ScratchPlan plan;
  if (failed(resolveShapes(func, plan)))
    return failure();
  plan.bytes = total.getInt();
  if (plan.bytes < 0)
    return func.emitError("scratch of ") << plan.bytes << " bytes";
  llvm::DenseMap<Value, int64_t> expectViews = findViews(func);
  for (Operation &op : func.getBody().front()) {
    auto view = op.getAttrOfType<IntegerAttr>(kViewAttr);
    std::optional<int64_t> actual =
        op.getNumResults() == 1 ? viewOffset(&op) : std::nullopt;
    if (view && (!actual || *actual != view.getInt()))
      return op.emitError("is not a view at byte ")
             << view.getInt() << " of its operand";
    if (!view && actual)
      return op.emitError("is a view at byte ")
             << *actual << " of its operand, but the plan gives it none";
    if (view)
      plan.views[op.getResult(0)] = view.getInt();
    if (auto offsets = op.getAttrOfType<DenseI64ArrayAttr>(kScratchAttr)) {
      if (offsets.size() != int64_t(op.getNumResults()))
        return op.emitError("has ") << offsets.size()
                                    << " scratch offsets for "
                                    << op.getNumResults() << " results";
      for (auto [r, offset] : llvm::zip(op.getResults(), offsets.asArrayRef()))
        if (offset >= 0)
          plan.offsets[r] = offset;
    }
    if (auto temps = op.getAttrOfType<DenseI64ArrayAttr>(kScratchTempsAttr))
      plan.temps[&op] = SmallVector<int64_t>(temps.asArrayRef());
  }
  // Every result that needs bytes has them, inside the buffer, apart from
  // every buffer live beside it.
  Lifetimes l = lifetimes(func, plan.views);
  std::map<int64_t, std::pair<int64_t, Value>> live; // offset -> (end, owner)
  auto place = [&](Operation &op, int64_t offset, int64_t bytes,
                   Value owner) -> LogicalResult {
    const int64_t size = alignUp(std::max<int64_t>(bytes, 1));
    if (offset < 0 || offset % kAlign || offset > plan.bytes ||
        size > plan.bytes - offset)
      return op.emitError("scratch at byte ")
             << offset << " (" << bytes << " bytes) is not a 64-byte "
             << "aligned place in the " << plan.bytes << "-byte scratch";
    const int64_t end = offset + size;
    auto next = live.lower_bound(offset);
    if ((next != live.end() && next->first < end) ||
        (next != live.begin() && std::prev(next)->second.first > offset))
      return op.emitError("scratch at byte ")
             << offset << " overlaps a tensor still in use";
    live[offset] = {end, owner};
    return success();
  };
  auto drop = [&](Value owner) {
    for (auto it = live.begin(); it != live.end(); ++it)
      if (it->second.second == owner) {
        live.erase(it);
        return;
      }
  };
  unsigned index = 0;
  for (Operation &op : func.getBody().front()) {
    const bool owns =
        !ownsNoBytes(&op) && !isa<CacheReadOp>(op) &&
        !(op.getNumResults() == 1 && plan.views.count(op.getResult(0)));
    for (Value r : op.getResults()) {
      if (!owns || !isa<RankedTensorType>(r.getType()))
        continue;
      auto it = plan.offsets.find(r);
      if (it == plan.offsets.end())
        return op.emitError("has no scratch for its result");
      if (failed(place(op, it->second, bytesOf(plan, r), r)))
        return failure();
    }
    SmallVector<int64_t> sizes = tempSizes(plan, op);
    SmallVector<int64_t> temps = plan.temps.lookup(&op);
    if (temps.size() != sizes.size())
      return op.emitError("needs ")
             << sizes.size() << " scratch temps, the plan gives "
             << temps.size();
    for (auto [offset, bytes] : llvm::zip(temps, sizes))
      if (bytes && failed(place(op, offset, bytes, Value())))
        return failure();
    // A ring copy is held to the end; an attention's broadcasts only while
    // it runs.
    if (isa<AttentionOp>(op))
      for (auto [offset, bytes] : llvm::zip(temps, sizes))
        if (bytes)
          live.erase(offset);
    forEachDead(op, index++, l, [&](Value owner) { drop(owner); });
  }
  return plan;
}
