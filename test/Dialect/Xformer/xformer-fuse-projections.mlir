// Linears sharing an input become one GEMM over concatenated weights.
// RUN: xformer-opt %s -split-input-file --xformer-fuse-projections | FileCheck %s
// The Llama example: Q, K, V (4 + 2 + 2 heads of 16) and gate/up each fuse.
// RUN: xformer-opt %S/../../Examples/llama-fused.mlir --xformer-fuse-projections --canonicalize --cse | FileCheck %s --check-prefix=LLAMA
// LLAMA: [[WQ:%.+]] = xformer.weight @model.layers.0.self_attn.q_proj.weight : tensor<64x64xf32>
// LLAMA: [[WK:%.+]] = xformer.weight @model.layers.0.self_attn.k_proj.weight : tensor<32x64xf32>
// LLAMA: [[WV:%.+]] = xformer.weight @model.layers.0.self_attn.v_proj.weight : tensor<32x64xf32>
// LLAMA: [[W:%.+]] = xformer.concat [[WQ]], [[WK]], [[WV]], axis = 0 : tensor<64x64xf32>, tensor<32x64xf32>, tensor<32x64xf32> -> tensor<128x64xf32>
// LLAMA: [[QKV:%.+]] = xformer.linear %{{.+}}, [[W]] : tensor<2x8x64xf32>, tensor<128x64xf32> -> tensor<2x8x128xf32>
// LLAMA-DAG: xformer.slice [[QKV]] [0, 0, 0] : tensor<2x8x128xf32> -> tensor<2x8x64xf32>
// LLAMA-DAG: xformer.slice [[QKV]] [0, 0, 64] : tensor<2x8x128xf32> -> tensor<2x8x32xf32>
// LLAMA-DAG: xformer.slice [[QKV]] [0, 0, 96] : tensor<2x8x128xf32> -> tensor<2x8x32xf32>
// LLAMA: xformer.attention
// Gate and up: one linear, then a glu in place of silu, mul and slices.
// LLAMA: [[WG:%.+]] = xformer.weight @model.layers.0.mlp.gate_proj.weight
// LLAMA: [[WU:%.+]] = xformer.weight @model.layers.0.mlp.up_proj.weight
// LLAMA: [[WGU:%.+]] = xformer.concat [[WG]], [[WU]], axis = 0 : tensor<128x64xf32>, tensor<128x64xf32> -> tensor<256x64xf32>
// LLAMA: [[GU:%.+]] = xformer.linear %{{.+}}, [[WGU]] : tensor<2x8x64xf32>, tensor<256x64xf32> -> tensor<2x8x256xf32>
// LLAMA-NOT: xformer.silu
// LLAMA-NOT: xformer.mul
// LLAMA: [[H:%.+]] = xformer.glu silu [[GU]] : tensor<2x8x256xf32> -> tensor<2x8x128xf32>
// LLAMA-NOT: xformer.silu
// LLAMA-NOT: xformer.mul
// LLAMA: xformer.linear [[H]]

// Biases concatenate too; weights declared later move up to the first linear.
// CHECK-LABEL: func.func @with_bias
// CHECK-DAG: [[WA:%.+]] = xformer.weight @a.weight
// CHECK-DAG: [[WB:%.+]] = xformer.weight @b.weight
// CHECK-DAG: [[BA:%.+]] = xformer.weight @a.bias
// CHECK-DAG: [[BB:%.+]] = xformer.weight @b.bias
// CHECK: [[W:%.+]] = xformer.concat [[WA]], [[WB]], axis = 0 : tensor<4x8xf32>, tensor<6x8xf32> -> tensor<10x8xf32>
// CHECK: [[B:%.+]] = xformer.concat [[BA]], [[BB]], axis = 0 : tensor<4xf32>, tensor<6xf32> -> tensor<10xf32>
// CHECK: [[Y:%.+]] = xformer.linear %arg0, [[W]], [[B]]
// CHECK: [[A:%.+]] = xformer.slice [[Y]] [0, 0] : tensor<2x10xf32> -> tensor<2x4xf32>
// CHECK: [[C:%.+]] = xformer.slice [[Y]] [0, 4] : tensor<2x10xf32> -> tensor<2x6xf32>
// CHECK: xformer.relu [[A]]
// CHECK: return %{{.+}}, [[C]]
func.func @with_bias(%x: tensor<2x8xf32>) -> (tensor<2x4xf32>, tensor<2x6xf32>) {
  %wa = xformer.weight @a.weight : tensor<4x8xf32>
  %ba = xformer.weight @a.bias : tensor<4xf32>
  %a = xformer.linear %x, %wa, %ba : tensor<2x8xf32>, tensor<4x8xf32>, tensor<4xf32> -> tensor<2x4xf32>
  %r = xformer.relu %a : tensor<2x4xf32>
  %wb = xformer.weight @b.weight : tensor<6x8xf32>
  %bb = xformer.weight @b.bias : tensor<6xf32>
  %b = xformer.linear %x, %wb, %bb : tensor<2x8xf32>, tensor<6x8xf32>, tensor<6xf32> -> tensor<2x6xf32>
  return %r, %b : tensor<2x4xf32>, tensor<2x6xf32>
}
xformer.weight_decl @a.weight : tensor<4x8xf32>
xformer.weight_decl @a.bias : tensor<4xf32>
xformer.weight_decl @b.weight : tensor<6x8xf32>
xformer.weight_decl @b.bias : tensor<6xf32>

// -----

// [in, out] weights (GPT-2 Conv1D) concatenate along the output axis, 1.
// CHECK-LABEL: func.func @transposed
// CHECK: xformer.concat %{{.+}}, %{{.+}}, axis = 1 : tensor<8x4xf32>, tensor<8x6xf32> -> tensor<8x10xf32>
// CHECK: xformer.linear %arg0, %{{.+}} {weight_transposed} : tensor<2x8xf32>, tensor<8x10xf32> -> tensor<2x10xf32>
func.func @transposed(%x: tensor<2x8xf32>) -> (tensor<2x4xf32>, tensor<2x6xf32>) {
  %wa = xformer.weight @a : tensor<8x4xf32>
  %a = xformer.linear %x, %wa {weight_transposed} : tensor<2x8xf32>, tensor<8x4xf32> -> tensor<2x4xf32>
  %wb = xformer.weight @b : tensor<8x6xf32>
  %b = xformer.linear %x, %wb {weight_transposed} : tensor<2x8xf32>, tensor<8x6xf32> -> tensor<2x6xf32>
  return %a, %b : tensor<2x4xf32>, tensor<2x6xf32>
}
xformer.weight_decl @a : tensor<8x4xf32>
xformer.weight_decl @b : tensor<8x6xf32>

// -----

// Not fused: different layouts, bias on one only, different inputs, or a
// weight computed after the first linear.
// CHECK-LABEL: func.func @no_fusion
// CHECK-NOT: xformer.concat
func.func @no_fusion(%x: tensor<2x8xf32>, %y: tensor<2x8xf32>, %w: tensor<4x8xf32>) -> (tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>) {
  %wa = xformer.weight @a : tensor<4x8xf32>
  %a = xformer.linear %x, %wa : tensor<2x8xf32>, tensor<4x8xf32> -> tensor<2x4xf32>
  %wt = xformer.weight @t : tensor<8x4xf32>
  %t = xformer.linear %x, %wt {weight_transposed} : tensor<2x8xf32>, tensor<8x4xf32> -> tensor<2x4xf32>
  %bb = xformer.weight @b.bias : tensor<4xf32>
  %b = xformer.linear %y, %wa, %bb : tensor<2x8xf32>, tensor<4x8xf32>, tensor<4xf32> -> tensor<2x4xf32>
  %c = xformer.linear %x, %w, %bb : tensor<2x8xf32>, tensor<4x8xf32>, tensor<4xf32> -> tensor<2x4xf32>
  %w2 = xformer.relu %w : tensor<4x8xf32>
  %d = xformer.linear %y, %w2 : tensor<2x8xf32>, tensor<4x8xf32> -> tensor<2x4xf32>
  %e = xformer.relu %d : tensor<2x4xf32>
  %w3 = xformer.tanh %w : tensor<4x8xf32>
  %f = xformer.linear %y, %w3 : tensor<2x8xf32>, tensor<4x8xf32> -> tensor<2x4xf32>
  return %a, %t, %b, %c, %f : tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>
}
xformer.weight_decl @a : tensor<4x8xf32>
xformer.weight_decl @t : tensor<8x4xf32>
xformer.weight_decl @b.bias : tensor<4xf32>

// -----

// Weights join only within one format: a Q4_K_M layer's Q4_K query and key
// fuse, its Q6_K value stays apart.
// CHECK-LABEL: func.func @mixed_formats
// CHECK: [[W:%.+]] = xformer.concat %{{.+}}, %{{.+}}, axis = 0 : tensor<64x256x!xformer.ggml<q4_k>>, tensor<32x256x!xformer.ggml<q4_k>> -> tensor<96x256x!xformer.ggml<q4_k>>
// CHECK: [[QK:%.+]] = xformer.linear %arg0, [[W]] : tensor<2x256xf32>, tensor<96x256x!xformer.ggml<q4_k>> -> tensor<2x96xf32>
// CHECK: xformer.slice [[QK]] [0, 0] : tensor<2x96xf32> -> tensor<2x64xf32>
// CHECK: xformer.slice [[QK]] [0, 64] : tensor<2x96xf32> -> tensor<2x32xf32>
// CHECK: xformer.linear %arg0, %{{.+}} : tensor<2x256xf32>, tensor<32x256x!xformer.ggml<q6_k>> -> tensor<2x32xf32>
// CHECK-NOT: xformer.concat
func.func @mixed_formats(%x: tensor<2x256xf32>) -> (tensor<2x64xf32>, tensor<2x32xf32>, tensor<2x32xf32>) {
  %wq = xformer.weight @q : tensor<64x256x!xformer.ggml<q4_k>>
  %q = xformer.linear %x, %wq : tensor<2x256xf32>, tensor<64x256x!xformer.ggml<q4_k>> -> tensor<2x64xf32>
  %wk = xformer.weight @k : tensor<32x256x!xformer.ggml<q4_k>>
  %k = xformer.linear %x, %wk : tensor<2x256xf32>, tensor<32x256x!xformer.ggml<q4_k>> -> tensor<2x32xf32>
  %wv = xformer.weight @v : tensor<32x256x!xformer.ggml<q6_k>>
  %v = xformer.linear %x, %wv : tensor<2x256xf32>, tensor<32x256x!xformer.ggml<q6_k>> -> tensor<2x32xf32>
  return %q, %k, %v : tensor<2x64xf32>, tensor<2x32xf32>, tensor<2x32xf32>
}
xformer.weight_decl @q : tensor<64x256x!xformer.ggml<q4_k>>
xformer.weight_decl @k : tensor<32x256x!xformer.ggml<q4_k>>
xformer.weight_decl @v : tensor<32x256x!xformer.ggml<q6_k>>

// -----

// The gate second in program order and on the right of the product: its
// weight still comes first, the glu's activation is the gate's.
// CHECK-LABEL: func.func @gate_second
// CHECK-DAG: [[WU:%.+]] = xformer.weight @up
// CHECK-DAG: [[WG:%.+]] = xformer.weight @gate
// CHECK: [[W:%.+]] = xformer.concat [[WG]], [[WU]], axis = 0
// CHECK: [[Y:%.+]] = xformer.linear %arg0, [[W]] : tensor<3x16xf32>, tensor<48x16xf32> -> tensor<3x48xf32>
// CHECK: [[H:%.+]] = xformer.glu gelu_tanh [[Y]] : tensor<3x48xf32> -> tensor<3x24xf32>
// CHECK: return [[H]]
func.func @gate_second(%x: tensor<3x16xf32>) -> tensor<3x24xf32> {
  %wu = xformer.weight @up : tensor<24x16xf32>
  %u = xformer.linear %x, %wu : tensor<3x16xf32>, tensor<24x16xf32> -> tensor<3x24xf32>
  %wg = xformer.weight @gate : tensor<24x16xf32>
  %g = xformer.linear %x, %wg : tensor<3x16xf32>, tensor<24x16xf32> -> tensor<3x24xf32>
  %a = xformer.gelu tanh %g : tensor<3x24xf32>
  %h = xformer.mul %u, %a : tensor<3x24xf32>, tensor<3x24xf32> -> tensor<3x24xf32>
  return %h : tensor<3x24xf32>
}
xformer.weight_decl @up : tensor<24x16xf32>
xformer.weight_decl @gate : tensor<24x16xf32>

// -----

// An activation read twice is no glu's: the pair fuses into one linear
// with slices, and the activation and product stay.
// CHECK-LABEL: func.func @activation_read_twice
// CHECK: xformer.concat
// CHECK-NOT: xformer.glu
// CHECK: xformer.silu
// CHECK: xformer.mul
func.func @activation_read_twice(%x: tensor<3x16xf32>) -> (tensor<3x24xf32>, tensor<3x24xf32>) {
  %wg = xformer.weight @gate : tensor<24x16xf32>
  %g = xformer.linear %x, %wg : tensor<3x16xf32>, tensor<24x16xf32> -> tensor<3x24xf32>
  %wu = xformer.weight @up : tensor<24x16xf32>
  %u = xformer.linear %x, %wu : tensor<3x16xf32>, tensor<24x16xf32> -> tensor<3x24xf32>
  %a = xformer.silu %g : tensor<3x24xf32>
  %h = xformer.mul %a, %u : tensor<3x24xf32>, tensor<3x24xf32> -> tensor<3x24xf32>
  return %h, %a : tensor<3x24xf32>, tensor<3x24xf32>
}
xformer.weight_decl @gate : tensor<24x16xf32>
xformer.weight_decl @up : tensor<24x16xf32>
