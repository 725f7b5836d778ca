//===- xformer-compile.cpp - Compile model IR to a shared library ---------===//
//
//   xformer-compile model.mlir --target=cpu -o model.so [-v]
//   xformer-compile model.mlir --target=cuda --arch=sm_90a,sm_80 -o model.so
//
// Runs the whole pipeline: fuse attention, verify masks, derive the
// prefill/decode programs (decoders, encoder-decoders), plan the KV cache,
// then emits C++ over a kernel library and compiles it into a shared
// library that libxformer_runtime loads (xformer/Runtime/xformer.h): for
// the CPU with the host C++ compiler over the runtime's kernels, for CUDA
// with nvcc over xformer/Runtime/CUDA/Kernels.cuh, the device code of each
// architecture in an embedded fatbin. --emit=mlir prints the IR that is
// lowered, --emit=source the C++ (CUDA C++), --emit=ptx / --emit=cubin the
// device code for one CUDA architecture.
//
//===----------------------------------------------------------------------===//

#include "xformer/IR/XformerOps.h"
#include "xformer/InitAll.h"
#include "xformer/Support/Nesting.h"
#include "xformer/Target/CPU/ModelToCpp.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/ADT/StringExtras.h"
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
#include <unistd.h>

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
static cl::opt<std::string> precision(
    "precision",
    cl::desc("f32 (default), or bf16: linear layers' weights stored in bf16, "
             "products in bf16 summed in f32 (--xformer-narrow-weights; CPU)"),
    cl::init("f32"), cl::cat(category));
static cl::opt<std::string> weightFormat(
    "weights",
    cl::desc("How linear weights are stored (default: as the IR says): f32 "
             "(every format decoded), bf16, or a ggml block format computed "
             "on as stored: q8_0, q4_0, q4_1, q5_0, q5_1, q2_k, q3_k, q4_k, "
             "q5_k, q6_k (--xformer-weight-format; ggml blocks: CPU)"),
    cl::init(""), cl::cat(category));
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

/// Where the dialect's header-only semantics (xformer/Semantics/...) are,
/// which the CUDA kernels include: beside the runtime headers when
/// installed, the source tree's dialects/ in the build tree.
std::string dialectsInclude(const std::string &include) {
  if (include == XFORMER_BUILD_INCLUDE_DIR)
    return XFORMER_BUILD_DIALECTS_DIR;
  return include;
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

/// A learned position table (an embedding indexed by xformer.positions,
/// plus a constant) must have a row for every position the KV cache
/// holds; otherwise the run would fail at the first position past it.
LogicalResult checkPositionTables(ModuleOp module, int64_t maxSeqLen) {
  WalkResult r = module.walk([&](xformer::EmbeddingOp e) {
    Value ids = e.getIds();
    int64_t offset = 0;
    // Through adds of a constant splat (BART's +2).
    while (auto add = ids.getDefiningOp<xformer::AddOp>()) {
      Value other;
      DenseIntElementsAttr c;
      if (matchPattern(add.getRhs(), m_Constant(&c)))
        other = add.getLhs();
      else if (matchPattern(add.getLhs(), m_Constant(&c)))
        other = add.getRhs();
      if (!other || !c.isSplat())
        break;
      offset += c.getSplatValue<APInt>().getSExtValue();
      ids = other;
    }
    if (!ids.getDefiningOp<xformer::PositionsOp>())
      return WalkResult::advance();
    const int64_t rows = e.getTable().getType().getDimSize(0);
    if (ShapedType::isDynamic(rows) || maxSeqLen + offset <= rows)
      return WalkResult::advance();
    e.emitError() << "the position table has " << rows
                  << " rows, but --max-seq-len " << maxSeqLen
                  << " needs positions up to " << maxSeqLen - 1 + offset
                  << ": compile with --max-seq-len=" << rows - offset
                  << " or less (the model's context)";
    return WalkResult::interrupt();
  });
  return failure(r.wasInterrupted());
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


/// Splits --arch into sm_XY[a] names; rejects anything else and the
/// architectures the kernels do not support (tensor-core mma needs sm_80).
bool parseArches(StringRef list, std::vector<std::string> &out,
                 std::string &error) {
  SmallVector<StringRef> parts;
  list.split(parts, ',', -1, /*KeepEmpty=*/false);
  for (StringRef a : parts) {
    a = a.trim();
    StringRef digits = a;
    if (!digits.consume_front("sm_")) {
      error = "'" + a.str() + "' is not an architecture like sm_80 or sm_90a";
      return false;
    }
    digits.consume_back("a");
    digits.consume_back("f");
    unsigned cc = 0;
    if (digits.getAsInteger(10, cc) || cc < 10) {
      error = "'" + a.str() + "' is not an architecture like sm_80 or sm_90a";
      return false;
    }
    if (cc < 80) {
      error = "'" + a.str() +
              "' is older than sm_80; the attention kernels need bf16 "
              "tensor cores (mma.sync m16n8k16)";
      return false;
    }
    if (llvm::find(out, a.str()) == out.end())
      out.push_back(a.str());
  }
  if (out.empty()) {
    error = "no architecture given";
    return false;
  }
  return true;
}

std::string findNvcc() {
  if (!nvccPath.empty())
    return nvccPath;
  if (const char *env = std::getenv("XFORMER_NVCC"))
    return env;
  if (const char *home = std::getenv("CUDA_HOME")) {
    std::string p = std::string(home) + "/bin/nvcc";
    if (llvm::sys::fs::can_execute(p))
      return p;
  }
  if (llvm::sys::fs::can_execute("/usr/local/cuda/bin/nvcc"))
    return "/usr/local/cuda/bin/nvcc";
  return "nvcc";
}

/// Writes `source` to a new temporary file with extension `ext`.
bool writeTemporary(const std::string &source, const char *ext,
                    SmallString<128> &path) {
  if (std::error_code ec = llvm::sys::fs::createTemporaryFile(
          "xformer-model", ext, path)) {
    llvm::errs() << "xformer-compile: cannot create a temporary file: "
                 << ec.message() << "\n";
    return false;
  }
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  if (ec) {
    llvm::errs() << "xformer-compile: " << path << ": " << ec.message()
                 << "\n";
    return false;
  }
  os << source;
  return true;
}

/// Runs a program with its output in a log, printed if it fails.
int runLogged(const std::string &program, const std::vector<std::string> &args,
              const char *stage, const char *what) {
  SmallString<128> logPath;
  (void)llvm::sys::fs::createTemporaryFile("xformer-tool", "log", logPath);
  llvm::FileRemover removeLog(logPath);
  Stage s(stage);
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
  int rc = llvm::sys::ExecuteAndWait(program, argRefs, std::nullopt,
                                     redirects, 0, 0, &error);
  if (rc != 0) {
    llvm::errs() << "xformer-compile: " << what << " failed (" << rc
                 << (error.empty() ? "" : ": " + error) << ")\n";
    if (auto log = llvm::MemoryBuffer::getFile(logPath))
      llvm::errs() << (*log)->getBuffer();
    return 1;
  }
  return 0;
}

/// nvcc: the CUDA C++ into a shared library with a fatbin holding SASS for
/// every architecture (and PTX of the newest, for later GPUs), or into the
/// PTX / cubin of one architecture.
int compileCuda(const char *argv0, const std::string &source,
                const std::vector<std::string> &arches) {
  std::string nvccName = findNvcc();
  auto nvcc = llvm::sys::findProgramByName(nvccName);
  if (nvcc && !llvm::sys::fs::can_execute(*nvcc))
    nvcc = std::make_error_code(std::errc::no_such_file_or_directory);
  if (!nvcc) {
    llvm::errs() << "xformer-compile: nvcc ('" << nvccName
                 << "') not found: install the CUDA toolkit or set --nvcc, "
                    "XFORMER_NVCC or CUDA_HOME\n";
    return 1;
  }
  SmallString<128> srcPath;
  bool written = writeTemporary(source, "cu", srcPath);
  llvm::FileRemover removeSrc(srcPath);
  if (!written)
    return 1;
  std::string include, lib;
  runtimePaths(argv0, include, lib);
  std::vector<std::string> args = {*nvcc,          "-std=c++17",
                                   "-O3",          "--expt-relaxed-constexpr",
                                   "-I" + include, "-I" + dialectsInclude(include)};
  SmallString<256> cudaLib(llvm::sys::path::parent_path(
      llvm::sys::path::parent_path(*nvcc)));
  llvm::sys::path::append(cudaLib, "lib64");
  auto number = [](const std::string &a) { return a.substr(3); };
  if (emit == "ptx" || emit == "cubin") {
    args.push_back("-arch=" + arches.front());
    args.push_back(emit == "ptx" ? "-ptx" : "-cubin");
    args.push_back(srcPath.str().str());
    args.push_back("-o");
    args.push_back(outputFile);
    return runLogged(*nvcc, args, emit == "ptx" ? "nvcc -> PTX" : "nvcc -> cubin",
                     "nvcc");
  }
  for (const std::string &a : arches)
    args.push_back("-gencode=arch=compute_" + number(a) + ",code=sm_" +
                   number(a));
  // PTX of the first (newest-first by default) plain architecture lets the
  // driver compile for GPUs newer than any listed.
  for (const std::string &a : arches)
    if (a.back() != 'a' && a.back() != 'f') {
      args.push_back("-gencode=arch=compute_" + number(a) + ",code=compute_" +
                     number(a));
      break;
    }
  llvm::append_range(
      args, std::vector<std::string>{
                "-shared", "-Xcompiler", "-fPIC,-fvisibility=hidden",
                srcPath.str().str(), "-o", outputFile, "-L" + lib,
                "-lxformer_runtime", "-lcublasLt", "-Xlinker", "-rpath=" + lib,
                "-Xlinker", "-rpath=" + cudaLib.str().str()});
  return runLogged(*nvcc, args, "nvcc -> library (fatbin)", "nvcc");
}
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
    if (!parseArches(arch, arches, error)) {
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
  if (precision != "f32" && precision != "bf16") {
    llvm::errs() << "xformer-compile: --precision must be f32 or bf16, not '"
                 << precision << "'\n";
    return 1;
  }
  if (precision == "bf16" && cuda) {
    llvm::errs() << "xformer-compile: --precision=bf16 is a CPU option; the "
                    "CUDA target computes linear layers with f32 weights\n";
    return 1;
  }
  if (!weightFormat.empty()) {
    static const char *const formats[] = {
        "f32",  "bf16", "q8_0", "q4_0", "q4_1", "q5_0",
        "q5_1", "q2_k", "q3_k", "q4_k", "q5_k", "q6_k"};
    if (!llvm::is_contained(formats, StringRef(weightFormat))) {
      llvm::errs() << "xformer-compile: --weights must be one of "
                   << llvm::join(ArrayRef<const char *>(formats), ", ") << ", not '" << weightFormat
                   << "'\n";
      return 1;
    }
    if (precision == "bf16") {
      llvm::errs() << "xformer-compile: give --precision=bf16 or --weights, "
                      "not both (--weights=bf16 is the bf16 mode)\n";
      return 1;
    }
    if (cuda && weightFormat != "f32") {
      llvm::errs() << "xformer-compile: --weights=" << weightFormat
                   << " is a CPU option; the CUDA target computes linear "
                      "layers with f32 weights\n";
      return 1;
    }
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
  if (precision == "bf16") {
    Stage s("bf16 weights for linear layers");
    if (failed(runPipeline(*module, "func.func(xformer-narrow-weights)")))
      return 1;
  }
  if (!weightFormat.empty()) {
    Stage s("weight storage format");
    if (failed(runPipeline(*module, "func.func(xformer-weight-format{format=" +
                                        weightFormat + "})")))
      return 1;
  }
  if (*kind != xformer::ModelKind::encoder) {
    Stage s("derive prefill/decode, plan KV cache");
    const int64_t programBatch = irBatch(*module);
    if (maxBatch.getNumOccurrences() &&
        (maxBatch < 1 || maxBatch < programBatch)) {
      llvm::errs() << "xformer-compile: --max-batch=" << maxBatch
                   << (maxBatch < 1
                           ? " must be positive"
                           : " is below the model IR's batch of " +
                                 std::to_string(programBatch) +
                                 ": its programs run that many sequences "
                                 "per call (import the model with a "
                                 "smaller --batch)")
                   << "\n";
      return 1;
    }
    if (failed(checkPositionTables(*module, maxSeqLen)))
      return 1;
    int64_t batch = maxBatch > 0 ? int64_t(maxBatch) : programBatch;
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
    Stage s(cuda ? "emit CUDA C++" : "emit C++ (CPU)");
    llvm::raw_string_ostream os(source);
    xformer::CpuEmitStats stats;
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

  if (cuda) {
    int rc = compileCuda(argv[0], source, arches);
    if (rc == 0 && verbose)
      llvm::errs() << llvm::format(
          "[xformer-compile] total %.1f ms -> %s\n",
          std::chrono::duration<double, std::milli>(Clock::now() - total)
              .count(),
          outputFile.c_str());
    return rc;
  }

  // Compile the C++ into the library.
  SmallString<128> srcPath;
  bool written = writeTemporary(source, "cpp", srcPath);
  llvm::FileRemover removeSrc(srcPath);
  if (!written)
    return 1;
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
  // Built beside the output and renamed over it: a library open in some
  // process keeps its file, and a failed build leaves the old one.
  SmallString<128> building;
  {
    int fd;
    if (std::error_code ec = llvm::sys::fs::createUniqueFile(
            outputFile + ".building-%%%%%%", fd, building)) {
      llvm::errs() << "xformer-compile: cannot write next to '" << outputFile
                   << "': " << ec.message() << "\n";
      return 1;
    }
    ::close(fd);
  }
  llvm::FileRemover removeBuilding(building);
  std::vector<std::string> args = {
      *program,       "-O2",          "-fPIC",
      "-shared",      "-std=c++17",   "-fvisibility=hidden",
      "-I" + include, srcPath.str().str(), "-o",
      building.str().str(), "-L" + lib, "-lxformer_runtime",
      "-Wl,-rpath," + lib};
  if (runLogged(*program, args, "compile C++ -> shared library",
                "the C++ compiler"))
    return 1;
  // A compiler that exits 0 must have made a shared library.
  {
    auto built = llvm::MemoryBuffer::getFile(building);
    if (!built || (*built)->getBufferSize() < 4 ||
        !(*built)->getBuffer().starts_with("\x7f" "ELF")) {
      llvm::errs() << "xformer-compile: the C++ compiler '" << *program
                   << "' exited 0 but wrote no shared library\n";
      return 1;
    }
  }
  if (std::error_code ec = llvm::sys::fs::rename(building, outputFile)) {
    llvm::errs() << "xformer-compile: cannot write '" << outputFile
                 << "': " << ec.message() << "\n";
    return 1;
  }
  if (verbose)
    llvm::errs() << llvm::format(
        "[xformer-compile] total %.1f ms -> %s\n",
        std::chrono::duration<double, std::milli>(Clock::now() - total)
            .count(),
        outputFile.c_str());
  return 0;
}
