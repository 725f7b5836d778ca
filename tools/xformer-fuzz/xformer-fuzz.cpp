//===- xformer-fuzz.cpp - libFuzzer target over parse, verify, passes ----===//
//
// Feeds arbitrary bytes to the parser; whatever parses and verifies goes
// through the default pipeline of xformer-opt: canonicalization, attention
// fusion, the mask verifier, projection fusion, derivation of the generation
// programs and KV-cache planning; what the CPU target accepts is then
// planned (--xformer-plan-scratch) and printed by the emitter, which checks
// the plan it reads, the input's own plan attributes included. Diagnostics
// are expected; crashes, hangs, sanitizer reports and invalid IR after a
// successful pass are bugs.
//
//   xformer-fuzz corpus/ -max_total_time=60
//
//===----------------------------------------------------------------------===//

#include "xformer/InitAll.h"
#include "xformer/Support/Nesting.h"
#include "xformer/Target/Cpp/ModelToCpp.h"
#include "xformer/Transforms/Passes.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"

#include <cstdint>
#include <cstdlib>
#include <string>

using namespace mlir;

namespace {

MLIRContext &context() {
  static MLIRContext *ctx = [] {
    DialectRegistry registry;
    xformer::registerAllDialects(registry);
    auto *c = new MLIRContext(registry, MLIRContext::Threading::DISABLED);
    c->loadAllAvailableDialects();
    return c;
  }();
  return *ctx;
}

/// Runs one pass; a failure (a diagnostic) ends the pipeline, but a success
/// must leave valid IR.
bool runPass(ModuleOp module, std::unique_ptr<Pass> pass, bool nested) {
  PassManager pm(&context());
  pm.enableVerifier(true);
  if (nested)
    pm.addNestedPass<func::FuncOp>(std::move(pass));
  else
    pm.addPass(std::move(pass));
  return succeeded(pm.run(module));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  MLIRContext &ctx = context();
  ScopedDiagnosticHandler quiet(&ctx, [](Diagnostic &) { return success(); });
  // The MLIR lexer reads up to a terminating NUL, as files loaded through
  // MemoryBuffer have; the fuzzer's buffer has none, so copy it.
  std::string text(reinterpret_cast<const char *>(data), size);
  mlir::xformer::NestingError deep;
  if (mlir::xformer::tooDeep(text, /*mlir=*/true, deep))
    return 0; // refused by every driver before parsing
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(text, &ctx);
  if (!module || failed(verify(*module)))
    return 0;
  ModuleOp m = *module;
  if (!runPass(m, createCanonicalizerPass(), false))
    return 0;
  if (!runPass(m, xformer::createXformerFuseAttention(), true))
    return 0;
  runPass(m, xformer::createXformerVerifyMasks(), false);
  if (!runPass(m, xformer::createXformerFuseProjections(), true))
    return 0;
  if (!runPass(m, xformer::createXformerDeriveGeneration(), false))
    return 0;
  runPass(m, xformer::createXformerPlanKVCache(), false);
  // The emitter reads a plan the input may carry (checked), then the
  // planner's own.
  std::string source;
  llvm::raw_string_ostream os(source);
  if (failed(xformer::translateModelToCpp(m, os)))
    return 0;
  if (!runPass(m, xformer::createXformerPlanScratch(), false))
    return 0;
  source.clear();
  (void)xformer::translateModelToCpp(m, os);
  return 0;
}
