//===- Common.cuh - Errors, launches and device memory for CUDA kernels ---===//
//
// Shared by the CUDA kernel headers: launch checks that turn a CUDA error
// into a runtime error naming the kernel, the device-side error record
// (a token id outside the vocabulary is found by a kernel and reported
// once the function ends: xfk_finish), a per-model workspace, and the
// xfm_device_ops the runtime uses to place memory on the GPU.
//
// Header-only: each compiled model's CUDA translation unit instantiates what
// it uses, for the architectures it is compiled for.
//
//===----------------------------------------------------------------------===//

#ifndef XFORMER_RUNTIME_CUDA_COMMON_CUH
#define XFORMER_RUNTIME_CUDA_COMMON_CUH

#include "xformer/Runtime/CUDA/LaunchPlan.h"
#include "xformer/Runtime/KernelTypes.h"
#include "xformer/Runtime/xformer.h"

#include <cuda_runtime.h>

#include <cstdint>
#include <cstdio>
#include <string>

namespace xformer::cuda {

/// The first error a kernel found, read back by xfk_finish.
struct DeviceError {
  int32_t status;   // 0: none
  int32_t kind;     // what the fields mean (kErrorTokenId)
  long long value;  // the offending value
  long long index;  // where it was
  long long limit;  // the bound it broke
  unsigned long long what; // host address of a static string naming it
};
constexpr int32_t kErrorTokenId = 1;

__device__ DeviceError gDeviceError;

__device__ inline void recordError(int32_t status, int32_t kind,
                                   long long value, long long index,
                                   long long limit, unsigned long long what) {
  if (atomicCAS(&gDeviceError.status, 0, -1) == 0) {
    gDeviceError.kind = kind;
    gDeviceError.value = value;
    gDeviceError.index = index;
    gDeviceError.limit = limit;
    gDeviceError.what = what;
    __threadfence();
    atomicExch(&gDeviceError.status, status);
  }
}

inline int32_t cudaFail(xfk_frame *f, cudaError_t e, const char *where) {
  std::string msg = std::string("CUDA error in ") + where + ": " +
                    cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")";
  return xfk_fail(f, XF_ERROR_DEVICE, msg.c_str());
}

/// After a launch: a configuration or image error names the kernel.
inline int32_t launched(xfk_frame *f, const char *kernel) {
  cudaError_t e = cudaGetLastError();
  return e == cudaSuccess ? 0 : cudaFail(f, e, kernel);
}

inline unsigned blocksFor(int64_t n, int threads) {
  int64_t b = (n + threads - 1) / threads;
  return static_cast<unsigned>(b < 1 ? 1 : (b > 65535 * 8 ? 65535 * 8 : b));
}

/// Grid-stride loop over [0, n).
#define XFK_FOR(i, n)                                                          \
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < (n);    \
       i += int64_t(blockDim.x) * gridDim.x)

/// Scratch the kernels need beyond the planned buffers (split-key partial
/// results, cuBLASLt's workspace): grown on demand, kept for the model's
/// life.
struct Workspace {
  void *ptr = nullptr;
  size_t bytes = 0;
};
inline Workspace &workspace(int which) {
  static Workspace w[2];
  return w[which];
}
inline cudaError_t ensureWorkspace(int which, size_t bytes, void **out) {
  Workspace &w = workspace(which);
  if (w.bytes < bytes) {
    if (w.ptr)
      cudaFree(w.ptr);
    w.ptr = nullptr;
    w.bytes = 0;
    if (cudaError_t e = cudaMalloc(&w.ptr, bytes))
      return e;
    w.bytes = bytes;
  }
  *out = w.ptr;
  return cudaSuccess;
}

inline int smCount() {
  static int count = [] {
    int dev = 0, n = 0;
    cudaGetDevice(&dev);
    cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, dev);
    return n > 0 ? n : 1;
  }();
  return count;
}

/// The device address of a __device__ constant of the generated code.
template <typename T> inline void *xfk_symbol(const T &symbol) {
  void *p = nullptr;
  cudaGetSymbolAddress(&p, symbol);
  return p;
}

__device__ inline int64_t readIndex(const void *p, int32_t dtype, int64_t i) {
  return dtype == XFM_I32 ? static_cast<const int32_t *>(p)[i]
                          : static_cast<const int64_t *>(p)[i];
}

// --- xfm_device_ops -------------------------------------------------------

inline int32_t deviceMessage(cudaError_t e, char *error, int64_t n) {
  if (e == cudaSuccess)
    return 0;
  std::snprintf(error, static_cast<size_t>(n), "%s (%s)", cudaGetErrorName(e),
                cudaGetErrorString(e));
  return 1;
}

__global__ void probeKernel() {}

inline int32_t opInit(char *error, int64_t n) {
  int count = 0;
  cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess || count == 0) {
    std::snprintf(error, static_cast<size_t>(n),
                  "no CUDA device is available (%s)",
                  e == cudaSuccess ? "none found" : cudaGetErrorString(e));
    return 1;
  }
  // A device the fatbin has no code for fails here, not at the first launch.
  cudaFuncAttributes attrs;
  e = cudaFuncGetAttributes(&attrs, probeKernel);
  if (e != cudaSuccess) {
    int dev = 0, major = 0, minor = 0;
    cudaGetDevice(&dev);
    cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev);
    cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, dev);
    std::snprintf(error, static_cast<size_t>(n),
                  "the library has no code for this GPU (sm_%d%d): recompile "
                  "with --arch including it (%s)",
                  major, minor, cudaGetErrorString(e));
    return 1;
  }
  return 0;
}
inline int32_t opAlloc(void **p, int64_t bytes, char *error, int64_t n) {
  return deviceMessage(cudaMalloc(p, static_cast<size_t>(bytes)), error, n);
}
inline void opFree(void *p) { cudaFree(p); }
inline int32_t opToDevice(void *dst, const void *src, int64_t bytes,
                          char *error, int64_t n) {
  return deviceMessage(
      cudaMemcpy(dst, src, static_cast<size_t>(bytes), cudaMemcpyHostToDevice),
      error, n);
}
inline int32_t opToHost(void *dst, const void *src, int64_t bytes,
                        char *error, int64_t n) {
  return deviceMessage(
      cudaMemcpy(dst, src, static_cast<size_t>(bytes), cudaMemcpyDeviceToHost),
      error, n);
}
inline int32_t opZero(void *p, int64_t bytes, char *error, int64_t n) {
  return deviceMessage(cudaMemset(p, 0, static_cast<size_t>(bytes)), error,
                       n);
}

static const xfm_device_ops kDeviceOps = {"cuda",     opInit,     opAlloc,
                                          opFree,     opToDevice, opToHost,
                                          opZero};

/// Ends a generated function: waits for its kernels and reports the first
/// error one of them recorded.
inline int32_t xfk_finish(xfk_frame *f) {
  if (cudaError_t e = cudaDeviceSynchronize())
    return cudaFail(f, e, "a model function");
  DeviceError err;
  if (cudaError_t e = cudaMemcpyFromSymbol(&err, gDeviceError, sizeof err))
    return cudaFail(f, e, "reading the kernels' error record");
  if (err.status == 0)
    return 0;
  DeviceError none = {};
  cudaMemcpyToSymbol(gDeviceError, &none, sizeof none);
  std::string msg;
  if (err.kind == kErrorTokenId)
    msg = std::string(reinterpret_cast<const char *>(err.what)) + ": id " +
          std::to_string(err.value) + " at index " + std::to_string(err.index) +
          " is outside [0, " + std::to_string(err.limit) + ")";
  else
    msg = "a kernel reported error kind " + std::to_string(err.kind);
  return xfk_fail(f, err.status, msg.c_str());
}

/// Device-to-device copy (results into the runtime's output buffers).
inline int32_t xfk_copy(xfk_frame *f, void *dst, const void *src,
                        int64_t bytes) {
  if (dst == src || bytes == 0)
    return 0;
  if (cudaError_t e = cudaMemcpyAsync(dst, src, static_cast<size_t>(bytes),
                                      cudaMemcpyDeviceToDevice))
    return cudaFail(f, e, "copy");
  return 0;
}

} // namespace xformer::cuda

#endif // XFORMER_RUNTIME_CUDA_COMMON_CUH
