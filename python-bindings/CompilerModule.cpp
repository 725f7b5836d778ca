//===- CompilerModule.cpp - Python bindings of the compiler (nanobind) ---===//
//
// xformer._compiler: run pass pipelines and the CPU and CUDA emitters on
// model IR in process; MLIR diagnostics become ValueError.
//
//===----------------------------------------------------------------------===//

#include "xformer/InitAll.h"
#include "xformer/Support/Nesting.h"
#include "xformer/Target/Cpp/ModelToCpp.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/Support/raw_ostream.h"

#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>

#include <mutex>
#include <string>

namespace nb = nanobind;
using namespace nb::literals;

namespace {

/// Parses `ir`, collecting diagnostics; raises ValueError with them.
struct Session {
  mlir::MLIRContext context;
  std::string diagnostics;
  mlir::ScopedDiagnosticHandler handler;
  Session()
      : context(registry()), handler(&context, [this](mlir::Diagnostic &d) {
          llvm::raw_string_ostream os(diagnostics);
          os << d.getLocation() << ": " << d << "\n";
          return mlir::success();
        }) {
    context.loadAllAvailableDialects();
  }
  static mlir::DialectRegistry registry() {
    mlir::DialectRegistry r;
    mlir::xformer::registerAllDialects(r);
    return r;
  }
  mlir::OwningOpRef<mlir::ModuleOp> parse(const std::string &ir) {
    mlir::xformer::NestingError deep;
    if (mlir::xformer::tooDeep(ir, /*mlir=*/true, deep))
      throw nb::value_error(("cannot parse the model IR: " + deep.message())
                                .c_str());
    auto module = mlir::parseSourceString<mlir::ModuleOp>(ir, &context);
    if (!module)
      fail("cannot parse the model IR");
    return module;
  }
  [[noreturn]] void fail(const std::string &what) {
    throw nb::value_error((what + ":\n" + diagnostics).c_str());
  }
};

std::string runPipeline(const std::string &ir, const std::string &pipeline) {
  static std::once_flag once;
  std::call_once(once, [] { mlir::xformer::registerAllPasses(); });
  Session s;
  auto module = s.parse(ir);
  mlir::PassManager pm(&s.context);
  std::string error;
  llvm::raw_string_ostream es(error);
  if (mlir::failed(mlir::parsePassPipeline(pipeline, pm, es)))
    throw nb::value_error(("bad pass pipeline: " + error).c_str());
  if (mlir::failed(pm.run(*module)))
    s.fail("the pipeline failed");
  std::string out;
  llvm::raw_string_ostream os(out);
  module->print(os);
  return out;
}

std::string translateToCpp(const std::string &ir, const std::string &target) {
  if (target != "cpu" && target != "cuda")
    throw nb::value_error(
        ("target must be cpu or cuda, not '" + target + "'").c_str());
  const auto kind = target == "cuda" ? mlir::xformer::ModelTarget::cuda
                                     : mlir::xformer::ModelTarget::cpu;
  Session s;
  auto module = s.parse(ir);
  std::string out;
  llvm::raw_string_ostream os(out);
  if (mlir::failed(
          mlir::xformer::translateModelToCpp(*module, os, nullptr, kind)))
    s.fail("the " + mlir::xformer::targetName(kind).str() +
           " target cannot lower this model");
  return out;
}

} // namespace

NB_MODULE(_compiler, m) {
  m.doc() = "xformer: pass pipelines and the CPU and CUDA emitters";
  m.def("run_pipeline", &runPipeline, "ir"_a, "pipeline"_a,
        "Runs a textual pass pipeline (e.g. "
        "'xformer-cpu-pipeline{max-seq-len=256}', or "
        "'func.func(xformer-fuse-attention),xformer-verify-masks') on model "
        "IR and returns the result; raises ValueError with the diagnostics.");
  m.def("translate_to_cpp", &translateToCpp, "ir"_a, "target"_a = "cpu",
        "The C++ (target='cpu') or CUDA C++ (target='cuda') of model IR "
        "the target's pipeline ran on (xformer-cpu-pipeline, "
        "xformer-cuda-pipeline).");
}
