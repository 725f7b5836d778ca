// What the CPU target lowers, checked before code generation: every
// violation at the op, weight or cache at fault.
// RUN: xformer-opt %s -split-input-file -verify-diagnostics --xformer-verify-target=target=cpu
// RUN: xformer-opt %S/../../Examples/bert-fused.mlir --xformer-verify-target=target=cpu | FileCheck %s --check-prefix=LEGAL
// LEGAL: xformer.attention
// RUN: echo 'module {}' | not xformer-opt --xformer-verify-target=target=tpu 2>&1 | FileCheck %s --check-prefix=NAME
// NAME: for the --target option: Cannot find option named 'tpu'!

// A model the CPU lowers: ggml, bf16 and f16 weights read where they are
// decoded, f32 activations.
func.func @forward(%ids: tensor<2x4xi64>) -> tensor<2x4x8xf32> attributes {xformer.model = #xformer.model<encoder>} {
  %e = xformer.weight @e : tensor<10x32x!xformer.ggml<q8_0>>
  %x = xformer.embedding %e, %ids : tensor<10x32x!xformer.ggml<q8_0>>, tensor<2x4xi64> -> tensor<2x4x32xf32>
  %w = xformer.weight @w : tensor<8x32xbf16>
  %y = xformer.linear %x, %w : tensor<2x4x32xf32>, tensor<8x32xbf16> -> tensor<2x4x8xf32>
  %z = xformer.relu %y : tensor<2x4x8xf32>
  return %z : tensor<2x4x8xf32>
}
xformer.weight_decl @e : tensor<10x32x!xformer.ggml<q8_0>>
xformer.weight_decl @w : tensor<8x32xbf16>

// -----

// expected-error @+1 {{argument #0 of @forward must be a static tensor of f32, i64, i32 or i1, not 'tensor<2x8xbf16>'}}
func.func @forward(%x: tensor<2x8xbf16>) -> tensor<2x8xbf16> attributes {xformer.model = #xformer.model<encoder>} {
  %y = xformer.gelu erf %x : tensor<2x8xbf16>
  return %y : tensor<2x8xbf16>
}

// -----

// expected-error @+1 {{argument #0 of @forward must be a static tensor of f32, i64, i32 or i1, not 'tensor<?x8xf32>'}}
func.func @forward(%x: tensor<?x8xf32>) -> tensor<?x8xf32> attributes {xformer.model = #xformer.model<encoder>} {
  %y = xformer.relu %x : tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}

// -----

func.func @forward(%x: tensor<2x8xf32>) -> tensor<8x8xbf16> attributes {xformer.model = #xformer.model<encoder>} {
  // A bf16 weight returned as it is: nothing decodes it.
  // expected-error @+1 {{the CPU target has no kernels for element type 'bf16' yet (f32, i64, i32, i1; bf16, f16 and ggml blocks for linear weights and embedding tables)}}
  %w = xformer.weight @w : tensor<8x8xbf16>
  return %w : tensor<8x8xbf16>
}
xformer.weight_decl @w : tensor<8x8xbf16>

// -----

func.func @forward(%ids: tensor<2x4xi64>) -> tensor<2x4x8xf32> attributes {xformer.model = #xformer.model<encoder>} {
  %t = xformer.weight @t : tensor<10x8xf16>
  // Embedding rows come out decoded (f32), not f16.
  // expected-error @+1 {{the CPU target has no kernels for element type 'f16' yet}}
  %r = xformer.embedding %t, %ids : tensor<10x8xf16>, tensor<2x4xi64> -> tensor<2x4x8xf16>
  %y = xformer.cast %r : tensor<2x4x8xf16> -> tensor<2x4x8xf32>
  return %y : tensor<2x4x8xf32>
}
xformer.weight_decl @t : tensor<10x8xf16>

// -----

// expected-error @+1 {{no function says what the model is}}
module {
  func.func @forward(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
    %y = xformer.relu %x : tensor<2x8xf32>
    return %y : tensor<2x8xf32>
  }
}

// -----

// expected-error @+1 {{no function to compile}}
module {
  func.func private @forward(%x: tensor<2x8xf32>) -> tensor<2x8xf32>
}

// -----

func.func @forward(%x: tensor<2x8xf32>) -> tensor<2x8xf32> attributes {xformer.model = #xformer.model<encoder>} {
  // expected-error @+1 {{the CPU target cannot lower 'arith.addf' yet}}
  %y = arith.addf %x, %x : tensor<2x8xf32>
  return %y : tensor<2x8xf32>
}

// -----

func.func @forward(%x: tensor<2x8xf32>) -> tensor<2x8xf32> attributes {xformer.model = #xformer.model<encoder>} {
  // expected-error @+1 {{the CPU target lowers tensor constants only}}
  %c = arith.constant 1.0 : f32
  return %x : tensor<2x8xf32>
}

// -----

func.func @forward(%x: tensor<2x8xf32>) -> tensor<1xi64> attributes {xformer.model = #xformer.model<encoder>} {
  %n = arith.constant 3 : index
  // expected-error @+1 {{the CPU target lowers positions without an offset operand; derive-generation adds offsets with xformer.add}}
  %p = xformer.positions offset %n : tensor<1xi64>
  return %p : tensor<1xi64>
}

// -----

// expected-error @+1 {{KV cache without a plan: run --xformer-plan-kv-cache before code generation}}
xformer.kv_cache @l0 self, kv_heads = 2, head_dim = 8 : f32
func.func @forward(%x: tensor<2x8xf32>) -> tensor<2x8xf32> attributes {xformer.model = #xformer.model<decoder>} {
  return %x : tensor<2x8xf32>
}

// -----

// expected-error @+1 {{the CPU target stores f32 KV caches only, not 'f16'}}
xformer.kv_cache @l0 self, kv_heads = 2, head_dim = 8 {capacity = 16 : i64, offset = 0 : i64, bytes = 2048 : i64} : f16
func.func @forward(%x: tensor<2x8xf32>) -> tensor<2x8xf32> attributes {xformer.model = #xformer.model<decoder>} {
  return %x : tensor<2x8xf32>
}

// -----

// expected-error @+1 {{the CPU target supports the contiguous KV layout only, not 'paged'}}
module attributes {xformer.kv_plan = {layout = "paged"}} {
  func.func @forward(%x: tensor<2x8xf32>) -> tensor<2x8xf32> attributes {xformer.model = #xformer.model<decoder>} {
    return %x : tensor<2x8xf32>
  }
}

// -----

xformer.kv_cache @l0 self, kv_heads = 2, head_dim = 8 {capacity = 16 : i64, offset = 0 : i64, bytes = 4096 : i64} : f32
func.func @forward(%x: tensor<1x2x1x8xf32>) -> tensor<1x2x8x8xf32> attributes {xformer.model = #xformer.model<decoder>} {
  %k, %v = xformer.cache_read @l0 : tensor<1x2x?x8xf32>, tensor<1x2x?x8xf32>
  // Only reads of a cache and the attention over them are dynamic.
  // expected-error @+1 {{the CPU target needs static shapes; 'tensor<1x2x?x8xf32>' is dynamic}}
  %r = xformer.relu %k : tensor<1x2x?x8xf32>
  %c = tensor.cast %r : tensor<1x2x?x8xf32> to tensor<1x2x8x8xf32>
  return %c : tensor<1x2x8x8xf32>
}
