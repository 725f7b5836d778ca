//===- Lowering.cpp - What the xformer-to-EmitC patterns share ------------===//

#include "Lowering.h"

#include "xformer/Runtime/KernelTypes.h"
#include "xformer/Runtime/ModelABI.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>

using namespace mlir;
using namespace mlir::xformer;
using namespace mlir::xformer::to_emitc;

// The ABI's and the kernels' codes are the ODS enums' numbers: the
// patterns print the one as the other.
#define XF_SAME(abi, ods) static_assert(int(abi) == int(ods), #abi)
XF_SAME(XFK_MASK_BIDIRECTIONAL, MaskKind::bidirectional);
XF_SAME(XFK_MASK_CAUSAL, MaskKind::causal);
XF_SAME(XFK_MASK_PREFIX_LM, MaskKind::prefix_lm);
XF_SAME(XFK_MASK_SLIDING_WINDOW, MaskKind::sliding_window);
XF_SAME(XFK_MASK_CROSS, MaskKind::cross);
XF_SAME(XFK_MASK_CUSTOM, MaskKind::custom);
XF_SAME(XFK_GELU_ERF, Activation::gelu);
XF_SAME(XFK_GELU_TANH, Activation::gelu_tanh);
XF_SAME(XFK_RELU, Activation::relu);
XF_SAME(XFK_SILU, Activation::silu);
XF_SAME(XFK_TANH, Activation::tanh);
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

//===----------------------------------------------------------------------===//
// The targets' tables
//===----------------------------------------------------------------------===//

StringRef KernelTable::linearCallee(Type weightElement) const {
  if (isa<GGMLType>(weightElement))
    return "xfk_linear_ggml_fused";
  if (weightElement.isBF16())
    return "xfk_linear_bf16_fused";
  if (weightElement.isF16())
    return "xfk_linear_f16_fused";
  return "xfk_linear_fused";
}

const KernelTable &mlir::xformer::to_emitc::kernelTableFor(ModelTarget target) {
  static const KernelTable cpu = {
      ModelTarget::cpu,
      "CPU",
      "xformer/Runtime/CPU/Kernels.h",
      /*preamble=*/"",
      /*constantQualifier=*/"",
      /*constantAddress=*/"",
      /*copyOut=*/"memcpy",
      /*copyOutTakesFrame=*/false,
      /*finish=*/"",
      /*specialiseAttention=*/false,
      "XFM_TARGET_CPU",
      "0"};
  // CUDA: constants in device memory (their address from xfk_symbol),
  // results copied from the device, errors the kernels recorded on the
  // device collected before returning, attention specialised per call.
  static const KernelTable cuda = {
      ModelTarget::cuda,
      "CUDA",
      "xformer/Runtime/CUDA/Kernels.cuh",
      "using namespace xformer::cuda;",
      "__device__",
      "xfk_symbol",
      "xfk_copy",
      /*copyOutTakesFrame=*/true,
      "xfk_finish",
      /*specialiseAttention=*/true,
      "XFM_TARGET_CUDA",
      "&kDeviceOps"};
  return target == ModelTarget::cuda ? cuda : cpu;
}

//===----------------------------------------------------------------------===//
// Types, literals, pointers
//===----------------------------------------------------------------------===//

Type mlir::xformer::to_emitc::storageType(MLIRContext *ctx, Type t) {
  if (t.isF32())
    return t;
  if (t.isInteger(64) || t.isInteger(32))
    return t;
  if (t.isBF16() || t.isF16())
    return IntegerType::get(ctx, 16, IntegerType::Unsigned);
  return IntegerType::get(ctx, 8, IntegerType::Unsigned); // i1, ggml blocks
}

Type mlir::xformer::to_emitc::pointerType(MLIRContext *ctx, Type t) {
  return emitc::PointerType::get(storageType(ctx, t));
}

Type mlir::xformer::to_emitc::opaqueType(MLIRContext *ctx, StringRef text) {
  return emitc::OpaqueType::get(ctx, text);
}

Value mlir::xformer::to_emitc::literal(OpBuilder &b, Location loc, Type type,
                                       StringRef text) {
  return emitc::LiteralOp::create(b, loc, type, text);
}

Value mlir::xformer::to_emitc::tableEntry(OpBuilder &b, Location loc,
                                          Value table, int64_t index,
                                          Type type) {
  auto pointer = cast<TypedValue<emitc::PointerType>>(table);
  auto slot = emitc::SubscriptOp::create(
      b, loc, pointer,
      literal(b, loc, emitc::SizeTType::get(b.getContext()),
              std::to_string(index)));
  Value entry = emitc::LoadOp::create(
      b, loc, pointer.getType().getPointee(), slot);
  return type ? emitc::CastOp::create(b, loc, type, entry).getResult()
              : entry;
}

Value mlir::xformer::to_emitc::offsetPointer(OpBuilder &b, Location loc,
                                             Value base, int64_t bytes,
                                             Type type) {
  if (bytes == 0)
    return base.getType() == type ? base
                                  : emitc::CastOp::create(b, loc, type, base);
  MLIRContext *ctx = b.getContext();
  Type bytePtr = emitc::PointerType::get(opaqueType(ctx, "char"));
  Value p = base.getType() == bytePtr
                ? base
                : emitc::CastOp::create(b, loc, bytePtr, base).getResult();
  Value moved = emitc::AddOp::create(
      b, loc, bytePtr, p,
      literal(b, loc, b.getI64Type(), std::to_string(bytes)));
  return emitc::CastOp::create(b, loc, type, moved);
}

Value mlir::xformer::to_emitc::scratchAt(OpBuilder &b, LoweringState &state,
                                         Operation *op, int64_t offset,
                                         Type type) {
  FunctionFrame &frame = state.frameOf(op);
  return offsetPointer(b, op->getLoc(), frame.scratch, offset, type);
}

Value mlir::xformer::to_emitc::scratchResult(OpBuilder &b,
                                             LoweringState &state,
                                             Operation *op, Value result) {
  FunctionFrame &frame = state.frameOf(op);
  Type type = pointerType(
      b.getContext(), cast<RankedTensorType>(result.getType()).getElementType());
  return scratchAt(b, state, op, frame.plan.offsets.lookup(result), type);
}

std::string mlir::xformer::to_emitc::doubleLiteral(double v) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << llvm::format("%a", v);
  return s;
}

std::string mlir::xformer::to_emitc::floatLiteral(double v) {
  if (std::isnan(v))
    return "__builtin_nanf(\"\")";
  if (std::isinf(v))
    return v > 0 ? "__builtin_inff()" : "-__builtin_inff()";
  // Rounded to float here, so the literal is exact (nvcc warns otherwise).
  return doubleLiteral(static_cast<double>(static_cast<float>(v))) + "f";
}

std::string mlir::xformer::to_emitc::cString(StringRef s) {
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

std::string mlir::xformer::to_emitc::dtypeName(Type t) {
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
  // XFM_Q4_0 ... XFM_Q6_K, ggml's names (their numbers are checked above).
  if (auto g = dyn_cast<GGMLType>(t))
    return ("XFM_" + g.getGGMLName()).str();
  return "";
}

//===----------------------------------------------------------------------===//
// LoweringState
//===----------------------------------------------------------------------===//

int32_t LoweringState::weightIndex(WeightOp w) const {
  auto it = weights.find({w.getName(), w.getType()});
  return int32_t(it - weights.begin());
}

size_t LoweringState::fusedWeight(ConcatOp concat) {
  std::vector<int32_t> parts;
  for (Value v : concat.getInputs())
    parts.push_back(weightIndex(v.getDefiningOp<WeightOp>()));
  int64_t axis = concat.getAxis();
  auto [it, added] =
      fusedIndex.try_emplace({parts, axis}, weights.size() + fused.size());
  if (added)
    fused.push_back(
        {std::move(parts), axis, cast<RankedTensorType>(concat.getType())});
  return it->second;
}

int32_t LoweringState::cacheIndex(StringRef name) const {
  return int32_t(caches.find(name) - caches.begin());
}

FunctionFrame &LoweringState::frameOf(Operation *op) {
  auto func = op->getParentOfType<emitc::FuncOp>();
  return frames.find(func)->second;
}

StringRef LoweringState::shapeArray(OpBuilder &b, ArrayRef<int64_t> dims) {
  std::vector<int64_t> key(dims.begin(), dims.end());
  auto it = shapes.find(key);
  if (it != shapes.end())
    return it->second;
  std::string name = "kShape" + std::to_string(shapes.size());
  SmallVector<int64_t> values(dims);
  if (values.empty())
    values.push_back(1);
  auto i64 = b.getI64Type();
  auto attr = DenseElementsAttr::get(
      RankedTensorType::get({int64_t(values.size())}, i64),
      ArrayRef<int64_t>(values));
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(declAnchor);
  emitc::GlobalOp::create(
      b, module.getLoc(), name,
      emitc::ArrayType::get({int64_t(values.size())}, i64), attr,
      /*extern_specifier=*/false, /*static_specifier=*/true,
      /*const_specifier=*/true);
  return shapes.emplace(std::move(key), name).first->second;
}

void LoweringState::constantArray(OpBuilder &b, Location loc, StringRef name,
                                  DenseElementsAttr values) {
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(declAnchor);
  if (!kernels.constantQualifier.empty())
    emitc::VerbatimOp::create(b, loc, kernels.constantQualifier);
  emitc::GlobalOp::create(
      b, loc, name,
      emitc::ArrayType::get({values.getNumElements()},
                            values.getElementType()),
      values, /*extern_specifier=*/false, /*static_specifier=*/true,
      /*const_specifier=*/true);
}

//===----------------------------------------------------------------------===//
// Kernel calls
//===----------------------------------------------------------------------===//

void mlir::xformer::to_emitc::commentOp(OpBuilder &b, LoweringState &state,
                                        Operation *op) {
  if (state.commented == op)
    return;
  state.commented = op;
  ++state.kernelCalls;
  std::string loc;
  llvm::raw_string_ostream los(loc);
  op->getLoc()->print(los);
  emitc::VerbatimOp::create(
      b, op->getLoc(),
      "// " + op->getName().getStringRef().str() + " " + loc);
}

void mlir::xformer::to_emitc::checkStatus(OpBuilder &b, Location loc,
                                          Value status) {
  emitc::VerbatimOp::create(b, loc, b.getStringAttr("if ({}) return {};"),
                            ValueRange{status, status});
}

KernelCall::KernelCall(LoweringState &state, Operation *op, StringRef callee)
    : state(state), op(op), callee(callee.str()) {}

KernelCall &KernelCall::frame() {
  return value(state.frameOf(op).frame);
}

KernelCall &KernelCall::value(Value v) {
  args.push_back(IntegerAttr::get(IndexType::get(op->getContext()),
                                  operands.size()));
  operands.push_back(v);
  return *this;
}

KernelCall &KernelCall::valueOrNull(Value v) {
  return v ? value(v) : opaque("0");
}

KernelCall &KernelCall::integer(int64_t v) {
  args.push_back(
      IntegerAttr::get(IntegerType::get(op->getContext(), 64), v));
  return *this;
}

KernelCall &KernelCall::opaque(StringRef text) {
  args.push_back(emitc::OpaqueAttr::get(op->getContext(), text));
  return *this;
}

KernelCall &KernelCall::shape(ArrayRef<int64_t> dims, size_t rank) {
  SmallVector<int64_t> padded(rank > dims.size() ? rank - dims.size() : 0, 1);
  padded.append(dims.begin(), dims.end());
  OpBuilder b(op->getContext());
  return opaque(state.shapeArray(b, padded));
}

KernelCall &KernelCall::templateArg(Attribute arg) {
  templateArgs.push_back(arg);
  return *this;
}

void KernelCall::emit(OpBuilder &b) {
  commentOp(b, state, op);
  Location loc = op->getLoc();
  auto call = emitc::CallOpaqueOp::create(
      b, loc, TypeRange{b.getI32Type()}, callee, operands,
      b.getArrayAttr(args),
      templateArgs.empty() ? ArrayAttr() : b.getArrayAttr(templateArgs));
  checkStatus(b, loc, call.getResult(0));
}
