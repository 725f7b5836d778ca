//===- GGMLBlocks.h - How ggml's weight formats lay out a row ---*- C++ -*-===//
//
// The storage layout of each ggml type this project reads: elements per
// block and bytes per block, by ggml's type number (the numbers GGUF files
// store). One table for the GGUF reader and for the dialect's
// `!xformer.ggml<...>` type, so the IR and the runtime agree on every
// format's bytes.
//
//===----------------------------------------------------------------------===//

#ifndef XFORMER_SUPPORT_GGMLBLOCKS_H
#define XFORMER_SUPPORT_GGMLBLOCKS_H

#include <cstdint>

namespace xformer {

struct GGMLBlockLayout {
  uint32_t type; // ggml's type number
  const char *name;
  int64_t blockElements, blockBytes;
};

inline constexpr GGMLBlockLayout kGGMLBlockLayouts[] = {
    {0, "F32", 1, 4},        {1, "F16", 1, 2},        {2, "Q4_0", 32, 18},
    {3, "Q4_1", 32, 20},     {6, "Q5_0", 32, 22},     {7, "Q5_1", 32, 24},
    {8, "Q8_0", 32, 34},     {10, "Q2_K", 256, 84},   {11, "Q3_K", 256, 110},
    {12, "Q4_K", 256, 144},  {13, "Q5_K", 256, 176},  {14, "Q6_K", 256, 210},
    {15, "Q8_K", 256, 292},  {24, "I8", 1, 1},        {25, "I16", 1, 2},
    {26, "I32", 1, 4},       {27, "I64", 1, 8},       {28, "F64", 1, 8},
    {30, "BF16", 1, 2},
};

/// The layout of ggml type number `type`, or null if it is not in the table.
constexpr const GGMLBlockLayout *ggmlBlockLayout(uint32_t type) {
  for (const GGMLBlockLayout &l : kGGMLBlockLayouts)
    if (l.type == type)
      return &l;
  return nullptr;
}

/// The bytes of `rows` rows of `cols` elements of `layout`, or -1 if `cols`
/// is not a whole number of blocks, a size is negative, or the product
/// passes 2^62.
constexpr int64_t ggmlBytes(const GGMLBlockLayout &layout, int64_t rows,
                            int64_t cols) {
  if (rows < 0 || cols < 0 || cols % layout.blockElements != 0)
    return -1;
  int64_t n = 0;
  if (__builtin_mul_overflow(rows, cols / layout.blockElements, &n) ||
      __builtin_mul_overflow(n, layout.blockBytes, &n) ||
      n > (int64_t(1) << 62))
    return -1;
  return n;
}

} // namespace xformer

#endif // XFORMER_SUPPORT_GGMLBLOCKS_H
