//===- Toolchain.h - Running the compilers a target builds with --*- C++
//-*-===//
//
// What the CPU and CUDA toolchain drivers share: where the runtime's
// headers and library are, temporary sources, and running a compiler with
// its output kept for the diagnostic when it fails.
//
//===----------------------------------------------------------------------===//

#ifndef XFORMER_TARGET_TOOLCHAIN_H
#define XFORMER_TARGET_TOOLCHAIN_H

#include "mlir/Support/LLVM.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/Support/raw_ostream.h"

#include <string>
#include <vector>

namespace mlir::xformer {

/// The headers and library a compiled model builds against.
struct RuntimeLayout {
  std::string include;         // xformer/Runtime/...
  std::string dialectsInclude; // xformer/Semantics/... (the CUDA kernels')
  std::string lib;             // libxformer_runtime.so
};

/// The install tree next to `mainExecutable` (prefix/bin/tool), else the
/// build tree the toolchain library was built in.
RuntimeLayout findRuntime(StringRef mainExecutable);

/// How a driver reports: `tool` prefixes diagnostics, `verbose` prints each
/// command line and its time.
struct ToolchainOptions {
  std::string tool = "xformer-compile";
  bool verbose = false;
};

/// Writes `source` to a new temporary file with extension `ext`.
LogicalResult writeTemporary(StringRef source, StringRef ext,
                             SmallString<128> &path,
                             const ToolchainOptions &options);

/// Runs `args` (args[0] the program) with stdout and stderr in a log that
/// is printed, after "`what` failed", if it exits non-zero. `stage` names
/// the step in verbose output.
LogicalResult runTool(ArrayRef<std::string> args, StringRef stage,
                      StringRef what, const ToolchainOptions &options);

} // namespace mlir::xformer

#endif // XFORMER_TARGET_TOOLCHAIN_H
