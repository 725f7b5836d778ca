//===- BlockSparsity.h - Tile classification of attention masks --*- C++ -*-===//
//
// Classifies a (Bq x Bk) tile of the (q_len x kv_len) score matrix as empty
// (no visible cell: skip it), full (every cell visible and in bounds: run it
// without masking) or partial (mask per element). Code generators call it at
// compile time for static lengths and kernels call the same function at run
// time for dynamic ones. It agrees with mask::isVisible cell by cell (checked
// on random cases in the unit tests).
//
//===----------------------------------------------------------------------===//

#ifndef XFORMER_SEMANTICS_BLOCKSPARSITY_H
#define XFORMER_SEMANTICS_BLOCKSPARSITY_H

#include "xformer/Semantics/MaskSemantics.h"

namespace mlir::xformer::mask {

enum class TileClass : uint8_t { Empty = 0, Partial = 1, Full = 2 };

/// Classifies the tile whose rows are queries [qTile * bq, qTile * bq + bq)
/// and whose columns are keys [kTile * bk, kTile * bk + bk). Cells outside
/// [0, qLen) x [0, kvLen) are not visible, so a tile that crosses a length
/// is never Full. Custom masks are Partial wherever a cell is in bounds:
/// their tensor decides at run time.
///
/// For packed sequences (`spec.documents`), `docStart` / `docEnd` bound the
/// run of positions holding each position (see visibleKeysInDocuments);
/// without them the document restriction is ignored.
XFORMER_HD constexpr TileClass
classifyTileInDocuments(const Spec &spec, int64_t qTile, int64_t kTile,
                        int64_t bq, int64_t bk, int64_t qLen, int64_t kvLen,
                        const int64_t *docStart, const int64_t *docEnd) {
  int64_t q0 = qTile * bq, q1 = q0 + bq;
  int64_t k0 = kTile * bk, k1 = k0 + bk;
  // Rows and columns that exist.
  int64_t qe = q1 < qLen ? q1 : qLen;
  int64_t ke = k1 < kvLen ? k1 : kvLen;
  if (q0 >= qe || k0 >= ke || q0 < 0 || k0 < 0)
    return TileClass::Empty;
  if (spec.kind == Kind::Custom)
    return TileClass::Partial;
  bool documents = spec.documents && docStart && docEnd;
  bool any = false, all = q1 <= qLen && k1 <= kvLen;
  for (int64_t i = q0; i < qe; ++i) {
    KeyRange r = documents ? visibleKeysInDocuments(spec, i, qLen, kvLen,
                                                    docStart, docEnd)
                           : visibleKeys(spec, i, qLen, kvLen);
    int64_t lo = r.first > k0 ? r.first : k0;
    int64_t hi = r.last < ke ? r.last : ke;
    if (hi > lo)
      any = true;
    if (!(r.first <= k0 && r.last >= k1))
      all = false;
    if (any && !all)
      return TileClass::Partial;
  }
  if (!any)
    return TileClass::Empty;
  return all ? TileClass::Full : TileClass::Partial;
}

/// classifyTile without documents.
XFORMER_HD constexpr TileClass classifyTile(const Spec &spec, int64_t qTile,
                                            int64_t kTile, int64_t bq,
                                            int64_t bk, int64_t qLen,
                                            int64_t kvLen) {
  return classifyTileInDocuments(spec, qTile, kTile, bq, bk, qLen, kvLen,
                                 nullptr, nullptr);
}

/// Number of tiles along a length.
XFORMER_HD constexpr int64_t numTiles(int64_t len, int64_t tile) {
  return len <= 0 ? 0 : (len + tile - 1) / tile;
}

/// Counts of each class over the whole score matrix.
struct TileCounts {
  int64_t empty = 0, partial = 0, full = 0;
};
inline TileCounts countTiles(const Spec &spec, int64_t bq, int64_t bk,
                             int64_t qLen, int64_t kvLen) {
  TileCounts counts;
  for (int64_t qt = 0; qt < numTiles(qLen, bq); ++qt)
    for (int64_t kt = 0; kt < numTiles(kvLen, bk); ++kt) {
      switch (classifyTile(spec, qt, kt, bq, bk, qLen, kvLen)) {
      case TileClass::Empty:
        ++counts.empty;
        break;
      case TileClass::Partial:
        ++counts.partial;
        break;
      case TileClass::Full:
        ++counts.full;
        break;
      }
    }
  return counts;
}

/// Number of visible (query, key) pairs: the work of an exact kernel.
inline int64_t countVisiblePairs(const Spec &spec, int64_t qLen,
                                 int64_t kvLen) {
  int64_t pairs = 0;
  for (int64_t i = 0; i < qLen; ++i) {
    KeyRange r = visibleKeys(spec, i, qLen, kvLen);
    if (r.last > r.first)
      pairs += r.last - r.first;
  }
  return pairs;
}

} // namespace mlir::xformer::mask

#endif // XFORMER_SEMANTICS_BLOCKSPARSITY_H
