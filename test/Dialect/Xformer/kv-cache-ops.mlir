// KV cache declarations and the ops that use them: round trip and every
// verifier rule.
// RUN: xformer-opt %s -split-input-file -verify-diagnostics | FileCheck %s

// CHECK: xformer.kv_cache @l0 self, kv_heads = 2, head_dim = 8 : f32
// CHECK: xformer.kv_cache @l1 ring, kv_heads = 2, head_dim = 8, window = 4 : f32
// CHECK: xformer.kv_cache @x0 cross, kv_heads = 2, head_dim = 8 {capacity = 16 : i64} : f32
// CHECK-LABEL: func.func @decode_step
// CHECK: xformer.cache_append @l0, %{{.+}}, %{{.+}}, start %{{.+}} : tensor<1x2x1x8xf32>, tensor<1x2x1x8xf32>, tensor<1xi64>
// CHECK: xformer.cache_read @l0 : tensor<1x2x?x8xf32>, tensor<1x2x?x8xf32>
// CHECK: xformer.cache_append @x0, %{{.+}}, %{{.+}}, start %{{.+}} lengths %{{.+}} : tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1xi64>, tensor<1xi64>
// CHECK: xformer.cache_read @x0 : tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>
module {
  xformer.kv_cache @l0 self, kv_heads = 2, head_dim = 8 : f32
  xformer.kv_cache @l1 ring, kv_heads = 2, head_dim = 8, window = 4 : f32
  xformer.kv_cache @x0 cross, kv_heads = 2, head_dim = 8 {capacity = 16 : i64} : f32
  func.func @decode_step(%k: tensor<1x2x1x8xf32>, %pos: tensor<1xi64>, %ek: tensor<1x2x16x8xf32>) -> (tensor<1x2x?x8xf32>, tensor<1x2x16x8xf32>) {
    xformer.cache_append @l0, %k, %k, start %pos : tensor<1x2x1x8xf32>, tensor<1x2x1x8xf32>, tensor<1xi64>
    %kc, %vc = xformer.cache_read @l0 : tensor<1x2x?x8xf32>, tensor<1x2x?x8xf32>
    %zero = arith.constant dense<0> : tensor<1xi64>
    %n = arith.constant dense<16> : tensor<1xi64>
    xformer.cache_append @x0, %ek, %ek, start %zero lengths %n : tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1xi64>, tensor<1xi64>
    %xk, %xv = xformer.cache_read @x0 : tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>
    return %kc, %xk : tensor<1x2x?x8xf32>, tensor<1x2x16x8xf32>
  }
}

// -----

// expected-error @+1 {{expects positive kv_heads and head_dim, got 0 and 8}}
xformer.kv_cache @bad self, kv_heads = 0, head_dim = 8 : f32

// -----

// expected-error @+1 {{a ring cache needs a positive window}}
xformer.kv_cache @bad ring, kv_heads = 2, head_dim = 8 : f32

// -----

// expected-error @+1 {{'window' is only valid for a ring cache}}
xformer.kv_cache @bad self, kv_heads = 2, head_dim = 8, window = 4 : f32

// -----

// expected-error @+1 {{expects a floating-point element type, got 'i8'}}
xformer.kv_cache @bad self, kv_heads = 2, head_dim = 8 : i8

// -----

// expected-error @+1 {{'capacity' must be non-negative, got -1}}
xformer.kv_cache @bad self, kv_heads = 2, head_dim = 8 {capacity = -1 : i64} : f32

// -----

func.func @unknown_cache(%k: tensor<1x2x1x8xf32>, %pos: tensor<1xi64>) {
  // expected-error @+1 {{'nowhere' does not name an xformer.kv_cache}}
  xformer.cache_append @nowhere, %k, %k, start %pos : tensor<1x2x1x8xf32>, tensor<1x2x1x8xf32>, tensor<1xi64>
  return
}

// -----

xformer.kv_cache @l0 self, kv_heads = 2, head_dim = 8 : f32
func.func @wrong_heads(%k: tensor<1x4x1x8xf32>, %pos: tensor<1xi64>) {
  // expected-error @+1 {{key shape [1, 4, 1, 8] does not match cache 'l0' (2 heads of 8)}}
  xformer.cache_append @l0, %k, %k, start %pos : tensor<1x4x1x8xf32>, tensor<1x4x1x8xf32>, tensor<1xi64>
  return
}

// -----

xformer.kv_cache @l0 self, kv_heads = 2, head_dim = 8 : f32
func.func @wrong_type() {
  // expected-error @+1 {{key element type 'bf16' differs from cache 'l0' ('f32')}}
  %k, %v = xformer.cache_read @l0 : tensor<1x2x?x8xbf16>, tensor<1x2x?x8xbf16>
  return
}

// -----

xformer.kv_cache @l0 self, kv_heads = 2, head_dim = 8 {capacity = 64 : i64} : f32
func.func @wrong_capacity() {
  // expected-error @+1 {{reads 32 positions but cache 'l0' holds 64}}
  %k, %v = xformer.cache_read @l0 : tensor<1x2x32x8xf32>, tensor<1x2x32x8xf32>
  return
}

// -----

xformer.kv_cache @l0 self, kv_heads = 2, head_dim = 8 : f32
func.func @wrong_start(%k: tensor<2x2x1x8xf32>, %pos: tensor<3xi64>) {
  // expected-error @+1 {{'start' shape [3] should be [batch] = [2]}}
  xformer.cache_append @l0, %k, %k, start %pos : tensor<2x2x1x8xf32>, tensor<2x2x1x8xf32>, tensor<3xi64>
  return
}

// -----

xformer.kv_cache @l0 self, kv_heads = 2, head_dim = 8 : f32
func.func @key_value_differ(%k: tensor<1x2x1x8xf32>, %v: tensor<1x2x2x8xf32>, %pos: tensor<1xi64>) {
  // expected-error @+1 {{key and value types differ}}
  xformer.cache_append @l0, %k, %v, start %pos : tensor<1x2x1x8xf32>, tensor<1x2x2x8xf32>, tensor<1xi64>
  return
}
