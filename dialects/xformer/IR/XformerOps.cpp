//===- XformerOps.cpp - xformer operations and their verifiers ------------===//

#include "xformer/IR/XformerOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/TypeUtilities.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallBitVector.h"

#include <cmath>

using namespace mlir;
using namespace mlir::xformer;

/// `%a, %b, axis = 0` (xformer.concat): operands up to the `axis` keyword.
/// A declarative `$inputs `,` `axis`` cannot parse: the operand list would
/// take the comma and then expect another operand.
static ParseResult
parseOperandsThenAxis(OpAsmParser &parser,
                      SmallVectorImpl<OpAsmParser::UnresolvedOperand> &inputs,
                      IntegerAttr &axis) {
  do {
    if (succeeded(parser.parseOptionalKeyword("axis"))) {
      int64_t value = 0;
      if (parser.parseEqual() || parser.parseInteger(value))
        return failure();
      axis = parser.getBuilder().getI64IntegerAttr(value);
      return success();
    }
    if (parser.parseOperand(inputs.emplace_back()))
      return failure();
  } while (succeeded(parser.parseOptionalComma()));
  return parser.emitError(parser.getCurrentLocation(),
                          "expected ', axis = <integer>' after the operands");
}

static void printOperandsThenAxis(OpAsmPrinter &printer, Operation *,
                                  OperandRange inputs, IntegerAttr axis) {
  for (Value v : inputs)
    printer << v << ", ";
  printer << "axis = " << axis.getInt();
}

#define GET_OP_CLASSES
#include "xformer/IR/XformerOps.cpp.inc"

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

/// Two dimensions agree when equal or when either is dynamic.
static bool dimsAgree(int64_t a, int64_t b) {
  return a == b || ShapedType::isDynamic(a) || ShapedType::isDynamic(b);
}

static std::string dimStr(int64_t d) {
  return ShapedType::isDynamic(d) ? "?" : std::to_string(d);
}

static bool shapesAgree(ArrayRef<int64_t> a, ArrayRef<int64_t> b) {
  if (a.size() != b.size())
    return false;
  for (auto [x, y] : llvm::zip_equal(a, b))
    if (!dimsAgree(x, y))
      return false;
  return true;
}

/// Checks that a 1-D per-gain vector (`gamma`, `beta`, a bias) matches the
/// last dimension of `input` and its element type.
static LogicalResult verifyFeatureVector(Operation *op, StringRef name,
                                         RankedTensorType vec,
                                         RankedTensorType input) {
  if (vec.getRank() != 1)
    return op->emitOpError() << "expects '" << name << "' to be 1-D, got "
                             << shapeToString(vec.getShape());
  int64_t dim = input.getRank() ? input.getShape().back() : 1;
  if (!dimsAgree(vec.getDimSize(0), dim))
    return op->emitOpError()
           << "'" << name << "' has " << dimStr(vec.getDimSize(0))
           << " elements but the normalised dimension has " << dimStr(dim);
  if (vec.getElementType() != input.getElementType())
    return op->emitOpError() << "'" << name << "' element type "
                             << vec.getElementType()
                             << " differs from the input's "
                             << input.getElementType();
  return success();
}

//===----------------------------------------------------------------------===//
// WeightOp
//===----------------------------------------------------------------------===//

/// The rules every weight type follows, declared or read: a static shape,
/// and ggml blocks only as 2-D rows of whole blocks.
static LogicalResult verifyWeightType(Operation *op, StringRef name,
                                      RankedTensorType type) {
  if (!type.hasStaticShape())
    return op->emitOpError("weight '")
           << name << "' must have a static shape, got "
           << shapeToString(type.getShape());
  if (auto blocks = dyn_cast<GGMLType>(type.getElementType())) {
    if (type.getRank() != 2)
      return op->emitOpError("weight '")
             << name << "' in " << blocks.getGGMLName()
             << " blocks must be 2-D (rows of blocks), got rank "
             << type.getRank();
    if (type.getDimSize(1) % blocks.getBlockElements() != 0)
      return op->emitOpError("weight '")
             << name << "' has rows of " << type.getDimSize(1)
             << " elements, not a whole number of " << blocks.getGGMLName()
             << " blocks of " << blocks.getBlockElements();
  }
  return success();
}

LogicalResult WeightDeclOp::verify() {
  if (getSymName().empty())
    return emitOpError("expects a non-empty weight name");
  return verifyWeightType(*this, getSymName(),
                          cast<RankedTensorType>(getType()));
}

LogicalResult WeightOp::verify() {
  if (getName().empty())
    return emitOpError("expects a non-empty weight name");
  return verifyWeightType(*this, getName(), getType());
}

/// Every read has the declared shape, and the declared element type unless
/// both are floats or ggml blocks (the runtime converts the stored tensor
/// to each such type).
LogicalResult WeightOp::verifySymbolUses(SymbolTableCollection &symbolTable) {
  auto decl =
      symbolTable.lookupNearestSymbolFrom<WeightDeclOp>(*this, getNameAttr());
  if (!decl)
    return emitOpError("reads weight '")
           << getName() << "', which no xformer.weight_decl declares";
  auto declared = cast<RankedTensorType>(decl.getType());
  if (declared == getType())
    return success();
  auto convertible = [](Type t) { return isa<FloatType, GGMLType>(t); };
  if (declared.getShape() == getType().getShape() &&
      convertible(declared.getElementType()) &&
      convertible(getType().getElementType()))
    return success();
  return emitOpError("reads weight '")
             .append(getName(), "' as ", getType(), " but it is declared ",
                     declared)
             .attachNote(decl.getLoc())
         << "declared here";
}

//===----------------------------------------------------------------------===//
// EmbeddingOp
//===----------------------------------------------------------------------===//

LogicalResult EmbeddingOp::verify() {
  RankedTensorType table = getTable().getType();
  RankedTensorType ids = getIds().getType();
  RankedTensorType result = getType();
  if (table.getRank() != 2)
    return emitOpError("expects a [vocab, dim] table, got rank ")
           << table.getRank();
  if (ids.getElementType().isInteger(1))
    return emitOpError("expects integer token ids, not i1");
  SmallVector<int64_t> expected(ids.getShape());
  expected.push_back(table.getDimSize(1));
  if (!shapesAgree(result.getShape(), expected))
    return emitOpError("result shape ")
           << shapeToString(result.getShape()) << " should be "
           << shapeToString(expected) << " (ids shape followed by dim)";
  // A table in ggml blocks decodes to f32 rows; a bf16 or f16 table
  // (GGUF BF16, F16) to its own type or to f32.
  Type stored = table.getElementType();
  Type f32 = Float32Type::get(getContext());
  if (isa<GGMLType>(stored) && result.getElementType() != f32)
    return emitOpError("result element type ")
           << result.getElementType() << " should be " << f32
           << " (a table in ggml blocks decodes to f32)";
  if (!isa<GGMLType>(stored) && result.getElementType() != stored &&
      !((stored.isBF16() || stored.isF16()) && result.getElementType() == f32))
    return emitOpError("result element type ")
           << result.getElementType() << " should be " << stored
           << " (the table's)"
           << (stored.isBF16() || stored.isF16() ? " or f32" : "");
  return success();
}

//===----------------------------------------------------------------------===//
// LinearOp
//===----------------------------------------------------------------------===//

//===----------------------------------------------------------------------===//
// Result type inference (XF_InferResultType)
//===----------------------------------------------------------------------===//

namespace {

/// `shape` of `elt`, or a declined inference (an unranked tensor) where the
/// operands are malformed: the op's verifier then says what is wrong.
LogicalResult inferred(SmallVectorImpl<Type> &types,
                       std::optional<SmallVector<int64_t>> shape, Type elt) {
  types.push_back(shape ? Type(RankedTensorType::get(*shape, elt))
                        : Type(UnrankedTensorType::get(elt)));
  return success();
}

RankedTensorType rankedOf(Value v) {
  return v ? dyn_cast<RankedTensorType>(v.getType()) : RankedTensorType();
}

} // namespace

/// The NumPy broadcast of `operands`' shapes with element type `elt`;
/// unranked where they do not broadcast (the verifier says why).
static LogicalResult inferBroadcast(ValueRange operands, Type elt,
                                    SmallVectorImpl<Type> &types) {
  std::optional<SmallVector<int64_t>> shape = SmallVector<int64_t>();
  for (Value v : operands) {
    RankedTensorType t = rankedOf(v);
    if (!t || !shape)
      return inferred(types, std::nullopt, elt);
    shape = broadcastShapes(*shape, t.getShape());
  }
  return inferred(types, shape, elt);
}

// Broadcasting elementwise ops: the operands' broadcast shape, the element
// type of the first value operand (i1 for comparisons).
#define XF_INFER_BROADCAST(Op, ElementType)                                    \
  LogicalResult Op::inferReturnTypes(MLIRContext *ctx,                         \
                                     std::optional<Location>, Adaptor adaptor, \
                                     SmallVectorImpl<Type> &types) {           \
    ValueRange operands = adaptor.getOperands();                               \
    (void)ctx;                                                                 \
    return inferBroadcast(operands, ElementType, types);                       \
  }
#define XF_FIRST_ELEMENT                                                       \
  getElementTypeOrSelf(adaptor.getOperands().front().getType())
XF_INFER_BROADCAST(AddOp, XF_FIRST_ELEMENT)
XF_INFER_BROADCAST(SubOp, XF_FIRST_ELEMENT)
XF_INFER_BROADCAST(MulOp, XF_FIRST_ELEMENT)
XF_INFER_BROADCAST(DivOp, XF_FIRST_ELEMENT)
XF_INFER_BROADCAST(AndOp, XF_FIRST_ELEMENT)
XF_INFER_BROADCAST(OrOp, XF_FIRST_ELEMENT)
XF_INFER_BROADCAST(CompareOp, IntegerType::get(ctx, 1))
XF_INFER_BROADCAST(SelectOp,
                   getElementTypeOrSelf(adaptor.getTrueValue().getType()))
#undef XF_FIRST_ELEMENT
#undef XF_INFER_BROADCAST

// The ops' verifiers check their results against these shapes with their
// own messages, so the interface's check accepts what they accept.
#define XF_VERIFIER_CHECKS_RESULTS(Op)                                         \
  bool Op::isCompatibleReturnTypes(TypeRange, TypeRange) { return true; }
XF_VERIFIER_CHECKS_RESULTS(LinearOp)
XF_VERIFIER_CHECKS_RESULTS(GluOp)
XF_VERIFIER_CHECKS_RESULTS(MatmulOp)
XF_VERIFIER_CHECKS_RESULTS(TransposeOp)
XF_VERIFIER_CHECKS_RESULTS(GatherPositionsOp)
XF_VERIFIER_CHECKS_RESULTS(SplitHeadsOp)
XF_VERIFIER_CHECKS_RESULTS(MergeHeadsOp)
XF_VERIFIER_CHECKS_RESULTS(AddOp)
XF_VERIFIER_CHECKS_RESULTS(SubOp)
XF_VERIFIER_CHECKS_RESULTS(MulOp)
XF_VERIFIER_CHECKS_RESULTS(DivOp)
XF_VERIFIER_CHECKS_RESULTS(AndOp)
XF_VERIFIER_CHECKS_RESULTS(OrOp)
XF_VERIFIER_CHECKS_RESULTS(CompareOp)
XF_VERIFIER_CHECKS_RESULTS(SelectOp)
#undef XF_VERIFIER_CHECKS_RESULTS

LogicalResult LinearOp::inferReturnTypes(MLIRContext *, std::optional<Location>,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &types) {
  RankedTensorType input = rankedOf(adaptor.getInput()),
                   weight = rankedOf(adaptor.getWeight());
  if (!input || !weight || input.getRank() < 1 || weight.getRank() != 2)
    return inferred(types, std::nullopt,
                    input ? input.getElementType() : Type());
  SmallVector<int64_t> shape(input.getShape());
  shape.back() = weight.getDimSize(adaptor.getWeightTransposed() ? 1 : 0);
  return inferred(types, shape, input.getElementType());
}

LogicalResult GluOp::inferReturnTypes(MLIRContext *, std::optional<Location>,
                                      Adaptor adaptor,
                                      SmallVectorImpl<Type> &types) {
  RankedTensorType input = rankedOf(adaptor.getInput());
  if (!input || input.getRank() < 1)
    return inferred(types, std::nullopt,
                    input ? input.getElementType() : Type());
  SmallVector<int64_t> shape(input.getShape());
  if (!ShapedType::isDynamic(shape.back())) {
    if (shape.back() % 2)
      return inferred(types, std::nullopt, input.getElementType());
    shape.back() /= 2;
  }
  return inferred(types, shape, input.getElementType());
}

LogicalResult MatmulOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location>,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &types) {
  RankedTensorType lhs = rankedOf(adaptor.getLhs()),
                   rhs = rankedOf(adaptor.getRhs());
  if (!lhs || !rhs || lhs.getRank() < 2 || rhs.getRank() < 2)
    return inferred(types, std::nullopt, lhs ? lhs.getElementType() : Type());
  auto batch =
      broadcastShapes(lhs.getShape().drop_back(2), rhs.getShape().drop_back(2));
  if (!batch)
    return inferred(types, std::nullopt, lhs.getElementType());
  SmallVector<int64_t> shape(*batch);
  shape.push_back(lhs.getDimSize(lhs.getRank() - 2));
  shape.push_back(adaptor.getTransposeRhs() ? rhs.getDimSize(rhs.getRank() - 2)
                                            : rhs.getShape().back());
  return inferred(types, shape, lhs.getElementType());
}

LogicalResult TransposeOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location>,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &types) {
  RankedTensorType input = rankedOf(adaptor.getInput());
  ArrayRef<int64_t> perm = adaptor.getPermutation();
  if (!input || int64_t(perm.size()) != input.getRank())
    return inferred(types, std::nullopt,
                    input ? input.getElementType() : Type());
  llvm::SmallBitVector seen(perm.size());
  SmallVector<int64_t> shape;
  for (int64_t p : perm) {
    if (p < 0 || p >= input.getRank() || seen.test(p))
      return inferred(types, std::nullopt, input.getElementType());
    seen.set(p);
    shape.push_back(input.getDimSize(p));
  }
  return inferred(types, shape, input.getElementType());
}

LogicalResult GatherPositionsOp::inferReturnTypes(
    MLIRContext *, std::optional<Location>, Adaptor adaptor,
    SmallVectorImpl<Type> &types) {
  RankedTensorType input = rankedOf(adaptor.getInput());
  if (!input || input.getRank() < 2)
    return inferred(types, std::nullopt,
                    input ? input.getElementType() : Type());
  SmallVector<int64_t> shape = {input.getDimSize(0)};
  llvm::append_range(shape, input.getShape().drop_front(2));
  return inferred(types, shape, input.getElementType());
}

LogicalResult SplitHeadsOp::inferReturnTypes(MLIRContext *,
                                             std::optional<Location>,
                                             Adaptor adaptor,
                                             SmallVectorImpl<Type> &types) {
  RankedTensorType input = rankedOf(adaptor.getInput());
  int64_t heads = adaptor.getHeadsAttr() ? adaptor.getHeadsAttr().getInt() : 0;
  if (!input || input.getRank() != 3 || heads <= 0)
    return inferred(types, std::nullopt,
                    input ? input.getElementType() : Type());
  int64_t hidden = input.getDimSize(2);
  if (!ShapedType::isDynamic(hidden) && hidden % heads)
    return inferred(types, std::nullopt, input.getElementType());
  return inferred(types,
                  SmallVector<int64_t>{input.getDimSize(0), heads,
                                       input.getDimSize(1),
                                       ShapedType::isDynamic(hidden)
                                           ? ShapedType::kDynamic
                                           : hidden / heads},
                  input.getElementType());
}

LogicalResult MergeHeadsOp::inferReturnTypes(MLIRContext *,
                                             std::optional<Location>,
                                             Adaptor adaptor,
                                             SmallVectorImpl<Type> &types) {
  RankedTensorType input = rankedOf(adaptor.getInput());
  if (!input || input.getRank() != 4)
    return inferred(types, std::nullopt,
                    input ? input.getElementType() : Type());
  int64_t heads = input.getDimSize(1), headDim = input.getDimSize(3);
  int64_t hidden = ShapedType::isDynamic(heads) || ShapedType::isDynamic(headDim)
                       ? ShapedType::kDynamic
                       : heads * headDim;
  return inferred(types,
                  SmallVector<int64_t>{input.getDimSize(0),
                                       input.getDimSize(2), hidden},
                  input.getElementType());
}

LogicalResult LinearOp::verify() {
  RankedTensorType input = getInput().getType();
  RankedTensorType weight = getWeight().getType();
  RankedTensorType result = getType();
  if (input.getRank() < 1)
    return emitOpError("expects an input of rank >= 1");
  if (weight.getRank() != 2)
    return emitOpError("expects a 2-D weight, got rank ") << weight.getRank();
  int64_t in = getWeightTransposed() ? weight.getDimSize(0)
                                     : weight.getDimSize(1);
  int64_t out = getWeightTransposed() ? weight.getDimSize(1)
                                      : weight.getDimSize(0);
  int64_t k = input.getShape().back();
  if (!dimsAgree(in, k))
    return emitOpError("input feature dimension ")
           << dimStr(k) << " does not match the weight's input dimension "
           << dimStr(in) << " (weight " << shapeToString(weight.getShape())
           << (getWeightTransposed() ? ", stored [in, out])"
                                     : ", stored [out, in])");
  if (Value bias = getBias()) {
    auto biasType = cast<RankedTensorType>(bias.getType());
    if (biasType.getRank() != 1 || !dimsAgree(biasType.getDimSize(0), out))
      return emitOpError("bias shape ")
             << shapeToString(biasType.getShape()) << " should be ["
             << dimStr(out) << "]";
    if (biasType.getElementType() != input.getElementType())
      return emitOpError("bias element type differs from the input's");
  }
  SmallVector<int64_t> expected(input.getShape());
  expected.back() = out;
  if (!shapesAgree(result.getShape(), expected))
    return emitOpError("result shape ")
           << shapeToString(result.getShape()) << " should be "
           << shapeToString(expected);
  Type elem = input.getElementType();
  if (result.getElementType() != elem)
    return emitOpError("input and result element types must agree");
  // ggml blocks (see !xformer.ggml): an f32 input, the weight [out, in]
  // with rows of whole blocks.
  if (auto blocks = dyn_cast<GGMLType>(weight.getElementType())) {
    if (!elem.isF32())
      return emitOpError("a weight in ")
             << blocks.getGGMLName() << " blocks needs an f32 input, not "
             << elem;
    if (getWeightTransposed())
      return emitOpError("a weight in ")
             << blocks.getGGMLName()
             << " blocks is stored [out, in]; weight_transposed is not "
                "allowed";
    return success();
  }
  // An f16 weight under an f32 input (GGUF F16): f16 values times the f32
  // input, stored [out, in] as ggml stores it.
  if (weight.getElementType().isF16() && elem.isF32()) {
    if (getWeightTransposed())
      return emitOpError("an f16 weight under an f32 input is stored [out, "
                         "in]; weight_transposed is not allowed");
    return success();
  }
  // A bf16 weight under an f32 input is mixed precision (see the op's
  // description); any other difference is an error.
  if (weight.getElementType() != elem &&
      !(weight.getElementType().isBF16() && elem.isF32()))
    return emitOpError("weight element type ")
           << weight.getElementType() << " must be the input's (" << elem
           << "), or bf16 or f16 under an f32 input";
  return success();
}

//===----------------------------------------------------------------------===//
// MatmulOp
//===----------------------------------------------------------------------===//

LogicalResult MatmulOp::verify() {
  RankedTensorType lhs = getLhs().getType();
  RankedTensorType rhs = getRhs().getType();
  RankedTensorType result = getType();
  if (lhs.getRank() < 2 || rhs.getRank() < 2)
    return emitOpError("expects operands of rank >= 2");
  if (lhs.getElementType() != rhs.getElementType() ||
      lhs.getElementType() != result.getElementType())
    return emitOpError("operand and result element types must agree");
  int64_t m = lhs.getDimSize(lhs.getRank() - 2);
  int64_t k = lhs.getDimSize(lhs.getRank() - 1);
  int64_t rk = getTransposeRhs() ? rhs.getDimSize(rhs.getRank() - 1)
                                 : rhs.getDimSize(rhs.getRank() - 2);
  int64_t n = getTransposeRhs() ? rhs.getDimSize(rhs.getRank() - 2)
                                : rhs.getDimSize(rhs.getRank() - 1);
  if (!dimsAgree(k, rk))
    return emitOpError("contraction dimensions differ: lhs has ")
           << dimStr(k) << ", rhs has " << dimStr(rk);
  std::string why;
  auto batch = broadcastShapes(lhs.getShape().drop_back(2),
                               rhs.getShape().drop_back(2), &why);
  if (!batch)
    return emitOpError("batch dimensions do not broadcast: ") << why;
  SmallVector<int64_t> expected(*batch);
  expected.push_back(m);
  expected.push_back(n);
  if (!shapesAgree(result.getShape(), expected))
    return emitOpError("result shape ")
           << shapeToString(result.getShape()) << " should be "
           << shapeToString(expected);
  return success();
}

//===----------------------------------------------------------------------===//
// Shape ops
//===----------------------------------------------------------------------===//

LogicalResult TransposeOp::verify() {
  ArrayRef<int64_t> perm = getPermutation();
  auto input = cast<RankedTensorType>(getInput().getType());
  auto result = cast<RankedTensorType>(getType());
  if (static_cast<int64_t>(perm.size()) != input.getRank())
    return emitOpError("permutation has ")
           << perm.size() << " entries for an input of rank "
           << input.getRank();
  llvm::SmallBitVector seen(perm.size());
  for (int64_t p : perm) {
    if (p < 0 || p >= input.getRank() || seen.test(p))
      return emitOpError("permutation ")
             << shapeToString(perm) << " is not a permutation of [0, "
             << input.getRank() << ")";
    seen.set(p);
  }
  SmallVector<int64_t> expected;
  for (int64_t p : perm)
    expected.push_back(input.getDimSize(p));
  if (!shapesAgree(result.getShape(), expected))
    return emitOpError("result shape ")
           << shapeToString(result.getShape()) << " should be "
           << shapeToString(expected);
  return success();
}

LogicalResult ReshapeOp::verify() {
  auto input = cast<RankedTensorType>(getInput().getType());
  auto result = cast<RankedTensorType>(getType());
  if (input.hasStaticShape() && result.hasStaticShape() &&
      input.getNumElements() != result.getNumElements())
    return emitOpError("cannot reshape ")
           << shapeToString(input.getShape()) << " ("
           << input.getNumElements() << " elements) to "
           << shapeToString(result.getShape()) << " ("
           << result.getNumElements() << " elements)";
  return success();
}

LogicalResult BroadcastOp::verify() {
  auto input = cast<RankedTensorType>(getInput().getType());
  auto result = cast<RankedTensorType>(getType());
  std::string why;
  if (!isBroadcastableTo(input.getShape(), result.getShape(), &why))
    return emitOpError("cannot broadcast ")
           << shapeToString(input.getShape()) << " to "
           << shapeToString(result.getShape()) << ": " << why;
  return success();
}

LogicalResult SliceOp::verify() {
  auto input = cast<RankedTensorType>(getInput().getType());
  auto result = cast<RankedTensorType>(getType());
  ArrayRef<int64_t> offsets = getOffsets();
  if (static_cast<int64_t>(offsets.size()) != input.getRank() ||
      result.getRank() != input.getRank())
    return emitOpError("expects one offset per dimension and a result of the "
                       "input's rank ")
           << input.getRank();
  if (!result.hasStaticShape())
    return emitOpError("expects a static result shape (the slice sizes)");
  for (int64_t i = 0; i < input.getRank(); ++i) {
    if (offsets[i] < 0)
      return emitOpError("offset ") << offsets[i] << " of dimension " << i
                                    << " is negative";
    int64_t dim = input.getDimSize(i);
    if (!ShapedType::isDynamic(dim) && offsets[i] + result.getDimSize(i) > dim)
      return emitOpError("slice of dimension ")
             << i << " ends at " << offsets[i] + result.getDimSize(i)
             << ", past its size " << dim;
  }
  return success();
}

LogicalResult ConcatOp::verify() {
  if (getInputs().empty())
    return emitOpError("expects at least one input");
  auto result = cast<RankedTensorType>(getType());
  int64_t rank = result.getRank();
  int64_t axis = getAxisAttr().getInt();
  if (axis < 0 || axis >= rank)
    return emitOpError("axis ") << axis << " is out of range for rank " << rank;
  int64_t total = 0;
  bool dynamic = false;
  for (auto [i, v] : llvm::enumerate(getInputs())) {
    auto t = cast<RankedTensorType>(v.getType());
    if (t.getRank() != rank)
      return emitOpError("input #") << i << " has rank " << t.getRank()
                                    << ", expected " << rank;
    for (int64_t d = 0; d < rank; ++d)
      if (d != axis && !dimsAgree(t.getDimSize(d), result.getDimSize(d)))
        return emitOpError("input #")
               << i << " shape " << shapeToString(t.getShape())
               << " differs from the result " << shapeToString(result.getShape())
               << " outside axis " << axis;
    if (t.isDynamicDim(axis))
      dynamic = true;
    else
      total += t.getDimSize(axis);
  }
  if (!dynamic && !dimsAgree(result.getDimSize(axis), total))
    return emitOpError("result has ")
           << result.getDimSize(axis) << " along axis " << axis
           << " but the inputs sum to " << total;
  if (isa<GGMLType>(result.getElementType()) && axis != 0)
    return emitOpError("joins ggml blocks along axis ")
           << axis << "; blocks concatenate along axis 0 only (whole rows)";
  return success();
}

std::optional<Activation> mlir::xformer::activationOf(Operation *op) {
  if (auto g = dyn_cast<GeluOp>(op))
    return g.getApproximation() == GeluApproximation::tanh
               ? Activation::gelu_tanh
               : Activation::gelu;
  if (isa<ReluOp>(op))
    return Activation::relu;
  if (isa<SiluOp>(op))
    return Activation::silu;
  if (isa<TanhOp>(op))
    return Activation::tanh;
  return std::nullopt;
}

bool mlir::xformer::isWeightConcat(Operation *op) {
  auto concat = dyn_cast<ConcatOp>(op);
  return concat && llvm::all_of(concat.getInputs(), [](Value v) {
           return v.getDefiningOp<WeightOp>();
         });
}

LogicalResult GluOp::verify() {
  auto input = cast<RankedTensorType>(getInput().getType());
  auto result = cast<RankedTensorType>(getType());
  if (input.getElementType() != result.getElementType())
    return emitOpError("result element type ")
           << result.getElementType() << " differs from the input's "
           << input.getElementType();
  if (input.getRank() < 1 || result.getRank() != input.getRank())
    return emitOpError("expects a result of the input's rank ")
           << input.getRank() << " (at least 1)";
  int64_t last = input.getRank() - 1;
  for (int64_t d = 0; d < last; ++d)
    if (!dimsAgree(input.getDimSize(d), result.getDimSize(d)))
      return emitOpError("result shape ")
             << shapeToString(result.getShape()) << " differs from the input "
             << shapeToString(input.getShape()) << " outside the last dimension";
  int64_t n = input.getDimSize(last);
  if (!ShapedType::isDynamic(n) &&
      (n % 2 != 0 || !dimsAgree(result.getDimSize(last), n / 2)))
    return emitOpError("halves a last dimension of ")
           << n << " (gate, then up); the result's is "
           << result.getDimSize(last);
  return success();
}

LogicalResult GatherPositionsOp::verify() {
  auto input = cast<RankedTensorType>(getInput().getType());
  auto result = cast<RankedTensorType>(getType());
  auto positions = getPositions().getType();
  if (input.getRank() < 2)
    return emitOpError("expects a [batch, seq, ...] input");
  if (positions.getRank() != 1 ||
      !dimsAgree(positions.getDimSize(0), input.getDimSize(0)))
    return emitOpError("positions shape ")
           << shapeToString(positions.getShape()) << " should be [batch] = ["
           << dimStr(input.getDimSize(0)) << "]";
  SmallVector<int64_t> expected = {input.getDimSize(0)};
  llvm::append_range(expected, input.getShape().drop_front(2));
  if (!shapesAgree(result.getShape(), expected) ||
      result.getElementType() != input.getElementType())
    return emitOpError("result shape ")
           << shapeToString(result.getShape()) << " should be "
           << shapeToString(expected);
  return success();
}

LogicalResult SplitHeadsOp::verify() {
  RankedTensorType input = getInput().getType();
  RankedTensorType result = getType();
  int64_t heads = getHeadsAttr().getInt();
  if (heads <= 0)
    return emitOpError("expects a positive number of heads, got ") << heads;
  if (input.getRank() != 3)
    return emitOpError("expects a [batch, seq, hidden] input, got rank ")
           << input.getRank();
  if (result.getRank() != 4)
    return emitOpError("expects a [batch, heads, seq, head_dim] result, got "
                       "rank ")
           << result.getRank();
  int64_t hidden = input.getDimSize(2);
  if (!ShapedType::isDynamic(hidden) && hidden % heads != 0)
    return emitOpError("hidden size ")
           << hidden << " is not divisible by " << heads << " heads";
  if (!dimsAgree(result.getDimSize(1), heads))
    return emitOpError("result has ")
           << dimStr(result.getDimSize(1)) << " heads, expected " << heads;
  int64_t headDim = result.getDimSize(3);
  if (!ShapedType::isDynamic(hidden) && !ShapedType::isDynamic(headDim) &&
      heads * headDim != hidden)
    return emitOpError("heads x head_dim = ")
           << heads << " x " << headDim << " = " << heads * headDim
           << " does not match the hidden size " << hidden;
  if (!dimsAgree(result.getDimSize(0), input.getDimSize(0)) ||
      !dimsAgree(result.getDimSize(2), input.getDimSize(1)))
    return emitOpError("batch and sequence dimensions must carry over: input ")
           << shapeToString(input.getShape()) << ", result "
           << shapeToString(result.getShape());
  return success();
}

LogicalResult MergeHeadsOp::verify() {
  RankedTensorType input = getInput().getType();
  RankedTensorType result = getType();
  if (input.getRank() != 4)
    return emitOpError("expects a [batch, heads, seq, head_dim] input, got "
                       "rank ")
           << input.getRank();
  if (result.getRank() != 3)
    return emitOpError("expects a [batch, seq, hidden] result, got rank ")
           << result.getRank();
  int64_t heads = input.getDimSize(1), headDim = input.getDimSize(3);
  int64_t hidden = result.getDimSize(2);
  if (!ShapedType::isDynamic(heads) && !ShapedType::isDynamic(headDim) &&
      !dimsAgree(hidden, heads * headDim))
    return emitOpError("heads x head_dim = ")
           << heads << " x " << headDim << " = " << heads * headDim
           << " does not match the result hidden size " << hidden;
  if (!dimsAgree(result.getDimSize(0), input.getDimSize(0)) ||
      !dimsAgree(result.getDimSize(1), input.getDimSize(2)))
    return emitOpError("batch and sequence dimensions must carry over: input ")
           << shapeToString(input.getShape()) << ", result "
           << shapeToString(result.getShape());
  return success();
}

//===----------------------------------------------------------------------===//
// Normalisation, softmax
//===----------------------------------------------------------------------===//

static LogicalResult verifyEpsilon(Operation *op, double eps) {
  if (!(eps > 0.0) || !std::isfinite(eps))
    return op->emitOpError("expects a positive finite epsilon, got ") << eps;
  return success();
}

LogicalResult LayerNormOp::verify() {
  RankedTensorType input = getInput().getType();
  if (input.getRank() < 1)
    return emitOpError("expects an input of rank >= 1");
  if (failed(verifyFeatureVector(*this, "gamma", getGamma().getType(), input)))
    return failure();
  if (getBeta() &&
      failed(verifyFeatureVector(
          *this, "beta", cast<RankedTensorType>(getBeta().getType()), input)))
    return failure();
  return verifyEpsilon(*this, getEpsilon().convertToDouble());
}

LogicalResult RMSNormOp::verify() {
  RankedTensorType input = getInput().getType();
  if (input.getRank() < 1)
    return emitOpError("expects an input of rank >= 1");
  if (failed(verifyFeatureVector(*this, "gamma", getGamma().getType(), input)))
    return failure();
  return verifyEpsilon(*this, getEpsilon().convertToDouble());
}

LogicalResult SoftmaxOp::verify() {
  int64_t rank = getInput().getType().getRank();
  int64_t axis = getAxisAttr().getInt();
  if (axis < 0 || axis >= rank)
    return emitOpError("axis ")
           << axis << " is out of range for rank " << rank
           << " (expected [0, " << rank << "))";
  return success();
}

//===----------------------------------------------------------------------===//
// Positions
//===----------------------------------------------------------------------===//

LogicalResult RopeOp::verify() {
  RankedTensorType input = getInput().getType();
  RankedTensorType positions = getPositions().getType();
  if (input.getRank() != 4)
    return emitOpError("expects a [batch, heads, seq, head_dim] input, got "
                       "rank ")
           << input.getRank();
  int64_t headDim = input.getDimSize(3);
  int64_t rotary = getRotaryDimAttr() ? getRotaryDimAttr().getInt() : headDim;
  if (!ShapedType::isDynamic(rotary)) {
    if (rotary <= 0 || rotary % 2 != 0)
      return emitOpError("rotary dimension must be positive and even, got ")
             << rotary;
    if (!ShapedType::isDynamic(headDim) && rotary > headDim)
      return emitOpError("rotary dimension ")
             << rotary << " exceeds head_dim " << headDim;
  }
  double theta = getTheta().convertToDouble();
  if (!(theta > 0.0) || !std::isfinite(theta))
    return emitOpError("expects a positive finite theta, got ") << theta;
  if (positions.getRank() == 1) {
    if (!dimsAgree(positions.getDimSize(0), input.getDimSize(2)))
      return emitOpError("positions have ")
             << dimStr(positions.getDimSize(0)) << " entries for "
             << dimStr(input.getDimSize(2)) << " sequence positions";
  } else if (positions.getRank() == 2) {
    if (!dimsAgree(positions.getDimSize(0), input.getDimSize(0)) ||
        !dimsAgree(positions.getDimSize(1), input.getDimSize(2)))
      return emitOpError("positions shape ")
             << shapeToString(positions.getShape()) << " should be [batch, "
             << "seq] = [" << dimStr(input.getDimSize(0)) << ", "
             << dimStr(input.getDimSize(2)) << "]";
  } else {
    return emitOpError("expects [seq] or [batch, seq] positions, got rank ")
           << positions.getRank();
  }
  return success();
}

LogicalResult PositionsOp::verify() {
  RankedTensorType result = getType();
  if (result.getRank() != 1)
    return emitOpError("expects a 1-D result, got rank ") << result.getRank();
  bool dynamic = result.isDynamicDim(0);
  if (dynamic && !getSize())
    return emitOpError("a dynamic-length result needs a 'size' operand");
  if (!dynamic && getSize())
    return emitOpError("'size' is only allowed with a dynamic-length result");
  return success();
}

LogicalResult RelativePositionBiasOp::verify() {
  RankedTensorType table = getTable().getType();
  RankedTensorType result = getType();
  int64_t buckets = getNumBucketsAttr().getInt();
  int64_t maxDistance = getMaxDistanceAttr().getInt();
  if (buckets <= 0 || maxDistance <= 0)
    return emitOpError("num_buckets and max_distance must be positive, got ")
           << buckets << " and " << maxDistance;
  // As transformers' T5 bucketing: bidirectional halves the buckets (an
  // odd count leaves the last unused); half of what remains are exact
  // distances, which must exist and be below max_distance for the
  // logarithmic buckets to be defined.
  const int64_t side = getBidirectional() ? buckets / 2 : buckets;
  if (side / 2 < 1)
    return emitOpError("num_buckets ")
           << buckets << " leaves no exact-distance bucket (needs at least "
           << (getBidirectional() ? 4 : 2) << ")";
  if (maxDistance <= side / 2)
    return emitOpError("max_distance ")
           << maxDistance << " must exceed the " << side / 2
           << " exact-distance buckets";
  if (table.getRank() != 2 || !dimsAgree(table.getDimSize(0), buckets))
    return emitOpError("table shape ")
           << shapeToString(table.getShape()) << " should be [num_buckets = "
           << buckets << ", heads]";
  auto qp = getQueryPositions().getType(), kp = getKeyPositions().getType();
  if ((qp.getRank() != 1 && qp.getRank() != 2) || kp.getRank() != 1)
    return emitOpError("expects [q_len] or [batch, q_len] query positions and "
                       "[kv_len] key positions");
  SmallVector<int64_t> expected = {qp.getRank() == 2 ? qp.getDimSize(0) : 1,
                                   table.getDimSize(1),
                                   qp.getDimSize(qp.getRank() - 1),
                                   kp.getDimSize(0)};
  if (!shapesAgree(result.getShape(), expected))
    return emitOpError("result shape ")
           << shapeToString(result.getShape()) << " should be "
           << shapeToString(expected);
  if (result.getElementType() != table.getElementType())
    return emitOpError("result element type differs from the table's");
  return success();
}

//===----------------------------------------------------------------------===//
// Masks
//===----------------------------------------------------------------------===//

LogicalResult MaskedFillOp::verify() {
  std::string why;
  if (!isBroadcastableTo(getMask().getType().getShape(),
                         getInput().getType().getShape(), &why))
    return emitOpError("mask shape ")
           << shapeToString(getMask().getType().getShape())
           << " does not broadcast to the input shape "
           << shapeToString(getInput().getType().getShape()) << ": " << why;
  return success();
}

//===----------------------------------------------------------------------===//
// AttentionOp
//===----------------------------------------------------------------------===//

LogicalResult AttentionOp::verify() {
  RankedTensorType q = getQuery().getType();
  RankedTensorType k = getKey().getType();
  RankedTensorType v = getValue().getType();
  RankedTensorType out = getType();
  for (auto [name, type] : {std::pair<StringRef, RankedTensorType>{"query", q},
                            {"key", k},
                            {"value", v},
                            {"result", out}})
    if (type.getRank() != 4)
      return emitOpError() << "expects a rank-4 [batch, heads, seq, head_dim] "
                           << name << ", got " << shapeToString(type.getShape());

  Type elt = q.getElementType();
  if (k.getElementType() != elt || v.getElementType() != elt ||
      out.getElementType() != elt)
    return emitOpError("query, key, value and result element types must "
                       "agree, got ")
           << elt << ", " << k.getElementType() << ", " << v.getElementType()
           << ", " << out.getElementType();

  int64_t batch = q.getDimSize(0), heads = q.getDimSize(1);
  int64_t qLen = q.getDimSize(2), headDim = q.getDimSize(3);
  int64_t kvHeads = k.getDimSize(1), kvLen = k.getDimSize(2);
  if (!dimsAgree(k.getDimSize(0), batch) || !dimsAgree(v.getDimSize(0), batch))
    return emitOpError("batch sizes differ: query ")
           << dimStr(batch) << ", key " << dimStr(k.getDimSize(0))
           << ", value " << dimStr(v.getDimSize(0));
  if (!dimsAgree(v.getDimSize(1), kvHeads))
    return emitOpError("key has ")
           << dimStr(kvHeads) << " heads but value has "
           << dimStr(v.getDimSize(1));
  if (!ShapedType::isDynamic(heads) && !ShapedType::isDynamic(kvHeads)) {
    if (kvHeads <= 0 || heads % kvHeads != 0)
      return emitOpError("query heads (")
             << heads << ") must be a multiple of key/value heads ("
             << kvHeads << ")";
  }
  if (!dimsAgree(k.getDimSize(3), headDim))
    return emitOpError("query head_dim ")
           << dimStr(headDim) << " differs from key head_dim "
           << dimStr(k.getDimSize(3));
  if (!dimsAgree(v.getDimSize(2), kvLen))
    return emitOpError("key length ")
           << dimStr(kvLen) << " differs from value length "
           << dimStr(v.getDimSize(2));
  SmallVector<int64_t> expected = {batch, heads, qLen, v.getDimSize(3)};
  if (!shapesAgree(out.getShape(), expected))
    return emitOpError("result shape ")
           << shapeToString(out.getShape()) << " should be "
           << shapeToString(expected) << " ([batch, heads, q_len, value "
           << "head_dim])";

  double scale = getScale().convertToDouble();
  if (!(scale > 0.0) || !std::isfinite(scale))
    return emitOpError("expects a positive finite scale, got ") << scale;

  // Mask kind against shapes and operands.
  MaskAttr mask = getMask();
  MaskKind kind = mask.getKind();
  bool bothStatic = !ShapedType::isDynamic(qLen) && !ShapedType::isDynamic(kvLen);
  if (kind == MaskKind::bidirectional && bothStatic && qLen != kvLen)
    return emitOpError("bidirectional self-attention needs as many queries as "
                       "keys, got ")
           << qLen << " queries and " << kvLen
           << " keys; use #xformer.mask<cross> for attention over another "
              "sequence";
  if (mask::isPositional(toSemanticKind(kind)) && bothStatic && qLen > kvLen)
    return emitOpError() << stringifyMaskKind(kind) << " attention has more "
                         << "queries (" << qLen << ") than keys (" << kvLen
                         << "); queries are the last q_len key positions";
  if (kind == MaskKind::custom && !getMaskTensor())
    return emitOpError("#xformer.mask<custom> requires a 'mask_tensor' "
                       "operand");
  if (kind != MaskKind::custom && getMaskTensor())
    return emitOpError("'mask_tensor' is only allowed with "
                       "#xformer.mask<custom>, not ")
           << stringifyMaskKind(kind);
  if (mask.hasDynamicPrefix() && !getPrefixLengths())
    return emitOpError("#xformer.mask<prefix_lm, prefix = ?> requires a "
                       "'prefix_lengths' operand");
  if (!mask.hasDynamicPrefix() && getPrefixLengths())
    return emitOpError("'prefix_lengths' is only allowed with "
                       "#xformer.mask<prefix_lm, prefix = ?>");

  if (mask.getDocuments() && !getSegmentIds())
    return emitOpError("a mask with 'documents' requires a 'segment_ids' "
                       "operand");
  if (!mask.getDocuments() && getSegmentIds())
    return emitOpError("'segment_ids' is only allowed with a mask that has "
                       "'documents'");
  if (Value seg = getSegmentIds()) {
    auto type = cast<RankedTensorType>(seg.getType());
    if (type.getRank() != 2 || !dimsAgree(type.getDimSize(0), batch) ||
        !dimsAgree(type.getDimSize(1), kvLen))
      return emitOpError("'segment_ids' shape ")
             << shapeToString(type.getShape())
             << " should be [batch, kv_len] = [" << dimStr(batch) << ", "
             << dimStr(kvLen) << "]";
  }

  // Per-sequence lengths: [batch] integer vectors.
  for (auto [name, value] :
       {std::pair<StringRef, Value>{"q_lengths", getQLengths()},
        {"kv_lengths", getKvLengths()},
        {"prefix_lengths", getPrefixLengths()}}) {
    if (!value)
      continue;
    auto type = cast<RankedTensorType>(value.getType());
    if (type.getRank() != 1 || !dimsAgree(type.getDimSize(0), batch))
      return emitOpError() << "'" << name << "' shape "
                           << shapeToString(type.getShape())
                           << " should be [batch] = [" << dimStr(batch) << "]";
  }

  SmallVector<int64_t> scores = {batch, heads, qLen, kvLen};
  std::string why;
  if (Value m = getMaskTensor()) {
    auto type = cast<RankedTensorType>(m.getType());
    if (!isBroadcastableTo(type.getShape(), scores, &why))
      return emitOpError("mask_tensor shape ")
             << shapeToString(type.getShape())
             << " does not broadcast to the scores [batch, heads, q_len, "
                "kv_len] = "
             << shapeToString(scores) << ": " << why;
  }
  if (Value b = getBias()) {
    auto type = cast<RankedTensorType>(b.getType());
    if (!isBroadcastableTo(type.getShape(), scores, &why))
      return emitOpError("bias shape ")
             << shapeToString(type.getShape())
             << " does not broadcast to the scores [batch, heads, q_len, "
                "kv_len] = "
             << shapeToString(scores) << ": " << why;
  }
  return success();
}

//===----------------------------------------------------------------------===//
// KV cache
//===----------------------------------------------------------------------===//

LogicalResult KVCacheOp::verify() {
  int64_t kvHeads = getKvHeadsAttr().getInt();
  int64_t headDim = getHeadDimAttr().getInt();
  if (kvHeads <= 0 || headDim <= 0)
    return emitOpError("expects positive kv_heads and head_dim, got ")
           << kvHeads << " and " << headDim;
  if (!isa<FloatType>(getElementType()))
    return emitOpError("expects a floating-point element type, got ")
           << getElementType();
  bool ring = getKind() == CacheKind::ring;
  if (ring && (!getWindowAttr() || getWindowAttr().getInt() <= 0))
    return emitOpError("a ring cache needs a positive window");
  if (!ring && getWindowAttr())
    return emitOpError("'window' is only valid for a ring cache");
  if (getChunkAttr() && (!ring || getChunkAttr().getInt() <= 0))
    return emitOpError("'chunk' is only valid, and positive, for a ring cache");
  for (auto [name, attr] : {std::pair<StringRef, IntegerAttr>{"capacity",
                                                               getCapacityAttr()},
                            {"offset", getOffsetAttr()},
                            {"bytes", getBytesAttr()}})
    if (attr && attr.getInt() < 0)
      return emitOpError() << "'" << name << "' must be non-negative, got "
                           << attr.getInt();
  return success();
}

/// The kv_cache a cache op names, or failure with a diagnostic.
static FailureOr<KVCacheOp> lookupCache(Operation *op, FlatSymbolRefAttr name,
                                        SymbolTableCollection &symbols) {
  auto cache = symbols.lookupNearestSymbolFrom<KVCacheOp>(op, name);
  if (!cache)
    return op->emitOpError("'") << name.getValue()
                                << "' does not name an xformer.kv_cache";
  return cache;
}

/// Checks a [batch, kv_heads, n, head_dim] K or V against its cache.
static LogicalResult verifyAgainstCache(Operation *op, StringRef what,
                                        RankedTensorType type,
                                        KVCacheOp cache) {
  if (type.getRank() != 4)
    return op->emitOpError() << "expects a rank-4 [batch, kv_heads, seq, "
                                "head_dim] "
                             << what;
  int64_t kvHeads = cache.getKvHeadsAttr().getInt();
  int64_t headDim = cache.getHeadDimAttr().getInt();
  if (!dimsAgree(type.getDimSize(1), kvHeads) ||
      !dimsAgree(type.getDimSize(3), headDim))
    return op->emitOpError()
           << what << " shape " << shapeToString(type.getShape())
           << " does not match cache '" << cache.getSymName() << "' ("
           << kvHeads << " heads of " << headDim << ")";
  if (type.getElementType() != cache.getElementType())
    return op->emitOpError() << what << " element type "
                             << type.getElementType() << " differs from cache '"
                             << cache.getSymName() << "' ("
                             << cache.getElementType() << ")";
  return success();
}

LogicalResult CacheAppendOp::verify() {
  if (getKey().getType() != getValue().getType())
    return emitOpError("key and value types differ");
  int64_t batch = getKey().getType().getDimSize(0);
  for (auto [name, v] : {std::pair<StringRef, Value>{"start", getStart()},
                         {"lengths", getLengths()}}) {
    if (!v)
      continue;
    auto t = cast<RankedTensorType>(v.getType());
    if (t.getRank() != 1 || !dimsAgree(t.getDimSize(0), batch))
      return emitOpError() << "'" << name << "' shape "
                           << shapeToString(t.getShape())
                           << " should be [batch] = [" << dimStr(batch) << "]";
  }
  return success();
}

LogicalResult
CacheAppendOp::verifySymbolUses(SymbolTableCollection &symbolTable) {
  FailureOr<KVCacheOp> cache = lookupCache(*this, getCacheAttr(), symbolTable);
  if (failed(cache))
    return failure();
  return verifyAgainstCache(*this, "key", getKey().getType(), *cache);
}

LogicalResult CacheReadOp::verifySymbolUses(SymbolTableCollection &symbolTable) {
  FailureOr<KVCacheOp> cache = lookupCache(*this, getCacheAttr(), symbolTable);
  if (failed(cache))
    return failure();
  if (getKey().getType() != getValue().getType())
    return emitOpError("key and value types differ");
  if (failed(verifyAgainstCache(*this, "key", getKey().getType(), *cache)))
    return failure();
  if (IntegerAttr capacity = cache->getCapacityAttr())
    if (!dimsAgree(getKey().getType().getDimSize(2), capacity.getInt()))
      return emitOpError("reads ")
             << getKey().getType().getDimSize(2) << " positions but cache '"
             << cache->getSymName() << "' holds " << capacity.getInt();
  return success();
}
