//===- Toolchain.cpp - Running the compilers a target builds with ---------===//

#include "xformer/Target/Toolchain.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"

#include <chrono>

using namespace mlir;
using namespace mlir::xformer;

RuntimeLayout mlir::xformer::findRuntime(StringRef mainExecutable) {
  SmallString<256> prefix(llvm::sys::path::parent_path(
      llvm::sys::path::parent_path(mainExecutable)));
  SmallString<256> header(prefix);
  llvm::sys::path::append(header, "include", "xformer", "Runtime");
  llvm::sys::path::append(header, "CPU", "Kernels.h");
  SmallString<256> libDir(prefix);
  llvm::sys::path::append(libDir, "lib");
  SmallString<256> so(libDir);
  llvm::sys::path::append(so, "libxformer_runtime.so");
  if (llvm::sys::fs::exists(header) && llvm::sys::fs::exists(so)) {
    // Installed: the dialect's header-only semantics sit beside the
    // runtime's headers.
    std::string include = (prefix + "/include").str();
    return {include, include, libDir.str().str()};
  }
  return {XFORMER_BUILD_INCLUDE_DIR, XFORMER_BUILD_DIALECTS_DIR,
          XFORMER_BUILD_LIB_DIR};
}

LogicalResult mlir::xformer::writeTemporary(StringRef source, StringRef ext,
                                            SmallString<128> &path,
                                            const ToolchainOptions &options) {
  if (std::error_code ec =
          llvm::sys::fs::createTemporaryFile("xformer-model", ext, path)) {
    llvm::errs() << options.tool
                 << ": cannot create a temporary file: " << ec.message()
                 << "\n";
    return failure();
  }
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  if (ec) {
    llvm::errs() << options.tool << ": " << path << ": " << ec.message()
                 << "\n";
    return failure();
  }
  os << source;
  return success();
}

LogicalResult mlir::xformer::runTool(ArrayRef<std::string> args,
                                     StringRef stage, StringRef what,
                                     const ToolchainOptions &options) {
  SmallString<128> logPath;
  (void)llvm::sys::fs::createTemporaryFile("xformer-tool", "log", logPath);
  llvm::FileRemover removeLog(logPath);
  const std::string prefix = "[" + options.tool + "]";
  auto start = std::chrono::steady_clock::now();
  if (options.verbose) {
    llvm::errs() << prefix << " " << stage << "...\n" << prefix << "  ";
    for (const std::string &a : args)
      llvm::errs() << " " << a;
    llvm::errs() << "\n";
  }
  std::vector<StringRef> argRefs(args.begin(), args.end());
  std::optional<StringRef> redirects[] = {std::nullopt, logPath.str(),
                                          logPath.str()};
  std::string error;
  int rc = llvm::sys::ExecuteAndWait(args.front(), argRefs, std::nullopt,
                                     redirects, 0, 0, &error);
  if (options.verbose)
    llvm::errs() << llvm::format("%s %-28s %8.1f ms\n", prefix.c_str(),
                                 stage.str().c_str(),
                                 std::chrono::duration<double, std::milli>(
                                     std::chrono::steady_clock::now() - start)
                                     .count());
  if (rc != 0) {
    llvm::errs() << options.tool << ": " << what << " failed (" << rc
                 << (error.empty() ? "" : ": " + error) << ")\n";
    if (auto log = llvm::MemoryBuffer::getFile(logPath))
      llvm::errs() << (*log)->getBuffer();
    return failure();
  }
  return success();
}
