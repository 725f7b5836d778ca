// What the CUDA target lowers: no stored (bf16, f16, ggml) weights.
// RUN: xformer-opt %s -split-input-file -verify-diagnostics --xformer-verify-target=target=cuda
// RUN: xformer-opt %S/../../Examples/bert-fused.mlir --xformer-verify-target=target=cuda | FileCheck %s --check-prefix=LEGAL
// LEGAL: xformer.attention

func.func @forward(%x: tensor<2x32xf32>) -> tensor<2x8xf32> attributes {xformer.model = #xformer.model<encoder>} {
  // expected-error @+1 {{the CUDA target needs static f32/i64/i32 weights, not 'tensor<8x32xbf16>'}}
  %w = xformer.weight @w : tensor<8x32xbf16>
  %y = xformer.linear %x, %w : tensor<2x32xf32>, tensor<8x32xbf16> -> tensor<2x8xf32>
  return %y : tensor<2x8xf32>
}
xformer.weight_decl @w : tensor<8x32xbf16>

// -----

func.func @forward(%x: tensor<2x32xf32>) -> tensor<2x8xf32> attributes {xformer.model = #xformer.model<encoder>} {
  // expected-error @+1 {{the CUDA target needs static f32/i64/i32 weights, not 'tensor<8x32x!xformer.ggml<q4_0>>'}}
  %w = xformer.weight @w : tensor<8x32x!xformer.ggml<q4_0>>
  %y = xformer.linear %x, %w : tensor<2x32xf32>, tensor<8x32x!xformer.ggml<q4_0>> -> tensor<2x8xf32>
  return %y : tensor<2x8xf32>
}
xformer.weight_decl @w : tensor<8x32x!xformer.ggml<q4_0>>

// -----

// expected-error @+1 {{the CUDA target stores f32 KV caches only, not 'bf16'}}
xformer.kv_cache @l0 self, kv_heads = 2, head_dim = 8 {capacity = 16 : i64, offset = 0 : i64, bytes = 2048 : i64} : bf16
func.func @forward(%x: tensor<2x8xf32>) -> tensor<2x8xf32> attributes {xformer.model = #xformer.model<decoder>} {
  return %x : tensor<2x8xf32>
}
