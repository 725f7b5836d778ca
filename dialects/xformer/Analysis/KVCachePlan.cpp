//===- KVCachePlan.cpp - Size and place KV caches -------------------------===//

#include "xformer/Analysis/KVCachePlan.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir::xformer;

int64_t mlir::xformer::storageBytes(CacheStorage storage) {
  switch (storage) {
  case CacheStorage::F32:
    return 4;
  case CacheStorage::F16:
  case CacheStorage::BF16:
    return 2;
  case CacheStorage::FP8:
  case CacheStorage::Int8:
    return 1;
  }
  return 0;
}

bool mlir::xformer::storageHasScales(CacheStorage storage) {
  return storage == CacheStorage::FP8 || storage == CacheStorage::Int8;
}

const char *mlir::xformer::cacheStorageName(CacheStorage storage) {
  switch (storage) {
  case CacheStorage::F32:
    return "f32";
  case CacheStorage::F16:
    return "f16";
  case CacheStorage::BF16:
    return "bf16";
  case CacheStorage::FP8:
    return "fp8";
  case CacheStorage::Int8:
    return "int8";
  }
  return "?";
}

std::optional<int64_t> mlir::xformer::parseByteSize(const std::string &text) {
  llvm::StringRef s = llvm::StringRef(text).trim();
  size_t digits = 0;
  while (digits < s.size() && llvm::isDigit(s[digits]))
    ++digits;
  if (digits == 0)
    return std::nullopt;
  uint64_t value;
  if (s.take_front(digits).getAsInteger(10, value))
    return std::nullopt;
  llvm::StringRef suffix = s.drop_front(digits).trim();
  struct Unit {
    const char *name;
    uint64_t factor;
  };
  static const Unit units[] = {
      {"", 1},         {"B", 1},
      {"KiB", 1ull << 10}, {"MiB", 1ull << 20}, {"GiB", 1ull << 30},
      {"TiB", 1ull << 40}, {"KB", 1000ull},     {"MB", 1000000ull},
      {"GB", 1000000000ull}, {"TB", 1000000000000ull}};
  for (const Unit &u : units)
    if (suffix == u.name) {
      if (value > (uint64_t(INT64_MAX) / u.factor))
        return std::nullopt;
      return static_cast<int64_t>(value * u.factor);
    }
  return std::nullopt;
}

static int64_t alignTo(int64_t x, int64_t a) { return (x + a - 1) / a * a; }
static int64_t ceilDiv(int64_t x, int64_t y) { return (x + y - 1) / y; }

static std::string bytesText(int64_t bytes) {
  std::string out;
  llvm::raw_string_ostream os(out);
  os << bytes << " bytes";
  if (bytes >= (int64_t(1) << 30))
    os << llvm::format(" (%.2f GiB)", double(bytes) / double(1 << 30));
  else if (bytes >= (int64_t(1) << 20))
    os << llvm::format(" (%.2f MiB)", double(bytes) / double(1 << 20));
  return out;
}

std::optional<KVPlan>
mlir::xformer::planKVCache(const std::vector<CacheDesc> &caches,
                           const PlanOptions &o, std::string &error) {
  auto fail = [&](const std::string &msg) -> std::optional<KVPlan> {
    error = msg;
    return std::nullopt;
  };
  if (o.maxBatch <= 0 || o.maxSeqLen <= 0 || o.maxSourceLen < 0)
    return fail("max-batch and max-seq-len must be positive and "
                "max-source-len non-negative (got " +
                std::to_string(o.maxBatch) + ", " +
                std::to_string(o.maxSeqLen) + ", " +
                std::to_string(o.maxSourceLen) + ")");
  if (o.alignment <= 0 || (o.alignment & (o.alignment - 1)))
    return fail("alignment must be a positive power of two, got " +
                std::to_string(o.alignment));
  if (o.paged && o.blockSize <= 0)
    return fail("layout=paged needs a positive block-size, got " +
                std::to_string(o.blockSize));
  if (caches.empty())
    return fail("the module declares no xformer.kv_cache: derive the prefill "
                "and decode programs first");
  int64_t sourceLen = o.maxSourceLen ? o.maxSourceLen : o.maxSeqLen;

  // Every byte count below is at most this bound, computed without
  // overflow first: a plan whose arena would not fit in 2^60 bytes is
  // refused instead of wrapping around.
  {
    using Wide = __int128;
    const Wide limit = Wide(1) << 60;
    Wide bound = Wide(o.alignment) * Wide(caches.size() + 2);
    const Wide blocksPerSeq =
        o.paged ? (Wide(o.maxSeqLen) + o.blockSize - 1) / o.blockSize : 0;
    const Wide blocks = blocksPerSeq * o.blockSize; // positions, paged
    bound += Wide(o.maxBatch) * blocksPerSeq * 4;   // the block table
    for (const CacheDesc &c : caches) {
      if (c.kvHeads < 0 || c.headDim < 0 || c.window < 0 || c.chunk < 0)
        return fail("cache '" + c.name + "' has a negative size");
      const Wide perPosition =
          2 * Wide(c.kvHeads) * (Wide(c.headDim) * storageBytes(c.storage) + 4);
      Wide positions = c.kind == CacheDesc::Kind::Cross ? Wide(sourceLen)
                                                        : Wide(o.maxSeqLen);
      if (c.kind == CacheDesc::Kind::Self && o.paged)
        positions = std::max(positions, blocks);
      if (c.kind == CacheDesc::Kind::Ring)
        positions = std::min<Wide>(positions, Wide(c.window) + c.chunk);
      bound += Wide(o.maxBatch) * positions * perPosition * 2;
      if (bound > limit)
        return fail("the KV caches of " + std::to_string(o.maxBatch) +
                    " sequences of max-seq-len " +
                    std::to_string(o.maxSeqLen) +
                    " need more than 2^60 bytes: lower max-seq-len or "
                    "max-batch");
    }
  }

  KVPlan plan;
  plan.caches.resize(caches.size());
  int64_t pagedBytesPerPosition = 0;
  for (size_t i = 0; i < caches.size(); ++i) {
    const CacheDesc &c = caches[i];
    CachePlan &p = plan.caches[i];
    int64_t scale = storageHasScales(c.storage) ? 4 : 0;
    p.bytesPerPosition = 2 * c.kvHeads * (c.headDim * storageBytes(c.storage) +
                                          scale);
    switch (c.kind) {
    case CacheDesc::Kind::Self:
      p.capacity = o.maxSeqLen;
      plan.bytesPerToken += p.bytesPerPosition;
      p.paged = o.paged;
      if (p.paged)
        pagedBytesPerPosition += p.bytesPerPosition;
      break;
    case CacheDesc::Kind::Ring:
      // A window wider than max-seq-len never drops a position: the ring
      // then holds max-seq-len positions and never wraps.
      p.capacity = std::min(c.window + std::max<int64_t>(c.chunk, 1) - 1,
                            o.maxSeqLen);
      plan.bytesPerToken += p.bytesPerPosition;
      break;
    case CacheDesc::Kind::Cross:
      p.capacity = sourceLen;
      plan.bytesPerSourceToken += p.bytesPerPosition;
      break;
    }
    plan.bytesPerSequence += p.capacity * p.bytesPerPosition;
  }

  // Contiguous caches first, in declaration order.
  int64_t offset = 0;
  for (CachePlan &p : plan.caches) {
    if (p.paged)
      continue;
    p.offset = alignTo(offset, o.alignment);
    p.bytes = o.maxBatch * p.capacity * p.bytesPerPosition;
    offset = p.offset + p.bytes;
  }
  int64_t contiguous = offset;

  if (o.paged) {
    int64_t blocksPerSeq = ceilDiv(o.maxSeqLen, o.blockSize);
    plan.blockTableEntries = o.maxBatch * blocksPerSeq;
    plan.blockTableBytes = plan.blockTableEntries * 4;
    plan.blockBytes = o.blockSize * pagedBytesPerPosition;
    int64_t layerCount = 0;
    for (const CachePlan &p : plan.caches)
      layerCount += p.paged;
    // Room for the block table and alignment padding of each layer's pool.
    int64_t overhead = alignTo(contiguous, o.alignment) +
                       alignTo(plan.blockTableBytes, o.alignment) +
                       layerCount * o.alignment;
    if (o.budget) {
      if (plan.blockBytes == 0 || *o.budget <= overhead)
        plan.numBlocks = 0;
      else
        plan.numBlocks = (*o.budget - overhead) / plan.blockBytes;
      if (plan.numBlocks < blocksPerSeq)
        return fail("budget of " + bytesText(*o.budget) +
                    " holds " + std::to_string(plan.numBlocks) +
                    " blocks of " + std::to_string(o.blockSize) +
                    " positions (" + bytesText(plan.blockBytes) +
                    " each), fewer than the " + std::to_string(blocksPerSeq) +
                    " one sequence of max-seq-len " +
                    std::to_string(o.maxSeqLen) + " needs");
    } else {
      plan.numBlocks = plan.blockTableEntries;
    }
    for (CachePlan &p : plan.caches) {
      if (!p.paged)
        continue;
      p.offset = alignTo(offset, o.alignment);
      p.bytes = plan.numBlocks * o.blockSize * p.bytesPerPosition;
      offset = p.offset + p.bytes;
    }
    plan.blockTableOffset = alignTo(offset, o.alignment);
    offset = plan.blockTableOffset + plan.blockTableBytes;
  }
  plan.totalBytes = offset;

  if (o.budget) {
    if (plan.bytesPerSequence > *o.budget)
      return fail("budget of " + bytesText(*o.budget) +
                  " is smaller than one sequence of max-seq-len " +
                  std::to_string(o.maxSeqLen) + ", which needs " +
                  bytesText(plan.bytesPerSequence));
    if (plan.totalBytes > *o.budget)
      return fail("KV cache plan needs " + bytesText(plan.totalBytes) + " (" +
                  std::to_string(o.maxBatch) + " sequences of " +
                  bytesText(plan.bytesPerSequence) +
                  ") but the budget is " + bytesText(*o.budget) + "; " +
                  std::to_string(*o.budget / plan.bytesPerSequence) +
                  " sequences of max-seq-len " +
                  std::to_string(o.maxSeqLen) + " fit");
    plan.sequencesFit = *o.budget / plan.bytesPerSequence;
    if (o.paged)
      plan.sequencesFit = plan.numBlocks / ceilDiv(o.maxSeqLen, o.blockSize);
  }
  return plan;
}

std::string mlir::xformer::kvPlanToJSON(const std::vector<CacheDesc> &caches,
                                        const PlanOptions &o,
                                        const KVPlan &plan) {
  std::string out;
  llvm::raw_string_ostream os(out);
  llvm::json::OStream j(os, 2);
  j.object([&] {
    j.attribute("layout", o.paged ? "paged" : "contiguous");
    j.attribute("max_batch", o.maxBatch);
    j.attribute("max_seq_len", o.maxSeqLen);
    j.attribute("max_source_len", o.maxSourceLen ? o.maxSourceLen : o.maxSeqLen);
    if (o.paged)
      j.attribute("block_size", o.blockSize);
    j.attributeArray("caches", [&] {
      for (size_t i = 0; i < caches.size(); ++i) {
        const CacheDesc &c = caches[i];
        const CachePlan &p = plan.caches[i];
        j.object([&] {
          j.attribute("name", c.name);
          j.attribute("kind", c.kind == CacheDesc::Kind::Self   ? "self"
                              : c.kind == CacheDesc::Kind::Ring ? "ring"
                                                                : "cross");
          j.attribute("dtype", cacheStorageName(c.storage));
          j.attribute("kv_heads", c.kvHeads);
          j.attribute("head_dim", c.headDim);
          j.attribute("capacity", p.capacity);
          j.attribute("bytes_per_position", p.bytesPerPosition);
          j.attribute("paged", p.paged);
          j.attribute("offset", p.offset);
          j.attribute("bytes", p.bytes);
        });
      }
    });
    j.attribute("bytes_per_token", plan.bytesPerToken);
    j.attribute("bytes_per_source_token", plan.bytesPerSourceToken);
    j.attribute("bytes_per_sequence", plan.bytesPerSequence);
    if (o.paged) {
      j.attribute("num_blocks", plan.numBlocks);
      j.attribute("block_bytes", plan.blockBytes);
      j.attribute("block_table_entries", plan.blockTableEntries);
      j.attribute("block_table_bytes", plan.blockTableBytes);
      j.attribute("block_table_offset", plan.blockTableOffset);
    }
    j.attribute("total_bytes", plan.totalBytes);
    if (o.budget)
      j.attribute("budget", *o.budget);
    if (plan.sequencesFit)
      j.attribute("sequences_fit", *plan.sequencesFit);
    else
      j.attribute("sequences_fit", nullptr);
  });
  os << "\n";
  return out;
}
