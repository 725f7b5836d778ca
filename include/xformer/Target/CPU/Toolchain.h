//===- Toolchain.h - The CPU target's C++ compiler driver --------*- C++
//-*-===//

#ifndef XFORMER_TARGET_CPU_TOOLCHAIN_H
#define XFORMER_TARGET_CPU_TOOLCHAIN_H

#include "xformer/Target/Toolchain.h"

namespace mlir::xformer {

struct CpuToolchainOptions : ToolchainOptions {
  /// The C++ compiler; empty: $XFORMER_CXX, else the one xformer was built
  /// with.
  std::string cxx;
};

/// Compiles the emitted C++ `source` into the shared library `output`,
/// linked against the runtime. The library is built beside `output` and
/// renamed over it, so a failed build leaves an existing one and a process
/// that has it open keeps its file.
LogicalResult compileCpuLibrary(StringRef source, StringRef output,
                                const RuntimeLayout &runtime,
                                const CpuToolchainOptions &options);

} // namespace mlir::xformer

#endif // XFORMER_TARGET_CPU_TOOLCHAIN_H
