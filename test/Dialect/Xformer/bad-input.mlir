// Broken files exit non-zero with a located diagnostic; no crash, no hang.
// RUN: not xformer-opt %S/Inputs/truncated.mlir 2>&1 | FileCheck %s --check-prefix=TRUNC
// TRUNC: truncated.mlir:3:{{[0-9]+}}: error:
// TRUNC-NOT: Stack dump
// RUN: not xformer-opt %S/Inputs/binary-garbage.mlir 2>&1 | FileCheck %s --check-prefix=GARBAGE
// GARBAGE: binary-garbage.mlir:1:{{[0-9]+}}: error:
// GARBAGE-NOT: Stack dump
// RUN: not xformer-opt %S/Inputs/does-not-exist.mlir 2>&1 | FileCheck %s --check-prefix=MISSING
// MISSING: cannot open input file
// A verifier failure exits non-zero too.
// RUN: not xformer-opt %s 2>&1 | FileCheck %s --check-prefix=VERIFY
// VERIFY: bad-input.mlir:[[@LINE+2]]:8: error: 'xformer.split_heads' op hidden size 64 is not divisible by 5 heads
func.func @f(%x: tensor<2x8x64xf32>) -> tensor<2x5x8x12xf32> {
  %h = xformer.split_heads %x, heads = 5 : tensor<2x8x64xf32> -> tensor<2x5x8x12xf32>
  return %h : tensor<2x5x8x12xf32>
}
