//===- Embedding.cuh - Embeddings and positions ---------------------------===//
//
// Table lookups with every id checked on the device, and position ids.
//
//===----------------------------------------------------------------------===//

#ifndef XFORMER_RUNTIME_CUDA_KERNELS_EMBEDDING_CUH
#define XFORMER_RUNTIME_CUDA_KERNELS_EMBEDDING_CUH

#include "xformer/Runtime/CUDA/Kernels/Support.cuh"

namespace xformer::cuda {

__global__ void embeddingKernel(const float *table, int64_t vocab,
                                int64_t dim, const void *ids, int32_t dtype,
                                int64_t n, float *out,
                                unsigned long long what) {
  for (int64_t r = blockIdx.x; r < n; r += gridDim.x) {
    int64_t id = readIndex(ids, dtype, r);
    bool ok = id >= 0 && id < vocab;
    if (!ok && threadIdx.x == 0)
      recordError(XF_ERROR_OUT_OF_RANGE, kErrorTokenId, id, r, vocab, what);
    for (int64_t d = threadIdx.x; d < dim; d += blockDim.x)
      out[r * dim + d] = ok ? table[id * dim + d] : 0.0f;
  }
}

inline int32_t xfk_embedding(xfk_frame *f, const float *table, int64_t vocab,
                             int64_t dim, const void *ids, int32_t idsDtype,
                             int64_t n, float *out, const char *what) {
  if (n == 0)
    return 0;
  embeddingKernel<<<blocksFor(n, 1), 128>>>(
      table, vocab, dim, ids, idsDtype, n, out,
      reinterpret_cast<unsigned long long>(what));
  return launched(f, "embedding");
}

__global__ void positionsKernel(int32_t dtype, int64_t n, void *y) {
  XFK_FOR(i, n) {
    if (dtype == XFM_I32)
      static_cast<int32_t *>(y)[i] = int32_t(i);
    else
      static_cast<int64_t *>(y)[i] = i;
  }
}

inline int32_t xfk_positions(xfk_frame *f, int32_t dtype, int64_t n,
                             void *y) {
  if (n == 0)
    return 0;
  positionsKernel<<<blocksFor(n, kThreads), kThreads>>>(dtype, n, y);
  return launched(f, "positions");
}

} // namespace xformer::cuda

#endif // XFORMER_RUNTIME_CUDA_KERNELS_EMBEDDING_CUH
