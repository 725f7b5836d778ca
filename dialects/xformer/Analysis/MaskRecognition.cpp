//===- MaskRecognition.cpp - Infer mask kinds from exporter graphs --------===//

#include "xformer/Analysis/MaskRecognition.h"
#include "xformer/IR/XformerOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SmallPtrSet.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>

using namespace mlir;
using namespace mlir::xformer;

namespace {

/// Upper bound on elementwise evaluations per question, so recognition of a
/// huge static mask gives up (the mask stays custom) instead of stalling.
constexpr int64_t kEvaluationBudget = int64_t(1) << 26;

struct Scalar {
  bool isFloat = false;
  double f = 0;
  int64_t i = 0;
  double asFloat() const { return isFloat ? f : static_cast<double>(i); }
  bool asBool() const { return isFloat ? f != 0 : i != 0; }
  static Scalar ofInt(int64_t v) { return {false, 0, v}; }
  static Scalar ofFloat(double v) { return {true, v, 0}; }
};

/// Records why recognition gave up; always false.
bool fail(std::string *why, const std::string &msg) {
  if (why)
    *why = msg;
  return false;
}

/// Index of `out` (in a tensor of shape `outShape`) read by an operand of
/// shape `inShape` under NumPy broadcasting.
SmallVector<int64_t, 4> broadcastIndex(ArrayRef<int64_t> out,
                                       ArrayRef<int64_t> inShape) {
  SmallVector<int64_t, 4> in(inShape.size(), 0);
  size_t lead = out.size() - inShape.size();
  for (size_t k = 0; k < inShape.size(); ++k)
    in[k] = inShape[k] == 1 ? 0 : out[lead + k];
  return in;
}

ArrayRef<int64_t> shapeOf(Value v) {
  return cast<RankedTensorType>(v.getType()).getShape();
}

/// Exact evaluation of the ops exporters build masks with.
class Evaluator {
public:
  /// Values of the 1-D integer function arguments the mask reads.
  llvm::DenseMap<Value, SmallVector<int64_t>> env;
  /// The batch index of the score element being evaluated; arguments must be
  /// read at this index (a per-sequence length), which `batchMismatch`
  /// records otherwise.
  int64_t batch = 0;
  bool batchMismatch = false;

  /// Checks that every op in the backward slice of `v` can be evaluated
  /// and collects the function arguments it reads.
  bool check(Value v, SmallVectorImpl<Value> &args, std::string *why) {
    if (!visited.insert(v).second)
      return true;
    auto type = dyn_cast<RankedTensorType>(v.getType());
    if (!type || !type.hasStaticShape())
      return fail(why, "a mask value has a dynamic or non-tensor type");
    if (auto arg = dyn_cast<BlockArgument>(v)) {
      if ((type.getRank() != 1 && type.getRank() != 2) ||
          !isa<IntegerType>(type.getElementType()) ||
          type.getElementType().isInteger(1))
        return fail(why, "the mask reads a function argument that is not "
                         "integer lengths [batch] or document ids [batch, "
                         "seq]");
      if (!llvm::is_contained(args, v))
        args.push_back(v);
      return true;
    }
    Operation *op = v.getDefiningOp();
    bool known =
        isa<arith::ConstantOp, PositionsOp, ReshapeOp, BroadcastOp,
            TransposeOp, SliceOp, CompareOp, AndOp, OrOp, NotOp, AddOp,
            SubOp, MulOp, DivOp, SelectOp, CastOp, MaskedFillOp>(op);
    if (!known)
      return fail(why, "the mask is computed by '" +
                           op->getName().getStringRef().str() +
                           "', which mask recognition does not evaluate");
    if (auto cst = dyn_cast<arith::ConstantOp>(op))
      if (!isa<DenseElementsAttr>(cst.getValue()))
        return fail(why, "a mask constant is not a dense tensor");
    if (auto pos = dyn_cast<PositionsOp>(op))
      if (pos.getOffset() && !pos.getOffset().getDefiningOp<arith::ConstantOp>())
        return fail(why, "a positions offset is a runtime value");
    for (Value operand : op->getOperands())
      if (!isa<IndexType>(operand.getType()) && !check(operand, args, why))
        return false;
    return true;
  }

  Scalar eval(Value v, ArrayRef<int64_t> idx) {
    if (auto arg = dyn_cast<BlockArgument>(v)) {
      const SmallVector<int64_t> &values = env[v];
      if (idx[0] != batch)
        batchMismatch = true;
      if (idx.size() == 2)
        return Scalar::ofInt(values[idx[0] * shapeOf(v)[1] + idx[1]]);
      return Scalar::ofInt(values[idx[0]]);
    }
    Operation *op = v.getDefiningOp();
    ArrayRef<int64_t> outShape = shapeOf(v);
    auto operandAt = [&](Value operand) {
      return eval(operand, broadcastIndex(idx, shapeOf(operand)));
    };
    return llvm::TypeSwitch<Operation *, Scalar>(op)
        .Case([&](arith::ConstantOp c) -> Scalar {
          auto dense = cast<DenseElementsAttr>(c.getValue());
          int64_t flat = 0;
          if (!dense.isSplat())
            for (size_t k = 0; k < idx.size(); ++k)
              flat = flat * outShape[k] + idx[k];
          Type elt = dense.getElementType();
          if (isa<FloatType>(elt))
            return Scalar::ofFloat(
                dense.getValues<APFloat>()[flat].convertToDouble());
          if (elt.isInteger(1))
            return Scalar::ofInt(dense.getValues<bool>()[flat]);
          return Scalar::ofInt(dense.getValues<APInt>()[flat].getSExtValue());
        })
        .Case([&](PositionsOp p) {
          int64_t offset = 0;
          if (Value o = p.getOffset())
            offset = cast<IntegerAttr>(
                         o.getDefiningOp<arith::ConstantOp>().getValue())
                         .getInt();
          return Scalar::ofInt(offset + idx[0]);
        })
        .Case([&](ReshapeOp r) {
          ArrayRef<int64_t> inShape = shapeOf(r.getInput());
          int64_t flat = 0;
          for (size_t k = 0; k < idx.size(); ++k)
            flat = flat * outShape[k] + idx[k];
          SmallVector<int64_t, 4> in(inShape.size());
          for (int64_t k = inShape.size() - 1; k >= 0; --k) {
            in[k] = flat % inShape[k];
            flat /= inShape[k];
          }
          return eval(r.getInput(), in);
        })
        .Case([&](BroadcastOp b) { return operandAt(b.getInput()); })
        .Case([&](TransposeOp t) {
          SmallVector<int64_t, 4> in(idx.size());
          for (auto [k, p] : llvm::enumerate(t.getPermutation()))
            in[p] = idx[k];
          return eval(t.getInput(), in);
        })
        .Case([&](SliceOp s) {
          SmallVector<int64_t, 4> in(idx.begin(), idx.end());
          for (auto [k, o] : llvm::enumerate(s.getOffsets()))
            in[k] += o;
          return eval(s.getInput(), in);
        })
        .Case([&](CompareOp c) {
          Scalar a = operandAt(c.getLhs()), b = operandAt(c.getRhs());
          bool fl = a.isFloat || b.isFloat;
          auto cmp = [&](auto x, auto y) {
            switch (c.getPredicate()) {
            case ComparePredicate::eq:
              return x == y;
            case ComparePredicate::ne:
              return x != y;
            case ComparePredicate::lt:
              return x < y;
            case ComparePredicate::le:
              return x <= y;
            case ComparePredicate::gt:
              return x > y;
            case ComparePredicate::ge:
              return x >= y;
            }
            return false;
          };
          return Scalar::ofInt(fl ? cmp(a.asFloat(), b.asFloat())
                                  : cmp(a.i, b.i));
        })
        .Case([&](AndOp a) {
          return Scalar::ofInt(operandAt(a.getLhs()).asBool() &&
                               operandAt(a.getRhs()).asBool());
        })
        .Case([&](OrOp o) {
          return Scalar::ofInt(operandAt(o.getLhs()).asBool() ||
                               operandAt(o.getRhs()).asBool());
        })
        .Case([&](NotOp n) {
          return Scalar::ofInt(!operandAt(n.getInput()).asBool());
        })
        .Case([&](AddOp a) {
          return arith(operandAt(a.getLhs()), operandAt(a.getRhs()), '+');
        })
        .Case([&](SubOp s) {
          return arith(operandAt(s.getLhs()), operandAt(s.getRhs()), '-');
        })
        .Case([&](MulOp m) {
          return arith(operandAt(m.getLhs()), operandAt(m.getRhs()), '*');
        })
        .Case([&](DivOp d) {
          return arith(operandAt(d.getLhs()), operandAt(d.getRhs()), '/');
        })
        .Case([&](SelectOp s) {
          return operandAt(s.getCondition()).asBool()
                     ? operandAt(s.getTrueValue())
                     : operandAt(s.getFalseValue());
        })
        .Case([&](MaskedFillOp m) {
          return operandAt(m.getMask()).asBool()
                     ? Scalar::ofFloat(m.getValue().convertToDouble())
                     : operandAt(m.getInput());
        })
        .Case([&](CastOp c) {
          Scalar in = operandAt(c.getInput());
          Type elt = c.getType().getElementType();
          if (isa<FloatType>(elt))
            return Scalar::ofFloat(in.asFloat());
          if (elt.isInteger(1))
            return Scalar::ofInt(in.asBool());
          return Scalar::ofInt(in.isFloat ? static_cast<int64_t>(in.f)
                                          : in.i);
        })
        .Default([&](Operation *) { return Scalar(); });
  }

private:
  static Scalar arith(Scalar a, Scalar b, char op) {
    if (a.isFloat || b.isFloat) {
      double x = a.asFloat(), y = b.asFloat();
      return Scalar::ofFloat(op == '+'   ? x + y
                             : op == '-' ? x - y
                             : op == '*' ? x * y
                                         : x / y);
    }
    int64_t x = a.i, y = b.i;
    return Scalar::ofInt(op == '+'   ? x + y
                         : op == '-' ? x - y
                         : op == '*' ? x * y
                         : y == 0    ? 0
                                     : x / y);
  }

  llvm::SmallPtrSet<Value, 16> visited;
};

/// Visibility of one score element under the conjunction of the terms.
enum class Cell { Hidden, Visible, Invalid };

class TermSet {
public:
  TermSet(ArrayRef<MaskTerm> terms, const ScoreGeometry &g)
      : terms(terms), g(g) {}

  bool prepare(std::string *why) {
    SmallVector<int64_t, 4> scores = scoreShape();
    for (const MaskTerm &t : terms) {
      auto type = dyn_cast<RankedTensorType>(t.value.getType());
      if (!type || !isBroadcastableTo(type.getShape(), scores)) {
        if (why)
          *why = "a mask does not broadcast to the scores";
        return false;
      }
      if (!ev.check(t.value, args, why))
        return false;
    }
    // Every input starts defined: full lengths, one document.
    for (Value a : args) {
      ArrayRef<int64_t> shape = shapeOf(a);
      ev.env[a].assign(shape.size() == 1 ? shape[0] : shape[0] * shape[1],
                       shape.size() == 1 ? g.kvLen : 0);
    }
    return true;
  }

  SmallVector<int64_t, 4> scoreShape() const {
    if (g.rank == 3)
      return {g.batch * g.heads, g.qLen, g.kvLen};
    return {g.batch, g.heads, g.qLen, g.kvLen};
  }

  Cell at(int64_t b, int64_t h, int64_t i, int64_t j) {
    SmallVector<int64_t, 4> s;
    if (g.rank == 3)
      s = {b * g.heads + h, i, j};
    else
      s = {b, h, i, j};
    ev.batch = b;
    bool visible = true;
    for (const MaskTerm &t : terms) {
      Scalar x = ev.eval(t.value, broadcastIndex(s, shapeOf(t.value)));
      switch (t.kind) {
      case MaskTermKind::Keep:
        visible &= x.asBool();
        break;
      case MaskTermKind::Hide:
        visible &= !x.asBool();
        break;
      case MaskTermKind::Additive: {
        double v = x.asFloat();
        if (std::isnan(v) || (v != 0.0 && v > kHiddenThreshold))
          return Cell::Invalid;
        if (v != 0.0)
          visible = false;
        break;
      }
      }
    }
    return visible ? Cell::Visible : Cell::Hidden;
  }

  /// Sets every [batch] argument (lengths) and every [batch, seq] argument
  /// (document ids, the same for each sequence).
  void setLengths(ArrayRef<int64_t> perBatch) {
    for (Value a : args)
      if (shapeOf(a).size() == 1)
        ev.env[a].assign(perBatch.begin(), perBatch.end());
  }
  void setSegments(ArrayRef<int64_t> perPosition) {
    for (Value a : args) {
      ArrayRef<int64_t> shape = shapeOf(a);
      if (shape.size() != 2)
        continue;
      SmallVector<int64_t> &values = ev.env[a];
      values.assign(shape[0] * shape[1], 0);
      for (int64_t b = 0; b < shape[0]; ++b)
        for (int64_t p = 0; p < shape[1] && p < (int64_t)perPosition.size();
             ++p)
          values[b * shape[1] + p] = perPosition[p];
    }
  }

  ArrayRef<MaskTerm> terms;
  const ScoreGeometry &g;
  Evaluator ev;
  SmallVector<Value> args;
};

using Grid = SmallVector<SmallVector<bool>>;

/// The grid for batch b, head h; std::nullopt if some element is neither
/// visible nor hidden.
std::optional<Grid> gridAt(TermSet &ts, int64_t b, int64_t h) {
  Grid grid(ts.g.qLen, SmallVector<bool>(ts.g.kvLen));
  for (int64_t i = 0; i < ts.g.qLen; ++i)
    for (int64_t j = 0; j < ts.g.kvLen; ++j) {
      Cell c = ts.at(b, h, i, j);
      if (c == Cell::Invalid)
        return std::nullopt;
      grid[i][j] = c == Cell::Visible;
    }
  return grid;
}

bool gridMatches(const Grid &grid, const mask::Spec &spec, int64_t qLen,
                 int64_t kvLen) {
  for (int64_t i = 0; i < qLen; ++i)
    for (int64_t j = 0; j < kvLen; ++j)
      if (grid[i][j] != mask::isVisible(spec, i, j, qLen, kvLen))
        return false;
  return true;
}

/// The self-attention kind whose visibility equals the grid exactly.
std::optional<mask::Spec> inferSelfKind(const Grid &grid, int64_t qLen,
                                        int64_t kvLen) {
  mask::Spec spec;
  spec.kind = mask::Kind::Causal;
  if (gridMatches(grid, spec, qLen, kvLen))
    return spec;
  spec.kind = mask::Kind::Bidirectional;
  if (qLen == kvLen && gridMatches(grid, spec, qLen, kvLen))
    return spec;
  if (qLen == 0 || kvLen == 0)
    return std::nullopt;
  // A window: the last query's visible keys.
  int64_t lastCount = llvm::count(grid[qLen - 1], true);
  if (lastCount > 0 && lastCount < kvLen) {
    spec = {mask::Kind::SlidingWindow, lastCount, 0};
    if (gridMatches(grid, spec, qLen, kvLen))
      return spec;
  }
  // A prefix: the first query's visible keys.
  int64_t firstCount = llvm::count(grid[0], true);
  if (firstCount > 0) {
    spec = {mask::Kind::PrefixLM, 0, firstCount};
    if (gridMatches(grid, spec, qLen, kvLen))
      return spec;
  }
  return std::nullopt;
}

} // namespace

std::optional<RecognizedMask>
mlir::xformer::recognizeMask(ArrayRef<MaskTerm> terms,
                             const ScoreGeometry &g, bool isCross,
                             std::string *why) {
  TermSet ts(terms, g);
  if (!ts.prepare(why))
    return std::nullopt;
  Value lengths, segments;
  for (Value a : ts.args) {
    Value &slot = shapeOf(a).size() == 1 ? lengths : segments;
    if (slot) {
      fail(why, "the mask reads more than one runtime length or document "
                "id input");
      return std::nullopt;
    }
    slot = a;
  }
  if (lengths && shapeOf(lengths)[0] != g.batch) {
    fail(why, "a length input is not one value per sequence");
    return std::nullopt;
  }
  if (segments && (shapeOf(segments)[0] != g.batch ||
                   shapeOf(segments)[1] != g.kvLen || isCross)) {
    fail(why, "document ids are not [batch, kv_len] of a self-attention");
    return std::nullopt;
  }
  // Documents are proved over every split of the keys into contiguous runs,
  // so they are limited to short sequences.
  constexpr int64_t kMaxDocumentKeys = 10;
  if (segments && g.kvLen > kMaxDocumentKeys) {
    fail(why, "document masks are checked for at most 10 keys");
    return std::nullopt;
  }
  int64_t cells = g.batch * g.heads * g.qLen * g.kvLen;
  int64_t configs = (lengths ? g.kvLen + 3 : 1) *
                    (segments ? (int64_t(2) << std::max<int64_t>(
                                     g.kvLen - 1, 0))
                              : 1);
  if (cells * configs > kEvaluationBudget) {
    fail(why, "the proof was not attempted: the mask is too large to check "
              "element by element");
    return std::nullopt;
  }

  // Every key valid, one document: the static part of the mask.
  SmallVector<int64_t> full(g.batch, g.kvLen);
  SmallVector<int64_t> oneDocument(g.kvLen, 0);
  ts.setLengths(full);
  ts.setSegments(oneDocument);
  std::optional<Grid> base = gridAt(ts, 0, 0);
  if (!base) {
    fail(why, "an additive mask has values that are neither 0 nor a large "
              "negative number");
    return std::nullopt;
  }
  for (int64_t b = 0; b < g.batch; ++b)
    for (int64_t h = 0; h < g.heads; ++h) {
      if (b == 0 && h == 0)
        continue;
      std::optional<Grid> other = gridAt(ts, b, h);
      if (!other || *other != *base) {
        fail(why, "the mask differs between sequences or heads");
        return std::nullopt;
      }
    }

  RecognizedMask result;
  if (isCross) {
    result.spec.kind = mask::Kind::Cross;
    if (!gridMatches(*base, result.spec, g.qLen, g.kvLen)) {
      fail(why, "a cross-attention mask hides keys other than padding");
      return std::nullopt;
    }
  } else {
    std::optional<mask::Spec> spec = inferSelfKind(*base, g.qLen, g.kvLen);
    if (!spec) {
      fail(why, "the mask is not bidirectional, causal, prefix-LM or a "
                "sliding window");
      return std::nullopt;
    }
    result.spec = *spec;
  }
  if (!lengths && !segments)
    return result;
  result.spec.documents = static_cast<bool>(segments);

  // Runtime inputs: lengths must hide exactly the keys at or past them,
  // document ids must keep each query in its document, both read per
  // sequence. Positional kinds are right-padded self-attention, whose
  // queries share the length (query rows past it are padding).
  bool positional = mask::isPositional(result.spec.kind);
  if (lengths && positional && g.qLen != g.kvLen) {
    fail(why, "a length-dependent causal mask needs as many queries as keys");
    return std::nullopt;
  }
  auto check = [&](ArrayRef<int64_t> perBatch, ArrayRef<int64_t> docs) {
    ts.setLengths(perBatch);
    ts.setSegments(docs);
    for (int64_t b = 0; b < g.batch; ++b) {
      int64_t len = lengths ? perBatch[b] : g.kvLen;
      int64_t qLen = lengths && positional ? len : g.qLen;
      for (int64_t i = 0; i < g.qLen; ++i) {
        if (i >= qLen)
          continue; // padding query row
        for (int64_t j = 0; j < g.kvLen; ++j) {
          Cell c = ts.at(b, 0, i, j);
          bool want;
          if (positional)
            want = mask::isVisibleInDocuments(result.spec, i, j, qLen, len,
                                              docs.data());
          else
            want = (*base)[i][j] && j < len &&
                   (!segments ||
                    mask::isVisibleInDocuments(result.spec, i, j, g.qLen,
                                               g.kvLen, docs.data()));
          if (c == Cell::Invalid || (c == Cell::Visible) != want)
            return false;
        }
      }
    }
    return !ts.ev.batchMismatch;
  };
  // Every split of the keys into contiguous documents (or one document).
  SmallVector<SmallVector<int64_t>> splits;
  int64_t numSplits =
      segments ? int64_t(1) << std::max<int64_t>(g.kvLen - 1, 0) : 1;
  for (int64_t bits = 0; bits < numSplits; ++bits) {
    SmallVector<int64_t> docs(g.kvLen, 0);
    for (int64_t p = 1; p < g.kvLen; ++p)
      docs[p] = docs[p - 1] + ((bits >> (p - 1)) & 1);
    // The same split with decreasing ids: documents are told apart by
    // equality of ids, not by their order.
    SmallVector<int64_t> reversed(docs);
    for (int64_t &d : reversed)
      d = -d;
    splits.push_back(std::move(docs));
    if (segments && bits)
      splits.push_back(std::move(reversed));
  }
  for (const SmallVector<int64_t> &docs : splits) {
    for (int64_t v = lengths ? 0 : g.kvLen; v <= g.kvLen; ++v) {
      SmallVector<int64_t> same(g.batch, v);
      if (!check(same, docs)) {
        fail(why, "the mask's dependence on its runtime inputs is not key "
                  "padding or documents");
        return std::nullopt;
      }
    }
  }
  if (lengths) {
    // Different lengths per sequence, read at each sequence's own index.
    SmallVector<int64_t> mixed(g.batch);
    for (int64_t b = 0; b < g.batch; ++b)
      mixed[b] = (b * 5 + 1) % (g.kvLen + 1);
    if (!check(mixed, splits.front())) {
      fail(why, "the mask mixes the lengths of different sequences");
      return std::nullopt;
    }
  }
  result.lengths = lengths;
  result.segmentIds = segments;
  return result;
}

bool mlir::xformer::isAdditiveMask(Value value, const ScoreGeometry &g) {
  MaskTerm term{MaskTermKind::Additive, value};
  TermSet ts(term, g);
  if (!ts.prepare(nullptr) || ts.args.size() > 1)
    return false;
  int64_t cells = g.batch * g.heads * g.qLen * g.kvLen;
  if (cells * (g.kvLen + 2) > kEvaluationBudget)
    return false;
  for (int64_t v = ts.args.empty() ? g.kvLen : 0; v <= g.kvLen; ++v) {
    SmallVector<int64_t> lens(g.batch, v);
    ts.setLengths(lens);
    for (int64_t b = 0; b < g.batch; ++b)
      for (int64_t h = 0; h < g.heads; ++h)
        for (int64_t i = 0; i < g.qLen; ++i)
          for (int64_t j = 0; j < g.kvLen; ++j)
            if (ts.at(b, h, i, j) == Cell::Invalid)
              return false;
  }
  return true;
}

std::optional<SmallVector<SmallVector<bool>>>
mlir::xformer::evaluateMaskGrid(ArrayRef<MaskTerm> terms,
                                const ScoreGeometry &g) {
  TermSet ts(terms, g);
  if (!ts.prepare(nullptr))
    return std::nullopt;
  SmallVector<int64_t> full(g.batch, g.kvLen);
  ts.setLengths(full);
  return gridAt(ts, 0, 0);
}

std::string mlir::xformer::attentionLayerName(Operation *attention) {
  Location loc = attention->getLoc();
  if (auto name = dyn_cast<NameLoc>(loc))
    return name.getName().str();
  if (auto fused = dyn_cast<FusedLoc>(loc))
    for (Location l : fused.getLocations())
      if (auto name = dyn_cast<NameLoc>(l))
        return name.getName().str();
  // The weight that projects the queries.
  Value v = attention->getOperand(0);
  for (int depth = 0; depth < 16 && v; ++depth) {
    Operation *def = v.getDefiningOp();
    if (!def)
      break;
    if (auto linear = dyn_cast<LinearOp>(def)) {
      Value w = linear.getWeight();
      // A fused projection: name the layer after its first part.
      if (auto concat = w.getDefiningOp<ConcatOp>())
        w = concat.getInputs().front();
      auto weight = w.getDefiningOp<WeightOp>();
      if (!weight)
        break;
      StringRef name = weight.getName();
      name.consume_back(".weight");
      size_t dot = name.rfind('.');
      return (dot == StringRef::npos ? name : name.take_front(dot)).str();
    }
    if (isa<SplitHeadsOp, RopeOp, CastOp, SliceOp, ReshapeOp, TransposeOp,
            MulOp, DivOp>(def))
      v = def->getOperand(0);
    else
      break;
  }
  return "";
}

llvm::SetVector<Value> mlir::xformer::sequenceRoots(Value value) {
  llvm::SetVector<Value> roots;
  llvm::SmallPtrSet<Value, 32> seen;
  SmallVector<Value> work{value};
  while (!work.empty()) {
    Value x = work.pop_back_val();
    if (!seen.insert(x).second)
      continue;
    if (auto arg = dyn_cast<BlockArgument>(x)) {
      auto type = dyn_cast<RankedTensorType>(arg.getType());
      if (type && type.getRank() >= 2)
        roots.insert(arg);
      continue;
    }
    // An attention's result holds one row per query: it belongs to the
    // queries' sequence, whatever the keys and values were computed from
    // (a decoder layer after a cross-attention is still the decoder).
    if (auto attention = x.getDefiningOp<AttentionOp>()) {
      work.push_back(attention.getQuery());
      continue;
    }
    for (Value operand : x.getDefiningOp()->getOperands())
      work.push_back(operand);
  }
  return roots;
}
