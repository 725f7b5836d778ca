// The verifier rules of weights in ggml blocks, one case each: reads in
// blocks of a weight declared f32 (as xformer-weight-format writes them).
// RUN: xformer-opt %s -split-input-file -verify-diagnostics

func.func @rows_not_whole_blocks() {
  // expected-error @+1 {{weight 'w' has rows of 48 elements, not a whole number of Q4_0 blocks of 32}}
  %w = xformer.weight @w : tensor<4x48x!xformer.ggml<q4_0>>
  return
}
xformer.weight_decl @w : tensor<4x48xf32>

// -----

func.func @k_quant_block() {
  // expected-error @+1 {{weight 'w' has rows of 576 elements, not a whole number of Q4_K blocks of 256}}
  %w = xformer.weight @w : tensor<4x576x!xformer.ggml<q4_k>>
  return
}
xformer.weight_decl @w : tensor<4x576xf32>

// -----

func.func @not_2d() {
  // expected-error @+1 {{weight 'w' in Q8_0 blocks must be 2-D (rows of blocks), got rank 3}}
  %w = xformer.weight @w : tensor<2x4x32x!xformer.ggml<q8_0>>
  return
}
xformer.weight_decl @w : tensor<2x4x32xf32>

// -----

func.func @tied_int(%ids: tensor<2xi64>) {
  %a = xformer.weight @w : tensor<4x32x!xformer.ggml<q8_0>>
  // expected-error @+1 {{reads weight 'w' as 'tensor<4x32xi32>' but it is declared 'tensor<4x32x!xformer.ggml<q8_0>>'}}
  %b = xformer.weight @w : tensor<4x32xi32>
  return
}
// expected-note @+1 {{declared here}}
xformer.weight_decl @w : tensor<4x32x!xformer.ggml<q8_0>>

// -----

// A declaration in blocks follows the same rules as a read.
// expected-error @+1 {{weight 'w' has rows of 48 elements, not a whole number of Q4_0 blocks of 32}}
xformer.weight_decl @w : tensor<4x48x!xformer.ggml<q4_0>>

// -----

func.func @transposed(%x: tensor<2x32xf32>) -> tensor<2x64xf32> {
  %w = xformer.weight @w : tensor<32x64x!xformer.ggml<q8_0>>
  // expected-error @+1 {{a weight in Q8_0 blocks is stored [out, in]; weight_transposed is not allowed}}
  %y = xformer.linear %x, %w {weight_transposed} : tensor<2x32xf32>, tensor<32x64x!xformer.ggml<q8_0>> -> tensor<2x64xf32>
  return %y : tensor<2x64xf32>
}
xformer.weight_decl @w : tensor<32x64x!xformer.ggml<q8_0>>

// -----

func.func @bf16_input(%x: tensor<2x32xbf16>) -> tensor<2x4xbf16> {
  %w = xformer.weight @w : tensor<4x32x!xformer.ggml<q4_1>>
  // expected-error @+1 {{a weight in Q4_1 blocks needs an f32 input, not 'bf16'}}
  %y = xformer.linear %x, %w : tensor<2x32xbf16>, tensor<4x32x!xformer.ggml<q4_1>> -> tensor<2x4xbf16>
  return %y : tensor<2x4xbf16>
}
xformer.weight_decl @w : tensor<4x32x!xformer.ggml<q4_1>>

// -----

func.func @embedding_result(%ids: tensor<2xi64>) -> tensor<2x32xbf16> {
  %t = xformer.weight @t : tensor<10x32x!xformer.ggml<q8_0>>
  // expected-error @+1 {{result element type 'bf16' should be 'f32' (a table in ggml blocks decodes to f32)}}
  %r = xformer.embedding %t, %ids : tensor<10x32x!xformer.ggml<q8_0>>, tensor<2xi64> -> tensor<2x32xbf16>
  return %r : tensor<2x32xbf16>
}
xformer.weight_decl @t : tensor<10x32x!xformer.ggml<q8_0>>

// -----

func.func @ggml_activation(%x: tensor<2x32x!xformer.ggml<q8_0>>) -> tensor<2x32x!xformer.ggml<q8_0>> {
  // expected-error @+1 {{operand #0 must be ranked tensor of floating-point values}}
  %y = xformer.gelu erf %x : tensor<2x32x!xformer.ggml<q8_0>>
  return %y : tensor<2x32x!xformer.ggml<q8_0>>
}

// -----

// expected-error @+2 {{expected ::mlir::xformer::GGMLFormat to be one of: q4_0, q4_1, q5_0, q5_1, q8_0, q2_k, q3_k, q4_k, q5_k, q6_k}}
// expected-error @+1 {{failed to parse Xformer_GGMLType parameter 'format'}}
func.func @unknown_format(%x: tensor<2x32x!xformer.ggml<q7_0>>) {
  return
}
