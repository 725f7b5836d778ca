//===- ValuePatterns.cpp - Weights, constants, sizes and results ----------===//
//
// Weights are entries of the frame's weight table, a concat of weights the
// entry the runtime joins on open; constant tensors static arrays (in device
// memory on CUDA); index arithmetic disappears (the scratch plan resolved
// every size); results are copied out before the function returns 0.
//
//===----------------------------------------------------------------------===//

#include "Lowering.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace mlir::xformer;
using namespace mlir::xformer::to_emitc;

namespace {

struct WeightLowering : LoweringPattern<WeightOp> {
  using LoweringPattern::LoweringPattern;
  LogicalResult
  matchAndRewrite(WeightOp op, OpAdaptor,
                  ConversionPatternRewriter &rewriter) const override {
    rewriter.replaceOp(
        op, tableEntry(rewriter, op.getLoc(), state.frameOf(op).weights,
                   state.weightIndex(op),
                   getTypeConverter()->convertType(op.getType())));
    return success();
  }
};

/// Weights joined by xformer-fuse-projections: one table entry after the
/// weights, filled when the model is opened.
struct WeightConcatLowering : LoweringPattern<ConcatOp> {
  WeightConcatLowering(LoweringState &state, const TypeConverter &converter)
      : LoweringPattern(state, converter, /*benefit=*/2) {}
  LogicalResult
  matchAndRewrite(ConcatOp op, OpAdaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (!isWeightConcat(op))
      return failure();
    rewriter.replaceOp(
        op, tableEntry(rewriter, op.getLoc(), state.frameOf(op).weights,
                   state.fusedWeight(op),
                   getTypeConverter()->convertType(op.getType())));
    return success();
  }
};

/// A constant tensor: a static array of its storage type.
struct ConstantLowering : LoweringPattern<arith::ConstantOp> {
  using LoweringPattern::LoweringPattern;
  LogicalResult
  matchAndRewrite(arith::ConstantOp op, OpAdaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto dense = dyn_cast<DenseElementsAttr>(op.getValue());
    if (!dense)
      return failure();
    MLIRContext *ctx = op.getContext();
    Location loc = op.getLoc();
    Type elem = dense.getElementType();
    Type stored = storageType(ctx, elem);
    const int64_t n = dense.getNumElements();
    auto flat = RankedTensorType::get({std::max<int64_t>(1, n)}, stored);
    DenseElementsAttr values;
    if (n == 0)
      values = DenseElementsAttr::get(flat, rewriter.getZeroAttr(stored));
    else if (elem.isInteger(1))
      values = cast<DenseIntElementsAttr>(dense).mapValues(
          stored, [](const APInt &v) { return v.zext(8); });
    else
      values = dense;
    values = values.reshape(flat);
    std::string name = "kConst" + std::to_string(state.constants++);
    state.constantArray(rewriter, loc, name, values);
    Type type = getTypeConverter()->convertType(op.getType());
    Value array = emitc::GetGlobalOp::create(
        rewriter, loc, emitc::ArrayType::get(flat.getShape(), stored), name);
    Value pointer;
    if (!state.kernels.constantAddress.empty()) {
      // Device memory: its address comes from the runtime.
      pointer = emitc::CallOpaqueOp::create(
                    rewriter, loc,
                    TypeRange{emitc::PointerType::get(opaqueType(ctx, "void"))},
                    state.kernels.constantAddress, ValueRange{array})
                    .getResult(0);
    } else {
      pointer = array;
    }
    rewriter.replaceOp(op, emitc::CastOp::create(rewriter, loc, type, pointer));
    return success();
  }
};

/// Sizes were resolved by the scratch plan: index constants and dimensions
/// have no code.
template <typename OpT>
struct ResolvedSizeLowering : LoweringPattern<OpT> {
  using LoweringPattern<OpT>::LoweringPattern;
  LogicalResult
  matchAndRewrite(OpT op, typename OpT::Adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (!op->getResult(0).getType().isIndex())
      return failure();
    rewriter.eraseOp(op);
    return success();
  }
};

/// Results copied to the caller's buffers, then status 0.
struct ReturnLowering : LoweringPattern<func::ReturnOp> {
  using LoweringPattern::LoweringPattern;
  LogicalResult
  matchAndRewrite(func::ReturnOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    FunctionFrame &frame = state.frameOf(op);
    const KernelTable &kernels = state.kernels;
    for (auto [i, v] : llvm::enumerate(op.getOperands())) {
      const int64_t bytes =
          elementBytes(elementOf(v)) * product(frame.plan.shapeOf(v));
      Value dst = tableEntry(rewriter, loc, frame.out, i);
      SmallVector<Value> operands = {dst, adaptor.getOperands()[i]};
      if (kernels.copyOutTakesFrame)
        operands.insert(operands.begin(), frame.frame);
      SmallVector<Attribute> args;
      for (size_t k = 0; k < operands.size(); ++k)
        args.push_back(rewriter.getIndexAttr(k));
      args.push_back(rewriter.getI64IntegerAttr(bytes));
      auto copy = emitc::CallOpaqueOp::create(
          rewriter, loc,
          kernels.copyOutTakesFrame ? TypeRange{rewriter.getI32Type()}
                                    : TypeRange{},
          kernels.copyOut, operands, rewriter.getArrayAttr(args));
      if (kernels.copyOutTakesFrame)
        checkStatus(rewriter, loc, copy.getResult(0));
    }
    // CUDA: errors the kernels recorded on the device surface here.
    if (!kernels.finish.empty()) {
      auto status = emitc::CallOpaqueOp::create(
          rewriter, loc, TypeRange{rewriter.getI32Type()}, kernels.finish,
          ValueRange{frame.frame});
      checkStatus(rewriter, loc, status.getResult(0));
    }
    rewriter.replaceOpWithNewOp<emitc::ReturnOp>(
        op, literal(rewriter, loc, rewriter.getI32Type(), "0"));
    return success();
  }
};

} // namespace

void mlir::xformer::to_emitc::populateValuePatterns(
    LoweringState &state, const TypeConverter &converter,
    RewritePatternSet &patterns) {
  patterns.add<WeightLowering, WeightConcatLowering, ConstantLowering,
               ResolvedSizeLowering<arith::ConstantOp>,
               ResolvedSizeLowering<tensor::DimOp>, ReturnLowering>(state,
                                                                    converter);
}
