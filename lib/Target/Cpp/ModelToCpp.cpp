//===- ModelToCpp.cpp - Print a compiled model as C++ or CUDA C++ ---------===//
//
// The translation xformer-compile prints: the module lowered to EmitC
// (--xformer-convert-to-emitc, on a copy), its single-use expressions
// folded into their users (emitc's form-expressions), then printed by the
// upstream C++ emitter. Nothing here decides anything.
//
//===----------------------------------------------------------------------===//

#include "xformer/Target/Cpp/ModelToCpp.h"

#include "xformer/IR/XformerOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/EmitC/IR/EmitC.h"
#include "mlir/Dialect/EmitC/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/Cpp/CppEmitter.h"
#include "mlir/Tools/mlir-translate/Translation.h"

using namespace mlir;
using namespace mlir::xformer;

namespace mlir {
// The upstream emitter's own translation (mlir-translate --mlir-to-cpp).
void registerToCppTranslation();
} // namespace mlir

LogicalResult mlir::xformer::translateModelToCpp(ModuleOp module,
                                                 raw_ostream &os,
                                                 EmitStats *stats,
                                                 ModelTarget target) {
  // Lowered on a copy: the caller's module stays xformer IR.
  OwningOpRef<ModuleOp> lowered = module.clone();
  if (failed(convertXformerToEmitC(*lowered, target, stats)))
    return failure();
  PassManager pm(module.getContext());
  pm.addPass(emitc::createFormExpressionsPass());
  if (failed(pm.run(*lowered)))
    return failure();
  return emitc::translateToCpp(*lowered, os);
}

void mlir::xformer::registerToCppTranslations() {
  auto dialects = [](DialectRegistry &registry) {
    registry.insert<XformerDialect, func::FuncDialect, arith::ArithDialect,
                    tensor::TensorDialect, emitc::EmitCDialect>();
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
  registerToCppTranslation();
}
