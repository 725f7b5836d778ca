// The canonicalization patterns of the xformer ops (XformerCanonicalize.cpp).
//
// gather_positions moves above a single-use linear without bias and above
// rms_norm, so the kept rows alone reach the LM head (a prefill's last
// token); a biased linear (a zero row would become the bias) or a linear
// whose result is used elsewhere keeps it below.
// RUN: xformer-opt %s -split-input-file -canonicalize | FileCheck %s

// CHECK-LABEL: func.func @lm_head
// CHECK: %[[G:.+]] = xformer.gather_positions %arg0, %arg1 : tensor<2x8x16xf32>, tensor<2xi64> -> tensor<2x16xf32>
// CHECK: %[[N:.+]] = xformer.rms_norm %[[G]], %{{.+}} epsilon = {{.+}} : tensor<2x16xf32>, tensor<16xf32>
// CHECK: %[[L:.+]] = xformer.linear %[[N]], %{{.+}} : tensor<2x16xf32>, tensor<100x16xf32> -> tensor<2x100xf32>
// CHECK: return %[[L]]
func.func @lm_head(%x: tensor<2x8x16xf32>, %last: tensor<2xi64>) -> tensor<2x100xf32> {
  %g = xformer.weight @norm : tensor<16xf32>
  %w = xformer.weight @head : tensor<100x16xf32>
  %n = xformer.rms_norm %x, %g epsilon = 1.0e-06 : tensor<2x8x16xf32>, tensor<16xf32>
  %l = xformer.linear %n, %w : tensor<2x8x16xf32>, tensor<100x16xf32> -> tensor<2x8x100xf32>
  %r = xformer.gather_positions %l, %last : tensor<2x8x100xf32>, tensor<2xi64> -> tensor<2x100xf32>
  return %r : tensor<2x100xf32>
}
xformer.weight_decl @norm : tensor<16xf32>
xformer.weight_decl @head : tensor<100x16xf32>

// -----

// CHECK-LABEL: func.func @biased
// CHECK: xformer.linear %arg0, %{{.+}}, %{{.+}} : tensor<2x8x16xf32>, tensor<100x16xf32>, tensor<100xf32> -> tensor<2x8x100xf32>
// CHECK: xformer.gather_positions %{{.+}}, %arg1 : tensor<2x8x100xf32>
func.func @biased(%x: tensor<2x8x16xf32>, %last: tensor<2xi64>) -> tensor<2x100xf32> {
  %w = xformer.weight @head : tensor<100x16xf32>
  %b = xformer.weight @bias : tensor<100xf32>
  %l = xformer.linear %x, %w, %b : tensor<2x8x16xf32>, tensor<100x16xf32>, tensor<100xf32> -> tensor<2x8x100xf32>
  %r = xformer.gather_positions %l, %last : tensor<2x8x100xf32>, tensor<2xi64> -> tensor<2x100xf32>
  return %r : tensor<2x100xf32>
}
xformer.weight_decl @head : tensor<100x16xf32>
xformer.weight_decl @bias : tensor<100xf32>

// -----

// CHECK-LABEL: func.func @shared
// CHECK: %[[L:.+]] = xformer.linear %arg0, %{{.+}} : tensor<2x8x16xf32>, tensor<100x16xf32> -> tensor<2x8x100xf32>
// CHECK: xformer.gather_positions %[[L]], %arg1 : tensor<2x8x100xf32>
func.func @shared(%x: tensor<2x8x16xf32>, %last: tensor<2xi64>) -> (tensor<2x100xf32>, tensor<2x8x100xf32>) {
  %w = xformer.weight @head : tensor<100x16xf32>
  %l = xformer.linear %x, %w : tensor<2x8x16xf32>, tensor<100x16xf32> -> tensor<2x8x100xf32>
  %r = xformer.gather_positions %l, %last : tensor<2x8x100xf32>, tensor<2xi64> -> tensor<2x100xf32>
  return %r, %l : tensor<2x100xf32>, tensor<2x8x100xf32>
}
xformer.weight_decl @head : tensor<100x16xf32>

// -----

// A linear with an epilogue keeps gather_positions below: a residual row
// is not zero outside the sequence.
// CHECK-LABEL: func.func @epilogue
// CHECK: xformer.linear %arg0, %{{.+}} activation silu residual %arg2 : tensor<2x8x16xf32>, tensor<16x16xf32> -> tensor<2x8x16xf32>
// CHECK: xformer.gather_positions %{{.+}}, %arg1 : tensor<2x8x16xf32>
func.func @epilogue(%x: tensor<2x8x16xf32>, %last: tensor<2xi64>, %res: tensor<2x8x16xf32>) -> tensor<2x16xf32> {
  %w = xformer.weight @w : tensor<16x16xf32>
  %l = xformer.linear %x, %w activation silu residual %res : tensor<2x8x16xf32>, tensor<16x16xf32> -> tensor<2x8x16xf32>
  %r = xformer.gather_positions %l, %last : tensor<2x8x16xf32>, tensor<2xi64> -> tensor<2x16xf32>
  return %r : tensor<2x16xf32>
}
xformer.weight_decl @w : tensor<16x16xf32>
