// What xformer-compile refuses for the CPU target, with a location and a
// non-zero exit. What the target lowers is xformer-verify-target's
// (test/Dialect/Xformer/xformer-verify-target.mlir); the driver reports it.
// RUN: rm -rf %t && split-file %s %t
// RUN: not xformer-compile %t/bf16-weight.mlir --emit=source 2>&1 | FileCheck %s --check-prefix=BF16W
// BF16W: bf16-weight.mlir":2:8): error: the CPU target has no kernels for element type 'bf16' yet
// RUN: not xformer-compile %t/no-kind.mlir --emit=source 2>&1 | FileCheck %s --check-prefix=NOKIND
// NOKIND: error: no function says what the model is
// RUN: not xformer-compile %t/bidi-decoder.mlir --emit=source 2>&1 | FileCheck %s --check-prefix=BIDI
// BIDI: error: self-attention of an autoregressive decoder is not causal
// RUN: not xformer-compile %s --emit=source -split-marker 2>&1 | FileCheck %s --check-prefix=OPT
// OPT: Unknown command line argument
// RUN: not xformer-compile %S/../../Examples/gpt2-fused.mlir --precision=fp8 -o %t.so 2>&1 | FileCheck %s --check-prefix=PRECISION
// PRECISION: xformer-compile: for the --precision option: Cannot find option named 'fp8'!
// RUN: not xformer-compile %S/../../Examples/gpt2-fused.mlir --weights=q7 -o %t.so 2>&1 | FileCheck %s --check-prefix=WEIGHTS
// WEIGHTS: xformer-compile: for the --weights option: Cannot find option named 'q7'!
// RUN: not xformer-compile %S/../../Examples/gpt2-fused.mlir --precision=bf16 --target=cuda --emit=source 2>&1 | FileCheck %s --check-prefix=BF16CUDA
// BF16CUDA: xformer-compile: --precision=bf16 is a CPU option; the CUDA target computes linear layers with f32 weights
// RUN: not xformer-compile %S/../../Examples/gpt2-fused.mlir --target=tpu 2>&1 | FileCheck %s --check-prefix=TARGET
// TARGET: xformer-compile: target 'tpu' is not available; supported: cpu, cuda
// RUN: not xformer-compile %S/../../Examples/gpt2-fused.mlir 2>&1 | FileCheck %s --check-prefix=NOOUT
// NOOUT: --emit=library needs -o <file>
// RUN: not xformer-compile %S/../../Examples/gpt2-fused.mlir --emit=llvm 2>&1 | FileCheck %s --check-prefix=EMIT
// EMIT: --emit must be library, source, mlir, ptx or cubin, not 'llvm'
// RUN: not xformer-compile %S/../../Examples/gpt2-fused.mlir --emit=ptx -o %t.ptx 2>&1 | FileCheck %s --check-prefix=PTXCPU
// PTXCPU: --emit=ptx needs --target=cuda
// RUN: not xformer-compile %t.missing.mlir -o %t.so 2>&1 | FileCheck %s --check-prefix=MISSING
// MISSING: xformer-compile: {{.*}}missing.mlir

//--- bf16-weight.mlir
func.func @forward(%x: tensor<2x8xf32>) -> tensor<8x8xbf16> attributes {xformer.model = #xformer.model<encoder>} {
  %w = xformer.weight @w : tensor<8x8xbf16>
  return %w : tensor<8x8xbf16>
}
xformer.weight_decl @w : tensor<8x8xbf16>

//--- no-kind.mlir
func.func @forward(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %y = xformer.relu %x : tensor<2x8xf32>
  return %y : tensor<2x8xf32>
}

//--- bidi-decoder.mlir
func.func @forward(%ids: tensor<1x4xi64>) -> tensor<1x4x8xf32> attributes {xformer.model = #xformer.model<decoder>} {
  %e = xformer.weight @e : tensor<10x8xf32>
  %x = xformer.embedding %e, %ids : tensor<10x8xf32>, tensor<1x4xi64> -> tensor<1x4x8xf32>
  %q = xformer.split_heads %x, heads = 2 : tensor<1x4x8xf32> -> tensor<1x2x4x4xf32>
  %a = xformer.attention %q, %q, %q, mask = #xformer.mask<bidirectional>, scale = 0.5 : tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32> -> tensor<1x2x4x4xf32>
  %m = xformer.merge_heads %a : tensor<1x2x4x4xf32> -> tensor<1x4x8xf32>
  return %m : tensor<1x4x8xf32>
}
xformer.weight_decl @e : tensor<10x8xf32>
