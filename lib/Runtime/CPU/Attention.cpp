//===- Attention.cpp - CPU fused masked attention -------------------------===//

#include "xformer/Runtime/CPU/Attention.h"
#include "xformer/Semantics/BlockSparsity.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <thread>
#include <limits>
#include <vector>

using namespace xformer::runtime::cpu;
using mask::Kind;
using mask::Spec;
using mask::TileClass;

namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

float dot(const float *a, const float *b, int64_t n) {
  float s = 0.0f;
  for (int64_t d = 0; d < n; ++d)
    s += a[d] * b[d];
  return s;
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
  std::vector<float> m(rows), l(rows), acc(rows * DV), s(kBlockK);
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
          float rowMax = kNegInf;
          for (int64_t j = lo; j < hi; ++j) {
            float x = dot(qi, kBase + j * D, D) * a.scale;
            if (a.bias)
              x += a.bias[b * a.biasBatchStride + h * a.biasHeadStride +
                          i * a.kvLen + j];
            if constexpr (CUSTOM) {
              if (!customMask[b * maskBStride + h * maskHStride +
                              i * a.kvLen + j])
                x = kNegInf;
            }
            s[j - j0] = x;
            rowMax = std::max(rowMax, x);
          }
          if (rowMax == kNegInf)
            continue; // nothing visible in this tile
          const float mNew = std::max(m[r], rowMax);
          const float alpha = std::exp(m[r] - mNew);
          float *accRow = acc.data() + r * DV;
          if (alpha != 1.0f) {
            l[r] *= alpha;
            for (int64_t d = 0; d < DV; ++d)
              accRow[d] *= alpha;
          }
          for (int64_t j = lo; j < hi; ++j) {
            float x = s[j - j0];
            if (x == kNegInf)
              continue;
            float p = std::exp(x - mNew);
            l[r] += p;
            const float *vj = vBase + j * DV;
            for (int64_t d = 0; d < DV; ++d)
              accRow[d] += p * vj[d];
          }
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
