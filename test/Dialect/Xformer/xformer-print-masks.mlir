// The picture a person can check: each attention's mask and its tiles.
// RUN: xformer-opt %s -split-input-file --xformer-print-masks="q-len=6 kv-len=6 block-q=2 block-k=2" -o /dev/null | FileCheck %s

// CHECK-LABEL: // attention #0 in @causal
// CHECK-NEXT: causal, q=6 k=6       tiles 2x2
// CHECK-NEXT: 1 0 0 0 0 0           P . .
// CHECK-NEXT: 1 1 0 0 0 0           F P .
// CHECK-NEXT: 1 1 1 0 0 0           F F P
// CHECK-NEXT: 1 1 1 1 0 0
// CHECK-NEXT: 1 1 1 1 1 0
// CHECK-NEXT: 1 1 1 1 1 1
// CHECK-NEXT: tiles: 3 full, 3 partial, 3 empty
func.func @causal(%q: tensor<1x1x6x4xf32>) -> tensor<1x1x6x4xf32> {
  %o = xformer.attention %q, %q, %q, mask = #xformer.mask<causal>, scale = 0.5 : tensor<1x1x6x4xf32>, tensor<1x1x6x4xf32>, tensor<1x1x6x4xf32> -> tensor<1x1x6x4xf32>
  return %o : tensor<1x1x6x4xf32>
}

// -----

// CHECK-LABEL: // attention #0 in @window
// CHECK-NEXT: sliding_window, window = 2, q=6 k=6       tiles 2x2
// CHECK-NEXT: 1 0 0 0 0 0                               P . .
// CHECK-NEXT: 1 1 0 0 0 0                               P P .
// CHECK-NEXT: 0 1 1 0 0 0                               . P P
// CHECK-NEXT: 0 0 1 1 0 0
// CHECK-NEXT: 0 0 0 1 1 0
// CHECK-NEXT: 0 0 0 0 1 1
// CHECK-NEXT: tiles: 0 full, 5 partial, 4 empty
func.func @window(%q: tensor<1x1x6x4xf32>) -> tensor<1x1x6x4xf32> {
  %o = xformer.attention %q, %q, %q, mask = #xformer.mask<sliding_window, window = 2>, scale = 0.5 : tensor<1x1x6x4xf32>, tensor<1x1x6x4xf32>, tensor<1x1x6x4xf32> -> tensor<1x1x6x4xf32>
  return %o : tensor<1x1x6x4xf32>
}

// -----

// CHECK-LABEL: // attention #0 in @prefix
// CHECK-NEXT: prefix_lm, prefix = 3, q=6 k=6       tiles 2x2
// CHECK-NEXT: 1 1 1 0 0 0                          F P .
// CHECK-NEXT: 1 1 1 0 0 0                          F P .
// CHECK-NEXT: 1 1 1 0 0 0                          F F P
// CHECK-NEXT: 1 1 1 1 0 0
// CHECK-NEXT: 1 1 1 1 1 0
// CHECK-NEXT: 1 1 1 1 1 1
// CHECK-NEXT: tiles: 4 full, 3 partial, 2 empty
func.func @prefix(%q: tensor<1x1x6x4xf32>) -> tensor<1x1x6x4xf32> {
  %o = xformer.attention %q, %q, %q, mask = #xformer.mask<prefix_lm, prefix = 3>, scale = 0.5 : tensor<1x1x6x4xf32>, tensor<1x1x6x4xf32>, tensor<1x1x6x4xf32> -> tensor<1x1x6x4xf32>
  return %o : tensor<1x1x6x4xf32>
}

// -----

// CHECK-LABEL: // attention #0 in @bidirectional
// CHECK-NEXT: bidirectional, q=6 k=6       tiles 2x2
// CHECK-NEXT: 1 1 1 1 1 1                  F F F
// CHECK: tiles: 9 full, 0 partial, 0 empty
func.func @bidirectional(%q: tensor<1x1x6x4xf32>) -> tensor<1x1x6x4xf32> {
  %o = xformer.attention %q, %q, %q, mask = #xformer.mask<bidirectional>, scale = 0.5 : tensor<1x1x6x4xf32>, tensor<1x1x6x4xf32>, tensor<1x1x6x4xf32> -> tensor<1x1x6x4xf32>
  return %o : tensor<1x1x6x4xf32>
}

// -----

// CHECK-LABEL: // attention #0 in @documents
// CHECK-NEXT: causal, documents [0, 3) [3, 6), q=6 k=6       tiles 2x2
// CHECK-NEXT: 1 0 0 0 0 0                                    P . .
// CHECK-NEXT: 1 1 0 0 0 0                                    P P .
// CHECK-NEXT: 1 1 1 0 0 0                                    . P P
// CHECK-NEXT: 0 0 0 1 0 0
// CHECK-NEXT: 0 0 0 1 1 0
// CHECK-NEXT: 0 0 0 1 1 1
func.func @documents(%q: tensor<1x1x6x4xf32>, %seg: tensor<1x6xi32>) -> tensor<1x1x6x4xf32> {
  %o = xformer.attention %q, %q, %q, mask = #xformer.mask<causal, documents>, scale = 0.5 segment_ids(%seg : tensor<1x6xi32>) : tensor<1x1x6x4xf32>, tensor<1x1x6x4xf32>, tensor<1x1x6x4xf32> -> tensor<1x1x6x4xf32>
  return %o : tensor<1x1x6x4xf32>
}
