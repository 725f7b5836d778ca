// The bf16 mode: linear weights become bf16 weights of the same name.
// RUN: xformer-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(xformer-narrow-weights))' | FileCheck %s
// RUN: not xformer-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(xformer-narrow-weights{dtype=f16}))' 2>&1 | FileCheck %s --check-prefix=DTYPE
// DTYPE: for the --dtype option: Cannot find option named 'f16'!

// Both layouts, with and without a bias; the bias stays f32, the f32 weight
// op goes away.
// CHECK-LABEL: func.func @mlp
// CHECK-DAG: %[[UP:.+]] = xformer.weight @up : tensor<32x16xbf16>
// CHECK-DAG: %[[B:.+]] = xformer.weight @up.bias : tensor<32xf32>
// CHECK-DAG: %[[DOWN:.+]] = xformer.weight @down : tensor<32x16xbf16>
// CHECK-NOT: xformer.weight @up : tensor<32x16xf32>
// CHECK-NOT: xformer.weight @down : tensor<32x16xf32>
// CHECK: xformer.linear %{{.+}}, %[[UP]], %[[B]] : tensor<2x4x16xf32>, tensor<32x16xbf16>, tensor<32xf32> -> tensor<2x4x32xf32>
// CHECK: xformer.linear %{{.+}}, %[[DOWN]] {weight_transposed} : tensor<2x4x32xf32>, tensor<32x16xbf16> -> tensor<2x4x16xf32>
func.func @mlp(%x: tensor<2x4x16xf32>) -> tensor<2x4x16xf32> {
  %up = xformer.weight @up : tensor<32x16xf32>
  %b = xformer.weight @up.bias : tensor<32xf32>
  %down = xformer.weight @down : tensor<32x16xf32>
  %h = xformer.linear %x, %up, %b : tensor<2x4x16xf32>, tensor<32x16xf32>, tensor<32xf32> -> tensor<2x4x32xf32>
  %g = xformer.gelu erf %h : tensor<2x4x32xf32>
  %y = xformer.linear %g, %down {weight_transposed} : tensor<2x4x32xf32>, tensor<32x16xf32> -> tensor<2x4x16xf32>
  return %y : tensor<2x4x16xf32>
}
xformer.weight_decl @up : tensor<32x16xf32>
xformer.weight_decl @up.bias : tensor<32xf32>
xformer.weight_decl @down : tensor<32x16xf32>

// -----

// A tied embedding: the lookup keeps the f32 table, the LM head reads one
// bf16 copy, shared by both of its readers.
// CHECK-LABEL: func.func @tied
// CHECK: %[[HEAD:.+]] = xformer.weight @wte : tensor<100x16xbf16>
// CHECK-NEXT: %[[TABLE:.+]] = xformer.weight @wte : tensor<100x16xf32>
// CHECK: xformer.embedding %[[TABLE]]
// CHECK: xformer.linear %{{.+}}, %[[HEAD]] : tensor<2x4x16xf32>, tensor<100x16xbf16>
// CHECK: xformer.linear %{{.+}}, %[[HEAD]] : tensor<2x4x16xf32>, tensor<100x16xbf16>
// CHECK-NOT: xformer.weight @
func.func @tied(%ids: tensor<2x4xi64>) -> (tensor<2x4x100xf32>, tensor<2x4x100xf32>) {
  %wte = xformer.weight @wte : tensor<100x16xf32>
  %e = xformer.embedding %wte, %ids : tensor<100x16xf32>, tensor<2x4xi64> -> tensor<2x4x16xf32>
  %l = xformer.linear %e, %wte : tensor<2x4x16xf32>, tensor<100x16xf32> -> tensor<2x4x100xf32>
  %wte2 = xformer.weight @wte : tensor<100x16xf32>
  %m = xformer.linear %e, %wte2 : tensor<2x4x16xf32>, tensor<100x16xf32> -> tensor<2x4x100xf32>
  return %l, %m : tensor<2x4x100xf32>, tensor<2x4x100xf32>
}
xformer.weight_decl @wte : tensor<100x16xf32>

// -----

// Left alone: a computed weight (a concatenation), a block argument, an f16
// linear and a weight that is already bf16.
// CHECK-LABEL: func.func @untouched
// CHECK: xformer.concat
// CHECK: xformer.linear %{{.+}}, %{{.+}} : tensor<2x8xf32>, tensor<16x8xf32> -> tensor<2x16xf32>
// CHECK: xformer.linear %{{.+}}, %{{.+}} : tensor<2x8xf32>, tensor<4x8xf32> -> tensor<2x4xf32>
// CHECK: xformer.weight @h : tensor<4x8xf16>
// CHECK: xformer.linear %{{.+}}, %{{.+}} : tensor<2x8xf16>, tensor<4x8xf16> -> tensor<2x4xf16>
// CHECK: xformer.weight @already : tensor<4x8xbf16>
func.func @untouched(%x: tensor<2x8xf32>, %xh: tensor<2x8xf16>, %arg: tensor<4x8xf32>)
    -> (tensor<2x16xf32>, tensor<2x4xf32>, tensor<2x4xf16>, tensor<2x4xf32>) {
  %a = xformer.weight @a : tensor<8x8xf32>
  %b = xformer.weight @b : tensor<8x8xf32>
  %ab = xformer.concat %a, %b, axis = 0 : tensor<8x8xf32>, tensor<8x8xf32> -> tensor<16x8xf32>
  %y = xformer.linear %x, %ab : tensor<2x8xf32>, tensor<16x8xf32> -> tensor<2x16xf32>
  %z = xformer.linear %x, %arg : tensor<2x8xf32>, tensor<4x8xf32> -> tensor<2x4xf32>
  %h = xformer.weight @h : tensor<4x8xf16>
  %u = xformer.linear %xh, %h : tensor<2x8xf16>, tensor<4x8xf16> -> tensor<2x4xf16>
  %c = xformer.weight @already : tensor<4x8xbf16>
  %v = xformer.linear %x, %c : tensor<2x8xf32>, tensor<4x8xbf16> -> tensor<2x4xf32>
  return %y, %z, %u, %v : tensor<2x16xf32>, tensor<2x4xf32>, tensor<2x4xf16>, tensor<2x4xf32>
}
xformer.weight_decl @a : tensor<8x8xf32>
xformer.weight_decl @b : tensor<8x8xf32>
xformer.weight_decl @h : tensor<4x8xf16>
xformer.weight_decl @already : tensor<4x8xbf16>
