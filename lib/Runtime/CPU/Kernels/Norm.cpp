//===- Norm.cpp - Normalization kernels -----------------------------------===//
//
// Layer norm and RMS norm over the last dimension, in f32.
//
//===----------------------------------------------------------------------===//

#include "Common.h"

#include <cmath>

using namespace xformer::runtime;
using namespace xformer::runtime::cpu;
using namespace xformer::runtime::cpu::kernels;

extern "C" {

int32_t xfk_layer_norm(xfk_frame *, const float *x, const float *gamma,
                       const float *beta, float *y, int64_t rows, int64_t dim,
                       float eps) {
  for (int64_t r = 0; r < rows; ++r) {
    const float *xr = x + r * dim;
    float *yr = y + r * dim;
    float mean = 0.0f;
    for (int64_t d = 0; d < dim; ++d)
      mean += xr[d];
    mean /= float(dim);
    float var = 0.0f;
    for (int64_t d = 0; d < dim; ++d) {
      float c = xr[d] - mean;
      var += c * c;
    }
    var /= float(dim);
    const float inv = 1.0f / std::sqrt(var + eps);
    for (int64_t d = 0; d < dim; ++d) {
      float v = (xr[d] - mean) * inv;
      if (gamma)
        v *= gamma[d];
      if (beta)
        v += beta[d];
      yr[d] = v;
    }
  }
  return 0;
}

int32_t xfk_rms_norm(xfk_frame *, const float *x, const float *gamma,
                     float *y, int64_t rows, int64_t dim, float eps) {
  for (int64_t r = 0; r < rows; ++r) {
    const float *xr = x + r * dim;
    float *yr = y + r * dim;
    float ss = 0.0f;
    for (int64_t d = 0; d < dim; ++d)
      ss += xr[d] * xr[d];
    const float inv = 1.0f / std::sqrt(ss / float(dim) + eps);
    for (int64_t d = 0; d < dim; ++d)
      yr[d] = gamma[d] * (xr[d] * inv);
  }
  return 0;
}

} // extern "C"
