//===- CachePatterns.cpp - KV cache reads and appends to kernel calls -----===//
//
// Caches are entries of the module's kCaches table, laid out in the frame's
// KV arena by xformer-plan-kv-cache. A read names the cached keys and values
// in place (self and cross caches) or unrolls a ring into the scratch the
// plan holds for it; the kernel returns the pointers.
//
//===----------------------------------------------------------------------===//

#include "Lowering.h"

using namespace mlir;
using namespace mlir::xformer;
using namespace mlir::xformer::to_emitc;

namespace {

/// `&kCaches[index]`.
Value cacheDesc(OpBuilder &b, Location loc, int32_t index) {
  MLIRContext *ctx = b.getContext();
  return literal(b, loc,
                 emitc::PointerType::get(opaqueType(ctx, "const xfm_cache_desc")),
                 "&kCaches[" + std::to_string(index) + "]");
}

struct CacheReadLowering : LoweringPattern<CacheReadOp> {
  using LoweringPattern::LoweringPattern;
  LogicalResult
  matchAndRewrite(CacheReadOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    MLIRContext *ctx = op.getContext();
    Location loc = op.getLoc();
    const int32_t ci = state.cacheIndex(op.getCache());
    KVCacheOp cache = state.caches.lookup(op.getCache());
    ArrayRef<int64_t> shape = state.shapeOf(op, op.getKey()); // at capacity
    Type constPtr = emitc::PointerType::get(opaqueType(ctx, "const float"));
    Type f32Ptr = pointerType(ctx, rewriter.getF32Type());
    commentOp(rewriter, state, op);
    auto pointer = [&] {
      return emitc::VariableOp::create(rewriter, loc,
                                       emitc::LValueType::get(constPtr),
                                       emitc::OpaqueAttr::get(ctx, "0"))
          .getResult();
    };
    Value k = pointer(), v = pointer();
    KernelCall call(state, op, "xfk_cache_read");
    call.frame()
        .value(cacheDesc(rewriter, loc, ci))
        .integer(ci)
        .integer(state.maxBatch)
        .integer(shape[0]);
    if (cache.getKind() == CacheKind::ring) {
      // The unrolled ring, in the scratch the plan holds for it.
      SmallVector<int64_t> temps = state.frameOf(op).plan.temps.lookup(op);
      call.value(scratchAt(rewriter, state, op, temps[0], f32Ptr))
          .value(scratchAt(rewriter, state, op, temps[1], f32Ptr));
    } else {
      call.opaque("0").opaque("0");
    }
    auto address = [&](Value var) {
      return emitc::AddressOfOp::create(
          rewriter, loc, emitc::PointerType::get(constPtr), var);
    };
    call.value(address(k)).value(address(v)).emit(rewriter);
    auto load = [&](Value var) -> Value {
      Value loaded = emitc::LoadOp::create(rewriter, loc, constPtr, var);
      return emitc::CastOp::create(rewriter, loc, f32Ptr, loaded);
    };
    rewriter.replaceOp(op, ValueRange{load(k), load(v)});
    return success();
  }
};

struct CacheAppendLowering : LoweringPattern<CacheAppendOp> {
  using LoweringPattern::LoweringPattern;
  LogicalResult
  matchAndRewrite(CacheAppendOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    const int32_t ci = state.cacheIndex(op.getCache());
    auto ks = state.shapeOf(op, op.getKey());
    Value lengths = op.getLengths();
    KernelCall(state, op, "xfk_cache_append")
        .frame()
        .value(cacheDesc(rewriter, op.getLoc(), ci))
        .integer(ci)
        .integer(state.maxBatch)
        .value(adaptor.getKey())
        .value(adaptor.getValue())
        .integer(ks[0])
        .integer(ks[2])
        .value(adaptor.getStart())
        .opaque(dtypeName(elementOf(op.getStart())))
        .valueOrNull(adaptor.getLengths())
        .opaque(lengths ? dtypeName(elementOf(lengths)) : "XFM_I64")
        .emit(rewriter);
    rewriter.eraseOp(op);
    return success();
  }
};

} // namespace

void mlir::xformer::to_emitc::populateCachePatterns(
    LoweringState &state, const TypeConverter &converter,
    RewritePatternSet &patterns) {
  patterns.add<CacheReadLowering, CacheAppendLowering>(state, converter);
}
