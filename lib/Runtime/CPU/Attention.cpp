//===- Attention.cpp - CPU fused masked attention -------------------------===//

#include "xformer/Runtime/CPU/Attention.h"
#include "ThreadPool.h"
#include "xformer/Semantics/BlockSparsity.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <vector>

#include "ISA.h"

using namespace xformer::runtime::cpu;
using mask::Kind;
using mask::Spec;
using mask::TileClass;

XF_ISA_BEGIN
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

//===----------------------------------------------------------------------===//
// Register-blocked micro-kernels
//===----------------------------------------------------------------------===//

/// One SIMD register of floats: 16 lanes with AVX-512, else 8 (AVX2, or
/// two SSE registers where the compiler has to split it).
#if XF_AVX512
constexpr int64_t kLanes = 16;
#else
constexpr int64_t kLanes = 8;
#endif
typedef float Vec __attribute__((vector_size(kLanes * sizeof(float))));

inline Vec load(const float *p) {
  Vec v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
inline void store(float *p, Vec v) { std::memcpy(p, &v, sizeof(v)); }
inline Vec splat(float x) {
  Vec v;
  for (int64_t l = 0; l < kLanes; ++l)
    v[l] = x;
  return v;
}
inline float horizontalSum(Vec v) {
  float sum = 0.0f;
  for (int64_t l = 0; l < kLanes; ++l)
    sum += v[l];
  return sum;
}

/// C[MR][NV * kLanes] (+)= A[MR][k] * B[k][NV * kLanes], with row strides
/// lda, ldb and ldc. The MR x NV accumulators live in registers for the
/// whole reduction; each step loads NV vectors of B and broadcasts MR
/// elements of A (the BLIS shape: 6 x 16 on AVX2).
template <int64_t MR, int64_t NV>
inline void microKernel(const float *a, int64_t lda, const float *b,
                        int64_t ldb, int64_t k, float *c, int64_t ldc,
                        bool accumulate) {
  Vec acc[MR][NV];
  for (int64_t r = 0; r < MR; ++r)
    for (int64_t v = 0; v < NV; ++v)
      acc[r][v] = accumulate ? load(c + r * ldc + v * kLanes) : Vec{};
  for (int64_t kk = 0; kk < k; ++kk) {
    Vec bv[NV];
    for (int64_t v = 0; v < NV; ++v)
      bv[v] = load(b + kk * ldb + v * kLanes);
    for (int64_t r = 0; r < MR; ++r) {
      const Vec ar = splat(a[r * lda + kk]);
      for (int64_t v = 0; v < NV; ++v)
        acc[r][v] += ar * bv[v];
    }
  }
  for (int64_t r = 0; r < MR; ++r)
    for (int64_t v = 0; v < NV; ++v)
      store(c + r * ldc + v * kLanes, acc[r][v]);
}

/// Rows [0, MR) of C over all n columns: full register tiles of two
/// vectors, then one, then scalar columns.
template <int64_t MR>
inline void gemmRows(const float *a, int64_t lda, const float *b, int64_t ldb,
                     int64_t n, int64_t k, float *c, int64_t ldc,
                     bool accumulate) {
  int64_t col = 0;
  for (; col + 2 * kLanes <= n; col += 2 * kLanes)
    microKernel<MR, 2>(a, lda, b + col, ldb, k, c + col, ldc, accumulate);
  for (; col + kLanes <= n; col += kLanes)
    microKernel<MR, 1>(a, lda, b + col, ldb, k, c + col, ldc, accumulate);
  for (; col < n; ++col)
    for (int64_t r = 0; r < MR; ++r) {
      float sum = accumulate ? c[r * ldc + col] : 0.0f;
      for (int64_t kk = 0; kk < k; ++kk)
        sum += a[r * lda + kk] * b[kk * ldb + col];
      c[r * ldc + col] = sum;
    }
}

/// C[m][n] (+)= A[m][k] * B[k][n], all row-major with the given strides.
void gemm(const float *a, int64_t lda, const float *b, int64_t ldb, int64_t m,
          int64_t n, int64_t k, float *c, int64_t ldc, bool accumulate) {
  constexpr int64_t kRows = 6;
  int64_t r = 0;
  for (; r + kRows <= m; r += kRows)
    gemmRows<kRows>(a + r * lda, lda, b, ldb, n, k, c + r * ldc, ldc,
                    accumulate);
  const float *ar = a + r * lda;
  float *cr = c + r * ldc;
  switch (m - r) {
  case 5:
    return gemmRows<5>(ar, lda, b, ldb, n, k, cr, ldc, accumulate);
  case 4:
    return gemmRows<4>(ar, lda, b, ldb, n, k, cr, ldc, accumulate);
  case 3:
    return gemmRows<3>(ar, lda, b, ldb, n, k, cr, ldc, accumulate);
  case 2:
    return gemmRows<2>(ar, lda, b, ldb, n, k, cr, ldc, accumulate);
  case 1:
    return gemmRows<1>(ar, lda, b, ldb, n, k, cr, ldc, accumulate);
  default:
    return;
  }
}

/// a . b over d elements: the tails of the blocked score loops below.
inline float dot(const float *a, const float *b, int64_t d) {
  const int64_t dv = d / kLanes * kLanes;
  Vec acc = {};
  for (int64_t x = 0; x < dv; x += kLanes)
    acc += load(a + x) * load(b + x);
  float sum = horizontalSum(acc);
  for (int64_t x = dv; x < d; ++x)
    sum += a[x] * b[x];
  return sum;
}

/// Eight lanes, the width of the reduction tree below.
typedef float Vec8 __attribute__((vector_size(8 * sizeof(float))));

inline Vec8 foldTo8(Vec v) {
#if XF_AVX512
  return __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7) +
         __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15);
#else
  return v;
#endif
}

/// Lanes 0-3: sums of adjacent lanes of `a`; lanes 4-7: of `b`.
inline Vec8 pairSums(Vec8 a, Vec8 b) {
  return __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14) +
         __builtin_shufflevector(a, b, 1, 3, 5, 7, 9, 11, 13, 15);
}

/// The eight horizontal sums of v[0..8) in one vector, lane i = sum of
/// v[i]: three levels of pairwise sums instead of eight separate
/// reductions.
inline Vec8 horizontalSums8(const Vec *v) {
  Vec8 w0 = pairSums(foldTo8(v[0]), foldTo8(v[1]));
  Vec8 w1 = pairSums(foldTo8(v[2]), foldTo8(v[3]));
  Vec8 w2 = pairSums(foldTo8(v[4]), foldTo8(v[5]));
  Vec8 w3 = pairSums(foldTo8(v[6]), foldTo8(v[7]));
  return pairSums(pairSums(w0, w1), pairSums(w2, w3));
}

/// Software prefetch for the scores pass of decode, which streams K and V
/// from memory once: with keys j and j + 1, the K rows kAhead keys further
/// (the hardware prefetcher alone leaves the loads exposed) and this tile's
/// V rows j and j + 1, which P.V reads a column block at a time, an order
/// the hardware prefetcher does not follow.
struct Prefetch {
  static constexpr int64_t kAhead = 32;
  const char *k = nullptr, *v = nullptr;
  int64_t kRowBytes = 0, vRowBytes = 0;

  void rows(int64_t j) const {
    if (!k)
      return;
    for (int64_t x = 0; x < 2 * kRowBytes; x += 64)
      __builtin_prefetch(k + (j + kAhead) * kRowBytes + x);
    for (int64_t x = 0; x < 2 * vRowBytes; x += 64)
      __builtin_prefetch(v + j * vRowBytes + x);
  }
};

/// s[r * lds + j] = q[r] . k[j] for r in [0, 4), j in [0, nk): the form for
/// a handful of query rows (decode), where transposing K would cost more
/// than the products. Two keys at a time, each K row loaded once for all
/// four rows, eight independent accumulators reduced together.
inline void dotRows4(const float *q, int64_t ldq, const float *k, int64_t d,
                     int64_t nk, float *s, int64_t lds, const Prefetch &pf) {
  const int64_t dv = d / kLanes * kLanes;
  int64_t j = 0;
  for (; j + 2 <= nk; j += 2) {
    const float *k0 = k + j * d, *k1 = k0 + d;
    pf.rows(j);
    // acc[2 * r + t]: row r against key j + t.
    Vec acc[8] = {};
    for (int64_t x = 0; x < dv; x += kLanes) {
      const Vec a = load(k0 + x), b = load(k1 + x);
      for (int64_t r = 0; r < 4; ++r) {
        const Vec qv = load(q + r * ldq + x);
        acc[2 * r] += qv * a;
        acc[2 * r + 1] += qv * b;
      }
    }
    const Vec8 sums = horizontalSums8(acc);
    for (int64_t r = 0; r < 4; ++r) {
      float s0 = sums[2 * r], s1 = sums[2 * r + 1];
      for (int64_t x = dv; x < d; ++x) {
        s0 += q[r * ldq + x] * k0[x];
        s1 += q[r * ldq + x] * k1[x];
      }
      s[r * lds + j] = s0;
      s[r * lds + j + 1] = s1;
    }
  }
  for (; j < nk; ++j)
    for (int64_t r = 0; r < 4; ++r)
      s[r * lds + j] = dot(q + r * ldq, k + j * d, d);
}

/// One row against every key: eight keys at a time.
inline void dotRow1(const float *q, const float *k, int64_t d, int64_t nk,
                    float *s, const Prefetch &pf) {
  const int64_t dv = d / kLanes * kLanes;
  int64_t j = 0;
  for (; j + 8 <= nk; j += 8) {
    for (int64_t t = 0; t < 8; t += 2)
      pf.rows(j + t);
    Vec acc[8] = {};
    for (int64_t x = 0; x < dv; x += kLanes) {
      const Vec qv = load(q + x);
      for (int64_t t = 0; t < 8; ++t)
        acc[t] += qv * load(k + (j + t) * d + x);
    }
    const Vec8 sums = horizontalSums8(acc);
    for (int64_t t = 0; t < 8; ++t) {
      float sum = sums[t];
      for (int64_t x = dv; x < d; ++x)
        sum += q[x] * k[(j + t) * d + x];
      s[j + t] = sum;
    }
  }
  for (; j < nk; ++j)
    s[j] = dot(q, k + j * d, d);
}

/// Scores of m rows against nk keys; the first pass over the keys issues
/// the prefetches.
void dotAll(const float *q, int64_t ldq, int64_t m, const float *k, int64_t d,
            int64_t nk, float *s, int64_t lds, Prefetch pf) {
  int64_t r = 0;
  for (; r + 4 <= m; r += 4, pf = Prefetch())
    dotRows4(q + r * ldq, ldq, k, d, nk, s + r * lds, lds, pf);
  for (; r < m; ++r, pf = Prefetch())
    dotRow1(q + r * ldq, k, d, nk, s + r * lds, pf);
}

/// log2(e): scores are kept in the base-2 domain (Q pre-scaled by it), so
/// each probability is one exp2 and the range reduction is exact.
constexpr float kLog2e = 1.44269504088896341f;

typedef int32_t IVec __attribute__((vector_size(kLanes * sizeof(int32_t))));

/// 2^x for x <= 0, a register at a time: x = n + r with n an integer and
/// |r| <= 1/2, Cephes' exp2f polynomial for 2^r (about 1 ulp), n added to
/// the exponent bits. -inf gives exactly 0; below -126 the result is 2^-126
/// or less, which no sum of probabilities notices. n is rounded by adding
/// and subtracting 1.5 * 2^23 (exact for |x| <= 126). Written with vector
/// operations so the compiler keeps the full register width
/// (auto-vectorised, the loop ran at half width on AVX-512).
inline Vec exp2Vec(Vec x) {
  const Vec lo = splat(-126.0f), magic = splat(12582912.0f);
  const Vec c = x < lo ? lo : x;
  const Vec n = (c + magic) - magic;
  const Vec r = c - n;
  Vec p = splat(1.535336188319500e-4f);
  p = p * r + 1.339887440266574e-3f;
  p = p * r + 9.618437357674640e-3f;
  p = p * r + 5.550332471162809e-2f;
  p = p * r + 2.402264791363012e-1f;
  p = p * r + 6.931472028550421e-1f;
  p = p * r + 1.0f;
  IVec bits;
  std::memcpy(&bits, &p, sizeof(bits));
  bits += __builtin_convertvector(n, IVec) << 23;
  Vec result;
  std::memcpy(&result, &bits, sizeof(result));
  const Vec zero = {};
  return x == splat(kNegInf) ? zero : result;
}

/// The same for one value (the online softmax's rescale factor).
inline float exp2NonPositive(float x) { return exp2Vec(splat(x))[0]; }

/// Sum and maximum of a register's lanes by halving (log2 steps, not a
/// chain of kLanes dependent scalar operations).
inline float laneSum(Vec v) {
  Vec8 w = foldTo8(v);
  typedef float Vec4 __attribute__((vector_size(4 * sizeof(float))));
  Vec4 q = __builtin_shufflevector(w, w, 0, 1, 2, 3) +
           __builtin_shufflevector(w, w, 4, 5, 6, 7);
  return (q[0] + q[2]) + (q[1] + q[3]);
}

inline float laneMax(Vec v) {
  float r[kLanes];
  std::memcpy(r, &v, sizeof(r));
  for (int64_t width = kLanes / 2; width >= 1; width /= 2)
    for (int64_t l = 0; l < width; ++l)
      r[l] = std::max(r[l], r[l + width]);
  return r[0];
}

/// p[j] = 2^(s[j] - m) over a whole tile row; returns the sum.
inline float expRow(const float *s, float m, float *p) {
  const Vec mv = splat(m);
  Vec sum = {};
  for (int64_t j = 0; j < kBlockK; j += kLanes) {
    const Vec e = exp2Vec(load(s + j) - mv);
    store(p + j, e);
    sum += e;
  }
  return laneSum(sum);
}

/// The largest of a whole tile row.
inline float rowMaximum(const float *s) {
  Vec m = load(s);
  for (int64_t j = kLanes; j < kBlockK; j += kLanes) {
    const Vec x = load(s + j);
    m = m > x ? m : x;
  }
  return laneMax(m);
}

/// Contiguous runs of equal document ids: [start[p], end[p]) holds p.
void documentRuns(const int64_t *seg, int64_t n, std::vector<int64_t> &start,
                  std::vector<int64_t> &end) {
  start.assign(n, 0);
  end.assign(n, n);
  for (int64_t p = 0; p < n; ++p)
    start[p] = p && seg[p - 1] == seg[p] ? start[p - 1] : p;
  for (int64_t p = n - 1; p >= 0; --p)
    end[p] = p + 1 < n && seg[p + 1] == seg[p] ? end[p + 1] : p + 1;
}

/// Working memory of one thread, kept between calls.
struct Scratch {
  std::vector<float> kT, q, s, acc, m, l;
  std::vector<int64_t> docStart, docEnd;
};

Scratch &threadScratch() {
  thread_local Scratch scratch;
  return scratch;
}

/// Query rows this few (decode, short chunks) compute scores with dot
/// products straight from K; more rows amortise a transposed copy of K
/// that feeds the register-blocked kernel.
constexpr int64_t kDirectRows = 4;

/// A share of the key tiles for decode (see run): part `part` of `parts`
/// takes key tiles [kTiles part / parts, kTiles (part + 1) / parts) and,
/// with `partial` set, leaves its unnormalised state there (per row: the
/// running maximum, the sum, the accumulator) instead of writing the
/// output.
struct KeySplit {
  int64_t part = 0, parts = 1;
  float *partial = nullptr;
};

/// Floats of one row's state in a KeySplit's `partial`: m, l, acc[DV].
constexpr int64_t splitStateFloats(int64_t DV) { return DV + 2; }

/// One work item: every query head of KV head `kvh` of batch `b`, for the
/// query tiles qt = part, part + parts, ... Each query tile is one flash
/// step over its visible key tiles: S = Q K^T and O += P V through the
/// register-blocked kernel on (group x tile rows), the online softmax in
/// between. `KIND` specialises the visibility test; CUSTOM reads the
/// explicit mask.
template <Kind KIND, bool CUSTOM>
void attendGroup(const Spec &specIn, const AttentionArgs &a, int64_t b,
                 int64_t kvh, int64_t part, int64_t parts,
                 const bool *customMask, int64_t maskBStride,
                 int64_t maskHStride, const KeySplit &split = {}) {
  const int64_t group = a.heads / a.kvHeads;
  const int64_t qValid =
      a.qLengths ? std::clamp<int64_t>(a.qLengths[b], 0, a.qLen) : a.qLen;
  const int64_t kValid =
      a.kvLengths ? std::clamp<int64_t>(a.kvLengths[b], 0, a.kvLen) : a.kvLen;
  Spec spec = specIn;
  spec.kind = KIND;
  if (a.prefixLengths)
    spec.prefix = a.prefixLengths[b];
  Scratch &w = threadScratch();
  const int64_t *seg = a.segmentIds ? a.segmentIds + b * a.kvLen : nullptr;
  if (spec.documents)
    documentRuns(seg, kValid, w.docStart, w.docEnd);

  const int64_t D = a.headDim, DV = a.vHeadDim;
  const float *kBase = a.key + (b * a.kvHeads + kvh) * a.kvLen * D;
  const float *vBase = a.value + (b * a.kvHeads + kvh) * a.kvLen * DV;
  auto outRows = [&](int64_t g) {
    return a.out + (b * a.heads + kvh * group + g) * a.qLen * DV;
  };

  // Padding rows stay zero (written once, by the first part).
  if (part == 0 && split.part == 0)
    for (int64_t g = 0; g < group; ++g)
      std::fill(outRows(g) + qValid * DV, outRows(g) + a.qLen * DV, 0.0f);

  const bool direct = qValid <= kDirectRows;
  const int64_t kTiles = (kValid + kBlockK - 1) / kBlockK;
  if (!direct) {
    // K transposed tile by tile, [kTiles][D][kBlockK], zero past kValid.
    w.kT.resize(kTiles * D * kBlockK);
    for (int64_t kt = 0; kt < kTiles; ++kt) {
      float *dst = w.kT.data() + kt * D * kBlockK;
      const int64_t j0 = kt * kBlockK;
      const int64_t nk = std::min(kBlockK, kValid - j0);
      for (int64_t j = 0; j < nk; ++j) {
        const float *kj = kBase + (j0 + j) * D;
        for (int64_t d = 0; d < D; ++d)
          dst[d * kBlockK + j] = kj[d];
      }
      for (int64_t d = 0; d < D; ++d)
        std::fill(dst + d * kBlockK + nk, dst + (d + 1) * kBlockK, 0.0f);
    }
  }

  const int64_t maxRows = kBlockQ * group;
  // Scores in the base-2 domain: S = (scale log2(e) Q) K^T.
  const float qScale = a.scale * kLog2e;
  w.q.resize(maxRows * D);
  w.s.resize(maxRows * kBlockK);
  w.acc.resize(maxRows * DV);
  w.m.resize(maxRows);
  w.l.resize(maxRows);
  float *qs = w.q.data(), *s = w.s.data(), *acc = w.acc.data();
  float *m = w.m.data(), *l = w.l.data();

  for (int64_t qt = part; qt * kBlockQ < qValid; qt += parts) {
    const int64_t i0 = qt * kBlockQ;
    const int64_t nq = std::min(kBlockQ, qValid - i0);
    // Rows of the tile: head g's query i0 + ii is row g * nq + ii.
    const int64_t rows = group * nq;
    for (int64_t g = 0; g < group; ++g) {
      const float *qBase =
          a.query + ((b * a.heads + kvh * group + g) * a.qLen + i0) * D;
      for (int64_t x = 0; x < nq * D; ++x)
        qs[g * nq * D + x] = qBase[x] * qScale;
    }
    std::fill(m, m + rows, kNegInf);
    std::fill(l, l + rows, 0.0f);
    std::fill(acc, acc + rows * DV, 0.0f);

    const int64_t kt0 = kTiles * split.part / split.parts,
                  kt1 = kTiles * (split.part + 1) / split.parts;
    for (int64_t kt = kt0; kt < kt1; ++kt) {
      const int64_t j0 = kt * kBlockK;
      const int64_t nk = std::min(kBlockK, kValid - j0);
      TileClass cls = TileClass::Partial;
      if constexpr (!CUSTOM) {
        cls = mask::classifyTileInDocuments(spec, qt, kt, kBlockQ, kBlockK,
                                            qValid, kValid, w.docStart.data(),
                                            w.docEnd.data());
        if (cls == TileClass::Empty)
          continue;
      }
      // S = (scale log2(e) Q) K^T for every row of the tile.
      if (direct) {
        Prefetch pf;
        pf.k = reinterpret_cast<const char *>(kBase + j0 * D);
        pf.v = reinterpret_cast<const char *>(vBase + j0 * DV);
        pf.kRowBytes = D * sizeof(float);
        pf.vRowBytes = DV * sizeof(float);
        dotAll(qs, D, rows, kBase + j0 * D, D, nk, s, kBlockK, pf);
      } else
        gemm(qs, D, w.kT.data() + kt * D * kBlockK, kBlockK, rows, kBlockK, D,
             s, kBlockK, /*accumulate=*/false);

      // Mask, online softmax; S becomes P in place.
      for (int64_t r = 0; r < rows; ++r) {
        const int64_t g = r / nq, i = i0 + r % nq;
        const int64_t h = kvh * group + g;
        float *sr = s + r * kBlockK;
        int64_t lo = 0, hi = nk;
        if constexpr (!CUSTOM) {
          if (cls == TileClass::Partial) {
            mask::KeyRange kr =
                spec.documents
                    ? mask::visibleKeysInDocuments(spec, i, qValid, kValid,
                                                   w.docStart.data(),
                                                   w.docEnd.data())
                    : mask::visibleKeys(spec, i, qValid, kValid);
            lo = std::clamp<int64_t>(kr.first - j0, 0, nk);
            hi = std::clamp<int64_t>(kr.last - j0, lo, nk);
          }
        }
        std::fill(sr, sr + lo, kNegInf);
        std::fill(sr + hi, sr + kBlockK, kNegInf);
        if (a.bias) {
          const float *br = a.bias + b * a.biasBatchStride +
                            h * a.biasHeadStride + i * a.kvLen + j0;
          for (int64_t j = lo; j < hi; ++j)
            sr[j] += br[j] * kLog2e;
        }
        if constexpr (CUSTOM) {
          const bool *mr =
              customMask + b * maskBStride + h * maskHStride + i * a.kvLen + j0;
          for (int64_t j = lo; j < hi; ++j)
            if (!mr[j])
              sr[j] = kNegInf;
        }
        const float rowMax = rowMaximum(sr);
        if (rowMax == kNegInf) {
          // Nothing visible in this tile: a zero row of P adds nothing.
          std::fill(sr, sr + kBlockK, 0.0f);
          continue;
        }
        const float mNew = std::max(m[r], rowMax);
        const float alpha = exp2NonPositive(m[r] - mNew);
        if (alpha != 1.0f) {
          l[r] *= alpha;
          float *accRow = acc + r * DV;
          for (int64_t d = 0; d < DV; ++d)
            accRow[d] *= alpha;
        }
        l[r] += expRow(sr, mNew, sr);
        m[r] = mNew;
      }
      // O += P V over the tile's keys.
      gemm(s, kBlockK, vBase + j0 * DV, DV, rows, DV, nk, acc, DV,
           /*accumulate=*/true);
    }

    if (split.partial) {
      // This part's running state, for mergeKeySplit: m, l, then acc.
      for (int64_t r = 0; r < rows; ++r) {
        float *state = split.partial + r * splitStateFloats(DV);
        state[0] = m[r];
        state[1] = l[r];
        std::copy(acc + r * DV, acc + (r + 1) * DV, state + 2);
      }
      continue;
    }
    // Normalise; a row that saw no key is zero.
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t g = r / nq, i = i0 + r % nq;
      float *o = outRows(g) + i * DV;
      if (l[r] <= 0.0f) {
        std::fill(o, o + DV, 0.0f);
        continue;
      }
      const float inv = 1.0f / l[r];
      for (int64_t d = 0; d < DV; ++d)
        o[d] = acc[r * DV + d] * inv;
    }
  }
}

/// Key tiles a decode share takes at least.
constexpr int64_t kMinSplitTiles = 2;

/// The output of decode split over the keys: per row, the shares' states
/// rescaled to the largest maximum and summed, o = sum_p 2^(m_p - M) acc_p /
/// sum_p 2^(m_p - M) l_p; a row that no share saw a key for is zero.
void mergeKeySplit(const AttentionArgs &a, int64_t kParts,
                   const float *partial) {
  const int64_t group = a.heads / a.kvHeads, DV = a.vHeadDim;
  const int64_t slot = group * a.qLen * splitStateFloats(DV);
  for (int64_t b = 0; b < a.batch; ++b) {
    const int64_t qValid =
        a.qLengths ? std::clamp<int64_t>(a.qLengths[b], 0, a.qLen) : a.qLen;
    for (int64_t kvh = 0; kvh < a.kvHeads; ++kvh) {
      const float *pairSlots = partial + (b * a.kvHeads + kvh) * kParts * slot;
      for (int64_t r = 0; r < group * qValid; ++r) {
        const int64_t g = r / qValid, i = r % qValid;
        float *o = a.out + ((b * a.heads + kvh * group + g) * a.qLen + i) * DV;
        float mMax = kNegInf;
        for (int64_t p = 0; p < kParts; ++p)
          mMax = std::max(mMax, pairSlots[p * slot + r * splitStateFloats(DV)]);
        std::fill(o, o + DV, 0.0f);
        if (mMax == kNegInf)
          continue;
        float l = 0.0f;
        for (int64_t p = 0; p < kParts; ++p) {
          const float *st = pairSlots + p * slot + r * splitStateFloats(DV);
          if (st[0] == kNegInf)
            continue;
          const float w = exp2NonPositive(st[0] - mMax);
          l += w * st[1];
          for (int64_t d = 0; d < DV; ++d)
            o[d] += w * st[2 + d];
        }
        if (l <= 0.0f) {
          std::fill(o, o + DV, 0.0f);
          continue;
        }
        const float inv = 1.0f / l;
        for (int64_t d = 0; d < DV; ++d)
          o[d] *= inv;
      }
    }
  }
}

/// Work items are (batch, kv head, part of the query tiles): each writes
/// its own output rows, so items run on separate threads without sharing
/// anything mutable. Query tiles are split into parts only when there are
/// too few (batch, kv head) pairs to keep every thread busy; a part takes
/// every parts-th tile so causal's cheap and dear tiles mix. Decode, whose
/// one query tile cannot be split, splits the keys instead: each item
/// leaves its share's softmax state, and mergeKeySplit combines them.
template <Kind KIND, bool CUSTOM>
void run(const Spec &spec, const AttentionArgs &a, const bool *mask = nullptr,
         int64_t mb = 0, int64_t mh = 0) {
  const int64_t pairs = a.batch * a.kvHeads;
  const int64_t threads = numThreads();
  const int64_t qTiles = (a.qLen + kBlockQ - 1) / kBlockQ;
  const int64_t parts = std::clamp<int64_t>((2 * threads + pairs - 1) /
                                                std::max<int64_t>(pairs, 1),
                                            1, std::max<int64_t>(qTiles, 1));
  // Decode (one tile of a few query rows) with too few (batch, kv head)
  // pairs to balance the threads (under four per thread): the keys are
  // split too, each share at least kMinSplitTiles tiles, and the shares'
  // softmax states merged.
  int64_t kLongest = a.kvLen; // a cache's capacity: the lengths say more
  if (a.kvLengths) {
    kLongest = 0;
    for (int64_t b = 0; b < a.batch; ++b)
      kLongest =
          std::max(kLongest, std::clamp<int64_t>(a.kvLengths[b], 0, a.kvLen));
  }
  const int64_t kTiles = (kLongest + kBlockK - 1) / kBlockK;
  const int64_t kParts =
      a.qLen <= kDirectRows && threads > 1
          ? std::min((4 * threads + pairs - 1) / std::max<int64_t>(pairs, 1),
                     std::max<int64_t>(1, kTiles / kMinSplitTiles))
          : 1;
  if (kParts > 1) {
    const int64_t group = a.heads / a.kvHeads, rows = group * a.qLen;
    const int64_t slot = rows * splitStateFloats(a.vHeadDim);
    // The caller's buffer, named by pointer: in the helpers `partial`
    // would be their own thread_local.
    thread_local std::vector<float> partial;
    partial.resize(size_t(pairs * kParts * slot));
    float *states = partial.data();
    parallelFor(pairs * kParts, [&](int64_t item) {
      const int64_t pair = item / kParts;
      attendGroup<KIND, CUSTOM>(
          spec, a, pair / a.kvHeads, pair % a.kvHeads, 0, 1, mask, mb, mh,
          KeySplit{item % kParts, kParts, states + item * slot});
    });
    mergeKeySplit(a, kParts, states);
    return;
  }
  parallelFor(pairs * parts, [&](int64_t item) {
    const int64_t pair = item / parts;
    attendGroup<KIND, CUSTOM>(spec, a, pair / a.kvHeads, pair % a.kvHeads,
                              item % parts, parts, mask, mb, mh);
  });
}

} // namespace

void attention(const Spec &spec, const AttentionArgs &args) {
  if (args.kvHeads <= 0 || args.heads % args.kvHeads != 0)
    return;
  switch (spec.kind) {
  case Kind::Bidirectional:
    return run<Kind::Bidirectional, false>(spec, args);
  case Kind::Causal:
    return run<Kind::Causal, false>(spec, args);
  case Kind::PrefixLM:
    return run<Kind::PrefixLM, false>(spec, args);
  case Kind::SlidingWindow:
    return run<Kind::SlidingWindow, false>(spec, args);
  case Kind::Cross:
    return run<Kind::Cross, false>(spec, args);
  case Kind::Custom:
    // The explicit tensor is required: see attentionCustom.
    return;
  }
}

void attentionCustom(const AttentionArgs &args, const bool *mask,
                     int64_t maskBatchStride, int64_t maskHeadStride) {
  if (args.kvHeads <= 0 || args.heads % args.kvHeads != 0 || !mask)
    return;
  Spec spec;
  spec.kind = Kind::Custom;
  run<Kind::Custom, true>(spec, args, mask, maskBatchStride, maskHeadStride);
}
XF_ISA_END
