//===- PlanKVCache.cpp - Plan the KV cache arena --------------------------===//

#include "xformer/Analysis/KVCachePlan.h"
#include "xformer/IR/XformerOps.h"
#include "xformer/Transforms/Passes.h"

#include "mlir/IR/Builders.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"

namespace mlir::xformer {
#define GEN_PASS_DEF_XFORMERPLANKVCACHE
#include "xformer/Transforms/Passes.h.inc"
} // namespace mlir::xformer

using namespace mlir;
using namespace mlir::xformer;

namespace {

std::optional<CacheStorage> storageOf(Type type) {
  if (type.isF32())
    return CacheStorage::F32;
  if (type.isF16())
    return CacheStorage::F16;
  if (type.isBF16())
    return CacheStorage::BF16;
  return std::nullopt;
}

struct XformerPlanKVCachePass
    : mlir::xformer::impl::XformerPlanKVCacheBase<XformerPlanKVCachePass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    PlanOptions options;
    options.maxBatch = maxBatch;
    options.maxSeqLen = maxSeqLen;
    options.maxSourceLen = maxSourceLen;
    options.alignment = alignment;
    options.blockSize = blockSize;
    options.paged = layout == CacheLayout::paged;
    if (!budget.empty()) {
      options.budget = parseByteSize(budget);
      if (!options.budget) {
        module.emitError() << "xformer-plan-kv-cache: cannot read budget '"
                           << budget
                           << "'; expected bytes with an optional "
                              "KiB/MiB/GiB/TiB or KB/MB/GB/TB suffix";
        return signalPassFailure();
      }
    }
    std::optional<CacheStorage> forced;
    switch (cacheDtype) {
    case CacheDtype::model: break;
    case CacheDtype::f32: forced = CacheStorage::F32; break;
    case CacheDtype::f16: forced = CacheStorage::F16; break;
    case CacheDtype::bf16: forced = CacheStorage::BF16; break;
    case CacheDtype::fp8: forced = CacheStorage::FP8; break;
    case CacheDtype::int8: forced = CacheStorage::Int8; break;
    }

    SmallVector<KVCacheOp> ops;
    std::vector<CacheDesc> descs;
    for (KVCacheOp op : module.getOps<KVCacheOp>()) {
      CacheDesc d;
      d.name = op.getSymName().str();
      d.kind = op.getKind() == CacheKind::self   ? CacheDesc::Kind::Self
               : op.getKind() == CacheKind::ring ? CacheDesc::Kind::Ring
                                                 : CacheDesc::Kind::Cross;
      d.kvHeads = op.getKvHeadsAttr().getInt();
      d.headDim = op.getHeadDimAttr().getInt();
      d.window = op.getWindowAttr() ? op.getWindowAttr().getInt() : 0;
      d.chunk = op.getChunkAttr() ? op.getChunkAttr().getInt() : 1;
      std::optional<CacheStorage> storage =
          forced ? forced : storageOf(op.getElementType());
      if (!storage) {
        op.emitOpError("cannot store element type ")
            << op.getElementType() << "; pass cache-dtype";
        return signalPassFailure();
      }
      d.storage = *storage;
      descs.push_back(d);
      ops.push_back(op);
    }

    std::string error;
    std::optional<KVPlan> plan = planKVCache(descs, options, error);
    if (!plan) {
      module.emitError() << "xformer-plan-kv-cache: " << error;
      return signalPassFailure();
    }

    Builder b(module.getContext());
    for (auto [op, p] : llvm::zip_equal(ops, plan->caches)) {
      op.setCapacityAttr(b.getI64IntegerAttr(p.capacity));
      op.setOffsetAttr(b.getI64IntegerAttr(p.offset));
      op.setBytesAttr(b.getI64IntegerAttr(p.bytes));
    }
    SmallVector<NamedAttribute> entries = {
        b.getNamedAttr("layout", b.getStringAttr(options.paged ? "paged"
                                                               : "contiguous")),
        b.getNamedAttr("cache_dtype",
                       b.getStringAttr(forced ? cacheStorageName(*forced)
                                              : "model")),
        b.getNamedAttr("max_batch", b.getI64IntegerAttr(options.maxBatch)),
        b.getNamedAttr("max_seq_len", b.getI64IntegerAttr(options.maxSeqLen)),
        b.getNamedAttr("bytes_per_token",
                       b.getI64IntegerAttr(plan->bytesPerToken)),
        b.getNamedAttr("bytes_per_sequence",
                       b.getI64IntegerAttr(plan->bytesPerSequence)),
        b.getNamedAttr("total_bytes", b.getI64IntegerAttr(plan->totalBytes))};
    if (options.paged) {
      entries.push_back(
          b.getNamedAttr("block_size", b.getI64IntegerAttr(options.blockSize)));
      entries.push_back(
          b.getNamedAttr("num_blocks", b.getI64IntegerAttr(plan->numBlocks)));
      entries.push_back(b.getNamedAttr(
          "block_table_entries", b.getI64IntegerAttr(plan->blockTableEntries)));
      entries.push_back(b.getNamedAttr(
          "block_table_offset", b.getI64IntegerAttr(plan->blockTableOffset)));
    }
    if (plan->sequencesFit)
      entries.push_back(b.getNamedAttr(
          "sequences_fit", b.getI64IntegerAttr(*plan->sequencesFit)));
    module->setAttr(XformerDialect::kKVPlanAttrName,
                    b.getDictionaryAttr(entries));

    if (!report.empty()) {
      std::string json = kvPlanToJSON(descs, options, *plan);
      if (report == "-") {
        llvm::outs() << json;
      } else {
        std::error_code ec;
        llvm::raw_fd_ostream os(report, ec, llvm::sys::fs::OF_Text);
        if (ec) {
          module.emitError() << "xformer-plan-kv-cache: cannot write report '"
                             << report << "': " << ec.message();
          return signalPassFailure();
        }
        os << json;
      }
    }
  }
};

} // namespace
