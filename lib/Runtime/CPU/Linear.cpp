//===- Linear.cpp - GEMMs of the CPU runtime through oneDNN ---------------===//

#include "xformer/Runtime/CPU/Linear.h"
#include "Epilogue.h"
#include "ThreadPool.h"
#include "xformer/Runtime/GGMLFormats.h"

#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <immintrin.h>
#include <map>
#include <mutex>
#include <tuple>
#include <type_traits>
#include <unistd.h>
#include <vector>

#include "ISA.h"

// OpenMP's thread count (see OneOpenMPThread), declared here rather than
// by omp.h (which the compiler may not ship).
extern "C" int omp_get_max_threads(void);
extern "C" void omp_set_num_threads(int);

using namespace xformer::runtime::cpu;

XF_ISA_BEGIN
namespace {

/// The process's oneDNN engine and primitives, shared by every model and
/// thread. A primitive may run on several threads at once because each
/// execution brings its own scratchpad (scratchpad_mode::user) and
/// stream: with the library-owned scratchpad two concurrent executions of
/// one primitive shared its buffer.
/// A primitive's shape: rows, in, out, the block's columns, transposed,
/// bias, activation, residual (0 none, 1 another tensor, 2 the output
/// itself), bf16.
using PrimitiveKey =
    std::tuple<int64_t, int64_t, int64_t, int64_t, bool, bool, int, int, bool>;

struct Context {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  std::mutex lock;
  std::map<PrimitiveKey, std::pair<dnnl::matmul, dnnl::memory::desc>>
      primitives; // with the scratchpad each execution needs
  /// Whether oneDNN has a bf16 GEMM on this CPU (-1: not asked yet).
  int bf16Gemm = -1;
};

Context &context() {
  static Context ctx;
  return ctx;
}

/// The calling thread's stream (streams are not thread-safe).
dnnl::stream &threadStream(Context &ctx) {
  thread_local dnnl::stream stream{ctx.engine};
  return stream;
}

//===----------------------------------------------------------------------===//
// bf16 weights, streamed
//===----------------------------------------------------------------------===//

/// Rows up to which the bf16 mode streams the weights itself (decode, small
/// batches): one pass over the weight per group of kRowGroup rows, each
/// weight byte read once, where a GEMM would first repack the weight.
constexpr int64_t kStreamRows = 8;
constexpr int64_t kRowGroup = 4;
#if XF_AVX512BF16
/// Software prefetch distance of the [in, out] pass, in weight rows.
constexpr int64_t kPrefetchRows = 16;
#endif

#if XF_AVX512
constexpr int64_t kLanes = 16;
#else
constexpr int64_t kLanes = 8;
#endif
typedef float Vec __attribute__((vector_size(kLanes * sizeof(float))));
typedef uint32_t UVec __attribute__((vector_size(kLanes * sizeof(uint32_t))));
typedef uint16_t HVec __attribute__((vector_size(kLanes * sizeof(uint16_t))));

/// kLanes bf16 words as floats (exact: a bf16 is a float's top half).
inline Vec widen(const uint16_t *p) {
  HVec h;
  std::memcpy(&h, p, sizeof(h));
  UVec bits = __builtin_convertvector(h, UVec) << 16;
  Vec v;
  std::memcpy(&v, &bits, sizeof(v));
  return v;
}

inline float horizontalSum(Vec v) {
  float sum = 0.0f;
  for (int64_t l = 0; l < kLanes; ++l)
    sum += v[l];
  return sum;
}

/// f32 rounded to the nearest bf16 (even on ties), as a float.
inline float roundToBF16(float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, sizeof(bits));
  if ((bits & 0x7f800000u) != 0x7f800000u) // NaN and Inf stay
    bits += 0x7fffu + ((bits >> 16) & 1u);
  bits &= 0xffff0000u;
  std::memcpy(&v, &bits, sizeof(v));
  return v;
}

/// dst[e] = roundToBF16(src[e]) for e in [0, n), a register at a time
/// (branch-free: NaN and Inf keep their bits).
void roundToBF16(const float *src, float *dst, int64_t n) {
  const int64_t nv = n / kLanes * kLanes;
  const UVec expMask = UVec{} + 0x7f800000u, one = UVec{} + 1u,
             half = UVec{} + 0x7fffu, top = UVec{} + 0xffff0000u;
  for (int64_t e = 0; e < nv; e += kLanes) {
    UVec bits;
    std::memcpy(&bits, src + e, sizeof(bits));
    const UVec rounded = (bits + half + ((bits >> 16) & one)) & top;
    const UVec special = (bits & expMask) == expMask; // all ones where so
    const UVec out = (special & bits) | (~special & rounded);
    std::memcpy(dst + e, &out, sizeof(out));
  }
  for (int64_t e = nv; e < n; ++e)
    dst[e] = roundToBF16(src[e]);
}

/// A buffer of the calling thread, grown as needed and kept between calls
/// (no allocation, page faults or zeroing per linear).
template <typename T, int Slot> T *threadBuffer(int64_t n) {
  thread_local std::vector<T> buffer;
  if (int64_t(buffer.size()) < n)
    buffer.resize(n);
  return buffer.data();
}

/// The calling thread's oneDNN scratchpad of at least `bytes`, 64-byte
/// aligned.
void *scratchpad(size_t bytes) {
  uint8_t *p = threadBuffer<uint8_t, 6>(int64_t(bytes) + 64);
  return p + (64 - reinterpret_cast<uintptr_t>(p) % 64) % 64;
}

inline float bf16ToFloat(uint16_t h) {
  const uint32_t bits = uint32_t(h) << 16;
  float v;
  std::memcpy(&v, &bits, sizeof(v));
  return v;
}

/// Calls f(std::integral_constant<int, NR>) with NR = min(rows, kRowGroup):
/// the kernels take the row count of a group as a template parameter so
/// their accumulators stay in registers.
template <typename F> void withRowGroup(int64_t rows, F &&f) {
  static_assert(kRowGroup == 4, "one case per group size");
  switch (std::min(kRowGroup, rows)) {
  case 1:
    return f(std::integral_constant<int, 1>{});
  case 2:
    return f(std::integral_constant<int, 2>{});
  case 3:
    return f(std::integral_constant<int, 3>{});
  default:
    return f(std::integral_constant<int, 4>{});
  }
}

/// How a linear's weight is stored: f32, bf16 or IEEE f16 words.
enum class Stored { F32, BF16, F16 };

/// kLanes f16 words as floats (exact), by F16C where the build has it.
inline Vec widenHalf(const uint16_t *p) {
  Vec v;
#if XF_AVX512
  const __m512 w =
      _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i *>(p)));
  std::memcpy(&v, &w, sizeof(v));
#elif XFORMER_ISA_LEVEL == 1
  const __m256 w =
      _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i *>(p)));
  std::memcpy(&v, &w, sizeof(v));
#else
  for (int64_t l = 0; l < kLanes; ++l)
    v[l] = xformer::runtime::halfToFloat(p[l]);
#endif
  return v;
}

/// Weights `e` to `e + kLanes` of a weight stored as S, as floats.
template <Stored S> inline Vec loadWeights(const void *w, int64_t e) {
  if constexpr (S == Stored::F32) {
    Vec v;
    std::memcpy(&v, static_cast<const float *>(w) + e, sizeof(v));
    return v;
  } else if constexpr (S == Stored::BF16) {
    return widen(static_cast<const uint16_t *>(w) + e);
  } else {
    return widenHalf(static_cast<const uint16_t *>(w) + e);
  }
}

/// Weight `e` of a weight stored as S, as a float.
template <Stored S> inline float weightAt(const void *w, int64_t e) {
  if constexpr (S == Stored::F32)
    return static_cast<const float *>(w)[e];
  else if constexpr (S == Stored::BF16)
    return bf16ToFloat(static_cast<const uint16_t *>(w)[e]);
  else
    return xformer::runtime::halfToFloat(static_cast<const uint16_t *>(w)[e]);
}

/// Bytes of one weight element stored as S.
template <Stored S> constexpr int64_t storedBytes() {
  return S == Stored::F32 ? 4 : 2;
}

/// How far ahead of its loads the streamed kernel prefetches its weights,
/// in bytes (the next outputs' rows are the next bytes): the hardware
/// prefetcher alone kept a thread's stream at 70-80% of the read rate on
/// Intel Xeon (1x576x49152 f32: 29 GB/s without, 42 with 4 KiB).
constexpr int64_t kStreamPrefetch = 4096;

/// W [out, in] stored as S, outputs [o0, o1) of rows [r0, r0 + NR)
/// of x: one output at a time, so a thread reads its outputs' weights as
/// one sequential stream, each weight once for the NR rows; U independent
/// accumulators per row keep the FMA units busy past their latency (one
/// chain per row ran at half the read rate).
template <int NR, Stored S>
void rowMajorWidened(const LinearArgs &a, const void *weight, const float *x,
                     int64_t r0, int64_t o0, int64_t o1) {
  constexpr int U = NR == 1 ? 4 : 2;
  const bool prefetch = softwarePrefetch();
  const int64_t in = a.in, step = U * kLanes;
  const int64_t iu = in / step * step, iv = in / kLanes * kLanes;
  auto inputAt = [&](int r, int64_t i) {
    Vec v;
    std::memcpy(&v, x + (r0 + r) * in + i, sizeof(v));
    return v;
  };
  for (int64_t o = o0; o < o1; ++o) {
    const void *w =
        static_cast<const uint8_t *>(weight) + o * in * storedBytes<S>();
    Vec acc[NR][U] = {};
    for (int64_t i = 0; i < iu; i += step)
      for (int u = 0; u < U; ++u) {
        // One prefetch per cache line of weights.
        if (prefetch && (u * kLanes * storedBytes<S>()) % 64 == 0)
          _mm_prefetch(static_cast<const char *>(w) +
                           (i + u * kLanes) * storedBytes<S>() +
                           kStreamPrefetch,
                       _MM_HINT_T0);
        const Vec wv = loadWeights<S>(w, i + u * kLanes);
        for (int r = 0; r < NR; ++r)
          acc[r][u] += inputAt(r, i + u * kLanes) * wv;
      }
    for (int64_t i = iu; i < iv; i += kLanes) {
      const Vec wv = loadWeights<S>(w, i);
      for (int r = 0; r < NR; ++r)
        acc[r][0] += inputAt(r, i) * wv;
    }
    for (int r = 0; r < NR; ++r) {
      Vec total = acc[r][0];
      for (int u = 1; u < U; ++u)
        total += acc[r][u];
      float sum = horizontalSum(total);
      for (int64_t i = iv; i < in; ++i)
        sum += x[(r0 + r) * in + i] * weightAt<S>(w, i);
      finish(a, r0 + r, o, sum);
    }
  }
}

/// W [out, in]: one output at a time, so a thread reads its outputs'
/// weights as one sequential stream (prefetched kStreamPrefetch ahead, as
/// rowMajorWidened), each weight once for the NR rows; `x` holds the input
/// rows rounded to bf16 (as floats), `xb` the same as bf16 words padded with
/// zeros to a multiple of 32. Four outputs' rows read side by side (four
/// streams 2 * in bytes apart) ran at half the read rate on Zen 4.
template <int NR>
void rowMajorRows(const LinearArgs &a, const float *x, const uint16_t *xb,
                  int64_t ldxb, int64_t r0, int64_t o0, int64_t o1) {
#if XF_AVX512BF16
  (void)x;
  const int64_t in = a.in;
  // vdpbf16ps: 32 bf16 products per instruction (one cache line of
  // weights), summed in pairs into 16 f32 lanes; U independent chains per
  // row past its latency. The last partial chunk is a masked load.
  constexpr int U = NR == 1 ? 4 : 2;
  const int64_t chunks = (in + 31) / 32, full = in / 32;
  const int64_t unrolled = full / U * U;
  const __mmask32 tail = (__mmask32(1) << (in % 32)) - 1;
  const bool prefetch = softwarePrefetch();
  for (int64_t o = o0; o < o1; ++o) {
    const uint16_t *w = a.weightBF16 + o * in;
    const char *ahead = reinterpret_cast<const char *>(w) + kStreamPrefetch;
    __m512 acc[NR][U];
    for (int r = 0; r < NR; ++r)
      for (int u = 0; u < U; ++u)
        acc[r][u] = _mm512_setzero_ps();
    auto step = [&](int64_t c, int u, __m512bh wv) {
      for (int r = 0; r < NR; ++r)
        acc[r][u] = _mm512_dpbf16_ps(
            acc[r][u],
            (__m512bh)_mm512_loadu_si512(xb + (r0 + r) * ldxb + c * 32), wv);
    };
    for (int64_t c = 0; c < unrolled; c += U)
      for (int u = 0; u < U; ++u) {
        if (prefetch)
          _mm_prefetch(ahead + (c + u) * 64, _MM_HINT_T0);
        step(c + u, u, (__m512bh)_mm512_loadu_si512(w + (c + u) * 32));
      }
    for (int64_t c = unrolled; c < full; ++c)
      step(c, 0, (__m512bh)_mm512_loadu_si512(w + c * 32));
    if (full < chunks)
      step(full, 0, (__m512bh)_mm512_maskz_loadu_epi16(tail, w + full * 32));
    for (int r = 0; r < NR; ++r) {
      __m512 total = acc[r][0];
      for (int u = 1; u < U; ++u)
        total = _mm512_add_ps(total, acc[r][u]);
      finish(a, r0 + r, o, _mm512_reduce_add_ps(total));
    }
  }
#else
  (void)xb;
  (void)ldxb;
  // Without AVX512-BF16: widened and FMA.
  rowMajorWidened<NR, Stored::BF16>(a, a.weightBF16, x, r0, o0, o1);
#endif
}

/// W [in, out] (GPT-2's Conv1D), weight rows [i0, i1): partial[r][o] +=
/// sum_i x[r][i] w[i][o]. Each thread takes a range of the weight's rows and
/// reads it front to back (a column split would read short pieces of rows a
/// page apart, which the prefetchers do not follow); four weight rows are
/// folded into the accumulators per pass over them.
template <int NR>
void transposedPartial(const LinearArgs &a, const float *x, int64_t i0,
                       int64_t i1, float *partial) {
  const int64_t out = a.out, ov = out / kLanes * kLanes;
  int64_t i = i0;
  for (; i + 4 <= i1; i += 4) {
    const uint16_t *w0 = a.weightBF16 + i * out;
    for (int64_t o = 0; o < ov; o += kLanes) {
      const Vec w[4] = {widen(w0 + o), widen(w0 + out + o),
                        widen(w0 + 2 * out + o), widen(w0 + 3 * out + o)};
      for (int r = 0; r < NR; ++r) {
        const float *xr = x + r * a.in + i;
        Vec acc;
        std::memcpy(&acc, partial + r * out + o, sizeof(acc));
        acc += xr[0] * w[0] + xr[1] * w[1] + xr[2] * w[2] + xr[3] * w[3];
        std::memcpy(partial + r * out + o, &acc, sizeof(acc));
      }
    }
    for (int64_t o = ov; o < out; ++o)
      for (int r = 0; r < NR; ++r)
        for (int k = 0; k < 4; ++k)
          partial[r * out + o] +=
              x[r * a.in + i + k] * bf16ToFloat(w0[k * out + o]);
  }
  for (; i < i1; ++i)
    for (int r = 0; r < NR; ++r)
      for (int64_t o = 0; o < out; ++o)
        partial[r * out + o] +=
            x[r * a.in + i] * bf16ToFloat(a.weightBF16[i * out + o]);
}

#if XF_AVX512BF16
/// transposedPartial with vdpbf16ps: two weight rows interleaved into
/// (w[i][o], w[i+1][o]) pairs by one permute per 16 columns, multiplied by
/// the broadcast pair (x[i], x[i+1]); two such row pairs per pass over the
/// accumulators. `xb` holds the rows as bf16 words (ldxb apart, zero past
/// in), `ldp` is the partial rows' stride.
template <int NR>
void transposedPartialBF16(const LinearArgs &a, const uint16_t *xb,
                           int64_t ldxb, int64_t i0, int64_t i1,
                           float *partial) {
  const int64_t out = a.out;
  alignas(64) static const uint16_t kIdx[2][32] = {
      {0, 32, 1, 33, 2,  34, 3,  35, 4,  36, 5,  37, 6,  38, 7,  39,
       8, 40, 9, 41, 10, 42, 11, 43, 12, 44, 13, 45, 14, 46, 15, 47},
      {16, 48, 17, 49, 18, 50, 19, 51, 20, 52, 21, 53, 22, 54, 23, 55,
       24, 56, 25, 57, 26, 58, 27, 59, 28, 60, 29, 61, 30, 62, 31, 63}};
  const __m512i lo = _mm512_load_si512(kIdx[0]),
                hi = _mm512_load_si512(kIdx[1]);
  auto pairOf = [&](int r, int64_t i) {
    uint32_t bits = xb[r * ldxb + i];
    if (i + 1 < i1)
      bits |= uint32_t(xb[r * ldxb + i + 1]) << 16;
    return (__m512bh)_mm512_set1_epi32(int32_t(bits));
  };
  for (int64_t i = i0; i < i1; i += 4) {
    // Rows i .. i+3 (fewer at the end: missing rows read as zeros).
    const int64_t rowsHere = std::min<int64_t>(4, i1 - i);
    const uint16_t *w = a.weightBF16 + i * out;
    __m512bh x0[NR], x1[NR];
    for (int r = 0; r < NR; ++r) {
      x0[r] = pairOf(r, i);
      x1[r] =
          rowsHere > 2 ? pairOf(r, i + 2) : (__m512bh)_mm512_setzero_si512();
    }
    // The rows of the pass kPrefetchRows ahead, a line per row per step:
    // each pass reads four short streams (a row is a few KB), too short
    // for the hardware prefetchers to ramp up on.
    const uint16_t *ahead =
        i + kPrefetchRows + 4 <= i1 ? w + kPrefetchRows * out : nullptr;
    for (int64_t c = 0; c < out; c += 32) {
      const __mmask32 m = out - c >= 32 ? ~0u : (__mmask32(1) << (out - c)) - 1;
      if (ahead)
        for (int k = 0; k < 4; ++k)
          _mm_prefetch(reinterpret_cast<const char *>(ahead + k * out + c),
                       _MM_HINT_T0);
      __m512i row[4];
      for (int k = 0; k < 4; ++k)
        row[k] = k < rowsHere ? _mm512_maskz_loadu_epi16(m, w + k * out + c)
                              : _mm512_setzero_si512();
      const __m512bh p0l =
          (__m512bh)_mm512_permutex2var_epi16(row[0], lo, row[1]);
      const __m512bh p0h =
          (__m512bh)_mm512_permutex2var_epi16(row[0], hi, row[1]);
      const __m512bh p1l =
          (__m512bh)_mm512_permutex2var_epi16(row[2], lo, row[3]);
      const __m512bh p1h =
          (__m512bh)_mm512_permutex2var_epi16(row[2], hi, row[3]);
      const __mmask16 ml = __mmask16(m), mh = __mmask16(m >> 16);
      for (int r = 0; r < NR; ++r) {
        float *pr = partial + r * out + c;
        __m512 accl = _mm512_maskz_loadu_ps(ml, pr);
        __m512 acch = _mm512_maskz_loadu_ps(mh, pr + 16);
        accl = _mm512_dpbf16_ps(_mm512_dpbf16_ps(accl, x0[r], p0l), x1[r], p1l);
        acch = _mm512_dpbf16_ps(_mm512_dpbf16_ps(acch, x0[r], p0h), x1[r], p1h);
        _mm512_mask_storeu_ps(pr, ml, accl);
        _mm512_mask_storeu_ps(pr + 16, mh, acch);
      }
    }
  }
}
#endif

/// NR rows of the transposed layout over weight rows [i0, i1): vdpbf16ps
/// where the CPU has it, else widened weights and f32 FMAs.
template <int NR>
void transposedRows(const LinearArgs &a, const float *x, const uint16_t *xb,
                    int64_t ldxb, int64_t i0, int64_t i1, float *partial) {
#if XF_AVX512BF16
  (void)x;
  transposedPartialBF16<NR>(a, xb, ldxb, i0, i1, partial);
#else
  (void)xb;
  (void)ldxb;
  transposedPartial<NR>(a, x, i0, i1, partial);
#endif
}

/// The transposed layout: the weight's rows split over the threads, their
/// partial sums added up with the epilogue.
void streamTransposed(const LinearArgs &a, const float *x, const uint16_t *xb,
                      int64_t ldxb) {
  const int64_t parts =
      std::max<int64_t>(1, std::min<int64_t>(numThreads(), a.in / 64));
  const int64_t span = (a.in + parts - 1) / parts;
  std::vector<float> partial(parts * a.rows * a.out, 0.0f);
  parallelFor(parts, [&](int64_t p) {
    const int64_t i0 = p * span, i1 = std::min(a.in, i0 + span);
    for (int64_t r0 = 0; r0 < a.rows; r0 += kRowGroup) {
      float *part = partial.data() + (p * a.rows + r0) * a.out;
      const float *xr = x + r0 * a.in;
      const uint16_t *xbr = xb + r0 * ldxb;
      withRowGroup(a.rows - r0, [&](auto nr) {
        transposedRows<decltype(nr)::value>(a, xr, xbr, ldxb, i0, i1, part);
      });
    }
  });
  const int64_t n = a.rows * a.out;
  for (int64_t e = 0; e < n; ++e) {
    float sum = partial[e];
    for (int64_t p = 1; p < parts; ++p)
      sum += partial[p * n + e];
    finish(a, e / a.out, e % a.out, sum);
  }
}

/// Runs body(o0, o1) over blocks of a linear's outputs spread over the
/// kernel threads: a few blocks per thread to balance them, each a multiple
/// of 16 outputs.
template <typename F> void forOutputBlocks(const LinearArgs &a, F &&body) {
  const int64_t threads = std::max<int64_t>(1, numThreads());
  int64_t block = (a.out + 4 * threads - 1) / (4 * threads);
  block = std::max<int64_t>(16, (block + 15) / 16 * 16);
  const int64_t blocks = (a.out + block - 1) / block;
  parallelFor(blocks, [&](int64_t b) {
    const int64_t o0 = b * block;
    body(o0, std::min(a.out, o0 + block));
  });
}

/// The streamed bf16 linear: outputs spread over the kernel threads in
/// blocks, rows in groups of up to kRowGroup that share each weight load
/// (the output may alias only the residual, which each element reads
/// before it is written).
void streamBF16(const LinearArgs &a) {
  const int64_t n = a.rows * a.in, ldxb = (a.in + 31) / 32 * 32;
  float *x = threadBuffer<float, 0>(n);
  uint16_t *xb = threadBuffer<uint16_t, 1>(a.rows * ldxb);
  std::memset(xb, 0, a.rows * ldxb * sizeof(uint16_t));
  roundToBF16(a.input, x, n);
  for (int64_t r = 0; r < a.rows; ++r)
    for (int64_t i = 0; i < a.in; ++i) {
      uint32_t bits;
      std::memcpy(&bits, x + r * a.in + i, sizeof(bits));
      xb[r * ldxb + i] = uint16_t(bits >> 16);
    }
  if (a.transposed)
    return streamTransposed(a, x, xb, ldxb);
  forOutputBlocks(a, [&](int64_t o0, int64_t o1) {
    for (int64_t r0 = 0; r0 < a.rows; r0 += kRowGroup) {
      withRowGroup(a.rows - r0, [&](auto nr) {
        rowMajorRows<decltype(nr)::value>(a, x, xb, ldxb, r0, o0, o1);
      });
    }
  });
}

/// Whether f32 linears of few rows stream their weights (the default) or
/// go to oneDNN (XFORMER_F32_GEMV=onednn, for A/B and tests of both).
bool streamedF32() {
  static const bool streamed = [] {
    const char *env = std::getenv("XFORMER_F32_GEMV");
    return !env || std::string(env) != "onednn";
  }();
  return streamed;
}

/// The streamed f32 or f16 linear (W [out, in], at most kRowGroup rows):
/// the weights read once, in place, by rowMajorWidened. For decode this
/// reads at the memory's rate where oneDNN's GEMV, sized for one call at a
/// time, read at 60-70% of it on the small linears of a model.
template <Stored S> void streamWidened(const LinearArgs &a, const void *w) {
  forOutputBlocks(a, [&](int64_t o0, int64_t o1) {
    withRowGroup(a.rows, [&](auto nr) {
      rowMajorWidened<decltype(nr)::value, S>(a, w, a.input, 0, o0, o1);
    });
  });
}

/// The f32 weights of outputs [o0, o0 + n) of an f16 linear, [n, in].
void widenF16Panel(const LinearArgs &a, int64_t o0, int64_t n, float *panel) {
  const int64_t count = n * a.in, cv = count / kLanes * kLanes;
  const uint16_t *src = a.weightF16 + o0 * a.in;
  for (int64_t e = 0; e < cv; e += kLanes) {
    const Vec v = widenHalf(src + e);
    std::memcpy(panel + e, &v, sizeof(v));
  }
  for (int64_t e = cv; e < count; ++e)
    panel[e] = xformer::runtime::halfToFloat(src[e]);
}

/// x rounded to bf16 words, the source operand of oneDNN's bf16 GEMM.
uint16_t *toBF16(const float *x, int64_t n) {
  float *rounded = threadBuffer<float, 2>(n);
  uint16_t *out = threadBuffer<uint16_t, 3>(n);
  roundToBF16(x, rounded, n);
  for (int64_t e = 0; e < n; ++e) {
    uint32_t bits;
    std::memcpy(&bits, rounded + e, sizeof(bits));
    out[e] = uint16_t(bits >> 16);
  }
  return out;
}

/// Whether oneDNN implements a bf16 matmul on this CPU (AVX-512 and up).
bool haveBF16Gemm(Context &ctx) {
  std::lock_guard<std::mutex> guard(ctx.lock);
  if (ctx.bf16Gemm < 0) {
    using dt = dnnl::memory::data_type;
    using tag = dnnl::memory::format_tag;
    try {
      dnnl::memory::desc src({16, 64}, dt::bf16, tag::ab);
      dnnl::memory::desc wei({64, 64}, dt::bf16, tag::ba);
      dnnl::memory::desc dst({16, 64}, dt::f32, tag::ab);
      dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(src, wei, dst),
                                      ctx.engine);
      ctx.bf16Gemm = 1;
    } catch (const dnnl::error &) {
      ctx.bf16Gemm = 0;
    }
  }
  return ctx.bf16Gemm == 1;
}

/// How a bf16 linear of many rows runs.
enum class BF16Gemm { OneDNN, Widened, Streamed };

/// oneDNN's bf16 GEMM where it beats f32: AMX tiles, and AMD's AVX512-BF16
/// (Zen 4, 2 threads: 128x576x1536 306 GFLOP/s against 143 widened and 97
/// for f32; 128x2048x5632 317 against 112). On Intel without AMX it ran
/// below oneDNN's f32 GEMM (vdpbf16ps at the FMAs' throughput, the weights
/// repacked on every call), so the weights are widened to f32 there.
/// XFORMER_BF16_GEMM=onednn|widened|streamed picks one (tests cover each on
/// any CPU).
BF16Gemm bf16GemmChoice(Context &ctx) {
  static const BF16Gemm choice = [&] {
    if (const char *env = std::getenv("XFORMER_BF16_GEMM")) {
      const std::string v = env;
      if (v == "onednn" && haveBF16Gemm(ctx))
        return BF16Gemm::OneDNN;
      if (v == "streamed")
        return BF16Gemm::Streamed;
      if (v == "widened")
        return BF16Gemm::Widened;
    }
    const int isa = static_cast<int>(dnnl::get_effective_cpu_isa());
    const int amx = static_cast<int>(dnnl::cpu_isa::avx512_core_amx);
    const int bf16 = static_cast<int>(dnnl::cpu_isa::avx512_core_bf16);
    __builtin_cpu_init();
    const bool fast = (isa & amx) == amx ||
                      ((isa & bf16) == bf16 && __builtin_cpu_is("amd"));
    return fast && haveBF16Gemm(ctx) ? BF16Gemm::OneDNN : BF16Gemm::Widened;
  }();
  return choice;
}

/// The bf16 linear through oneDNN's f32 GEMM: the input rounded to bf16
/// values, the weights widened (exactly) to f32 a block of outputs at a
/// time (16 MB of f32 at most), so every product is the bf16 product and
/// sums are f32, the bf16 mode's definition.
bool widenedLinear(const LinearArgs &a, std::string &error) {
  float *x = threadBuffer<float, 4>(a.rows * a.in);
  roundToBF16(a.input, x, a.rows * a.in);
  const int64_t block =
      std::min<int64_t>(a.out, std::max<int64_t>(64, (4 << 20) / a.in));
  float *w = threadBuffer<float, 5>(a.in * block);
  std::vector<float> y, residual;
  for (int64_t c0 = 0; c0 < a.out; c0 += block) {
    const int64_t n = std::min(block, a.out - c0);
    if (a.transposed) // [in, out]: n columns of every row
      parallelFor(a.in, [&](int64_t i) {
        const uint16_t *src = a.weightBF16 + i * a.out + c0;
        for (int64_t c = 0; c < n; ++c)
          w[i * n + c] = bf16ToFloat(src[c]);
      });
    else // [out, in]: n whole rows
      parallelFor(n, [&](int64_t o) {
        const uint16_t *src = a.weightBF16 + (c0 + o) * a.in;
        for (int64_t i = 0; i < a.in; ++i)
          w[o * a.in + i] = bf16ToFloat(src[i]);
      });
    LinearArgs b = a;
    b.input = x;
    b.weight = w;
    b.weightBF16 = nullptr;
    b.out = n;
    b.bias = a.bias ? a.bias + c0 : nullptr;
    if (n == a.out) {
      if (!linear(b, error))
        return false;
      continue;
    }
    // A block of the output columns: through contiguous copies.
    y.resize(a.rows * n);
    b.output = y.data();
    if (a.residual) {
      residual.resize(a.rows * n);
      for (int64_t r = 0; r < a.rows; ++r)
        std::memcpy(residual.data() + r * n, a.residual + r * a.out + c0,
                    n * sizeof(float));
      b.residual = residual.data();
    }
    if (!linear(b, error))
      return false;
    for (int64_t r = 0; r < a.rows; ++r)
      std::memcpy(a.output + r * a.out + c0, y.data() + r * n,
                  n * sizeof(float));
  }
  return true;
}

//===----------------------------------------------------------------------===//
// oneDNN, on the runtime's threads
//===----------------------------------------------------------------------===//

/// The OpenMP thread count of the calling thread, set to one for a scope.
/// oneDNN (built on OpenMP) then runs a primitive on the calling thread
/// alone: the runtime's pool spreads blocks of the output over its threads,
/// so a process has one set of kernel threads, not the pool and an OpenMP
/// team taking turns on the same cores. On a shared machine a team's
/// static split waits a scheduler time slice for any member that lost its
/// core, at every barrier; the pool's caller takes the blocks a helper did
/// not come for.
class OneOpenMPThread {
public:
  OneOpenMPThread() : saved(omp_get_max_threads()) {
    if (saved != 1)
      omp_set_num_threads(1);
  }
  ~OneOpenMPThread() {
    if (saved != 1)
      omp_set_num_threads(saved);
  }

private:
  int saved;
};

/// Columns [c0, c0 + n) of a linear through one oneDNN matmul on the
/// calling thread: the operands are views of the whole tensors (strided
/// weights and outputs), so no block is copied. With `panel`, the f32
/// weights of those columns are there instead, [n, in] (a.transposed
/// false).
void oneDNNBlock(Context &ctx, const LinearArgs &a, const uint16_t *inputBF16,
                 int64_t c0, int64_t n, const float *panel = nullptr) {
  using dt = dnnl::memory::data_type;
  using tag = dnnl::memory::format_tag;
  using dims = dnnl::memory::dims;
  const bool bf16 = inputBF16 != nullptr;
  const dt in = bf16 ? dt::bf16 : dt::f32;
  OneOpenMPThread oneThread;
  dnnl::memory::desc src({a.rows, a.in}, in, tag::ab);
  // Weights as the [in, n] operand of the product: columns of an [out, in]
  // matrix are its rows (transposed view), of an [in, out] matrix a
  // strided block of every row.
  dnnl::memory::desc wei({a.in, n}, in,
                         a.transposed ? dims{a.out, 1} : dims{1, a.in});
  dnnl::memory::desc bia({1, n}, dt::f32, tag::ab);
  dnnl::memory::desc dst({a.rows, n}, dt::f32, dims{a.out, 1});
  // A residual added in place (the output is the residual stream) is
  // oneDNN's sum post-op, which reads each output before writing it; a
  // binary post-op whose source is the output is not defined (some
  // implementations write the product first).
  const bool inPlace = a.residual && a.residual == a.output;
  const PrimitiveKey key{a.rows,
                         a.in,
                         a.out,
                         n,
                         a.transposed,
                         a.bias != nullptr,
                         int(a.activation),
                         inPlace ? 2 : a.residual ? 1 : 0,
                         bf16};
  dnnl::matmul prim;
  dnnl::memory::desc pad;
  {
    std::lock_guard<std::mutex> guard(ctx.lock);
    auto it = ctx.primitives.find(key);
    if (it == ctx.primitives.end()) {
      auto desc = a.bias ? dnnl::matmul::desc(src, wei, bia, dst)
                         : dnnl::matmul::desc(src, wei, dst);
      dnnl::post_ops ops;
      using alg = dnnl::algorithm;
      switch (a.activation) {
      case Activation::None:
        break;
      case Activation::GeluErf:
        ops.append_eltwise(1.0f, alg::eltwise_gelu_erf, 0.0f, 0.0f);
        break;
      case Activation::GeluTanh:
        ops.append_eltwise(1.0f, alg::eltwise_gelu_tanh, 0.0f, 0.0f);
        break;
      case Activation::Silu:
        ops.append_eltwise(1.0f, alg::eltwise_swish, 1.0f, 0.0f);
        break;
      case Activation::Relu:
        ops.append_eltwise(1.0f, alg::eltwise_relu, 0.0f, 0.0f);
        break;
      case Activation::Tanh:
        ops.append_eltwise(1.0f, alg::eltwise_tanh, 0.0f, 0.0f);
        break;
      }
      if (inPlace)
        ops.append_sum(1.0f);
      else if (a.residual)
        ops.append_binary(alg::binary_add, dst);
      dnnl::primitive_attr attr;
      attr.set_post_ops(ops);
      attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
      dnnl::matmul::primitive_desc pd(desc, attr, ctx.engine);
      it = ctx.primitives
               .emplace(key,
                        std::make_pair(dnnl::matmul(pd), pd.scratchpad_desc()))
               .first;
    }
    prim = it->second.first;
    pad = it->second.second;
  }
  void *input = bf16 ? static_cast<void *>(const_cast<uint16_t *>(inputBF16))
                     : const_cast<float *>(a.input);
  const int64_t weightAt = a.transposed ? c0 : c0 * a.in;
  void *weight =
      panel ? static_cast<void *>(const_cast<float *>(panel))
      : bf16
          ? static_cast<void *>(const_cast<uint16_t *>(a.weightBF16 + weightAt))
          : static_cast<void *>(const_cast<float *>(a.weight + weightAt));
  std::unordered_map<int, dnnl::memory> args = {
      {DNNL_ARG_SRC, dnnl::memory(src, ctx.engine, input)},
      {DNNL_ARG_WEIGHTS, dnnl::memory(wei, ctx.engine, weight)},
      {DNNL_ARG_DST, dnnl::memory(dst, ctx.engine, a.output + c0)}};
  if (a.bias)
    args.insert({DNNL_ARG_BIAS, dnnl::memory(bia, ctx.engine,
                                             const_cast<float *>(a.bias + c0))});
  if (a.residual && !inPlace) {
    // The residual is post-op number 0 or 1 (after an activation).
    int index = a.activation == Activation::None ? 0 : 1;
    args.insert({DNNL_ARG_ATTR_MULTIPLE_POST_OP(index) | DNNL_ARG_SRC_1,
                 dnnl::memory(dst, ctx.engine,
                              const_cast<float *>(a.residual + c0))});
  }
  if (const size_t bytes = pad.get_size())
    args.insert({DNNL_ARG_SCRATCHPAD,
                 dnnl::memory(pad, ctx.engine, scratchpad(bytes))});
  dnnl::stream &stream = threadStream(ctx);
  prim.execute(stream, args);
  stream.wait();
}

/// Runs `block(c0, n)` for the blocks of `width` output columns of a linear
/// over the runtime's threads; false with oneDNN's first error in `error`
/// if any block's matmul threw.
template <typename F>
bool forColumnBlocks(const LinearArgs &a, int64_t width, std::string &error,
                     F &&block) {
  const int64_t blocks = (a.out + width - 1) / width;
  std::mutex failed;
  std::string first;
  parallelFor(blocks, [&](int64_t b) {
    const int64_t c0 = b * width;
    try {
      block(c0, std::min(width, a.out - c0));
    } catch (const dnnl::error &e) {
      std::lock_guard<std::mutex> guard(failed);
      if (first.empty())
        first = std::string("linear: oneDNN: ") + e.what();
    }
  });
  if (first.empty())
    return true;
  error = first;
  return false;
}

/// A linear through oneDNN: blocks of output columns spread over the
/// runtime's threads, a few per thread so a thread that lost its core
/// leaves its share to the others; each block a multiple of 64 columns
/// (whole vector tiles) except the last.
bool oneDNNLinear(Context &ctx, const LinearArgs &a, const uint16_t *inputBF16,
                  std::string &error) {
  const int64_t threads = std::max<int64_t>(1, numThreads());
  int64_t block = a.out;
  if (threads > 1) {
    block = (a.out + 2 * threads - 1) / (2 * threads);
    block = std::max<int64_t>(64, (block + 63) / 64 * 64);
  }
  return forColumnBlocks(a, block, error, [&](int64_t c0, int64_t n) {
    oneDNNBlock(ctx, a, inputBF16, c0, n);
  });
}

} // namespace

bool panelLinear(const LinearArgs &a, PanelDecoder decode,
                 std::string &error) {
  Context &ctx = context();
  // Panels of f32 filling about 3/4 of a core's L2 (384 KiB of Zen 3's
  // 512 KiB, 1.5 MiB of a 2 MiB Xeon's: there 128x2048x5632 Q4_0 ran at
  // 206 GFLOP/s in 384 KiB panels, 274 in 1.5 MiB ones), and at least
  // 1.5 MiB where the L2 has 1 MiB (Zen 4 and 5: 128x2048x5632 f16 on Zen 5
  // ran at 204 GFLOP/s in 768 KiB panels, 347 in 1.5 MiB ones, 435 against
  // 343 at 512 rows: oneDNN's GEMM on 96 columns at a time fell short), a
  // multiple of 16 columns, at least two per thread.
  static const int64_t panelBytes = [] {
    const long l2 = sysconf(_SC_LEVEL2_CACHE_SIZE);
    if (l2 <= 0)
      return int64_t(384 << 10);
    int64_t bytes = int64_t(l2) / 4 * 3;
    if (l2 >= (1 << 20))
      bytes = std::max<int64_t>(bytes, 3 << 19);
    return std::clamp<int64_t>(bytes, 256 << 10, 4 << 20);
  }();
  const int64_t threads = std::max<int64_t>(1, numThreads());
  int64_t block = std::clamp<int64_t>(panelBytes / (4 * a.in), 16, 1024);
  block = std::min(block, (a.out + 2 * threads - 1) / (2 * threads));
  block = std::max<int64_t>(16, (block + 15) / 16 * 16);
  return forColumnBlocks(a, block, error, [&](int64_t c0, int64_t n) {
    float *panel = threadBuffer<float, 7>(n * a.in);
    decode(a, c0, n, panel);
    oneDNNBlock(ctx, a, nullptr, c0, n, panel);
  });
}

bool linear(const LinearArgs &a, std::string &error) {
  const bool bf16 = a.weightBF16 != nullptr;
  const int weights = int(a.weight != nullptr) + int(bf16) +
                      int(a.weightF16 != nullptr) +
                      int(a.weightBlocks != nullptr);
  if (a.rows < 0 || a.in <= 0 || a.out <= 0 || !a.input || weights != 1 ||
      !a.output) {
    error = "linear: invalid arguments";
    return false;
  }
  if (a.weightF16 && a.transposed) {
    error = "linear: an f16 weight is stored [out, in], not transposed";
    return false;
  }
  if (a.rows == 0)
    return true;
  if (a.weightBlocks)
    return blockLinear(a, error);
  if (a.weightF16) {
    if (a.rows <= kRowGroup) {
      streamWidened<Stored::F16>(a, a.weightF16);
      return true;
    }
    return XF_ISA_NS::panelLinear(a, widenF16Panel, error);
  }
  if (!bf16 && !a.transposed && a.rows <= kRowGroup && streamedF32()) {
    streamWidened<Stored::F32>(a, a.weight);
    return true;
  }
  Context &ctx = context();
  if (bf16) {
    const BF16Gemm gemm =
        a.rows <= kStreamRows ? BF16Gemm::Streamed : bf16GemmChoice(ctx);
    if (gemm == BF16Gemm::Streamed) {
      streamBF16(a);
      return true;
    }
    if (gemm == BF16Gemm::Widened)
      return widenedLinear(a, error);
  }
  const uint16_t *inputBF16 = bf16 ? toBF16(a.input, a.rows * a.in) : nullptr;
  return oneDNNLinear(ctx, a, inputBF16, error);
}
XF_ISA_END
