//===- xformer-compile.cpp - Compile model IR to a shared library ---------===//
//
//   xformer-compile model.mlir --target=cpu -o model.so [-v]
//   xformer-compile model.mlir --target=cuda --arch=sm_90a,sm_80 -o model.so
//
// Runs the target's pipeline (xformer-cpu-pipeline, xformer-cuda-pipeline:
// fuse attention, verify masks, derive the prefill/decode programs of
// decoders and encoder-decoders, plan the KV cache, verify the target can
// lower the result), then emits C++ over a kernel library and compiles it
// into a shared library that libxformer_runtime loads
// (xformer/Runtime/xformer.h): for the CPU with the host C++ compiler over the
// runtime's kernels, for CUDA with nvcc over xformer/Runtime/CUDA/Kernels.cuh,
// the device code of each architecture in an embedded fatbin. --emit=mlir
// prints the IR that is lowered, --emit=source the C++ (CUDA C++), --emit=ptx /
// --emit=cubin the device code for one CUDA architecture.
//
//===----------------------------------------------------------------------===//

#include "xformer/IR/XformerOps.h"
#include "xformer/InitAll.h"
#include "xformer/Support/Nesting.h"
#include "xformer/Target/CPU/Toolchain.h"
#include "xformer/Target/CUDA/Toolchain.h"
#include "xformer/Target/Cpp/ModelToCpp.h"
#include "xformer/Transforms/Pipelines.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
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
static cl::opt<std::string> target("target", cl::desc("cpu or cuda"),
                                   cl::init("cpu"), cl::cat(category));
static cl::opt<std::string>
    emit("emit",
         cl::desc("library (default), source (C++ / CUDA C++), mlir, or for "
                  "--target=cuda ptx or cubin (one --arch)"),
         cl::init("library"), cl::cat(category));
static cl::opt<std::string>
    arch("arch",
         cl::desc("CUDA architectures, comma separated (default "
                  "sm_90a,sm_80): sm_80, sm_86, sm_89, sm_90, sm_90a, ..."),
         cl::init("sm_90a,sm_80"), cl::cat(category));
static cl::opt<std::string>
    nvccPath("nvcc", cl::desc("nvcc (default: $XFORMER_NVCC, else "
                              "$CUDA_HOME/bin/nvcc, /usr/local/cuda/bin/nvcc, "
                              "nvcc on PATH)"),
             cl::init(""), cl::cat(category));
static cl::opt<int64_t> maxSeqLen("max-seq-len",
                                  cl::desc("Positions each KV cache holds"),
                                  cl::init(1024), cl::cat(category));
static cl::opt<int64_t> maxBatch(
    "max-batch", cl::desc("Sequences the KV caches hold (default: the "
                          "model IR's batch)"),
    cl::init(0), cl::cat(category));
static cl::opt<xformer::WeightPrecision> precision(
    "precision",
    cl::desc("Linear layers' weights: f32 (default), or stored in bf16 with "
             "products in bf16 summed in f32 (--xformer-narrow-weights; CPU)"),
    cl::init(xformer::WeightPrecision::f32),
    cl::values(clEnumValN(xformer::WeightPrecision::f32, "f32", "f32"),
               clEnumValN(xformer::WeightPrecision::bf16, "bf16",
                          "bf16 weights")),
    cl::cat(category));
static cl::opt<xformer::WeightStorage> weightFormat(
    "weights",
    cl::desc("How linear weights are stored (default: as the IR says): f32 "
             "(every format decoded), bf16, or a ggml block format computed "
             "on as stored (--xformer-weight-format; ggml blocks: CPU)"),
    XFORMER_WEIGHT_STORAGE_CL_VALUES, cl::cat(category));
static cl::opt<bool> fuseProjections(
    "fuse-projections",
    cl::desc("One linear for the projections that share an input (Q, K and "
             "V; gate and up with a glu), --xformer-fuse-projections "
             "(default true)"),
    cl::init(true), cl::cat(category));
static cl::opt<int64_t> speculate(
    "speculate",
    cl::desc("Drafted tokens a speculative step checks (the serving "
             "engine's n-gram drafts): derives @verify over chunks of "
             "N + 1 tokens, at most the prefill chunk (default 0: none)"),
    cl::init(0), cl::cat(category));
static cl::opt<std::string> rowCounts(
    "row-counts",
    cl::desc("Programs over fewer sequences than the model's batch, so a "
             "call computes only the rows in use: 'auto' (default: the "
             "powers of two below the batch), 'none', or a list such as "
             "'1,2'"),
    cl::init("auto"), cl::cat(category));
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

/// An address in this executable, for finding its path.
void anchor() {}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM y(argc, argv);
  xformer::registerAllPasses();
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(argc, argv,
                              "xformer model compiler: model IR -> library\n");
  if (target != "cpu" && target != "cuda") {
    llvm::errs() << "xformer-compile: target '" << target
                 << "' is not available; supported: cpu, cuda\n";
    return 1;
  }
  const bool cuda = target == "cuda";
  const bool deviceCode = emit == "ptx" || emit == "cubin";
  if (emit != "library" && emit != "source" && emit != "mlir" &&
      !deviceCode) {
    llvm::errs() << "xformer-compile: --emit must be library, source, mlir, "
                    "ptx or cubin, not '"
                 << emit << "'\n";
    return 1;
  }
  if (deviceCode && !cuda) {
    llvm::errs() << "xformer-compile: --emit=" << emit
                 << " needs --target=cuda\n";
    return 1;
  }
  std::vector<std::string> arches;
  if (cuda) {
    std::string error;
    if (failed(xformer::parseCudaArches(arch, arches, error))) {
      llvm::errs() << "xformer-compile: --arch: " << error << "\n";
      return 1;
    }
    if (deviceCode && arches.size() != 1) {
      llvm::errs() << "xformer-compile: --emit=" << emit
                   << " writes the code of one architecture; give one "
                      "--arch (got "
                   << arches.size() << ")\n";
      return 1;
    }
  }
  if ((emit == "library" || deviceCode) && outputFile.empty()) {
    llvm::errs() << "xformer-compile: --emit=" << emit
                 << " needs -o <file>\n";
    return 1;
  }
  const bool bf16 = precision == xformer::WeightPrecision::bf16;
  if (bf16 && cuda) {
    llvm::errs() << "xformer-compile: --precision=bf16 is a CPU option; the "
                    "CUDA target computes linear layers with f32 weights\n";
    return 1;
  }
  if (weightFormat.getNumOccurrences()) {
    if (bf16) {
      llvm::errs() << "xformer-compile: give --precision=bf16 or --weights, "
                      "not both (--weights=bf16 is the bf16 mode)\n";
      return 1;
    }
    if (cuda && weightFormat != xformer::WeightStorage::f32) {
      std::optional<xformer::GGMLFormat> blocks =
          xformer::ggmlFormatOf(weightFormat);
      llvm::errs() << "xformer-compile: --weights="
                   << (blocks ? xformer::stringifyGGMLFormat(*blocks) : "bf16")
                   << " is a CPU option; the CUDA target computes linear "
                      "layers with f32 weights\n";
      return 1;
    }
  }
  if (maxSeqLen < 1) {
    llvm::errs() << "xformer-compile: --max-seq-len must be positive\n";
    return 1;
  }
  if (maxBatch.getNumOccurrences() && maxBatch < 1) {
    llvm::errs() << "xformer-compile: --max-batch=" << maxBatch
                 << " must be positive\n";
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
    mlir::xformer::NestingError deep;
    if (mlir::xformer::tooDeep(file->getBuffer(), /*mlir=*/true, deep)) {
      llvm::errs() << inputFile << ":" << deep.message()
                   << ": not model IR\n";
      return 1;
    }
    llvm::SourceMgr sm;
    sm.AddNewSourceBuffer(std::move(file), llvm::SMLoc());
    module = parseSourceFile<ModuleOp>(sm, &context);
    if (!module)
      return 1;
  }
  {
    Stage s(cuda ? "xformer-cuda-pipeline" : "xformer-cpu-pipeline");
    xformer::XformerPipelineOptions options;
    options.maxBatch = maxBatch;
    options.maxSeqLen = maxSeqLen;
    options.precision = precision;
    options.fuseProjections = fuseProjections;
    options.rowCounts = rowCounts;
    if (speculate < 0) {
      llvm::errs() << "xformer-compile: --speculate must be >= 0, not "
                   << speculate << "\n";
      return 1;
    }
    options.verifyChunk = speculate ? speculate + 1 : 0;
    if (weightFormat.getNumOccurrences())
      options.weights = weightFormat;
    PassManager pm(&context);
    xformer::buildXformerPipeline(
        pm, cuda ? xformer::ModelTarget::cuda : xformer::ModelTarget::cpu,
        options);
    if (verbose) {
      llvm::errs() << "[xformer-compile]   ";
      pm.printAsTextualPipeline(llvm::errs());
      llvm::errs() << "\n";
      pm.enableTiming();
    }
    if (failed(pm.run(*module)))
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
    Stage s(cuda ? "emit CUDA C++" : "emit C++ (CPU)");
    llvm::raw_string_ostream os(source);
    xformer::EmitStats stats;
    if (failed(xformer::translateModelToCpp(
            *module, os, &stats,
            cuda ? xformer::ModelTarget::cuda : xformer::ModelTarget::cpu)))
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

  const xformer::RuntimeLayout runtime =
      xformer::findRuntime(llvm::sys::fs::getMainExecutable(
          argv[0], reinterpret_cast<void *>(&anchor)));
  LogicalResult built = failure();
  if (cuda) {
    xformer::CudaToolchainOptions options;
    options.verbose = verbose;
    options.nvcc = nvccPath;
    options.arches = arches;
    options.output = emit == "ptx"     ? xformer::CudaOutput::ptx
                     : emit == "cubin" ? xformer::CudaOutput::cubin
                                       : xformer::CudaOutput::library;
    built = xformer::compileCudaLibrary(source, outputFile, runtime, options);
  } else {
    xformer::CpuToolchainOptions options;
    options.verbose = verbose;
    options.cxx = cxx;
    built = xformer::compileCpuLibrary(source, outputFile, runtime, options);
  }
  if (failed(built))
    return 1;
  if (verbose)
    llvm::errs() << llvm::format(
        "[xformer-compile] total %.1f ms -> %s\n",
        std::chrono::duration<double, std::milli>(Clock::now() - total)
            .count(),
        outputFile.c_str());
  return 0;
}
