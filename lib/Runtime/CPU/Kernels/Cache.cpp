//===- Cache.cpp - KV cache kernels ---------------------------------------===//
//
// Appending K/V at each sequence's position and reading a cache in
// place, self, ring (sliding window) and cross caches.
//
//===----------------------------------------------------------------------===//

#include "Common.h"

#include <algorithm>
#include <cstring>
#include <string>

using namespace xformer::runtime;
using namespace xformer::runtime::cpu;
using namespace xformer::runtime::cpu::kernels;

extern "C" {

int32_t xfk_cache_append(xfk_frame *f, const xfm_cache_desc *c,
                         int32_t ci, int64_t maxBatch, const float *k,
                         const float *v, int64_t batch, int64_t n,
                         const void *start, int32_t startDtype,
                         const void *lengths, int32_t lengthsDtype) {
  if (batch > maxBatch)
    return xfk_fail(f, XF_ERROR_CAPACITY, "cache_append: batch above the plan");
  const int64_t hd = c->head_dim, cap = c->capacity, kvh = c->kv_heads;
  float *kc = reinterpret_cast<float *>(f->arena + c->offset);
  float *vc = kc + maxBatch * kvh * cap * hd;
  for (int64_t b = 0; b < batch; ++b) {
    if (f->active && !f->active[b])
      continue; // a sequence outside this call: its cache stays as it is
    const int64_t s = readIndex(start, startDtype, b);
    int64_t len = lengths ? readIndex(lengths, lengthsDtype, b) : n;
    if (int32_t rc = xfk_check_cache_append(f, c, b, s, len, n))
      return rc;
    if (len == 0)
      continue;
    for (int64_t h = 0; h < kvh; ++h)
      for (int64_t i = 0; i < len; ++i) {
        const int64_t slot = c->kind == XFM_CACHE_RING ? (s + i) % cap : s + i;
        const int64_t src = ((b * kvh + h) * n + i) * hd;
        const int64_t dst = ((b * kvh + h) * cap + slot) * hd;
        std::memcpy(kc + dst, k + src, hd * sizeof(float));
        std::memcpy(vc + dst, v + src, hd * sizeof(float));
      }
    f->cache_fill[ci * maxBatch + b] = s + len;
  }
  return 0;
}

int32_t xfk_cache_read(xfk_frame *f, const xfm_cache_desc *c, int32_t ci,
                       int64_t maxBatch, int64_t batch, float *kOut,
                       float *vOut, const float **k, const float **v) {
  const int64_t hd = c->head_dim, cap = c->capacity, kvh = c->kv_heads;
  const float *kc = reinterpret_cast<const float *>(f->arena + c->offset);
  const float *vc = kc + maxBatch * kvh * cap * hd;
  if (c->kind != XFM_CACHE_RING) {
    *k = kc;
    *v = vc;
    return 0;
  }
  // A ring: the last min(filled, capacity) positions, oldest first.
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t filled = f->cache_fill[ci * maxBatch + b];
    const int64_t count = std::min(filled, cap);
    for (int64_t h = 0; h < kvh; ++h)
      for (int64_t i = 0; i < count; ++i) {
        const int64_t slot = (filled - count + i) % cap;
        const int64_t src = ((b * kvh + h) * cap + slot) * hd;
        const int64_t dst = ((b * kvh + h) * cap + i) * hd;
        std::memcpy(kOut + dst, kc + src, hd * sizeof(float));
        std::memcpy(vOut + dst, vc + src, hd * sizeof(float));
      }
  }
  *k = kOut;
  *v = vOut;
  return 0;
}

} // extern "C"
