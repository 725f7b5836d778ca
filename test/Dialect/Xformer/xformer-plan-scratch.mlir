// The scratch plan in the IR: an offset per result, first fit over value
// lifetimes, views where a result is a run of its operand's bytes.
// RUN: xformer-opt %s -split-input-file --xformer-plan-scratch | FileCheck %s

// A chain: each buffer is free again after its last reader, so the third
// result reuses the first's bytes; a result nobody reads still gets bytes
// (its kernel writes them) and frees them at once.
// CHECK-LABEL: func.func @reuse
// CHECK-SAME: xformer.scratch_bytes = 1024 : i64
// CHECK: xformer.relu %arg0 {xformer.scratch = array<i64: 0>}
// CHECK: xformer.tanh %{{.+}} {xformer.scratch = array<i64: 512>}
// CHECK: xformer.relu %{{.+}} {xformer.scratch = array<i64: 0>}
// CHECK: xformer.silu %{{.+}} {xformer.scratch = array<i64: 512>}
func.func @reuse(%x: tensor<2x64xf32>) -> tensor<2x64xf32> attributes {xformer.model = #xformer.model<encoder>} {
  %a = xformer.relu %x : tensor<2x64xf32>
  %b = xformer.tanh %a : tensor<2x64xf32>
  %c = xformer.relu %b : tensor<2x64xf32>
  %unused = xformer.silu %c : tensor<2x64xf32>
  return %c : tensor<2x64xf32>
}

// -----

// One position's fused projection: the key and value are views into it (at
// 64 and 96 floats), their heads split in place; the buffer lives while
// any view does. A slice of two rows is strided: a copy; a transpose that
// moves only the unit dimension is a view, one that reorders the others a
// copy.
// CHECK-LABEL: func.func @views
// CHECK: [[QKV:%.+]] = xformer.linear %arg0, %{{.+}} {xformer.scratch = array<i64: 0>}
// CHECK: xformer.slice [[QKV]] [0, 0, 64] {xformer.view = 256 : i64}
// CHECK: xformer.slice [[QKV]] [0, 0, 96] {xformer.view = 384 : i64}
// CHECK: xformer.split_heads %{{.+}}, heads = 2 {xformer.view = 0 : i64}
// CHECK: xformer.reshape %{{.+}} {xformer.view = 0 : i64}
// CHECK: [[Y:%.+]] = xformer.linear %arg1, %{{.+}} {xformer.scratch = array<i64: 512>}
// CHECK: xformer.slice [[Y]] [0, 0, 32] {xformer.scratch = array<i64: 1536>}
// CHECK: xformer.transpose %{{.+}}, [1, 0, 2] {xformer.view = 0 : i64}
// CHECK: xformer.transpose %{{.+}}, [2, 1, 0] {xformer.scratch = array<i64: 512>}
func.func @views(%x: tensor<1x1x64xf32>, %y: tensor<2x1x64xf32>) -> (tensor<1x2x1x16xf32>, tensor<1x32xf32>, tensor<1x2x32xf32>, tensor<32x1x2xf32>) attributes {xformer.model = #xformer.model<encoder>} {
  %w = xformer.weight @qkv : tensor<128x64xf32>
  %qkv = xformer.linear %x, %w : tensor<1x1x64xf32>, tensor<128x64xf32> -> tensor<1x1x128xf32>
  %k = xformer.slice %qkv [0, 0, 64] : tensor<1x1x128xf32> -> tensor<1x1x32xf32>
  %v = xformer.slice %qkv [0, 0, 96] : tensor<1x1x128xf32> -> tensor<1x1x32xf32>
  %kh = xformer.split_heads %k, heads = 2 : tensor<1x1x32xf32> -> tensor<1x2x1x16xf32>
  %vf = xformer.reshape %v : tensor<1x1x32xf32> -> tensor<1x32xf32>
  %yy = xformer.linear %y, %w : tensor<2x1x64xf32>, tensor<128x64xf32> -> tensor<2x1x128xf32>
  %ys = xformer.slice %yy [0, 0, 32] : tensor<2x1x128xf32> -> tensor<2x1x32xf32>
  %yt = xformer.transpose %ys, [1, 0, 2] : tensor<2x1x32xf32> -> tensor<1x2x32xf32>
  %yr = xformer.transpose %ys, [2, 1, 0] : tensor<2x1x32xf32> -> tensor<32x1x2xf32>
  return %kh, %vf, %yt, %yr : tensor<1x2x1x16xf32>, tensor<1x32xf32>, tensor<1x2x32xf32>, tensor<32x1x2xf32>
}
xformer.weight_decl @qkv : tensor<128x64xf32>

// -----

// Weights and constants take no scratch; positions sized at compile time.
// CHECK-LABEL: func.func @no_bytes
// CHECK: xformer.weight @e : tensor<10x8xf32>
// CHECK-NOT: xformer.scratch = {{.*}} xformer.weight
// CHECK: arith.constant dense<1> : tensor<4xi64>
// CHECK: xformer.positions size %{{.+}} {xformer.scratch = array<i64: 128>} : tensor<?xi64>
func.func @no_bytes(%ids: tensor<1x4xi64>) -> (tensor<1x4x8xf32>, tensor<?xi64>, tensor<4xi64>) attributes {xformer.model = #xformer.model<encoder>} {
  %e = xformer.weight @e : tensor<10x8xf32>
  %h = xformer.embedding %e, %ids : tensor<10x8xf32>, tensor<1x4xi64> -> tensor<1x4x8xf32>
  %c = arith.constant dense<1> : tensor<4xi64>
  %n = arith.constant 3 : index
  %p = xformer.positions size %n : tensor<?xi64>
  return %h, %p, %c : tensor<1x4x8xf32>, tensor<?xi64>, tensor<4xi64>
}
xformer.weight_decl @e : tensor<10x8xf32>
