//===- Cache.cuh - KV cache kernels ---------------------------------------===//
//
// Appending K/V at each sequence's position, reading self, ring and
// cross caches.
//
//===----------------------------------------------------------------------===//

#ifndef XFORMER_RUNTIME_CUDA_KERNELS_CACHE_CUH
#define XFORMER_RUNTIME_CUDA_KERNELS_CACHE_CUH

#include "xformer/Runtime/CUDA/Kernels/Support.cuh"

namespace xformer::cuda {

__global__ void cacheAppendKernel(float *kc, float *vc, const float *k,
                                  const float *v, int64_t kvh, int64_t hd,
                                  int64_t cap, int64_t n, int64_t b,
                                  int64_t start, int64_t len, int32_t ring) {
  XFK_FOR(i, kvh * len * hd) {
    const int64_t d = i % hd, t = (i / hd) % len, h = i / (hd * len);
    const int64_t slot = ring ? (start + t) % cap : start + t;
    const int64_t src = ((b * kvh + h) * n + t) * hd + d;
    const int64_t dst = ((b * kvh + h) * cap + slot) * hd + d;
    kc[dst] = k[src];
    vc[dst] = v[src];
  }
}

/// The start positions and lengths are read back to the host: the runtime
/// tracks each sequence's fill (xfk_frame::cache_fill) and capacity errors
/// are reported before anything is written.
inline int32_t xfk_cache_append(xfk_frame *f, const xfm_cache_desc *c,
                                int32_t ci, int64_t maxBatch, const float *k,
                                const float *v, int64_t batch, int64_t n,
                                const void *start, int32_t startDtype,
                                const void *lengths, int32_t lengthsDtype) {
  if (batch > maxBatch)
    return xfk_fail(f, XF_ERROR_CAPACITY,
                    "cache_append: batch above the plan");
  long long starts[256], lens[256];
  if (batch > 256)
    return xfk_fail(f, XF_ERROR_CAPACITY,
                    "cache_append: the CUDA kernels take at most 256 "
                    "sequences");
  auto fetch = [&](const void *p, int32_t dtype, long long *out) {
    if (dtype == XFM_I32) {
      int32_t tmp[256];
      cudaError_t e = cudaMemcpy(tmp, p, batch * 4, cudaMemcpyDeviceToHost);
      for (int64_t b = 0; b < batch; ++b)
        out[b] = tmp[b];
      return e;
    }
    return cudaMemcpy(out, p, batch * 8, cudaMemcpyDeviceToHost);
  };
  if (cudaError_t e = fetch(start, startDtype, starts))
    return cudaFail(f, e, "cache_append (start positions)");
  if (lengths) {
    if (cudaError_t e = fetch(lengths, lengthsDtype, lens))
      return cudaFail(f, e, "cache_append (lengths)");
  } else {
    for (int64_t b = 0; b < batch; ++b)
      lens[b] = n;
  }
  const int64_t hd = c->head_dim, cap = c->capacity, kvh = c->kv_heads;
  float *kc = reinterpret_cast<float *>(f->arena + c->offset);
  float *vc = kc + maxBatch * kvh * cap * hd;
  for (int64_t b = 0; b < batch; ++b) {
    if (f->active && !f->active[b])
      continue; // a sequence outside this call: its cache stays as it is
    const int64_t s = starts[b], len = lens[b];
    if (int32_t rc = xfk_check_cache_append(f, c, b, s, len, n))
      return rc;
    if (len == 0)
      continue;
    cacheAppendKernel<<<blocksFor(kvh * len * hd, kThreads), kThreads>>>(
        kc, vc, k, v, kvh, hd, cap, n, b, s, len,
        c->kind == XFM_CACHE_RING);
    if (int32_t rc = launched(f, "cache_append"))
      return rc;
    f->cache_fill[ci * maxBatch + b] = s + len;
  }
  return 0;
}

__global__ void ringUnrollKernel(const float *kc, const float *vc, float *ko,
                                 float *vo, int64_t kvh, int64_t hd,
                                 int64_t cap, int64_t b, int64_t filled,
                                 int64_t count) {
  XFK_FOR(i, kvh * count * hd) {
    const int64_t d = i % hd, t = (i / hd) % count, h = i / (hd * count);
    const int64_t slot = (filled - count + t) % cap;
    const int64_t src = ((b * kvh + h) * cap + slot) * hd + d;
    const int64_t dst = ((b * kvh + h) * cap + t) * hd + d;
    ko[dst] = kc[src];
    vo[dst] = vc[src];
  }
}

inline int32_t xfk_cache_read(xfk_frame *f, const xfm_cache_desc *c,
                              int32_t ci, int64_t maxBatch, int64_t batch,
                              float *kOut, float *vOut, const float **k,
                              const float **v) {
  const int64_t hd = c->head_dim, cap = c->capacity, kvh = c->kv_heads;
  const float *kc = reinterpret_cast<const float *>(f->arena + c->offset);
  const float *vc = kc + maxBatch * kvh * cap * hd;
  if (c->kind != XFM_CACHE_RING) {
    *k = kc;
    *v = vc;
    return 0;
  }
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t filled = f->cache_fill[ci * maxBatch + b];
    const int64_t count = filled < cap ? filled : cap;
    if (count == 0)
      continue;
    ringUnrollKernel<<<blocksFor(kvh * count * hd, kThreads), kThreads>>>(
        kc, vc, kOut, vOut, kvh, hd, cap, b, filled, count);
    if (int32_t rc = launched(f, "cache_read (ring)"))
      return rc;
  }
  *k = kOut;
  *v = vOut;
  return 0;
}

} // namespace xformer::cuda

#endif // XFORMER_RUNTIME_CUDA_KERNELS_CACHE_CUH
