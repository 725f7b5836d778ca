//===- xformer-compile.cpp - Compile model IR to a shared library ---------===//
//
//   xformer-compile model.mlir --target=cpu -o model.so [-v]
//
// Runs the whole pipeline: fuse attention, verify masks, derive the
// prefill/decode programs (decoders, encoder-decoders), plan the KV cache,
// then emits C++ over the runtime's kernels and compiles it into a shared
// library that libxformer_runtime loads (xformer/Runtime/xformer.h).
// --emit=mlir prints the IR that is lowered, --emit=source the C++.
//
//===----------------------------------------------------------------------===//

#include "xformer/IR/XformerOps.h"
#include "xformer/InitAll.h"
#include "xformer/Target/CPU/ModelToCpp.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>

using namespace mlir;
namespace cl = llvm::cl;

static cl::OptionCategory category("xformer-compile options");
static cl::opt<std::string> inputFile(cl::Positional, cl::desc("<model.mlir>"),
                                      cl::init("-"), cl::cat(category));
static cl::opt<std::string> outputFile("o", cl::desc("Output file"),
                                       cl::value_desc("file"), cl::init(""), cl::cat(category));
static cl::opt<std::string> target("target", cl::desc("cpu (cuda: planned)"),
                                   cl::init("cpu"), cl::cat(category));
static cl::opt<std::string>
    emit("emit", cl::desc("library (default), source (C++) or mlir"),
         cl::init("library"), cl::cat(category));
static cl::opt<int64_t> maxSeqLen("max-seq-len",
                                  cl::desc("Positions each KV cache holds"),
                                  cl::init(1024), cl::cat(category));
static cl::opt<int64_t> maxBatch(
    "max-batch", cl::desc("Sequences the KV caches hold (default: the "
                          "model IR's batch)"),
    cl::init(0), cl::cat(category));
static cl::opt<bool> verbose("v", cl::desc("Print stages and their times"), cl::cat(category));
static cl::opt<std::string>
    cxx("cxx", cl::desc("C++ compiler (default: $XFORMER_CXX, else the one "
                        "xformer was built with)"),
        cl::init(""), cl::cat(category));

namespace {

using Clock = std::chrono::steady_clock;

struct Stage {
  const char *name;
  Clock::time_point start = Clock::now();
  explicit Stage(const char *name) : name(name) {
    if (verbose)
      llvm::errs() << "[xformer-compile] " << name << "...\n";
  }
  ~Stage() {
    if (verbose)
      llvm::errs() << llvm::format(
          "[xformer-compile] %-28s %8.1f ms\n", name,
          std::chrono::duration<double, std::milli>(Clock::now() - start)
              .count());
  }
};

/// Where the runtime's headers and library are: the install tree next to
/// this executable, else the build tree it was built in.
void runtimePaths(const char *argv0, std::string &include, std::string &lib) {
  std::string exe = llvm::sys::fs::getMainExecutable(
      argv0, reinterpret_cast<void *>(&runtimePaths));
  SmallString<256> prefix(llvm::sys::path::parent_path(
      llvm::sys::path::parent_path(exe)));
  SmallString<256> header(prefix);
  llvm::sys::path::append(header, "include", "xformer", "Runtime");
  llvm::sys::path::append(header, "CPU", "Kernels.h");
  SmallString<256> libDir(prefix);
  llvm::sys::path::append(libDir, "lib");
  SmallString<256> so(libDir);
  llvm::sys::path::append(so, "libxformer_runtime.so");
  if (llvm::sys::fs::exists(header) && llvm::sys::fs::exists(so)) {
    include = (prefix + "/include").str();
    lib = libDir.str().str();
    return;
  }
  include = XFORMER_BUILD_INCLUDE_DIR;
  lib = XFORMER_BUILD_LIB_DIR;
}

std::optional<xformer::ModelKind> modelKind(ModuleOp module) {
  for (auto func : module.getOps<func::FuncOp>())
    if (auto a = func->getAttrOfType<xformer::ModelKindAttr>("xformer.model"))
      return a.getValue();
  return std::nullopt;
}

int64_t irBatch(ModuleOp module) {
  for (auto func : module.getOps<func::FuncOp>())
    if (func.getNumArguments() > 0)
      if (auto t = dyn_cast<RankedTensorType>(func.getArgumentTypes()[0]))
        if (t.getRank() >= 1 && !t.isDynamicDim(0))
          return t.getDimSize(0);
  return 1;
}

int64_t sourceLen(ModuleOp module) {
  for (auto func : module.getOps<func::FuncOp>())
    if (func.getSymName() == "encode")
      if (auto t = dyn_cast<RankedTensorType>(func.getArgumentTypes()[0]))
        return t.getRank() == 2 ? t.getDimSize(1) : 0;
  return 0;
}

LogicalResult runPipeline(ModuleOp module, StringRef pipeline) {
  PassManager pm(module.getContext());
  std::string error;
  llvm::raw_string_ostream es(error);
  if (failed(parsePassPipeline(pipeline, pm, es))) {
    llvm::errs() << "xformer-compile: bad pipeline: " << error << "\n";
    return failure();
  }
  if (verbose)
    llvm::errs() << "[xformer-compile]   " << pipeline << "\n";
  return pm.run(module);
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM y(argc, argv);
  xformer::registerAllPasses();
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(argc, argv,
                              "xformer model compiler: model IR -> library\n");
  if (target != "cpu") {
    llvm::errs() << "xformer-compile: target '" << target
                 << "' is not available; supported: cpu\n";
    return 1;
  }
  if (emit != "library" && emit != "source" && emit != "mlir") {
    llvm::errs() << "xformer-compile: --emit must be library, source or "
                    "mlir, not '"
                 << emit << "'\n";
    return 1;
  }
  if (emit == "library" && outputFile.empty()) {
    llvm::errs() << "xformer-compile: a library needs -o <file.so>\n";
    return 1;
  }
  if (maxSeqLen < 1) {
    llvm::errs() << "xformer-compile: --max-seq-len must be positive\n";
    return 1;
  }

  DialectRegistry registry;
  xformer::registerAllDialects(registry);
  MLIRContext context(registry);
  context.loadAllAvailableDialects();
  auto total = Clock::now();

  OwningOpRef<ModuleOp> module;
  {
    Stage s("parse and verify");
    std::string error;
    auto file = openInputFile(inputFile, &error);
    if (!file) {
      llvm::errs() << "xformer-compile: " << error << "\n";
      return 1;
    }
    llvm::SourceMgr sm;
    sm.AddNewSourceBuffer(std::move(file), llvm::SMLoc());
    module = parseSourceFile<ModuleOp>(sm, &context);
    if (!module)
      return 1;
  }
  std::optional<xformer::ModelKind> kind = modelKind(*module);
  if (!kind) {
    module->emitError("no function says what the model is: add "
                      "attributes {xformer.model = "
                      "#xformer.model<encoder|decoder|encoder_decoder>}");
    return 1;
  }
  {
    Stage s("fuse attention, verify masks");
    if (failed(runPipeline(*module,
                           "func.func(xformer-fuse-attention),canonicalize,cse,"
                           "xformer-verify-masks")))
      return 1;
  }
  if (*kind != xformer::ModelKind::encoder) {
    Stage s("derive prefill/decode, plan KV cache");
    int64_t batch = maxBatch > 0 ? int64_t(maxBatch) : irBatch(*module);
    if (failed(runPipeline(*module,
                           "xformer-derive-generation,canonicalize,cse")))
      return 1;
    std::string plan = "xformer-plan-kv-cache{max-batch=" +
                       std::to_string(batch) +
                       " max-seq-len=" + std::to_string(maxSeqLen);
    if (int64_t src = sourceLen(*module))
      plan += " max-source-len=" + std::to_string(src);
    plan += "}";
    if (failed(runPipeline(*module, plan)))
      return 1;
  }
  if (emit == "mlir") {
    std::string error;
    auto out = openOutputFile(outputFile.empty() ? std::string("-") : std::string(outputFile), &error);
    if (!out) {
      llvm::errs() << "xformer-compile: " << error << "\n";
      return 1;
    }
    module->print(out->os());
    out->keep();
    return 0;
  }

  std::string source;
  {
    Stage s("emit C++ (CPU)");
    llvm::raw_string_ostream os(source);
    xformer::CpuEmitStats stats;
    if (failed(xformer::translateModelToCpp(*module, os, &stats)))
      return 1;
    if (verbose)
      llvm::errs() << "[xformer-compile]   " << stats.kernelCalls
                   << " kernel calls, largest scratch "
                   << stats.scratchBytes << " bytes\n";
  }
  if (emit == "source") {
    std::string error;
    auto out = openOutputFile(outputFile.empty() ? std::string("-") : std::string(outputFile), &error);
    if (!out) {
      llvm::errs() << "xformer-compile: " << error << "\n";
      return 1;
    }
    out->os() << source;
    out->keep();
    return 0;
  }

  // Compile the C++ into the library.
  SmallString<128> srcPath;
  if (std::error_code ec = llvm::sys::fs::createTemporaryFile(
          "xformer-model", "cpp", srcPath)) {
    llvm::errs() << "xformer-compile: cannot create a temporary file: "
                 << ec.message() << "\n";
    return 1;
  }
  llvm::FileRemover removeSrc(srcPath);
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(srcPath, ec);
    if (ec) {
      llvm::errs() << "xformer-compile: " << srcPath << ": " << ec.message()
                   << "\n";
      return 1;
    }
    os << source;
  }
  std::string include, lib;
  runtimePaths(argv[0], include, lib);
  std::string compiler = cxx;
  if (compiler.empty())
    if (const char *env = std::getenv("XFORMER_CXX"))
      compiler = env;
  if (compiler.empty())
    compiler = XFORMER_DEFAULT_CXX;
  auto program = llvm::sys::findProgramByName(compiler);
  if (!program) {
    llvm::errs() << "xformer-compile: C++ compiler '" << compiler
                 << "' not found (set --cxx or XFORMER_CXX)\n";
    return 1;
  }
  SmallString<128> logPath;
  (void)llvm::sys::fs::createTemporaryFile("xformer-cxx", "log", logPath);
  llvm::FileRemover removeLog(logPath);
  std::vector<std::string> args = {
      *program,       "-O2",          "-fPIC",
      "-shared",      "-std=c++17",   "-fvisibility=hidden",
      "-I" + include, srcPath.str().str(), "-o",
      outputFile,     "-L" + lib,     "-lxformer_runtime",
      "-Wl,-rpath," + lib};
  {
    Stage s("compile C++ -> shared library");
    if (verbose) {
      llvm::errs() << "[xformer-compile]  ";
      for (auto &a : args)
        llvm::errs() << " " << a;
      llvm::errs() << "\n";
    }
    std::vector<StringRef> argRefs(args.begin(), args.end());
    std::optional<StringRef> redirects[] = {std::nullopt, logPath.str(),
                                            logPath.str()};
    std::string error;
    int rc = llvm::sys::ExecuteAndWait(*program, argRefs, std::nullopt,
                                       redirects, 0, 0, &error);
    if (rc != 0) {
      llvm::errs() << "xformer-compile: the C++ compiler failed (" << rc
                   << (error.empty() ? "" : ": " + error) << ")\n";
      if (auto log = llvm::MemoryBuffer::getFile(logPath))
        llvm::errs() << (*log)->getBuffer();
      return 1;
    }
  }
  if (verbose)
    llvm::errs() << llvm::format(
        "[xformer-compile] total %.1f ms -> %s\n",
        std::chrono::duration<double, std::milli>(Clock::now() - total)
            .count(),
        outputFile.c_str());
  return 0;
}
