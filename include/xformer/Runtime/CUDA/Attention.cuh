//===- Attention.cuh - Fused masked attention on NVIDIA GPUs -------------===//
//
// Two kernels behind xfk_attention<MASK, D, DV>, the mask kind and head
// sizes fixed by the generated code:
//
//  * prefillKernel: FlashAttention-2 style. A block of 4 warps owns 64
//    queries of one head (16 per warp); key/value tiles of 64 are staged in
//    shared memory as bf16; S = Q K^T and O += P V run on tensor cores
//    (mma.sync.m16n8k16, bf16 inputs, fp32 accumulation) with the online
//    softmax in registers (exp2 domain). Each (query tile, key tile) is
//    classified by mask::classifyTile, the same function the compiler's
//    block-sparsity analysis and the CPU kernel use: empty tiles are never
//    loaded, full tiles skip the visibility test, partial tiles apply
//    mask::isVisible element by element.
//  * splitKeysKernel: flash-decoding. One block per (query row, KV head,
//    key split) handles every query head of the GQA group, so each K/V
//    element is read once per group; warps stride over the split's keys
//    (only the visible range: a sliding window reads the window), combine
//    in shared memory, and a second kernel merges the splits. Serves decode
//    steps, custom masks and head sizes the tensor-core kernel does not
//    take.
//
// Per-sequence lengths restrict visibility (padding rows are zeros), a
// query that sees no key outputs zeros, never NaN: the definitions of
// xformer.attention.
//
//===----------------------------------------------------------------------===//

#ifndef XFORMER_RUNTIME_CUDA_ATTENTION_CUH
#define XFORMER_RUNTIME_CUDA_ATTENTION_CUH

#include "xformer/Runtime/CUDA/Common.cuh"
#include "xformer/Semantics/BlockSparsity.h"
#include "xformer/Semantics/MaskSemantics.h"

#include <cuda_bf16.h>

namespace xformer::cuda {

namespace mask = mlir::xformer::mask;

constexpr float kLog2e = 1.4426950408889634f;

struct AttentionParams {
  const float *q, *k, *v;
  float *out;
  int64_t batch, heads, kvHeads, qLen, kvLen;
  float scaleLog2; // softmax scale * log2(e)
  int64_t window, prefix;
  bool documents;
  const void *qLengths, *kvLengths, *prefixLengths, *segmentIds;
  int32_t qLengthsDtype, kvLengthsDtype, prefixLengthsDtype, segmentIdsDtype;
  const uint8_t *mask;
  int64_t maskB, maskH;
  const float *bias;
  int64_t biasB, biasH;
};

/// One sequence's valid lengths and resolved mask parameters.
struct Sequence {
  int64_t qValid, kValid;
  mask::Spec spec;
};

template <mask::Kind KIND>
__device__ inline Sequence sequence(const AttentionParams &p, int64_t b) {
  Sequence s;
  auto clampRead = [&](const void *ptr, int32_t dtype, int64_t limit) {
    if (!ptr)
      return limit;
    int64_t v = readIndex(ptr, dtype, b);
    return v < 0 ? int64_t(0) : (v > limit ? limit : v);
  };
  s.qValid = clampRead(p.qLengths, p.qLengthsDtype, p.qLen);
  s.kValid = clampRead(p.kvLengths, p.kvLengthsDtype, p.kvLen);
  s.spec.kind = KIND;
  s.spec.window = p.window;
  s.spec.prefix =
      p.prefixLengths ? readIndex(p.prefixLengths, p.prefixLengthsDtype, b)
                      : p.prefix;
  s.spec.documents = p.documents;
  return s;
}

/// Whether query i sees key j: the mask kind at the sequence's lengths,
/// its documents, and for custom masks the explicit tensor.
template <mask::Kind KIND>
__device__ inline bool visible(const AttentionParams &p, const Sequence &s,
                               int64_t b, int64_t h, int64_t i, int64_t j) {
  if (!mask::isVisible(s.spec, i, j, s.qValid, s.kValid))
    return false;
  if (s.spec.documents) {
    int64_t pos = mask::queryPosition(i, s.qValid, s.kValid);
    if (pos < 0 || pos >= s.kValid)
      return false;
    if (readIndex(p.segmentIds, p.segmentIdsDtype, b * p.kvLen + pos) !=
        readIndex(p.segmentIds, p.segmentIdsDtype, b * p.kvLen + j))
      return false;
  }
  if constexpr (KIND == mask::Kind::Custom)
    return p.mask[b * p.maskB + h * p.maskH + i * p.kvLen + j] != 0;
  return true;
}

// --- tensor-core prefill ---------------------------------------------------

__device__ inline uint32_t packBf16(float lo, float hi) {
  __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
  return *reinterpret_cast<uint32_t *>(&v);
}

__device__ inline uint32_t packBf16(__nv_bfloat16 lo, __nv_bfloat16 hi) {
  __nv_bfloat162 v;
  v.x = lo;
  v.y = hi;
  return *reinterpret_cast<uint32_t *>(&v);
}

/// c += a (16x16, row) * b (16x8, col), bf16 inputs, fp32 accumulators.
__device__ inline void mma16816(float (&c)[4], const uint32_t (&a)[4],
                                uint32_t b0, uint32_t b1) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
               "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
               "{%0, %1, %2, %3};\n"
               : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0),
                 "r"(b1));
#else
  __trap(); // the library is built for sm_80 and newer only
#endif
}

template <mask::Kind KIND, int D>
__global__ void __launch_bounds__(kPrefillWarps * 32)
    prefillKernel(AttentionParams p) {
  constexpr int BQ = int(kPrefillBlockQ), BK = int(kPrefillBlockK);
  constexpr int KS = D / 16;   // k-steps of Q K^T
  constexpr int NS = BK / 8;   // 8-key column blocks of S
  constexpr int NO = D / 8;    // 8-wide column blocks of O
  constexpr int LD = D + 8;    // padded shared rows (bank conflicts)
  __shared__ __align__(16) __nv_bfloat16 sK[BK * LD];
  __shared__ __align__(16) __nv_bfloat16 sV[BK * LD];

  const int64_t qTile = blockIdx.x, h = blockIdx.y, b = blockIdx.z;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int g = lane >> 2, t = lane & 3;
  const Sequence s = sequence<KIND>(p, b);
  const int64_t kvh = h / (p.heads / p.kvHeads);
  const float *qBase = p.q + (b * p.heads + h) * p.qLen * D;
  const float *kBase = p.k + (b * p.kvHeads + kvh) * p.kvLen * D;
  const float *vBase = p.v + (b * p.kvHeads + kvh) * p.kvLen * D;
  float *oBase = p.out + (b * p.heads + h) * p.qLen * D;
  const int64_t r0 = qTile * BQ + warp * 16; // this warp's first row

  // Q fragments (rows r0+g and r0+g+8), zero past the valid length.
  uint32_t qf[KS][4];
  auto loadQ = [&](int64_t row, int col) {
    if (row >= s.qValid)
      return packBf16(0.0f, 0.0f);
    const float *q = qBase + row * D + col;
    return packBf16(q[0], q[1]);
  };
#pragma unroll
  for (int ks = 0; ks < KS; ++ks) {
    qf[ks][0] = loadQ(r0 + g, ks * 16 + 2 * t);
    qf[ks][1] = loadQ(r0 + g + 8, ks * 16 + 2 * t);
    qf[ks][2] = loadQ(r0 + g, ks * 16 + 8 + 2 * t);
    qf[ks][3] = loadQ(r0 + g + 8, ks * 16 + 8 + 2 * t);
  }

  float o[NO][4];
#pragma unroll
  for (int n = 0; n < NO; ++n)
    o[n][0] = o[n][1] = o[n][2] = o[n][3] = 0.0f;
  float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.0f, 0.0f};

  const int64_t kTiles = mask::numTiles(s.kValid, BK);
  for (int64_t kt = 0; kt < kTiles; ++kt) {
    // Block-uniform: every thread takes the same branch.
    mask::TileClass cls =
        mask::classifyTile(s.spec, qTile, kt, BQ, BK, s.qValid, s.kValid);
    if (cls == mask::TileClass::Empty)
      continue;
    const bool partial = cls != mask::TileClass::Full || s.spec.documents;
    const int64_t j0 = kt * BK;

    __syncthreads(); // the previous tile's shared reads are done
    for (int idx = threadIdx.x; idx < BK * D / 4; idx += blockDim.x) {
      const int row = idx / (D / 4), col = (idx % (D / 4)) * 4;
      const int64_t j = j0 + row;
      float4 kv = make_float4(0.f, 0.f, 0.f, 0.f), vv = kv;
      if (j < s.kValid) {
        kv = *reinterpret_cast<const float4 *>(kBase + j * D + col);
        vv = *reinterpret_cast<const float4 *>(vBase + j * D + col);
      }
      __nv_bfloat162 *dk =
          reinterpret_cast<__nv_bfloat162 *>(sK + row * LD + col);
      __nv_bfloat162 *dv =
          reinterpret_cast<__nv_bfloat162 *>(sV + row * LD + col);
      dk[0] = __floats2bfloat162_rn(kv.x, kv.y);
      dk[1] = __floats2bfloat162_rn(kv.z, kv.w);
      dv[0] = __floats2bfloat162_rn(vv.x, vv.y);
      dv[1] = __floats2bfloat162_rn(vv.z, vv.w);
    }
    __syncthreads();

    // S = Q K^T for this warp's 16 rows and the tile's 64 keys.
    float sc[NS][4];
#pragma unroll
    for (int n = 0; n < NS; ++n) {
      sc[n][0] = sc[n][1] = sc[n][2] = sc[n][3] = 0.0f;
#pragma unroll
      for (int ks = 0; ks < KS; ++ks) {
        const __nv_bfloat16 *kr = sK + (n * 8 + g) * LD + ks * 16 + 2 * t;
        mma16816(sc[n], qf[ks], *reinterpret_cast<const uint32_t *>(kr),
                 *reinterpret_cast<const uint32_t *>(kr + 8));
      }
    }

    // Scale, bias, visibility; then the online softmax per row.
#pragma unroll
    for (int n = 0; n < NS; ++n)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int64_t row = r0 + g + (e >= 2 ? 8 : 0);
        const int64_t j = j0 + n * 8 + 2 * t + (e & 1);
        float x = sc[n][e] * p.scaleLog2;
        if (partial && !visible<KIND>(p, s, b, h, row, j)) {
          x = -INFINITY;
        } else if (p.bias) {
          x += p.bias[b * p.biasB + h * p.biasH + row * p.kvLen + j] * kLog2e;
        }
        sc[n][e] = x;
      }
#pragma unroll
    for (int rh = 0; rh < 2; ++rh) {
      float mx = -INFINITY;
#pragma unroll
      for (int n = 0; n < NS; ++n)
        mx = fmaxf(mx, fmaxf(sc[n][2 * rh], sc[n][2 * rh + 1]));
      mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
      mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
      const float mNew = fmaxf(m[rh], mx);
      if (mNew == -INFINITY) { // nothing visible to this row yet
#pragma unroll
        for (int n = 0; n < NS; ++n)
          sc[n][2 * rh] = sc[n][2 * rh + 1] = 0.0f;
        continue;
      }
      const float alpha = exp2f(m[rh] - mNew);
      m[rh] = mNew;
      l[rh] *= alpha;
#pragma unroll
      for (int n = 0; n < NO; ++n) {
        o[n][2 * rh] *= alpha;
        o[n][2 * rh + 1] *= alpha;
      }
#pragma unroll
      for (int n = 0; n < NS; ++n) {
        sc[n][2 * rh] = exp2f(sc[n][2 * rh] - mNew);
        sc[n][2 * rh + 1] = exp2f(sc[n][2 * rh + 1] - mNew);
        l[rh] += sc[n][2 * rh] + sc[n][2 * rh + 1];
      }
    }

    // O += P V: S's accumulator layout is P's A-fragment layout.
#pragma unroll
    for (int kk = 0; kk < BK / 16; ++kk) {
      const uint32_t a[4] = {packBf16(sc[2 * kk][0], sc[2 * kk][1]),
                             packBf16(sc[2 * kk][2], sc[2 * kk][3]),
                             packBf16(sc[2 * kk + 1][0], sc[2 * kk + 1][1]),
                             packBf16(sc[2 * kk + 1][2], sc[2 * kk + 1][3])};
      const __nv_bfloat16 *v0 = sV + (kk * 16 + 2 * t) * LD;
#pragma unroll
      for (int n = 0; n < NO; ++n) {
        const int d = n * 8 + g;
        const uint32_t b0 = packBf16(v0[d], v0[LD + d]);
        const uint32_t b1 = packBf16(v0[8 * LD + d], v0[9 * LD + d]);
        mma16816(o[n], a, b0, b1);
      }
    }
  }

  // Normalise; rows that saw nothing (padding included) are zeros.
#pragma unroll
  for (int rh = 0; rh < 2; ++rh) {
    float sum = l[rh];
    sum += __shfl_xor_sync(0xffffffffu, sum, 1);
    sum += __shfl_xor_sync(0xffffffffu, sum, 2);
    const float inv = sum > 0.0f ? 1.0f / sum : 0.0f;
    const int64_t row = r0 + g + 8 * rh;
    if (row >= p.qLen)
      continue;
#pragma unroll
    for (int n = 0; n < NO; ++n) {
      float2 v = make_float2(o[n][2 * rh] * inv, o[n][2 * rh + 1] * inv);
      *reinterpret_cast<float2 *>(oBase + row * D + n * 8 + 2 * t) = v;
    }
  }
}

// --- split-key attention (decode, custom masks, other head sizes) ---------

constexpr int kSplitWarps = 4;

template <mask::Kind KIND, int D, int DV>
__global__ void __launch_bounds__(kSplitWarps * 32)
    splitKeysKernel(AttentionParams p, int64_t keysPerSplit, int64_t splits,
                    int64_t groupStart, float *partial) {
  constexpr int G = int(kMaxGroup);
  constexpr int DL = (D + 31) / 32, DVL = (DV + 31) / 32;
  __shared__ float sM[kSplitWarps][G], sL[kSplitWarps][G];
  __shared__ float sO[kSplitWarps][G][DV];

  const int64_t row = blockIdx.x; // b * qLen + i
  const int64_t b = row / p.qLen, i = row % p.qLen;
  const int64_t group = p.heads / p.kvHeads;
  const int64_t kvh = blockIdx.y;
  const int64_t split = blockIdx.z;
  const int64_t h0 = kvh * group + groupStart;
  const int64_t heads = group - groupStart < G ? group - groupStart : G;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const Sequence s = sequence<KIND>(p, b);

  float q[G][DL], o[G][DVL], m[G], l[G];
#pragma unroll
  for (int gi = 0; gi < G; ++gi) {
    m[gi] = -INFINITY;
    l[gi] = 0.0f;
#pragma unroll
    for (int d = 0; d < DL; ++d) {
      const int dim = lane + 32 * d;
      q[gi][d] = gi < heads && dim < D && i < s.qValid
                     ? p.q[(((b * p.heads + h0 + gi) * p.qLen) + i) * D + dim] *
                           p.scaleLog2
                     : 0.0f;
    }
#pragma unroll
    for (int d = 0; d < DVL; ++d)
      o[gi][d] = 0.0f;
  }

  // The split's keys that the row can see at all.
  mask::KeyRange r = i < s.qValid
                         ? mask::visibleKeys(s.spec, i, s.qValid, s.kValid)
                         : mask::KeyRange{0, 0};
  int64_t lo = split * keysPerSplit, hi = lo + keysPerSplit;
  lo = lo > r.first ? lo : r.first;
  hi = hi < r.last ? hi : r.last;
  const float *kBase = p.k + (b * p.kvHeads + kvh) * p.kvLen * D;
  const float *vBase = p.v + (b * p.kvHeads + kvh) * p.kvLen * DV;
  for (int64_t j = lo + warp; j < hi; j += kSplitWarps) {
    float kd[DL], vd[DVL];
#pragma unroll
    for (int d = 0; d < DL; ++d) {
      const int dim = lane + 32 * d;
      kd[d] = dim < D ? kBase[j * D + dim] : 0.0f;
    }
#pragma unroll
    for (int d = 0; d < DVL; ++d) {
      const int dim = lane + 32 * d;
      vd[d] = dim < DV ? vBase[j * DV + dim] : 0.0f;
    }
#pragma unroll
    for (int gi = 0; gi < G; ++gi) {
      if (gi >= heads)
        break;
      if (!visible<KIND>(p, s, b, h0 + gi, i, j))
        continue;
      float x = 0.0f;
#pragma unroll
      for (int d = 0; d < DL; ++d)
        x += q[gi][d] * kd[d];
#pragma unroll
      for (int off = 16; off > 0; off >>= 1)
        x += __shfl_xor_sync(0xffffffffu, x, off);
      if (p.bias)
        x += p.bias[b * p.biasB + (h0 + gi) * p.biasH + i * p.kvLen + j] *
             kLog2e;
      const float mNew = fmaxf(m[gi], x);
      const float alpha = exp2f(m[gi] - mNew);
      const float pj = exp2f(x - mNew);
      m[gi] = mNew;
      l[gi] = l[gi] * alpha + pj;
#pragma unroll
      for (int d = 0; d < DVL; ++d)
        o[gi][d] = o[gi][d] * alpha + pj * vd[d];
    }
  }

  // Combine the warps.
#pragma unroll
  for (int gi = 0; gi < G; ++gi) {
    if (lane == 0) {
      sM[warp][gi] = m[gi];
      sL[warp][gi] = l[gi];
    }
#pragma unroll
    for (int d = 0; d < DVL; ++d) {
      const int dim = lane + 32 * d;
      if (dim < DV)
        sO[warp][gi][dim] = o[gi][d];
    }
  }
  __syncthreads();
  for (int idx = threadIdx.x; idx < heads * DV; idx += blockDim.x) {
    const int gi = idx / DV, dim = idx % DV;
    float M = -INFINITY;
    for (int w = 0; w < kSplitWarps; ++w)
      M = fmaxf(M, sM[w][gi]);
    float L = 0.0f, O = 0.0f;
    if (M != -INFINITY)
      for (int w = 0; w < kSplitWarps; ++w) {
        const float c = exp2f(sM[w][gi] - M);
        L += sL[w][gi] * c;
        O += sO[w][gi][dim] * c;
      }
    const int64_t h = h0 + gi;
    const int64_t outRow = (b * p.heads + h) * p.qLen + i;
    if (splits == 1) {
      p.out[outRow * DV + dim] = L > 0.0f ? O / L : 0.0f;
    } else {
      float *part = partial + (outRow * splits + split) * (DV + 2);
      if (dim == 0) {
        part[0] = M;
        part[1] = L;
      }
      part[2 + dim] = O;
    }
  }
}

/// Merges the splits of each (row, head): out = sum(O_s 2^(m_s - M)) /
/// sum(L_s 2^(m_s - M)).
__global__ void combineSplitsKernel(const float *partial, float *out,
                                    int64_t rows, int64_t splits, int64_t dv) {
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float *part = partial + r * splits * (dv + 2);
    float M = -INFINITY;
    for (int64_t sp = 0; sp < splits; ++sp)
      M = fmaxf(M, part[sp * (dv + 2)]);
    for (int64_t d = threadIdx.x; d < dv; d += blockDim.x) {
      float L = 0.0f, O = 0.0f;
      if (M != -INFINITY)
        for (int64_t sp = 0; sp < splits; ++sp) {
          const float c = exp2f(part[sp * (dv + 2)] - M);
          L += part[sp * (dv + 2) + 1] * c;
          O += part[sp * (dv + 2) + 2 + d] * c;
        }
      out[r * dv + d] = L > 0.0f ? O / L : 0.0f;
    }
  }
}

/// The generated code's attention entry point: MASK is an xfk_mask_kind
/// (numbered as mask::Kind), D and DV the query/key and value head sizes.
template <int MASK, int D, int DV>
inline int32_t xfk_attention(xfk_frame *f, const xfk_attention_args *a) {
  constexpr mask::Kind KIND = static_cast<mask::Kind>(MASK);
  static_assert(MASK >= XFK_MASK_BIDIRECTIONAL && MASK <= XFK_MASK_CUSTOM,
                "unknown mask kind");
  if (a->mask_kind != MASK || a->head_dim != D || a->v_head_dim != DV)
    return xfk_fail(f, XF_ERROR_INTERNAL,
                    "attention: arguments disagree with the specialisation");
  if (a->kv_heads <= 0 || a->heads % a->kv_heads != 0)
    return xfk_fail(f, XF_ERROR_INVALID_ARGUMENT,
                    "attention: heads must be a multiple of kv_heads");
  if (a->batch == 0 || a->q_len == 0 || a->heads == 0)
    return 0;
  AttentionParams p;
  p.q = a->q;
  p.k = a->k;
  p.v = a->v;
  p.out = a->out;
  p.batch = a->batch;
  p.heads = a->heads;
  p.kvHeads = a->kv_heads;
  p.qLen = a->q_len;
  p.kvLen = a->kv_len;
  p.scaleLog2 = a->scale * kLog2e;
  p.window = a->window;
  p.prefix = a->prefix;
  p.documents = a->documents != 0;
  p.qLengths = a->q_lengths;
  p.kvLengths = a->kv_lengths;
  p.prefixLengths = a->prefix_lengths;
  p.segmentIds = a->segment_ids;
  p.qLengthsDtype = a->q_lengths_dtype;
  p.kvLengthsDtype = a->kv_lengths_dtype;
  p.prefixLengthsDtype = a->prefix_lengths_dtype;
  p.segmentIdsDtype = a->segment_ids_dtype;
  p.mask = a->mask;
  p.maskB = a->mask_batch_stride;
  p.maskH = a->mask_head_stride;
  p.bias = a->bias;
  p.biasB = a->bias_batch_stride;
  p.biasH = a->bias_head_stride;

  if constexpr (KIND != mask::Kind::Custom && D == DV && D % 16 == 0 &&
                D >= 16 && D <= 128) {
    if (attentionPath(D, DV, p.qLen, false) == AttentionPath::TensorCore) {
      dim3 grid(unsigned(mask::numTiles(p.qLen, kPrefillBlockQ)),
                unsigned(p.heads), unsigned(p.batch));
      prefillKernel<KIND, D><<<grid, kPrefillWarps * 32>>>(p);
      return launched(f, "attention (tensor cores)");
    }
  }
  const int64_t group = p.heads / p.kvHeads;
  const int64_t rows = p.batch * p.qLen;
  SplitPlan plan = planSplits(p.kvLen, rows * p.kvHeads, smCount());
  float *partial = nullptr;
  if (plan.splits > 1) {
    void *ws = nullptr;
    const size_t bytes =
        size_t(rows * p.heads * plan.splits * (DV + 2)) * sizeof(float);
    if (cudaError_t e = ensureWorkspace(0, bytes, &ws))
      return cudaFail(f, e, "attention workspace");
    partial = static_cast<float *>(ws);
  }
  for (int64_t g0 = 0; g0 < group; g0 += kMaxGroup) {
    dim3 grid(unsigned(rows), unsigned(p.kvHeads), unsigned(plan.splits));
    splitKeysKernel<KIND, D, DV><<<grid, kSplitWarps * 32>>>(
        p, plan.keysPerSplit, plan.splits, g0, partial);
    if (int32_t rc = launched(f, "attention (split keys)"))
      return rc;
  }
  if (plan.splits > 1) {
    combineSplitsKernel<<<blocksFor(rows * p.heads, 1), 128>>>(
        partial, p.out, rows * p.heads, plan.splits, DV);
    return launched(f, "attention (combine splits)");
  }
  return 0;
}

} // namespace xformer::cuda

#endif // XFORMER_RUNTIME_CUDA_ATTENTION_CUH
