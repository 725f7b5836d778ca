//===- Toolchain.cpp - The CUDA target's nvcc driver ----------------------===//

#include "xformer/Target/CUDA/Toolchain.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"

using namespace mlir;
using namespace mlir::xformer;

LogicalResult mlir::xformer::parseCudaArches(StringRef list,
                                             std::vector<std::string> &out,
                                             std::string &error) {
  SmallVector<StringRef> parts;
  list.split(parts, ',', -1, /*KeepEmpty=*/false);
  for (StringRef a : parts) {
    a = a.trim();
    StringRef digits = a;
    const std::string notArch =
        "'" + a.str() + "' is not an architecture like sm_80 or sm_90a";
    if (!digits.consume_front("sm_")) {
      error = notArch;
      return failure();
    }
    digits.consume_back("a");
    digits.consume_back("f");
    unsigned cc = 0;
    if (digits.getAsInteger(10, cc) || cc < 10) {
      error = notArch;
      return failure();
    }
    if (cc < 80) {
      error = "'" + a.str() +
              "' is older than sm_80; the attention kernels need bf16 "
              "tensor cores (mma.sync m16n8k16)";
      return failure();
    }
    if (!llvm::is_contained(out, a.str()))
      out.push_back(a.str());
  }
  if (out.empty()) {
    error = "no architecture given";
    return failure();
  }
  return success();
}

namespace {

std::string findNvcc(const std::string &given) {
  if (!given.empty())
    return given;
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

} // namespace

LogicalResult
mlir::xformer::compileCudaLibrary(StringRef source, StringRef output,
                                  const RuntimeLayout &runtime,
                                  const CudaToolchainOptions &options) {
  std::string nvccName = findNvcc(options.nvcc);
  auto nvcc = llvm::sys::findProgramByName(nvccName);
  if (nvcc && !llvm::sys::fs::can_execute(*nvcc))
    nvcc = std::make_error_code(std::errc::no_such_file_or_directory);
  if (!nvcc) {
    llvm::errs() << options.tool << ": nvcc ('" << nvccName
                 << "') not found: install the CUDA toolkit or set --nvcc, "
                    "XFORMER_NVCC or CUDA_HOME\n";
    return failure();
  }
  if (options.arches.empty() ||
      (options.output != CudaOutput::library && options.arches.size() != 1)) {
    llvm::errs() << options.tool
                 << ": PTX and cubin are the code of one architecture; a "
                    "library needs at least one\n";
    return failure();
  }
  SmallString<128> srcPath;
  if (failed(writeTemporary(source, "cu", srcPath, options)))
    return failure();
  llvm::FileRemover removeSrc(srcPath);
  std::vector<std::string> args = {*nvcc,
                                   "-std=c++17",
                                   "-O3",
                                   "--expt-relaxed-constexpr",
                                   "-I" + runtime.include,
                                   "-I" + runtime.dialectsInclude};
  SmallString<256> cudaLib(
      llvm::sys::path::parent_path(llvm::sys::path::parent_path(*nvcc)));
  llvm::sys::path::append(cudaLib, "lib64");
  auto number = [](const std::string &a) { return a.substr(3); };
  if (options.output != CudaOutput::library) {
    const bool ptx = options.output == CudaOutput::ptx;
    llvm::append_range(args, std::vector<std::string>{
                                 "-arch=" + options.arches.front(),
                                 ptx ? "-ptx" : "-cubin", srcPath.str().str(),
                                 "-o", output.str()});
    return runTool(args, ptx ? "nvcc -> PTX" : "nvcc -> cubin", "nvcc",
                   options);
  }
  for (const std::string &a : options.arches)
    args.push_back("-gencode=arch=compute_" + number(a) + ",code=sm_" +
                   number(a));
  // PTX of the first (newest-first by default) plain architecture lets the
  // driver compile for GPUs newer than any listed.
  for (const std::string &a : options.arches)
    if (a.back() != 'a' && a.back() != 'f') {
      args.push_back("-gencode=arch=compute_" + number(a) + ",code=compute_" +
                     number(a));
      break;
    }
  llvm::append_range(args,
                     std::vector<std::string>{
                         "-shared", "-Xcompiler", "-fPIC,-fvisibility=hidden",
                         srcPath.str().str(), "-o", output.str(),
                         "-L" + runtime.lib, "-lxformer_runtime", "-lcublasLt",
                         "-Xlinker", "-rpath=" + runtime.lib, "-Xlinker",
                         "-rpath=" + cudaLib.str().str()});
  return runTool(args, "nvcc -> library (fatbin)", "nvcc", options);
}
