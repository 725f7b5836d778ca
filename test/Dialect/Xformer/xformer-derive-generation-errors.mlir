// What cannot be decoded is an error naming the cause.
// RUN: not xformer-opt %S/../../Examples/bert-fused.mlir --xformer-derive-generation 2>&1 | FileCheck %s --check-prefix=ENCODER
// ENCODER: error: xformer-derive-generation: @forward is an encoder: it has no autoregressive part to decode
// RUN: not xformer-opt %S/../../Examples/gpt2-fused.mlir --xformer-derive-generation="verify-chunk=9" 2>&1 | FileCheck %s --check-prefix=VERIFY
// VERIFY: error: xformer-derive-generation: verify-chunk=9 must be between 0 and the prefill chunk (8)
// RUN: not xformer-opt %s -split-input-file --xformer-derive-generation 2>&1 | FileCheck %s

// CHECK: error: xformer-derive-generation: @forward does not say what it computes; add xformer.model = #xformer.model<decoder>
func.func @forward(%ids: tensor<1x4xi64>) -> tensor<1x4x10xf32> {
  %w = xformer.weight @wte : tensor<10x8xf32>
  %x = xformer.embedding %w, %ids : tensor<10x8xf32>, tensor<1x4xi64> -> tensor<1x4x8xf32>
  %l = xformer.linear %x, %w : tensor<1x4x8xf32>, tensor<10x8xf32> -> tensor<1x4x10xf32>
  return %l : tensor<1x4x10xf32>
}
xformer.weight_decl @wte : tensor<10x8xf32>

// -----

// CHECK: error: xformer-derive-generation: attention has a #xformer.mask<bidirectional> mask, which can see later positions: it cannot be decoded one token at a time
func.func @forward(%ids: tensor<1x4xi64>) -> tensor<1x4x10xf32> attributes {xformer.model = #xformer.model<decoder>} {
  %w = xformer.weight @wte : tensor<10x8xf32>
  %x = xformer.embedding %w, %ids : tensor<10x8xf32>, tensor<1x4xi64> -> tensor<1x4x8xf32>
  %q = xformer.split_heads %x, heads = 2 : tensor<1x4x8xf32> -> tensor<1x2x4x4xf32>
  %o = xformer.attention %q, %q, %q, mask = #xformer.mask<bidirectional>, scale = 0.5 : tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32> -> tensor<1x2x4x4xf32>
  %m = xformer.merge_heads %o : tensor<1x2x4x4xf32> -> tensor<1x4x8xf32>
  %l = xformer.linear %m, %w : tensor<1x4x8xf32>, tensor<10x8xf32> -> tensor<1x4x10xf32>
  return %l : tensor<1x4x10xf32>
}
xformer.weight_decl @wte : tensor<10x8xf32>

// -----

// An explicit mask (one fusion did not prove, e.g. a causal mask past the
// proof's size budget) is not said to see later positions.
// CHECK: error: xformer-derive-generation: attention has an explicit mask (#xformer.mask<custom>) that --xformer-fuse-attention did not prove causal, sliding-window or prefix-LM
func.func @forward(%ids: tensor<1x4xi64>) -> tensor<1x4x10xf32> attributes {xformer.model = #xformer.model<decoder>} {
  %mask = arith.constant dense<true> : tensor<4x4xi1>
  %w = xformer.weight @wte : tensor<10x8xf32>
  %x = xformer.embedding %w, %ids : tensor<10x8xf32>, tensor<1x4xi64> -> tensor<1x4x8xf32>
  %q = xformer.split_heads %x, heads = 2 : tensor<1x4x8xf32> -> tensor<1x2x4x4xf32>
  %o = xformer.attention %q, %q, %q, mask = #xformer.mask<custom>, scale = 0.5 mask_tensor(%mask : tensor<4x4xi1>) : tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32> -> tensor<1x2x4x4xf32>
  %m = xformer.merge_heads %o : tensor<1x2x4x4xf32> -> tensor<1x4x8xf32>
  %l = xformer.linear %m, %w : tensor<1x4x8xf32>, tensor<10x8xf32> -> tensor<1x4x10xf32>
  return %l : tensor<1x4x10xf32>
}
xformer.weight_decl @wte : tensor<10x8xf32>

// -----

// CHECK: error: xformer-derive-generation: an encoder-decoder needs a cross-attention to tell its decoder from its encoder
func.func @forward(%ids: tensor<1x4xi64>) -> tensor<1x4x10xf32> attributes {xformer.model = #xformer.model<encoder_decoder>} {
  %w = xformer.weight @wte : tensor<10x8xf32>
  %x = xformer.embedding %w, %ids : tensor<10x8xf32>, tensor<1x4xi64> -> tensor<1x4x8xf32>
  %l = xformer.linear %x, %w : tensor<1x4x8xf32>, tensor<10x8xf32> -> tensor<1x4x10xf32>
  return %l : tensor<1x4x10xf32>
}
xformer.weight_decl @wte : tensor<10x8xf32>

// -----

// CHECK: error: xformer-derive-generation: the decoder's token ids must be [batch, seq] with static sizes
func.func @forward(%x: tensor<1x4x8xf32>) -> tensor<1x4x10xf32> attributes {xformer.model = #xformer.model<decoder>} {
  %w = xformer.weight @wte : tensor<10x8xf32>
  %l = xformer.linear %x, %w : tensor<1x4x8xf32>, tensor<10x8xf32> -> tensor<1x4x10xf32>
  return %l : tensor<1x4x10xf32>
}
xformer.weight_decl @wte : tensor<10x8xf32>

// -----

// CHECK: error: xformer-derive-generation: cannot re-type 'xformer.reshape' for a chunk of 1 tokens
func.func @forward(%ids: tensor<1x4xi64>) -> tensor<1x4x10xf32> attributes {xformer.model = #xformer.model<decoder>} {
  %w = xformer.weight @wte : tensor<10x8xf32>
  %x = xformer.embedding %w, %ids : tensor<10x8xf32>, tensor<1x4xi64> -> tensor<1x4x8xf32>
  %r = xformer.reshape %x : tensor<1x4x8xf32> -> tensor<1x32xf32>
  %b = xformer.reshape %r : tensor<1x32xf32> -> tensor<1x4x8xf32>
  %l = xformer.linear %b, %w : tensor<1x4x8xf32>, tensor<10x8xf32> -> tensor<1x4x10xf32>
  return %l : tensor<1x4x10xf32>
}
xformer.weight_decl @wte : tensor<10x8xf32>

// -----

// CHECK: error: xformer-derive-generation: no function @forward to derive from
func.func @main() {
  return
}
