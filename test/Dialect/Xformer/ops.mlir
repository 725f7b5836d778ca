// Round trip of every op: parse, print, parse again (custom and generic form).
// RUN: xformer-opt %s | xformer-opt | FileCheck %s
// RUN: xformer-opt %s --mlir-print-op-generic | xformer-opt | FileCheck %s

// CHECK-LABEL: func.func @weights_and_embeddings
func.func @weights_and_embeddings(%ids: tensor<2x8xi64>) -> tensor<2x8x64xf32> {
  // CHECK: [[W:%.+]] = xformer.weight @embeddings.word_embeddings.weight : tensor<100x64xf32>
  %w = xformer.weight @embeddings.word_embeddings.weight : tensor<100x64xf32>
  // CHECK: xformer.embedding [[W]], %{{.+}} : tensor<100x64xf32>, tensor<2x8xi64> -> tensor<2x8x64xf32>
  %e = xformer.embedding %w, %ids : tensor<100x64xf32>, tensor<2x8xi64> -> tensor<2x8x64xf32>
  return %e : tensor<2x8x64xf32>
}

// CHECK-LABEL: func.func @linear_algebra
func.func @linear_algebra(%x: tensor<2x8x64xf32>, %q: tensor<2x4x8x16xf32>,
                          %k: tensor<2x4x8x16xf32>) -> (tensor<2x8x256xf32>, tensor<2x8x192xf32>, tensor<2x4x8x8xf32>, tensor<2x4x8x8xf32>) {
  %w = xformer.weight @fc.weight : tensor<256x64xf32>
  %b = xformer.weight @fc.bias : tensor<256xf32>
  // CHECK: xformer.linear %{{.+}}, %{{.+}}, %{{.+}} : tensor<2x8x64xf32>, tensor<256x64xf32>, tensor<256xf32> -> tensor<2x8x256xf32>
  %y = xformer.linear %x, %w, %b : tensor<2x8x64xf32>, tensor<256x64xf32>, tensor<256xf32> -> tensor<2x8x256xf32>
  %wt = xformer.weight @c_attn.weight : tensor<64x192xf32>
  // CHECK: xformer.linear %{{.+}}, %{{.+}} {weight_transposed} : tensor<2x8x64xf32>, tensor<64x192xf32> -> tensor<2x8x192xf32>
  %z = xformer.linear %x, %wt {weight_transposed} : tensor<2x8x64xf32>, tensor<64x192xf32> -> tensor<2x8x192xf32>
  // CHECK: xformer.transpose %{{.+}}, [0, 1, 3, 2] : tensor<2x4x8x16xf32> -> tensor<2x4x16x8xf32>
  %kt = xformer.transpose %k, [0, 1, 3, 2] : tensor<2x4x8x16xf32> -> tensor<2x4x16x8xf32>
  // CHECK: xformer.matmul %{{.+}}, %{{.+}} : tensor<2x4x8x16xf32>, tensor<2x4x16x8xf32> -> tensor<2x4x8x8xf32>
  %s = xformer.matmul %q, %kt : tensor<2x4x8x16xf32>, tensor<2x4x16x8xf32> -> tensor<2x4x8x8xf32>
  // CHECK: xformer.matmul %{{.+}}, %{{.+}} {transpose_rhs} : tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32> -> tensor<2x4x8x8xf32>
  %t = xformer.matmul %q, %k {transpose_rhs} : tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32> -> tensor<2x4x8x8xf32>
  return %y, %z, %s, %t : tensor<2x8x256xf32>, tensor<2x8x192xf32>, tensor<2x4x8x8xf32>, tensor<2x4x8x8xf32>
}

// CHECK-LABEL: func.func @shapes
func.func @shapes(%x: tensor<2x8x64xf32>, %k: tensor<2x2x8x16xf32>) -> (tensor<2x8x64xf32>, tensor<2x8x4x16xf32>, tensor<2x1x64xf32>, tensor<2x8x64xf32>) {
  // CHECK: [[H:%.+]] = xformer.split_heads %{{.+}}, heads = 4 : tensor<2x8x64xf32> -> tensor<2x4x8x16xf32>
  %h = xformer.split_heads %x, heads = 4 : tensor<2x8x64xf32> -> tensor<2x4x8x16xf32>
  // CHECK: xformer.merge_heads [[H]] : tensor<2x4x8x16xf32> -> tensor<2x8x64xf32>
  %m = xformer.merge_heads %h : tensor<2x4x8x16xf32> -> tensor<2x8x64xf32>
  // CHECK: xformer.reshape %{{.+}} : tensor<2x8x64xf32> -> tensor<2x8x4x16xf32>
  %r = xformer.reshape %x : tensor<2x8x64xf32> -> tensor<2x8x4x16xf32>
  // CHECK: xformer.slice %{{.+}} [0, 0, 0] : tensor<2x8x64xf32> -> tensor<2x1x64xf32>
  %c = xformer.slice %x [0, 0, 0] : tensor<2x8x64xf32> -> tensor<2x1x64xf32>
  // CHECK: xformer.reshape %{{.+}} : tensor<2x2x8x16xf32> -> tensor<2x2x1x8x16xf32>
  %k5 = xformer.reshape %k : tensor<2x2x8x16xf32> -> tensor<2x2x1x8x16xf32>
  // CHECK: xformer.broadcast %{{.+}} : tensor<2x2x1x8x16xf32> -> tensor<2x2x2x8x16xf32>
  %kb = xformer.broadcast %k5 : tensor<2x2x1x8x16xf32> -> tensor<2x2x2x8x16xf32>
  %kr = xformer.reshape %kb : tensor<2x2x2x8x16xf32> -> tensor<2x4x8x16xf32>
  %kx = xformer.merge_heads %kr : tensor<2x4x8x16xf32> -> tensor<2x8x64xf32>
  return %m, %r, %c, %kx : tensor<2x8x64xf32>, tensor<2x8x4x16xf32>, tensor<2x1x64xf32>, tensor<2x8x64xf32>
}

// CHECK-LABEL: func.func @dynamic_shapes
func.func @dynamic_shapes(%x: tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
  // CHECK: xformer.split_heads %{{.+}}, heads = 4 : tensor<?x?x64xf32> -> tensor<?x4x?x16xf32>
  %h = xformer.split_heads %x, heads = 4 : tensor<?x?x64xf32> -> tensor<?x4x?x16xf32>
  %o = xformer.attention %h, %h, %h, mask = #xformer.mask<causal>, scale = 2.500000e-01 : tensor<?x4x?x16xf32>, tensor<?x4x?x16xf32>, tensor<?x4x?x16xf32> -> tensor<?x4x?x16xf32>
  %m = xformer.merge_heads %o : tensor<?x4x?x16xf32> -> tensor<?x?x64xf32>
  return %m : tensor<?x?x64xf32>
}

// CHECK-LABEL: func.func @norms_and_activations
func.func @norms_and_activations(%x: tensor<2x8x64xf32>) -> tensor<2x8x64xf32> {
  %g = xformer.weight @ln.weight : tensor<64xf32>
  %b = xformer.weight @ln.bias : tensor<64xf32>
  // CHECK: xformer.layer_norm %{{.+}}, %{{.+}}, %{{.+}} epsilon = 9.9999999999999998E-13 : tensor<2x8x64xf32>, tensor<64xf32>, tensor<64xf32>
  %0 = xformer.layer_norm %x, %g, %b epsilon = 1.0e-12 : tensor<2x8x64xf32>, tensor<64xf32>, tensor<64xf32>
  // CHECK: xformer.layer_norm %{{.+}}, %{{.+}} epsilon = 1.000000e-05 : tensor<2x8x64xf32>, tensor<64xf32>
  %1 = xformer.layer_norm %0, %g epsilon = 1.0e-5 : tensor<2x8x64xf32>, tensor<64xf32>
  // CHECK: xformer.rms_norm %{{.+}}, %{{.+}} epsilon = 9.9999999999999995E-7 : tensor<2x8x64xf32>, tensor<64xf32>
  %2 = xformer.rms_norm %1, %g epsilon = 1.0e-6 : tensor<2x8x64xf32>, tensor<64xf32>
  // CHECK: xformer.gelu erf %{{.+}} : tensor<2x8x64xf32>
  %3 = xformer.gelu erf %2 : tensor<2x8x64xf32>
  // CHECK: xformer.gelu tanh %{{.+}} : tensor<2x8x64xf32>
  %4 = xformer.gelu tanh %3 : tensor<2x8x64xf32>
  // CHECK: xformer.relu %{{.+}} : tensor<2x8x64xf32>
  %5 = xformer.relu %4 : tensor<2x8x64xf32>
  // CHECK: xformer.silu %{{.+}} : tensor<2x8x64xf32>
  %6 = xformer.silu %5 : tensor<2x8x64xf32>
  // CHECK: xformer.tanh %{{.+}} : tensor<2x8x64xf32>
  %7 = xformer.tanh %6 : tensor<2x8x64xf32>
  // CHECK: xformer.add %{{.+}}, %{{.+}} : tensor<2x8x64xf32>, tensor<64xf32> -> tensor<2x8x64xf32>
  %8 = xformer.add %7, %b : tensor<2x8x64xf32>, tensor<64xf32> -> tensor<2x8x64xf32>
  // CHECK: xformer.sub %{{.+}}, %{{.+}} : tensor<2x8x64xf32>, tensor<2x8x64xf32> -> tensor<2x8x64xf32>
  %9 = xformer.sub %8, %x : tensor<2x8x64xf32>, tensor<2x8x64xf32> -> tensor<2x8x64xf32>
  // CHECK: xformer.mul %{{.+}}, %{{.+}} : tensor<2x8x64xf32>, tensor<64xf32> -> tensor<2x8x64xf32>
  %10 = xformer.mul %9, %g : tensor<2x8x64xf32>, tensor<64xf32> -> tensor<2x8x64xf32>
  %c = arith.constant dense<8.0> : tensor<f32>
  // CHECK: xformer.div %{{.+}}, %{{.+}} : tensor<2x8x64xf32>, tensor<f32> -> tensor<2x8x64xf32>
  %11 = xformer.div %10, %c : tensor<2x8x64xf32>, tensor<f32> -> tensor<2x8x64xf32>
  // CHECK: xformer.softmax %{{.+}}, axis = 2 : tensor<2x8x64xf32>
  %12 = xformer.softmax %11, axis = 2 : tensor<2x8x64xf32>
  return %12 : tensor<2x8x64xf32>
}

// CHECK-LABEL: func.func @positions
func.func @positions(%q: tensor<2x4x8x16xf32>, %n: index) -> (tensor<2x4x8x16xf32>, tensor<1xi64>, tensor<?xi64>, tensor<1x4x8x8xf32>) {
  // CHECK: [[P:%.+]] = xformer.positions : tensor<8xi64>
  %p = xformer.positions : tensor<8xi64>
  // CHECK: xformer.rope half %{{.+}}, [[P]], theta = 1.000000e+04 : tensor<2x4x8x16xf32>, tensor<8xi64>
  %r = xformer.rope half %q, %p, theta = 1.0e4 : tensor<2x4x8x16xf32>, tensor<8xi64>
  // CHECK: xformer.rope interleaved %{{.+}}, %{{.+}}, theta = 1.000000e+04 {rotary_dim = 8 : i64} : tensor<2x4x8x16xf32>, tensor<8xi64>
  %r2 = xformer.rope interleaved %r, %p, theta = 1.0e4 {rotary_dim = 8 : i64} : tensor<2x4x8x16xf32>, tensor<8xi64>
  // CHECK: xformer.positions offset %{{.+}} : tensor<1xi64>
  %d = xformer.positions offset %n : tensor<1xi64>
  // CHECK: xformer.positions offset %{{.+}} size %{{.+}} : tensor<?xi64>
  %s = xformer.positions offset %n size %n : tensor<?xi64>
  %t = xformer.weight @relative_attention_bias.weight : tensor<32x4xf32>
  // CHECK: xformer.relative_position_bias %{{.+}}, [[P]], [[P]], num_buckets = 32, max_distance = 128, bidirectional = true : tensor<32x4xf32>, tensor<8xi64>, tensor<8xi64> -> tensor<1x4x8x8xf32>
  %bias = xformer.relative_position_bias %t, %p, %p, num_buckets = 32, max_distance = 128, bidirectional = true : tensor<32x4xf32>, tensor<8xi64>, tensor<8xi64> -> tensor<1x4x8x8xf32>
  return %r2, %d, %s, %bias : tensor<2x4x8x16xf32>, tensor<1xi64>, tensor<?xi64>, tensor<1x4x8x8xf32>
}

// CHECK-LABEL: func.func @mask_building
func.func @mask_building(%s: tensor<2x4x8x8xf32>, %am: tensor<2x8xi64>) -> (tensor<2x4x8x8xf32>, tensor<2x4x8x8xf32>, tensor<2x1x1x8xf32>) {
  %p = xformer.positions : tensor<8xi64>
  %kp = xformer.reshape %p : tensor<8xi64> -> tensor<1x8xi64>
  %qp = xformer.reshape %p : tensor<8xi64> -> tensor<8x1xi64>
  // CHECK: [[KEEP:%.+]] = xformer.compare le, %{{.+}}, %{{.+}} : tensor<1x8xi64>, tensor<8x1xi64> -> tensor<8x8xi1>
  %keep = xformer.compare le, %kp, %qp : tensor<1x8xi64>, tensor<8x1xi64> -> tensor<8x8xi1>
  // CHECK: [[FUT:%.+]] = xformer.not [[KEEP]] : tensor<8x8xi1>
  %future = xformer.not %keep : tensor<8x8xi1>
  // CHECK: xformer.and [[KEEP]], [[KEEP]] : tensor<8x8xi1>, tensor<8x8xi1> -> tensor<8x8xi1>
  %both = xformer.and %keep, %keep : tensor<8x8xi1>, tensor<8x8xi1> -> tensor<8x8xi1>
  // CHECK: xformer.or %{{.+}}, [[FUT]] : tensor<8x8xi1>, tensor<8x8xi1> -> tensor<8x8xi1>
  %any = xformer.or %both, %future : tensor<8x8xi1>, tensor<8x8xi1> -> tensor<8x8xi1>
  // CHECK: xformer.masked_fill %{{.+}}, [[FUT]], value = 0xFFF0000000000000 : tensor<2x4x8x8xf32>, tensor<8x8xi1>
  %m = xformer.masked_fill %s, %future, value = 0xFFF0000000000000 : tensor<2x4x8x8xf32>, tensor<8x8xi1>
  %ninf = arith.constant dense<0xFF800000> : tensor<f32>
  // CHECK: xformer.select %{{.+}}, %{{.+}}, %{{.+}} : tensor<8x8xi1>, tensor<2x4x8x8xf32>, tensor<f32> -> tensor<2x4x8x8xf32>
  %w = xformer.select %any, %s, %ninf : tensor<8x8xi1>, tensor<2x4x8x8xf32>, tensor<f32> -> tensor<2x4x8x8xf32>
  // CHECK: xformer.cast %{{.+}} : tensor<2x8xi64> -> tensor<2x8xf32>
  %f = xformer.cast %am : tensor<2x8xi64> -> tensor<2x8xf32>
  %bias = xformer.reshape %f : tensor<2x8xf32> -> tensor<2x1x1x8xf32>
  return %m, %w, %bias : tensor<2x4x8x8xf32>, tensor<2x4x8x8xf32>, tensor<2x1x1x8xf32>
}

// CHECK-LABEL: func.func @attention_forms
func.func @attention_forms(%q: tensor<2x8x16x32xbf16>, %k: tensor<2x2x16x32xbf16>,
                           %v: tensor<2x2x16x32xbf16>, %kc: tensor<2x2x64x32xbf16>,
                           %len: tensor<2xi32>, %pre: tensor<2xi32>,
                           %mask: tensor<2x1x16x16xi1>, %bias: tensor<1x8x16x16xbf16>,
                           %q1: tensor<2x8x1x32xbf16>) {
  // CHECK: xformer.attention %{{.+}}, %{{.+}}, %{{.+}}, mask = #xformer.mask<bidirectional>, scale = 1.767580e-01 : tensor<2x8x16x32xbf16>, tensor<2x2x16x32xbf16>, tensor<2x2x16x32xbf16> -> tensor<2x8x16x32xbf16>
  %0 = xformer.attention %q, %k, %v, mask = #xformer.mask<bidirectional>, scale = 0.176758 : tensor<2x8x16x32xbf16>, tensor<2x2x16x32xbf16>, tensor<2x2x16x32xbf16> -> tensor<2x8x16x32xbf16>
  // CHECK: mask = #xformer.mask<causal>, scale = 1.000000e+00 q_lengths(%{{.+}} : tensor<2xi32>) kv_lengths(%{{.+}} : tensor<2xi32>)
  %1 = xformer.attention %q, %k, %v, mask = #xformer.mask<causal>, scale = 1.0 q_lengths(%len : tensor<2xi32>) kv_lengths(%len : tensor<2xi32>) : tensor<2x8x16x32xbf16>, tensor<2x2x16x32xbf16>, tensor<2x2x16x32xbf16> -> tensor<2x8x16x32xbf16>
  // CHECK: mask = #xformer.mask<prefix_lm, prefix = 4>
  %2 = xformer.attention %q, %k, %v, mask = #xformer.mask<prefix_lm, prefix = 4>, scale = 1.0 : tensor<2x8x16x32xbf16>, tensor<2x2x16x32xbf16>, tensor<2x2x16x32xbf16> -> tensor<2x8x16x32xbf16>
  // CHECK: mask = #xformer.mask<prefix_lm, prefix = ?>, scale = 1.000000e+00 kv_lengths(%{{.+}} : tensor<2xi32>) prefix_lengths(%{{.+}} : tensor<2xi32>)
  %3 = xformer.attention %q, %k, %v, mask = #xformer.mask<prefix_lm, prefix = ?>, scale = 1.0 kv_lengths(%len : tensor<2xi32>) prefix_lengths(%pre : tensor<2xi32>) : tensor<2x8x16x32xbf16>, tensor<2x2x16x32xbf16>, tensor<2x2x16x32xbf16> -> tensor<2x8x16x32xbf16>
  // CHECK: mask = #xformer.mask<sliding_window, window = 4>
  %4 = xformer.attention %q, %k, %v, mask = #xformer.mask<sliding_window, window = 4>, scale = 1.0 : tensor<2x8x16x32xbf16>, tensor<2x2x16x32xbf16>, tensor<2x2x16x32xbf16> -> tensor<2x8x16x32xbf16>
  // CHECK: mask = #xformer.mask<cross>, scale = 1.000000e+00 kv_lengths(%{{.+}} : tensor<2xi32>) : tensor<2x8x16x32xbf16>, tensor<2x2x64x32xbf16>, tensor<2x2x64x32xbf16> -> tensor<2x8x16x32xbf16>
  %5 = xformer.attention %q, %kc, %kc, mask = #xformer.mask<cross>, scale = 1.0 kv_lengths(%len : tensor<2xi32>) : tensor<2x8x16x32xbf16>, tensor<2x2x64x32xbf16>, tensor<2x2x64x32xbf16> -> tensor<2x8x16x32xbf16>
  // CHECK: mask = #xformer.mask<custom>, scale = 1.000000e+00 mask_tensor(%{{.+}} : tensor<2x1x16x16xi1>)
  %6 = xformer.attention %q, %k, %v, mask = #xformer.mask<custom>, scale = 1.0 mask_tensor(%mask : tensor<2x1x16x16xi1>) : tensor<2x8x16x32xbf16>, tensor<2x2x16x32xbf16>, tensor<2x2x16x32xbf16> -> tensor<2x8x16x32xbf16>
  // CHECK: mask = #xformer.mask<bidirectional>, scale = 1.000000e+00 bias(%{{.+}} : tensor<1x8x16x16xbf16>)
  %7 = xformer.attention %q, %k, %v, mask = #xformer.mask<bidirectional>, scale = 1.0 bias(%bias : tensor<1x8x16x16xbf16>) : tensor<2x8x16x32xbf16>, tensor<2x2x16x32xbf16>, tensor<2x2x16x32xbf16> -> tensor<2x8x16x32xbf16>
  // CHECK: mask = #xformer.mask<causal, documents>, scale = 1.000000e+00 segment_ids(%{{.+}} : tensor<2x16xi32>)
  %seg = arith.constant dense<0> : tensor<2x16xi32>
  %9 = xformer.attention %q, %k, %v, mask = #xformer.mask<causal, documents>, scale = 1.0 segment_ids(%seg : tensor<2x16xi32>) : tensor<2x8x16x32xbf16>, tensor<2x2x16x32xbf16>, tensor<2x2x16x32xbf16> -> tensor<2x8x16x32xbf16>
  // Decode step: one query over 64 cached keys.
  // CHECK: mask = #xformer.mask<causal>, scale = 1.000000e+00 : tensor<2x8x1x32xbf16>, tensor<2x2x64x32xbf16>
  %8 = xformer.attention %q1, %kc, %kc, mask = #xformer.mask<causal>, scale = 1.0 : tensor<2x8x1x32xbf16>, tensor<2x2x64x32xbf16>, tensor<2x2x64x32xbf16> -> tensor<2x8x1x32xbf16>
  return
}

// CHECK-LABEL: func.func @rope_scaling
func.func @rope_scaling(%q: tensor<1x2x8x16xf32>, %p: tensor<8xi64>) -> tensor<1x2x8x16xf32> {
  // CHECK: xformer.rope half %{{.+}}, %{{.+}}, theta = 5.000000e+05 {scaling = #xformer.rope_scaling<llama3, factor = 8.000000e+00, low_freq_factor = 1.000000e+00, high_freq_factor = 4.000000e+00, original_max_positions = 8192>}
  %a = xformer.rope half %q, %p, theta = 5.0e5 {scaling = #xformer.rope_scaling<llama3, factor = 8.0, low_freq_factor = 1.0, high_freq_factor = 4.0, original_max_positions = 8192>} : tensor<1x2x8x16xf32>, tensor<8xi64>
  // CHECK: xformer.rope half %{{.+}}, %{{.+}}, theta = 1.000000e+04 {scaling = #xformer.rope_scaling<linear, factor = 2.500000e+00>}
  %b = xformer.rope half %a, %p, theta = 1.0e4 {scaling = #xformer.rope_scaling<linear, factor = 2.5>} : tensor<1x2x8x16xf32>, tensor<8xi64>
  return %b : tensor<1x2x8x16xf32>
}

// The printed concat parses back (operands, then the axis).
// CHECK-LABEL: func.func @concat
func.func @concat(%a: tensor<2x4xf32>, %b: tensor<2x6xf32>) -> (tensor<2x10xf32>, tensor<2x4xf32>) {
  // CHECK: xformer.concat %{{.+}}, %{{.+}}, axis = 1 : tensor<2x4xf32>, tensor<2x6xf32> -> tensor<2x10xf32>
  %c = xformer.concat %a, %b, axis = 1 : tensor<2x4xf32>, tensor<2x6xf32> -> tensor<2x10xf32>
  // CHECK: xformer.concat %{{.+}}, axis = 0 : tensor<2x4xf32> -> tensor<2x4xf32>
  %d = xformer.concat %a, axis = 0 : tensor<2x4xf32> -> tensor<2x4xf32>
  return %c, %d : tensor<2x10xf32>, tensor<2x4xf32>
}

// Weights in ggml blocks join along rows; a glu halves the last dimension.
// CHECK-LABEL: func.func @glu_over_blocks
func.func @glu_over_blocks(%x: tensor<2x3x256xf32>) -> tensor<2x3x32xf32> {
  %g = xformer.weight @gate : tensor<32x256x!xformer.ggml<q4_k>>
  %u = xformer.weight @up : tensor<32x256x!xformer.ggml<q4_k>>
  // CHECK: xformer.concat %{{.+}}, %{{.+}}, axis = 0 : tensor<32x256x!xformer.ggml<q4_k>>, tensor<32x256x!xformer.ggml<q4_k>> -> tensor<64x256x!xformer.ggml<q4_k>>
  %w = xformer.concat %g, %u, axis = 0 : tensor<32x256x!xformer.ggml<q4_k>>, tensor<32x256x!xformer.ggml<q4_k>> -> tensor<64x256x!xformer.ggml<q4_k>>
  %y = xformer.linear %x, %w : tensor<2x3x256xf32>, tensor<64x256x!xformer.ggml<q4_k>> -> tensor<2x3x64xf32>
  // CHECK: xformer.glu gelu_tanh %{{.+}} : tensor<2x3x64xf32> -> tensor<2x3x32xf32>
  %h = xformer.glu gelu_tanh %y : tensor<2x3x64xf32> -> tensor<2x3x32xf32>
  return %h : tensor<2x3x32xf32>
}
xformer.weight_decl @embeddings.word_embeddings.weight : tensor<100x64xf32>
xformer.weight_decl @fc.weight : tensor<256x64xf32>
xformer.weight_decl @fc.bias : tensor<256xf32>
xformer.weight_decl @c_attn.weight : tensor<64x192xf32>
xformer.weight_decl @ln.weight : tensor<64xf32>
xformer.weight_decl @ln.bias : tensor<64xf32>
xformer.weight_decl @relative_attention_bias.weight : tensor<32x4xf32>
xformer.weight_decl @gate : tensor<32x256x!xformer.ggml<q4_k>>
xformer.weight_decl @up : tensor<32x256x!xformer.ggml<q4_k>>
