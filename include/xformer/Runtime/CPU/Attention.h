//===- Attention.h - CPU fused masked attention ------------------*- C++ -*-===//
//
// The CPU kernel behind xformer.attention: flash-style (tiled, online
// softmax), the mask kind a compile-time specialisation, tiles classified
// with mask::classifyTile so empty tiles are skipped and full tiles run
// without masking, grouped-query heads processed together so each K/V tile
// is read once per group. Decode is the same kernel with one query.
//
// Layouts are contiguous row-major: q [batch, heads, q_len, head_dim],
// k [batch, kv_heads, kv_len, head_dim], v [batch, kv_heads, kv_len,
// v_head_dim], out [batch, heads, q_len, v_head_dim].
//
//===----------------------------------------------------------------------===//

#ifndef XFORMER_RUNTIME_CPU_ATTENTION_H
#define XFORMER_RUNTIME_CPU_ATTENTION_H

#include "xformer/Semantics/MaskSemantics.h"

#include <cstdint>

namespace xformer::runtime::cpu {

namespace mask = mlir::xformer::mask;

struct AttentionArgs {
  const float *query = nullptr;
  const float *key = nullptr;
  const float *value = nullptr;
  float *out = nullptr;
  int64_t batch = 0, heads = 0, kvHeads = 0;
  int64_t qLen = 0, kvLen = 0;       // allocated (padded) lengths
  int64_t headDim = 0, vHeadDim = 0;
  float scale = 1.0f;
  /// Optional [batch] valid lengths (defaults: qLen, kvLen).
  const int64_t *qLengths = nullptr;
  const int64_t *kvLengths = nullptr;
  /// Optional [batch] runtime prefix (PrefixLM with a dynamic prefix).
  const int64_t *prefixLengths = nullptr;
  /// Optional [batch, kvLen] document ids (spec.documents).
  const int64_t *segmentIds = nullptr;
  /// Optional additive bias, [batch or 1, heads or 1, qLen, kvLen].
  const float *bias = nullptr;
  int64_t biasBatchStride = 0, biasHeadStride = 0;
};

/// Tile sizes of the kernel (queries x keys).
constexpr int64_t kBlockQ = 48;
constexpr int64_t kBlockK = 64;

/// Runs attention with visibility `spec`, the (batch, kv head) pairs spread
/// over XFORMER_NUM_THREADS threads (default: all cores). Custom is not
/// handled here: the explicit mask tensor goes through attentionCustom.
/// Rows with no visible key, and padding rows, are written as zeros.
void attention(const mask::Spec &spec, const AttentionArgs &args);

/// The same with an explicit boolean mask, [batch or 1, heads or 1, qLen,
/// kvLen] with the given strides (true where visible).
void attentionCustom(const AttentionArgs &args, const bool *mask,
                     int64_t maskBatchStride, int64_t maskHeadStride);

} // namespace xformer::runtime::cpu

#endif // XFORMER_RUNTIME_CPU_ATTENTION_H
