// Linears sharing an input become one GEMM over concatenated weights.
// RUN: xformer-opt %s -split-input-file --xformer-fuse-projections | FileCheck %s
// The Llama example: Q, K, V (4 + 2 + 2 heads of 16) and gate/up each fuse.
// RUN: xformer-opt %S/../../Examples/llama-fused.mlir --xformer-fuse-projections --canonicalize --cse | FileCheck %s --check-prefix=LLAMA
// LLAMA: [[WQ:%.+]] = xformer.weight "model.layers.0.self_attn.q_proj.weight" : tensor<64x64xf32>
// LLAMA: [[WK:%.+]] = xformer.weight "model.layers.0.self_attn.k_proj.weight" : tensor<32x64xf32>
// LLAMA: [[WV:%.+]] = xformer.weight "model.layers.0.self_attn.v_proj.weight" : tensor<32x64xf32>
// LLAMA: [[W:%.+]] = xformer.concat [[WQ]], [[WK]], [[WV]], axis = 0 : tensor<64x64xf32>, tensor<32x64xf32>, tensor<32x64xf32> -> tensor<128x64xf32>
// LLAMA: [[QKV:%.+]] = xformer.linear %{{.+}}, [[W]] : tensor<2x8x64xf32>, tensor<128x64xf32> -> tensor<2x8x128xf32>
// LLAMA-DAG: xformer.slice [[QKV]] [0, 0, 0] : tensor<2x8x128xf32> -> tensor<2x8x64xf32>
// LLAMA-DAG: xformer.slice [[QKV]] [0, 0, 64] : tensor<2x8x128xf32> -> tensor<2x8x32xf32>
// LLAMA-DAG: xformer.slice [[QKV]] [0, 0, 96] : tensor<2x8x128xf32> -> tensor<2x8x32xf32>
// LLAMA: xformer.attention
// LLAMA: xformer.concat %{{.+}}, %{{.+}}, axis = 0 : tensor<128x64xf32>, tensor<128x64xf32> -> tensor<256x64xf32>
// LLAMA: xformer.linear %{{.+}}, %{{.+}} : tensor<2x8x64xf32>, tensor<256x64xf32> -> tensor<2x8x256xf32>

// Biases concatenate too; weights declared later move up to the first linear.
// CHECK-LABEL: func.func @with_bias
// CHECK-DAG: [[WA:%.+]] = xformer.weight "a.weight"
// CHECK-DAG: [[WB:%.+]] = xformer.weight "b.weight"
// CHECK-DAG: [[BA:%.+]] = xformer.weight "a.bias"
// CHECK-DAG: [[BB:%.+]] = xformer.weight "b.bias"
// CHECK: [[W:%.+]] = xformer.concat [[WA]], [[WB]], axis = 0 : tensor<4x8xf32>, tensor<6x8xf32> -> tensor<10x8xf32>
// CHECK: [[B:%.+]] = xformer.concat [[BA]], [[BB]], axis = 0 : tensor<4xf32>, tensor<6xf32> -> tensor<10xf32>
// CHECK: [[Y:%.+]] = xformer.linear %arg0, [[W]], [[B]]
// CHECK: [[A:%.+]] = xformer.slice [[Y]] [0, 0] : tensor<2x10xf32> -> tensor<2x4xf32>
// CHECK: [[C:%.+]] = xformer.slice [[Y]] [0, 4] : tensor<2x10xf32> -> tensor<2x6xf32>
// CHECK: xformer.relu [[A]]
// CHECK: return %{{.+}}, [[C]]
func.func @with_bias(%x: tensor<2x8xf32>) -> (tensor<2x4xf32>, tensor<2x6xf32>) {
  %wa = xformer.weight "a.weight" : tensor<4x8xf32>
  %ba = xformer.weight "a.bias" : tensor<4xf32>
  %a = xformer.linear %x, %wa, %ba : tensor<2x8xf32>, tensor<4x8xf32>, tensor<4xf32> -> tensor<2x4xf32>
  %r = xformer.relu %a : tensor<2x4xf32>
  %wb = xformer.weight "b.weight" : tensor<6x8xf32>
  %bb = xformer.weight "b.bias" : tensor<6xf32>
  %b = xformer.linear %x, %wb, %bb : tensor<2x8xf32>, tensor<6x8xf32>, tensor<6xf32> -> tensor<2x6xf32>
  return %r, %b : tensor<2x4xf32>, tensor<2x6xf32>
}

// -----

// [in, out] weights (GPT-2 Conv1D) concatenate along the output axis, 1.
// CHECK-LABEL: func.func @transposed
// CHECK: xformer.concat %{{.+}}, %{{.+}}, axis = 1 : tensor<8x4xf32>, tensor<8x6xf32> -> tensor<8x10xf32>
// CHECK: xformer.linear %arg0, %{{.+}} {weight_transposed} : tensor<2x8xf32>, tensor<8x10xf32> -> tensor<2x10xf32>
func.func @transposed(%x: tensor<2x8xf32>) -> (tensor<2x4xf32>, tensor<2x6xf32>) {
  %wa = xformer.weight "a" : tensor<8x4xf32>
  %a = xformer.linear %x, %wa {weight_transposed} : tensor<2x8xf32>, tensor<8x4xf32> -> tensor<2x4xf32>
  %wb = xformer.weight "b" : tensor<8x6xf32>
  %b = xformer.linear %x, %wb {weight_transposed} : tensor<2x8xf32>, tensor<8x6xf32> -> tensor<2x6xf32>
  return %a, %b : tensor<2x4xf32>, tensor<2x6xf32>
}

// -----

// Not fused: different layouts, bias on one only, different inputs, or a
// weight computed after the first linear.
// CHECK-LABEL: func.func @no_fusion
// CHECK-NOT: xformer.concat
func.func @no_fusion(%x: tensor<2x8xf32>, %y: tensor<2x8xf32>, %w: tensor<4x8xf32>) -> (tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>) {
  %wa = xformer.weight "a" : tensor<4x8xf32>
  %a = xformer.linear %x, %wa : tensor<2x8xf32>, tensor<4x8xf32> -> tensor<2x4xf32>
  %wt = xformer.weight "t" : tensor<8x4xf32>
  %t = xformer.linear %x, %wt {weight_transposed} : tensor<2x8xf32>, tensor<8x4xf32> -> tensor<2x4xf32>
  %bb = xformer.weight "b.bias" : tensor<4xf32>
  %b = xformer.linear %y, %wa, %bb : tensor<2x8xf32>, tensor<4x8xf32>, tensor<4xf32> -> tensor<2x4xf32>
  %c = xformer.linear %x, %w, %bb : tensor<2x8xf32>, tensor<4x8xf32>, tensor<4xf32> -> tensor<2x4xf32>
  %w2 = xformer.relu %w : tensor<4x8xf32>
  %d = xformer.linear %y, %w2 : tensor<2x8xf32>, tensor<4x8xf32> -> tensor<2x4xf32>
  %e = xformer.relu %d : tensor<2x4xf32>
  %w3 = xformer.tanh %w : tensor<4x8xf32>
  %f = xformer.linear %y, %w3 : tensor<2x8xf32>, tensor<4x8xf32> -> tensor<2x4xf32>
  return %a, %t, %b, %c, %f : tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>
}
