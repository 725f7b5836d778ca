// Weights in ggml's block formats: the type round-trips, and the verifiers
// check it against the ops that read it.
// RUN: xformer-opt %s -split-input-file | FileCheck %s
// RUN: xformer-opt %s -split-input-file | xformer-opt -split-input-file | FileCheck %s

// CHECK-LABEL: func.func @linear_and_embedding
// CHECK: xformer.weight @w : tensor<64x256x!xformer.ggml<q4_k>>
// CHECK: xformer.weight @e : tensor<100x64x!xformer.ggml<q8_0>>
// CHECK: xformer.embedding %{{.+}}, %{{.+}} : tensor<100x64x!xformer.ggml<q8_0>>, tensor<2x4xi64> -> tensor<2x4x64xf32>
// CHECK: xformer.linear %{{.+}}, %{{.+}} : tensor<2x4x256xf32>, tensor<64x256x!xformer.ggml<q4_k>> -> tensor<2x4x64xf32>
func.func @linear_and_embedding(%x: tensor<2x4x256xf32>, %ids: tensor<2x4xi64>) -> (tensor<2x4x64xf32>, tensor<2x4x64xf32>) {
  %w = xformer.weight @w : tensor<64x256x!xformer.ggml<q4_k>>
  %e = xformer.weight @e : tensor<100x64x!xformer.ggml<q8_0>>
  %r = xformer.embedding %e, %ids : tensor<100x64x!xformer.ggml<q8_0>>, tensor<2x4xi64> -> tensor<2x4x64xf32>
  %y = xformer.linear %x, %w : tensor<2x4x256xf32>, tensor<64x256x!xformer.ggml<q4_k>> -> tensor<2x4x64xf32>
  return %r, %y : tensor<2x4x64xf32>, tensor<2x4x64xf32>
}
xformer.weight_decl @w : tensor<64x256x!xformer.ggml<q4_k>>
xformer.weight_decl @e : tensor<100x64x!xformer.ggml<q8_0>>

// -----

// Every format by name; one name tied in blocks and in f32.
// CHECK-LABEL: func.func @formats
// CHECK-COUNT-10: !xformer.ggml<{{q4_0|q4_1|q5_0|q5_1|q8_0|q2_k|q3_k|q4_k|q5_k|q6_k}}>
func.func @formats() {
  %a = xformer.weight @a : tensor<2x256x!xformer.ggml<q4_0>>
  %b = xformer.weight @b : tensor<2x256x!xformer.ggml<q4_1>>
  %c = xformer.weight @c : tensor<2x256x!xformer.ggml<q5_0>>
  %d = xformer.weight @d : tensor<2x256x!xformer.ggml<q5_1>>
  %e = xformer.weight @e : tensor<2x256x!xformer.ggml<q8_0>>
  %f = xformer.weight @f : tensor<2x256x!xformer.ggml<q2_k>>
  %g = xformer.weight @g : tensor<2x256x!xformer.ggml<q3_k>>
  %h = xformer.weight @h : tensor<2x256x!xformer.ggml<q4_k>>
  %i = xformer.weight @i : tensor<2x256x!xformer.ggml<q5_k>>
  %j = xformer.weight @j : tensor<2x256x!xformer.ggml<q6_k>>
  %k = xformer.weight @j : tensor<2x256xf32>
  return
}
xformer.weight_decl @a : tensor<2x256x!xformer.ggml<q4_0>>
xformer.weight_decl @b : tensor<2x256x!xformer.ggml<q4_1>>
xformer.weight_decl @c : tensor<2x256x!xformer.ggml<q5_0>>
xformer.weight_decl @d : tensor<2x256x!xformer.ggml<q5_1>>
xformer.weight_decl @e : tensor<2x256x!xformer.ggml<q8_0>>
xformer.weight_decl @f : tensor<2x256x!xformer.ggml<q2_k>>
xformer.weight_decl @g : tensor<2x256x!xformer.ggml<q3_k>>
xformer.weight_decl @h : tensor<2x256x!xformer.ggml<q4_k>>
xformer.weight_decl @i : tensor<2x256x!xformer.ggml<q5_k>>
xformer.weight_decl @j : tensor<2x256x!xformer.ggml<q6_k>>

// -----

// GGUF's 16-bit float weights: f16 linear weights under an f32 input, and
// bf16 and f16 embedding tables giving f32 rows (one table tied to the LM
// head, as SmolLM2's is).
// CHECK-LABEL: func.func @sixteen_bit_floats
// CHECK: xformer.embedding %{{.+}}, %{{.+}} : tensor<100x64xbf16>, tensor<2x4xi64> -> tensor<2x4x64xf32>
// CHECK: xformer.linear %{{.+}}, %{{.+}} : tensor<2x4x64xf32>, tensor<100x64xbf16> -> tensor<2x4x100xf32>
// CHECK: xformer.embedding %{{.+}}, %{{.+}} : tensor<100x64xf16>, tensor<2x4xi64> -> tensor<2x4x64xf32>
// CHECK: xformer.linear %{{.+}}, %{{.+}} : tensor<2x4x64xf32>, tensor<32x64xf16> -> tensor<2x4x32xf32>
func.func @sixteen_bit_floats(%ids: tensor<2x4xi64>) -> (tensor<2x4x100xf32>, tensor<2x4x32xf32>) {
  %e = xformer.weight @e : tensor<100x64xbf16>
  %x = xformer.embedding %e, %ids : tensor<100x64xbf16>, tensor<2x4xi64> -> tensor<2x4x64xf32>
  %h = xformer.linear %x, %e : tensor<2x4x64xf32>, tensor<100x64xbf16> -> tensor<2x4x100xf32>
  %e2 = xformer.weight @e2 : tensor<100x64xf16>
  %w = xformer.weight @w : tensor<32x64xf16>
  %x2 = xformer.embedding %e2, %ids : tensor<100x64xf16>, tensor<2x4xi64> -> tensor<2x4x64xf32>
  %y = xformer.linear %x2, %w : tensor<2x4x64xf32>, tensor<32x64xf16> -> tensor<2x4x32xf32>
  return %h, %y : tensor<2x4x100xf32>, tensor<2x4x32xf32>
}
xformer.weight_decl @e : tensor<100x64xbf16>
xformer.weight_decl @e2 : tensor<100x64xf16>
xformer.weight_decl @w : tensor<32x64xf16>
