// Decode: one query at the last position; a chunk at an offset; a custom
// constant mask evaluated element by element.
// RUN: xformer-opt %s -split-input-file --xformer-print-masks="block-q=1 block-k=4" -o /dev/null | FileCheck %s

// CHECK-LABEL: // attention #0 in @decode
// CHECK-NEXT: sliding_window, window = 3, q=1 k=8       tiles 1x4
// CHECK-NEXT: 0 0 0 0 0 1 1 1                           . P
// CHECK-NEXT: tiles: 0 full, 1 partial, 1 empty
func.func @decode(%q: tensor<1x2x1x4xf32>, %k: tensor<1x2x8x4xf32>) -> tensor<1x2x1x4xf32> {
  %o = xformer.attention %q, %k, %k, mask = #xformer.mask<sliding_window, window = 3>, scale = 0.5 : tensor<1x2x1x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32> -> tensor<1x2x1x4xf32>
  return %o : tensor<1x2x1x4xf32>
}

// -----

// CHECK-LABEL: // attention #0 in @chunk
// CHECK-NEXT: causal, q=2 k=8       tiles 1x4
// CHECK-NEXT: 1 1 1 1 1 1 1 0       F P
// CHECK-NEXT: 1 1 1 1 1 1 1 1       F F
func.func @chunk(%q: tensor<1x2x2x4xf32>, %k: tensor<1x2x8x4xf32>) -> tensor<1x2x2x4xf32> {
  %o = xformer.attention %q, %k, %k, mask = #xformer.mask<causal>, scale = 0.5 : tensor<1x2x2x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32> -> tensor<1x2x2x4xf32>
  return %o : tensor<1x2x2x4xf32>
}

// -----

// CHECK-LABEL: // attention #0 in @custom
// CHECK-NEXT: custom, q=2 k=4       tiles 1x4
// CHECK-NEXT: 1 0 1 0               P
// CHECK-NEXT: 0 0 0 0               .
func.func @custom(%q: tensor<1x1x2x4xf32>, %k: tensor<1x1x4x4xf32>) -> tensor<1x1x2x4xf32> {
  %m = arith.constant dense<[[true, false, true, false], [false, false, false, false]]> : tensor<2x4xi1>
  %o = xformer.attention %q, %k, %k, mask = #xformer.mask<custom>, scale = 0.5 mask_tensor(%m : tensor<2x4xi1>) : tensor<1x1x2x4xf32>, tensor<1x1x4x4xf32>, tensor<1x1x4x4xf32> -> tensor<1x1x2x4xf32>
  return %o : tensor<1x1x2x4xf32>
}
