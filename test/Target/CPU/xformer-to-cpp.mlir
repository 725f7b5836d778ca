// The emitters as registered translations: the pipeline's output through
// xformer-translate is byte for byte what xformer-compile prints.
// RUN: xformer-opt %S/../../Examples/llama-unfused.mlir --xformer-cpu-pipeline=max-seq-len=64 --mlir-print-debuginfo | xformer-translate --xformer-to-cpp -o %t.translate.cpp
// RUN: xformer-compile %S/../../Examples/llama-unfused.mlir --max-seq-len=64 --emit=source -o %t.compile.cpp
// RUN: diff %t.translate.cpp %t.compile.cpp
// RUN: xformer-opt %S/../../Examples/llama-unfused.mlir --xformer-cuda-pipeline=max-seq-len=64 --mlir-print-debuginfo | xformer-translate --xformer-to-cuda -o %t.translate.cu
// RUN: xformer-compile %S/../../Examples/llama-unfused.mlir --target=cuda --max-seq-len=64 --emit=source -o %t.compile.cu
// RUN: diff %t.translate.cu %t.compile.cu
//
// A scratch plan in the IR is checked before anything is printed.
// RUN: xformer-translate --xformer-to-cpp %s -split-input-file -verify-diagnostics

func.func @overlap(%x: tensor<2x64xf32>) -> tensor<2x64xf32> attributes {xformer.model = #xformer.model<encoder>, xformer.scratch_bytes = 1024 : i64} {
  %a = xformer.relu %x {xformer.scratch = array<i64: 0>} : tensor<2x64xf32>
  // expected-error @+1 {{scratch at byte 0 overlaps a tensor still in use}}
  %b = xformer.tanh %a {xformer.scratch = array<i64: 0>} : tensor<2x64xf32>
  %c = xformer.add %a, %b {xformer.scratch = array<i64: 512>} : tensor<2x64xf32>, tensor<2x64xf32> -> tensor<2x64xf32>
  return %c : tensor<2x64xf32>
}

// -----

func.func @outside(%x: tensor<2x64xf32>) -> tensor<2x64xf32> attributes {xformer.model = #xformer.model<encoder>, xformer.scratch_bytes = 512 : i64} {
  // expected-error @+1 {{scratch at byte 512 (512 bytes) is not a 64-byte aligned place in the 512-byte scratch}}
  %a = xformer.relu %x {xformer.scratch = array<i64: 512>} : tensor<2x64xf32>
  return %a : tensor<2x64xf32>
}

// -----

func.func @unaligned(%x: tensor<2x64xf32>) -> tensor<2x64xf32> attributes {xformer.model = #xformer.model<encoder>, xformer.scratch_bytes = 1024 : i64} {
  // expected-error @+1 {{scratch at byte 8 (512 bytes) is not a 64-byte aligned place in the 1024-byte scratch}}
  %a = xformer.relu %x {xformer.scratch = array<i64: 8>} : tensor<2x64xf32>
  return %a : tensor<2x64xf32>
}

// -----

func.func @missing(%x: tensor<2x64xf32>) -> tensor<2x64xf32> attributes {xformer.model = #xformer.model<encoder>, xformer.scratch_bytes = 1024 : i64} {
  // expected-error @+1 {{has no scratch for its result}}
  %a = xformer.relu %x : tensor<2x64xf32>
  return %a : tensor<2x64xf32>
}

// -----

func.func @not_a_view(%x: tensor<2x64xf32>) -> tensor<64x2xf32> attributes {xformer.model = #xformer.model<encoder>, xformer.scratch_bytes = 1024 : i64} {
  // expected-error @+1 {{is not a view at byte 0 of its operand}}
  %t = xformer.transpose %x, [1, 0] {xformer.view = 0 : i64} : tensor<2x64xf32> -> tensor<64x2xf32>
  return %t : tensor<64x2xf32>
}

// -----

// Sizes resolved at compile time are bounded like static ones.
func.func @huge_positions(%x: tensor<1x4xi64>) -> tensor<?xi64> attributes {xformer.model = #xformer.model<encoder>} {
  %n = arith.constant 9223372036854775807 : index
  // expected-error @+1 {{has a result of shape [9223372036854775807] (its sizes resolved) that is negative or larger than 2^48 bytes}}
  %p = xformer.positions size %n : tensor<?xi64>
  return %p : tensor<?xi64>
}

// -----

func.func @negative_positions(%x: tensor<1x4xi64>) -> tensor<?xi64> attributes {xformer.model = #xformer.model<encoder>} {
  %n = arith.constant -3 : index
  // expected-error @+1 {{has a result of shape [-3] (its sizes resolved) that is negative or larger than 2^48 bytes}}
  %p = xformer.positions size %n : tensor<?xi64>
  return %p : tensor<?xi64>
}
