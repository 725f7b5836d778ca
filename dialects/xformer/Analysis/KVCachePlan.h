//===- KVCachePlan.h - Size and place KV caches ------------------*- C++ -*-===//
//
// Plain arithmetic over cache descriptions, no MLIR: how many positions each
// cache holds, its bytes, its offset in one arena, and what fits a budget.
// --xformer-plan-kv-cache is a thin pass around planKVCache().
//
//===----------------------------------------------------------------------===//

#ifndef XFORMER_ANALYSIS_KVCACHEPLAN_H
#define XFORMER_ANALYSIS_KVCACHEPLAN_H

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mlir::xformer {

enum class CacheStorage { F32, F16, BF16, FP8, Int8 };

/// Bytes of one element, and whether the type keeps a scale per head.
int64_t storageBytes(CacheStorage storage);
bool storageHasScales(CacheStorage storage);
const char *cacheStorageName(CacheStorage storage);

/// Parses "1024", "16GiB", "512MB", ... into bytes.
std::optional<int64_t> parseByteSize(const std::string &text);

struct CacheDesc {
  std::string name;
  enum class Kind { Self, Ring, Cross } kind = Kind::Self;
  int64_t kvHeads = 0, headDim = 0;
  int64_t window = 0;   // Ring only.
  int64_t chunk = 1;    // Ring only: the longest chunk written at once.
  CacheStorage storage = CacheStorage::F32;
};

struct PlanOptions {
  int64_t maxBatch = 1;
  int64_t maxSeqLen = 2048;
  int64_t maxSourceLen = 0; // 0: maxSeqLen
  bool paged = false;
  int64_t blockSize = 16;
  std::optional<int64_t> budget;
  int64_t alignment = 256;
};

struct CachePlan {
  int64_t capacity = 0;      // positions per sequence
  int64_t bytesPerPosition = 0;
  int64_t bytes = 0;         // all sequences (or all blocks when paged)
  int64_t offset = 0;        // in the arena
  bool paged = false;
};

struct KVPlan {
  std::vector<CachePlan> caches;
  /// K/V bytes a token adds to the self and ring caches (until a ring
  /// fills): 2 x layers x kv_heads x head_dim x bytes (+ scales).
  int64_t bytesPerToken = 0;
  /// K/V bytes a source token adds to the cross caches.
  int64_t bytesPerSourceToken = 0;
  /// Bytes one sequence of maximum length needs in every cache.
  int64_t bytesPerSequence = 0;
  int64_t totalBytes = 0;
  // Paged layout.
  int64_t numBlocks = 0, blockBytes = 0;
  int64_t blockTableEntries = 0, blockTableBytes = 0, blockTableOffset = 0;
  /// Sequences of maximum length that fit the budget (when there is one).
  std::optional<int64_t> sequencesFit;
};

/// Plans the caches, or returns the reason it cannot (naming the numbers).
std::optional<KVPlan> planKVCache(const std::vector<CacheDesc> &caches,
                                  const PlanOptions &options,
                                  std::string &error);

/// The plan as JSON (per-cache and total figures).
std::string kvPlanToJSON(const std::vector<CacheDesc> &caches,
                         const PlanOptions &options, const KVPlan &plan);

} // namespace mlir::xformer

#endif // XFORMER_ANALYSIS_KVCACHEPLAN_H
