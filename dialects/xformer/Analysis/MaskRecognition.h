//===- MaskRecognition.h - Infer mask kinds from exporter graphs -*- C++ -*-===//
//
// Exporters build attention masks from positions, comparisons, constants and
// the sequence lengths. This analysis evaluates those ops exactly (an
// interpreter over the ops, not a pattern over one op order) and proves which
// #xformer.mask kind the result is, checking every element of the score
// matrix. A mask it cannot prove is reported as not recognised; callers keep
// it as an explicit `custom` tensor.
//
//===----------------------------------------------------------------------===//

#ifndef XFORMER_ANALYSIS_MASKRECOGNITION_H
#define XFORMER_ANALYSIS_MASKRECOGNITION_H

#include "xformer/Semantics/MaskSemantics.h"

#include "mlir/IR/Value.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/SmallVector.h"

#include <optional>
#include <string>

namespace mlir::xformer {

/// Scores at or below this are hidden: exp(-1e4) underflows to 0 in every
/// floating-point type attention uses. Masks fill with -inf, the lowest
/// finite value, or a large negative number such as -1e4 or -1e9.
constexpr double kHiddenThreshold = -1.0e4;

/// How a mask tensor restricts the scores it is applied to.
enum class MaskTermKind {
  /// An i1 tensor, true where the key is visible (`select(keep, s, -inf)`).
  Keep,
  /// An i1 tensor, true where the key is hidden (`masked_fill(s, hide, ..)`).
  Hide,
  /// A float tensor added to the scores: 0 where visible, a large negative
  /// value (<= -1e4, or -inf) where hidden.
  Additive,
};

struct MaskTerm {
  MaskTermKind kind;
  Value value;
};

/// The scores the terms apply to: [batch, heads, q_len, kv_len] (rank 4), or
/// [batch * heads, q_len, kv_len] (rank 3).
struct ScoreGeometry {
  int64_t batch = 0, heads = 0, qLen = 0, kvLen = 0;
  int64_t rank = 4;
};

struct RecognizedMask {
  mask::Spec spec;
  /// A 1-D [batch] function argument giving per-sequence key lengths, when
  /// the mask hides keys at or past it. For positional kinds the same value
  /// is also the query length (right padding: query i sits at position i).
  Value lengths;
  /// A [batch, kv_len] function argument of document ids, when the mask
  /// keeps each query inside its document (packed sequences); then
  /// `spec.documents` is set.
  Value segmentIds;
};

/// Tries to prove that the conjunction of `terms` is a mask kind (with
/// optional per-sequence lengths). `isCross` says the keys belong to another
/// sequence. On failure, `why` (when given) says what could not be proved.
std::optional<RecognizedMask> recognizeMask(ArrayRef<MaskTerm> terms,
                                            const ScoreGeometry &geometry,
                                            bool isCross,
                                            std::string *why = nullptr);

/// Whether `value` (a float tensor added to scores) is mask-like: 0 where
/// visible and <= -1e4 where hidden, for every element and every admissible
/// value of the lengths it reads. Real biases (T5 relative positions) are
/// not.
bool isAdditiveMask(Value value, const ScoreGeometry &geometry);

/// Evaluates `terms` for a concrete score matrix (batch 0, head 0, all
/// length arguments at their full value): the picture --xformer-print-masks
/// shows for a custom mask. Returns std::nullopt when the terms cannot be
/// evaluated.
std::optional<SmallVector<SmallVector<bool>>>
evaluateMaskGrid(ArrayRef<MaskTerm> terms, const ScoreGeometry &geometry);

/// The function arguments of rank >= 2 (token ids, input embeddings) that
/// `value` is computed from: which input sequence it belongs to. Queries and
/// keys of a cross-attention have disjoint roots. An xformer.attention result
/// belongs to its queries' sequence only, so a decoder layer after a
/// cross-attention still belongs to the decoder.
llvm::SetVector<Value> sequenceRoots(Value value);

/// A name for the layer an attention belongs to, for diagnostics: its
/// NameLoc if it has one, else the module path of the weight that projects
/// its queries (`transformer.h.0.attn` for `transformer.h.0.attn.c_attn.
/// weight`), else the empty string.
std::string attentionLayerName(Operation *attention);

} // namespace mlir::xformer

#endif // XFORMER_ANALYSIS_MASKRECOGNITION_H
