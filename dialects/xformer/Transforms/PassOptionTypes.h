//===- PassOptionTypes.h - The enums of pass and pipeline options -*- C++ -*-===//
//
// Options with a fixed set of values are typed: the option parser rejects
// anything else with the list of values, and the pass switches on an enum.
// Each `..._CL_VALUES` macro is the llvm::cl::values list of its enum, for
// Passes.td, the pipelines and the command-line tools alike.
//
//===----------------------------------------------------------------------===//

#ifndef XFORMER_TRANSFORMS_PASSOPTIONTYPES_H
#define XFORMER_TRANSFORMS_PASSOPTIONTYPES_H

#include "xformer/IR/XformerAttrs.h"

#include "llvm/Support/CommandLine.h"

#include <optional>

namespace mlir::xformer {

/// How xformer-weight-format stores linear weights: every stored format
/// decoded (f32), bf16, or a ggml block format.
enum class WeightStorage {
  f32, bf16, q4_0, q4_1, q5_0, q5_1, q8_0, q2_k, q3_k, q4_k, q5_k, q6_k
};

/// The ggml block format of `storage`, none for f32 and bf16.
inline std::optional<GGMLFormat> ggmlFormatOf(WeightStorage storage) {
  switch (storage) {
  case WeightStorage::f32:
  case WeightStorage::bf16:
    return std::nullopt;
  case WeightStorage::q4_0: return GGMLFormat::q4_0;
  case WeightStorage::q4_1: return GGMLFormat::q4_1;
  case WeightStorage::q5_0: return GGMLFormat::q5_0;
  case WeightStorage::q5_1: return GGMLFormat::q5_1;
  case WeightStorage::q8_0: return GGMLFormat::q8_0;
  case WeightStorage::q2_k: return GGMLFormat::q2_k;
  case WeightStorage::q3_k: return GGMLFormat::q3_k;
  case WeightStorage::q4_k: return GGMLFormat::q4_k;
  case WeightStorage::q5_k: return GGMLFormat::q5_k;
  case WeightStorage::q6_k: return GGMLFormat::q6_k;
  }
  return std::nullopt;
}

#define XFORMER_WEIGHT_STORAGE_CL_VALUES                                      \
  ::llvm::cl::values(                                                         \
      clEnumValN(::mlir::xformer::WeightStorage::f32, "f32",                  \
                 "every stored format decoded to f32"),                       \
      clEnumValN(::mlir::xformer::WeightStorage::bf16, "bf16",                \
                 "linear weights in bf16"),                                   \
      clEnumValN(::mlir::xformer::WeightStorage::q4_0, "q4_0", "ggml Q4_0"),  \
      clEnumValN(::mlir::xformer::WeightStorage::q4_1, "q4_1", "ggml Q4_1"),  \
      clEnumValN(::mlir::xformer::WeightStorage::q5_0, "q5_0", "ggml Q5_0"),  \
      clEnumValN(::mlir::xformer::WeightStorage::q5_1, "q5_1", "ggml Q5_1"),  \
      clEnumValN(::mlir::xformer::WeightStorage::q8_0, "q8_0", "ggml Q8_0"),  \
      clEnumValN(::mlir::xformer::WeightStorage::q2_k, "q2_k", "ggml Q2_K"),  \
      clEnumValN(::mlir::xformer::WeightStorage::q3_k, "q3_k", "ggml Q3_K"),  \
      clEnumValN(::mlir::xformer::WeightStorage::q4_k, "q4_k", "ggml Q4_K"),  \
      clEnumValN(::mlir::xformer::WeightStorage::q5_k, "q5_k", "ggml Q5_K"),  \
      clEnumValN(::mlir::xformer::WeightStorage::q6_k, "q6_k", "ggml Q6_K"))

/// The element type xformer-narrow-weights gives linear weights.
enum class NarrowType { bf16 };

#define XFORMER_NARROW_TYPE_CL_VALUES                                         \
  ::llvm::cl::values(clEnumValN(::mlir::xformer::NarrowType::bf16, "bf16",   \
                                "bfloat16"))

/// xformer-plan-kv-cache's layout of self caches.
enum class CacheLayout { contiguous, paged };

#define XFORMER_CACHE_LAYOUT_CL_VALUES                                        \
  ::llvm::cl::values(                                                         \
      clEnumValN(::mlir::xformer::CacheLayout::contiguous, "contiguous",      \
                 "max-batch sequences of each cache's capacity"),             \
      clEnumValN(::mlir::xformer::CacheLayout::paged, "paged",                \
                 "blocks shared through a block table"))

/// xformer-plan-kv-cache's storage type: each cache's own, or one for all.
enum class CacheDtype { model, f32, f16, bf16, fp8, int8 };

#define XFORMER_CACHE_DTYPE_CL_VALUES                                         \
  ::llvm::cl::values(                                                         \
      clEnumValN(::mlir::xformer::CacheDtype::model, "model",                 \
                 "each cache's K/V type"),                                    \
      clEnumValN(::mlir::xformer::CacheDtype::f32, "f32", "f32"),             \
      clEnumValN(::mlir::xformer::CacheDtype::f16, "f16", "f16"),             \
      clEnumValN(::mlir::xformer::CacheDtype::bf16, "bf16", "bf16"),          \
      clEnumValN(::mlir::xformer::CacheDtype::fp8, "fp8",                     \
                 "fp8 e4m3, a scale per head"),                               \
      clEnumValN(::mlir::xformer::CacheDtype::int8, "int8",                   \
                 "int8, a scale per head"))

} // namespace mlir::xformer

#endif // XFORMER_TRANSFORMS_PASSOPTIONTYPES_H
