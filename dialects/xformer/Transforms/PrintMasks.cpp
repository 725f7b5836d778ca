//===- PrintMasks.cpp - Show masks and tile classes as text ---------------===//

#include "xformer/Analysis/MaskRecognition.h"
#include "xformer/IR/XformerOps.h"
#include "xformer/Semantics/BlockSparsity.h"
#include "xformer/Transforms/Passes.h"

#include "llvm/Support/raw_ostream.h"

namespace mlir::xformer {
#define GEN_PASS_DEF_XFORMERPRINTMASKS
#include "xformer/Transforms/Passes.h.inc"
} // namespace mlir::xformer

using namespace mlir;
using namespace mlir::xformer;

namespace {

int64_t shownSize(int64_t option, int64_t dim) {
  if (option > 0)
    return option;
  return ShapedType::isDynamic(dim) || dim > 16 ? 8 : dim;
}

struct XformerPrintMasksPass
    : mlir::xformer::impl::XformerPrintMasksBase<XformerPrintMasksPass> {
  using Base::Base;

  void runOnOperation() override {
    if (blockQ <= 0 || blockK <= 0 || qLen < 0 || kvLen < 0 || prefix < 0) {
      getOperation().emitError("xformer-print-masks: block sizes must be "
                               "positive and lengths non-negative");
      return signalPassFailure();
    }
    llvm::raw_ostream &os = llvm::outs();
    int index = 0;
    getOperation().walk([&](AttentionOp op) {
      MaskAttr mask = op.getMask();
      mask::Spec spec = mask.getSpec(prefix);
      auto qType = op.getQuery().getType();
      auto kType = op.getKey().getType();
      int64_t q = shownSize(qLen, qType.getDimSize(2));
      int64_t k = shownSize(kvLen, kType.getDimSize(2));
      if (mask::isPositional(spec.kind) && q > k)
        q = k;
      if (spec.kind == mask::Kind::Bidirectional)
        k = q;

      // Custom masks: evaluate the tensor when it is a constant expression
      // at the op's own sizes; otherwise show '?'.
      std::optional<SmallVector<SmallVector<bool>>> custom;
      if (spec.kind == mask::Kind::Custom && qType.hasStaticShape() &&
          kType.hasStaticShape() && q == qType.getDimSize(2) &&
          k == kType.getDimSize(2)) {
        ScoreGeometry g{qType.getDimSize(0), qType.getDimSize(1), q, k, 4};
        MaskTerm term{MaskTermKind::Keep, op.getMaskTensor()};
        custom = evaluateMaskGrid(term, g);
      }
      // Documents: shown with two documents, [0, k - k/2) and [k - k/2, k).
      SmallVector<int64_t> seg(k, 0), docStart(k, 0), docEnd(k, k);
      int64_t split = k - k / 2;
      if (spec.documents)
        for (int64_t p = 0; p < k; ++p) {
          seg[p] = p < split ? 0 : 1;
          docStart[p] = p < split ? 0 : split;
          docEnd[p] = p < split ? split : k;
        }
      auto visible = [&](int64_t i, int64_t j) -> char {
        if (spec.kind == mask::Kind::Custom) {
          if (!custom)
            return '?';
          return (*custom)[i][j] ? '1' : '0';
        }
        return mask::isVisibleInDocuments(spec, i, j, q, k, seg.data()) ? '1'
                                                                        : '0';
      };
      auto tileClass = [&](int64_t ti, int64_t tj) -> char {
        if (spec.kind == mask::Kind::Custom && custom) {
          bool any = false, all = true;
          for (int64_t i = ti * blockQ; i < ti * blockQ + blockQ; ++i)
            for (int64_t j = tj * blockK; j < tj * blockK + blockK; ++j) {
              bool v = i < q && j < k && (*custom)[i][j];
              any |= v;
              all &= v;
            }
          return !any ? '.' : all ? 'F' : 'P';
        }
        switch (mask::classifyTileInDocuments(spec, ti, tj, blockQ, blockK, q,
                                              k, docStart.data(),
                                              docEnd.data())) {
        case mask::TileClass::Empty:
          return '.';
        case mask::TileClass::Full:
          return 'F';
        case mask::TileClass::Partial:
          return 'P';
        }
        return '?';
      };

      std::string layer = attentionLayerName(op);
      os << "// attention #" << index++ << " in @"
         << getOperation().getSymName();
      if (!layer.empty())
        os << " (" << layer << ")";
      os << "\n";
      std::string header;
      llvm::raw_string_ostream hs(header);
      hs << stringifyMaskKind(mask.getKind());
      if (spec.kind == mask::Kind::SlidingWindow)
        hs << ", window = " << spec.window;
      if (spec.kind == mask::Kind::PrefixLM)
        hs << ", prefix = " << spec.prefix
           << (mask.hasDynamicPrefix() ? " (runtime)" : "");
      if (spec.documents)
        hs << ", documents [0, " << split << ") [" << split << ", " << k
           << ")";
      hs << ", q=" << q << " k=" << k;
      int64_t width = std::max<int64_t>(2 * k - 1, header.size());
      os << header;
      os.indent(width - header.size() + 7);
      os << "tiles " << blockQ << "x" << blockK << "\n";
      int64_t qTiles = mask::numTiles(q, blockQ);
      int64_t kTiles = mask::numTiles(k, blockK);
      for (int64_t i = 0; i < std::max(q, qTiles); ++i) {
        std::string row;
        for (int64_t j = 0; i < q && j < k; ++j) {
          if (j)
            row += ' ';
          row += visible(i, j);
        }
        os << row;
        if (i < qTiles) {
          os.indent(width - row.size() + 7);
          for (int64_t tj = 0; tj < kTiles; ++tj) {
            if (tj)
              os << ' ';
            os << tileClass(i, tj);
          }
        }
        os << "\n";
      }
      mask::TileCounts counts;
      for (int64_t ti = 0; ti < qTiles; ++ti)
        for (int64_t tj = 0; tj < kTiles; ++tj) {
          char c = tileClass(ti, tj);
          (c == 'F' ? counts.full : c == 'P' ? counts.partial : counts.empty)++;
        }
      os << "tiles: " << counts.full << " full, " << counts.partial
         << " partial, " << counts.empty << " empty\n\n";
    });
  }
};

} // namespace
