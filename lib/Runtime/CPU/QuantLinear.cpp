//===- QuantLinear.cpp - Linears over ggml weight blocks ------------------===//
//
// y = act(x W^T + bias) + residual with W in ggml's Q8_0, Q4_0, Q4_1, Q5_0,
// Q5_1, Q4_K or Q6_K blocks, read as stored. Each input row is first
// quantized per block of 32 to 16 bits (d = max|x| / 32512), with d times
// the integer sum of each block kept for the formats with an offset; each
// sub-block of 32 weights (see subBlock: levels q, a scale s and an offset
// o) then adds an integer dot product of 32 pairs scaled by the two scales:
//   s dx sum(q qx) + o (dx sum(qx))
// llama.cpp quantizes the inputs to 8 bits (one vpdpbusd per block); 16
// bits cost one more instruction per block and keep the result that close
// to the product with the weights as stored: on SmolLM2's Q4_1 file, 8-bit
// inputs agree with transformers (the same weights, f32 inputs) on 96% of
// next tokens, as llama.cpp does, 16-bit ones on over 98%.
// The dot products run on AVX512-VNNI (vpdpwssd), AVX2 (vpmaddwd) or
// plain C++, chosen at run time from the CPU: this file is compiled for the
// baseline x86-64 and each vector path carries its own target attribute, so
// a library built on one machine runs on any other. Outputs are spread over
// the runtime's pool in blocks.
//
// The other formats ggml defines and GGMLFormats decodes (Q2_K, Q3_K,
// Q5_K) take a plain path: each weight row decoded to f32 as ggml
// decodes it, then f32 dot products with the unquantized input.
//
// From kPackedGemmRows (2) input rows on, a CPU with AVX512-VNNI runs the
// packed GEMM (runPackedGemm) on the formats with packed kernels: the
// products are then those decode computes. Elsewhere, from kPanelRows
// (prefill), every format is decoded to f32 a panel of outputs at a time,
// in the cache of the thread that then multiplies it by oneDNN's f32 GEMM
// (panelLinear): the decoding is paid once per weight for all rows, and a
// GEMM's register blocking beats the integer tiles (whose products and
// per-block scaling cost more instructions than f32 FMAs on CPUs without
// VNNI); the products are then those of the weights as stored with the
// unquantized input.
//
//===----------------------------------------------------------------------===//

#include "Epilogue.h"
#include "ThreadPool.h"
#include "VectorMath.h"

#include "xformer/Runtime/GGMLFormats.h"
#include "xformer/Support/GGMLBlocks.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <immintrin.h>
#include <limits>
#include <new>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <sys/mman.h>

using namespace xformer::runtime;
using namespace xformer::runtime::cpu;

namespace {

constexpr int64_t kBlock = 32;

/// The largest quantized input, 127 * 256: each 16-bit input then splits
/// into two signed bytes, q = 256 h + l with h in [-127, 127] and l in
/// [-128, 127], for the packed kernels' byte products (see splitInputAVX2).
constexpr float kInputMax = 32512.0f;

/// The row count from which panels of f32 weights and oneDNN's GEMM beat
/// the integer tiles (see panelRows).
constexpr int64_t kPanelRows = 12;

/// The row count from which the packed GEMM (AVX512-VNNI) beats the decode
/// kernels: on Zen 5, 2 threads, 2x576x1536 Q4_1 0.021 ms against 0.025,
/// 4x2048x5632 Q4_0 0.26 against 0.53; one row reads faster by the decode
/// kernel (one stream of weights, no tile).
constexpr int64_t kPackedGemmRows = 2;

/// An input row quantized per block: 32 int16 values and the scale of
/// each block, and the scale times the block's integer sum.
struct QuantRow {
  const int16_t *q;
  const float *d;
  const float *dsum;
};

void quantizeInput(const float *x, int64_t n, int16_t *q, float *d,
                   float *dsum) {
  for (int64_t b = 0; b < n / kBlock; ++b) {
    const float *xb = x + b * kBlock;
    float amax = 0.0f;
    for (int64_t j = 0; j < kBlock; ++j)
      amax = std::max(amax, std::fabs(xb[j]));
    const float scale = amax / kInputMax,
                inv = scale != 0.0f ? 1.0f / scale : 0.0f;
    int32_t sum = 0;
    for (int64_t j = 0; j < kBlock; ++j) {
      const int16_t v = int16_t(std::nearbyint(xb[j] * inv));
      q[b * kBlock + j] = v;
      sum += v;
    }
    d[b] = scale;
    dsum[b] = scale * float(sum);
  }
}

/// quantizeInput by AVX2, the same values: the scale and its inverse
/// computed as above, products rounded to nearest even by vcvtps2dq (as
/// nearbyint rounds in the default rounding mode), the sums in integers.
/// (The plain loop calls libm's nearbyintf per element: on a decode step
/// it took as long as a small linear, on the calling thread alone.)
__attribute__((target("avx2,fma,f16c"))) void
quantizeInputAVX2(const float *x, int64_t n, int16_t *q, float *d,
                  float *dsum) {
  const __m256 absMask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  for (int64_t b = 0; b < n / kBlock; ++b) {
    const float *xb = x + b * kBlock;
    __m256 v[4];
    __m256 amax = _mm256_setzero_ps();
    for (int k = 0; k < 4; ++k) {
      v[k] = _mm256_loadu_ps(xb + 8 * k);
      amax = _mm256_max_ps(_mm256_and_ps(v[k], absMask), amax);
    }
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(amax),
                          _mm256_extractf128_ps(amax, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    const float scale = _mm_cvtss_f32(m) / kInputMax,
                inv = scale != 0.0f ? 1.0f / scale : 0.0f;
    const __m256 invv = _mm256_set1_ps(inv);
    __m256i sum = _mm256_setzero_si256();
    __m256i r[4];
    for (int k = 0; k < 4; ++k) {
      r[k] = _mm256_cvtps_epi32(_mm256_mul_ps(v[k], invv));
      sum = _mm256_add_epi32(sum, r[k]);
    }
    // packs interleaves 128-bit lanes: permute them back into order.
    const __m256i lo = _mm256_permute4x64_epi64(_mm256_packs_epi32(r[0], r[1]),
                                                0xd8),
                  hi = _mm256_permute4x64_epi64(_mm256_packs_epi32(r[2], r[3]),
                                                0xd8);
    _mm256_storeu_si256(reinterpret_cast<__m256i *>(q + b * kBlock), lo);
    _mm256_storeu_si256(reinterpret_cast<__m256i *>(q + b * kBlock + 16), hi);
    __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(sum),
                               _mm256_extracti128_si256(sum, 1));
    s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0x4e));
    s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0xb1));
    d[b] = scale;
    dsum[b] = scale * float(_mm_cvtsi128_si32(s4));
  }
}

inline float half(const uint8_t *p) {
  uint16_t h;
  std::memcpy(&h, p, sizeof(h));
  return halfToFloat(h);
}

/// The formats with an integer kernel.
constexpr bool hasKernel(GGMLType t) {
  return t == GGMLType::Q8_0 || t == GGMLType::Q4_0 || t == GGMLType::Q4_1 ||
         t == GGMLType::Q5_0 || t == GGMLType::Q5_1 || t == GGMLType::Q4_K ||
         t == GGMLType::Q6_K;
}

/// The blocks of 32 (a scale per block) with 4-bit levels, and the 5-bit
/// ones that add a bit from qh.
constexpr bool isQ4(GGMLType t) {
  return t == GGMLType::Q4_0 || t == GGMLType::Q4_1;
}
constexpr bool isQ5(GGMLType t) {
  return t == GGMLType::Q5_0 || t == GGMLType::Q5_1;
}

/// Where a 4- or 5-bit block keeps its nibbles.
template <GGMLType T> constexpr int64_t nibblesAt() {
  return T == GGMLType::Q4_0   ? 2
         : T == GGMLType::Q4_1 ? 4
         : T == GGMLType::Q5_0 ? 6
                               : 8;
}

/// Whether a format's values carry an offset, weight = scale * q + offset
/// (the offset then multiplies the block's sum of inputs).
constexpr bool hasOffset(GGMLType t) {
  return t == GGMLType::Q4_0 || t == GGMLType::Q4_1 || t == GGMLType::Q5_0 ||
         t == GGMLType::Q5_1 || t == GGMLType::Q4_K;
}

/// Bytes of a ggml block of each format, from the shared table.
template <GGMLType T> constexpr int64_t blockBytes() {
  return xformer::ggmlBlockLayout(uint32_t(T))->blockBytes;
}

// Every format is read by sub-blocks of 32 weights (a k-quant's 256 are 8 of
// them): integer levels q, a scale and an offset with weight = scale * q +
// offset. Q6_K's two scales per 32 (one per 16) are folded into its levels,
// (q6 - 32) * scale8, under the f16 scale d.
//   Q8_0  q = int8            scale = d             offset = 0
//   Q4_0  q = nibble          scale = d             offset = -8 d
//   Q4_1  q = nibble          scale = d             offset = m
//   Q5_0  q = nibble | h << 4 scale = d             offset = -16 d
//   Q5_1  q = nibble | h << 4 scale = d             offset = m
//   Q4_K  q = nibble          scale = d * sc6       offset = -dmin * m6
//   Q6_K  q = (q6 - 32) sc8   scale = d             offset = 0

/// Where sub-block `b` of a Q6_K row lies: its super-block, the 32 bytes of
/// low bits, the 32 bytes holding its high bits, their shift, and its two
/// scales (elements 0-15 and 16-31).
struct Q6Sub {
  const uint8_t *ql, *qh;
  int shift;
  bool highNibble;
  const int8_t *scales;
  const uint8_t *super;
};

inline Q6Sub q6Sub(const uint8_t *row, int64_t b) {
  const uint8_t *super = row + (b / 8) * blockBytes<GGMLType::Q6_K>();
  const int within = int(b % 8), halfOf = within / 4, g = within % 4;
  return {super + halfOf * 64 + (g & 1) * 32, super + 128 + halfOf * 32,
          2 * g, g >= 2,
          reinterpret_cast<const int8_t *>(super + 192) + halfOf * 8 + 2 * g,
          super};
}

/// The super-block of a Q4_K row that holds sub-block `b` (its index in
/// there: b % 8).
inline const uint8_t *q4kSuper(const uint8_t *row, int64_t b) {
  return row + (b / 8) * blockBytes<GGMLType::Q4_K>();
}

/// Sub-block `b` of a weight row in plain C++: its levels, scale, offset.
template <GGMLType T>
void subBlock(const uint8_t *row, int64_t b, int32_t *q, float &scale,
              float &offset) {
  offset = 0.0f;
  if constexpr (T == GGMLType::Q8_0 || isQ4(T) || isQ5(T)) {
    const uint8_t *blk = row + b * blockBytes<T>();
    scale = half(blk);
    if constexpr (T == GGMLType::Q8_0) {
      for (int j = 0; j < 32; ++j)
        q[j] = int8_t(blk[2 + j]);
      return;
    }
    const uint8_t *qs = blk + nibblesAt<T>();
    uint32_t qh = 0;
    if constexpr (isQ5(T))
      std::memcpy(&qh, qs - 4, sizeof(qh));
    for (int j = 0; j < 16; ++j) {
      q[j] = (qs[j] & 0x0f) | int32_t((qh >> j) & 1) << 4;
      q[j + 16] = (qs[j] >> 4) | int32_t((qh >> (j + 16)) & 1) << 4;
    }
    offset = T == GGMLType::Q4_0   ? -8.0f * scale
             : T == GGMLType::Q5_0 ? -16.0f * scale
                                   : half(blk + 2);
  } else if constexpr (T == GGMLType::Q4_K) {
    const uint8_t *super = q4kSuper(row, b);
    const int j = int(b % 8);
    uint8_t sc, m;
    scaleMinK4(j, super + 4, sc, m);
    scale = half(super) * float(sc);
    offset = -half(super + 2) * float(m);
    const uint8_t *qs = super + 16 + (j / 2) * 32;
    for (int k = 0; k < 32; ++k)
      q[k] = j % 2 ? qs[k] >> 4 : qs[k] & 0x0f;
  } else {
    const Q6Sub s = q6Sub(row, b);
    scale = half(s.super + 208);
    for (int k = 0; k < 32; ++k) {
      const int low = s.highNibble ? s.ql[k] >> 4 : s.ql[k] & 0x0f;
      const int q6 = low | (((s.qh[k] >> s.shift) & 3) << 4);
      q[k] = (q6 - 32) * s.scales[k / 16];
    }
  }
}

/// One output's dot product with one quantized row, in plain C++ (64-bit
/// sums: Q6_K's levels reach 4096, and 32 of them times 32512 pass 2^31).
template <GGMLType T>
float rowDotScalar(const uint8_t *w, const QuantRow &x, int64_t blocks) {
  float acc = 0.0f, offsetSum = 0.0f;
  int32_t q[32];
  for (int64_t b = 0; b < blocks; ++b) {
    float scale, offset;
    subBlock<T>(w, b, q, scale, offset);
    int64_t dot = 0;
    for (int j = 0; j < 32; ++j)
      dot += int64_t(q[j]) * x.q[b * kBlock + j];
    acc += scale * x.d[b] * float(dot);
    // The offsets summed apart, as the vector tiles sum them.
    if constexpr (hasOffset(T))
      offsetSum += offset * x.dsum[b];
  }
  return acc + offsetSum;
}

#define XF_AVX2 XF_AVX2_FMA
#define XF_VNNI XF_AVX2_FMA ",avx512f,avx512bw,avx512vl,avx512vnni"

__attribute__((target(XF_AVX2))) inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

/// An f16 scale in every lane, by F16C: a broadcast load writes the whole
/// register. (The scalar form, _cvtsh_ss, compiles to a vpinsrw that merges
/// into whatever register is free, often an accumulator, and then every
/// scale waits for that accumulator's FMA chain.)
__attribute__((target(XF_AVX2))) inline __m256 halfBroadcast(const uint8_t *p) {
  uint16_t h;
  std::memcpy(&h, p, sizeof(h));
  return _mm256_cvtph_ps(_mm_set1_epi16(short(h)));
}

/// A sub-block's 32 levels widened to 16 bits for the dot products, once
/// per sub-block and reused against every input row of a tile (elements
/// 0-15 in `lo`, 16-31 in `hi`), with its scale in every lane and its offset
/// in four. A pair's products sum into 32 bits by vpmaddwd, or VNNI's
/// vpdpwssd: |q x| <= 4096 * 32512 per product, so the four products a lane
/// sums stay below 2^31.
struct Unpacked {
  __m256i lo, hi;
  __m256 scale;
  __m128 offset;
};

/// 16 bytes widened to 16-bit lanes, then their low or high nibbles.
__attribute__((target(XF_AVX2))) inline __m256i nibbles(const uint8_t *p,
                                                          bool high) {
  const __m256i v = _mm256_cvtepu8_epi16(
      _mm_loadu_si128(reinterpret_cast<const __m128i *>(p)));
  return high ? _mm256_srli_epi16(v, 4)
              : _mm256_and_si256(v, _mm256_set1_epi16(0x0f));
}

/// Q5_0 and Q5_1's fifth bits, 16 at a time: bit j of `bits` as 16 in
/// 16-bit lane j.
__attribute__((target(XF_AVX2))) inline __m256i fifthBits(uint32_t bits) {
  const __m256i bit = _mm256_setr_epi16(1, 2, 4, 8, 16, 32, 64, 128, 256, 512,
                                        1024, 2048, 4096, 8192, 16384,
                                        short(-32768));
  const __m256i v = _mm256_and_si256(_mm256_set1_epi16(short(bits)), bit);
  return _mm256_and_si256(_mm256_cmpeq_epi16(v, bit), _mm256_set1_epi16(0x10));
}

/// Sixteen Q6_K levels from their low and high bits, centred and scaled.
__attribute__((target(XF_AVX2))) inline __m256i
q6Levels(const uint8_t *ql, const uint8_t *qh, bool high, int shift,
         int8_t scale) {
  const __m256i h = _mm256_and_si256(
      _mm256_srl_epi16(_mm256_cvtepu8_epi16(_mm_loadu_si128(
                           reinterpret_cast<const __m128i *>(qh))),
                       _mm_cvtsi32_si128(shift)),
      _mm256_set1_epi16(3));
  const __m256i q6 =
      _mm256_or_si256(nibbles(ql, high), _mm256_slli_epi16(h, 4));
  return _mm256_mullo_epi16(_mm256_sub_epi16(q6, _mm256_set1_epi16(32)),
                            _mm256_set1_epi16(scale));
}

template <GGMLType T>
__attribute__((target(XF_AVX2))) inline Unpacked unpackAVX2(const uint8_t *row,
                                                            int64_t b) {
  if constexpr (T == GGMLType::Q8_0) {
    const uint8_t *blk = row + b * blockBytes<T>();
    const __m128i *w = reinterpret_cast<const __m128i *>(blk + 2);
    return {_mm256_cvtepi8_epi16(_mm_loadu_si128(w)),
            _mm256_cvtepi8_epi16(_mm_loadu_si128(w + 1)), halfBroadcast(blk),
            _mm_setzero_ps()};
  } else if constexpr (isQ4(T) || isQ5(T)) {
    const uint8_t *blk = row + b * blockBytes<T>();
    const uint8_t *qs = blk + nibblesAt<T>();
    const __m256 d = halfBroadcast(blk);
    const __m128 offset =
        T == GGMLType::Q4_0
            ? _mm_mul_ps(_mm_set1_ps(-8.0f), _mm256_castps256_ps128(d))
        : T == GGMLType::Q5_0
            ? _mm_mul_ps(_mm_set1_ps(-16.0f), _mm256_castps256_ps128(d))
            : _mm256_castps256_ps128(halfBroadcast(blk + 2));
    const __m256i bytes = _mm256_cvtepu8_epi16(
        _mm_loadu_si128(reinterpret_cast<const __m128i *>(qs)));
    __m256i lo = _mm256_and_si256(bytes, _mm256_set1_epi16(0x0f)),
            hi = _mm256_srli_epi16(bytes, 4);
    if constexpr (isQ5(T)) {
      uint32_t qh;
      std::memcpy(&qh, qs - 4, sizeof(qh));
      lo = _mm256_or_si256(lo, fifthBits(qh & 0xffff));
      hi = _mm256_or_si256(hi, fifthBits(qh >> 16));
    }
    return {lo, hi, d, offset};
  } else if constexpr (T == GGMLType::Q4_K) {
    const uint8_t *super = q4kSuper(row, b);
    const int j = int(b % 8);
    uint8_t sc, m;
    scaleMinK4(j, super + 4, sc, m);
    const uint8_t *qs = super + 16 + (j / 2) * 32;
    return {nibbles(qs, j % 2), nibbles(qs + 16, j % 2),
            _mm256_mul_ps(halfBroadcast(super), _mm256_set1_ps(float(sc))),
            _mm_mul_ps(_mm256_castps256_ps128(halfBroadcast(super + 2)),
                       _mm_set1_ps(-float(m)))};
  } else {
    const Q6Sub s = q6Sub(row, b);
    return {q6Levels(s.ql, s.qh, s.highNibble, s.shift, s.scales[0]),
            q6Levels(s.ql + 16, s.qh + 16, s.highNibble, s.shift, s.scales[1]),
            halfBroadcast(s.super + 208), _mm_setzero_ps()};
  }
}

/// The 8 partial integer dot products of an unpacked block with input row
/// `x`'s block `b` (summing to the block's dot product).
template <GGMLType T>
__attribute__((target(XF_AVX2))) inline __m256i
blockDotAVX2(const Unpacked &w, const QuantRow &x, int64_t b) {
  const __m256i *xv = reinterpret_cast<const __m256i *>(x.q + b * kBlock);
  return _mm256_add_epi32(_mm256_madd_epi16(w.lo, _mm256_loadu_si256(xv)),
                          _mm256_madd_epi16(w.hi, _mm256_loadu_si256(xv + 1)));
}

template <GGMLType T>
__attribute__((target(XF_VNNI))) inline __m256i
blockDotVNNI(const Unpacked &w, const QuantRow &x, int64_t b) {
  const __m256i *xv = reinterpret_cast<const __m256i *>(x.q + b * kBlock);
  return _mm256_dpwssd_epi32(_mm256_dpwssd_epi32(_mm256_setzero_si256(), w.lo,
                                                 _mm256_loadu_si256(xv)),
                             w.hi, _mm256_loadu_si256(xv + 1));
}

/// A tile of MR outputs by NR input rows: each weight block is read and
/// unpacked once for the NR rows, the MR x NR partial sums accumulate in
/// vectors. The formats' offsets (Q4_0's -8 dw, Q4_1's min) accumulate per
/// output as one 128-bit FMA per block with the NR rows' dx * sum(qx),
/// interleaved by 4 in `dsum4`. A function's target cannot depend on a
/// template argument, so the body is defined once per instruction set by
/// XF_DEFINE_TILE (after XF_UNROLL4).
/// `__VA_ARGS__` once for each I < N (N <= 4), with I a constant: loops
/// over a tile's accumulators written out, so that they live in registers
/// (GCC keeps an array indexed in a loop in memory, unrolled or not).
#define XF_UNROLL4(N, I, ...)                                                  \
  if constexpr (0 < (N)) {                                                     \
    constexpr int I = 0;                                                       \
    __VA_ARGS__                                                                \
  }                                                                            \
  if constexpr (1 < (N)) {                                                     \
    constexpr int I = 1;                                                       \
    __VA_ARGS__                                                                \
  }                                                                            \
  if constexpr (2 < (N)) {                                                     \
    constexpr int I = 2;                                                       \
    __VA_ARGS__                                                                \
  }                                                                            \
  if constexpr (3 < (N)) {                                                     \
    constexpr int I = 3;                                                       \
    __VA_ARGS__                                                                \
  }

#define XF_DEFINE_TILE(NAME, TARGET, BLOCK_DOT)                                \
  template <GGMLType T, int MR, int NR>                                        \
  __attribute__((target(TARGET))) void NAME(const uint8_t *w,                  \
                                            int64_t rowBytes,                  \
                                            const QuantRow *x, int64_t blocks, \
                                            const float *dsum4, float *out) {  \
    static_assert(MR <= 4 && NR <= 4, "tiles up to 4 x 4");                    \
    __m256 acc[MR][NR];                                                        \
    __m128 offset[MR];                                                         \
    XF_UNROLL4(MR, i, offset[i] = _mm_setzero_ps();                            \
               XF_UNROLL4(NR, j, acc[i][j] = _mm256_setzero_ps();))            \
    /* One output of one row: the odd blocks in a second chain, so that */   \
    /* two FMAs are in flight. */                                              \
    __m256 accOdd[MR][NR];                                                     \
    __m128 offsetOdd[MR];                                                      \
    XF_UNROLL4(MR, i, offsetOdd[i] = _mm_setzero_ps();                         \
               XF_UNROLL4(NR, j, accOdd[i][j] = _mm256_setzero_ps();))         \
    int64_t b = 0;                                                             \
    if constexpr (MR == 1 && NR == 1)                                          \
      for (; b + 1 < blocks; b += 2) {                                         \
        XF_TILE_BLOCK(b, BLOCK_DOT, acc, offset)                               \
        XF_TILE_BLOCK(b + 1, BLOCK_DOT, accOdd, offsetOdd)                     \
      }                                                                        \
    for (; b < blocks; ++b)                                                    \
      XF_TILE_BLOCK(b, BLOCK_DOT, acc, offset)                                 \
    XF_UNROLL4(MR, i, alignas(16) float o[4];                                  \
               _mm_store_ps(o, _mm_add_ps(offset[i], offsetOdd[i]));           \
               XF_UNROLL4(NR, j,                                               \
                          out[i * NR + j] = hsum(_mm256_add_ps(                \
                                                acc[i][j], accOdd[i][j])) +    \
                                            o[j];))                            \
  }

/// Block `b` of every output and row of a tile, into ACC and OFFSET.
#define XF_TILE_BLOCK(b, BLOCK_DOT, ACC, OFFSET)                               \
  {                                                                            \
    XF_UNROLL4(                                                                \
        MR, i, const Unpacked u = unpackAVX2<T>(w + i * rowBytes, (b));        \
        if constexpr (hasOffset(T)) OFFSET[i] = _mm_fmadd_ps(                  \
            u.offset, _mm_loadu_ps(dsum4 + 4 * (b)), OFFSET[i]);               \
        XF_UNROLL4(NR, j,                                                      \
                   ACC[i][j] = _mm256_fmadd_ps(                                \
                       _mm256_mul_ps(                                          \
                           _mm256_cvtepi32_ps(BLOCK_DOT<T>(u, x[j], (b))),     \
                           _mm256_broadcast_ss(x[j].d + (b))),                 \
                       u.scale, ACC[i][j]);))                                  \
  }

XF_DEFINE_TILE(tileAVX2, XF_AVX2, blockDotAVX2)
XF_DEFINE_TILE(tileVNNI, XF_VNNI, blockDotVNNI)

/// The sums of eight vectors' lanes, in order: [sum v[0], ..., sum v[7]].
__attribute__((target(XF_AVX2))) inline __m256 reduce8(const __m256 *v) {
  // u0 = [v0 v1 v2 v3 (low halves) | v0 v1 v2 v3 (high halves)], u1 the
  // same for v4-v7.
  const __m256 u0 = _mm256_hadd_ps(_mm256_hadd_ps(v[0], v[1]),
                                   _mm256_hadd_ps(v[2], v[3])),
               u1 = _mm256_hadd_ps(_mm256_hadd_ps(v[4], v[5]),
                                   _mm256_hadd_ps(v[6], v[7]));
  return _mm256_add_ps(_mm256_permute2f128_ps(u0, u1, 0x20),
                       _mm256_permute2f128_ps(u0, u1, 0x31));
}

/// One input row (decode) by `n` consecutive outputs: each output's
/// blocks in two FMA chains (one sequential stream of weights), and the
/// outputs' horizontal sums eight at a time (a tile call and a reduction
/// per output cost a tenth of a 576-wide output's time). `dsum4` as for
/// the tiles, one row.
#define XF_DEFINE_GEMV(NAME, TARGET, BLOCK_DOT)                                \
  template <GGMLType T>                                                        \
  __attribute__((target(TARGET))) void NAME(                                   \
      const uint8_t *weights, int64_t rowBytes, const QuantRow *x,             \
      int64_t blocks, const float *dsum4, int64_t n, float *out) {             \
    constexpr int MR = 1, NR = 1;                                              \
    __m256 pending[8];                                                         \
    for (int64_t o = 0; o < n; ++o) {                                          \
      const uint8_t *w = weights + o * rowBytes;                               \
      __m256 acc[1][1] = {{_mm256_setzero_ps()}},                              \
             accOdd[1][1] = {{_mm256_setzero_ps()}};                           \
      __m128 offset[1] = {_mm_setzero_ps()}, offsetOdd[1] = {_mm_setzero_ps()}; \
      int64_t b = 0;                                                           \
      for (; b + 1 < blocks; b += 2) {                                         \
        XF_TILE_BLOCK(b, BLOCK_DOT, acc, offset)                               \
        XF_TILE_BLOCK(b + 1, BLOCK_DOT, accOdd, offsetOdd)                     \
      }                                                                        \
      for (; b < blocks; ++b)                                                  \
        XF_TILE_BLOCK(b, BLOCK_DOT, acc, offset)                               \
      /* The offsets' sum is in lane 0 (the other rows of dsum4 are 0). */     \
      pending[o % 8] = _mm256_add_ps(                                          \
          _mm256_add_ps(acc[0][0], accOdd[0][0]),                              \
          _mm256_zextps128_ps256(_mm_add_ps(offset[0], offsetOdd[0])));        \
      if (o % 8 == 7)                                                          \
        _mm256_storeu_ps(out + o - 7, reduce8(pending));                       \
    }                                                                          \
    for (int64_t o = n / 8 * 8; o < n; ++o)                                    \
      out[o] = hsum(pending[o % 8]);                                           \
  }

XF_DEFINE_GEMV(gemvAVX2, XF_AVX2, blockDotAVX2)
XF_DEFINE_GEMV(gemvVNNI, XF_VNNI, blockDotVNNI)
#undef XF_DEFINE_GEMV
#undef XF_DEFINE_TILE
#undef XF_TILE_BLOCK
#undef XF_UNROLL4

/// The one-row kernel of a vector instruction set.
template <GGMLType T> auto gemvFor(BlockISA isa) {
  return isa == BlockISA::AVX512VNNI ? gemvVNNI<T> : gemvAVX2<T>;
}

/// The plain C++ tile: one output and one row at a time.
template <GGMLType T, int MR, int NR>
void tileScalar(const uint8_t *w, int64_t rowBytes, const QuantRow *x,
                int64_t blocks, const float *, float *out) {
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j)
      out[i * NR + j] = rowDotScalar<T>(w + i * rowBytes, x[j], blocks);
}

std::atomic<int> forced{-1};

BlockISA bestISA() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512vnni") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("f16c") && __builtin_cpu_supports("fma"))
    return BlockISA::AVX512VNNI;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
      __builtin_cpu_supports("f16c"))
    return BlockISA::AVX2;
  return BlockISA::Scalar;
}

constexpr int kMaxTile = 4;
using Tile = void (*)(const uint8_t *, int64_t, const QuantRow *, int64_t,
                      const float *, float *);

template <GGMLType T, int MR, int... NR>
constexpr std::array<Tile, kMaxTile> tileRow(BlockISA isa,
                                             std::integer_sequence<int, NR...>) {
  switch (isa) {
  case BlockISA::AVX512VNNI:
    return {tileVNNI<T, MR, NR + 1>...};
  case BlockISA::AVX2:
    return {tileAVX2<T, MR, NR + 1>...};
  case BlockISA::Scalar:
    break;
  }
  return {tileScalar<T, MR, NR + 1>...};
}

/// Every tile shape up to kMaxTile x kMaxTile on `isa`: [MR - 1][NR - 1].
template <GGMLType T, int... MR>
std::array<std::array<Tile, kMaxTile>, kMaxTile>
tilesFor(BlockISA isa, std::integer_sequence<int, MR...>) {
  return {
      tileRow<T, MR + 1>(isa, std::make_integer_sequence<int, kMaxTile>())...};
}

/// Outputs are split into chunks over the pool; in a chunk, rows go by
/// tiles of NR and outputs by tiles of MR, so a chunk's weights (a few tens
/// of KB) stay in L2 while each row tile passes over them. Tiles of 2 x 4
/// where there are rows to share a weight block (AVX2's 16 vector
/// registers hold its 8 accumulators; 4 x 4 spilled), and one output at a
/// time for one row: one sequential stream of weights, measured 1.7x faster
/// on Zen 3 than four interleaved row streams (Q8_0, 25 against 12.6 GB/s
/// on the LM head).
template <GGMLType T>
void run(const LinearArgs &a, const std::vector<QuantRow> &rows, BlockISA isa) {
  const int64_t blocks = a.in / kBlock,
                rowBytes =
                    a.in /
                    xformer::ggmlBlockLayout(uint32_t(T))->blockElements *
                    blockBytes<T>();
  const auto tiles =
      tilesFor<T>(isa, std::make_integer_sequence<int, kMaxTile>());
  const int64_t nrMax =
      isa == BlockISA::Scalar ? 1 : std::min<int64_t>(kMaxTile, a.rows);
  const int64_t mrMax = nrMax == 1 ? 1 : 2;
  const uint8_t *w = static_cast<const uint8_t *>(a.weightBlocks);
  const int64_t threads = std::max<int64_t>(1, numThreads());
  int64_t chunk =
      std::max<int64_t>(16, (a.out + 4 * threads - 1) / (4 * threads));
  chunk = (chunk + mrMax - 1) / mrMax * mrMax;
  // Each row tile's d * sum(qx) per block, interleaved by 4 (zero past
  // the last row): the 4-bit formats' offsets as one 128-bit FMA per
  // output and block. The buffer is the calling thread's; the pool's
  // threads read it through dsum4Data.
  thread_local std::vector<float> dsum4;
  const int64_t tilesOfRows = (a.rows + nrMax - 1) / nrMax;
  if (hasOffset(T)) {
    dsum4.assign(size_t(tilesOfRows * blocks * 4), 0.0f);
    for (int64_t r = 0; r < a.rows; ++r)
      for (int64_t b = 0; b < blocks; ++b)
        dsum4[size_t(((r / nrMax) * blocks + b) * 4 + r % nrMax)] =
            rows[size_t(r)].dsum[b];
  }
  const float *dsum4Data = dsum4.data();
  if (nrMax == 1 && isa != BlockISA::Scalar) {
    const auto gemv = gemvFor<T>(isa);
    parallelFor((a.out + chunk - 1) / chunk, [&](int64_t c) {
      constexpr int64_t kStep = 256;
      float sums[kStep];
      const int64_t o1 = std::min(a.out, (c + 1) * chunk);
      for (int64_t o = c * chunk; o < o1; o += kStep) {
        const int64_t n = std::min(kStep, o1 - o);
        gemv(w + o * rowBytes, rowBytes, rows.data(), blocks, dsum4Data, n,
             sums);
        for (int64_t i = 0; i < n; ++i)
          finish(a, 0, o + i, sums[i]);
      }
    });
    return;
  }
  parallelFor((a.out + chunk - 1) / chunk, [&](int64_t c) {
    float out[kMaxTile * kMaxTile];
    const int64_t o0 = c * chunk, o1 = std::min(a.out, o0 + chunk);
    for (int64_t r = 0; r < a.rows; r += nrMax) {
      const int64_t nr = std::min(nrMax, a.rows - r);
      const float *offsets =
          hasOffset(T) ? dsum4Data + (r / nrMax) * blocks * 4 : nullptr;
      for (int64_t o = o0; o < o1; o += mrMax) {
        const int64_t mr = std::min(mrMax, o1 - o);
        tiles[size_t(mr - 1)][size_t(nr - 1)](w + o * rowBytes, rowBytes,
                                              rows.data() + r, blocks,
                                              offsets, out);
        for (int64_t i = 0; i < mr; ++i)
          for (int64_t j = 0; j < nr; ++j)
            finish(a, r + j, o + i, out[i * nr + j]);
      }
    }
  });
}

/// Any format GGMLFormats decodes: per output, the weight row decoded once
/// into the thread's buffer, then dotted with every input row in f32.
void runDecoded(const LinearArgs &a, int64_t rowBytes) {
  const uint8_t *w = static_cast<const uint8_t *>(a.weightBlocks);
  const int64_t threads = std::max<int64_t>(1, numThreads());
  const int64_t chunk =
      std::max<int64_t>(16, (a.out + 4 * threads - 1) / (4 * threads));
  parallelFor((a.out + chunk - 1) / chunk, [&](int64_t c) {
    thread_local std::vector<float> row;
    row.resize(size_t(a.in));
    const int64_t o1 = std::min(a.out, (c + 1) * chunk);
    for (int64_t o = c * chunk; o < o1; ++o) {
      dequantizeRow(a.blockType, w + o * rowBytes, row.data(), a.in);
      for (int64_t r = 0; r < a.rows; ++r) {
        const float *x = a.input + r * a.in;
        float acc = 0.0f;
        for (int64_t k = 0; k < a.in; ++k)
          acc += row[size_t(k)] * x[k];
        finish(a, r, o, acc);
      }
    }
  });
}

/// Bytes of one weight row of a linear over blocks.
int64_t rowBytesOf(const LinearArgs &a) {
  const GGMLTypeTraits traits = *ggmlTypeTraits(uint32_t(a.blockType));
  return a.in / traits.blockElements * traits.blockBytes;
}

//===----------------------------------------------------------------------===//
// Packed weights: decode 8 output rows at a time
//===----------------------------------------------------------------------===//
//
// A group of 8 rows (r = 0..7) stores, block after block:
//   Q4_0  per 32: d[8] (f16), nibbles[128]
//   Q4_1  per 32: d[8], m[8] (f16), nibbles[128]
//   Q5_0  per 32: d[8] (f16), fifth[32], nibbles[128]
//   Q5_1  per 32: d[8], m[8] (f16), fifth[32], nibbles[128]
//   Q4_K  per 256: d[8], dmin[8] (f16); then per 32 of it: sc[8], m[8]
//         (the 6-bit values, a byte each), nibbles[128]
//   Q8_0  per 32: d[8] (f16), levels[256]
//   Q6_K  per 256: d[8] (f16), scales[16][8] (int8, one per 16 weights);
//         then per 32 of it: top[64], nibbles[128] (the 6-bit levels q6
//         as stored, 0..63, weight = d * scale * (q6 - 32))
// nibbles: 4 vectors of 32 bytes; byte 4r + j of vector i holds row r's
// level 4i + j in its low nibble and level 16 + 4i + j in its high one (as
// Q4_0 keeps levels j and j + 16 in one byte). levels: 16 vectors of 16
// signed bytes; bytes 2r and 2r + 1 of vector p are row r's levels 2p and
// 2p + 1. fifth: the 5-bit formats' high bits, bit i of byte 4r + j that
// of level 4i + j, bit 4 + i that of level 16 + 4i + j. top: Q6_K's two
// high bits, bits 2i and 2i + 1 of byte 4r + j of the first 32 bytes those
// of level 4i + j, of the second 32 those of level 16 + 4i + j (6.75 bits
// a weight with the scales, where bytes took 8.5).
//
// Both kernels broadcast the inputs, the same to every row, so the integer
// sums land one row per 32-bit lane: the 8 rows' scales multiply them as
// one vector and no horizontal sum is left. The 4-bit levels multiply the
// inputs as bytes (vpmaddubsw, unsigned levels times signed bytes): each
// 16-bit input is split into q = 256 h + l (splitInputAVX2), and h and l each
// multiply the levels; eight such products of a 16-bit lane (|sum| <=
// 16 * 15 * 128; with 5-bit levels four, 8 * 31 * 128) add in 16 bits
// before widening (on AVX512-VNNI, vpdpbusd adds four products straight
// into 32 bits). Q6_K's 6-bit levels go the same way, unsigned (q6, not
// q6 - 32; 32 times the inputs' sum over each 16 is subtracted after), two
// products to a 16-bit lane before widening (2 * 63 * 128 each), its two
// halves of 16 apart for their scales. Q8_0's byte levels widen to 16
// bits and multiply pairs of 16-bit inputs (vpmaddwd; vpdpwssd on
// AVX512-VNNI, which adds them too). Both instruction sets read the same
// packed bytes.

constexpr bool packsNibbles(GGMLType t) {
  return isQ4(t) || isQ5(t) || t == GGMLType::Q4_K;
}

constexpr bool hasPackedKernel(GGMLType t) {
  return packsNibbles(t) || t == GGMLType::Q8_0 || t == GGMLType::Q6_K;
}

constexpr int64_t kGroupRows = 8;

/// Bytes of one group of 8 rows `in` long.
template <GGMLType T> constexpr int64_t packedGroupBytes(int64_t in) {
  const int64_t blocks = in / kBlock, supers = in / 256;
  switch (T) {
  case GGMLType::Q4_0:
    return blocks * (16 + 128);
  case GGMLType::Q4_1:
    return blocks * (32 + 128);
  case GGMLType::Q5_0:
    return blocks * (16 + 32 + 128);
  case GGMLType::Q5_1:
    return blocks * (32 + 32 + 128);
  case GGMLType::Q4_K:
    return supers * 32 + blocks * (16 + 128);
  case GGMLType::Q8_0:
    return blocks * (16 + 256);
  default: // Q6_K: 6 bits as 4 + 2
    return supers * (16 + 128) + blocks * (64 + 128);
  }
}

/// Bytes of one packed sub-block of 32, about (the K formats' per-256
/// headers spread over their 8 sub-blocks).
template <GGMLType T> constexpr int64_t packedBlockBytes() {
  return packedGroupBytes<T>(256) / 8;
}

/// Sub-block `b` of a row as packed: the levels as they multiply the
/// inputs (Q6_K's 6-bit levels as stored, 0..63, before its 16-weight
/// scales).
template <GGMLType T>
void packedLevels(const uint8_t *row, int64_t b, int32_t *q) {
  if constexpr (T == GGMLType::Q6_K) {
    const Q6Sub s = q6Sub(row, b);
    for (int k = 0; k < 32; ++k) {
      const int low = s.highNibble ? s.ql[k] >> 4 : s.ql[k] & 0x0f;
      q[k] = low | (((s.qh[k] >> s.shift) & 3) << 4);
    }
  } else {
    float scale, offset;
    subBlock<T>(row, b, q, scale, offset);
  }
}

/// Packs the group of 8 rows from `rows` (rowBytes apart) into `p`.
template <GGMLType T>
void packGroup(const uint8_t *rows, int64_t rowBytes, int64_t blocks,
               uint8_t *p) {
  const auto row = [&](int r) { return rows + r * rowBytes; };
  for (int64_t b = 0; b < blocks; ++b) {
    if constexpr (T == GGMLType::Q4_K || T == GGMLType::Q6_K) {
      const int64_t superBytes = blockBytes<T>();
      if (b % 8 == 0) {
        for (int r = 0; r < kGroupRows; ++r) {
          const uint8_t *super = row(r) + (b / 8) * superBytes;
          if constexpr (T == GGMLType::Q4_K) {
            std::memcpy(p + 2 * r, super, 2);
            std::memcpy(p + 16 + 2 * r, super + 2, 2);
          } else {
            std::memcpy(p + 2 * r, super + 208, 2);
            for (int h = 0; h < 16; ++h)
              p[16 + h * 8 + r] = super[192 + h];
          }
        }
        p += T == GGMLType::Q4_K ? 32 : 16 + 128;
      }
      if constexpr (T == GGMLType::Q4_K) {
        for (int r = 0; r < kGroupRows; ++r)
          scaleMinK4(int(b % 8), row(r) + (b / 8) * superBytes + 4, p[r],
                     p[8 + r]);
        p += 16;
      }
    } else {
      for (int r = 0; r < kGroupRows; ++r) {
        const uint8_t *blk = row(r) + b * blockBytes<T>();
        std::memcpy(p + 2 * r, blk, 2);
        if constexpr (T == GGMLType::Q4_1 || T == GGMLType::Q5_1)
          std::memcpy(p + 16 + 2 * r, blk + 2, 2);
      }
      p += T == GGMLType::Q4_1 || T == GGMLType::Q5_1 ? 32 : 16;
    }
    int32_t q[kGroupRows][32];
    for (int r = 0; r < kGroupRows; ++r)
      packedLevels<T>(row(r), b, q[r]);
    if constexpr (T == GGMLType::Q6_K) {
      // The 6-bit levels' top 2 bits first, then the low 4 as the 4-bit
      // formats' nibbles.
      for (int r = 0; r < kGroupRows; ++r)
        for (int j = 0; j < 4; ++j) {
          int low = 0, high = 0;
          for (int i = 0; i < 4; ++i) {
            low |= (q[r][4 * i + j] >> 4) << (2 * i);
            high |= (q[r][16 + 4 * i + j] >> 4) << (2 * i);
          }
          p[4 * r + j] = uint8_t(low);
          p[32 + 4 * r + j] = uint8_t(high);
        }
      p += 64;
    }
    if constexpr (packsNibbles(T) || T == GGMLType::Q6_K) {
      if constexpr (isQ5(T)) {
        for (int r = 0; r < kGroupRows; ++r)
          for (int j = 0; j < 4; ++j) {
            int bits = 0;
            for (int i = 0; i < 4; ++i)
              bits |= (q[r][4 * i + j] >> 4) << i | (q[r][16 + 4 * i + j] >> 4)
                                                        << (4 + i);
            p[4 * r + j] = uint8_t(bits);
          }
        p += 32;
      }
      for (int i = 0; i < 4; ++i)
        for (int r = 0; r < kGroupRows; ++r)
          for (int j = 0; j < 4; ++j)
            p[32 * i + 4 * r + j] = uint8_t((q[r][4 * i + j] & 0x0f) |
                                            (q[r][16 + 4 * i + j] & 0x0f) << 4);
      p += 128;
    } else {
      for (int pair = 0; pair < 16; ++pair)
        for (int r = 0; r < kGroupRows; ++r)
          for (int k = 0; k < 2; ++k)
            p[16 * pair + 2 * r + k] = uint8_t(int8_t(q[r][2 * pair + k]));
      p += 256;
    }
  }
}

/// Whether a format's packed kernels multiply the inputs as split bytes.
constexpr bool splitsInput(GGMLType t) {
  return packsNibbles(t) || t == GGMLType::Q6_K;
}

/// The sums of a quantized input over each 16 (Q6_K's per-16 scales): its
/// levels q6 are multiplied unsigned, and 32 times these sums subtracted.
void sumsOf16(const int16_t *q, int64_t n, int32_t *out) {
  for (int64_t h = 0; h < n / 16; ++h) {
    int32_t sum = 0;
    for (int j = 0; j < 16; ++j)
      sum += q[h * 16 + j];
    out[h] = sum;
  }
}

/// Each 16-bit input as two signed bytes, q = 256 h + l, per block of 32:
/// h[32] then l[32]. |q| <= kInputMax keeps h within [-127, 127]. In AVX2
/// (the packed kernels' baseline): a plain loop ran on the calling thread
/// at 2.3% of SmolLM2's decode on Zen 5.
__attribute__((target(XF_AVX2))) void splitInputAVX2(const int16_t *q,
                                                     int64_t n, int8_t *out) {
  const __m256i half = _mm256_set1_epi16(128);
  for (int64_t b = 0; b < n / kBlock; ++b) {
    __m256i h[2], l[2];
    for (int k = 0; k < 2; ++k) {
      const __m256i v = _mm256_loadu_si256(
          reinterpret_cast<const __m256i *>(q + b * kBlock + 16 * k));
      // (v + 128) >> 8 without overflow: |v| <= 32512.
      h[k] = _mm256_srai_epi16(_mm256_add_epi16(v, half), 8);
      l[k] = _mm256_sub_epi16(v, _mm256_slli_epi16(h[k], 8));
    }
    // packs interleaves 128-bit lanes: permute them back into order.
    _mm256_storeu_si256(
        reinterpret_cast<__m256i *>(out + b * 64),
        _mm256_permute4x64_epi64(_mm256_packs_epi16(h[0], h[1]), 0xd8));
    _mm256_storeu_si256(
        reinterpret_cast<__m256i *>(out + b * 64 + 32),
        _mm256_permute4x64_epi64(_mm256_packs_epi16(l[0], l[1]), 0xd8));
  }
}

__attribute__((target(XF_AVX2))) inline __m256 halves8(const uint8_t *p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i *>(p)));
}

/// Four bytes in every 32-bit lane.
__attribute__((target(XF_AVX2))) inline __m256i broadcast4(const void *p) {
  int32_t v;
  std::memcpy(&v, p, sizeof(v));
  return _mm256_set1_epi32(v);
}

template <bool Signed>
__attribute__((target(XF_AVX2))) inline __m256 bytes8(const uint8_t *p) {
  const __m128i v = _mm_loadl_epi64(reinterpret_cast<const __m128i *>(p));
  return _mm256_cvtepi32_ps(Signed ? _mm256_cvtepi8_epi32(v)
                                   : _mm256_cvtepu8_epi32(v));
}

/// How far ahead of a packed kernel's reads its weights are prefetched, in
/// bytes (a thread's groups are consecutive, so the next bytes are the
/// next group's): the hardware prefetcher alone kept the 4-bit kernels at
/// 15 GB/s on Intel Xeon (1x576x1536 Q4_1: 15.5 GB/s without, 20.7 with
/// 2 KiB; 4 KiB ran past the LM head's stream).
constexpr int64_t kPackedPrefetch = 2048;

/// Prefetches the packed bytes kPackedPrefetch ahead of [p, p + n).
inline void prefetchAhead(const uint8_t *p, int64_t n) {
  static const bool prefetch = softwarePrefetch();
  if (!prefetch)
    return;
  for (int64_t off = 0; off < n; off += 64)
    _mm_prefetch(reinterpret_cast<const char *>(p + kPackedPrefetch + off),
                 _MM_HINT_T0);
}

/// Vector i of a packed sub-block's nibbles as bytes: the levels 4i + j
/// of the 8 rows in `lo`, 16 + 4i + j in `hi` (with the 5-bit formats'
/// fifth bits).
template <GGMLType T>
__attribute__((target(XF_AVX2))) inline void
nibbleLevels(const uint8_t *p, __m256i fifth, int i, __m256i &lo, __m256i &hi) {
  const __m256i low = _mm256_set1_epi8(0x0f);
  const __m256i v =
      _mm256_loadu_si256(reinterpret_cast<const __m256i *>(p + 32 * i));
  lo = _mm256_and_si256(v, low);
  hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low);
  if constexpr (isQ5(T)) {
    // Bit i (and 4 + i) of each byte to bit 4: the 16-bit shifts move no
    // neighbour's bit there.
    const __m256i bit4 = _mm256_set1_epi8(0x10);
    lo = _mm256_or_si256(
        lo, _mm256_and_si256(_mm256_slli_epi16(fifth, 4 - i), bit4));
    hi = _mm256_or_si256(hi,
                         _mm256_and_si256(_mm256_srli_epi16(fifth, i), bit4));
  }
}

/// The integer dot products of a packed sub-block's 8 rows with the split
/// inputs `xs` (h[32] then l[32]), one row per lane: on AVX2 the byte
/// products add in 16 bits (vpmaddubsw) and widen every 32 (16 with 5-bit
/// levels) ...
template <GGMLType T>
__attribute__((target(XF_AVX2))) inline __m256i
nibbleDotAVX2(const uint8_t *p, __m256i fifth, const int8_t *xs) {
  const __m256i by256 = _mm256_set1_epi16(256), one = _mm256_set1_epi16(1);
  __m256i h = _mm256_setzero_si256(), l = _mm256_setzero_si256(),
          dot = _mm256_setzero_si256();
  for (int i = 0; i < 4; ++i) {
    __m256i lo, hi;
    nibbleLevels<T>(p, fifth, i, lo, hi);
    h = _mm256_add_epi16(
        h, _mm256_add_epi16(
               _mm256_maddubs_epi16(lo, broadcast4(xs + 4 * i)),
               _mm256_maddubs_epi16(hi, broadcast4(xs + 16 + 4 * i))));
    l = _mm256_add_epi16(
        l, _mm256_add_epi16(
               _mm256_maddubs_epi16(lo, broadcast4(xs + 32 + 4 * i)),
               _mm256_maddubs_epi16(hi, broadcast4(xs + 48 + 4 * i))));
    if (i == 3 || (isQ5(T) && i == 1)) {
      dot = _mm256_add_epi32(dot, _mm256_add_epi32(_mm256_madd_epi16(h, by256),
                                                   _mm256_madd_epi16(l, one)));
      h = l = _mm256_setzero_si256();
    }
  }
  return dot;
}

/// ... on AVX512-VNNI four byte products add straight into 32 bits
/// (vpdpbusd), the high and low halves apart: 256 h + l.
template <GGMLType T>
__attribute__((target(XF_VNNI))) inline __m256i
nibbleDotVNNI(const uint8_t *p, __m256i fifth, const int8_t *xs) {
  __m256i h = _mm256_setzero_si256(), l = _mm256_setzero_si256();
  for (int i = 0; i < 4; ++i) {
    __m256i lo, hi;
    nibbleLevels<T>(p, fifth, i, lo, hi);
    h = _mm256_dpbusd_epi32(h, lo, broadcast4(xs + 4 * i));
    h = _mm256_dpbusd_epi32(h, hi, broadcast4(xs + 16 + 4 * i));
    l = _mm256_dpbusd_epi32(l, lo, broadcast4(xs + 32 + 4 * i));
    l = _mm256_dpbusd_epi32(l, hi, broadcast4(xs + 48 + 4 * i));
  }
  return _mm256_add_epi32(_mm256_slli_epi32(h, 8), l);
}

/// One group of a 4-bit format by one input row: its 8 outputs (defined
/// once per instruction set, with its NIBBLE_DOT).
#define XF_DEFINE_NIBBLE_GROUP(NAME, TARGET, NIBBLE_DOT)                       \
  template <GGMLType T>                                                        \
  __attribute__((target(TARGET))) void NAME(const uint8_t *p, int64_t blocks,  \
                                            const int8_t *split,               \
                                            const QuantRow &x, float *out) {   \
    __m256 acc = _mm256_setzero_ps(), offsets = _mm256_setzero_ps(),           \
           d = _mm256_setzero_ps(), dmin = _mm256_setzero_ps();                \
    for (int64_t b = 0; b < blocks; ++b) {                                     \
      prefetchAhead(p, packedBlockBytes<T>());                                 \
      __m256 scale, offset;                                                    \
      if constexpr (T == GGMLType::Q4_K) {                                     \
        if (b % 8 == 0) {                                                      \
          d = halves8(p);                                                      \
          dmin = halves8(p + 16);                                              \
          p += 32;                                                             \
        }                                                                      \
        scale = _mm256_mul_ps(d, bytes8<false>(p));                            \
        /* Q4_K's offset is -dmin m: subtracted below. */                      \
        offset = _mm256_mul_ps(dmin, bytes8<false>(p + 8));                    \
        p += 16;                                                               \
      } else {                                                                 \
        scale = halves8(p);                                                    \
        p += 16;                                                               \
        if constexpr (T == GGMLType::Q4_1 || T == GGMLType::Q5_1) {            \
          offset = halves8(p);                                                 \
          p += 16;                                                             \
        } else {                                                               \
          offset = _mm256_mul_ps(                                              \
              scale, _mm256_set1_ps(T == GGMLType::Q5_0 ? -16.0f : -8.0f));    \
        }                                                                      \
      }                                                                        \
      __m256i fifth = _mm256_setzero_si256();                                  \
      if constexpr (isQ5(T)) {                                                 \
        fifth = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(p));      \
        p += 32;                                                               \
      }                                                                        \
      const __m256i dot = NIBBLE_DOT<T>(p, fifth, split + b * 64);             \
      p += 128;                                                                \
      acc =                                                                    \
          _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot),                             \
                          _mm256_mul_ps(scale, _mm256_set1_ps(x.d[b])), acc);  \
      if constexpr (T == GGMLType::Q4_K)                                       \
        offsets =                                                              \
            _mm256_fnmadd_ps(offset, _mm256_set1_ps(x.dsum[b]), offsets);      \
      else                                                                     \
        offsets = _mm256_fmadd_ps(offset, _mm256_set1_ps(x.dsum[b]), offsets); \
    }                                                                          \
    _mm256_storeu_ps(out, _mm256_add_ps(acc, offsets));                        \
  }

XF_DEFINE_NIBBLE_GROUP(nibbleGroupAVX2, XF_AVX2, nibbleDotAVX2)
XF_DEFINE_NIBBLE_GROUP(nibbleGroupVNNI, XF_VNNI, nibbleDotVNNI)
#undef XF_DEFINE_NIBBLE_GROUP

/// The 8 rows' levels of a packed byte sub-block (Q8_0, Q6_K) widened to
/// 16 bits, pair by pair, by 16-bit input pairs: vpmaddwd and adds on
/// AVX2, vpdpwssd on AVX512-VNNI. `dot[0]` sums the first 16 levels,
/// `dot[1]` the last (Q6_K's two scales).
__attribute__((target(XF_AVX2))) inline __m256i levelPair(const uint8_t *p,
                                                          int pair) {
  return _mm256_cvtepi8_epi16(
      _mm_loadu_si128(reinterpret_cast<const __m128i *>(p + 16 * pair)));
}

__attribute__((target(XF_AVX2))) inline void
byteDotAVX2(const uint8_t *p, const int16_t *xq, __m256i *dot) {
  for (int pair = 0; pair < 16; ++pair)
    dot[pair / 8] = _mm256_add_epi32(
        dot[pair / 8],
        _mm256_madd_epi16(levelPair(p, pair), broadcast4(xq + 2 * pair)));
}

__attribute__((target(XF_VNNI))) inline void
byteDotVNNI(const uint8_t *p, const int16_t *xq, __m256i *dot) {
  for (int pair = 0; pair < 16; ++pair)
    dot[pair / 8] = _mm256_dpwssd_epi32(dot[pair / 8], levelPair(p, pair),
                                        broadcast4(xq + 2 * pair));
}

/// One group of Q8_0 by one input row: its 8 outputs. A lane sums 16
/// products of |level| <= 128 and |q| <= 32512.
#define XF_DEFINE_BYTE_GROUP(NAME, TARGET, BYTE_DOT)                           \
  template <GGMLType T>                                                        \
  __attribute__((target(TARGET))) void NAME(const uint8_t *p, int64_t blocks,  \
                                            const QuantRow &x, float *out) {   \
    static_assert(T == GGMLType::Q8_0, "the byte layout is Q8_0's");          \
    __m256 acc = _mm256_setzero_ps();                                          \
    for (int64_t b = 0; b < blocks; ++b) {                                     \
      prefetchAhead(p, packedBlockBytes<T>());                                 \
      const __m256 d = halves8(p);                                             \
      p += 16;                                                                 \
      __m256i dot[2] = {_mm256_setzero_si256(), _mm256_setzero_si256()};       \
      BYTE_DOT(p, x.q + b * kBlock, dot);                                      \
      p += 256;                                                                \
      const __m256 sum = _mm256_cvtepi32_ps(_mm256_add_epi32(dot[0], dot[1])); \
      acc =                                                                    \
          _mm256_fmadd_ps(sum, _mm256_mul_ps(d, _mm256_set1_ps(x.d[b])), acc); \
    }                                                                          \
    _mm256_storeu_ps(out, acc);                                                \
  }

XF_DEFINE_BYTE_GROUP(byteGroupAVX2, XF_AVX2, byteDotAVX2)
XF_DEFINE_BYTE_GROUP(byteGroupVNNI, XF_VNNI, byteDotVNNI)
#undef XF_DEFINE_BYTE_GROUP

/// Q6_K's top two bits of vector i's levels at bits 4 and 5 of each byte
/// (`top` one of the sub-block's two top-bit vectors): 16-bit shifts move
/// no neighbour's bit there.
template <int I>
__attribute__((target(XF_AVX2))) inline __m256i topBits(__m256i top) {
  const __m256i mask = _mm256_set1_epi8(0x30);
  if constexpr (I == 0)
    return _mm256_and_si256(_mm256_slli_epi16(top, 4), mask);
  else if constexpr (I == 1)
    return _mm256_and_si256(_mm256_slli_epi16(top, 2), mask);
  else if constexpr (I == 2)
    return _mm256_and_si256(top, mask);
  else
    return _mm256_and_si256(_mm256_srli_epi16(top, 2), mask);
}

/// Vector I of a packed Q6_K sub-block's levels (0..63) as bytes: levels
/// 4I + j of the 8 rows in `lo`, 16 + 4I + j in `hi`.
template <int I>
__attribute__((target(XF_AVX2))) inline void
sixBitVector(const uint8_t *p, __m256i top0, __m256i top1, __m256i &lo,
             __m256i &hi) {
  const __m256i low = _mm256_set1_epi8(0x0f);
  const __m256i v =
      _mm256_loadu_si256(reinterpret_cast<const __m256i *>(p + 64 + 32 * I));
  lo = _mm256_or_si256(_mm256_and_si256(v, low), topBits<I>(top0));
  hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(v, 4), low),
                       topBits<I>(top1));
}

/// All four vectors of a packed Q6_K sub-block's levels.
__attribute__((target(XF_AVX2))) inline void
sixBitLevels(const uint8_t *p, __m256i *lo, __m256i *hi) {
  const __m256i top0 =
                    _mm256_loadu_si256(reinterpret_cast<const __m256i *>(p)),
                top1 = _mm256_loadu_si256(
                    reinterpret_cast<const __m256i *>(p + 32));
  sixBitVector<0>(p, top0, top1, lo[0], hi[0]);
  sixBitVector<1>(p, top0, top1, lo[1], hi[1]);
  sixBitVector<2>(p, top0, top1, lo[2], hi[2]);
  sixBitVector<3>(p, top0, top1, lo[3], hi[3]);
}

/// The integer dot products of a packed Q6_K sub-block's 8 rows with the
/// split inputs, levels 0-15 in dot[0] and 16-31 in dot[1]: on AVX2 two
/// byte products add in 16 bits (|sum| <= 2 * 63 * 128 each) ...
__attribute__((target(XF_AVX2))) inline void
sixBitDotAVX2(const uint8_t *p, const int8_t *xs, __m256i *dot) {
  const __m256i by256 = _mm256_set1_epi16(256), one = _mm256_set1_epi16(1);
  __m256i lo[4], hi[4];
  sixBitLevels(p, lo, hi);
  dot[0] = dot[1] = _mm256_setzero_si256();
  for (int i = 0; i < 4; i += 2)
    for (int half = 0; half < 2; ++half) {
      const __m256i *lv = half ? hi : lo;
      const int8_t *x = xs + 16 * half + 4 * i;
      // x[0..7] the high bytes of this half's inputs 4i..4i+7, x[32..] the
      // low ones.
      const __m256i h = _mm256_add_epi16(
                        _mm256_maddubs_epi16(lv[i], broadcast4(x)),
                        _mm256_maddubs_epi16(lv[i + 1], broadcast4(x + 4))),
                    l = _mm256_add_epi16(
                        _mm256_maddubs_epi16(lv[i], broadcast4(x + 32)),
                        _mm256_maddubs_epi16(lv[i + 1], broadcast4(x + 36)));
      dot[half] = _mm256_add_epi32(
          dot[half], _mm256_add_epi32(_mm256_madd_epi16(h, by256),
                                      _mm256_madd_epi16(l, one)));
    }
}

/// ... on AVX512-VNNI four byte products add straight into 32 bits.
__attribute__((target(XF_VNNI))) inline void
sixBitDotVNNI(const uint8_t *p, const int8_t *xs, __m256i *dot) {
  __m256i lo[4], hi[4];
  sixBitLevels(p, lo, hi);
  __m256i hl = _mm256_setzero_si256(), ll = hl, hh = hl, lh = hl;
  for (int i = 0; i < 4; ++i) {
    hl = _mm256_dpbusd_epi32(hl, lo[i], broadcast4(xs + 4 * i));
    ll = _mm256_dpbusd_epi32(ll, lo[i], broadcast4(xs + 32 + 4 * i));
    hh = _mm256_dpbusd_epi32(hh, hi[i], broadcast4(xs + 16 + 4 * i));
    lh = _mm256_dpbusd_epi32(lh, hi[i], broadcast4(xs + 48 + 4 * i));
  }
  dot[0] = _mm256_add_epi32(_mm256_slli_epi32(hl, 8), ll);
  dot[1] = _mm256_add_epi32(_mm256_slli_epi32(hh, 8), lh);
}

/// One group of Q6_K by one input row: its 8 outputs. `sum16` holds the
/// row's sums over each 16 (sumsOf16).
#define XF_DEFINE_SIX_BIT_GROUP(NAME, TARGET, SIX_BIT_DOT)                     \
  __attribute__((target(TARGET))) void NAME(                                   \
      const uint8_t *p, int64_t blocks, const int8_t *split,                   \
      const int32_t *sum16, const QuantRow &x, float *out) {                   \
    __m256 acc = _mm256_setzero_ps(), d = _mm256_setzero_ps();                 \
    const uint8_t *scales = nullptr;                                           \
    for (int64_t b = 0; b < blocks; ++b) {                                     \
      prefetchAhead(p, packedBlockBytes<GGMLType::Q6_K>());                    \
      if (b % 8 == 0) {                                                        \
        d = halves8(p);                                                        \
        scales = p + 16;                                                       \
        p += 16 + 128;                                                         \
      }                                                                        \
      __m256i dot[2];                                                          \
      SIX_BIT_DOT(p, split + b * 64, dot);                                     \
      p += 64 + 128;                                                           \
      const uint8_t *s = scales + (b % 8) * 16;                                \
      const __m256 lo = _mm256_cvtepi32_ps(_mm256_sub_epi32(                   \
                       dot[0], _mm256_set1_epi32(32 * sum16[2 * b]))),         \
                   hi = _mm256_cvtepi32_ps(_mm256_sub_epi32(                   \
                       dot[1], _mm256_set1_epi32(32 * sum16[2 * b + 1])));     \
      const __m256 sum = _mm256_fmadd_ps(                                      \
          lo, bytes8<true>(s), _mm256_mul_ps(hi, bytes8<true>(s + 8)));        \
      acc =                                                                    \
          _mm256_fmadd_ps(sum, _mm256_mul_ps(d, _mm256_set1_ps(x.d[b])), acc); \
    }                                                                          \
    _mm256_storeu_ps(out, acc);                                                \
  }

XF_DEFINE_SIX_BIT_GROUP(sixBitGroupAVX2, XF_AVX2, sixBitDotAVX2)
XF_DEFINE_SIX_BIT_GROUP(sixBitGroupVNNI, XF_VNNI, sixBitDotVNNI)
#undef XF_DEFINE_SIX_BIT_GROUP

//===----------------------------------------------------------------------===//
// Prefill on packed weights: two groups by many rows (AVX512-VNNI)
//===----------------------------------------------------------------------===//
//
// From kPackedGemmRows rows on, a CPU with AVX512-VNNI multiplies the
// packed groups by the inputs quantized as for decode (16 bits per block
// of 32), two groups (16 outputs) to a 512-bit vector: each sub-block's
// levels are unpacked once for a tile of up to kGemmRows input rows, and
// each row's integer dot products land one output per 32-bit lane, as in
// the decode kernels (vpdpbusd on the split bytes of the 4-, 5- and 6-bit
// levels, vpdpwssd on Q8_0's byte levels). Prefill then computes what
// decode computes, and the weights are read as packed, not decoded to f32.

/// Input rows in one tile of the packed GEMM: a tile's 8 level vectors and
/// 8 accumulators fit the 32 vector registers with room for the row's
/// integer sums.
constexpr int kGemmRows = 8;

#define XF_VNNI512 XF_VNNI ",avx512dq"

/// 32 bytes at `p` and 32 at `p + stride` as one vector (two groups' same
/// bytes side by side).
__attribute__((target(XF_VNNI512))) inline __m512i load2x256(const uint8_t *p,
                                                             int64_t stride) {
  return _mm512_inserti64x4(
      _mm512_castsi256_si512(
          _mm256_loadu_si256(reinterpret_cast<const __m256i *>(p))),
      _mm256_loadu_si256(reinterpret_cast<const __m256i *>(p + stride)), 1);
}

/// 16 bytes at `p` and 16 at `p + stride` as one 256-bit vector.
__attribute__((target(XF_VNNI512))) inline __m256i load2x128(const uint8_t *p,
                                                             int64_t stride) {
  return _mm256_inserti128_si256(
      _mm256_castsi128_si256(
          _mm_loadu_si128(reinterpret_cast<const __m128i *>(p))),
      _mm_loadu_si128(reinterpret_cast<const __m128i *>(p + stride)), 1);
}

/// Two groups' 8 f16 scales as 16 floats.
__attribute__((target(XF_VNNI512))) inline __m512 halves16(const uint8_t *p,
                                                           int64_t stride) {
  return _mm512_cvtph_ps(load2x128(p, stride));
}

/// Two groups' 8 bytes (unsigned or signed) as 16 floats.
template <bool Signed>
__attribute__((target(XF_VNNI512))) inline __m512 bytes16(const uint8_t *p,
                                                          int64_t stride) {
  const __m128i v = _mm_unpacklo_epi64(
      _mm_loadl_epi64(reinterpret_cast<const __m128i *>(p)),
      _mm_loadl_epi64(reinterpret_cast<const __m128i *>(p + stride)));
  return _mm512_cvtepi32_ps(Signed ? _mm512_cvtepi8_epi32(v)
                                   : _mm512_cvtepu8_epi32(v));
}

/// Four bytes in every 32-bit lane of a 512-bit vector.
__attribute__((target(XF_VNNI512))) inline __m512i broadcast4x16(const void *p) {
  int32_t v;
  std::memcpy(&v, p, sizeof(v));
  return _mm512_set1_epi32(v);
}

/// Two groups of a 4- or 5-bit format (`stride` bytes apart) by NR input
/// rows: out[r * 16 + i] is output i's sum for row r. `split` holds each
/// row's split inputs (blocks * 64 bytes a row), `x` its scales.
template <GGMLType T, int NR>
__attribute__((target(XF_VNNI512))) void
nibbleGemmVNNI(const uint8_t *p, int64_t stride, int64_t blocks,
               const int8_t *split, const int32_t *, const QuantRow *x,
               float *out) {
  const __m512i low = _mm512_set1_epi8(0x0f);
  __m512 acc[NR];
  for (int r = 0; r < NR; ++r)
    acc[r] = _mm512_setzero_ps();
  __m512 d = _mm512_setzero_ps(), dmin = _mm512_setzero_ps();
  for (int64_t b = 0; b < blocks; ++b) {
    __m512 scale, offset;
    if constexpr (T == GGMLType::Q4_K) {
      if (b % 8 == 0) {
        d = halves16(p, stride);
        dmin = halves16(p + 16, stride);
        p += 32;
      }
      scale = _mm512_mul_ps(d, bytes16<false>(p, stride));
      // Q4_K's offset is -dmin m: subtracted below.
      offset = _mm512_mul_ps(dmin, bytes16<false>(p + 8, stride));
      p += 16;
    } else {
      scale = halves16(p, stride);
      p += 16;
      if constexpr (T == GGMLType::Q4_1 || T == GGMLType::Q5_1) {
        offset = halves16(p, stride);
        p += 16;
      } else {
        offset = _mm512_mul_ps(
            scale, _mm512_set1_ps(T == GGMLType::Q5_0 ? -16.0f : -8.0f));
      }
    }
    __m512i fifth = _mm512_setzero_si512();
    if constexpr (isQ5(T)) {
      fifth = load2x256(p, stride);
      p += 32;
    }
    __m512i lo[4], hi[4];
    for (int i = 0; i < 4; ++i) {
      const __m512i v = load2x256(p + 32 * i, stride);
      lo[i] = _mm512_and_si512(v, low);
      hi[i] = _mm512_and_si512(_mm512_srli_epi16(v, 4), low);
      if constexpr (isQ5(T)) {
        const __m512i bit4 = _mm512_set1_epi8(0x10);
        lo[i] = _mm512_or_si512(
            lo[i], _mm512_and_si512(_mm512_slli_epi16(fifth, 4 - i), bit4));
        hi[i] = _mm512_or_si512(
            hi[i], _mm512_and_si512(_mm512_srli_epi16(fifth, i), bit4));
      }
    }
    p += 128;
    for (int r = 0; r < NR; ++r) {
      const int8_t *xs = split + (int64_t(r) * blocks + b) * 64;
      __m512i h = _mm512_setzero_si512(), l = _mm512_setzero_si512();
      for (int i = 0; i < 4; ++i) {
        h = _mm512_dpbusd_epi32(h, lo[i], broadcast4x16(xs + 4 * i));
        h = _mm512_dpbusd_epi32(h, hi[i], broadcast4x16(xs + 16 + 4 * i));
        l = _mm512_dpbusd_epi32(l, lo[i], broadcast4x16(xs + 32 + 4 * i));
        l = _mm512_dpbusd_epi32(l, hi[i], broadcast4x16(xs + 48 + 4 * i));
      }
      const __m512i dot = _mm512_add_epi32(_mm512_slli_epi32(h, 8), l);
      acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot),
                               _mm512_mul_ps(scale, _mm512_set1_ps(x[r].d[b])),
                               acc[r]);
      if constexpr (T == GGMLType::Q4_K)
        acc[r] = _mm512_fnmadd_ps(offset, _mm512_set1_ps(x[r].dsum[b]), acc[r]);
      else
        acc[r] = _mm512_fmadd_ps(offset, _mm512_set1_ps(x[r].dsum[b]), acc[r]);
    }
  }
  for (int r = 0; r < NR; ++r)
    _mm512_storeu_ps(out + 16 * r, acc[r]);
}

/// Two groups of Q8_0 by NR input rows, as nibbleGemmVNNI: the levels
/// widened to 16 bits, eight pairs at a time, by the rows' 16-bit input
/// pairs (vpdpwssd).
template <GGMLType T, int NR>
__attribute__((target(XF_VNNI512))) void
byteGemmVNNI(const uint8_t *p, int64_t stride, int64_t blocks, const int8_t *,
             const int32_t *, const QuantRow *x, float *out) {
  static_assert(T == GGMLType::Q8_0, "the byte layout is Q8_0's");
  __m512 acc[NR];
  for (int r = 0; r < NR; ++r)
    acc[r] = _mm512_setzero_ps();
  for (int64_t b = 0; b < blocks; ++b) {
    const __m512 scale = halves16(p, stride);
    p += 16;
    for (int half = 0; half < 2; ++half) {
      __m512i levels[8];
      for (int k = 0; k < 8; ++k)
        levels[k] =
            _mm512_cvtepi8_epi16(load2x128(p + 16 * (8 * half + k), stride));
      for (int r = 0; r < NR; ++r) {
        const int16_t *xq = x[r].q + b * kBlock + 16 * half;
        __m512i dot = _mm512_setzero_si512();
        for (int k = 0; k < 8; ++k)
          dot = _mm512_dpwssd_epi32(dot, levels[k], broadcast4x16(xq + 2 * k));
        acc[r] = _mm512_fmadd_ps(
            _mm512_cvtepi32_ps(dot),
            _mm512_mul_ps(scale, _mm512_set1_ps(x[r].d[b])), acc[r]);
      }
    }
    p += 256;
  }
  for (int r = 0; r < NR; ++r)
    _mm512_storeu_ps(out + 16 * r, acc[r]);
}

/// finish() for the 8 outputs [o, o + 8) of row r: the activations a
/// decoder's linears carry (none, ReLU, SiLU) in vectors, SiLU as
/// x / (1 + e^-x) with e^-|x| (x e^x / (1 + e^x) below 0), the others
/// element by element. The epilogue of the packed kernels, decode (its
/// per-output loop and libm's expf were 3% of SmolLM2's decode on Zen 5)
/// and GEMM alike.
__attribute__((target(XF_AVX2))) void finish8(const LinearArgs &a, int64_t r,
                                              int64_t o, const float *sums) {
  if (a.activation != Activation::None && a.activation != Activation::Relu &&
      a.activation != Activation::Silu) {
    for (int64_t i = 0; i < 8; ++i)
      finish(a, r, o + i, sums[i]);
    return;
  }
  __m256 v = _mm256_loadu_ps(sums);
  if (a.bias)
    v = _mm256_add_ps(v, _mm256_loadu_ps(a.bias + o));
  const __m256 zero = _mm256_setzero_ps();
  if (a.activation == Activation::Relu) {
    v = _mm256_max_ps(v, zero);
  } else if (a.activation == Activation::Silu) {
    v = silu8(v);
  }
  const int64_t at = r * a.out + o;
  if (a.residual)
    v = _mm256_add_ps(v, _mm256_loadu_ps(a.residual + at));
  _mm256_storeu_ps(a.output + at, v);
}

/// Two groups of Q6_K by NR input rows, as nibbleGemmVNNI: the 6-bit
/// levels unsigned, 32 times each row's sums over 16 (`sum16`, blocks * 2
/// a row) subtracted, the halves of each 32 scaled apart.
template <int NR>
__attribute__((target(XF_VNNI512))) void
sixBitGemmVNNI(const uint8_t *p, int64_t stride, int64_t blocks,
               const int8_t *split, const int32_t *sum16, const QuantRow *x,
               float *out) {
  const __m512i low = _mm512_set1_epi8(0x0f), mask = _mm512_set1_epi8(0x30);
  __m512 acc[NR];
  for (int r = 0; r < NR; ++r)
    acc[r] = _mm512_setzero_ps();
  __m512 d = _mm512_setzero_ps();
  const uint8_t *scales = nullptr;
  for (int64_t b = 0; b < blocks; ++b) {
    if (b % 8 == 0) {
      d = halves16(p, stride);
      scales = p + 16;
      p += 16 + 128;
    }
    const __m512i top0 = load2x256(p, stride), top1 = load2x256(p + 32, stride);
    __m512i lo[4], hi[4];
    for (int i = 0; i < 4; ++i) {
      const __m512i v = load2x256(p + 64 + 32 * i, stride);
      // Bits 2i and 2i + 1 of the top bytes to bits 4 and 5.
      const __m512i t0 = i == 0   ? _mm512_slli_epi16(top0, 4)
                         : i == 1 ? _mm512_slli_epi16(top0, 2)
                         : i == 2 ? top0
                                  : _mm512_srli_epi16(top0, 2);
      const __m512i t1 = i == 0   ? _mm512_slli_epi16(top1, 4)
                         : i == 1 ? _mm512_slli_epi16(top1, 2)
                         : i == 2 ? top1
                                  : _mm512_srli_epi16(top1, 2);
      lo[i] = _mm512_or_si512(_mm512_and_si512(v, low),
                              _mm512_and_si512(t0, mask));
      hi[i] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(v, 4), low),
                              _mm512_and_si512(t1, mask));
    }
    p += 64 + 128;
    const uint8_t *s = scales + (b % 8) * 16;
    const __m512 s0 = _mm512_mul_ps(d, bytes16<true>(s, stride)),
                 s1 = _mm512_mul_ps(d, bytes16<true>(s + 8, stride));
    for (int r = 0; r < NR; ++r) {
      const int8_t *xs = split + (int64_t(r) * blocks + b) * 64;
      __m512i hl = _mm512_setzero_si512(), ll = hl, hh = hl, lh = hl;
      for (int i = 0; i < 4; ++i) {
        hl = _mm512_dpbusd_epi32(hl, lo[i], broadcast4x16(xs + 4 * i));
        ll = _mm512_dpbusd_epi32(ll, lo[i], broadcast4x16(xs + 32 + 4 * i));
        hh = _mm512_dpbusd_epi32(hh, hi[i], broadcast4x16(xs + 16 + 4 * i));
        lh = _mm512_dpbusd_epi32(lh, hi[i], broadcast4x16(xs + 48 + 4 * i));
      }
      const int32_t *sums = sum16 + (int64_t(r) * blocks + b) * 2;
      const __m512i dot0 = _mm512_sub_epi32(
                        _mm512_add_epi32(_mm512_slli_epi32(hl, 8), ll),
                        _mm512_set1_epi32(32 * sums[0])),
                    dot1 = _mm512_sub_epi32(
                        _mm512_add_epi32(_mm512_slli_epi32(hh, 8), lh),
                        _mm512_set1_epi32(32 * sums[1]));
      const __m512 dx = _mm512_set1_ps(x[r].d[b]);
      acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot0), _mm512_mul_ps(s0, dx),
                               acc[r]);
      acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot1), _mm512_mul_ps(s1, dx),
                               acc[r]);
    }
  }
  for (int r = 0; r < NR; ++r)
    _mm512_storeu_ps(out + 16 * r, acc[r]);
}

using GemmTile = void (*)(const uint8_t *, int64_t, int64_t, const int8_t *,
                          const int32_t *, const QuantRow *, float *);

/// The tiles of 1..kGemmRows rows of a format: [NR - 1].
template <GGMLType T, int... NR>
constexpr std::array<GemmTile, kGemmRows>
gemmTiles(std::integer_sequence<int, NR...>) {
  if constexpr (packsNibbles(T))
    return {nibbleGemmVNNI<T, NR + 1>...};
  else if constexpr (T == GGMLType::Q6_K)
    return {sixBitGemmVNNI<NR + 1>...};
  else
    return {byteGemmVNNI<T, NR + 1>...};
}

/// XFORMER_BLOCK_GEMM=tiles|panels: the integer tiles, or f32 panels and
/// oneDNN's GEMM, for every row count (for comparison); otherwise the
/// path is chosen by row count and CPU.
enum class BlockGemm { Chosen, Tiles, Panels };
BlockGemm blockGemmOverride() {
  static const BlockGemm choice = [] {
    const char *env = std::getenv("XFORMER_BLOCK_GEMM");
    const std::string v = env ? env : "";
    return v == "tiles"    ? BlockGemm::Tiles
           : v == "panels" ? BlockGemm::Panels
                           : BlockGemm::Chosen;
  }();
  return choice;
}

/// Whether linears of more than one row over packed weights run the packed
/// GEMM: on AVX512-VNNI CPUs, unless XFORMER_BLOCK_GEMM picks a path.
bool packedGemm() {
  return blockGemmOverride() == BlockGemm::Chosen &&
         blockISA() == BlockISA::AVX512VNNI;
}

/// The inputs as the packed kernels of T read them, in the calling
/// thread's buffers: split bytes (splitInputAVX2, blocks * 64 a row) and for
/// Q6_K the sums over each 16 (sumsOf16, blocks * 2 a row); `parallel`
/// spreads the rows over the pool.
struct SplitRows {
  const int8_t *split = nullptr;
  const int32_t *sum16 = nullptr;
};

template <GGMLType T>
SplitRows splitRows(const LinearArgs &a, const std::vector<QuantRow> &rows,
                    bool parallel) {
  thread_local std::vector<int8_t> split;
  thread_local std::vector<int32_t> sum16;
  if constexpr (!splitsInput(T))
    return {};
  const int64_t blocks = a.in / kBlock;
  split.resize(size_t(a.rows * blocks * 64));
  if (T == GGMLType::Q6_K)
    sum16.resize(size_t(a.rows * blocks * 2));
  // Named by pointer: in the pool's threads `split` and `sum16` would be
  // those threads' own.
  int8_t *to = split.data();
  int32_t *sums = sum16.data();
  // The packed kernels run on AVX2 CPUs and up only.
  const auto one = [&](int64_t r) {
    splitInputAVX2(rows[size_t(r)].q, a.in, to + r * blocks * 64);
    if (T == GGMLType::Q6_K)
      sumsOf16(rows[size_t(r)].q, a.in, sums + r * blocks * 2);
  };
  if (parallel)
    parallelFor(a.rows, one);
  else
    for (int64_t r = 0; r < a.rows; ++r)
      one(r);
  return {to, T == GGMLType::Q6_K ? sums : nullptr};
}

/// A linear of many rows over packed weights: pairs of groups spread over
/// the pool; in a pair, the rows by tiles of kGemmRows, the pair's packed
/// weights (a few KB to tens of KB) read from the core's cache by every
/// tile after the first. A last odd group and the outputs past the last
/// group as decode computes them.
template <GGMLType T>
void runPackedGemm(const LinearArgs &a, const std::vector<QuantRow> &rows) {
  const PackedBlocks &packed = *a.packed;
  const int64_t blocks = a.in / kBlock, groups = a.out / kGroupRows,
                pairs = groups / 2;
  const SplitRows split = splitRows<T>(a, rows, /*parallel=*/true);
  const int8_t *splitData = split.split;
  static const auto tiles =
      gemmTiles<T>(std::make_integer_sequence<int, kGemmRows>());
  const int64_t threads = std::max<int64_t>(1, numThreads());
  const int64_t chunk =
      std::max<int64_t>(1, (pairs + 4 * threads - 1) / (4 * threads));
  parallelFor((pairs + chunk - 1) / chunk, [&](int64_t c) {
    alignas(64) float out[kGemmRows * 16];
    const int64_t q1 = std::min(pairs, (c + 1) * chunk);
    for (int64_t q = c * chunk; q < q1; ++q) {
      const uint8_t *group = packed.bytes.data() + 2 * q * packed.groupBytes;
      for (int64_t r0 = 0; r0 < a.rows; r0 += kGemmRows) {
        const int64_t nr = std::min<int64_t>(kGemmRows, a.rows - r0);
        // Q8_0 has no split inputs: no offset from a null pointer.
        tiles[size_t(nr - 1)](
            group, packed.groupBytes, blocks,
            splitData ? splitData + r0 * blocks * 64 : nullptr,
            split.sum16 ? split.sum16 + r0 * blocks * 2 : nullptr,
            rows.data() + r0, out);
        for (int64_t r = 0; r < nr; ++r) {
          finish8(a, r0 + r, 2 * q * kGroupRows, out + r * 16);
          finish8(a, r0 + r, 2 * q * kGroupRows + 8, out + r * 16 + 8);
        }
      }
    }
  });
  if (groups % 2) {
    const uint8_t *group =
        packed.bytes.data() + (groups - 1) * packed.groupBytes;
    parallelFor(a.rows, [&](int64_t r) {
      float sums[kGroupRows];
      if constexpr (packsNibbles(T))
        nibbleGroupVNNI<T>(group, blocks, splitData + r * blocks * 64,
                           rows[size_t(r)], sums);
      else if constexpr (T == GGMLType::Q6_K)
        sixBitGroupVNNI(group, blocks, splitData + r * blocks * 64,
                        split.sum16 + r * blocks * 2, rows[size_t(r)], sums);
      else
        byteGroupVNNI<T>(group, blocks, rows[size_t(r)], sums);
      for (int64_t i = 0; i < kGroupRows; ++i)
        finish(a, r, (groups - 1) * kGroupRows + i, sums[i]);
    });
  }
  const int64_t o0 = groups * kGroupRows;
  if (o0 == a.out)
    return;
  const int64_t rowBytes = rowBytesOf(a);
  const auto gemv = gemvFor<T>(BlockISA::AVX512VNNI);
  parallelFor(a.rows, [&](int64_t r) {
    thread_local std::vector<float> dsum4; // no allocation per call
    dsum4.assign(size_t(blocks * 4), 0.0f);
    float sums[kGroupRows];
    for (int64_t b = 0; b < blocks; ++b)
      dsum4[size_t(4 * b)] = rows[size_t(r)].dsum[b];
    gemv(static_cast<const uint8_t *>(a.weightBlocks) + o0 * rowBytes, rowBytes,
         &rows[size_t(r)], blocks, dsum4.data(), a.out - o0, sums);
    for (int64_t o = o0; o < a.out; ++o)
      finish(a, r, o, sums[o - o0]);
  });
}

/// A linear below kPanelRows rows over packed weights: groups spread over
/// the pool, each group's weights (a few KB) read once for every row; the
/// outputs past the last group by the row kernels on the blocks.
template <GGMLType T>
void runPacked(const LinearArgs &a, const std::vector<QuantRow> &rows,
               BlockISA isa) {
  const PackedBlocks &packed = *a.packed;
  const int64_t blocks = a.in / kBlock, groups = a.out / kGroupRows;
  const SplitRows split = splitRows<T>(a, rows, /*parallel=*/false);
  const int8_t *splitData = split.split;
  const bool vnni = isa == BlockISA::AVX512VNNI;
  const int64_t threads = std::max<int64_t>(1, numThreads());
  const int64_t chunk =
      std::max<int64_t>(2, (groups + 4 * threads - 1) / (4 * threads));
  parallelFor((groups + chunk - 1) / chunk, [&](int64_t c) {
    float sums[kGroupRows];
    const int64_t g1 = std::min(groups, (c + 1) * chunk);
    for (int64_t g = c * chunk; g < g1; ++g) {
      const uint8_t *group = packed.bytes.data() + g * packed.groupBytes;
      for (int64_t r = 0; r < a.rows; ++r) {
        if constexpr (packsNibbles(T))
          (vnni ? nibbleGroupVNNI<T>
                : nibbleGroupAVX2<T>)(group, blocks,
                                      splitData + r * blocks * 64,
                                      rows[size_t(r)], sums);
        else if constexpr (T == GGMLType::Q6_K)
          (vnni ? sixBitGroupVNNI : sixBitGroupAVX2)(
              group, blocks, splitData + r * blocks * 64,
              split.sum16 + r * blocks * 2, rows[size_t(r)], sums);
        else
          (vnni ? byteGroupVNNI<T> : byteGroupAVX2<T>)(group, blocks,
                                                       rows[size_t(r)], sums);
        finish8(a, r, g * kGroupRows, sums);
      }
    }
  });
  const int64_t o0 = groups * kGroupRows;
  if (o0 == a.out)
    return;
  const int64_t rowBytes = rowBytesOf(a);
  const auto gemv = gemvFor<T>(isa);
  thread_local std::vector<float> dsum4;
  dsum4.assign(size_t(blocks * 4), 0.0f);
  float sums[kGroupRows];
  for (int64_t r = 0; r < a.rows; ++r) {
    for (int64_t b = 0; b < blocks; ++b)
      dsum4[size_t(4 * b)] = rows[size_t(r)].dsum[b];
    gemv(static_cast<const uint8_t *>(a.weightBlocks) + o0 * rowBytes, rowBytes,
         &rows[size_t(r)], blocks, dsum4.data(), a.out - o0, sums);
    for (int64_t o = o0; o < a.out; ++o)
      finish(a, r, o, sums[o - o0]);
  }
}

/// Weight rows decoded to f32 for a panel: as ggml decodes them (any block
/// format), or ...
void decodeRows(const LinearArgs &a, int64_t o0, int64_t n, float *panel) {
  const int64_t rowBytes = rowBytesOf(a);
  const uint8_t *w = static_cast<const uint8_t *>(a.weightBlocks);
  for (int64_t o = 0; o < n; ++o)
    dequantizeRow(a.blockType, w + (o0 + o) * rowBytes, panel + o * a.in,
                  a.in);
}

/// ... by AVX2 from the sub-blocks the tiles unpack, scale * q + offset in
/// one rounding (ggml's value where it rounds (q - 8) d, (q - 16) d or q d
/// once; within an ulp where it rounds twice).
__attribute__((target(XF_AVX2))) inline void
storeLevels(__m128i q, __m256 scale, __m256 offset, float *dst) {
  _mm256_storeu_ps(dst, _mm256_fmadd_ps(_mm256_cvtepi32_ps(
                                            _mm256_cvtepi16_epi32(q)),
                                        scale, offset));
}

template <GGMLType T>
__attribute__((target(XF_AVX2))) void
decodeAVX2(const LinearArgs &a, int64_t o0, int64_t n, float *panel) {
  const int64_t rowBytes = rowBytesOf(a), blocks = a.in / kBlock;
  const uint8_t *w = static_cast<const uint8_t *>(a.weightBlocks);
  for (int64_t o = 0; o < n; ++o) {
    const uint8_t *row = w + (o0 + o) * rowBytes;
    float *dst = panel + o * a.in;
    for (int64_t b = 0; b < blocks; ++b, dst += kBlock) {
      const Unpacked u = unpackAVX2<T>(row, b);
      const __m256 offset = _mm256_broadcastss_ps(u.offset);
      storeLevels(_mm256_castsi256_si128(u.lo), u.scale, offset, dst);
      storeLevels(_mm256_extracti128_si256(u.lo, 1), u.scale, offset,
                  dst + 8);
      storeLevels(_mm256_castsi256_si128(u.hi), u.scale, offset, dst + 16);
      storeLevels(_mm256_extracti128_si256(u.hi, 1), u.scale, offset,
                  dst + 24);
    }
  }
}

/// Calls f(std::integral_constant<GGMLType, T>{}) for the format with an
/// integer kernel that `type` names; false for the others.
template <typename F> bool withKernelFormat(GGMLType type, F &&f) {
  switch (type) {
  case GGMLType::Q8_0:
    return f(std::integral_constant<GGMLType, GGMLType::Q8_0>{}), true;
  case GGMLType::Q4_0:
    return f(std::integral_constant<GGMLType, GGMLType::Q4_0>{}), true;
  case GGMLType::Q4_1:
    return f(std::integral_constant<GGMLType, GGMLType::Q4_1>{}), true;
  case GGMLType::Q5_0:
    return f(std::integral_constant<GGMLType, GGMLType::Q5_0>{}), true;
  case GGMLType::Q5_1:
    return f(std::integral_constant<GGMLType, GGMLType::Q5_1>{}), true;
  case GGMLType::Q4_K:
    return f(std::integral_constant<GGMLType, GGMLType::Q4_K>{}), true;
  case GGMLType::Q6_K:
    return f(std::integral_constant<GGMLType, GGMLType::Q6_K>{}), true;
  default:
    return false;
  }
}

PanelDecoder panelDecoder(GGMLType type, BlockISA isa) {
  PanelDecoder decode = decodeRows;
  if (isa != BlockISA::Scalar)
    withKernelFormat(type, [&](auto format) {
      decode = decodeAVX2<decltype(format)::value>;
    });
  return decode;
}

/// From how many input rows a linear over blocks decodes its weights to
/// f32 panels for oneDNN's GEMM rather than running the integer tiles.
int64_t panelRows() {
  switch (blockGemmOverride()) {
  case BlockGemm::Tiles:
    return std::numeric_limits<int64_t>::max();
  case BlockGemm::Panels:
    return 1;
  case BlockGemm::Chosen:
    break;
  }
  return kPanelRows;
}

} // namespace

BlockISA xformer::runtime::cpu::blockISA() {
  static const BlockISA chosen = [] {
    BlockISA isa = bestISA();
    if (const char *env = std::getenv("XFORMER_BLOCK_ISA")) {
      const std::string v = env;
      if (v == "scalar")
        isa = BlockISA::Scalar;
      else if (v == "avx2" && isa != BlockISA::Scalar)
        isa = BlockISA::AVX2;
    }
    return isa;
  }();
  const int f = forced.load(std::memory_order_relaxed);
  return f >= 0 ? BlockISA(f) : chosen;
}

bool xformer::runtime::cpu::cpuHasBlockISA(BlockISA isa) {
  return int(isa) <= int(bestISA());
}

void xformer::runtime::cpu::forceBlockISA(BlockISA isa) {
  forced.store(cpuHasBlockISA(isa) ? int(isa) : -1, std::memory_order_relaxed);
}

bool xformer::runtime::cpu::blockLinear(const LinearArgs &a,
                                        std::string &error) {
  const std::optional<GGMLTypeTraits> traits =
      ggmlTypeTraits(uint32_t(a.blockType));
  if (a.transposed || !traits || traits->blockElements == 1 ||
      a.blockType == GGMLType::Q8_K || a.in % traits->blockElements != 0) {
    error = "linear: a weight in ggml blocks must be [out, in] of a block "
            "format, in a whole number of blocks, not " +
            ggmlTypeName(uint32_t(a.blockType)) + " with in = " +
            std::to_string(a.in);
    return false;
  }
  const BlockISA isa = blockISA();
  const bool usePacked = a.packed && isa != BlockISA::Scalar &&
                         a.packed->type == a.blockType &&
                         a.packed->in == a.in && a.packed->out == a.out;
  const bool gemm =
      usePacked && packedGemm() && a.rows >= kPackedGemmRows;
  if (!gemm && a.rows >= panelRows())
    return panelLinear(a, panelDecoder(a.blockType, isa), error);
  if (!hasKernel(a.blockType)) {
    runDecoded(a, rowBytesOf(a));
    return true;
  }
  // The input rows quantized once, on the calling thread's buffers.
  thread_local std::vector<int16_t> q;
  thread_local std::vector<float> d, dsums;
  const int64_t blocks = a.in / kBlock;
  q.resize(size_t(a.rows * a.in));
  d.resize(size_t(a.rows * blocks));
  dsums.resize(size_t(a.rows * blocks));
  thread_local std::vector<QuantRow> rows; // no allocation per call
  rows.resize(size_t(a.rows));
  const auto quantize =
      isa == BlockISA::Scalar ? quantizeInput : quantizeInputAVX2;
  // The calling thread's buffers, named by pointer: in the pool's threads
  // `q`, `d`, `dsums` and `rows` would be those threads' own.
  int16_t *qs = q.data();
  float *ds = d.data(), *sums = dsums.data();
  QuantRow *rowData = rows.data();
  const auto quantizeRow = [&](int64_t r) {
    quantize(a.input + r * a.in, a.in, qs + r * a.in, ds + r * blocks,
             sums + r * blocks);
    rowData[r] = {qs + r * a.in, ds + r * blocks, sums + r * blocks};
  };
  if (gemm)
    parallelFor(a.rows, quantizeRow);
  else
    for (int64_t r = 0; r < a.rows; ++r)
      quantizeRow(r);
  withKernelFormat(a.blockType, [&](auto format) {
    constexpr GGMLType T = decltype(format)::value;
    if constexpr (hasPackedKernel(T))
      if (usePacked)
        return gemm ? runPackedGemm<T>(a, rows) : runPacked<T>(a, rows, isa);
    run<T>(a, rows, isa);
  });
  return true;
}

bool xformer::runtime::cpu::readsPacked(int64_t rows) {
  // XFORMER_BLOCK_PACKED=0 reads the blocks as stored.
  static const bool packed = [] {
    const char *env = std::getenv("XFORMER_BLOCK_PACKED");
    return !env || std::string(env) != "0";
  }();
  return packed && (rows < panelRows() || packedGemm());
}

namespace {
constexpr size_t kHugePage = size_t(2) << 20;
} // namespace

HugePageBuffer::HugePageBuffer(size_t size) {
  if (size == 0)
    return;
  // The 2 MiB-aligned stretches of a buffer of at least one huge page get
  // huge pages; its tail and smaller buffers keep 4 KiB ones (no rounding
  // up: a model's buffers would grow by up to a huge page each).
  const bool huge = size >= kHugePage;
  void *p = nullptr;
  if (posix_memalign(&p, huge ? kHugePage : 64, size) != 0)
    throw std::bad_alloc();
  // Advice only: where the kernel has no huge pages the buffer is as good
  // as any other.
  if (huge)
    (void)madvise(p, size, MADV_HUGEPAGE);
  std::memset(p, 0, size);
  ptr = static_cast<uint8_t *>(p);
  bytes = size;
}

HugePageBuffer &HugePageBuffer::operator=(HugePageBuffer &&other) noexcept {
  if (this != &other) {
    std::free(ptr);
    ptr = other.ptr;
    bytes = other.bytes;
    other.ptr = nullptr;
    other.bytes = 0;
  }
  return *this;
}

HugePageBuffer::~HugePageBuffer() { std::free(ptr); }

std::unique_ptr<PackedBlocks>
xformer::runtime::cpu::packBlocks(GGMLType type, const void *blocks,
                                  int64_t out, int64_t in) {
  const std::optional<GGMLTypeTraits> traits = ggmlTypeTraits(uint32_t(type));
  if (!cpuHasBlockISA(BlockISA::AVX2) || !blocks || !traits ||
      traits->blockElements == 1 || in <= 0 || out < kGroupRows ||
      in % traits->blockElements != 0)
    return nullptr;
  std::unique_ptr<PackedBlocks> packed;
  withKernelFormat(type, [&](auto format) {
    constexpr GGMLType T = decltype(format)::value;
    if constexpr (hasPackedKernel(T)) {
      const int64_t groups = out / kGroupRows,
                    groupBytes = packedGroupBytes<T>(in);
      int64_t total;
      if (__builtin_mul_overflow(groups, groupBytes, &total))
        return;
      packed = std::make_unique<PackedBlocks>();
      packed->type = type;
      packed->out = out;
      packed->in = in;
      packed->groupBytes = groupBytes;
      packed->bytes = HugePageBuffer(size_t(total));
      const int64_t rowBytes = in / traits->blockElements * traits->blockBytes;
      const auto *w = static_cast<const uint8_t *>(blocks);
      uint8_t *dst = packed->bytes.data();
      parallelFor(groups, [&](int64_t g) {
        packGroup<T>(w + g * kGroupRows * rowBytes, rowBytes, in / kBlock,
                     dst + g * groupBytes);
      });
    }
  });
  return packed;
}
