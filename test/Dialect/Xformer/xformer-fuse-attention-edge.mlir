// Edge cases of fusion that must not produce an op that fails to verify.
// RUN: xformer-opt %s -split-input-file --xformer-fuse-attention --canonicalize --cse | FileCheck %s

// Six queries over four keys of the same sequence with a causal-looking
// mask (the first two rows see nothing): causal would need q_len <= kv_len,
// so the mask stays custom.
// CHECK-LABEL: func.func @more_queries_than_keys
// CHECK: xformer.attention {{.*}}mask = #xformer.mask<custom>{{.*}}mask_tensor(
func.func @more_queries_than_keys(%x: tensor<1x6x8xf32>) -> tensor<1x1x6x8xf32> {
  %q = xformer.split_heads %x, heads = 1 : tensor<1x6x8xf32> -> tensor<1x1x6x8xf32>
  %xk = xformer.slice %x [0, 2, 0] : tensor<1x6x8xf32> -> tensor<1x4x8xf32>
  %k = xformer.split_heads %xk, heads = 1 : tensor<1x4x8xf32> -> tensor<1x1x4x8xf32>
  %s = xformer.matmul %q, %k {transpose_rhs} : tensor<1x1x6x8xf32>, tensor<1x1x4x8xf32> -> tensor<1x1x6x4xf32>
  %keep = arith.constant dense<[[false, false, false, false], [false, false, false, false], [true, false, false, false], [true, true, false, false], [true, true, true, false], [true, true, true, true]]> : tensor<6x4xi1>
  %min = arith.constant dense<-3.40282347E+38> : tensor<f32>
  %m = xformer.select %keep, %s, %min : tensor<6x4xi1>, tensor<1x1x6x4xf32>, tensor<f32> -> tensor<1x1x6x4xf32>
  %p = xformer.softmax %m, axis = 3 : tensor<1x1x6x4xf32>
  %o = xformer.matmul %p, %k : tensor<1x1x6x4xf32>, tensor<1x1x4x8xf32> -> tensor<1x1x6x8xf32>
  return %o : tensor<1x1x6x8xf32>
}

// -----

// Dynamic shapes: the mask cannot be checked element by element, so it is
// kept as an explicit custom tensor rather than guessed.
// CHECK-LABEL: func.func @dynamic_sequence
// CHECK: xformer.attention {{.*}}mask = #xformer.mask<custom>{{.*}}mask_tensor(
func.func @dynamic_sequence(%x: tensor<1x?x8xf32>, %keep: tensor<?x?xi1>) -> tensor<1x1x?x8xf32> {
  %q = xformer.split_heads %x, heads = 1 : tensor<1x?x8xf32> -> tensor<1x1x?x8xf32>
  %s = xformer.matmul %q, %q {transpose_rhs} : tensor<1x1x?x8xf32>, tensor<1x1x?x8xf32> -> tensor<1x1x?x?xf32>
  %min = arith.constant dense<-3.40282347E+38> : tensor<f32>
  %m = xformer.select %keep, %s, %min : tensor<?x?xi1>, tensor<1x1x?x?xf32>, tensor<f32> -> tensor<1x1x?x?xf32>
  %p = xformer.softmax %m, axis = 3 : tensor<1x1x?x?xf32>
  %o = xformer.matmul %p, %q : tensor<1x1x?x?xf32>, tensor<1x1x?x8xf32> -> tensor<1x1x?x8xf32>
  return %o : tensor<1x1x?x8xf32>
}
