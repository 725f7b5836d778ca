//===- InferTypeTest.cpp - Ops that infer their result, on real model IR --===//
//
// Every op that infers its result type (XF_InferResultType) infers, on each
// example model's IR as the importers and the pipelines write it, the type
// that IR gives it; and on malformed operands it declines (an unranked
// result) so that the op's verifier reports.
//
//===----------------------------------------------------------------------===//

#include "xformer/IR/XformerDialect.h"
#include "xformer/IR/XformerOps.h"
#include "xformer/InitAll.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"

#include "gtest/gtest.h"

#include <filesystem>

using namespace mlir;

namespace {

Type inferOne(Operation *op) {
  SmallVector<Type> types;
  auto infer = cast<InferTypeOpInterface>(op);
  EXPECT_TRUE(succeeded(infer.inferReturnTypes(
      op->getContext(), op->getLoc(), op->getOperands(),
      op->getAttrDictionary(), op->getPropertiesStorage(), op->getRegions(),
      types)));
  return types.size() == 1 ? types.front() : Type();
}

TEST(InferType, AgreesWithEveryExampleModel) {
  DialectRegistry registry;
  xformer::registerAllDialects(registry);
  xformer::registerAllPasses();
  MLIRContext context(registry);
  context.loadAllAvailableDialects();
  int checked = 0, pipelined = 0;
  for (const auto &entry :
       std::filesystem::directory_iterator(XFORMER_EXAMPLES)) {
    if (entry.path().extension() != ".mlir")
      continue;
    OwningOpRef<ModuleOp> module =
        parseSourceFile<ModuleOp>(entry.path().string(), &context);
    ASSERT_TRUE(module) << entry.path();
    // As written, and after the CPU pipeline (derived programs over
    // chunks and single positions, fused projections, glus).
    for (bool lowered : {false, true}) {
      if (lowered) {
        PassManager pm(&context);
        if (failed(parsePassPipeline("xformer-cpu-pipeline{max-seq-len=32}",
                                     pm)) ||
            failed(pm.run(*module)))
          continue; // not every example is a whole model
        ++pipelined;
      }
      module->walk([&](InferTypeOpInterface op) {
        Type want = op->getResult(0).getType();
        EXPECT_EQ(inferOne(op), want)
            << entry.path().filename().string() << ": "
            << op->getName().getStringRef().str();
        ++checked;
      });
    }
  }
  EXPECT_GT(checked, 500);
  EXPECT_GE(pipelined, 5); // the decoders, the encoder-decoders, BERT
}

TEST(InferType, DeclinesOnMalformedOperands) {
  DialectRegistry registry;
  xformer::registerAllDialects(registry);
  MLIRContext context(registry);
  context.loadAllAvailableDialects();
  // Parsed without verification: each op is malformed in one way.
  ParserConfig config(&context, /*verifyAfterParse=*/false);
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(
      R"mlir(
func.func @f(%x: tensor<2x7xf32>, %w: tensor<4xf32>, %h: tensor<2x8x30xf32>) {
  %a = xformer.glu silu %x : tensor<2x7xf32> -> tensor<2x3xf32>
  %b = xformer.linear %x, %w : tensor<2x7xf32>, tensor<4xf32> -> tensor<2x4xf32>
  %c = xformer.split_heads %h, heads = 4 : tensor<2x8x30xf32> -> tensor<2x4x8x7xf32>
  %d = xformer.transpose %x, [0, 0] : tensor<2x7xf32> -> tensor<2x2xf32>
  %e = xformer.add %x, %h : tensor<2x7xf32>, tensor<2x8x30xf32> -> tensor<2x7xf32>
  %f = xformer.compare gt, %x, %w : tensor<2x7xf32>, tensor<4xf32> -> tensor<2x7xi1>
  return
}
)mlir",
      config);
  ASSERT_TRUE(module);
  int declined = 0;
  module->walk([&](InferTypeOpInterface op) {
    EXPECT_TRUE(isa<UnrankedTensorType>(inferOne(op)))
        << op->getName().getStringRef().str();
    ++declined;
  });
  EXPECT_EQ(declined, 6);
}

} // namespace
