//===- Toolchain.h - The CUDA target's nvcc driver ---------------*- C++
//-*-===//

#ifndef XFORMER_TARGET_CUDA_TOOLCHAIN_H
#define XFORMER_TARGET_CUDA_TOOLCHAIN_H

#include "xformer/Target/Toolchain.h"

namespace mlir::xformer {

/// What nvcc writes: a shared library with a fatbin (SASS of every
/// architecture, PTX of the first plain one), or one architecture's PTX or
/// cubin.
enum class CudaOutput { library, ptx, cubin };

struct CudaToolchainOptions : ToolchainOptions {
  /// nvcc; empty: $XFORMER_NVCC, $CUDA_HOME/bin/nvcc,
  /// /usr/local/cuda/bin/nvcc, else nvcc on PATH.
  std::string nvcc;
  /// sm_XY[a|f] names, from parseCudaArches.
  std::vector<std::string> arches;
  CudaOutput output = CudaOutput::library;
};

/// Splits a comma-separated list of sm_XY[a|f] names, without duplicates;
/// rejects anything else and architectures older than sm_80 (the attention
/// kernels need bf16 tensor cores), with the reason in `error`.
LogicalResult parseCudaArches(StringRef list, std::vector<std::string> &out,
                              std::string &error);

/// Compiles the emitted CUDA C++ `source` into `output`.
LogicalResult compileCudaLibrary(StringRef source, StringRef output,
                                 const RuntimeLayout &runtime,
                                 const CudaToolchainOptions &options);

} // namespace mlir::xformer

#endif // XFORMER_TARGET_CUDA_TOOLCHAIN_H
