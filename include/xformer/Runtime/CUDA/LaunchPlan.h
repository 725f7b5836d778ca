//===- LaunchPlan.h - Host-side decisions of the CUDA kernels ---*- C++ -*-===//
//
// What the CUDA kernel library decides on the host before a launch: which
// attention kernel a shape takes, how a decode step splits the keys
// (flash-decoding), how a row-major GEMM maps onto cuBLASLt's column-major
// one, how broadcast operands are strided. Plain C++ without CUDA, so the
// decisions are unit-tested on machines without a GPU
// (unittests/CudaLaunchPlanTest.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef XFORMER_RUNTIME_CUDA_LAUNCHPLAN_H
#define XFORMER_RUNTIME_CUDA_LAUNCHPLAN_H

#include <cstdint>

namespace xformer::cuda {

/// Most dimensions a broadcasting elementwise kernel takes.
constexpr int kMaxRank = 8;

/// Output shape and each operand's element strides read as broadcast to it
/// (size-1 dimensions repeat: stride 0), padded on the left to kMaxRank.
template <int N> struct BroadcastShape {
  int32_t rank = 0;
  int64_t total = 1;
  int64_t out[kMaxRank] = {};
  int64_t strides[N][kMaxRank] = {};
};

/// Fills `s` for `rank` dimensions (rank <= kMaxRank; the caller checks).
/// `operands[o]` is operand o's shape padded to `rank` (ABI convention).
template <int N>
inline BroadcastShape<N> broadcastShape(const int64_t *outShape,
                                        const int64_t *const (&operands)[N],
                                        int32_t rank) {
  BroadcastShape<N> s;
  s.rank = rank;
  for (int32_t d = 0; d < rank; ++d) {
    s.out[d] = outShape[d];
    s.total *= outShape[d];
  }
  for (int o = 0; o < N; ++o) {
    int64_t stride = 1;
    for (int32_t d = rank - 1; d >= 0; --d) {
      s.strides[o][d] = operands[o][d] == 1 ? 0 : stride;
      stride *= operands[o][d];
    }
  }
  return s;
}

/// The element offset of operand `o` for the flat output index `i`.
template <int N>
#ifdef __CUDACC__
__host__ __device__
#endif
    inline int64_t
    broadcastOffset(const BroadcastShape<N> &s, int o, int64_t i) {
  int64_t off = 0;
  for (int32_t d = s.rank - 1; d >= 0; --d) {
    int64_t idx = i % s.out[d];
    i /= s.out[d];
    off += idx * s.strides[o][d];
  }
  return off;
}

/// Which kernel an attention shape takes.
enum class AttentionPath {
  /// FlashAttention-2 style on tensor cores (mma.sync m16n8k16, bf16 inputs,
  /// fp32 accumulation): head sizes equal, a multiple of 16, at most 128.
  TensorCore,
  /// One query row per block, keys split across blocks (flash-decoding),
  /// every query head of a GQA group in the same block: decode steps and
  /// shapes the tensor-core kernel does not take.
  SplitKeys,
};

inline bool tensorCoreHeadDim(int64_t headDim, int64_t vHeadDim) {
  return headDim == vHeadDim && headDim % 16 == 0 && headDim >= 16 &&
         headDim <= 128;
}

/// Decode-sized query counts go to SplitKeys: a tensor-core tile of 64
/// queries would be almost empty.
inline AttentionPath attentionPath(int64_t headDim, int64_t vHeadDim,
                                   int64_t qLen, bool customMask) {
  if (qLen <= 4 || customMask || !tensorCoreHeadDim(headDim, vHeadDim))
    return AttentionPath::SplitKeys;
  return AttentionPath::TensorCore;
}

/// Prefill tiles: 64 queries (4 warps of 16) by 64 keys.
constexpr int64_t kPrefillBlockQ = 64;
constexpr int64_t kPrefillBlockK = 64;
constexpr int kPrefillWarps = 4;

/// The largest GQA group the split-key kernel keeps in registers; larger
/// groups are processed in several passes over the keys.
constexpr int64_t kMaxGroup = 8;

/// How a split-key launch divides the keys of each (query row, group).
struct SplitPlan {
  int64_t splits = 1;       // blocks along the keys
  int64_t keysPerSplit = 0; // a multiple of 64
};

/// Enough blocks to give every SM two, with at least 256 keys per split
/// (fewer keys do not pay for the combine step), at most 64 splits.
inline SplitPlan planSplits(int64_t kvLen, int64_t otherBlocks,
                            int64_t smCount) {
  SplitPlan p;
  if (kvLen <= 0) {
    p.keysPerSplit = 64;
    return p;
  }
  const int64_t target = 2 * (smCount > 0 ? smCount : 1);
  int64_t splits = otherBlocks >= target ? 1
                                         : (target + otherBlocks - 1) /
                                               (otherBlocks > 0 ? otherBlocks : 1);
  const int64_t maxByLength = (kvLen + 255) / 256;
  if (splits > maxByLength)
    splits = maxByLength;
  if (splits > 64)
    splits = 64;
  if (splits < 1)
    splits = 1;
  int64_t per = (kvLen + splits - 1) / splits;
  per = (per + 63) / 64 * 64;
  p.splits = (kvLen + per - 1) / per;
  p.keysPerSplit = per;
  return p;
}

/// A row-major GEMM Y[rows, out] = X[rows, in] * op(W) as cuBLASLt's
/// column-major D[m, n] = op(A)[m, k] * B[k, n]: D is Y read column-major
/// (m = out, n = rows), B is X (k = in), A is W (transposed unless W is
/// stored [in, out]). Bias vectors run along m.
struct GemmShape {
  bool transA = false;
  int64_t m = 0, n = 0, k = 0;
  int64_t lda = 0, ldb = 0, ldd = 0;
};

/// `weightInOut`: W is stored [in, out] (GPT-2 Conv1D), else [out, in].
inline GemmShape linearGemm(int64_t rows, int64_t in, int64_t out,
                            bool weightInOut) {
  GemmShape g;
  g.m = out;
  g.n = rows;
  g.k = in;
  g.transA = !weightInOut;
  g.lda = weightInOut ? out : in;
  g.ldb = in;
  g.ldd = out;
  return g;
}

} // namespace xformer::cuda

#endif // XFORMER_RUNTIME_CUDA_LAUNCHPLAN_H
