// Unfused attention as exporters write it fuses to xformer.attention with the
// kind its mask proves; near misses do not fuse, or fuse as custom.
// RUN: xformer-opt %s -split-input-file --xformer-fuse-attention --canonicalize --cse | FileCheck %s

// CHECK-LABEL: func.func @scale_on_scores
// CHECK: xformer.attention %{{.+}}, %{{.+}}, %{{.+}}, mask = #xformer.mask<bidirectional>, scale = 2.500000e-01 :
// CHECK-NOT: xformer.softmax
func.func @scale_on_scores(%x: tensor<1x4x48xf32>) -> tensor<1x2x4x8xf32> {
  %xq = xformer.slice %x [0, 0, 0] : tensor<1x4x48xf32> -> tensor<1x4x16xf32>
  %xk = xformer.slice %x [0, 0, 16] : tensor<1x4x48xf32> -> tensor<1x4x16xf32>
  %xv = xformer.slice %x [0, 0, 32] : tensor<1x4x48xf32> -> tensor<1x4x16xf32>
  %q = xformer.split_heads %xq, heads = 2 : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %k = xformer.split_heads %xk, heads = 2 : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %v = xformer.split_heads %xv, heads = 2 : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %kt = xformer.transpose %k, [0, 1, 3, 2] : tensor<1x2x4x8xf32> -> tensor<1x2x8x4xf32>
  %s = xformer.matmul %q, %kt : tensor<1x2x4x8xf32>, tensor<1x2x8x4xf32> -> tensor<1x2x4x4xf32>
  %c4 = arith.constant dense<4.0> : tensor<f32>
  %ss = xformer.div %s, %c4 : tensor<1x2x4x4xf32>, tensor<f32> -> tensor<1x2x4x4xf32>
  %p = xformer.softmax %ss, axis = 3 : tensor<1x2x4x4xf32>
  %o = xformer.matmul %p, %v : tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x8xf32>
  return %o : tensor<1x2x4x8xf32>
}

// -----

// CHECK-LABEL: func.func @scale_on_query
// CHECK: xformer.attention %{{.+}}, %{{.+}}, %{{.+}}, mask = #xformer.mask<bidirectional>, scale = 2.500000e-01 :
// CHECK-NOT: xformer.softmax
func.func @scale_on_query(%x: tensor<1x4x48xf32>) -> tensor<1x2x4x8xf32> {
  %xq = xformer.slice %x [0, 0, 0] : tensor<1x4x48xf32> -> tensor<1x4x16xf32>
  %xk = xformer.slice %x [0, 0, 16] : tensor<1x4x48xf32> -> tensor<1x4x16xf32>
  %xv = xformer.slice %x [0, 0, 32] : tensor<1x4x48xf32> -> tensor<1x4x16xf32>
  %q = xformer.split_heads %xq, heads = 2 : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %k = xformer.split_heads %xk, heads = 2 : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %v = xformer.split_heads %xv, heads = 2 : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %c = arith.constant dense<0.25> : tensor<f32>
  %qs = xformer.mul %q, %c : tensor<1x2x4x8xf32>, tensor<f32> -> tensor<1x2x4x8xf32>
  %kt = xformer.transpose %k, [0, 1, 3, 2] : tensor<1x2x4x8xf32> -> tensor<1x2x8x4xf32>
  %s = xformer.matmul %qs, %kt : tensor<1x2x4x8xf32>, tensor<1x2x8x4xf32> -> tensor<1x2x4x4xf32>
  %p = xformer.softmax %s, axis = 3 : tensor<1x2x4x4xf32>
  %o = xformer.matmul %p, %v : tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x8xf32>
  return %o : tensor<1x2x4x8xf32>
}

// -----

// CHECK-LABEL: func.func @scale_on_key
// CHECK: xformer.attention %{{.+}}, %{{.+}}, %{{.+}}, mask = #xformer.mask<bidirectional>, scale = 2.500000e-01 :
// CHECK-NOT: xformer.softmax
func.func @scale_on_key(%x: tensor<1x4x48xf32>) -> tensor<1x2x4x8xf32> {
  %xq = xformer.slice %x [0, 0, 0] : tensor<1x4x48xf32> -> tensor<1x4x16xf32>
  %xk = xformer.slice %x [0, 0, 16] : tensor<1x4x48xf32> -> tensor<1x4x16xf32>
  %xv = xformer.slice %x [0, 0, 32] : tensor<1x4x48xf32> -> tensor<1x4x16xf32>
  %q = xformer.split_heads %xq, heads = 2 : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %k = xformer.split_heads %xk, heads = 2 : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %v = xformer.split_heads %xv, heads = 2 : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %c = arith.constant dense<0.25> : tensor<1x1x1x1xf32>
  %ks = xformer.mul %c, %k : tensor<1x1x1x1xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x8xf32>
  %kt = xformer.transpose %ks, [0, 1, 3, 2] : tensor<1x2x4x8xf32> -> tensor<1x2x8x4xf32>
  %s = xformer.matmul %q, %kt : tensor<1x2x4x8xf32>, tensor<1x2x8x4xf32> -> tensor<1x2x4x4xf32>
  %p = xformer.softmax %s, axis = 3 : tensor<1x2x4x4xf32>
  %o = xformer.matmul %p, %v : tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x8xf32>
  return %o : tensor<1x2x4x8xf32>
}

// -----

// CHECK-LABEL: func.func @scale_split_between_q_and_k
// CHECK: xformer.attention %{{.+}}, %{{.+}}, %{{.+}}, mask = #xformer.mask<bidirectional>, scale = 2.500000e-01 :
// CHECK-NOT: xformer.softmax
func.func @scale_split_between_q_and_k(%x: tensor<1x4x48xf32>) -> tensor<1x2x4x8xf32> {
  %xq = xformer.slice %x [0, 0, 0] : tensor<1x4x48xf32> -> tensor<1x4x16xf32>
  %xk = xformer.slice %x [0, 0, 16] : tensor<1x4x48xf32> -> tensor<1x4x16xf32>
  %xv = xformer.slice %x [0, 0, 32] : tensor<1x4x48xf32> -> tensor<1x4x16xf32>
  %q = xformer.split_heads %xq, heads = 2 : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %k = xformer.split_heads %xk, heads = 2 : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %v = xformer.split_heads %xv, heads = 2 : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %c = arith.constant dense<0.5> : tensor<f32>
  %qs = xformer.mul %q, %c : tensor<1x2x4x8xf32>, tensor<f32> -> tensor<1x2x4x8xf32>
  %ks = xformer.mul %k, %c : tensor<1x2x4x8xf32>, tensor<f32> -> tensor<1x2x4x8xf32>
  %kt = xformer.transpose %ks, [0, 1, 3, 2] : tensor<1x2x4x8xf32> -> tensor<1x2x8x4xf32>
  %s = xformer.matmul %qs, %kt : tensor<1x2x4x8xf32>, tensor<1x2x8x4xf32> -> tensor<1x2x4x4xf32>
  %p = xformer.softmax %s, axis = 3 : tensor<1x2x4x4xf32>
  %o = xformer.matmul %p, %v : tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x8xf32>
  return %o : tensor<1x2x4x8xf32>
}

// -----

// CHECK-LABEL: func.func @scale_applied_twice
// The product of both scales, not 1/sqrt(d): the meaning, not the usual form.
// CHECK: xformer.attention %{{.+}}, %{{.+}}, %{{.+}}, mask = #xformer.mask<bidirectional>, scale = 6.250000e-02 :
// CHECK-NOT: xformer.softmax
func.func @scale_applied_twice(%x: tensor<1x4x48xf32>) -> tensor<1x2x4x8xf32> {
  %xq = xformer.slice %x [0, 0, 0] : tensor<1x4x48xf32> -> tensor<1x4x16xf32>
  %xk = xformer.slice %x [0, 0, 16] : tensor<1x4x48xf32> -> tensor<1x4x16xf32>
  %xv = xformer.slice %x [0, 0, 32] : tensor<1x4x48xf32> -> tensor<1x4x16xf32>
  %q = xformer.split_heads %xq, heads = 2 : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %k = xformer.split_heads %xk, heads = 2 : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %v = xformer.split_heads %xv, heads = 2 : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %c = arith.constant dense<0.25> : tensor<f32>
  %qs = xformer.mul %q, %c : tensor<1x2x4x8xf32>, tensor<f32> -> tensor<1x2x4x8xf32>
  %kt = xformer.transpose %k, [0, 1, 3, 2] : tensor<1x2x4x8xf32> -> tensor<1x2x8x4xf32>
  %s = xformer.matmul %qs, %kt : tensor<1x2x4x8xf32>, tensor<1x2x8x4xf32> -> tensor<1x2x4x4xf32>
  %c4 = arith.constant dense<4.0> : tensor<f32>
  %ss = xformer.div %s, %c4 : tensor<1x2x4x4xf32>, tensor<f32> -> tensor<1x2x4x4xf32>
  %p = xformer.softmax %ss, axis = 3 : tensor<1x2x4x4xf32>
  %o = xformer.matmul %p, %v : tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x8xf32>
  return %o : tensor<1x2x4x8xf32>
}

// -----

// CHECK-LABEL: func.func @causal_masked_fill_positions
// CHECK: xformer.attention %{{.+}}, %{{.+}}, %{{.+}}, mask = #xformer.mask<causal>, scale = 2.500000e-01 :
// CHECK-NOT: xformer.softmax
func.func @causal_masked_fill_positions(%x: tensor<1x4x48xf32>) -> tensor<1x2x4x8xf32> {
  %xq = xformer.slice %x [0, 0, 0] : tensor<1x4x48xf32> -> tensor<1x4x16xf32>
  %xk = xformer.slice %x [0, 0, 16] : tensor<1x4x48xf32> -> tensor<1x4x16xf32>
  %xv = xformer.slice %x [0, 0, 32] : tensor<1x4x48xf32> -> tensor<1x4x16xf32>
  %q = xformer.split_heads %xq, heads = 2 : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %k = xformer.split_heads %xk, heads = 2 : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %v = xformer.split_heads %xv, heads = 2 : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %kt = xformer.transpose %k, [0, 1, 3, 2] : tensor<1x2x4x8xf32> -> tensor<1x2x8x4xf32>
  %s = xformer.matmul %q, %kt : tensor<1x2x4x8xf32>, tensor<1x2x8x4xf32> -> tensor<1x2x4x4xf32>
  %c4 = arith.constant dense<4.0> : tensor<f32>
  %ss = xformer.div %s, %c4 : tensor<1x2x4x4xf32>, tensor<f32> -> tensor<1x2x4x4xf32>
  %pos = xformer.positions : tensor<4xi64>
  %kp = xformer.reshape %pos : tensor<4xi64> -> tensor<1x4xi64>
  %qp = xformer.reshape %pos : tensor<4xi64> -> tensor<4x1xi64>
  %future = xformer.compare gt, %kp, %qp : tensor<1x4xi64>, tensor<4x1xi64> -> tensor<4x4xi1>
  %m = xformer.masked_fill %ss, %future, value = 0xFFF0000000000000 : tensor<1x2x4x4xf32>, tensor<4x4xi1>
  %p = xformer.softmax %m, axis = 3 : tensor<1x2x4x4xf32>
  %o = xformer.matmul %p, %v : tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x8xf32>
  return %o : tensor<1x2x4x8xf32>
}

// -----

// CHECK-LABEL: func.func @causal_masked_fill_large_negative
// CHECK: xformer.attention %{{.+}}, %{{.+}}, %{{.+}}, mask = #xformer.mask<causal>, scale = 2.500000e-01 :
// CHECK-NOT: xformer.softmax
func.func @causal_masked_fill_large_negative(%x: tensor<1x4x48xf32>) -> tensor<1x2x4x8xf32> {
  %xq = xformer.slice %x [0, 0, 0] : tensor<1x4x48xf32> -> tensor<1x4x16xf32>
  %xk = xformer.slice %x [0, 0, 16] : tensor<1x4x48xf32> -> tensor<1x4x16xf32>
  %xv = xformer.slice %x [0, 0, 32] : tensor<1x4x48xf32> -> tensor<1x4x16xf32>
  %q = xformer.split_heads %xq, heads = 2 : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %k = xformer.split_heads %xk, heads = 2 : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %v = xformer.split_heads %xv, heads = 2 : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %kt = xformer.transpose %k, [0, 1, 3, 2] : tensor<1x2x4x8xf32> -> tensor<1x2x8x4xf32>
  %s = xformer.matmul %q, %kt : tensor<1x2x4x8xf32>, tensor<1x2x8x4xf32> -> tensor<1x2x4x4xf32>
  %c4 = arith.constant dense<4.0> : tensor<f32>
  %ss = xformer.div %s, %c4 : tensor<1x2x4x4xf32>, tensor<f32> -> tensor<1x2x4x4xf32>
  %pos = xformer.positions : tensor<4xi64>
  %kp = xformer.reshape %pos : tensor<4xi64> -> tensor<1x4xi64>
  %qp = xformer.reshape %pos : tensor<4xi64> -> tensor<4x1xi64>
  %keep = xformer.compare ge, %qp, %kp : tensor<4x1xi64>, tensor<1x4xi64> -> tensor<4x4xi1>
  %future = xformer.not %keep : tensor<4x4xi1>
  %m = xformer.masked_fill %ss, %future, value = -1.0e9 : tensor<1x2x4x4xf32>, tensor<4x4xi1>
  %p = xformer.softmax %m, axis = 3 : tensor<1x2x4x4xf32>
  %o = xformer.matmul %p, %v : tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x8xf32>
  return %o : tensor<1x2x4x8xf32>
}

// -----

// CHECK-LABEL: func.func @causal_dense_constant
// CHECK: xformer.attention %{{.+}}, %{{.+}}, %{{.+}}, mask = #xformer.mask<causal>, scale = 2.500000e-01 :
// CHECK-NOT: xformer.softmax
func.func @causal_dense_constant(%x: tensor<1x4x48xf32>) -> tensor<1x2x4x8xf32> {
  %xq = xformer.slice %x [0, 0, 0] : tensor<1x4x48xf32> -> tensor<1x4x16xf32>
  %xk = xformer.slice %x [0, 0, 16] : tensor<1x4x48xf32> -> tensor<1x4x16xf32>
  %xv = xformer.slice %x [0, 0, 32] : tensor<1x4x48xf32> -> tensor<1x4x16xf32>
  %q = xformer.split_heads %xq, heads = 2 : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %k = xformer.split_heads %xk, heads = 2 : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %v = xformer.split_heads %xv, heads = 2 : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %kt = xformer.transpose %k, [0, 1, 3, 2] : tensor<1x2x4x8xf32> -> tensor<1x2x8x4xf32>
  %s = xformer.matmul %q, %kt : tensor<1x2x4x8xf32>, tensor<1x2x8x4xf32> -> tensor<1x2x4x4xf32>
  %c4 = arith.constant dense<4.0> : tensor<f32>
  %ss = xformer.div %s, %c4 : tensor<1x2x4x4xf32>, tensor<f32> -> tensor<1x2x4x4xf32>
  %keep = arith.constant dense<[[true, false, false, false], [true, true, false, false], [true, true, true, false], [true, true, true, true]]> : tensor<4x4xi1>
  %ninf = arith.constant dense<0xFF800000> : tensor<f32>
  %m = xformer.select %keep, %ss, %ninf : tensor<4x4xi1>, tensor<1x2x4x4xf32>, tensor<f32> -> tensor<1x2x4x4xf32>
  %p = xformer.softmax %m, axis = 3 : tensor<1x2x4x4xf32>
  %o = xformer.matmul %p, %v : tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x8xf32>
  return %o : tensor<1x2x4x8xf32>
}

// -----

// CHECK-LABEL: func.func @causal_additive_constant
// CHECK: xformer.attention %{{.+}}, %{{.+}}, %{{.+}}, mask = #xformer.mask<causal>, scale = 2.500000e-01 :
// CHECK-NOT: xformer.softmax
func.func @causal_additive_constant(%x: tensor<1x4x48xf32>) -> tensor<1x2x4x8xf32> {
  %xq = xformer.slice %x [0, 0, 0] : tensor<1x4x48xf32> -> tensor<1x4x16xf32>
  %xk = xformer.slice %x [0, 0, 16] : tensor<1x4x48xf32> -> tensor<1x4x16xf32>
  %xv = xformer.slice %x [0, 0, 32] : tensor<1x4x48xf32> -> tensor<1x4x16xf32>
  %q = xformer.split_heads %xq, heads = 2 : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %k = xformer.split_heads %xk, heads = 2 : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %v = xformer.split_heads %xv, heads = 2 : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %kt = xformer.transpose %k, [0, 1, 3, 2] : tensor<1x2x4x8xf32> -> tensor<1x2x8x4xf32>
  %s = xformer.matmul %q, %kt : tensor<1x2x4x8xf32>, tensor<1x2x8x4xf32> -> tensor<1x2x4x4xf32>
  %c4 = arith.constant dense<4.0> : tensor<f32>
  %ss = xformer.div %s, %c4 : tensor<1x2x4x4xf32>, tensor<f32> -> tensor<1x2x4x4xf32>
  %bias = arith.constant dense<[[[[0.0, 0xFF800000, 0xFF800000, 0xFF800000], [0.0, 0.0, 0xFF800000, 0xFF800000], [0.0, 0.0, 0.0, 0xFF800000], [0.0, 0.0, 0.0, 0.0]]]]> : tensor<1x1x4x4xf32>
  %m = xformer.add %ss, %bias : tensor<1x2x4x4xf32>, tensor<1x1x4x4xf32> -> tensor<1x2x4x4xf32>
  %p = xformer.softmax %m, axis = 3 : tensor<1x2x4x4xf32>
  %o = xformer.matmul %p, %v : tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x8xf32>
  return %o : tensor<1x2x4x8xf32>
}

// -----

// CHECK-LABEL: func.func @causal_slice_of_buffer
// GPT-2's registered tril buffer, sliced to the sequence length.
// CHECK: xformer.attention %{{.+}}, %{{.+}}, %{{.+}}, mask = #xformer.mask<causal>, scale = 2.500000e-01 :
// CHECK-NOT: xformer.softmax
func.func @causal_slice_of_buffer(%x: tensor<1x4x48xf32>) -> tensor<1x2x4x8xf32> {
  %xq = xformer.slice %x [0, 0, 0] : tensor<1x4x48xf32> -> tensor<1x4x16xf32>
  %xk = xformer.slice %x [0, 0, 16] : tensor<1x4x48xf32> -> tensor<1x4x16xf32>
  %xv = xformer.slice %x [0, 0, 32] : tensor<1x4x48xf32> -> tensor<1x4x16xf32>
  %q = xformer.split_heads %xq, heads = 2 : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %k = xformer.split_heads %xk, heads = 2 : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %v = xformer.split_heads %xv, heads = 2 : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %kt = xformer.transpose %k, [0, 1, 3, 2] : tensor<1x2x4x8xf32> -> tensor<1x2x8x4xf32>
  %s = xformer.matmul %q, %kt : tensor<1x2x4x8xf32>, tensor<1x2x8x4xf32> -> tensor<1x2x4x4xf32>
  %c4 = arith.constant dense<4.0> : tensor<f32>
  %ss = xformer.div %s, %c4 : tensor<1x2x4x4xf32>, tensor<f32> -> tensor<1x2x4x4xf32>
  %buf = arith.constant dense<[[[[true, false, false, false, false, false], [true, true, false, false, false, false], [true, true, true, false, false, false], [true, true, true, true, false, false], [true, true, true, true, true, false], [true, true, true, true, true, true]]]]> : tensor<1x1x6x6xi1>
  %keep = xformer.slice %buf [0, 0, 0, 0] : tensor<1x1x6x6xi1> -> tensor<1x1x4x4xi1>
  %min = arith.constant dense<-3.40282347E+38> : tensor<f32>
  %m = xformer.select %keep, %ss, %min : tensor<1x1x4x4xi1>, tensor<1x2x4x4xf32>, tensor<f32> -> tensor<1x2x4x4xf32>
  %p = xformer.softmax %m, axis = 3 : tensor<1x2x4x4xf32>
  %o = xformer.matmul %p, %v : tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x8xf32>
  return %o : tensor<1x2x4x8xf32>
}

// -----

// CHECK-LABEL: func.func @sliding_window
// CHECK: xformer.attention %{{.+}}, %{{.+}}, %{{.+}}, mask = #xformer.mask<sliding_window, window = 2>, scale = 2.500000e-01 :
// CHECK-NOT: xformer.softmax
func.func @sliding_window(%x: tensor<1x4x48xf32>) -> tensor<1x2x4x8xf32> {
  %xq = xformer.slice %x [0, 0, 0] : tensor<1x4x48xf32> -> tensor<1x4x16xf32>
  %xk = xformer.slice %x [0, 0, 16] : tensor<1x4x48xf32> -> tensor<1x4x16xf32>
  %xv = xformer.slice %x [0, 0, 32] : tensor<1x4x48xf32> -> tensor<1x4x16xf32>
  %q = xformer.split_heads %xq, heads = 2 : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %k = xformer.split_heads %xk, heads = 2 : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %v = xformer.split_heads %xv, heads = 2 : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %kt = xformer.transpose %k, [0, 1, 3, 2] : tensor<1x2x4x8xf32> -> tensor<1x2x8x4xf32>
  %s = xformer.matmul %q, %kt : tensor<1x2x4x8xf32>, tensor<1x2x8x4xf32> -> tensor<1x2x4x4xf32>
  %c4 = arith.constant dense<4.0> : tensor<f32>
  %ss = xformer.div %s, %c4 : tensor<1x2x4x4xf32>, tensor<f32> -> tensor<1x2x4x4xf32>
  %pos = xformer.positions : tensor<4xi64>
  %kp = xformer.reshape %pos : tensor<4xi64> -> tensor<1x4xi64>
  %qp = xformer.reshape %pos : tensor<4xi64> -> tensor<4x1xi64>
  %causal = xformer.compare le, %kp, %qp : tensor<1x4xi64>, tensor<4x1xi64> -> tensor<4x4xi1>
  %dist = xformer.sub %qp, %kp : tensor<4x1xi64>, tensor<1x4xi64> -> tensor<4x4xi64>
  %w = arith.constant dense<2> : tensor<i64>
  %near = xformer.compare lt, %dist, %w : tensor<4x4xi64>, tensor<i64> -> tensor<4x4xi1>
  %keep = xformer.and %causal, %near : tensor<4x4xi1>, tensor<4x4xi1> -> tensor<4x4xi1>
  %min = arith.constant dense<-3.40282347E+38> : tensor<f32>
  %m = xformer.select %keep, %ss, %min : tensor<4x4xi1>, tensor<1x2x4x4xf32>, tensor<f32> -> tensor<1x2x4x4xf32>
  %p = xformer.softmax %m, axis = 3 : tensor<1x2x4x4xf32>
  %o = xformer.matmul %p, %v : tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x8xf32>
  return %o : tensor<1x2x4x8xf32>
}

// -----

// CHECK-LABEL: func.func @prefix_lm
// CHECK: xformer.attention %{{.+}}, %{{.+}}, %{{.+}}, mask = #xformer.mask<prefix_lm, prefix = 2>, scale = 2.500000e-01 :
// CHECK-NOT: xformer.softmax
func.func @prefix_lm(%x: tensor<1x4x48xf32>) -> tensor<1x2x4x8xf32> {
  %xq = xformer.slice %x [0, 0, 0] : tensor<1x4x48xf32> -> tensor<1x4x16xf32>
  %xk = xformer.slice %x [0, 0, 16] : tensor<1x4x48xf32> -> tensor<1x4x16xf32>
  %xv = xformer.slice %x [0, 0, 32] : tensor<1x4x48xf32> -> tensor<1x4x16xf32>
  %q = xformer.split_heads %xq, heads = 2 : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %k = xformer.split_heads %xk, heads = 2 : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %v = xformer.split_heads %xv, heads = 2 : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %kt = xformer.transpose %k, [0, 1, 3, 2] : tensor<1x2x4x8xf32> -> tensor<1x2x8x4xf32>
  %s = xformer.matmul %q, %kt : tensor<1x2x4x8xf32>, tensor<1x2x8x4xf32> -> tensor<1x2x4x4xf32>
  %c4 = arith.constant dense<4.0> : tensor<f32>
  %ss = xformer.div %s, %c4 : tensor<1x2x4x4xf32>, tensor<f32> -> tensor<1x2x4x4xf32>
  %pos = xformer.positions : tensor<4xi64>
  %kp = xformer.reshape %pos : tensor<4xi64> -> tensor<1x4xi64>
  %qp = xformer.reshape %pos : tensor<4xi64> -> tensor<4x1xi64>
  %causal = xformer.compare le, %kp, %qp : tensor<1x4xi64>, tensor<4x1xi64> -> tensor<4x4xi1>
  %plen = arith.constant dense<2> : tensor<i64>
  %inprefix = xformer.compare lt, %kp, %plen : tensor<1x4xi64>, tensor<i64> -> tensor<1x4xi1>
  %keep = xformer.or %causal, %inprefix : tensor<4x4xi1>, tensor<1x4xi1> -> tensor<4x4xi1>
  %min = arith.constant dense<-3.40282347E+38> : tensor<f32>
  %m = xformer.select %keep, %ss, %min : tensor<4x4xi1>, tensor<1x2x4x4xf32>, tensor<f32> -> tensor<1x2x4x4xf32>
  %p = xformer.softmax %m, axis = 3 : tensor<1x2x4x4xf32>
  %o = xformer.matmul %p, %v : tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x8xf32>
  return %o : tensor<1x2x4x8xf32>
}

// -----

// CHECK-LABEL: func.func @softmax_in_f32
// CHECK: xformer.attention %{{.+}}, %{{.+}}, %{{.+}}, mask = #xformer.mask<bidirectional>, scale = 2.500000e-01 : tensor<1x2x4x8xbf16>
// CHECK-NOT: xformer.softmax
func.func @softmax_in_f32(%x: tensor<1x4x48xbf16>) -> tensor<1x2x4x8xbf16> {
  %xq = xformer.slice %x [0, 0, 0] : tensor<1x4x48xbf16> -> tensor<1x4x16xbf16>
  %xk = xformer.slice %x [0, 0, 16] : tensor<1x4x48xbf16> -> tensor<1x4x16xbf16>
  %xv = xformer.slice %x [0, 0, 32] : tensor<1x4x48xbf16> -> tensor<1x4x16xbf16>
  %q = xformer.split_heads %xq, heads = 2 : tensor<1x4x16xbf16> -> tensor<1x2x4x8xbf16>
  %k = xformer.split_heads %xk, heads = 2 : tensor<1x4x16xbf16> -> tensor<1x2x4x8xbf16>
  %v = xformer.split_heads %xv, heads = 2 : tensor<1x4x16xbf16> -> tensor<1x2x4x8xbf16>
  %kt = xformer.transpose %k, [0, 1, 3, 2] : tensor<1x2x4x8xbf16> -> tensor<1x2x8x4xbf16>
  %s = xformer.matmul %q, %kt : tensor<1x2x4x8xbf16>, tensor<1x2x8x4xbf16> -> tensor<1x2x4x4xbf16>
  %s32 = xformer.cast %s : tensor<1x2x4x4xbf16> -> tensor<1x2x4x4xf32>
  %c = arith.constant dense<0.25> : tensor<f32>
  %ss = xformer.mul %s32, %c : tensor<1x2x4x4xf32>, tensor<f32> -> tensor<1x2x4x4xf32>
  %p32 = xformer.softmax %ss, axis = 3 : tensor<1x2x4x4xf32>
  %p = xformer.cast %p32 : tensor<1x2x4x4xf32> -> tensor<1x2x4x4xbf16>
  %o = xformer.matmul %p, %v : tensor<1x2x4x4xbf16>, tensor<1x2x4x8xbf16> -> tensor<1x2x4x8xbf16>
  return %o : tensor<1x2x4x8xbf16>
}

// -----

// CHECK-LABEL: func.func @transpose_written_the_other_way
// CHECK-DAG: [[XQ:%.+]] = xformer.slice %arg0 [0, 0, 0]
// CHECK-DAG: [[XK:%.+]] = xformer.slice %arg0 [0, 0, 16]
// CHECK-DAG: [[XV:%.+]] = xformer.slice %arg0 [0, 0, 32]
// CHECK-DAG: [[Q:%.+]] = xformer.split_heads [[XQ]], heads = 2
// CHECK-DAG: [[K:%.+]] = xformer.split_heads [[XK]], heads = 2
// CHECK-DAG: [[V:%.+]] = xformer.split_heads [[XV]], heads = 2
// CHECK: xformer.attention [[Q]], [[K]], [[V]], mask = #xformer.mask<bidirectional>, scale = 2.500000e-01
// CHECK-NOT: xformer.softmax
func.func @transpose_written_the_other_way(%x: tensor<1x4x48xf32>) -> tensor<1x2x4x8xf32> {
  %xq = xformer.slice %x [0, 0, 0] : tensor<1x4x48xf32> -> tensor<1x4x16xf32>
  %xk = xformer.slice %x [0, 0, 16] : tensor<1x4x48xf32> -> tensor<1x4x16xf32>
  %xv = xformer.slice %x [0, 0, 32] : tensor<1x4x48xf32> -> tensor<1x4x16xf32>
  %q4 = xformer.reshape %xq : tensor<1x4x16xf32> -> tensor<1x4x2x8xf32>
  %qh = xformer.transpose %q4, [0, 2, 1, 3] : tensor<1x4x2x8xf32> -> tensor<1x2x4x8xf32>
  %k4 = xformer.reshape %xk : tensor<1x4x16xf32> -> tensor<1x4x2x8xf32>
  %kt = xformer.transpose %k4, [0, 2, 3, 1] : tensor<1x4x2x8xf32> -> tensor<1x2x8x4xf32>
  %v4 = xformer.reshape %xv : tensor<1x4x16xf32> -> tensor<1x4x2x8xf32>
  %vh = xformer.transpose %v4, [0, 2, 1, 3] : tensor<1x4x2x8xf32> -> tensor<1x2x4x8xf32>
  %s = xformer.matmul %qh, %kt : tensor<1x2x4x8xf32>, tensor<1x2x8x4xf32> -> tensor<1x2x4x4xf32>
  %c4 = arith.constant dense<4.0> : tensor<f32>
  %ss = xformer.div %s, %c4 : tensor<1x2x4x4xf32>, tensor<f32> -> tensor<1x2x4x4xf32>
  %p = xformer.softmax %ss, axis = 3 : tensor<1x2x4x4xf32>
  %o = xformer.matmul %p, %vh : tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x8xf32>
  return %o : tensor<1x2x4x8xf32>
}

// -----

// CHECK-LABEL: func.func @grouped_query_repeat_kv
// CHECK: xformer.attention %{{.+}}, %{{.+}}, %{{.+}}, mask = #xformer.mask<bidirectional>, scale = 2.500000e-01 : tensor<1x4x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32> -> tensor<1x4x4x8xf32>
// CHECK-NOT: xformer.broadcast
func.func @grouped_query_repeat_kv(%x: tensor<1x4x64xf32>) -> tensor<1x4x4x8xf32> {
  %xq = xformer.slice %x [0, 0, 0] : tensor<1x4x64xf32> -> tensor<1x4x32xf32>
  %xk = xformer.slice %x [0, 0, 32] : tensor<1x4x64xf32> -> tensor<1x4x16xf32>
  %xv = xformer.slice %x [0, 0, 48] : tensor<1x4x64xf32> -> tensor<1x4x16xf32>
  %q = xformer.split_heads %xq, heads = 4 : tensor<1x4x32xf32> -> tensor<1x4x4x8xf32>
  %k = xformer.split_heads %xk, heads = 2 : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %v = xformer.split_heads %xv, heads = 2 : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %k5 = xformer.reshape %k : tensor<1x2x4x8xf32> -> tensor<1x2x1x4x8xf32>
  %kb = xformer.broadcast %k5 : tensor<1x2x1x4x8xf32> -> tensor<1x2x2x4x8xf32>
  %kr = xformer.reshape %kb : tensor<1x2x2x4x8xf32> -> tensor<1x4x4x8xf32>
  %v5 = xformer.reshape %v : tensor<1x2x4x8xf32> -> tensor<1x2x1x4x8xf32>
  %vb = xformer.broadcast %v5 : tensor<1x2x1x4x8xf32> -> tensor<1x2x2x4x8xf32>
  %vr = xformer.reshape %vb : tensor<1x2x2x4x8xf32> -> tensor<1x4x4x8xf32>
  %s = xformer.matmul %q, %kr {transpose_rhs} : tensor<1x4x4x8xf32>, tensor<1x4x4x8xf32> -> tensor<1x4x4x4xf32>
  %c = arith.constant dense<0.25> : tensor<f32>
  %ss = xformer.mul %s, %c : tensor<1x4x4x4xf32>, tensor<f32> -> tensor<1x4x4x4xf32>
  %p = xformer.softmax %ss, axis = 3 : tensor<1x4x4x4xf32>
  %o = xformer.matmul %p, %vr : tensor<1x4x4x4xf32>, tensor<1x4x4x8xf32> -> tensor<1x4x4x8xf32>
  return %o : tensor<1x4x4x8xf32>
}

// -----

// CHECK-LABEL: func.func @multi_query_broadcast
// CHECK: xformer.attention %{{.+}}, %{{.+}}, %{{.+}}, mask = #xformer.mask<bidirectional>, scale = 2.500000e-01 : tensor<1x4x4x8xf32>, tensor<1x1x4x8xf32>, tensor<1x1x4x8xf32> -> tensor<1x4x4x8xf32>
func.func @multi_query_broadcast(%x: tensor<1x4x48xf32>) -> tensor<1x4x4x8xf32> {
  %xq = xformer.slice %x [0, 0, 0] : tensor<1x4x48xf32> -> tensor<1x4x32xf32>
  %xk = xformer.slice %x [0, 0, 32] : tensor<1x4x48xf32> -> tensor<1x4x8xf32>
  %xv = xformer.slice %x [0, 0, 40] : tensor<1x4x48xf32> -> tensor<1x4x8xf32>
  %q = xformer.split_heads %xq, heads = 4 : tensor<1x4x32xf32> -> tensor<1x4x4x8xf32>
  %k = xformer.split_heads %xk, heads = 1 : tensor<1x4x8xf32> -> tensor<1x1x4x8xf32>
  %v = xformer.split_heads %xv, heads = 1 : tensor<1x4x8xf32> -> tensor<1x1x4x8xf32>
  %kb = xformer.broadcast %k : tensor<1x1x4x8xf32> -> tensor<1x4x4x8xf32>
  %vb = xformer.broadcast %v : tensor<1x1x4x8xf32> -> tensor<1x4x4x8xf32>
  %s = xformer.matmul %q, %kb {transpose_rhs} : tensor<1x4x4x8xf32>, tensor<1x4x4x8xf32> -> tensor<1x4x4x4xf32>
  %c = arith.constant dense<0.25> : tensor<f32>
  %ss = xformer.mul %s, %c : tensor<1x4x4x4xf32>, tensor<f32> -> tensor<1x4x4x4xf32>
  %p = xformer.softmax %ss, axis = 3 : tensor<1x4x4x4xf32>
  %o = xformer.matmul %p, %vb : tensor<1x4x4x4xf32>, tensor<1x4x4x8xf32> -> tensor<1x4x4x8xf32>
  return %o : tensor<1x4x4x8xf32>
}

// -----

// CHECK-LABEL: func.func @padding_from_lengths
// BERT's extended attention mask becomes the key lengths.
// CHECK: xformer.attention %{{.+}}, %{{.+}}, %{{.+}}, mask = #xformer.mask<bidirectional>, scale = 1.000000e+00 kv_lengths(%arg1 : tensor<2xi64>) :
// CHECK-NOT: xformer.softmax
func.func @padding_from_lengths(%x: tensor<2x4x48xf32>, %lengths: tensor<2xi64>) -> tensor<2x2x4x8xf32> {
  %xq = xformer.slice %x [0, 0, 0] : tensor<2x4x48xf32> -> tensor<2x4x16xf32>
  %xk = xformer.slice %x [0, 0, 16] : tensor<2x4x48xf32> -> tensor<2x4x16xf32>
  %xv = xformer.slice %x [0, 0, 32] : tensor<2x4x48xf32> -> tensor<2x4x16xf32>
  %q = xformer.split_heads %xq, heads = 2 : tensor<2x4x16xf32> -> tensor<2x2x4x8xf32>
  %k = xformer.split_heads %xk, heads = 2 : tensor<2x4x16xf32> -> tensor<2x2x4x8xf32>
  %v = xformer.split_heads %xv, heads = 2 : tensor<2x4x16xf32> -> tensor<2x2x4x8xf32>
  %s = xformer.matmul %q, %k {transpose_rhs} : tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32> -> tensor<2x2x4x4xf32>
  %pos = xformer.positions : tensor<4xi64>
  %kp = xformer.reshape %pos : tensor<4xi64> -> tensor<1x4xi64>
  %len = xformer.reshape %lengths : tensor<2xi64> -> tensor<2x1xi64>
  %valid = xformer.compare lt, %kp, %len : tensor<1x4xi64>, tensor<2x1xi64> -> tensor<2x4xi1>
  %vf = xformer.cast %valid : tensor<2x4xi1> -> tensor<2x4xf32>
  %one = arith.constant dense<1.0> : tensor<f32>
  %inv = xformer.sub %one, %vf : tensor<f32>, tensor<2x4xf32> -> tensor<2x4xf32>
  %min = arith.constant dense<-3.40282347E+38> : tensor<f32>
  %b2 = xformer.mul %inv, %min : tensor<2x4xf32>, tensor<f32> -> tensor<2x4xf32>
  %bias = xformer.reshape %b2 : tensor<2x4xf32> -> tensor<2x1x1x4xf32>
  %m = xformer.add %s, %bias : tensor<2x2x4x4xf32>, tensor<2x1x1x4xf32> -> tensor<2x2x4x4xf32>
  %p = xformer.softmax %m, axis = 3 : tensor<2x2x4x4xf32>
  %o = xformer.matmul %p, %v : tensor<2x2x4x4xf32>, tensor<2x2x4x8xf32> -> tensor<2x2x4x8xf32>
  return %o : tensor<2x2x4x8xf32>
}

// -----

// CHECK-LABEL: func.func @causal_with_padding
// Right-padded causal attention: queries share the key lengths.
// CHECK: xformer.attention %{{.+}}, %{{.+}}, %{{.+}}, mask = #xformer.mask<causal>, scale = 1.000000e+00 q_lengths(%arg1 : tensor<2xi64>) kv_lengths(%arg1 : tensor<2xi64>) :
// CHECK-NOT: xformer.softmax
func.func @causal_with_padding(%x: tensor<2x4x48xf32>, %lengths: tensor<2xi64>) -> tensor<2x2x4x8xf32> {
  %xq = xformer.slice %x [0, 0, 0] : tensor<2x4x48xf32> -> tensor<2x4x16xf32>
  %xk = xformer.slice %x [0, 0, 16] : tensor<2x4x48xf32> -> tensor<2x4x16xf32>
  %xv = xformer.slice %x [0, 0, 32] : tensor<2x4x48xf32> -> tensor<2x4x16xf32>
  %q = xformer.split_heads %xq, heads = 2 : tensor<2x4x16xf32> -> tensor<2x2x4x8xf32>
  %k = xformer.split_heads %xk, heads = 2 : tensor<2x4x16xf32> -> tensor<2x2x4x8xf32>
  %v = xformer.split_heads %xv, heads = 2 : tensor<2x4x16xf32> -> tensor<2x2x4x8xf32>
  %s = xformer.matmul %q, %k {transpose_rhs} : tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32> -> tensor<2x2x4x4xf32>
  %pos = xformer.positions : tensor<4xi64>
  %kp = xformer.reshape %pos : tensor<4xi64> -> tensor<1x4xi64>
  %len = xformer.reshape %lengths : tensor<2xi64> -> tensor<2x1xi64>
  %valid = xformer.compare lt, %kp, %len : tensor<1x4xi64>, tensor<2x1xi64> -> tensor<2x4xi1>
  %qp = xformer.reshape %pos : tensor<4xi64> -> tensor<4x1xi64>
  %causal = xformer.compare le, %kp, %qp : tensor<1x4xi64>, tensor<4x1xi64> -> tensor<4x4xi1>
  %v3 = xformer.reshape %valid : tensor<2x4xi1> -> tensor<2x1x4xi1>
  %keep = xformer.and %causal, %v3 : tensor<4x4xi1>, tensor<2x1x4xi1> -> tensor<2x4x4xi1>
  %keep4 = xformer.reshape %keep : tensor<2x4x4xi1> -> tensor<2x1x4x4xi1>
  %min = arith.constant dense<-3.40282347E+38> : tensor<f32>
  %m = xformer.select %keep4, %s, %min : tensor<2x1x4x4xi1>, tensor<2x2x4x4xf32>, tensor<f32> -> tensor<2x2x4x4xf32>
  %p = xformer.softmax %m, axis = 3 : tensor<2x2x4x4xf32>
  %o = xformer.matmul %p, %v : tensor<2x2x4x4xf32>, tensor<2x2x4x8xf32> -> tensor<2x2x4x8xf32>
  return %o : tensor<2x2x4x8xf32>
}

// -----

// CHECK-LABEL: func.func @cross_attention
// Keys from another input sequence: cross.
// CHECK: xformer.attention %{{.+}}, %{{.+}}, %{{.+}}, mask = #xformer.mask<cross>, scale = 1.000000e+00 : tensor<1x2x4x8xf32>, tensor<1x2x6x8xf32>, tensor<1x2x6x8xf32> -> tensor<1x2x4x8xf32>
func.func @cross_attention(%dec: tensor<1x4x16xf32>, %enc: tensor<1x6x16xf32>) -> tensor<1x2x4x8xf32> {
  %q = xformer.split_heads %dec, heads = 2 : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %k = xformer.split_heads %enc, heads = 2 : tensor<1x6x16xf32> -> tensor<1x2x6x8xf32>
  %s = xformer.matmul %q, %k {transpose_rhs} : tensor<1x2x4x8xf32>, tensor<1x2x6x8xf32> -> tensor<1x2x4x6xf32>
  %p = xformer.softmax %s, axis = 3 : tensor<1x2x4x6xf32>
  %o = xformer.matmul %p, %k : tensor<1x2x4x6xf32>, tensor<1x2x6x8xf32> -> tensor<1x2x4x8xf32>
  return %o : tensor<1x2x4x8xf32>
}

// -----

// CHECK-LABEL: func.func @t5_relative_bias_and_causal
// T5: position bias + causal mask splits into a bias operand and the causal kind.
// CHECK: [[REL:%.+]] = xformer.relative_position_bias
// CHECK: xformer.attention %{{.+}}, %{{.+}}, %{{.+}}, mask = #xformer.mask<causal>, scale = 1.000000e+00 bias([[REL]] : tensor<1x2x4x4xf32>) :
// CHECK-NOT: xformer.softmax
func.func @t5_relative_bias_and_causal(%x: tensor<1x4x48xf32>) -> tensor<1x2x4x8xf32> {
  %xq = xformer.slice %x [0, 0, 0] : tensor<1x4x48xf32> -> tensor<1x4x16xf32>
  %xk = xformer.slice %x [0, 0, 16] : tensor<1x4x48xf32> -> tensor<1x4x16xf32>
  %xv = xformer.slice %x [0, 0, 32] : tensor<1x4x48xf32> -> tensor<1x4x16xf32>
  %q = xformer.split_heads %xq, heads = 2 : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %k = xformer.split_heads %xk, heads = 2 : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %v = xformer.split_heads %xv, heads = 2 : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %kt = xformer.transpose %k, [0, 1, 3, 2] : tensor<1x2x4x8xf32> -> tensor<1x2x8x4xf32>
  %s = xformer.matmul %q, %kt : tensor<1x2x4x8xf32>, tensor<1x2x8x4xf32> -> tensor<1x2x4x4xf32>
  %pos = xformer.positions : tensor<4xi64>
  %kp = xformer.reshape %pos : tensor<4xi64> -> tensor<1x4xi64>
  %qp = xformer.reshape %pos : tensor<4xi64> -> tensor<4x1xi64>
  %table = xformer.weight @decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight : tensor<32x2xf32>
  %rel = xformer.relative_position_bias %table, %pos, %pos, num_buckets = 32, max_distance = 128, bidirectional = false : tensor<32x2xf32>, tensor<4xi64>, tensor<4xi64> -> tensor<1x2x4x4xf32>
  %keep = xformer.compare le, %kp, %qp : tensor<1x4xi64>, tensor<4x1xi64> -> tensor<4x4xi1>
  %zero = arith.constant dense<0.0> : tensor<f32>
  %min = arith.constant dense<-3.40282347E+38> : tensor<f32>
  %cm = xformer.select %keep, %zero, %min : tensor<4x4xi1>, tensor<f32>, tensor<f32> -> tensor<4x4xf32>
  %pb = xformer.add %rel, %cm : tensor<1x2x4x4xf32>, tensor<4x4xf32> -> tensor<1x2x4x4xf32>
  %m = xformer.add %s, %pb : tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32> -> tensor<1x2x4x4xf32>
  %p = xformer.softmax %m, axis = 3 : tensor<1x2x4x4xf32>
  %o = xformer.matmul %p, %v : tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x8xf32>
  return %o : tensor<1x2x4x8xf32>
}
xformer.weight_decl @decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight : tensor<32x2xf32>

// -----

// CHECK-LABEL: func.func @batched_matmul_form
// Heads merged into the batch ([batch * heads, seq, head_dim], older BART exports).
// CHECK: xformer.attention %{{.+}}, %{{.+}}, %{{.+}}, mask = #xformer.mask<causal>, scale = 1.000000e+00 :
// CHECK-NOT: xformer.softmax
// CHECK-NOT: xformer.reshape
func.func @batched_matmul_form(%x: tensor<1x4x48xf32>) -> tensor<1x2x4x8xf32> {
  %xq = xformer.slice %x [0, 0, 0] : tensor<1x4x48xf32> -> tensor<1x4x16xf32>
  %xk = xformer.slice %x [0, 0, 16] : tensor<1x4x48xf32> -> tensor<1x4x16xf32>
  %xv = xformer.slice %x [0, 0, 32] : tensor<1x4x48xf32> -> tensor<1x4x16xf32>
  %q = xformer.split_heads %xq, heads = 2 : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %k = xformer.split_heads %xk, heads = 2 : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %v = xformer.split_heads %xv, heads = 2 : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %q3 = xformer.reshape %q : tensor<1x2x4x8xf32> -> tensor<2x4x8xf32>
  %k3 = xformer.reshape %k : tensor<1x2x4x8xf32> -> tensor<2x4x8xf32>
  %v3 = xformer.reshape %v : tensor<1x2x4x8xf32> -> tensor<2x4x8xf32>
  %kt3 = xformer.transpose %k3, [0, 2, 1] : tensor<2x4x8xf32> -> tensor<2x8x4xf32>
  %s3 = xformer.matmul %q3, %kt3 : tensor<2x4x8xf32>, tensor<2x8x4xf32> -> tensor<2x4x4xf32>
  %s4 = xformer.reshape %s3 : tensor<2x4x4xf32> -> tensor<1x2x4x4xf32>
  %pos = xformer.positions : tensor<4xi64>
  %kp = xformer.reshape %pos : tensor<4xi64> -> tensor<1x4xi64>
  %qp = xformer.reshape %pos : tensor<4xi64> -> tensor<4x1xi64>
  %keep = xformer.compare le, %kp, %qp : tensor<1x4xi64>, tensor<4x1xi64> -> tensor<4x4xi1>
  %zero = arith.constant dense<0.0> : tensor<f32>
  %min = arith.constant dense<-3.40282347E+38> : tensor<f32>
  %cm = xformer.select %keep, %zero, %min : tensor<4x4xi1>, tensor<f32>, tensor<f32> -> tensor<4x4xf32>
  %m4 = xformer.add %s4, %cm : tensor<1x2x4x4xf32>, tensor<4x4xf32> -> tensor<1x2x4x4xf32>
  %m3 = xformer.reshape %m4 : tensor<1x2x4x4xf32> -> tensor<2x4x4xf32>
  %p3 = xformer.softmax %m3, axis = 2 : tensor<2x4x4xf32>
  %o3 = xformer.matmul %p3, %v3 : tensor<2x4x4xf32>, tensor<2x4x8xf32> -> tensor<2x4x8xf32>
  %o = xformer.reshape %o3 : tensor<2x4x8xf32> -> tensor<1x2x4x8xf32>
  return %o : tensor<1x2x4x8xf32>
}

// -----

// CHECK-LABEL: func.func @packed_documents
// Packed sequences: causal within each document.
// CHECK: xformer.attention %{{.+}}, %{{.+}}, %{{.+}}, mask = #xformer.mask<causal, documents>, scale = 1.000000e+00 segment_ids(%arg1 : tensor<2x4xi32>) :
// CHECK-NOT: xformer.softmax
func.func @packed_documents(%x: tensor<2x4x48xf32>, %seg: tensor<2x4xi32>) -> tensor<2x2x4x8xf32> {
  %xq = xformer.slice %x [0, 0, 0] : tensor<2x4x48xf32> -> tensor<2x4x16xf32>
  %xk = xformer.slice %x [0, 0, 16] : tensor<2x4x48xf32> -> tensor<2x4x16xf32>
  %xv = xformer.slice %x [0, 0, 32] : tensor<2x4x48xf32> -> tensor<2x4x16xf32>
  %q = xformer.split_heads %xq, heads = 2 : tensor<2x4x16xf32> -> tensor<2x2x4x8xf32>
  %k = xformer.split_heads %xk, heads = 2 : tensor<2x4x16xf32> -> tensor<2x2x4x8xf32>
  %v = xformer.split_heads %xv, heads = 2 : tensor<2x4x16xf32> -> tensor<2x2x4x8xf32>
  %s = xformer.matmul %q, %k {transpose_rhs} : tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32> -> tensor<2x2x4x4xf32>
  %sq = xformer.reshape %seg : tensor<2x4xi32> -> tensor<2x4x1xi32>
  %sk = xformer.reshape %seg : tensor<2x4xi32> -> tensor<2x1x4xi32>
  %same = xformer.compare eq, %sq, %sk : tensor<2x4x1xi32>, tensor<2x1x4xi32> -> tensor<2x4x4xi1>
  %pos = xformer.positions : tensor<4xi64>
  %kp = xformer.reshape %pos : tensor<4xi64> -> tensor<1x4xi64>
  %qp = xformer.reshape %pos : tensor<4xi64> -> tensor<4x1xi64>
  %causal = xformer.compare le, %kp, %qp : tensor<1x4xi64>, tensor<4x1xi64> -> tensor<4x4xi1>
  %keep = xformer.and %causal, %same : tensor<4x4xi1>, tensor<2x4x4xi1> -> tensor<2x4x4xi1>
  %keep4 = xformer.reshape %keep : tensor<2x4x4xi1> -> tensor<2x1x4x4xi1>
  %min = arith.constant dense<-3.40282347E+38> : tensor<f32>
  %m = xformer.select %keep4, %s, %min : tensor<2x1x4x4xi1>, tensor<2x2x4x4xf32>, tensor<f32> -> tensor<2x2x4x4xf32>
  %p = xformer.softmax %m, axis = 3 : tensor<2x2x4x4xf32>
  %o = xformer.matmul %p, %v : tensor<2x2x4x4xf32>, tensor<2x2x4x8xf32> -> tensor<2x2x4x8xf32>
  return %o : tensor<2x2x4x8xf32>
}

// -----

// CHECK-LABEL: func.func @near_miss_documents_le
// Earlier-or-same document is not the same document: custom.
// CHECK: xformer.attention %{{.+}}, %{{.+}}, %{{.+}}, mask = #xformer.mask<custom>, scale = 1.000000e+00 mask_tensor(%{{.+}} : tensor<2x1x4x4xi1>) :
func.func @near_miss_documents_le(%x: tensor<2x4x48xf32>, %seg: tensor<2x4xi32>) -> tensor<2x2x4x8xf32> {
  %xq = xformer.slice %x [0, 0, 0] : tensor<2x4x48xf32> -> tensor<2x4x16xf32>
  %xk = xformer.slice %x [0, 0, 16] : tensor<2x4x48xf32> -> tensor<2x4x16xf32>
  %xv = xformer.slice %x [0, 0, 32] : tensor<2x4x48xf32> -> tensor<2x4x16xf32>
  %q = xformer.split_heads %xq, heads = 2 : tensor<2x4x16xf32> -> tensor<2x2x4x8xf32>
  %k = xformer.split_heads %xk, heads = 2 : tensor<2x4x16xf32> -> tensor<2x2x4x8xf32>
  %v = xformer.split_heads %xv, heads = 2 : tensor<2x4x16xf32> -> tensor<2x2x4x8xf32>
  %s = xformer.matmul %q, %k {transpose_rhs} : tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32> -> tensor<2x2x4x4xf32>
  %sq = xformer.reshape %seg : tensor<2x4xi32> -> tensor<2x4x1xi32>
  %sk = xformer.reshape %seg : tensor<2x4xi32> -> tensor<2x1x4xi32>
  %same = xformer.compare le, %sq, %sk : tensor<2x4x1xi32>, tensor<2x1x4xi32> -> tensor<2x4x4xi1>
  %pos = xformer.positions : tensor<4xi64>
  %kp = xformer.reshape %pos : tensor<4xi64> -> tensor<1x4xi64>
  %qp = xformer.reshape %pos : tensor<4xi64> -> tensor<4x1xi64>
  %causal = xformer.compare le, %kp, %qp : tensor<1x4xi64>, tensor<4x1xi64> -> tensor<4x4xi1>
  %keep = xformer.and %causal, %same : tensor<4x4xi1>, tensor<2x4x4xi1> -> tensor<2x4x4xi1>
  %keep4 = xformer.reshape %keep : tensor<2x4x4xi1> -> tensor<2x1x4x4xi1>
  %min = arith.constant dense<-3.40282347E+38> : tensor<f32>
  %m = xformer.select %keep4, %s, %min : tensor<2x1x4x4xi1>, tensor<2x2x4x4xf32>, tensor<f32> -> tensor<2x2x4x4xf32>
  %p = xformer.softmax %m, axis = 3 : tensor<2x2x4x4xf32>
  %o = xformer.matmul %p, %v : tensor<2x2x4x4xf32>, tensor<2x2x4x8xf32> -> tensor<2x2x4x8xf32>
  return %o : tensor<2x2x4x8xf32>
}

// -----

// CHECK-LABEL: func.func @near_miss_softmax_wrong_axis
// Normalising over queries is not attention.
// CHECK-NOT: xformer.attention
// CHECK: xformer.softmax %{{.+}}, axis = 2
func.func @near_miss_softmax_wrong_axis(%x: tensor<1x4x48xf32>) -> tensor<1x2x4x8xf32> {
  %xq = xformer.slice %x [0, 0, 0] : tensor<1x4x48xf32> -> tensor<1x4x16xf32>
  %xk = xformer.slice %x [0, 0, 16] : tensor<1x4x48xf32> -> tensor<1x4x16xf32>
  %xv = xformer.slice %x [0, 0, 32] : tensor<1x4x48xf32> -> tensor<1x4x16xf32>
  %q = xformer.split_heads %xq, heads = 2 : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %k = xformer.split_heads %xk, heads = 2 : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %v = xformer.split_heads %xv, heads = 2 : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %kt = xformer.transpose %k, [0, 1, 3, 2] : tensor<1x2x4x8xf32> -> tensor<1x2x8x4xf32>
  %s = xformer.matmul %q, %kt : tensor<1x2x4x8xf32>, tensor<1x2x8x4xf32> -> tensor<1x2x4x4xf32>
  %c4 = arith.constant dense<4.0> : tensor<f32>
  %ss = xformer.div %s, %c4 : tensor<1x2x4x4xf32>, tensor<f32> -> tensor<1x2x4x4xf32>
  %p = xformer.softmax %ss, axis = 2 : tensor<1x2x4x4xf32>
  %o = xformer.matmul %p, %v : tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x8xf32>
  return %o : tensor<1x2x4x8xf32>
}

// -----

// CHECK-LABEL: func.func @near_miss_triangle_one_wrong_entry
// Row 2 sees key 3: not causal. Kept as an explicit custom mask.
// CHECK: [[M:%.+]] = arith.constant dense<{{.*}}> : tensor<4x4xi1>
// CHECK: xformer.attention %{{.+}}, %{{.+}}, %{{.+}}, mask = #xformer.mask<custom>, scale = 2.500000e-01 mask_tensor([[M]] : tensor<4x4xi1>) :
func.func @near_miss_triangle_one_wrong_entry(%x: tensor<1x4x48xf32>) -> tensor<1x2x4x8xf32> {
  %xq = xformer.slice %x [0, 0, 0] : tensor<1x4x48xf32> -> tensor<1x4x16xf32>
  %xk = xformer.slice %x [0, 0, 16] : tensor<1x4x48xf32> -> tensor<1x4x16xf32>
  %xv = xformer.slice %x [0, 0, 32] : tensor<1x4x48xf32> -> tensor<1x4x16xf32>
  %q = xformer.split_heads %xq, heads = 2 : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %k = xformer.split_heads %xk, heads = 2 : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %v = xformer.split_heads %xv, heads = 2 : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %kt = xformer.transpose %k, [0, 1, 3, 2] : tensor<1x2x4x8xf32> -> tensor<1x2x8x4xf32>
  %s = xformer.matmul %q, %kt : tensor<1x2x4x8xf32>, tensor<1x2x8x4xf32> -> tensor<1x2x4x4xf32>
  %c4 = arith.constant dense<4.0> : tensor<f32>
  %ss = xformer.div %s, %c4 : tensor<1x2x4x4xf32>, tensor<f32> -> tensor<1x2x4x4xf32>
  %keep = arith.constant dense<[[true, false, false, false], [true, true, false, false], [true, true, true, true], [true, true, true, true]]> : tensor<4x4xi1>
  %ninf = arith.constant dense<0xFF800000> : tensor<f32>
  %m = xformer.select %keep, %ss, %ninf : tensor<4x4xi1>, tensor<1x2x4x4xf32>, tensor<f32> -> tensor<1x2x4x4xf32>
  %p = xformer.softmax %m, axis = 3 : tensor<1x2x4x4xf32>
  %o = xformer.matmul %p, %v : tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x8xf32>
  return %o : tensor<1x2x4x8xf32>
}

// -----

// CHECK-LABEL: func.func @near_miss_mask_on_query_axis
// A mask on the query dimension (whole rows hidden) is no kind: custom.
// CHECK: [[ROWS:%.+]] = xformer.compare lt
// CHECK: xformer.attention %{{.+}}, %{{.+}}, %{{.+}}, mask = #xformer.mask<custom>, scale = 2.500000e-01 mask_tensor([[ROWS]] : tensor<4x1xi1>) :
func.func @near_miss_mask_on_query_axis(%x: tensor<1x4x48xf32>) -> tensor<1x2x4x8xf32> {
  %xq = xformer.slice %x [0, 0, 0] : tensor<1x4x48xf32> -> tensor<1x4x16xf32>
  %xk = xformer.slice %x [0, 0, 16] : tensor<1x4x48xf32> -> tensor<1x4x16xf32>
  %xv = xformer.slice %x [0, 0, 32] : tensor<1x4x48xf32> -> tensor<1x4x16xf32>
  %q = xformer.split_heads %xq, heads = 2 : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %k = xformer.split_heads %xk, heads = 2 : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %v = xformer.split_heads %xv, heads = 2 : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %kt = xformer.transpose %k, [0, 1, 3, 2] : tensor<1x2x4x8xf32> -> tensor<1x2x8x4xf32>
  %s = xformer.matmul %q, %kt : tensor<1x2x4x8xf32>, tensor<1x2x8x4xf32> -> tensor<1x2x4x4xf32>
  %c4 = arith.constant dense<4.0> : tensor<f32>
  %ss = xformer.div %s, %c4 : tensor<1x2x4x4xf32>, tensor<f32> -> tensor<1x2x4x4xf32>
  %pos = xformer.positions : tensor<4xi64>
  %kp = xformer.reshape %pos : tensor<4xi64> -> tensor<1x4xi64>
  %qp = xformer.reshape %pos : tensor<4xi64> -> tensor<4x1xi64>
  %two = arith.constant dense<2> : tensor<i64>
  %rows = xformer.compare lt, %qp, %two : tensor<4x1xi64>, tensor<i64> -> tensor<4x1xi1>
  %ninf = arith.constant dense<0xFF800000> : tensor<f32>
  %m = xformer.select %rows, %ss, %ninf : tensor<4x1xi1>, tensor<1x2x4x4xf32>, tensor<f32> -> tensor<1x2x4x4xf32>
  %p = xformer.softmax %m, axis = 3 : tensor<1x2x4x4xf32>
  %o = xformer.matmul %p, %v : tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x8xf32>
  return %o : tensor<1x2x4x8xf32>
}

// -----

// CHECK-LABEL: func.func @near_miss_anti_causal
// Keys at or after the query: the transpose of causal, not causal.
// CHECK: xformer.attention %{{.+}}, %{{.+}}, %{{.+}}, mask = #xformer.mask<custom>, scale = 2.500000e-01 mask_tensor(%{{.+}} : tensor<4x4xi1>) :
func.func @near_miss_anti_causal(%x: tensor<1x4x48xf32>) -> tensor<1x2x4x8xf32> {
  %xq = xformer.slice %x [0, 0, 0] : tensor<1x4x48xf32> -> tensor<1x4x16xf32>
  %xk = xformer.slice %x [0, 0, 16] : tensor<1x4x48xf32> -> tensor<1x4x16xf32>
  %xv = xformer.slice %x [0, 0, 32] : tensor<1x4x48xf32> -> tensor<1x4x16xf32>
  %q = xformer.split_heads %xq, heads = 2 : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %k = xformer.split_heads %xk, heads = 2 : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %v = xformer.split_heads %xv, heads = 2 : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %kt = xformer.transpose %k, [0, 1, 3, 2] : tensor<1x2x4x8xf32> -> tensor<1x2x8x4xf32>
  %s = xformer.matmul %q, %kt : tensor<1x2x4x8xf32>, tensor<1x2x8x4xf32> -> tensor<1x2x4x4xf32>
  %c4 = arith.constant dense<4.0> : tensor<f32>
  %ss = xformer.div %s, %c4 : tensor<1x2x4x4xf32>, tensor<f32> -> tensor<1x2x4x4xf32>
  %pos = xformer.positions : tensor<4xi64>
  %kp = xformer.reshape %pos : tensor<4xi64> -> tensor<1x4xi64>
  %qp = xformer.reshape %pos : tensor<4xi64> -> tensor<4x1xi64>
  %keep = xformer.compare ge, %kp, %qp : tensor<1x4xi64>, tensor<4x1xi64> -> tensor<4x4xi1>
  %ninf = arith.constant dense<0xFF800000> : tensor<f32>
  %m = xformer.select %keep, %ss, %ninf : tensor<4x4xi1>, tensor<1x2x4x4xf32>, tensor<f32> -> tensor<1x2x4x4xf32>
  %p = xformer.softmax %m, axis = 3 : tensor<1x2x4x4xf32>
  %o = xformer.matmul %p, %v : tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x8xf32>
  return %o : tensor<1x2x4x8xf32>
}

// -----

// CHECK-LABEL: func.func @near_miss_fill_does_not_hide
// Filling with -1 lowers scores but hides nothing.
// CHECK-NOT: xformer.attention
// CHECK: xformer.softmax
func.func @near_miss_fill_does_not_hide(%x: tensor<1x4x48xf32>) -> tensor<1x2x4x8xf32> {
  %xq = xformer.slice %x [0, 0, 0] : tensor<1x4x48xf32> -> tensor<1x4x16xf32>
  %xk = xformer.slice %x [0, 0, 16] : tensor<1x4x48xf32> -> tensor<1x4x16xf32>
  %xv = xformer.slice %x [0, 0, 32] : tensor<1x4x48xf32> -> tensor<1x4x16xf32>
  %q = xformer.split_heads %xq, heads = 2 : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %k = xformer.split_heads %xk, heads = 2 : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %v = xformer.split_heads %xv, heads = 2 : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %kt = xformer.transpose %k, [0, 1, 3, 2] : tensor<1x2x4x8xf32> -> tensor<1x2x8x4xf32>
  %s = xformer.matmul %q, %kt : tensor<1x2x4x8xf32>, tensor<1x2x8x4xf32> -> tensor<1x2x4x4xf32>
  %c4 = arith.constant dense<4.0> : tensor<f32>
  %ss = xformer.div %s, %c4 : tensor<1x2x4x4xf32>, tensor<f32> -> tensor<1x2x4x4xf32>
  %pos = xformer.positions : tensor<4xi64>
  %kp = xformer.reshape %pos : tensor<4xi64> -> tensor<1x4xi64>
  %qp = xformer.reshape %pos : tensor<4xi64> -> tensor<4x1xi64>
  %future = xformer.compare gt, %kp, %qp : tensor<1x4xi64>, tensor<4x1xi64> -> tensor<4x4xi1>
  %m = xformer.masked_fill %ss, %future, value = -1.0 : tensor<1x2x4x4xf32>, tensor<4x4xi1>
  %p = xformer.softmax %m, axis = 3 : tensor<1x2x4x4xf32>
  %o = xformer.matmul %p, %v : tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x8xf32>
  return %o : tensor<1x2x4x8xf32>
}

// -----

// CHECK-LABEL: func.func @near_miss_probabilities_reused
// Attention probabilities with another consumer stay unfused.
// CHECK-NOT: xformer.attention
func.func @near_miss_probabilities_reused(%x: tensor<1x4x48xf32>) -> tensor<1x2x4x8xf32> {
  %xq = xformer.slice %x [0, 0, 0] : tensor<1x4x48xf32> -> tensor<1x4x16xf32>
  %xk = xformer.slice %x [0, 0, 16] : tensor<1x4x48xf32> -> tensor<1x4x16xf32>
  %xv = xformer.slice %x [0, 0, 32] : tensor<1x4x48xf32> -> tensor<1x4x16xf32>
  %q = xformer.split_heads %xq, heads = 2 : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %k = xformer.split_heads %xk, heads = 2 : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %v = xformer.split_heads %xv, heads = 2 : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %kt = xformer.transpose %k, [0, 1, 3, 2] : tensor<1x2x4x8xf32> -> tensor<1x2x8x4xf32>
  %s = xformer.matmul %q, %kt : tensor<1x2x4x8xf32>, tensor<1x2x8x4xf32> -> tensor<1x2x4x4xf32>
  %c4 = arith.constant dense<4.0> : tensor<f32>
  %ss = xformer.div %s, %c4 : tensor<1x2x4x4xf32>, tensor<f32> -> tensor<1x2x4x4xf32>
  %p = xformer.softmax %ss, axis = 3 : tensor<1x2x4x4xf32>
  %o = xformer.matmul %p, %v : tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x8xf32>
  %o2 = xformer.matmul %p, %q : tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x8xf32>
  %r = xformer.add %o, %o2 : tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x8xf32>
  return %r : tensor<1x2x4x8xf32>
}

// -----

// CHECK-LABEL: func.func @near_miss_elementwise_scale
// A per-key factor is not a scale.
// CHECK-NOT: xformer.attention
func.func @near_miss_elementwise_scale(%x: tensor<1x4x48xf32>) -> tensor<1x2x4x8xf32> {
  %xq = xformer.slice %x [0, 0, 0] : tensor<1x4x48xf32> -> tensor<1x4x16xf32>
  %xk = xformer.slice %x [0, 0, 16] : tensor<1x4x48xf32> -> tensor<1x4x16xf32>
  %xv = xformer.slice %x [0, 0, 32] : tensor<1x4x48xf32> -> tensor<1x4x16xf32>
  %q = xformer.split_heads %xq, heads = 2 : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %k = xformer.split_heads %xk, heads = 2 : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %v = xformer.split_heads %xv, heads = 2 : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %kt = xformer.transpose %k, [0, 1, 3, 2] : tensor<1x2x4x8xf32> -> tensor<1x2x8x4xf32>
  %s = xformer.matmul %q, %kt : tensor<1x2x4x8xf32>, tensor<1x2x8x4xf32> -> tensor<1x2x4x4xf32>
  %c = arith.constant dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32>
  %ss = xformer.mul %s, %c : tensor<1x2x4x4xf32>, tensor<4xf32> -> tensor<1x2x4x4xf32>
  %p = xformer.softmax %ss, axis = 3 : tensor<1x2x4x4xf32>
  %o = xformer.matmul %p, %v : tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x8xf32>
  return %o : tensor<1x2x4x8xf32>
}

// -----

// CHECK-LABEL: func.func @near_miss_key_not_transposed
// A reshape is not a transpose: no fusion.
// CHECK-NOT: xformer.attention
func.func @near_miss_key_not_transposed(%x: tensor<1x4x48xf32>) -> tensor<1x2x4x8xf32> {
  %xq = xformer.slice %x [0, 0, 0] : tensor<1x4x48xf32> -> tensor<1x4x16xf32>
  %xk = xformer.slice %x [0, 0, 16] : tensor<1x4x48xf32> -> tensor<1x4x16xf32>
  %xv = xformer.slice %x [0, 0, 32] : tensor<1x4x48xf32> -> tensor<1x4x16xf32>
  %q = xformer.split_heads %xq, heads = 2 : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %k = xformer.split_heads %xk, heads = 2 : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %v = xformer.split_heads %xv, heads = 2 : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %kt = xformer.transpose %k, [0, 2, 1, 3] : tensor<1x2x4x8xf32> -> tensor<1x4x2x8xf32>
  %kr = xformer.reshape %kt : tensor<1x4x2x8xf32> -> tensor<1x2x8x4xf32>
  %s = xformer.matmul %q, %kr : tensor<1x2x4x8xf32>, tensor<1x2x8x4xf32> -> tensor<1x2x4x4xf32>
  %p = xformer.softmax %s, axis = 3 : tensor<1x2x4x4xf32>
  %o = xformer.matmul %p, %v : tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x8xf32>
  return %o : tensor<1x2x4x8xf32>
}

// -----

// CHECK-LABEL: func.func @near_miss_additive_bias_half
// -0.5 does not hide a key: a real bias, the mask stays bidirectional.
// CHECK: [[B:%.+]] = arith.constant
// CHECK: xformer.attention %{{.+}}, %{{.+}}, %{{.+}}, mask = #xformer.mask<bidirectional>, scale = 1.000000e+00 bias([[B]] : tensor<4x4xf32>) :
func.func @near_miss_additive_bias_half(%x: tensor<1x4x48xf32>) -> tensor<1x2x4x8xf32> {
  %xq = xformer.slice %x [0, 0, 0] : tensor<1x4x48xf32> -> tensor<1x4x16xf32>
  %xk = xformer.slice %x [0, 0, 16] : tensor<1x4x48xf32> -> tensor<1x4x16xf32>
  %xv = xformer.slice %x [0, 0, 32] : tensor<1x4x48xf32> -> tensor<1x4x16xf32>
  %q = xformer.split_heads %xq, heads = 2 : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %k = xformer.split_heads %xk, heads = 2 : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %v = xformer.split_heads %xv, heads = 2 : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %kt = xformer.transpose %k, [0, 1, 3, 2] : tensor<1x2x4x8xf32> -> tensor<1x2x8x4xf32>
  %s = xformer.matmul %q, %kt : tensor<1x2x4x8xf32>, tensor<1x2x8x4xf32> -> tensor<1x2x4x4xf32>
  %b = arith.constant dense<[[0.0, -0.5, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]]> : tensor<4x4xf32>
  %m = xformer.add %s, %b : tensor<1x2x4x4xf32>, tensor<4x4xf32> -> tensor<1x2x4x4xf32>
  %p = xformer.softmax %m, axis = 3 : tensor<1x2x4x4xf32>
  %o = xformer.matmul %p, %v : tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x8xf32>
  return %o : tensor<1x2x4x8xf32>
}
