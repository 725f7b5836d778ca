//===- GGMLFormats.cpp - ggml's block formats, element by element ---------===//
//
// Written from ggml's block layouts (ggml-common.h) and its reference row
// functions (ggml-quants.c). Products are not contracted into FMAs (the
// file is compiled with -ffp-contract=off), so every element is the float
// ggml's reference computes.
//
//===----------------------------------------------------------------------===//

#include "xformer/Runtime/GGMLFormats.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>

#ifdef __clang__
#pragma clang fp contract(off)
#endif

using namespace xformer::runtime;

float xformer::runtime::halfToFloat(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000) << 16;
  const uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  uint32_t bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000 | (mant << 13);
  } else if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {
      // A subnormal half is mant * 2^-24, exact in a float.
      const float v = std::ldexp(float(mant), -24);
      std::memcpy(&bits, &v, sizeof(bits));
      bits |= sign;
    }
  } else {
    bits = sign | ((exp + 112) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, sizeof(f));
  return f;
}

uint16_t xformer::runtime::floatToHalf(float f) {
  uint32_t x;
  std::memcpy(&x, &f, sizeof(x));
  const uint16_t sign = uint16_t((x >> 16) & 0x8000);
  const uint32_t abs = x & 0x7fffffff;
  if (abs > 0x7f800000) // NaN: quiet, the payload's top bits kept
    return uint16_t(sign | 0x7e00 | ((abs >> 13) & 0x3ff));
  if (abs >= 0x477ff000) // rounds to 65536 or more: infinity
    return uint16_t(sign | 0x7c00);
  if (abs < 0x38800000) { // below the smallest normal half: 2^-24 steps
    const float a = std::fabs(f) * 16777216.0f; // exact
    return uint16_t(sign | uint16_t(std::nearbyint(a)));
  }
  const uint32_t rounded = abs + 0xfff + ((abs >> 13) & 1);
  return uint16_t(sign | ((rounded >> 13) - (112u << 10)));
}

namespace {

inline uint16_t load16(const uint8_t *p) {
  uint16_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
inline float loadHalf(const uint8_t *p) { return halfToFloat(load16(p)); }

void q4_0(const uint8_t *b, float *y) {
  const float d = loadHalf(b);
  const uint8_t *qs = b + 2;
  for (int j = 0; j < 16; ++j) {
    y[j] = float(int(qs[j] & 0x0f) - 8) * d;
    y[j + 16] = float(int(qs[j] >> 4) - 8) * d;
  }
}

void q4_1(const uint8_t *b, float *y) {
  const float d = loadHalf(b), m = loadHalf(b + 2);
  const uint8_t *qs = b + 4;
  for (int j = 0; j < 16; ++j) {
    y[j] = float(qs[j] & 0x0f) * d + m;
    y[j + 16] = float(qs[j] >> 4) * d + m;
  }
}

void q5_0(const uint8_t *b, float *y) {
  const float d = loadHalf(b);
  uint32_t qh;
  std::memcpy(&qh, b + 2, sizeof(qh));
  const uint8_t *qs = b + 6;
  for (int j = 0; j < 16; ++j) {
    const uint8_t h0 = uint8_t(((qh >> j) << 4) & 0x10);
    const uint8_t h1 = uint8_t((qh >> (j + 12)) & 0x10);
    y[j] = float(int((qs[j] & 0x0f) | h0) - 16) * d;
    y[j + 16] = float(int((qs[j] >> 4) | h1) - 16) * d;
  }
}

void q5_1(const uint8_t *b, float *y) {
  const float d = loadHalf(b), m = loadHalf(b + 2);
  uint32_t qh;
  std::memcpy(&qh, b + 4, sizeof(qh));
  const uint8_t *qs = b + 8;
  for (int j = 0; j < 16; ++j) {
    const uint8_t h0 = uint8_t(((qh >> j) << 4) & 0x10);
    const uint8_t h1 = uint8_t((qh >> (j + 12)) & 0x10);
    y[j] = float((qs[j] & 0x0f) | h0) * d + m;
    y[j + 16] = float((qs[j] >> 4) | h1) * d + m;
  }
}

void q8_0(const uint8_t *b, float *y) {
  const float d = loadHalf(b);
  for (int j = 0; j < 32; ++j)
    y[j] = float(int8_t(b[2 + j])) * d;
}

void q2_k(const uint8_t *b, float *y) {
  const uint8_t *scales = b, *q = b + 16;
  const float d = loadHalf(b + 80), dmin = loadHalf(b + 82);
  int is = 0;
  for (int n = 0; n < 256; n += 128) {
    int shift = 0;
    for (int j = 0; j < 4; ++j) {
      for (int half = 0; half < 2; ++half) {
        const uint8_t sc = scales[is++];
        const float dl = d * float(sc & 0x0f), ml = dmin * float(sc >> 4);
        for (int l = 0; l < 16; ++l)
          *y++ = dl * float((q[l + 16 * half] >> shift) & 3) - ml;
      }
      shift += 2;
    }
    q += 32;
  }
}

void q3_k(const uint8_t *b, float *y) {
  const uint8_t *hm = b, *q = b + 32;
  const float dAll = loadHalf(b + 108);
  constexpr uint32_t kmask1 = 0x03030303, kmask2 = 0x0f0f0f0f;
  uint32_t aux[4];
  std::memcpy(aux, b + 96, 12);
  const uint32_t tmp = aux[2];
  aux[2] = ((aux[0] >> 4) & kmask2) | (((tmp >> 4) & kmask1) << 4);
  aux[3] = ((aux[1] >> 4) & kmask2) | (((tmp >> 6) & kmask1) << 4);
  aux[0] = (aux[0] & kmask2) | (((tmp >> 0) & kmask1) << 4);
  aux[1] = (aux[1] & kmask2) | (((tmp >> 2) & kmask1) << 4);
  int8_t scales[16];
  std::memcpy(scales, aux, 16);
  int is = 0;
  uint8_t m = 1;
  for (int n = 0; n < 256; n += 128) {
    int shift = 0;
    for (int j = 0; j < 4; ++j) {
      for (int half = 0; half < 2; ++half) {
        const float dl = dAll * float(scales[is++] - 32);
        for (int l = 0; l < 16; ++l) {
          const int at = l + 16 * half;
          *y++ = dl * float(int8_t((q[at] >> shift) & 3) -
                            ((hm[at] & m) ? 0 : 4));
        }
      }
      shift += 2;
      m = uint8_t(m << 1);
    }
    q += 32;
  }
}

/// Q4_K and Q5_K: 8 sub-blocks of 32 with 6-bit scales and mins; Q5_K adds
/// each element's fifth bit from qh.
template <bool Q5> void q45_k(const uint8_t *b, float *y) {
  const float d = loadHalf(b), dmin = loadHalf(b + 2);
  const uint8_t *scales = b + 4, *qh = b + 16, *q = b + (Q5 ? 48 : 16);
  uint8_t u1 = 1, u2 = 2;
  for (int is = 0; is < 8; is += 2) {
    uint8_t sc, m;
    scaleMinK4(is, scales, sc, m);
    const float d1 = d * float(sc), m1 = dmin * float(m);
    scaleMinK4(is + 1, scales, sc, m);
    const float d2 = d * float(sc), m2 = dmin * float(m);
    for (int l = 0; l < 32; ++l)
      *y++ = d1 * float((q[l] & 0x0f) + (Q5 && (qh[l] & u1) ? 16 : 0)) - m1;
    for (int l = 0; l < 32; ++l)
      *y++ = d2 * float((q[l] >> 4) + (Q5 && (qh[l] & u2) ? 16 : 0)) - m2;
    q += 32;
    u1 = uint8_t(u1 << 2);
    u2 = uint8_t(u2 << 2);
  }
}

void q6_k(const uint8_t *b, float *y) {
  const uint8_t *ql = b, *qh = b + 128;
  const int8_t *sc = reinterpret_cast<const int8_t *>(b + 192);
  const float d = loadHalf(b + 208);
  for (int n = 0; n < 256; n += 128) {
    for (int l = 0; l < 32; ++l) {
      const int is = l / 16;
      const int8_t q1 = int8_t(((ql[l] & 0x0f) | (((qh[l] >> 0) & 3) << 4)) - 32);
      const int8_t q2 =
          int8_t(((ql[l + 32] & 0x0f) | (((qh[l] >> 2) & 3) << 4)) - 32);
      const int8_t q3 = int8_t(((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
      const int8_t q4 =
          int8_t(((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
      y[l] = d * float(sc[is + 0]) * float(q1);
      y[l + 32] = d * float(sc[is + 2]) * float(q2);
      y[l + 64] = d * float(sc[is + 4]) * float(q3);
      y[l + 96] = d * float(sc[is + 6]) * float(q4);
    }
    y += 128;
    ql += 64;
    qh += 32;
    sc += 8;
  }
}

void q8_k(const uint8_t *b, float *y) {
  float d;
  std::memcpy(&d, b, sizeof(d));
  for (int j = 0; j < 256; ++j)
    y[j] = d * float(int8_t(b[4 + j]));
}

using BlockFn = void (*)(const uint8_t *, float *);

BlockFn blockDecoder(GGMLType type) {
  switch (type) {
  case GGMLType::Q4_0:
    return q4_0;
  case GGMLType::Q4_1:
    return q4_1;
  case GGMLType::Q5_0:
    return q5_0;
  case GGMLType::Q5_1:
    return q5_1;
  case GGMLType::Q8_0:
    return q8_0;
  case GGMLType::Q2_K:
    return q2_k;
  case GGMLType::Q3_K:
    return q3_k;
  case GGMLType::Q4_K:
    return q45_k<false>;
  case GGMLType::Q5_K:
    return q45_k<true>;
  case GGMLType::Q6_K:
    return q6_k;
  case GGMLType::Q8_K:
    return q8_k;
  default:
    return nullptr;
  }
}

template <typename T> void widen(const uint8_t *src, float *dst, int64_t n) {
  for (int64_t e = 0; e < n; ++e) {
    T v;
    std::memcpy(&v, src + e * sizeof(T), sizeof(T));
    dst[e] = float(v);
  }
}

// quantize_row_*_ref: round to nearest.

void quantQ8_0(const float *x, uint8_t *b) {
  float amax = 0.0f;
  for (int j = 0; j < 32; ++j)
    amax = std::max(amax, std::fabs(x[j]));
  const float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
  const uint16_t h = floatToHalf(d);
  std::memcpy(b, &h, 2);
  for (int j = 0; j < 32; ++j)
    b[2 + j] = uint8_t(int8_t(std::round(x[j] * id)));
}

void quantQ4_0(const float *x, uint8_t *b) {
  float amax = 0.0f, max = 0.0f;
  for (int j = 0; j < 32; ++j)
    if (amax < std::fabs(x[j])) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  const float d = max / -8.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
  const uint16_t h = floatToHalf(d);
  std::memcpy(b, &h, 2);
  for (int j = 0; j < 16; ++j) {
    const int8_t x0 = int8_t(x[j] * id + 8.5f);
    const int8_t x1 = int8_t(x[j + 16] * id + 8.5f);
    b[2 + j] = uint8_t(std::min<int8_t>(15, x0) | (std::min<int8_t>(15, x1) << 4));
  }
}

void quantQ4_1(const float *x, uint8_t *b) {
  float min = FLT_MAX, max = -FLT_MAX;
  for (int j = 0; j < 32; ++j) {
    min = std::min(min, x[j]);
    max = std::max(max, x[j]);
  }
  const float d = (max - min) / 15.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
  const uint16_t hd = floatToHalf(d), hm = floatToHalf(min);
  std::memcpy(b, &hd, 2);
  std::memcpy(b + 2, &hm, 2);
  for (int j = 0; j < 16; ++j) {
    const int8_t x0 = int8_t((x[j] - min) * id + 0.5f);
    const int8_t x1 = int8_t((x[j + 16] - min) * id + 0.5f);
    b[4 + j] = uint8_t(std::min<int8_t>(15, x0) | (std::min<int8_t>(15, x1) << 4));
  }
}

/// ggml's nearest_int: round half to even by the float adder (1.5 * 2^23
/// puts the integer in the mantissa's low bits), for |v| < 2^22.
inline int nearestInt(float v) {
  const float biased = v + 12582912.0f;
  int32_t i;
  std::memcpy(&i, &biased, sizeof(i));
  return (i & 0x007fffff) - 0x00400000;
}

/// ggml's make_qkx2_quants: the scale and minimum of `n` values on levels
/// 0..nmax minimizing the weighted squared error, searched over nstep + 1
/// candidate scales around (max - min) / nmax, each refined by weighted
/// least squares. Returns the scale, `theMin` the (positive) minimum.
float fitScaleMin(int n, int nmax, const float *x, const float *w, uint8_t *L,
                  float &theMin, float rmin, float rdelta, int nstep) {
  float min = x[0], max = x[0], sumW = w[0], sumX = sumW * x[0];
  for (int i = 1; i < n; ++i) {
    if (x[i] < min)
      min = x[i];
    if (x[i] > max)
      max = x[i];
    sumW += w[i];
    sumX += w[i] * x[i];
  }
  if (min > 0)
    min = 0;
  if (max == min) {
    std::memset(L, 0, size_t(n));
    theMin = -min;
    return 0.0f;
  }
  float iscale = nmax / (max - min), scale = 1 / iscale, bestError = 0;
  for (int i = 0; i < n; ++i) {
    const int l = nearestInt(iscale * (x[i] - min));
    L[i] = uint8_t(std::max(0, std::min(nmax, l)));
    const float diff = scale * L[i] + min - x[i];
    bestError += w[i] * (diff * diff);
  }
  uint8_t aux[32];
  for (int is = 0; is <= nstep; ++is) {
    iscale = (rmin + rdelta * is + nmax) / (max - min);
    float sumL = 0, sumL2 = 0, sumXL = 0;
    for (int i = 0; i < n; ++i) {
      const int l = std::max(0, std::min(nmax, nearestInt(iscale * (x[i] - min))));
      aux[i] = uint8_t(l);
      sumL += w[i] * l;
      sumL2 += w[i] * l * l;
      sumXL += w[i] * l * x[i];
    }
    const float D = sumW * sumL2 - sumL * sumL;
    if (D <= 0)
      continue;
    float thisScale = (sumW * sumXL - sumX * sumL) / D;
    float thisMin = (sumL2 * sumX - sumL * sumXL) / D;
    if (thisMin > 0) {
      thisMin = 0;
      thisScale = sumXL / sumL2;
    }
    float error = 0;
    for (int i = 0; i < n; ++i) {
      const float diff = thisScale * aux[i] + thisMin - x[i];
      error += w[i] * (diff * diff);
    }
    if (error < bestError) {
      std::memcpy(L, aux, size_t(n));
      bestError = error;
      scale = thisScale;
      min = thisMin;
    }
  }
  theMin = -min;
  return scale;
}

/// ggml's make_qx_quants with rmse_type 1 (weights x^2) and no importance:
/// a symmetric scale for levels -nmax..nmax-1, searched over 19 candidates.
float fitScale(int n, int nmax, const float *x, int8_t *L) {
  float max = 0, amax = 0;
  for (int i = 0; i < n; ++i)
    if (std::fabs(x[i]) > amax) {
      amax = std::fabs(x[i]);
      max = x[i];
    }
  if (amax < 1e-15f) {
    std::memset(L, 0, size_t(n));
    return 0.0f;
  }
  float iscale = -nmax / max, sumLX = 0, sumL2 = 0;
  for (int i = 0; i < n; ++i) {
    const int l = std::max(-nmax, std::min(nmax - 1, nearestInt(iscale * x[i])));
    L[i] = int8_t(l + nmax);
    const float w = x[i] * x[i];
    sumLX += w * x[i] * l;
    sumL2 += w * l * l;
  }
  float scale = sumL2 ? sumLX / sumL2 : 0.0f, best = scale * sumLX;
  for (int is = -9; is <= 9; ++is) {
    if (is == 0)
      continue;
    iscale = -(nmax + 0.1f * is) / max;
    sumLX = sumL2 = 0;
    for (int i = 0; i < n; ++i) {
      const int l = std::max(-nmax, std::min(nmax - 1, nearestInt(iscale * x[i])));
      const float w = x[i] * x[i];
      sumLX += w * x[i] * l;
      sumL2 += w * l * l;
    }
    if (sumL2 > 0 && sumLX * sumLX > best * sumL2) {
      for (int i = 0; i < n; ++i)
        L[i] = int8_t(nmax + std::max(-nmax, std::min(nmax - 1,
                                                     nearestInt(iscale * x[i]))));
      scale = sumLX / sumL2;
      best = scale * sumLX;
    }
  }
  return scale;
}

/// quantize_row_q4_K_ref: 8 sub-blocks of 32, each with a scale and a
/// minimum fitted by fitScaleMin (weights sqrt(mean x^2) + |x|), both
/// quantized to 6 bits against the super-block's f16 maxima.
void quantQ4_K(const float *x, uint8_t *b) {
  uint8_t L[256];
  float weights[32], mins[8], scales[8], maxScale = 0, maxMin = 0;
  for (int j = 0; j < 8; ++j) {
    float sumX2 = 0;
    for (int l = 0; l < 32; ++l)
      sumX2 += x[32 * j + l] * x[32 * j + l];
    const float avX = std::sqrt(sumX2 / 32);
    for (int l = 0; l < 32; ++l)
      weights[l] = avX + std::fabs(x[32 * j + l]);
    scales[j] = fitScaleMin(32, 15, x + 32 * j, weights, L + 32 * j, mins[j],
                            -1.0f, 0.1f, 20);
    maxScale = std::max(maxScale, scales[j]);
    maxMin = std::max(maxMin, mins[j]);
  }
  const float invScale = maxScale > 0 ? 63.f / maxScale : 0.f;
  const float invMin = maxMin > 0 ? 63.f / maxMin : 0.f;
  uint8_t *sc = b + 4;
  for (int j = 0; j < 8; ++j) {
    const uint8_t ls = std::min<uint8_t>(63, uint8_t(nearestInt(invScale * scales[j])));
    const uint8_t lm = std::min<uint8_t>(63, uint8_t(nearestInt(invMin * mins[j])));
    if (j < 4) {
      sc[j] = ls;
      sc[j + 4] = lm;
    } else {
      sc[j + 4] = uint8_t((ls & 0xF) | ((lm & 0xF) << 4));
      sc[j - 4] |= uint8_t((ls >> 4) << 6);
      sc[j] |= uint8_t((lm >> 4) << 6);
    }
  }
  const uint16_t hd = floatToHalf(maxScale / 63.f), hm = floatToHalf(maxMin / 63.f);
  std::memcpy(b, &hd, 2);
  std::memcpy(b + 2, &hm, 2);
  for (int j = 0; j < 8; ++j) {
    uint8_t s, m;
    scaleMinK4(j, sc, s, m);
    const float d = halfToFloat(hd) * s;
    if (!d)
      continue;
    const float dm = halfToFloat(hm) * m;
    for (int i = 0; i < 32; ++i)
      L[32 * j + i] = uint8_t(std::max(0, std::min(15, nearestInt((x[32 * j + i] + dm) / d))));
  }
  uint8_t *q = b + 16;
  for (int j = 0; j < 256; j += 64, q += 32)
    for (int l = 0; l < 32; ++l)
      q[l] = uint8_t(L[j + l] | (L[j + l + 32] << 4));
}

/// quantize_row_q6_K_ref: 16 sub-blocks of 16 with a symmetric scale each
/// (fitScale on levels -32..31), the scales quantized to 8 bits.
void quantQ6_K(const float *x, uint8_t *b) {
  int8_t L[256];
  float scales[16], maxScale = 0, maxAbsScale = 0;
  for (int ib = 0; ib < 16; ++ib) {
    scales[ib] = fitScale(16, 32, x + 16 * ib, L + 16 * ib);
    if (std::fabs(scales[ib]) > maxAbsScale) {
      maxAbsScale = std::fabs(scales[ib]);
      maxScale = scales[ib];
    }
  }
  uint8_t *ql = b, *qh = b + 128;
  int8_t *sc = reinterpret_cast<int8_t *>(b + 192);
  if (maxAbsScale < 1e-15f) {
    std::memset(b, 0, 210);
    return;
  }
  const float iscale = -128.f / maxScale;
  const uint16_t hd = floatToHalf(1 / iscale);
  std::memcpy(b + 208, &hd, 2);
  for (int ib = 0; ib < 16; ++ib)
    sc[ib] = int8_t(std::min(127, nearestInt(iscale * scales[ib])));
  for (int j = 0; j < 16; ++j) {
    const float d = halfToFloat(hd) * sc[j];
    if (!d)
      continue;
    for (int i = 0; i < 16; ++i)
      L[16 * j + i] = int8_t(std::max(-32, std::min(31, nearestInt(x[16 * j + i] / d))) + 32);
  }
  for (int j = 0; j < 256; j += 128, ql += 64, qh += 32)
    for (int l = 0; l < 32; ++l) {
      const uint8_t q1 = L[j + l] & 0xF, q2 = L[j + l + 32] & 0xF,
                    q3 = L[j + l + 64] & 0xF, q4 = L[j + l + 96] & 0xF;
      ql[l] = uint8_t(q1 | (q3 << 4));
      ql[l + 32] = uint8_t(q2 | (q4 << 4));
      qh[l] = uint8_t((L[j + l] >> 4) | ((L[j + l + 32] >> 4) << 2) |
                      ((L[j + l + 64] >> 4) << 4) | ((L[j + l + 96] >> 4) << 6));
    }
}

uint16_t floatToBF16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, sizeof(x));
  if ((x & 0x7fffffff) > 0x7f800000) // NaN: quiet
    return uint16_t((x >> 16) | 64);
  return uint16_t((x + (0x7fff + ((x >> 16) & 1))) >> 16);
}

} // namespace

bool xformer::runtime::dequantizeRow(GGMLType type, const void *src,
                                     float *dst, int64_t n) {
  const std::optional<GGMLTypeTraits> t = ggmlTypeTraits(uint32_t(type));
  if (!t || n < 0 || n % t->blockElements != 0)
    return false;
  const uint8_t *s = static_cast<const uint8_t *>(src);
  switch (type) {
  case GGMLType::F32:
    std::memcpy(dst, s, size_t(n) * 4);
    return true;
  case GGMLType::F16:
    for (int64_t e = 0; e < n; ++e)
      dst[e] = loadHalf(s + 2 * e);
    return true;
  case GGMLType::BF16:
    for (int64_t e = 0; e < n; ++e) {
      const uint32_t bits = uint32_t(load16(s + 2 * e)) << 16;
      std::memcpy(dst + e, &bits, 4);
    }
    return true;
  case GGMLType::F64:
    widen<double>(s, dst, n);
    return true;
  case GGMLType::I8:
    widen<int8_t>(s, dst, n);
    return true;
  case GGMLType::I16:
    widen<int16_t>(s, dst, n);
    return true;
  case GGMLType::I32:
    widen<int32_t>(s, dst, n);
    return true;
  case GGMLType::I64:
    widen<int64_t>(s, dst, n);
    return true;
  default:
    break;
  }
  BlockFn fn = blockDecoder(type);
  if (!fn)
    return false;
  for (int64_t blk = 0; blk < n / t->blockElements; ++blk)
    fn(s + blk * t->blockBytes, dst + blk * t->blockElements);
  return true;
}

bool xformer::runtime::canQuantize(GGMLType type) {
  switch (type) {
  case GGMLType::F32:
  case GGMLType::F16:
  case GGMLType::BF16:
  case GGMLType::Q8_0:
  case GGMLType::Q4_0:
  case GGMLType::Q4_1:
  case GGMLType::Q4_K:
  case GGMLType::Q6_K:
    return true;
  default:
    return false;
  }
}

bool xformer::runtime::quantizeRow(GGMLType type, const float *src, void *dst,
                                   int64_t n) {
  const std::optional<GGMLTypeTraits> t = ggmlTypeTraits(uint32_t(type));
  if (!t || !canQuantize(type) || n < 0 || n % t->blockElements != 0)
    return false;
  uint8_t *d = static_cast<uint8_t *>(dst);
  switch (type) {
  case GGMLType::F32:
    std::memcpy(d, src, size_t(n) * 4);
    return true;
  case GGMLType::F16:
    for (int64_t e = 0; e < n; ++e) {
      const uint16_t h = floatToHalf(src[e]);
      std::memcpy(d + 2 * e, &h, 2);
    }
    return true;
  case GGMLType::BF16:
    for (int64_t e = 0; e < n; ++e) {
      const uint16_t h = floatToBF16(src[e]);
      std::memcpy(d + 2 * e, &h, 2);
    }
    return true;
  default:
    break;
  }
  void (*fn)(const float *, uint8_t *) = type == GGMLType::Q8_0   ? quantQ8_0
                                         : type == GGMLType::Q4_0 ? quantQ4_0
                                         : type == GGMLType::Q4_1 ? quantQ4_1
                                         : type == GGMLType::Q4_K ? quantQ4_K
                                                                  : quantQ6_K;
  for (int64_t blk = 0; blk < n / t->blockElements; ++blk)
    fn(src + blk * t->blockElements, d + blk * t->blockBytes);
  return true;
}
