// Activations and residual adds folded into the linear before them.
// RUN: xformer-opt %s -split-input-file --xformer-fuse-epilogues | FileCheck %s

// A GPT-2 MLP: gelu into the up projection, the residual into the down.
// CHECK-LABEL: func.func @mlp
// CHECK-SAME: (%[[X:.+]]: tensor<2x8x16xf32>)
// CHECK: %[[A:.+]] = xformer.linear %[[X]], %{{.+}}, %{{.+}} activation gelu_tanh : tensor<2x8x16xf32>, tensor<64x16xf32>, tensor<64xf32> -> tensor<2x8x64xf32>
// CHECK: %[[R:.+]] = xformer.linear %[[A]], %{{.+}} residual %[[X]] : tensor<2x8x64xf32>, tensor<16x64xf32> -> tensor<2x8x16xf32>
// CHECK-NOT: xformer.gelu
// CHECK-NOT: xformer.add
// CHECK: return %[[R]]
func.func @mlp(%x: tensor<2x8x16xf32>) -> tensor<2x8x16xf32> {
  %w1 = xformer.weight @w1 : tensor<64x16xf32>
  %b1 = xformer.weight @b1 : tensor<64xf32>
  %w2 = xformer.weight @w2 : tensor<16x64xf32>
  %h = xformer.linear %x, %w1, %b1 : tensor<2x8x16xf32>, tensor<64x16xf32>, tensor<64xf32> -> tensor<2x8x64xf32>
  %a = xformer.gelu tanh %h : tensor<2x8x64xf32>
  %o = xformer.linear %a, %w2 : tensor<2x8x64xf32>, tensor<16x64xf32> -> tensor<2x8x16xf32>
  %r = xformer.add %x, %o : tensor<2x8x16xf32>, tensor<2x8x16xf32> -> tensor<2x8x16xf32>
  return %r : tensor<2x8x16xf32>
}
xformer.weight_decl @w1 : tensor<64x16xf32>
xformer.weight_decl @b1 : tensor<64xf32>
xformer.weight_decl @w2 : tensor<16x64xf32>

// -----

// Activation and residual on one linear; every activation kind.
// CHECK-LABEL: func.func @kinds
// CHECK: xformer.linear %{{.+}}, %{{.+}} activation relu residual %{{.+}} :
// CHECK: xformer.linear %{{.+}}, %{{.+}} activation silu :
// CHECK: xformer.linear %{{.+}}, %{{.+}} activation tanh :
// CHECK: xformer.linear %{{.+}}, %{{.+}} activation gelu :
func.func @kinds(%x: tensor<4x16xf32>) -> (tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>) {
  %w = xformer.weight @w : tensor<16x16xf32>
  %l0 = xformer.linear %x, %w : tensor<4x16xf32>, tensor<16x16xf32> -> tensor<4x16xf32>
  %a0 = xformer.relu %l0 : tensor<4x16xf32>
  %r0 = xformer.add %a0, %x : tensor<4x16xf32>, tensor<4x16xf32> -> tensor<4x16xf32>
  %l1 = xformer.linear %x, %w : tensor<4x16xf32>, tensor<16x16xf32> -> tensor<4x16xf32>
  %a1 = xformer.silu %l1 : tensor<4x16xf32>
  %l2 = xformer.linear %x, %w : tensor<4x16xf32>, tensor<16x16xf32> -> tensor<4x16xf32>
  %a2 = xformer.tanh %l2 : tensor<4x16xf32>
  %l3 = xformer.linear %x, %w : tensor<4x16xf32>, tensor<16x16xf32> -> tensor<4x16xf32>
  %a3 = xformer.gelu erf %l3 : tensor<4x16xf32>
  return %r0, %a1, %a2, %a3 : tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>
}
xformer.weight_decl @w : tensor<16x16xf32>

// -----

// What does not fuse: the GEMM's output read twice, a broadcasting add, an
// add of the result to itself, a residual computed after the linear.
// CHECK-LABEL: func.func @unfused
// CHECK: %[[L0:.+]] = xformer.linear %{{.+}}, %{{.+}} : tensor<4x16xf32>
// CHECK: xformer.relu %[[L0]]
// CHECK: xformer.add %[[L0]]
// CHECK: %[[L1:.+]] = xformer.linear %{{.+}}, %{{.+}} : tensor<4x16xf32>
// CHECK: xformer.add %[[L1]], %{{.+}} : tensor<4x16xf32>, tensor<16xf32>
// CHECK: %[[L2:.+]] = xformer.linear %{{.+}}, %{{.+}} : tensor<4x16xf32>
// CHECK: xformer.add %[[L2]], %[[L2]]
// CHECK: %[[L3:.+]] = xformer.linear %{{.+}}, %{{.+}} : tensor<4x16xf32>
// CHECK: %[[LATE:.+]] = xformer.relu %{{.+}}
// CHECK: xformer.add %[[L3]], %[[LATE]]
func.func @unfused(%x: tensor<4x16xf32>, %y: tensor<4x16xf32>) -> (tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>) {
  %w = xformer.weight @w : tensor<16x16xf32>
  %b = xformer.weight @b : tensor<16xf32>
  %l0 = xformer.linear %x, %w : tensor<4x16xf32>, tensor<16x16xf32> -> tensor<4x16xf32>
  %a0 = xformer.relu %l0 : tensor<4x16xf32>
  %s0 = xformer.add %l0, %x : tensor<4x16xf32>, tensor<4x16xf32> -> tensor<4x16xf32>
  %l1 = xformer.linear %x, %w : tensor<4x16xf32>, tensor<16x16xf32> -> tensor<4x16xf32>
  %s1 = xformer.add %l1, %b : tensor<4x16xf32>, tensor<16xf32> -> tensor<4x16xf32>
  %l2 = xformer.linear %x, %w : tensor<4x16xf32>, tensor<16x16xf32> -> tensor<4x16xf32>
  %s2 = xformer.add %l2, %l2 : tensor<4x16xf32>, tensor<4x16xf32> -> tensor<4x16xf32>
  %l3 = xformer.linear %x, %w : tensor<4x16xf32>, tensor<16x16xf32> -> tensor<4x16xf32>
  %late = xformer.relu %y : tensor<4x16xf32>
  %s3 = xformer.add %l3, %late : tensor<4x16xf32>, tensor<4x16xf32> -> tensor<4x16xf32>
  return %a0, %s0, %s1, %s2, %s3 : tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>
}
xformer.weight_decl @w : tensor<16x16xf32>
xformer.weight_decl @b : tensor<16xf32>

// -----

// The epilogue round-trips, and the residual must have the result's type.
// CHECK-LABEL: func.func @roundtrip
// CHECK: xformer.linear %{{.+}}, %{{.+}}, %{{.+}} activation silu residual %{{.+}} : tensor<4x16xf32>, tensor<16x16xf32>, tensor<16xf32> -> tensor<4x16xf32>
func.func @roundtrip(%x: tensor<4x16xf32>, %w: tensor<16x16xf32>, %b: tensor<16xf32>) -> tensor<4x16xf32> {
  %y = xformer.linear %x, %w, %b activation silu residual %x : tensor<4x16xf32>, tensor<16x16xf32>, tensor<16xf32> -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}
