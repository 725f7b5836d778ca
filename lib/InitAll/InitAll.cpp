//===- InitAll.cpp - Register xformer and the dialects it uses ------------===//

#include "xformer/InitAll.h"
#include "xformer/Conversion/Passes.h"
#include "xformer/IR/XformerDialect.h"
#include "xformer/Transforms/Passes.h"
#include "xformer/Transforms/Pipelines.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/EmitC/IR/EmitC.h"
#include "mlir/Dialect/EmitC/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/Passes.h"

void mlir::xformer::registerAllDialects(DialectRegistry &registry) {
  registry.insert<XformerDialect, arith::ArithDialect, func::FuncDialect,
                  tensor::TensorDialect, emitc::EmitCDialect>();
}

void mlir::xformer::registerAllPasses() {
  registerXformerPasses();
  registerXformerPipelines();
  registerXformerConversionPasses();
  // Upstream passes the pipelines use.
  registerCanonicalizerPass();
  registerCSEPass();
  registerInlinerPass();
  registerSymbolDCEPass();
  emitc::registerFormExpressionsPass();
}
