//===- Attention.cpp - CPU fused masked attention -------------------------===//

#include "xformer/Runtime/CPU/Attention.h"
#include "xformer/Semantics/BlockSparsity.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <limits>
#include <vector>

using namespace xformer::runtime::cpu;
using mask::Kind;
using mask::Spec;
using mask::TileClass;

namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

/// A dot product with 8 independent partial sums, so the compiler
/// vectorises it without reassociating a single sum.
inline float dotVec(const float *a, const float *b, int64_t n) {
  float part[8] = {};
  int64_t d = 0;
  for (; d + 8 <= n; d += 8)
    for (int l = 0; l < 8; ++l)
      part[l] += a[d + l] * b[d + l];
  float sum = 0.0f;
  for (; d < n; ++d)
    sum += a[d] * b[d];
  for (int l = 0; l < 8; ++l)
    sum += part[l];
  return sum;
}

/// acc[0..DV) += sum over j in [jl, jh) of p[j] * v[j * DV ..]. With DV a
/// compile-time constant the accumulator stays in registers.
template <int64_t DV>
inline void accumulatePV(float *acc, const float *p, const float *v,
                         int64_t jl, int64_t jh) {
  float local[DV];
  for (int64_t d = 0; d < DV; ++d)
    local[d] = acc[d];
  for (int64_t j = jl; j < jh; ++j) {
    const float pj = p[j];
    const float *vj = v + j * DV;
    for (int64_t d = 0; d < DV; ++d)
      local[d] += pj * vj[d];
  }
  for (int64_t d = 0; d < DV; ++d)
    acc[d] = local[d];
}

inline void accumulatePV(float *acc, const float *p, const float *v,
                         int64_t jl, int64_t jh, int64_t dv) {
  switch (dv) {
  case 64:
    return accumulatePV<64>(acc, p, v, jl, jh);
  case 128:
    return accumulatePV<128>(acc, p, v, jl, jh);
  default:
    for (int64_t j = jl; j < jh; ++j)
      for (int64_t d = 0; d < dv; ++d)
        acc[d] += p[j] * v[j * dv + d];
  }
}

/// e^x for x <= 0 in a form the compiler vectorises (Cephes' expf
/// polynomial on [-ln2/2, ln2/2] and an exponent built from bits; about
/// 1 ulp); -inf gives exactly 0.
inline float expNonPositive(float x) {
  const float clamped = std::max(x, -87.3f);
  const float n = std::floor(clamped * 1.44269504088896341f + 0.5f);
  float r = clamped - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof(scale));
  return x == kNegInf ? 0.0f : p * scale;
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

/// One (batch, kv head) pair: every query head of the group, query tile by
/// query tile, key tile by key tile. `KIND` specialises the visibility test;
/// CUSTOM reads the explicit mask.
template <Kind KIND, bool CUSTOM>
void attendGroup(const Spec &specIn, const AttentionArgs &a, int64_t b,
                 int64_t kvh, const bool *customMask, int64_t maskBStride,
                 int64_t maskHStride) {
  const int64_t group = a.heads / a.kvHeads;
  const int64_t qValid = a.qLengths ? std::clamp<int64_t>(a.qLengths[b], 0, a.qLen)
                                    : a.qLen;
  const int64_t kValid = a.kvLengths ? std::clamp<int64_t>(a.kvLengths[b], 0, a.kvLen)
                                     : a.kvLen;
  Spec spec = specIn;
  spec.kind = KIND;
  if (a.prefixLengths)
    spec.prefix = a.prefixLengths[b];
  std::vector<int64_t> docStart, docEnd;
  const int64_t *seg = a.segmentIds ? a.segmentIds + b * a.kvLen : nullptr;
  if (spec.documents) {
    documentRuns(seg, kValid, docStart, docEnd);
  }

  const int64_t D = a.headDim, DV = a.vHeadDim;
  const float *kBase = a.key + (b * a.kvHeads + kvh) * a.kvLen * D;
  const float *vBase = a.value + (b * a.kvHeads + kvh) * a.kvLen * DV;

  // Zero the whole output of the group first: padding rows and rows that
  // see no key stay zero.
  for (int64_t g = 0; g < group; ++g) {
    int64_t h = kvh * group + g;
    float *o = a.out + (b * a.heads + h) * a.qLen * DV;
    std::fill(o, o + a.qLen * DV, 0.0f);
  }

  const int64_t rows = kBlockQ * group;
  // Keys of a tile transposed ([D][kBlockK]) so scores are axpy loops over
  // 64 contiguous keys; scores and probabilities of one row in `s`/`p`.
  std::vector<float> m(rows), l(rows), acc(rows * DV), kT(D * kBlockK),
      qs(D);
  alignas(64) float s[kBlockK];
  alignas(64) float p[kBlockK];
  for (int64_t qt = 0; qt * kBlockQ < qValid; ++qt) {
    const int64_t i0 = qt * kBlockQ;
    const int64_t i1 = std::min(i0 + kBlockQ, qValid);
    std::fill(m.begin(), m.end(), kNegInf);
    std::fill(l.begin(), l.end(), 0.0f);
    std::fill(acc.begin(), acc.end(), 0.0f);
    for (int64_t kt = 0; kt * kBlockK < kValid; ++kt) {
      const int64_t j0 = kt * kBlockK;
      const int64_t j1 = std::min(j0 + kBlockK, kValid);
      TileClass cls = TileClass::Partial;
      if constexpr (!CUSTOM) {
        cls = mask::classifyTileInDocuments(spec, qt, kt, kBlockQ, kBlockK,
                                            qValid, kValid, docStart.data(),
                                            docEnd.data());
        if (cls == TileClass::Empty)
          continue;
      }
      const int64_t nk = j1 - j0;
      // A tile with one or two query rows (decode) reads each key once:
      // transposing it would cost more than the dot products.
      const bool direct = i1 - i0 <= 2;
      if (!direct)
        for (int64_t j = 0; j < kBlockK; ++j) {
          const float *kj = kBase + (j0 + j) * D;
          for (int64_t d = 0; d < D; ++d)
            kT[d * kBlockK + j] = j < nk ? kj[d] : 0.0f;
        }
      for (int64_t g = 0; g < group; ++g) {
        const int64_t h = kvh * group + g;
        const float *qBase = a.query + (b * a.heads + h) * a.qLen * D;
        for (int64_t i = i0; i < i1; ++i) {
          const int64_t r = g * kBlockQ + (i - i0);
          // Visible keys of this row within the tile.
          int64_t lo = j0, hi = j1;
          if constexpr (!CUSTOM) {
            if (cls == TileClass::Partial) {
              mask::KeyRange kr =
                  spec.documents
                      ? mask::visibleKeysInDocuments(spec, i, qValid, kValid,
                                                     docStart.data(),
                                                     docEnd.data())
                      : mask::visibleKeys(spec, i, qValid, kValid);
              lo = std::max(lo, kr.first);
              hi = std::min(hi, kr.last);
            }
          }
          if (hi <= lo)
            continue;
          const float *qi = qBase + i * D;
          for (int64_t d = 0; d < D; ++d)
            qs[d] = qi[d] * a.scale;
          if (direct) {
            for (int64_t j = lo; j < hi; ++j)
              s[j - j0] = dotVec(qs.data(), kBase + j * D, D);
          } else {
            for (int64_t j = 0; j < kBlockK; ++j)
              s[j] = 0.0f;
            for (int64_t d = 0; d < D; ++d) {
              const float qd = qs[d];
              const float *kd = kT.data() + d * kBlockK;
              for (int64_t j = 0; j < kBlockK; ++j)
                s[j] += qd * kd[j];
            }
          }
          if (a.bias) {
            const float *br = a.bias + b * a.biasBatchStride +
                              h * a.biasHeadStride + i * a.kvLen;
            for (int64_t j = lo; j < hi; ++j)
              s[j - j0] += br[j];
          }
          if constexpr (CUSTOM) {
            const bool *mr = customMask + b * maskBStride + h * maskHStride +
                             i * a.kvLen;
            for (int64_t j = lo; j < hi; ++j)
              if (!mr[j])
                s[j - j0] = kNegInf;
          }
          const int64_t jl = lo - j0, jh = hi - j0;
          float rowMax = kNegInf;
          for (int64_t j = jl; j < jh; ++j)
            rowMax = std::max(rowMax, s[j]);
          if (rowMax == kNegInf)
            continue; // nothing visible in this tile
          const float mNew = std::max(m[r], rowMax);
          const float alpha = expNonPositive(m[r] - mNew);
          float *accRow = acc.data() + r * DV;
          if (alpha != 1.0f) {
            l[r] *= alpha;
            for (int64_t d = 0; d < DV; ++d)
              accRow[d] *= alpha;
          }
          float sum = 0.0f;
          for (int64_t j = jl; j < jh; ++j) {
            p[j] = expNonPositive(s[j] - mNew);
            sum += p[j];
          }
          l[r] += sum;
          accumulatePV(accRow, p, vBase + j0 * DV, jl, jh, DV);
          m[r] = mNew;
        }
      }
    }
    // Normalise; a row that saw no key stays zero.
    for (int64_t g = 0; g < group; ++g) {
      const int64_t h = kvh * group + g;
      float *o = a.out + (b * a.heads + h) * a.qLen * DV;
      for (int64_t i = i0; i < i1; ++i) {
        const int64_t r = g * kBlockQ + (i - i0);
        if (l[r] <= 0.0f)
          continue;
        const float inv = 1.0f / l[r];
        for (int64_t d = 0; d < DV; ++d)
          o[i * DV + d] = acc[r * DV + d] * inv;
      }
    }
  }
}

/// Threads for the kernel: XFORMER_NUM_THREADS, else the hardware's.
int64_t numThreads() {
  static const int64_t n = [] {
    if (const char *env = std::getenv("XFORMER_NUM_THREADS")) {
      long v = std::strtol(env, nullptr, 10);
      if (v > 0)
        return int64_t(v);
    }
    return int64_t(std::max(1u, std::thread::hardware_concurrency()));
  }();
  return n;
}

/// Each (batch, kv head) pair writes its own output rows, so the pairs run
/// on separate threads without sharing anything mutable.
template <Kind KIND, bool CUSTOM>
void run(const Spec &spec, const AttentionArgs &a, const bool *mask = nullptr,
         int64_t mb = 0, int64_t mh = 0) {
  const int64_t items = a.batch * a.kvHeads;
  const int64_t threads = std::min(numThreads(), items);
  auto work = [&](int64_t first) {
    for (int64_t item = first; item < items; item += threads)
      attendGroup<KIND, CUSTOM>(spec, a, item / a.kvHeads, item % a.kvHeads,
                                mask, mb, mh);
  };
  if (threads <= 1) {
    work(0);
    return;
  }
  std::vector<std::thread> pool;
  for (int64_t t = 1; t < threads; ++t)
    pool.emplace_back(work, t);
  work(0);
  for (std::thread &t : pool)
    t.join();
}

} // namespace

void xformer::runtime::cpu::attention(const Spec &spec,
                                      const AttentionArgs &args) {
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

void xformer::runtime::cpu::attentionCustom(const AttentionArgs &args,
                                            const bool *mask,
                                            int64_t maskBatchStride,
                                            int64_t maskHeadStride) {
  if (args.kvHeads <= 0 || args.heads % args.kvHeads != 0 || !mask)
    return;
  Spec spec;
  spec.kind = Kind::Custom;
  run<Kind::Custom, true>(spec, args, mask, maskBatchStride, maskHeadStride);
}
