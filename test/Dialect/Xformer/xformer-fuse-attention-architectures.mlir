// Every mask kind, written as an exporter does, fuses to its kind in each of
// the three architectures, and the fused model passes --xformer-verify-masks.
// RUN: xformer-opt %s -split-input-file --xformer-fuse-attention --canonicalize --cse | FileCheck %s
// RUN: xformer-opt %s -split-input-file --xformer-fuse-attention --xformer-verify-masks --verify-diagnostics -o /dev/null

// CHECK-LABEL: func.func @encoder
// CHECK: xformer.attention %{{.+}}, %{{.+}}, %{{.+}}, mask = #xformer.mask<bidirectional>, scale = 1.000000e+00 :
// CHECK: xformer.attention %{{.+}}, %{{.+}}, %{{.+}}, mask = #xformer.mask<bidirectional>, scale = 1.000000e+00 kv_lengths(%arg1 : tensor<2xi64>) :
// CHECK: xformer.attention %{{.+}}, %{{.+}}, %{{.+}}, mask = #xformer.mask<bidirectional, documents>, scale = 1.000000e+00 segment_ids(%arg2 : tensor<2x4xi32>) :
// CHECK: xformer.attention %{{.+}}, %{{.+}}, %{{.+}}, mask = #xformer.mask<custom>, scale = 1.000000e+00 mask_tensor(%{{.+}} : tensor<4x4xi1>) :
// CHECK-NOT: xformer.softmax
func.func @encoder(%x: tensor<2x4x48xf32>, %lengths: tensor<2xi64>, %seg: tensor<2x4xi32>) -> (tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>)
    attributes {xformer.model = #xformer.model<encoder>} {
  %pos = xformer.positions : tensor<4xi64>
  %kp = xformer.reshape %pos : tensor<4xi64> -> tensor<1x4xi64>
  %qp = xformer.reshape %pos : tensor<4xi64> -> tensor<4x1xi64>
  %causal = xformer.compare le, %kp, %qp : tensor<1x4xi64>, tensor<4x1xi64> -> tensor<4x4xi1>
  %lens = xformer.reshape %lengths : tensor<2xi64> -> tensor<2x1xi64>
  %valid = xformer.compare lt, %kp, %lens : tensor<1x4xi64>, tensor<2x1xi64> -> tensor<2x4xi1>
  %valid4 = xformer.reshape %valid : tensor<2x4xi1> -> tensor<2x1x1x4xi1>
  %min = arith.constant dense<-3.40282347E+38> : tensor<f32>
  %two = arith.constant dense<2> : tensor<i64>
  %dist = xformer.sub %qp, %kp : tensor<4x1xi64>, tensor<1x4xi64> -> tensor<4x4xi64>
  %near = xformer.compare lt, %dist, %two : tensor<4x4xi64>, tensor<i64> -> tensor<4x4xi1>
  %window = xformer.and %causal, %near : tensor<4x4xi1>, tensor<4x4xi1> -> tensor<4x4xi1>
  %inprefix = xformer.compare lt, %kp, %two : tensor<1x4xi64>, tensor<i64> -> tensor<1x4xi1>
  %prefix = xformer.or %causal, %inprefix : tensor<4x4xi1>, tensor<1x4xi1> -> tensor<4x4xi1>
  %sq = xformer.reshape %seg : tensor<2x4xi32> -> tensor<2x4x1xi32>
  %sk = xformer.reshape %seg : tensor<2x4xi32> -> tensor<2x1x4xi32>
  %same = xformer.compare eq, %sq, %sk : tensor<2x4x1xi32>, tensor<2x1x4xi32> -> tensor<2x4x4xi1>
  %same4 = xformer.reshape %same : tensor<2x4x4xi1> -> tensor<2x1x4x4xi1>
  %causaldocs = xformer.and %causal, %same4 : tensor<4x4xi1>, tensor<2x1x4x4xi1> -> tensor<2x1x4x4xi1>
  %causalpad = xformer.and %causal, %valid4 : tensor<4x4xi1>, tensor<2x1x1x4xi1> -> tensor<2x1x4x4xi1>
  %odd = arith.constant dense<[[true, false, false, false], [true, true, false, false], [false, true, true, false], [true, false, true, true]]> : tensor<4x4xi1>
  %axq = xformer.slice %x [0, 0, 0] : tensor<2x4x48xf32> -> tensor<2x4x16xf32>
  %axk = xformer.slice %x [0, 0, 16] : tensor<2x4x48xf32> -> tensor<2x4x16xf32>
  %axv = xformer.slice %x [0, 0, 32] : tensor<2x4x48xf32> -> tensor<2x4x16xf32>
  %aq = xformer.split_heads %axq, heads = 2 : tensor<2x4x16xf32> -> tensor<2x2x4x8xf32>
  %ak = xformer.split_heads %axk, heads = 2 : tensor<2x4x16xf32> -> tensor<2x2x4x8xf32>
  %av = xformer.split_heads %axv, heads = 2 : tensor<2x4x16xf32> -> tensor<2x2x4x8xf32>
  %a0q = xformer.cast %aq : tensor<2x2x4x8xf32> -> tensor<2x2x4x8xf32>
  %a0k = xformer.cast %ak : tensor<2x2x4x8xf32> -> tensor<2x2x4x8xf32>
  %a0v = xformer.cast %av : tensor<2x2x4x8xf32> -> tensor<2x2x4x8xf32>
  %a0s = xformer.matmul %a0q, %a0k {transpose_rhs} : tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32> -> tensor<2x2x4x4xf32>
  %a0p = xformer.softmax %a0s, axis = 3 : tensor<2x2x4x4xf32>
  %a0o = xformer.matmul %a0p, %a0v : tensor<2x2x4x4xf32>, tensor<2x2x4x8xf32> -> tensor<2x2x4x8xf32>
  %a1q = xformer.cast %aq : tensor<2x2x4x8xf32> -> tensor<2x2x4x8xf32>
  %a1k = xformer.cast %ak : tensor<2x2x4x8xf32> -> tensor<2x2x4x8xf32>
  %a1v = xformer.cast %av : tensor<2x2x4x8xf32> -> tensor<2x2x4x8xf32>
  %a1s = xformer.matmul %a1q, %a1k {transpose_rhs} : tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32> -> tensor<2x2x4x4xf32>
  %a1m = xformer.select %valid4, %a1s, %min : tensor<2x1x1x4xi1>, tensor<2x2x4x4xf32>, tensor<f32> -> tensor<2x2x4x4xf32>
  %a1p = xformer.softmax %a1m, axis = 3 : tensor<2x2x4x4xf32>
  %a1o = xformer.matmul %a1p, %a1v : tensor<2x2x4x4xf32>, tensor<2x2x4x8xf32> -> tensor<2x2x4x8xf32>
  %a2q = xformer.cast %aq : tensor<2x2x4x8xf32> -> tensor<2x2x4x8xf32>
  %a2k = xformer.cast %ak : tensor<2x2x4x8xf32> -> tensor<2x2x4x8xf32>
  %a2v = xformer.cast %av : tensor<2x2x4x8xf32> -> tensor<2x2x4x8xf32>
  %a2s = xformer.matmul %a2q, %a2k {transpose_rhs} : tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32> -> tensor<2x2x4x4xf32>
  %a2m = xformer.select %same4, %a2s, %min : tensor<2x1x4x4xi1>, tensor<2x2x4x4xf32>, tensor<f32> -> tensor<2x2x4x4xf32>
  %a2p = xformer.softmax %a2m, axis = 3 : tensor<2x2x4x4xf32>
  %a2o = xformer.matmul %a2p, %a2v : tensor<2x2x4x4xf32>, tensor<2x2x4x8xf32> -> tensor<2x2x4x8xf32>
  %a3q = xformer.cast %aq : tensor<2x2x4x8xf32> -> tensor<2x2x4x8xf32>
  %a3k = xformer.cast %ak : tensor<2x2x4x8xf32> -> tensor<2x2x4x8xf32>
  %a3v = xformer.cast %av : tensor<2x2x4x8xf32> -> tensor<2x2x4x8xf32>
  %a3s = xformer.matmul %a3q, %a3k {transpose_rhs} : tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32> -> tensor<2x2x4x4xf32>
  %a3m = xformer.select %odd, %a3s, %min : tensor<4x4xi1>, tensor<2x2x4x4xf32>, tensor<f32> -> tensor<2x2x4x4xf32>
  %a3p = xformer.softmax %a3m, axis = 3 : tensor<2x2x4x4xf32>
  %a3o = xformer.matmul %a3p, %a3v : tensor<2x2x4x4xf32>, tensor<2x2x4x8xf32> -> tensor<2x2x4x8xf32>
  return %a0o, %a1o, %a2o, %a3o : tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>
}

// -----

// CHECK-LABEL: func.func @decoder
// CHECK: xformer.attention %{{.+}}, %{{.+}}, %{{.+}}, mask = #xformer.mask<causal>, scale = 1.000000e+00 :
// CHECK: xformer.attention %{{.+}}, %{{.+}}, %{{.+}}, mask = #xformer.mask<causal>, scale = 1.000000e+00 q_lengths(%arg1 : tensor<2xi64>) kv_lengths(%arg1 : tensor<2xi64>) :
// CHECK: xformer.attention %{{.+}}, %{{.+}}, %{{.+}}, mask = #xformer.mask<sliding_window, window = 2>, scale = 1.000000e+00 :
// CHECK: xformer.attention %{{.+}}, %{{.+}}, %{{.+}}, mask = #xformer.mask<prefix_lm, prefix = 2>, scale = 1.000000e+00 :
// CHECK: xformer.attention %{{.+}}, %{{.+}}, %{{.+}}, mask = #xformer.mask<causal, documents>, scale = 1.000000e+00 segment_ids(%arg2 : tensor<2x4xi32>) :
// CHECK-NOT: xformer.softmax
func.func @decoder(%x: tensor<2x4x48xf32>, %lengths: tensor<2xi64>, %seg: tensor<2x4xi32>) -> (tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>)
    attributes {xformer.model = #xformer.model<decoder>} {
  %pos = xformer.positions : tensor<4xi64>
  %kp = xformer.reshape %pos : tensor<4xi64> -> tensor<1x4xi64>
  %qp = xformer.reshape %pos : tensor<4xi64> -> tensor<4x1xi64>
  %causal = xformer.compare le, %kp, %qp : tensor<1x4xi64>, tensor<4x1xi64> -> tensor<4x4xi1>
  %lens = xformer.reshape %lengths : tensor<2xi64> -> tensor<2x1xi64>
  %valid = xformer.compare lt, %kp, %lens : tensor<1x4xi64>, tensor<2x1xi64> -> tensor<2x4xi1>
  %valid4 = xformer.reshape %valid : tensor<2x4xi1> -> tensor<2x1x1x4xi1>
  %min = arith.constant dense<-3.40282347E+38> : tensor<f32>
  %two = arith.constant dense<2> : tensor<i64>
  %dist = xformer.sub %qp, %kp : tensor<4x1xi64>, tensor<1x4xi64> -> tensor<4x4xi64>
  %near = xformer.compare lt, %dist, %two : tensor<4x4xi64>, tensor<i64> -> tensor<4x4xi1>
  %window = xformer.and %causal, %near : tensor<4x4xi1>, tensor<4x4xi1> -> tensor<4x4xi1>
  %inprefix = xformer.compare lt, %kp, %two : tensor<1x4xi64>, tensor<i64> -> tensor<1x4xi1>
  %prefix = xformer.or %causal, %inprefix : tensor<4x4xi1>, tensor<1x4xi1> -> tensor<4x4xi1>
  %sq = xformer.reshape %seg : tensor<2x4xi32> -> tensor<2x4x1xi32>
  %sk = xformer.reshape %seg : tensor<2x4xi32> -> tensor<2x1x4xi32>
  %same = xformer.compare eq, %sq, %sk : tensor<2x4x1xi32>, tensor<2x1x4xi32> -> tensor<2x4x4xi1>
  %same4 = xformer.reshape %same : tensor<2x4x4xi1> -> tensor<2x1x4x4xi1>
  %causaldocs = xformer.and %causal, %same4 : tensor<4x4xi1>, tensor<2x1x4x4xi1> -> tensor<2x1x4x4xi1>
  %causalpad = xformer.and %causal, %valid4 : tensor<4x4xi1>, tensor<2x1x1x4xi1> -> tensor<2x1x4x4xi1>
  %odd = arith.constant dense<[[true, false, false, false], [true, true, false, false], [false, true, true, false], [true, false, true, true]]> : tensor<4x4xi1>
  %axq = xformer.slice %x [0, 0, 0] : tensor<2x4x48xf32> -> tensor<2x4x16xf32>
  %axk = xformer.slice %x [0, 0, 16] : tensor<2x4x48xf32> -> tensor<2x4x16xf32>
  %axv = xformer.slice %x [0, 0, 32] : tensor<2x4x48xf32> -> tensor<2x4x16xf32>
  %aq = xformer.split_heads %axq, heads = 2 : tensor<2x4x16xf32> -> tensor<2x2x4x8xf32>
  %ak = xformer.split_heads %axk, heads = 2 : tensor<2x4x16xf32> -> tensor<2x2x4x8xf32>
  %av = xformer.split_heads %axv, heads = 2 : tensor<2x4x16xf32> -> tensor<2x2x4x8xf32>
  %a0q = xformer.cast %aq : tensor<2x2x4x8xf32> -> tensor<2x2x4x8xf32>
  %a0k = xformer.cast %ak : tensor<2x2x4x8xf32> -> tensor<2x2x4x8xf32>
  %a0v = xformer.cast %av : tensor<2x2x4x8xf32> -> tensor<2x2x4x8xf32>
  %a0s = xformer.matmul %a0q, %a0k {transpose_rhs} : tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32> -> tensor<2x2x4x4xf32>
  %a0m = xformer.select %causal, %a0s, %min : tensor<4x4xi1>, tensor<2x2x4x4xf32>, tensor<f32> -> tensor<2x2x4x4xf32>
  %a0p = xformer.softmax %a0m, axis = 3 : tensor<2x2x4x4xf32>
  %a0o = xformer.matmul %a0p, %a0v : tensor<2x2x4x4xf32>, tensor<2x2x4x8xf32> -> tensor<2x2x4x8xf32>
  %a1q = xformer.cast %aq : tensor<2x2x4x8xf32> -> tensor<2x2x4x8xf32>
  %a1k = xformer.cast %ak : tensor<2x2x4x8xf32> -> tensor<2x2x4x8xf32>
  %a1v = xformer.cast %av : tensor<2x2x4x8xf32> -> tensor<2x2x4x8xf32>
  %a1s = xformer.matmul %a1q, %a1k {transpose_rhs} : tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32> -> tensor<2x2x4x4xf32>
  %a1m = xformer.select %causalpad, %a1s, %min : tensor<2x1x4x4xi1>, tensor<2x2x4x4xf32>, tensor<f32> -> tensor<2x2x4x4xf32>
  %a1p = xformer.softmax %a1m, axis = 3 : tensor<2x2x4x4xf32>
  %a1o = xformer.matmul %a1p, %a1v : tensor<2x2x4x4xf32>, tensor<2x2x4x8xf32> -> tensor<2x2x4x8xf32>
  %a2q = xformer.cast %aq : tensor<2x2x4x8xf32> -> tensor<2x2x4x8xf32>
  %a2k = xformer.cast %ak : tensor<2x2x4x8xf32> -> tensor<2x2x4x8xf32>
  %a2v = xformer.cast %av : tensor<2x2x4x8xf32> -> tensor<2x2x4x8xf32>
  %a2s = xformer.matmul %a2q, %a2k {transpose_rhs} : tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32> -> tensor<2x2x4x4xf32>
  %a2m = xformer.select %window, %a2s, %min : tensor<4x4xi1>, tensor<2x2x4x4xf32>, tensor<f32> -> tensor<2x2x4x4xf32>
  %a2p = xformer.softmax %a2m, axis = 3 : tensor<2x2x4x4xf32>
  %a2o = xformer.matmul %a2p, %a2v : tensor<2x2x4x4xf32>, tensor<2x2x4x8xf32> -> tensor<2x2x4x8xf32>
  %a3q = xformer.cast %aq : tensor<2x2x4x8xf32> -> tensor<2x2x4x8xf32>
  %a3k = xformer.cast %ak : tensor<2x2x4x8xf32> -> tensor<2x2x4x8xf32>
  %a3v = xformer.cast %av : tensor<2x2x4x8xf32> -> tensor<2x2x4x8xf32>
  %a3s = xformer.matmul %a3q, %a3k {transpose_rhs} : tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32> -> tensor<2x2x4x4xf32>
  %a3m = xformer.select %prefix, %a3s, %min : tensor<4x4xi1>, tensor<2x2x4x4xf32>, tensor<f32> -> tensor<2x2x4x4xf32>
  %a3p = xformer.softmax %a3m, axis = 3 : tensor<2x2x4x4xf32>
  %a3o = xformer.matmul %a3p, %a3v : tensor<2x2x4x4xf32>, tensor<2x2x4x8xf32> -> tensor<2x2x4x8xf32>
  %a4q = xformer.cast %aq : tensor<2x2x4x8xf32> -> tensor<2x2x4x8xf32>
  %a4k = xformer.cast %ak : tensor<2x2x4x8xf32> -> tensor<2x2x4x8xf32>
  %a4v = xformer.cast %av : tensor<2x2x4x8xf32> -> tensor<2x2x4x8xf32>
  %a4s = xformer.matmul %a4q, %a4k {transpose_rhs} : tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32> -> tensor<2x2x4x4xf32>
  %a4m = xformer.select %causaldocs, %a4s, %min : tensor<2x1x4x4xi1>, tensor<2x2x4x4xf32>, tensor<f32> -> tensor<2x2x4x4xf32>
  %a4p = xformer.softmax %a4m, axis = 3 : tensor<2x2x4x4xf32>
  %a4o = xformer.matmul %a4p, %a4v : tensor<2x2x4x4xf32>, tensor<2x2x4x8xf32> -> tensor<2x2x4x8xf32>
  return %a0o, %a1o, %a2o, %a3o, %a4o : tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>
}

// -----

// CHECK-LABEL: func.func @encoder_decoder
// CHECK: xformer.attention %{{.+}}, %{{.+}}, %{{.+}}, mask = #xformer.mask<causal>, scale = 1.000000e+00 :
// CHECK: xformer.attention %{{.+}}, %{{.+}}, %{{.+}}, mask = #xformer.mask<prefix_lm, prefix = 2>, scale = 1.000000e+00 :
// CHECK: xformer.attention %{{.+}}, %{{.+}}, %{{.+}}, mask = #xformer.mask<sliding_window, window = 2>, scale = 1.000000e+00 :
// CHECK: mask = #xformer.mask<bidirectional>, scale = 1.000000e+00 kv_lengths(%arg1 : tensor<2xi64>)
// CHECK: mask = #xformer.mask<cross>, scale = 1.000000e+00 kv_lengths(%arg1 : tensor<2xi64>)
// CHECK-NOT: xformer.softmax
func.func @encoder_decoder(%x: tensor<2x4x48xf32>, %lengths: tensor<2xi64>, %seg: tensor<2x4xi32>, %src: tensor<2x4x48xf32>) -> (tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>)
    attributes {xformer.model = #xformer.model<encoder_decoder>} {
  %pos = xformer.positions : tensor<4xi64>
  %kp = xformer.reshape %pos : tensor<4xi64> -> tensor<1x4xi64>
  %qp = xformer.reshape %pos : tensor<4xi64> -> tensor<4x1xi64>
  %causal = xformer.compare le, %kp, %qp : tensor<1x4xi64>, tensor<4x1xi64> -> tensor<4x4xi1>
  %lens = xformer.reshape %lengths : tensor<2xi64> -> tensor<2x1xi64>
  %valid = xformer.compare lt, %kp, %lens : tensor<1x4xi64>, tensor<2x1xi64> -> tensor<2x4xi1>
  %valid4 = xformer.reshape %valid : tensor<2x4xi1> -> tensor<2x1x1x4xi1>
  %min = arith.constant dense<-3.40282347E+38> : tensor<f32>
  %two = arith.constant dense<2> : tensor<i64>
  %dist = xformer.sub %qp, %kp : tensor<4x1xi64>, tensor<1x4xi64> -> tensor<4x4xi64>
  %near = xformer.compare lt, %dist, %two : tensor<4x4xi64>, tensor<i64> -> tensor<4x4xi1>
  %window = xformer.and %causal, %near : tensor<4x4xi1>, tensor<4x4xi1> -> tensor<4x4xi1>
  %inprefix = xformer.compare lt, %kp, %two : tensor<1x4xi64>, tensor<i64> -> tensor<1x4xi1>
  %prefix = xformer.or %causal, %inprefix : tensor<4x4xi1>, tensor<1x4xi1> -> tensor<4x4xi1>
  %sq = xformer.reshape %seg : tensor<2x4xi32> -> tensor<2x4x1xi32>
  %sk = xformer.reshape %seg : tensor<2x4xi32> -> tensor<2x1x4xi32>
  %same = xformer.compare eq, %sq, %sk : tensor<2x4x1xi32>, tensor<2x1x4xi32> -> tensor<2x4x4xi1>
  %same4 = xformer.reshape %same : tensor<2x4x4xi1> -> tensor<2x1x4x4xi1>
  %causaldocs = xformer.and %causal, %same4 : tensor<4x4xi1>, tensor<2x1x4x4xi1> -> tensor<2x1x4x4xi1>
  %causalpad = xformer.and %causal, %valid4 : tensor<4x4xi1>, tensor<2x1x1x4xi1> -> tensor<2x1x4x4xi1>
  %odd = arith.constant dense<[[true, false, false, false], [true, true, false, false], [false, true, true, false], [true, false, true, true]]> : tensor<4x4xi1>
  %axq = xformer.slice %x [0, 0, 0] : tensor<2x4x48xf32> -> tensor<2x4x16xf32>
  %axk = xformer.slice %x [0, 0, 16] : tensor<2x4x48xf32> -> tensor<2x4x16xf32>
  %axv = xformer.slice %x [0, 0, 32] : tensor<2x4x48xf32> -> tensor<2x4x16xf32>
  %aq = xformer.split_heads %axq, heads = 2 : tensor<2x4x16xf32> -> tensor<2x2x4x8xf32>
  %ak = xformer.split_heads %axk, heads = 2 : tensor<2x4x16xf32> -> tensor<2x2x4x8xf32>
  %av = xformer.split_heads %axv, heads = 2 : tensor<2x4x16xf32> -> tensor<2x2x4x8xf32>
  %a0q = xformer.cast %aq : tensor<2x2x4x8xf32> -> tensor<2x2x4x8xf32>
  %a0k = xformer.cast %ak : tensor<2x2x4x8xf32> -> tensor<2x2x4x8xf32>
  %a0v = xformer.cast %av : tensor<2x2x4x8xf32> -> tensor<2x2x4x8xf32>
  %a0s = xformer.matmul %a0q, %a0k {transpose_rhs} : tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32> -> tensor<2x2x4x4xf32>
  %a0m = xformer.select %causal, %a0s, %min : tensor<4x4xi1>, tensor<2x2x4x4xf32>, tensor<f32> -> tensor<2x2x4x4xf32>
  %a0p = xformer.softmax %a0m, axis = 3 : tensor<2x2x4x4xf32>
  %a0o = xformer.matmul %a0p, %a0v : tensor<2x2x4x4xf32>, tensor<2x2x4x8xf32> -> tensor<2x2x4x8xf32>
  %a1q = xformer.cast %aq : tensor<2x2x4x8xf32> -> tensor<2x2x4x8xf32>
  %a1k = xformer.cast %ak : tensor<2x2x4x8xf32> -> tensor<2x2x4x8xf32>
  %a1v = xformer.cast %av : tensor<2x2x4x8xf32> -> tensor<2x2x4x8xf32>
  %a1s = xformer.matmul %a1q, %a1k {transpose_rhs} : tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32> -> tensor<2x2x4x4xf32>
  %a1m = xformer.select %prefix, %a1s, %min : tensor<4x4xi1>, tensor<2x2x4x4xf32>, tensor<f32> -> tensor<2x2x4x4xf32>
  %a1p = xformer.softmax %a1m, axis = 3 : tensor<2x2x4x4xf32>
  %a1o = xformer.matmul %a1p, %a1v : tensor<2x2x4x4xf32>, tensor<2x2x4x8xf32> -> tensor<2x2x4x8xf32>
  %a2q = xformer.cast %aq : tensor<2x2x4x8xf32> -> tensor<2x2x4x8xf32>
  %a2k = xformer.cast %ak : tensor<2x2x4x8xf32> -> tensor<2x2x4x8xf32>
  %a2v = xformer.cast %av : tensor<2x2x4x8xf32> -> tensor<2x2x4x8xf32>
  %a2s = xformer.matmul %a2q, %a2k {transpose_rhs} : tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32> -> tensor<2x2x4x4xf32>
  %a2m = xformer.select %window, %a2s, %min : tensor<4x4xi1>, tensor<2x2x4x4xf32>, tensor<f32> -> tensor<2x2x4x4xf32>
  %a2p = xformer.softmax %a2m, axis = 3 : tensor<2x2x4x4xf32>
  %a2o = xformer.matmul %a2p, %a2v : tensor<2x2x4x4xf32>, tensor<2x2x4x8xf32> -> tensor<2x2x4x8xf32>
  %exq = xformer.slice %src [0, 0, 0] : tensor<2x4x48xf32> -> tensor<2x4x16xf32>
  %exk = xformer.slice %src [0, 0, 16] : tensor<2x4x48xf32> -> tensor<2x4x16xf32>
  %exv = xformer.slice %src [0, 0, 32] : tensor<2x4x48xf32> -> tensor<2x4x16xf32>
  %eq = xformer.split_heads %exq, heads = 2 : tensor<2x4x16xf32> -> tensor<2x2x4x8xf32>
  %ek = xformer.split_heads %exk, heads = 2 : tensor<2x4x16xf32> -> tensor<2x2x4x8xf32>
  %ev = xformer.split_heads %exv, heads = 2 : tensor<2x4x16xf32> -> tensor<2x2x4x8xf32>
  %es = xformer.matmul %eq, %ek {transpose_rhs} : tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32> -> tensor<2x2x4x4xf32>
  %em = xformer.select %valid4, %es, %min : tensor<2x1x1x4xi1>, tensor<2x2x4x4xf32>, tensor<f32> -> tensor<2x2x4x4xf32>
  %ep = xformer.softmax %em, axis = 3 : tensor<2x2x4x4xf32>
  %eo = xformer.matmul %ep, %ev : tensor<2x2x4x4xf32>, tensor<2x2x4x8xf32> -> tensor<2x2x4x8xf32>
  %mem = xformer.merge_heads %eo : tensor<2x2x4x8xf32> -> tensor<2x4x16xf32>
  %ck = xformer.split_heads %mem, heads = 2 : tensor<2x4x16xf32> -> tensor<2x2x4x8xf32>
  %cq = xformer.cast %aq : tensor<2x2x4x8xf32> -> tensor<2x2x4x8xf32>
  %cs = xformer.matmul %cq, %ck {transpose_rhs} : tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32> -> tensor<2x2x4x4xf32>
  %cm = xformer.select %valid4, %cs, %min : tensor<2x1x1x4xi1>, tensor<2x2x4x4xf32>, tensor<f32> -> tensor<2x2x4x4xf32>
  %cp = xformer.softmax %cm, axis = 3 : tensor<2x2x4x4xf32>
  %co = xformer.matmul %cp, %ck : tensor<2x2x4x4xf32>, tensor<2x2x4x8xf32> -> tensor<2x2x4x8xf32>
  return %a0o, %a1o, %a2o, %eo, %co : tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>
}
