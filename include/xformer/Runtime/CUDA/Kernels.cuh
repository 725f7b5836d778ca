//===- Kernels.cuh - CUDA kernels called by generated model code ---------===//
//
// The CUDA target's kernel library: the same entry points, arguments and
// status codes as the CPU kernels (xformer/Runtime/CPU/Kernels.h), on
// device pointers, so the compiler emits one orchestration for both
// targets. Memory-bound ops are grid-stride kernels here; GEMMs go to
// cuBLASLt (Gemm.cuh) and attention to the fused kernels (Attention.cuh),
// whose mask kind and head sizes are template arguments the generated code
// fixes.
//
// Header-only: a compiled model's .cu includes it, and nvcc builds exactly
// the kernels that model uses for the architectures it targets. One header
// per op family in Kernels/ (as the CPU library's lib/Runtime/CPU/Kernels/),
// checked here against the contract both libraries follow.
//
//===----------------------------------------------------------------------===//

#ifndef XFORMER_RUNTIME_CUDA_KERNELS_CUH
#define XFORMER_RUNTIME_CUDA_KERNELS_CUH

#include "xformer/Runtime/CUDA/Attention.cuh"
#include "xformer/Runtime/CUDA/Kernels/Cache.cuh"
#include "xformer/Runtime/CUDA/Kernels/Elementwise.cuh"
#include "xformer/Runtime/CUDA/Kernels/Embedding.cuh"
#include "xformer/Runtime/CUDA/Kernels/Layout.cuh"
#include "xformer/Runtime/CUDA/Kernels/Linear.cuh"
#include "xformer/Runtime/CUDA/Kernels/Norm.cuh"
#include "xformer/Runtime/CUDA/Kernels/Rope.cuh"
#include "xformer/Runtime/CUDA/Kernels/Softmax.cuh"

#include <type_traits>

namespace xformer::cuda {

// Every kernel against the contract both kernel libraries follow: a
// definition whose parameters drift from KernelContract.def fails to
// compile here (the CPU library declares its kernels from the same list).
// Unevaluated: nothing is instantiated or emitted.
#define XFK_KERNEL(name, params)                                               \
  static_assert(std::is_same<decltype(&name), int32_t(*) params>::value,       \
                #name " differs from xformer/Runtime/KernelContract.def");
// Attention's parameters, on one instance of its template.
#define XFK_SPECIALISED_KERNEL(name, params)                                   \
  static_assert(std::is_same<decltype(&name<XFK_MASK_CAUSAL, 64, 64>),         \
                             int32_t(*) params>::value,                        \
                #name " differs from xformer/Runtime/KernelContract.def");
#include "xformer/Runtime/KernelContract.def"

} // namespace xformer::cuda

#endif // XFORMER_RUNTIME_CUDA_KERNELS_CUH

