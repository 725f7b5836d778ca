//===- Softmax.cpp - Softmax ----------------------------------------------===//
//
// Softmax over the last dimension, max-subtracted, in f32.
//
//===----------------------------------------------------------------------===//

#include "Common.h"

#include <algorithm>
#include <cmath>

using namespace xformer::runtime;
using namespace xformer::runtime::cpu;
using namespace xformer::runtime::cpu::kernels;

extern "C" {

int32_t xfk_softmax(xfk_frame *, const float *x, float *y, int64_t outer,
                    int64_t axis, int64_t inner) {
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t in = 0; in < inner; ++in) {
      const float *xr = x + o * axis * inner + in;
      float *yr = y + o * axis * inner + in;
      float mx = -INFINITY;
      for (int64_t a = 0; a < axis; ++a)
        mx = std::max(mx, xr[a * inner]);
      if (mx == -INFINITY) {
        // Every entry hidden: PyTorch yields NaN; keep the row defined.
        for (int64_t a = 0; a < axis; ++a)
          yr[a * inner] = 0.0f;
        continue;
      }
      float sum = 0.0f;
      for (int64_t a = 0; a < axis; ++a) {
        float e = std::exp(xr[a * inner] - mx);
        yr[a * inner] = e;
        sum += e;
      }
      const float inv = 1.0f / sum;
      for (int64_t a = 0; a < axis; ++a)
        yr[a * inner] *= inv;
    }
  return 0;
}

} // extern "C"
