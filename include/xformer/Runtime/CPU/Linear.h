//===- Linear.h - GEMMs of the CPU runtime through oneDNN --------*- C++ -*-===//
//
// y[rows, out] = act(x[rows, in] @ W^T + bias) + residual, with W stored
// [out, in] (PyTorch nn.Linear) or [in, out] (`transposed`, GPT-2 Conv1D).
// oneDNN does the GEMM and the epilogue (post-ops) on the runtime's thread
// pool, blocks of output columns per thread (never an OpenMP team of its
// own); primitives are created once per shape and reused. In the bf16 mode (bf16 weights), a few rows
// (decode) run the runtime's own weight-streaming kernel, which reads each
// weight byte once; more rows run oneDNN's bf16 GEMM where the CPU has AMX,
// else oneDNN's f32 GEMM on weights widened a block at a time
// (XFORMER_BF16_GEMM=onednn|widened|streamed overrides the choice).
//
//===----------------------------------------------------------------------===//

#ifndef XFORMER_RUNTIME_CPU_LINEAR_H
#define XFORMER_RUNTIME_CPU_LINEAR_H

#include "xformer/Runtime/GGUF.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace xformer::runtime::cpu {

using runtime::GGMLType;

/// An elementwise function oneDNN applies to the GEMM's output (post-op).
enum class Activation { None, GeluErf, GeluTanh, Silu, Relu, Tanh };

/// A weight in ggml blocks repacked for decode (packBlocks): its output rows
/// in groups of 8, and in a group each block of the 8 rows stored together,
/// levels interleaved so that one vector instruction multiplies 8 rows by
/// the same inputs (the sums land in 8 lanes, one per output, with no
/// horizontal reduction), the 8 rows' scales side by side. The values are
/// those of the blocks, unchanged (Q6_K's 6-bit levels as their low
/// nibbles and top two bits).
/// Outputs past the last whole group (out % 8) are read from the blocks.
/// Zeroed bytes that the kernel backs with transparent huge pages where it
/// can (from 2 MiB, aligned to 2 MiB, MADV_HUGEPAGE): weights every decode
/// step reads through, which in 4 KiB pages cost a TLB miss per page (a
/// 1.2B model's packed Q4_0 decoded at 28.6 tokens/s so and 43.1 in huge
/// pages on Zen 4, 2 threads).
class HugePageBuffer {
public:
  HugePageBuffer() = default;
  /// Throws std::bad_alloc when the memory cannot be had.
  explicit HugePageBuffer(size_t bytes);
  HugePageBuffer(HugePageBuffer &&other) noexcept
      : ptr(other.ptr), bytes(other.bytes) {
    other.ptr = nullptr;
    other.bytes = 0;
  }
  HugePageBuffer &operator=(HugePageBuffer &&other) noexcept;
  HugePageBuffer(const HugePageBuffer &) = delete;
  HugePageBuffer &operator=(const HugePageBuffer &) = delete;
  ~HugePageBuffer();
  uint8_t *data() const { return ptr; }
  size_t size() const { return bytes; }

private:
  uint8_t *ptr = nullptr;
  size_t bytes = 0;
};

struct PackedBlocks {
  GGMLType type = GGMLType::Q8_0;
  int64_t out = 0, in = 0;
  int64_t groupBytes = 0; // one group of 8 rows, all its blocks
  HugePageBuffer bytes;
};

/// `blocks` [out, in] of `type` packed; null where the format has no packed
/// kernel (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K and Q6_K have one), the CPU
/// lacks AVX2 or
/// there is no whole group of 8 rows.
std::unique_ptr<PackedBlocks> packBlocks(GGMLType type, const void *blocks,
                                         int64_t out, int64_t in);

/// Whether a linear of `rows` input rows over ggml blocks reads them packed
/// when given (below the row count from which it decodes panels for a GEMM,
/// at every row count on AVX512-VNNI CPUs; never with
/// XFORMER_BLOCK_PACKED=0).
bool readsPacked(int64_t rows);

struct LinearArgs {
  const float *input = nullptr;  // [rows, in]
  const float *weight = nullptr; // [out, in], or [in, out] when transposed
  /// The bf16 mode: the weight as bf16 words instead (weight is null). The
  /// input is rounded to bf16; products are summed in f32.
  const uint16_t *weightBF16 = nullptr;
  /// Or the weight as IEEE f16 words, [out, in] (not transposed): each
  /// product is the f16 value (exact in f32) times the input as it is,
  /// summed in f32.
  const uint16_t *weightF16 = nullptr;
  /// Or the weight as ggml blocks of `blockType`, [out, in] (not
  /// transposed), each row a whole number of blocks. Below 12 rows, Q8_0,
  /// Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q6_K: the input is quantized to 16 bits
  /// per block of 32 and the products are integer dot products, scaled per
  /// 32 weights (from 2 rows on AVX512-VNNI CPUs by a GEMM over the
  /// packed weight); the other block formats: rows decoded to f32. From 12
  /// rows, except by that GEMM: panels of weights decoded to f32 for
  /// oneDNN's f32 GEMM.
  const void *weightBlocks = nullptr;
  GGMLType blockType = GGMLType::Q8_0;
  /// The same weight packed (packBlocks), or null: read instead of
  /// weightBlocks where the block kernels run on AVX2 below 12 rows, and
  /// on AVX512-VNNI at any row count.
  const PackedBlocks *packed = nullptr;
  const float *bias = nullptr;   // [out] or null
  float *output = nullptr;       // [rows, out]
  int64_t rows = 0, in = 0, out = 0;
  bool transposed = false;
  /// Epilogue, in this order: activation(x W^T + bias) + residual.
  Activation activation = Activation::None;
  const float *residual = nullptr; // [rows, out] or null
};

/// Runs the GEMM; returns false and sets `error` if oneDNN refuses it.
bool linear(const LinearArgs &args, std::string &error);

/// y[r][i] = act(x[r][i]) * x[r][n + i] for x [rows, 2n], y [rows, n]: the
/// gated linear unit after a fused gate/up projection (Glu.cpp).
void gatedLinearUnit(Activation act, const float *x, float *y, int64_t rows,
                     int64_t n);

/// The builds of the runtime's attention and linear kernels, one per
/// instruction set, chosen at run time from the CPU (XFORMER_CPU_ISA=
/// baseline|avx2 picks a narrower one): baseline x86-64; AVX2 with FMA and
/// F16C; AVX-512 (F, BW, DQ, VL) with BF16 and VNNI.
enum class CpuISA { Baseline, AVX2, AVX512 };
CpuISA cpuISA();

/// Whether the weight-streaming kernels (decode linears, f32/f16/bf16 and
/// ggml blocks) prefetch their weights a few KiB ahead of their loads: on
/// Intel CPUs, where the hardware prefetcher alone left a thread's stream
/// at 70-80% of the read rate, and on AMD Zen 5 (1x576x1536, 2 threads:
/// f32 32-39 GB/s without, 36-44 with; f16 29-32 against 38-40; Q4_0 24-26
/// against 28-30); not on Zen 3 and Zen 4, where the hardware prefetcher
/// keeps up and the extra loads cost (Zen 4, 1x576x1536 bf16: 25 GB/s
/// without, 18 with). XFORMER_PREFETCH=0|1 overrides.
bool softwarePrefetch();

/// The instruction sets of the block kernels, chosen at run time from the
/// CPU (XFORMER_BLOCK_ISA=scalar|avx2|avx512vnni picks a lower one).
enum class BlockISA { Scalar, AVX2, AVX512VNNI };
BlockISA blockISA();
/// Whether the CPU runs `isa`; forceBlockISA picks one for the process
/// (tests run each path the CPU has).
bool cpuHasBlockISA(BlockISA isa);
void forceBlockISA(BlockISA isa);

} // namespace xformer::runtime::cpu

#endif // XFORMER_RUNTIME_CPU_LINEAR_H
