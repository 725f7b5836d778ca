// What the CUDA target refuses before any compilation, with a non-zero exit.
// RUN: not xformer-compile %S/../../Examples/gpt2-fused.mlir --max-seq-len=32 --target=cuda --arch=sm_75 -o %t.so 2>&1 | FileCheck %s --check-prefix=OLD
// OLD: xformer-compile: --arch: 'sm_75' is older than sm_80; the attention kernels need bf16 tensor cores
// RUN: not xformer-compile %S/../../Examples/gpt2-fused.mlir --max-seq-len=32 --target=cuda --arch=hopper -o %t.so 2>&1 | FileCheck %s --check-prefix=NAME
// NAME: xformer-compile: --arch: 'hopper' is not an architecture like sm_80 or sm_90a
// RUN: not xformer-compile %S/../../Examples/gpt2-fused.mlir --max-seq-len=32 --target=cuda --arch=, -o %t.so 2>&1 | FileCheck %s --check-prefix=EMPTY
// EMPTY: xformer-compile: --arch: no architecture given
// RUN: not xformer-compile %S/../../Examples/gpt2-fused.mlir --max-seq-len=32 --target=cuda --emit=ptx -o %t.ptx 2>&1 | FileCheck %s --check-prefix=TWO
// TWO: xformer-compile: --emit=ptx writes the code of one architecture; give one --arch (got 2)
// RUN: not xformer-compile %S/../../Examples/gpt2-fused.mlir --max-seq-len=32 --target=cuda --emit=cubin --arch=sm_80 2>&1 | FileCheck %s --check-prefix=NOOUT
// NOOUT: xformer-compile: --emit=cubin needs -o <file>
// RUN: not xformer-compile %S/../../Examples/gpt2-fused.mlir --max-seq-len=32 --target=cuda --nvcc=%t.no-nvcc -o %t.so 2>&1 | FileCheck %s --check-prefix=NONVCC
// NONVCC: xformer-compile: nvcc ('{{.*}}no-nvcc') not found: install the CUDA toolkit or set --nvcc, XFORMER_NVCC or CUDA_HOME
// RUN: rm -rf %t && split-file %s %t
// RUN: not xformer-compile %t/bf16-weight.mlir --target=cuda --emit=source 2>&1 | FileCheck %s --check-prefix=BF16
// BF16: error: the CUDA target needs static f32/i64/i32 weights, not 'tensor<8x8xbf16>'

//--- bf16-weight.mlir
func.func @forward(%x: tensor<2x8xf32>) -> tensor<8x8xbf16> attributes {xformer.model = #xformer.model<encoder>} {
  %w = xformer.weight @w : tensor<8x8xbf16>
  return %w : tensor<8x8xbf16>
}
xformer.weight_decl @w : tensor<8x8xbf16>
