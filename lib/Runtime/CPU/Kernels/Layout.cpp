//===- Layout.cpp - Layout kernels ----------------------------------------===//
//
// Broadcasts, transposes, slices, concatenation and the gather of one
// position per sequence: copies, run by run along the last dimension.
//
//===----------------------------------------------------------------------===//

#include "Common.h"

#include <cstring>

using namespace xformer::runtime;
using namespace xformer::runtime::cpu;
using namespace xformer::runtime::cpu::kernels;

extern "C" {

int32_t xfk_broadcast(xfk_frame *, int32_t eb, const void *x,
                      const int64_t *xs, void *y, const int64_t *ys,
                      int32_t rank) {
  std::vector<int64_t> strides[1] = {broadcastStrides(xs, rank)};
  const char *px = static_cast<const char *>(x);
  char *py = static_cast<char *>(y);
  forEachRun(ys, rank, strides,
             [&](int64_t o, const int64_t *offs, int64_t n, const int64_t *s) {
               if (s[0] == 1) {
                 std::memcpy(py + o * eb, px + offs[0] * eb, n * eb);
                 return;
               }
               for (int64_t i = 0; i < n; ++i)
                 std::memcpy(py + (o + i) * eb, px + (offs[0] + i * s[0]) * eb,
                             eb);
             });
  return 0;
}

int32_t xfk_transpose(xfk_frame *, int32_t eb, const void *x,
                      const int64_t *xs, const int64_t *perm, void *y,
                      int32_t rank) {
  // y[i0, ..., ir] = x[...] with y's dimension d being x's perm[d].
  std::vector<int64_t> xStrides(rank), yShape(rank);
  int64_t s = 1;
  for (int32_t d = rank - 1; d >= 0; --d) {
    xStrides[d] = s;
    s *= xs[d];
  }
  std::vector<int64_t> strides[1] = {std::vector<int64_t>(rank)};
  for (int32_t d = 0; d < rank; ++d) {
    yShape[d] = xs[perm[d]];
    strides[0][d] = xStrides[perm[d]];
  }
  const char *px = static_cast<const char *>(x);
  char *py = static_cast<char *>(y);
  forEachRun(yShape.data(), rank, strides,
             [&](int64_t o, const int64_t *offs, int64_t n, const int64_t *st) {
               if (st[0] == 1) {
                 std::memcpy(py + o * eb, px + offs[0] * eb, n * eb);
                 return;
               }
               if (eb == 4) {
                 const uint32_t *src =
                     reinterpret_cast<const uint32_t *>(px) + offs[0];
                 uint32_t *dst = reinterpret_cast<uint32_t *>(py) + o;
                 for (int64_t i = 0; i < n; ++i)
                   dst[i] = src[i * st[0]];
                 return;
               }
               for (int64_t i = 0; i < n; ++i)
                 std::memcpy(py + (o + i) * eb, px + (offs[0] + i * st[0]) * eb,
                             eb);
             });
  return 0;
}

int32_t xfk_slice(xfk_frame *, int32_t eb, const void *x, const int64_t *xs,
                  const int64_t *offsets, void *y, const int64_t *ys,
                  int32_t rank) {
  std::vector<int64_t> xStrides(rank);
  int64_t s = 1, base = 0;
  for (int32_t d = rank - 1; d >= 0; --d) {
    xStrides[d] = s;
    base += offsets[d] * s;
    s *= xs[d];
  }
  std::vector<int64_t> strides[1] = {xStrides};
  const char *px = static_cast<const char *>(x) + base * eb;
  char *py = static_cast<char *>(y);
  forEachRun(ys, rank, strides,
             [&](int64_t o, const int64_t *offs, int64_t n, const int64_t *) {
               std::memcpy(py + o * eb, px + offs[0] * eb, n * eb);
             });
  return 0;
}

int32_t xfk_concat_part(xfk_frame *, int32_t eb, const void *x, int64_t outer,
                        int64_t inner, void *y, int64_t yInner, int64_t at) {
  const char *px = static_cast<const char *>(x);
  char *py = static_cast<char *>(y);
  for (int64_t o = 0; o < outer; ++o)
    std::memcpy(py + (o * yInner + at) * eb, px + o * inner * eb, inner * eb);
  return 0;
}

int32_t xfk_gather_positions(xfk_frame *, int32_t eb, const void *x,
                             int64_t batch, int64_t seq, int64_t inner,
                             const void *pos, int32_t posDtype, void *y) {
  const char *px = static_cast<const char *>(x);
  char *py = static_cast<char *>(y);
  for (int64_t b = 0; b < batch; ++b) {
    int64_t p = readIndex(pos, posDtype, b);
    if (p < 0 || p >= seq)
      std::memset(py + b * inner * eb, 0, inner * eb);
    else
      std::memcpy(py + b * inner * eb, px + (b * seq + p) * inner * eb,
                  inner * eb);
  }
  return 0;
}

} // extern "C"
