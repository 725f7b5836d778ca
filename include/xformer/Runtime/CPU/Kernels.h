/*===- Kernels.h - CPU kernels called by generated model code ------------===*
 *
 * Each xformer op the CPU target lowers becomes one call to a kernel of
 * xformer/Runtime/KernelContract.def (declared here from that list, with
 * what each computes), the static shapes of the op baked into the call by
 * the code generator. Every kernel returns 0, or a non-zero xf_status after
 * recording a message with the frame's runtime (token id outside the
 * vocabulary, a write past a KV cache's capacity, ...). Tensors are
 * contiguous row-major.
 *
 *===----------------------------------------------------------------------===*/

#ifndef XFORMER_RUNTIME_CPU_KERNELS_H
#define XFORMER_RUNTIME_CPU_KERNELS_H

#include "xformer/Runtime/KernelTypes.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The declarations, from the contract both kernel libraries follow. */
#define XFK_KERNEL(name, params) int32_t name params;
#define XFK_CPU_KERNEL(name, params) int32_t name params;
#include "xformer/Runtime/KernelContract.def"

#ifdef __cplusplus
}
#endif

#endif /* XFORMER_RUNTIME_CPU_KERNELS_H */
