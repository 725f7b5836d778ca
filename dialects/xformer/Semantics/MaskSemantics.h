//===- MaskSemantics.h - Attention mask visibility ---------------*- C++ -*-===//
//
// The single definition of which keys a query may attend to. The dialect's
// #xformer.mask attribute, its verifiers, block classification, the CPU and
// CUDA kernels and the tests all call isVisible(); nothing else decides.
//
// This header is dependency-free (no MLIR, no STL containers) so the runtime
// and device code can include it.
//
//===----------------------------------------------------------------------===//

#ifndef XFORMER_SEMANTICS_MASKSEMANTICS_H
#define XFORMER_SEMANTICS_MASKSEMANTICS_H

#include <cstdint>

#if defined(__CUDACC__)
#define XFORMER_HD __host__ __device__
#else
#define XFORMER_HD
#endif

namespace mlir::xformer::mask {

/// The mask kinds. The numbering matches the ODS enum `MaskKind` (checked by
/// static_assert in XformerAttrs.cpp).
enum class Kind : uint32_t {
  /// Every query sees every key (BERT encoders).
  Bidirectional = 0,
  /// A query sees keys at its own position and before (GPT, Llama).
  Causal = 1,
  /// Keys in the prefix [0, prefix) are visible to every query; after the
  /// prefix, visibility is causal (prefix-LM: bidirectional prompt, causal
  /// continuation).
  PrefixLM = 2,
  /// Causal, and a query at position p sees only keys in (p - window, p]
  /// (Mistral, Longformer-style local attention).
  SlidingWindow = 3,
  /// Queries of one sequence over the keys of another (T5/BART decoder over
  /// the encoder output): every valid key is visible.
  Cross = 4,
  /// Visibility is given by an explicit boolean mask tensor.
  Custom = 5,
};

/// A mask kind with its parameters resolved to numbers.
struct Spec {
  Kind kind = Kind::Bidirectional;
  /// Window size for SlidingWindow (> 0); unused otherwise.
  int64_t window = 0;
  /// Prefix length for PrefixLM (>= 0 at run time); unused otherwise.
  int64_t prefix = 0;
  /// Packed sequences: a key is visible only inside the query's document
  /// (see isVisibleInDocuments). Not allowed with Cross or Custom.
  bool documents = false;
};

/// True for kinds whose queries and keys are positions of one sequence, where
/// query/key alignment matters (causal, prefix-LM, sliding window).
XFORMER_HD constexpr bool isPositional(Kind kind) {
  return kind == Kind::Causal || kind == Kind::PrefixLM ||
         kind == Kind::SlidingWindow;
}

/// True when the kind, on its own, lets some query see a later key position.
XFORMER_HD constexpr bool canSeeFuture(Kind kind) {
  return kind == Kind::Bidirectional || kind == Kind::Custom ||
         kind == Kind::PrefixLM;
}

/// Position alignment. Keys j in [0, kvLen) sit at positions 0..kvLen-1. The
/// qLen queries are the *last* qLen positions of the key sequence, so query i
/// sits at position kvLen - qLen + i. This covers one-shot prefill
/// (qLen == kvLen: query i at i), a decode step (qLen == 1: the query at
/// kvLen - 1) and a prefill chunk at an offset (kvLen = offset + qLen).
/// Bidirectional and cross masks ignore positions.
XFORMER_HD constexpr int64_t queryPosition(int64_t i, int64_t qLen,
                                           int64_t kvLen) {
  return kvLen - qLen + i;
}

/// Whether a query at absolute position qPos may see the key at absolute
/// position kPos, for keys and queries that exist (0 <= kPos < kvLen).
/// For Kind::Custom the static answer is "visible": the explicit mask tensor
/// further restricts it.
XFORMER_HD constexpr bool isVisiblePos(const Spec &spec, int64_t qPos,
                                       int64_t kPos) {
  switch (spec.kind) {
  case Kind::Bidirectional:
  case Kind::Cross:
  case Kind::Custom:
    return true;
  case Kind::Causal:
    return kPos <= qPos;
  case Kind::PrefixLM:
    return kPos <= qPos || kPos < spec.prefix;
  case Kind::SlidingWindow:
    return kPos <= qPos && qPos - kPos < spec.window;
  }
  return false;
}

/// Whether query index i (of qLen) may see key index j (of kvLen). Indices
/// outside the valid lengths (padding) are never visible. A query row with no
/// visible key produces zeros (never NaN): see xformer.attention.
XFORMER_HD constexpr bool isVisible(const Spec &spec, int64_t i, int64_t j,
                                    int64_t qLen, int64_t kvLen) {
  if (i < 0 || j < 0 || i >= qLen || j >= kvLen)
    return false;
  return isVisiblePos(spec, queryPosition(i, qLen, kvLen), j);
}

/// The half-open range [first, last) of key indices visible to query i, for
/// every kind but Custom (whose visible set need not be contiguous; there it
/// returns [0, kvLen)). Empty when first >= last. Kernels iterate this range;
/// it agrees with isVisible() (checked exhaustively in the unit tests).
struct KeyRange {
  int64_t first;
  int64_t last;
};
XFORMER_HD constexpr KeyRange visibleKeys(const Spec &spec, int64_t i,
                                          int64_t qLen, int64_t kvLen) {
  if (i < 0 || i >= qLen || kvLen <= 0)
    return {0, 0};
  int64_t p = queryPosition(i, qLen, kvLen);
  auto clampKv = [&](int64_t x) {
    return x < 0 ? int64_t(0) : (x > kvLen ? kvLen : x);
  };
  switch (spec.kind) {
  case Kind::Bidirectional:
  case Kind::Cross:
  case Kind::Custom:
    return {0, kvLen};
  case Kind::Causal:
    return {0, clampKv(p + 1)};
  case Kind::PrefixLM: {
    int64_t last = p + 1 > spec.prefix ? p + 1 : spec.prefix;
    return {0, clampKv(last)};
  }
  case Kind::SlidingWindow:
    if (p < 0)
      return {0, 0};
    return {clampKv(p - spec.window + 1), clampKv(p + 1)};
  }
  return {0, 0};
}

/// visibleKeys restricted to the query's document, for packed sequences
/// whose documents are contiguous runs of positions: `docStart[p]` /
/// `docEnd[p]` bound the run holding position p (computed once per sequence
/// from the segment ids).
XFORMER_HD constexpr KeyRange
visibleKeysInDocuments(const Spec &spec, int64_t i, int64_t qLen,
                       int64_t kvLen, const int64_t *docStart,
                       const int64_t *docEnd) {
  KeyRange r = visibleKeys(spec, i, qLen, kvLen);
  int64_t p = queryPosition(i, qLen, kvLen);
  if (p < 0 || p >= kvLen)
    return {r.first, r.first};
  if (docStart[p] > r.first)
    r.first = docStart[p];
  if (docEnd[p] < r.last)
    r.last = docEnd[p];
  return r;
}

/// Visibility in packed sequences: as isVisible, and when `spec.documents`
/// the key must belong to the query's document. `segmentIds` gives the
/// document of each key position [0, kvLen); the query at position p
/// belongs to the document of position p.
template <typename SegT>
XFORMER_HD constexpr bool isVisibleInDocuments(const Spec &spec, int64_t i,
                                               int64_t j, int64_t qLen,
                                               int64_t kvLen,
                                               const SegT *segmentIds) {
  if (!isVisible(spec, i, j, qLen, kvLen))
    return false;
  if (!spec.documents)
    return true;
  int64_t p = queryPosition(i, qLen, kvLen);
  if (p < 0 || p >= kvLen)
    return false;
  return segmentIds[p] == segmentIds[j];
}

} // namespace mlir::xformer::mask

#endif // XFORMER_SEMANTICS_MASKSEMANTICS_H
