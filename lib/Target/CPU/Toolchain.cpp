//===- Toolchain.cpp - The CPU target's C++ compiler driver ---------------===//

#include "xformer/Target/CPU/Toolchain.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Program.h"

#include <unistd.h>

using namespace mlir;
using namespace mlir::xformer;

LogicalResult
mlir::xformer::compileCpuLibrary(StringRef source, StringRef output,
                                 const RuntimeLayout &runtime,
                                 const CpuToolchainOptions &options) {
  const std::string &tool = options.tool;
  std::string compiler = options.cxx;
  if (compiler.empty())
    if (const char *env = std::getenv("XFORMER_CXX"))
      compiler = env;
  if (compiler.empty())
    compiler = XFORMER_DEFAULT_CXX;
  auto program = llvm::sys::findProgramByName(compiler);
  if (!program) {
    llvm::errs() << tool << ": C++ compiler '" << compiler
                 << "' not found (set --cxx or XFORMER_CXX)\n";
    return failure();
  }
  SmallString<128> srcPath;
  if (failed(writeTemporary(source, "cpp", srcPath, options)))
    return failure();
  llvm::FileRemover removeSrc(srcPath);
  // Built beside the output and renamed over it: a library open in some
  // process keeps its file, and a failed build leaves the old one.
  SmallString<128> building;
  {
    int fd;
    if (std::error_code ec = llvm::sys::fs::createUniqueFile(
            output + ".building-%%%%%%", fd, building)) {
      llvm::errs() << tool << ": cannot write next to '" << output
                   << "': " << ec.message() << "\n";
      return failure();
    }
    ::close(fd);
  }
  llvm::FileRemover removeBuilding(building);
  // The model's code is straight-line calls into libxformer_runtime (no
  // kernel bodies, no inline code): optimizing it buys nothing at run time
  // (SmolLM2 decode: 348.6 tokens/s at -O0, 344.3 at -O2) and costs half
  // the compile (0.29 s against 0.65 s); each function's frame stays small
  // (17 KB for 30 layers).
  std::vector<std::string> args = {*program,
                                   "-O0",
                                   "-fPIC",
                                   "-shared",
                                   "-std=c++17",
                                   "-fvisibility=hidden",
                                   "-I" + runtime.include,
                                   srcPath.str().str(),
                                   "-o",
                                   building.str().str(),
                                   "-L" + runtime.lib,
                                   "-lxformer_runtime",
                                   "-Wl,-rpath," + runtime.lib};
  if (failed(runTool(args, "compile C++ -> shared library", "the C++ compiler",
                     options)))
    return failure();
  // A compiler that exits 0 must have made a shared library.
  auto built = llvm::MemoryBuffer::getFile(building);
  if (!built || (*built)->getBufferSize() < 4 ||
      !(*built)->getBuffer().starts_with("\x7f"
                                         "ELF")) {
    llvm::errs() << tool << ": the C++ compiler '" << *program
                 << "' exited 0 but wrote no shared library\n";
    return failure();
  }
  if (std::error_code ec = llvm::sys::fs::rename(building, output)) {
    llvm::errs() << tool << ": cannot write '" << output
                 << "': " << ec.message() << "\n";
    return failure();
  }
  return success();
}
