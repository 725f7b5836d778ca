//===- ModelToCpp.cpp - Emit a compiled model as C++ or CUDA C++ ----------===//
//
// Every function of the module is straight-line code over tensors with
// static shapes, so lowering needs no control flow: each op becomes one
// kernel call whose sizes are constants, and each intermediate tensor a
// fixed offset in one scratch buffer, planned here by first-fit over value
// lifetimes (a tensor's bytes are reused once its last reader has run).
// Reshapes are free (they alias their operand); self and cross caches are
// read in place from the KV arena.
//
//===----------------------------------------------------------------------===//

#include "xformer/Target/Cpp/ModelToCpp.h"

#include "xformer/Analysis/ScratchPlan.h"
#include "xformer/IR/XformerOps.h"
#include "xformer/Runtime/KernelTypes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/Tools/mlir-translate/Translation.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

#include <map>
#include <string>

using namespace mlir;
using namespace mlir::xformer;

// The ABI's and the kernels' codes are the ODS enums' numbers: the emitter
// prints the one as the other.
#define XF_SAME(abi, ods) static_assert(int(abi) == int(ods), #abi)
XF_SAME(XFK_GELU_ERF, Activation::gelu);
XF_SAME(XFK_GELU_TANH, Activation::gelu_tanh);
XF_SAME(XFK_RELU, Activation::relu);
XF_SAME(XFK_SILU, Activation::silu);
XF_SAME(XFK_TANH, Activation::tanh);
XF_SAME(XFK_MASK_BIDIRECTIONAL, MaskKind::bidirectional);
XF_SAME(XFK_MASK_CAUSAL, MaskKind::causal);
XF_SAME(XFK_MASK_PREFIX_LM, MaskKind::prefix_lm);
XF_SAME(XFK_MASK_SLIDING_WINDOW, MaskKind::sliding_window);
XF_SAME(XFK_MASK_CROSS, MaskKind::cross);
XF_SAME(XFK_MASK_CUSTOM, MaskKind::custom);
XF_SAME(XFK_NE - XFK_EQ, ComparePredicate::ne);
XF_SAME(XFK_LT - XFK_EQ, ComparePredicate::lt);
XF_SAME(XFK_LE - XFK_EQ, ComparePredicate::le);
XF_SAME(XFK_GT - XFK_EQ, ComparePredicate::gt);
XF_SAME(XFK_GE - XFK_EQ, ComparePredicate::ge);
XF_SAME(XFM_ENCODER, ModelKind::encoder);
XF_SAME(XFM_DECODER, ModelKind::decoder);
XF_SAME(XFM_ENCODER_DECODER, ModelKind::encoder_decoder);
XF_SAME(XFM_Q4_0 - XFM_GGML, GGMLFormat::q4_0);
XF_SAME(XFM_Q4_1 - XFM_GGML, GGMLFormat::q4_1);
XF_SAME(XFM_Q5_0 - XFM_GGML, GGMLFormat::q5_0);
XF_SAME(XFM_Q5_1 - XFM_GGML, GGMLFormat::q5_1);
XF_SAME(XFM_Q8_0 - XFM_GGML, GGMLFormat::q8_0);
XF_SAME(XFM_Q2_K - XFM_GGML, GGMLFormat::q2_k);
XF_SAME(XFM_Q3_K - XFM_GGML, GGMLFormat::q3_k);
XF_SAME(XFM_Q4_K - XFM_GGML, GGMLFormat::q4_k);
XF_SAME(XFM_Q5_K - XFM_GGML, GGMLFormat::q5_k);
XF_SAME(XFM_Q6_K - XFM_GGML, GGMLFormat::q6_k);
#undef XF_SAME

namespace {

/// The ABI's name for an element type, or "" if the CPU target lacks it.
StringRef dtypeName(Type t) {
  if (t.isF32())
    return "XFM_F32";
  if (t.isInteger(64))
    return "XFM_I64";
  if (t.isInteger(32))
    return "XFM_I32";
  if (t.isInteger(1))
    return "XFM_BOOL";
  if (t.isBF16())
    return "XFM_BF16";
  if (t.isF16())
    return "XFM_F16";
  if (auto g = dyn_cast<GGMLType>(t)) {
    switch (g.getFormat()) {
    case GGMLFormat::q4_0: return "XFM_Q4_0";
    case GGMLFormat::q4_1: return "XFM_Q4_1";
    case GGMLFormat::q5_0: return "XFM_Q5_0";
    case GGMLFormat::q5_1: return "XFM_Q5_1";
    case GGMLFormat::q8_0: return "XFM_Q8_0";
    case GGMLFormat::q2_k: return "XFM_Q2_K";
    case GGMLFormat::q3_k: return "XFM_Q3_K";
    case GGMLFormat::q4_k: return "XFM_Q4_K";
    case GGMLFormat::q5_k: return "XFM_Q5_K";
    case GGMLFormat::q6_k: return "XFM_Q6_K";
    }
  }
  return "";
}

StringRef cType(Type t) {
  if (t.isF32())
    return "float";
  if (t.isInteger(64))
    return "int64_t";
  if (t.isInteger(32))
    return "int32_t";
  if (t.isBF16() || t.isF16())
    return "uint16_t";
  return "uint8_t";
}

std::string num(int64_t v) { return std::to_string(v); }

int64_t product(ArrayRef<int64_t> s) {
  int64_t p = 1;
  for (int64_t d : s)
    p *= d;
  return p;
}

std::string cString(StringRef s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\')
      out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      out += llvm::formatv("\\{0:o3}", static_cast<unsigned>(c)).str();
      continue;
    }
    out += c;
  }
  return out + "\"";
}

/// An exact C++ double literal (hexadecimal) of a finite value.
std::string doubleLiteral(double v) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << llvm::format("%a", v);
  return s;
}

std::string floatLiteral(double v) {
  if (std::isnan(v))
    return "__builtin_nanf(\"\")";
  if (std::isinf(v))
    return v > 0 ? "__builtin_inff()" : "-__builtin_inff()";
  // Rounded to float here, so the literal is exact (nvcc warns otherwise).
  return doubleLiteral(static_cast<double>(static_cast<float>(v))) + "f";
}

/// Module-wide tables: weights, caches, shape constants.
struct ModuleTables {
  ModelTarget target = ModelTarget::cpu;
  StringRef targetName = "CPU";
  bool cuda() const { return target == ModelTarget::cuda; }
  /// One entry per (name, type): a tied weight read in f32 and in bf16
  /// is bound twice, converted to each.
  llvm::MapVector<std::pair<StringRef, Type>, RankedTensorType> weights;
  /// Weights the runtime joins on open (a concat of weights), after
  /// `weights` in the frame's table: one per (parts, axis).
  struct FusedWeight {
    std::vector<int32_t> parts;
    int64_t axis;
    RankedTensorType type;
  };
  std::vector<FusedWeight> fused;
  std::map<std::pair<std::vector<int32_t>, int64_t>, size_t> fusedIndex;
  /// Weights some op other than a weight concat reads.
  llvm::DenseSet<int32_t> readDirectly;

  int32_t weightIndex(WeightOp w) {
    auto it = weights.find({w.getName(), w.getType()});
    return int32_t(it - weights.begin());
  }
  /// The frame's index of a concat of weights, entered on first sight.
  size_t fusedWeight(ConcatOp concat) {
    std::vector<int32_t> parts;
    for (Value v : concat.getInputs())
      parts.push_back(weightIndex(v.getDefiningOp<WeightOp>()));
    int64_t axis = concat.getAxis();
    auto [it, added] =
        fusedIndex.try_emplace({parts, axis}, weights.size() + fused.size());
    if (added)
      fused.push_back({std::move(parts), axis,
                       cast<RankedTensorType>(concat.getType())});
    return it->second;
  }
  llvm::MapVector<StringRef, KVCacheOp> caches;
  std::map<std::vector<int64_t>, std::string> shapes;
  std::string decls; // shape and constant arrays
  int64_t maxBatch = 0, maxSeqLen = 0, arenaBytes = 0;
  int constants = 0;

  std::string shape(ArrayRef<int64_t> dims) {
    std::vector<int64_t> key(dims.begin(), dims.end());
    auto it = shapes.find(key);
    if (it != shapes.end())
      return it->second;
    std::string name = "kShape" + std::to_string(shapes.size());
    llvm::raw_string_ostream os(decls);
    os << "static const int64_t " << name << "[] = {";
    if (key.empty())
      os << "1";
    llvm::interleaveComma(key, os);
    os << "};\n";
    shapes.emplace(std::move(key), name);
    return name;
  }
};

/// Emits one function.
class FunctionEmitter {
public:
  FunctionEmitter(func::FuncOp func, ModuleTables &tables)
      : func(func), tables(tables) {}

  LogicalResult emit();
  int64_t scratchBytes() const { return plan.bytes; }
  int64_t kernelCalls() const { return calls; }
  std::string takeBody() { return std::move(body); }

private:
  // --- values -------------------------------------------------------------
  ArrayRef<int64_t> shapeOf(Value v) {
    return plan.shapeOf(v);
  }
  Type elemOf(Value v) {
    return cast<RankedTensorType>(v.getType()).getElementType();
  }
  std::string ptr(Value v) { return "(" + expr.lookup(v) + ")"; }
  std::string typed(Value v, bool isConst = true) {
    return std::string("(") + (isConst ? "const " : "") + cType(elemOf(v)).str() +
           " *)" + ptr(v);
  }
  std::string out(Value v) { return typed(v, /*isConst=*/false); }
  std::string dims(ArrayRef<int64_t> s) { return tables.shape(s); }
  /// `s` with leading 1s up to `rank` dimensions.
  std::string padded(ArrayRef<int64_t> s, size_t rank) {
    SmallVector<int64_t> p(rank - s.size(), 1);
    p.append(s.begin(), s.end());
    return dims(p);
  }

  // --- scratch planning ---------------------------------------------------
  void bindScratch(Value v);

  // --- emission -----------------------------------------------------------
  LogicalResult emitOp(Operation *op);
  LogicalResult emitLinear(LinearOp op);
  void call(Operation *op, const std::string &text);

  func::FuncOp func;
  ModuleTables &tables;
  std::string body;
  llvm::DenseMap<Value, std::string> expr;
  /// Shapes, views and scratch offsets (--xformer-plan-scratch).
  ScratchPlan plan;
  int64_t calls = 0;
  int tmp = 0;
};

/// `v` at the offset the scratch plan gave it.
void FunctionEmitter::bindScratch(Value v) {
  expr[v] = "S + " + std::to_string(plan.offsets.lookup(v));
}

/// "// <op name> <location>" above the code emitted for `op`.
std::string opComment(Operation *op) {
  std::string loc;
  llvm::raw_string_ostream los(loc);
  op->getLoc()->print(los);
  return "  // " + op->getName().getStringRef().str() + " " + loc + "\n";
}

void FunctionEmitter::call(Operation *op, const std::string &text) {
  body += opComment(op);
  body += "  if ((rc = " + text + ")) return rc;\n";
  ++calls;
}

LogicalResult FunctionEmitter::emit() {
  Block &block = func.getBody().front();
  for (auto [i, arg] : llvm::enumerate(block.getArguments()))
    expr[arg] = "in[" + std::to_string(i) + "]";
  // The plan bounds every tensor first (2^48 bytes, sizes resolved): every
  // byte count below is computed from its shapes.
  FailureOr<ScratchPlan> planned = readOrPlanScratch(func);
  if (failed(planned))
    return failure();
  plan = std::move(*planned);
  for (Operation &op : block)
    if (failed(emitOp(&op)))
      return failure();
  return success();
}

int binaryCode(Operation *op) {
  return TypeSwitch<Operation *, int>(op)
      .Case<AddOp>([](auto) { return 0; })
      .Case<SubOp>([](auto) { return 1; })
      .Case<MulOp>([](auto) { return 2; })
      .Case<DivOp>([](auto) { return 3; })
      .Case<AndOp>([](auto) { return 4; })
      .Case<OrOp>([](auto) { return 5; })
      .Default([](auto) { return -1; });
}

const char *maskKindName(MaskKind kind) {
  switch (kind) {
  case MaskKind::bidirectional:
    return "XFK_MASK_BIDIRECTIONAL";
  case MaskKind::causal:
    return "XFK_MASK_CAUSAL";
  case MaskKind::prefix_lm:
    return "XFK_MASK_PREFIX_LM";
  case MaskKind::sliding_window:
    return "XFK_MASK_SLIDING_WINDOW";
  case MaskKind::cross:
    return "XFK_MASK_CROSS";
  case MaskKind::custom:
    return "XFK_MASK_CUSTOM";
  }
  return "XFK_MASK_CUSTOM";
}

/// A linear layer with its epilogue (xformer-fuse-epilogues): the
/// activation and the residual add run by the GEMM on each output (oneDNN
/// post-ops, or the runtime's own kernels), with no extra pass over it.
LogicalResult FunctionEmitter::emitLinear(LinearOp l) {
  Operation *op = l;
  Value cur = l.getResult();
  // The kernels' unary codes are the ODS enum's numbers.
  const int act = l.getActivation() ? int(*l.getActivation()) : -1;
  Value residual = l.getResidual();
  auto xs = shapeOf(l.getInput());
  const int64_t in = xs.back();
  const int64_t outDim = shapeOf(l.getResult()).back();
  bindScratch(cur);
  if (auto g = dyn_cast<GGMLType>(elemOf(l.getWeight()))) {
    call(op, "xfk_linear_ggml_fused(f, " + typed(l.getInput()) + ", " +
                 ptr(l.getWeight()) + ", " + num(int64_t(g.getFormat())) +
                 " /* " + g.getGGMLName().str() + " */, " +
                 (l.getBias() ? typed(l.getBias()) : std::string("0")) + ", " +
                 out(cur) + ", " + num(product(xs) / in) + ", " + num(in) +
                 ", " + num(outDim) + ", " + num(act) + ", " +
                 (residual ? typed(residual) : std::string("0")) + ")");
    return success();
  }
  const Type welem = elemOf(l.getWeight());
  call(op, std::string(welem.isBF16()  ? "xfk_linear_bf16_fused"
                       : welem.isF16() ? "xfk_linear_f16_fused"
                                       : "xfk_linear_fused") +
               "(f, " + typed(l.getInput()) + ", " + typed(l.getWeight()) +
               ", " + (l.getBias() ? typed(l.getBias()) : std::string("0")) +
               ", " + out(cur) + ", " + num(product(xs) / in) + ", " + num(in) +
               ", " + num(outDim) + ", " +
               (l.getWeightTransposed() ? "1" : "0") + ", " + num(act) + ", " +
               (residual ? typed(residual) : std::string("0")) + ")");
  return success();
}

LogicalResult FunctionEmitter::emitOp(Operation *op) {
  if (auto ret = dyn_cast<func::ReturnOp>(op)) {
    for (auto [i, v] : llvm::enumerate(ret.getOperands())) {
      int64_t bytes = product(shapeOf(v)) * elementBytes(elemOf(v));
      if (tables.cuda())
        body += "  if ((rc = xfk_copy(f, out[" + std::to_string(i) + "], " +
                ptr(v) + ", " + std::to_string(bytes) + "))) return rc;\n";
      else
        body += "  memcpy(out[" + std::to_string(i) + "], " + ptr(v) +
                ", " + std::to_string(bytes) + ");\n";
    }
    return success();
  }
  // Index arithmetic and dynamic shapes were resolved by the scratch plan
  // (every size is known at compile time; a cache's dynamic length is its
  // planned capacity).
  if (isa<arith::ConstantIndexOp, tensor::DimOp>(op))
    return success();

  // Constants become static arrays.
  if (auto cst = dyn_cast<arith::ConstantOp>(op)) {
    auto dense = cast<DenseElementsAttr>(cst.getValue());
    auto type = cast<RankedTensorType>(cst.getType());
    std::string name = "kConst" + std::to_string(tables.constants++);
    llvm::raw_string_ostream d(tables.decls);
    Type et = type.getElementType();
    // CUDA: device memory, its address taken when a kernel needs it.
    d << (tables.cuda() ? "__device__ const " : "alignas(64) static const ")
      << cType(et) << " " << name << "["
      << std::max<int64_t>(1, type.getNumElements()) << "] = {";
    int64_t n = type.getNumElements();
    for (int64_t i = 0; i < n; ++i) {
      if (i)
        d << ", ";
      if (et.isF32())
        d << floatLiteral(dense.getValues<APFloat>()[dense.isSplat() ? 0 : i]
                              .convertToDouble());
      else if (et.isInteger(1))
        d << (dense.getValues<bool>()[dense.isSplat() ? 0 : i] ? 1 : 0);
      else
        d << dense.getValues<APInt>()[dense.isSplat() ? 0 : i].getSExtValue()
          << (et.isInteger(64) ? "LL" : "");
    }
    d << "};\n";
    expr[cst.getResult()] =
        tables.cuda() ? "xfk_symbol(" + name + ")" : name;
    return success();
  }
  if (auto w = dyn_cast<WeightOp>(op)) {
    expr[w.getResult()] = "W[" + std::to_string(tables.weightIndex(w)) + "]";
    return success();
  }
  if (isWeightConcat(op)) {
    expr[op->getResult(0)] =
        "W[" + std::to_string(tables.fusedWeight(cast<ConcatOp>(op))) + "]";
    return success();
  }
  if (auto read = dyn_cast<CacheReadOp>(op)) {
    auto it = tables.caches.find(read.getCache());
    KVCacheOp cache = it->second;
    int ci = it - tables.caches.begin();
    ArrayRef<int64_t> shape = shapeOf(read.getKey()); // at capacity
    std::string k = "k" + std::to_string(tmp), v = "v" + std::to_string(tmp);
    ++tmp;
    body += "  const float *" + k + " = 0, *" + v + " = 0;\n";
    std::string kOut = "0", vOut = "0";
    if (cache.getKind() == CacheKind::ring) {
      // The unrolled ring, in the scratch the plan holds for it.
      SmallVector<int64_t> temps = plan.temps.lookup(op);
      kOut = "(float *)(S + " + std::to_string(temps[0]) + ")";
      vOut = "(float *)(S + " + std::to_string(temps[1]) + ")";
    }
    call(op, "xfk_cache_read(f, &kCaches[" + std::to_string(ci) + "], " +
                 std::to_string(ci) + ", " + std::to_string(tables.maxBatch) +
                 ", " + std::to_string(shape[0]) + ", " + kOut + ", " + vOut +
                 ", &" + k + ", &" + v + ")");
    expr[read.getKey()] = k;
    expr[read.getValue()] = v;
    return success();
  }
  if (auto append = dyn_cast<CacheAppendOp>(op)) {
    auto it = tables.caches.find(append.getCache());
    int ci = it - tables.caches.begin();
    auto ks = shapeOf(append.getKey());
    Value lengths = append.getLengths();
    call(op, "xfk_cache_append(f, &kCaches[" + std::to_string(ci) + "], " +
                 std::to_string(ci) + ", " + std::to_string(tables.maxBatch) +
                 ", " + typed(append.getKey()) + ", " +
                 typed(append.getValue()) + ", " + std::to_string(ks[0]) +
                 ", " + std::to_string(ks[2]) + ", " + ptr(append.getStart()) +
                 ", " + dtypeName(elemOf(append.getStart())).str() + ", " +
                 (lengths ? ptr(lengths) : std::string("0")) + ", " +
                 (lengths ? dtypeName(elemOf(lengths)).str() : "XFM_I64") +
                 ")");
    return success();
  }

  if (auto l = dyn_cast<LinearOp>(op))
    return emitLinear(l);

  // Views (reshapes among them) name their operand's bytes.
  if (op->getNumResults() == 1)
    if (auto it = plan.views.find(op->getResult(0)); it != plan.views.end()) {
      const std::string base = expr.lookup(op->getOperand(0));
      expr[op->getResult(0)] =
          it->second ? "(const char *)(" + base + ") + " + num(it->second)
                     : base;
      return success();
    }

  // Everything else writes one new tensor.
  if (op->getNumResults() != 1)
    return op->emitError(Twine("the ") + tables.targetName + " target cannot lower this op");
  Value result = op->getResult(0);
  ArrayRef<int64_t> rs = shapeOf(result);
  const int64_t rn = product(rs);
  const int64_t eb = elementBytes(elemOf(result));
  bindScratch(result);
  const std::string R = out(result);

  if (auto e = dyn_cast<EmbeddingOp>(op)) {
    auto ts = shapeOf(e.getTable());
    std::string what = "embedding";
    if (auto w = e.getTable().getDefiningOp<WeightOp>())
      what = w.getName().str();
    // Rows stored in ggml blocks, bf16 or f16 (ggml's types 30 and 1),
    // decoded to f32 as they are looked up.
    const Type telem = elemOf(e.getTable());
    std::optional<std::pair<int64_t, StringRef>> stored;
    if (auto g = dyn_cast<GGMLType>(telem))
      stored = {int64_t(g.getFormat()), g.getGGMLName()};
    else if ((telem.isBF16() || telem.isF16()) && elemOf(result).isF32())
      stored = telem.isBF16() ? std::pair<int64_t, StringRef>{30, "BF16"}
                              : std::pair<int64_t, StringRef>{1, "F16"};
    if (stored) {
      call(op, "xfk_embedding_ggml(f, " + ptr(e.getTable()) + ", " +
                   num(stored->first) + " /* " + stored->second.str() +
                   " */, " + num(ts[0]) + ", " + num(ts[1]) + ", " +
                   ptr(e.getIds()) + ", " +
                   dtypeName(elemOf(e.getIds())).str() + ", " +
                   num(product(shapeOf(e.getIds()))) + ", " + R + ", " +
                   cString(what) + ")");
      return success();
    }
    call(op, "xfk_embedding(f, " + typed(e.getTable()) + ", " + num(ts[0]) +
                 ", " + num(ts[1]) + ", " + ptr(e.getIds()) + ", " +
                 dtypeName(elemOf(e.getIds())).str() + ", " +
                 num(product(shapeOf(e.getIds()))) + ", " + R + ", " +
                 cString(what) + ")");
    return success();
  }
  if (auto m = dyn_cast<MatmulOp>(op)) {
    auto as = shapeOf(m.getLhs()), bs = shapeOf(m.getRhs());
    size_t rank = rs.size() - 2;
    int64_t M = as[as.size() - 2], K = as.back();
    int64_t N = rs.back();
    call(op, "xfk_matmul(f, " + typed(m.getLhs()) + ", " + typed(m.getRhs()) +
                 ", " + R + ", " + num(rank) + ", " +
                 padded(as.drop_back(2), rank) + ", " +
                 padded(bs.drop_back(2), rank) + ", " +
                 padded(rs.drop_back(2), rank) + ", " + num(M) + ", " +
                 num(K) + ", " + num(N) + ", " +
                 (m.getTransposeRhs() ? "1" : "0") + ")");
    return success();
  }
  // Broadcasting binary ops and comparisons share one kernel.
  std::string binary;
  if (int code = binaryCode(op); code >= 0)
    binary = num(code);
  else if (auto c = dyn_cast<CompareOp>(op))
    binary = "XFK_EQ + " + num(static_cast<int>(c.getPredicate()));
  if (!binary.empty()) {
    Value a = op->getOperand(0), b = op->getOperand(1);
    call(op, "xfk_binary(f, " + binary + ", " + dtypeName(elemOf(a)).str() +
                 ", " + ptr(a) + ", " + padded(shapeOf(a), rs.size()) +
                 ", " + ptr(b) + ", " + padded(shapeOf(b), rs.size()) +
                 ", " + ptr(result) + ", " + padded(rs, rs.size()) + ", " +
                 num(rs.size()) + ")");
    return success();
  }
  auto unary = [&](const char *code, Value x) {
    call(op, std::string("xfk_unary(f, ") + code + ", " + ptr(x) + ", " +
                 ptr(result) + ", " + num(rn) + ")");
    return success();
  };
  if (auto g = dyn_cast<GeluOp>(op))
    return unary(g.getApproximation() == GeluApproximation::tanh
                     ? "XFK_GELU_TANH"
                     : "XFK_GELU_ERF",
                 g.getInput());
  if (auto u = dyn_cast<ReluOp>(op))
    return unary("XFK_RELU", u.getInput());
  if (auto u = dyn_cast<SiluOp>(op))
    return unary("XFK_SILU", u.getInput());
  if (auto u = dyn_cast<TanhOp>(op))
    return unary("XFK_TANH", u.getInput());
  if (auto u = dyn_cast<NotOp>(op))
    return unary("XFK_NOT", u.getInput());
  if (auto g = dyn_cast<GluOp>(op)) {
    // The kernels' unary codes are the ODS enum's numbers.
    const int64_t n = rs.back();
    call(op, "xfk_glu(f, " + num(int64_t(g.getActivation())) + ", " +
                 typed(g.getInput()) + ", " + R + ", " +
                 num(n ? rn / n : 0) + ", " +
                 num(n) + ")");
    return success();
  }
  if (auto c = dyn_cast<CastOp>(op)) {
    call(op, "xfk_cast(f, " + dtypeName(elemOf(c.getInput())).str() + ", " +
                 dtypeName(elemOf(result)).str() + ", " + ptr(c.getInput()) +
                 ", " + ptr(result) + ", " + num(rn) + ")");
    return success();
  }
  if (auto ln = dyn_cast<LayerNormOp>(op)) {
    int64_t dim = rs.back();
    call(op, "xfk_layer_norm(f, " + typed(ln.getInput()) + ", " +
                 typed(ln.getGamma()) + ", " +
                 (ln.getBeta() ? typed(ln.getBeta()) : std::string("0")) +
                 ", " + R + ", " + num(rn / dim) + ", " + num(dim) + ", " +
                 floatLiteral(ln.getEpsilon().convertToDouble()) + ")");
    return success();
  }
  if (auto rms = dyn_cast<RMSNormOp>(op)) {
    int64_t dim = rs.back();
    call(op, "xfk_rms_norm(f, " + typed(rms.getInput()) + ", " +
                 typed(rms.getGamma()) + ", " + R + ", " + num(rn / dim) +
                 ", " + num(dim) + ", " +
                 floatLiteral(rms.getEpsilon().convertToDouble()) + ")");
    return success();
  }
  if (auto sm = dyn_cast<SoftmaxOp>(op)) {
    int64_t axis = sm.getAxis();
    if (axis < 0)
      axis += rs.size();
    int64_t outer = product(rs.take_front(axis));
    int64_t inner = product(rs.drop_front(axis + 1));
    call(op, "xfk_softmax(f, " + typed(sm.getInput()) + ", " + R + ", " +
                 num(outer) + ", " + num(rs[axis]) + ", " + num(inner) + ")");
    return success();
  }
  auto transpose = [&](Value x, ArrayRef<int64_t> xs,
                       ArrayRef<int64_t> perm) {
    call(op, "xfk_transpose(f, " + num(eb) + ", " + ptr(x) + ", " + dims(xs) +
                 ", " + dims(perm) + ", " + ptr(result) + ", " +
                 num(xs.size()) + ")");
    return success();
  };
  if (auto t = dyn_cast<TransposeOp>(op))
    return transpose(t.getInput(), shapeOf(t.getInput()), t.getPermutation());
  if (auto s = dyn_cast<SplitHeadsOp>(op)) {
    // [B, S, H*D] viewed as [B, S, H, D] -> [B, H, S, D].
    SmallVector<int64_t> view = {rs[0], rs[2], rs[1], rs[3]};
    return transpose(s.getInput(), view, {0, 2, 1, 3});
  }
  if (auto m = dyn_cast<MergeHeadsOp>(op))
    return transpose(m.getInput(), shapeOf(m.getInput()), {0, 2, 1, 3});
  if (auto b = dyn_cast<BroadcastOp>(op)) {
    call(op, "xfk_broadcast(f, " + num(eb) + ", " + ptr(b.getInput()) + ", " +
                 padded(shapeOf(b.getInput()), rs.size()) + ", " +
                 ptr(result) + ", " + dims(rs) + ", " + num(rs.size()) + ")");
    return success();
  }
  if (auto s = dyn_cast<SliceOp>(op)) {
    call(op, "xfk_slice(f, " + num(eb) + ", " + ptr(s.getInput()) + ", " +
                 dims(shapeOf(s.getInput())) + ", " + dims(s.getOffsets()) +
                 ", " + ptr(result) + ", " + dims(rs) + ", " +
                 num(rs.size()) + ")");
    return success();
  }
  if (auto c = dyn_cast<ConcatOp>(op)) {
    int64_t axis = c.getAxis();
    if (axis < 0)
      axis += rs.size();
    int64_t outer = product(rs.take_front(axis));
    int64_t yInner = product(rs.drop_front(axis));
    int64_t at = 0;
    for (Value in : c.getInputs()) {
      int64_t inner = product(shapeOf(in).drop_front(axis));
      call(op, "xfk_concat_part(f, " + num(eb) + ", " + ptr(in) + ", " +
                   num(outer) + ", " + num(inner) + ", " + ptr(result) +
                   ", " + num(yInner) + ", " + num(at) + ")");
      at += inner;
    }
    return success();
  }
  if (auto g = dyn_cast<GatherPositionsOp>(op)) {
    auto xs = shapeOf(g.getInput());
    call(op, "xfk_gather_positions(f, " + num(eb) + ", " + ptr(g.getInput()) +
                 ", " + num(xs[0]) + ", " + num(xs[1]) + ", " +
                 num(product(xs.drop_front(2))) + ", " +
                 ptr(g.getPositions()) + ", " +
                 dtypeName(elemOf(g.getPositions())).str() + ", " +
                 ptr(result) + ")");
    return success();
  }
  if (isa<PositionsOp>(op)) {
    call(op, "xfk_positions(f, " + dtypeName(elemOf(result)).str() + ", " +
                 num(rn) + ", " + ptr(result) + ")");
    return success();
  }
  if (auto r = dyn_cast<RopeOp>(op)) {
    auto xs = shapeOf(r.getInput()); // [batch, heads, seq, head_dim]
    auto ps = shapeOf(r.getPositions());
    int64_t rotary = r.getRotaryDim() ? *r.getRotaryDim() : xs[3];
    std::string scaling;
    if (RopeScalingAttr sc = r.getScalingAttr()) {
      auto fp = [](const APFloat &v) {
        return doubleLiteral(v.convertToDouble());
      };
      scaling = std::string(", ") +
                (sc.getKind() == RopeScalingKind::linear
                     ? "XFK_ROPE_SCALING_LINEAR"
                     : "XFK_ROPE_SCALING_LLAMA3") +
                ", " + fp(sc.getFactor()) + ", " + fp(sc.getLowFreqFactor()) +
                ", " + fp(sc.getHighFreqFactor()) + ", " +
                num(sc.getOriginalMaxPositions());
    }
    call(op, std::string(scaling.empty() ? "xfk_rope" : "xfk_rope_scaled") +
                 "(f, " +
                 num(r.getStyle() == RopeStyle::interleaved ? 1 : 0) + ", " +
                 typed(r.getInput()) + ", " + R + ", " + num(xs[0]) + ", " +
                 num(xs[1]) + ", " + num(xs[2]) + ", " + num(xs[3]) + ", " +
                 num(rotary) + ", " + ptr(r.getPositions()) + ", " +
                 dtypeName(elemOf(r.getPositions())).str() + ", " +
                 num(ps.size() == 2 ? 1 : 0) + ", " +
                 doubleLiteral(r.getTheta().convertToDouble()) + scaling +
                 ")");
    return success();
  }
  if (auto b = dyn_cast<RelativePositionBiasOp>(op)) {
    auto ts = shapeOf(b.getTable());
    auto qs = shapeOf(b.getQueryPositions());
    auto ks = shapeOf(b.getKeyPositions());
    call(op, "xfk_relative_position_bias(f, " + typed(b.getTable()) + ", " +
                 num(ts[1]) + ", " + ptr(b.getQueryPositions()) + ", " +
                 dtypeName(elemOf(b.getQueryPositions())).str() + ", " +
                 num(qs.size() == 2 ? qs[0] : 1) + ", " + num(qs.back()) +
                 ", " + ptr(b.getKeyPositions()) + ", " +
                 dtypeName(elemOf(b.getKeyPositions())).str() + ", " +
                 num(ks.back()) + ", " + num(b.getNumBuckets()) + ", " +
                 num(b.getMaxDistance()) + ", " +
                 num(b.getBidirectional() ? 1 : 0) + ", " + R + ")");
    return success();
  }
  if (auto m = dyn_cast<MaskedFillOp>(op)) {
    call(op, "xfk_masked_fill(f, " + typed(m.getInput()) + ", " +
                 padded(shapeOf(m.getInput()), rs.size()) + ", " +
                 typed(m.getMask()) + ", " +
                 padded(shapeOf(m.getMask()), rs.size()) + ", " +
                 floatLiteral(m.getValue().convertToDouble()) + ", " + R +
                 ", " + dims(rs) + ", " + num(rs.size()) + ")");
    return success();
  }
  if (auto s = dyn_cast<SelectOp>(op)) {
    call(op, "xfk_select(f, " + num(eb) + ", " + typed(s.getCondition()) +
                 ", " + padded(shapeOf(s.getCondition()), rs.size()) + ", " +
                 ptr(s.getTrueValue()) + ", " +
                 padded(shapeOf(s.getTrueValue()), rs.size()) + ", " +
                 ptr(s.getFalseValue()) + ", " +
                 padded(shapeOf(s.getFalseValue()), rs.size()) + ", " +
                 ptr(result) + ", " + dims(rs) + ", " + num(rs.size()) + ")");
    return success();
  }
  if (auto a = dyn_cast<AttentionOp>(op)) {
    auto qs = shapeOf(a.getQuery()), ks = shapeOf(a.getKey()),
         vs = shapeOf(a.getValue());
    for (Value v : {a.getQuery(), a.getKey(), a.getValue()})
      if (llvm::any_of(shapeOf(v), ShapedType::isDynamic))
        return op->emitError(Twine("the ") + tables.targetName + " target needs static attention shapes "
                             "(dynamic ones come only from cache_read)");
    MaskAttr mask = a.getMask();
    std::string s = "  {\n    xfk_attention_args a = {};\n";
    auto set = [&](const std::string &field, const std::string &value) {
      s += "    a." + field + " = " + value + ";\n";
    };
    set("q", typed(a.getQuery()));
    set("k", typed(a.getKey()));
    set("v", typed(a.getValue()));
    set("out", R);
    set("batch", num(qs[0]));
    set("heads", num(qs[1]));
    set("kv_heads", num(ks[1]));
    set("q_len", num(qs[2]));
    set("kv_len", num(ks[2]));
    set("head_dim", num(qs[3]));
    set("v_head_dim", num(vs[3]));
    set("scale", floatLiteral(a.getScale().convertToDouble()));
    set("mask_kind", maskKindName(mask.getKind()));
    set("window", num(mask.getWindow()));
    set("prefix", num(mask.hasDynamicPrefix() ? 0 : mask.getPrefix()));
    set("documents", mask.getDocuments() ? "1" : "0");
    auto index = [&](Value v, const std::string &field) {
      if (!v)
        return;
      set(field, ptr(v));
      set(field + "_dtype", dtypeName(elemOf(v)).str());
    };
    index(a.getQLengths(), "q_lengths");
    index(a.getKvLengths(), "kv_lengths");
    index(a.getPrefixLengths(), "prefix_lengths");
    index(a.getSegmentIds(), "segment_ids");
    // Masks and biases reach the kernel as [batch or 1, heads or 1, q, kv];
    // other broadcasts are materialised first.
    auto operand4d = [&](Value v, const char *field, int64_t bytes) {
      if (!v)
        return;
      SmallVector<int64_t> shape(4 - std::min<size_t>(4, shapeOf(v).size()),
                                 1);
      llvm::append_range(shape, shapeOf(v));
      std::string p = ptr(v);
      if (shape[2] != qs[2] || shape[3] != ks[2]) {
        // Broadcast into the scratch the plan gives it while the kernel
        // runs (the mask's first, the bias's second).
        SmallVector<int64_t> full = {shape[0], shape[1], qs[2], ks[2]};
        int64_t off = plan.temps.lookup(op)[bytes == 1 ? 0 : 1];
        p = "(S + " + std::to_string(off) + ")";
        body += "  if ((rc = xfk_broadcast(f, " + num(bytes) + ", " + ptr(v) +
                ", " + dims(shape) + ", " + p + ", " + dims(full) +
                ", 4))) return rc;\n";
        shape = full;
      }
      std::string f = field;
      set(f, std::string("(const ") + (bytes == 1 ? "uint8_t" : "float") +
                 " *)" + p);
      set(f + "_batch_stride", num(shape[0] == 1 ? 0 : shape[1] * shape[2] * shape[3]));
      set(f + "_head_stride", num(shape[1] == 1 ? 0 : shape[2] * shape[3]));
    };
    operand4d(a.getMaskTensor(), "mask", 1);
    operand4d(a.getBias(), "bias", 4);
    // CUDA: the mask kind and head sizes are template arguments, so each
    // attention gets a kernel specialised to them.
    if (tables.cuda())
      s += std::string("    if ((rc = xfk_attention<") +
           maskKindName(mask.getKind()) + ", " + num(qs[3]) + ", " +
           num(vs[3]) + ">(f, &a))) return rc;\n  }\n";
    else
      s += "    if ((rc = xfk_attention(f, &a))) return rc;\n  }\n";
    body += opComment(op) + s;
    ++calls;
    return success();
  }
  return op->emitError(Twine("the ") + tables.targetName + " target cannot lower '")
         << op->getName() << "' yet";
}

} // namespace

LogicalResult mlir::xformer::translateModelToCpp(ModuleOp module,
                                                 raw_ostream &os,
                                                 EmitStats *stats,
                                                 ModelTarget target) {
  // What reaches the printer is lowerable (xformer-verify-target); it is
  // checked here too for callers that skip the pipeline.
  if (failed(verifyTargetLegality(module, target)))
    return failure();
  ModuleTables tables;
  tables.target = target;
  tables.targetName = mlir::xformer::targetName(target);
  // Weights: one entry per name, in order of first use.
  module.walk([&](WeightOp w) {
    auto type = cast<RankedTensorType>(w.getType());
    tables.weights.insert({{w.getName(), type}, type});
  });
  module.walk([&](WeightOp w) {
    if (llvm::any_of(w->getUsers(),
                     [](Operation *user) { return !isWeightConcat(user); }))
      tables.readDirectly.insert(tables.weightIndex(w));
  });

  if (auto plan = module->getAttrOfType<DictionaryAttr>("xformer.kv_plan")) {
    auto get = [&](StringRef key) {
      auto a = plan.getAs<IntegerAttr>(key);
      return a ? a.getInt() : 0;
    };
    tables.maxBatch = get("max_batch");
    tables.maxSeqLen = get("max_seq_len");
    tables.arenaBytes = get("total_bytes");
  }
  for (auto cache : module.getOps<KVCacheOp>())
    tables.caches.insert({cache.getSymName(), cache});

  SmallVector<func::FuncOp> funcs;
  std::optional<ModelKind> kind;
  for (auto func : module.getOps<func::FuncOp>()) {
    if (func.isExternal())
      continue;
    if (auto attr = func->getAttrOfType<ModelKindAttr>("xformer.model"))
      kind = attr.getValue();
    funcs.push_back(func);
  }

  int64_t maxScratch = 0, calls = 0;
  std::string descs;
  llvm::raw_string_ostream dos(descs);

  // The descriptor tables of each function's signature.
  auto tensorDescs = [&](StringRef name, TypeRange types) {
    std::string arr = "k" + name.str();
    dos << "static const xfm_tensor_desc " << arr << "[] = {";
    if (types.empty())
      dos << "{0, 0, 0, 0}";
    for (auto [i, t] : llvm::enumerate(types)) {
      auto rt = cast<RankedTensorType>(t);
      dos << (i ? ", " : "") << "{" << cString("#" + std::to_string(i))
          << ", " << dtypeName(rt.getElementType()) << ", " << rt.getRank()
          << ", " << tables.shape(rt.getShape()) << "}";
    }
    dos << "};\n";
    return arr;
  };
  std::string functionTable = "static const xfm_function_desc kFunctions[] = {\n";
  // Final emission: bodies and descriptors.
  std::string bodies;
  llvm::raw_string_ostream bos(bodies);
  for (auto func : funcs) {
    FunctionEmitter fe(func, tables);
    if (failed(fe.emit()))
      return failure();
    maxScratch = std::max(maxScratch, fe.scratchBytes());
    calls += fe.kernelCalls();
    std::string sym = "fn_" + func.getSymName().str();
    bos << "int32_t " << sym
        << "(xfk_frame *f, const void *const *in, void *const *out) {\n"
        << "  char *S = f->scratch;\n  const void *const *W = f->weights;\n"
        << "  int32_t rc = 0;\n  (void)S; (void)W; (void)in; (void)rc;\n";
    bos << fe.takeBody();
    if (tables.cuda()) // device errors (token ids) surface here
      bos << "  if ((rc = xfk_finish(f))) return rc;\n";
    bos << "  return 0;\n}\n\n";
    // The vocabulary of the token ids (argument #0), for the runtime's
    // up-front check of a call's ids.
    int64_t tokenVocab = 0;
    if (func.getNumArguments() > 0)
      for (Operation *user : func.getArgument(0).getUsers())
        if (auto e = dyn_cast<EmbeddingOp>(user))
          if (e.getIds() == func.getArgument(0))
            tokenVocab = cast<RankedTensorType>(e.getTable().getType())
                             .getDimSize(0);
    std::string ins = tensorDescs(sym + "_in", func.getArgumentTypes());
    std::string outs = tensorDescs(sym + "_out", func.getResultTypes());
    functionTable += "  {" + cString(func.getSymName()) + ", " + sym + ", " +
                     std::to_string(func.getNumArguments()) + ", " + ins +
                     ", " + std::to_string(func.getNumResults()) + ", " +
                     outs + ", " + std::to_string(fe.scratchBytes()) + ", " +
                     std::to_string(tokenVocab) + "},\n";
  }
  functionTable += "};\n";

  // Weights and caches.
  std::string weightTable = "static const xfm_tensor_desc kWeights[] = {\n";
  for (auto &[key, type] : tables.weights)
    weightTable += "  {" + cString(key.first) + ", " +
                   dtypeName(type.getElementType()).str() + ", " +
                   std::to_string(type.getRank()) + ", " +
                   tables.shape(type.getShape()) + "},\n";
  if (tables.weights.empty())
    weightTable += "  {0, 0, 0, 0},\n";
  weightTable += "};\n";
  // Weights joined on open: each part's index, then the table.
  std::string fusedTable =
      "static const xfm_fused_weight_desc kFusedWeights[] = {\n";
  std::map<int32_t, int> partUses;
  for (const auto &fw : tables.fused)
    for (int32_t p : fw.parts)
      ++partUses[p];
  for (auto [k, fw] : llvm::enumerate(tables.fused)) {
    std::string parts = "kFusedParts" + std::to_string(k), name;
    const bool unread = llvm::all_of(fw.parts, [&](int32_t p) {
      return !tables.readDirectly.contains(p) && partUses[p] == 1;
    });
    weightTable += "static const int32_t " + parts + "[] = {";
    for (auto [i, p] : llvm::enumerate(fw.parts)) {
      weightTable += (i ? ", " : "") + std::to_string(p);
      name += (i ? "+" : "") + tables.weights.begin()[p].first.first.str();
    }
    weightTable += "};\n";
    fusedTable += "  {{" + cString(name) + ", " +
                  dtypeName(fw.type.getElementType()).str() + ", " +
                  std::to_string(fw.type.getRank()) + ", " +
                  tables.shape(fw.type.getShape()) + "}, " +
                  std::to_string(fw.axis) + ", " +
                  std::to_string(fw.parts.size()) + ", " + parts + ", " +
                  (unread ? "1" : "0") + "},\n";
  }
  if (tables.fused.empty())
    fusedTable += "  {{0, 0, 0, 0}, 0, 0, 0, 0},\n";
  fusedTable += "};\n";
  weightTable += fusedTable;
  std::string cacheTable = "static const xfm_cache_desc kCaches[] = {\n";
  for (auto &[name, cache] : tables.caches)
    cacheTable += "  {" + cString(name) + ", " +
                  std::to_string(static_cast<int>(cache.getKind())) + ", " +
                  std::to_string(cache.getKvHeads()) + ", " +
                  std::to_string(cache.getHeadDim()) + ", " +
                  std::to_string(*cache.getCapacity()) + ", " +
                  std::to_string(cache.getWindow().value_or(0)) + ", " +
                  std::to_string(*cache.getOffset()) + ", " +
                  std::to_string(*cache.getBytes()) + "},\n";
  if (tables.caches.empty())
    cacheTable += "  {0, 0, 0, 0, 0, 0, 0, 0},\n";
  cacheTable += "};\n";

  os << "// Generated by xformer-compile (" << tables.targetName
     << " target). Do not edit.\n";
  if (tables.cuda())
    os << "#include \"xformer/Runtime/CUDA/Kernels.cuh\"\n\n"
       << "namespace {\n\nusing namespace xformer::cuda;\n\n";
  else
    os << "#include \"xformer/Runtime/CPU/Kernels.h\"\n#include <string.h>\n\n"
       << "namespace {\n\n";
  os
     << tables.decls << "\n"
     << weightTable << cacheTable << "\n"
     << bodies << descs << functionTable << "\n} // namespace\n\n"
     << "extern \"C\" __attribute__((visibility(\"default\"))) const "
        "xfm_model_desc *xformer_model(void) {\n"
     << "  static const xfm_model_desc desc = {XFORMER_MODEL_ABI_VERSION, "
     << cString(XFORMER_VERSION_STRING) << ", "
     << static_cast<int>(*kind) << ", " << tables.weights.size()
     << ", kWeights, " << funcs.size() << ", kFunctions, "
     << tables.caches.size() << ", kCaches, " << tables.arenaBytes << ", "
     << tables.maxBatch << ", " << tables.maxSeqLen << ", "
     << (tables.cuda() ? "XFM_TARGET_CUDA, &kDeviceOps" : "XFM_TARGET_CPU, 0")
     << ", " << tables.fused.size() << ", kFusedWeights};\n"
     << "  return &desc;\n}\n";
  if (stats) {
    stats->kernelCalls = calls;
    stats->scratchBytes = maxScratch;
  }
  return success();
}

void mlir::xformer::registerToCppTranslations() {
  auto dialects = [](DialectRegistry &registry) {
    registry.insert<XformerDialect, func::FuncDialect, arith::ArithDialect,
                    tensor::TensorDialect>();
  };
  static TranslateFromMLIRRegistration cpu(
      "xformer-to-cpp",
      "model IR after xformer-cpu-pipeline to the C++ xformer-compile builds",
      [](ModuleOp module, raw_ostream &os) {
        return translateModelToCpp(module, os, nullptr, ModelTarget::cpu);
      },
      dialects);
  static TranslateFromMLIRRegistration cuda(
      "xformer-to-cuda",
      "model IR after xformer-cuda-pipeline to the CUDA C++ xformer-compile "
      "builds",
      [](ModuleOp module, raw_ostream &os) {
        return translateModelToCpp(module, os, nullptr, ModelTarget::cuda);
      },
      dialects);
}
