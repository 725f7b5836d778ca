// Programs over fewer rows than the batch (row-counts): each program again
// over the first N sequences, named _rN, on the same caches.
// RUN: xformer-opt %S/../../Examples/gpt2-fused.mlir --xformer-derive-generation="verify-chunk=3" | FileCheck %s --check-prefix=GPT2
// RUN: xformer-opt %S/../../Examples/bart-fused.mlir --xformer-derive-generation | FileCheck %s --check-prefix=BART
// RUN: xformer-opt %S/../../Examples/gpt2-fused.mlir --xformer-derive-generation="row-counts=none" | FileCheck %s --check-prefix=NONE
// RUN: xformer-opt %S/../../Examples/gpt2-fused.mlir --xformer-derive-generation="row-counts=1,2" | FileCheck %s --check-prefix=LIST
// RUN: not xformer-opt %S/../../Examples/gpt2-fused.mlir --xformer-derive-generation="row-counts=3" 2>&1 | FileCheck %s --check-prefix=ABOVE
// RUN: not xformer-opt %S/../../Examples/gpt2-fused.mlir --xformer-derive-generation="row-counts=1,x" 2>&1 | FileCheck %s --check-prefix=WORD
// A model with a value of the batch's own shape (the [2, 1, 8] weight below,
// added to every sequence) keeps only the whole batch's programs, and says
// why.
// RUN: xformer-opt %s --xformer-derive-generation 2>&1 | FileCheck %s --check-prefix=FIXED

// GPT2-LABEL: func.func @prefill(%arg0: tensor<2x8xi64>, %arg1: tensor<2xi64>, %arg2: tensor<2xi64>) -> tensor<2x100xf32>
// GPT2-LABEL: func.func @prefill_r1(%arg0: tensor<1x8xi64>, %arg1: tensor<1xi64>, %arg2: tensor<1xi64>) -> tensor<1x100xf32>
// GPT2: xformer.cache_append @transformer.h.0.attn
// GPT2-SAME: tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1xi64>, tensor<1xi64>
// GPT2: xformer.cache_read @transformer.h.0.attn : tensor<1x4x?x16xf32>
// GPT2: xformer.attention
// GPT2-SAME: -> tensor<1x4x8x16xf32>
// GPT2: xformer.gather_positions
// GPT2-SAME: -> tensor<1x100xf32>
// GPT2-LABEL: func.func @decode_r1(%arg0: tensor<1x1xi64>, %arg1: tensor<1xi64>) -> tensor<1x100xf32>
// GPT2-LABEL: func.func @verify_r1(%arg0: tensor<1x3xi64>, %arg1: tensor<1xi64>, %arg2: tensor<1xi64>) -> tensor<1x3x100xf32>

// BART-LABEL: func.func @encode_r1(%arg0: tensor<1x8xi64>, %arg1: tensor<1xi64>) -> tensor<1x8x64xf32>
// BART: xformer.cache_append @model.decoder.layers.0.encoder_attn
// BART-SAME: tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1xi64>, tensor<1xi64>
// BART-LABEL: func.func @prefill_r1(%arg0: tensor<1x6xi64>, %arg1: tensor<1xi64>, %arg2: tensor<1xi64>, %arg3: tensor<1xi64>) -> tensor<1x100xf32>
// BART-LABEL: func.func @decode_r1(%arg0: tensor<1x1xi64>, %arg1: tensor<1xi64>, %arg2: tensor<1xi64>) -> tensor<1x100xf32>

// NONE: func.func @decode(
// NONE-NOT: _r1

// LIST: func.func @decode(
// LIST: func.func @prefill_r1(
// LIST: func.func @decode_r1(
// LIST-NOT: _r2

// ABOVE: error: xformer-derive-generation: row-counts='3': '3' is not a row count from 1 to the model's batch (2); give 'auto', 'none' or a list such as '1,2'
// WORD: error: xformer-derive-generation: row-counts='1,x': 'x' is not a row count from 1 to the model's batch (2)

// FIXED: warning: xformer-derive-generation: no programs over 1 of the 2 rows (every call computes all of them): 'xformer.cache_append' op 'start' shape [1] should be [batch] = [2]
// FIXED: func.func @decode(
// FIXED-NOT: _r1

func.func @forward(%ids: tensor<2x4xi64>) -> tensor<2x4x10xf32> attributes {xformer.model = #xformer.model<decoder>} {
  %w = xformer.weight @wte : tensor<10x8xf32>
  %rb = xformer.weight @rowbias : tensor<2x1x8xf32>
  %x0 = xformer.embedding %w, %ids : tensor<10x8xf32>, tensor<2x4xi64> -> tensor<2x4x8xf32>
  %x = xformer.add %x0, %rb : tensor<2x4x8xf32>, tensor<2x1x8xf32> -> tensor<2x4x8xf32>
  %q = xformer.split_heads %x, heads = 2 : tensor<2x4x8xf32> -> tensor<2x2x4x4xf32>
  %o = xformer.attention %q, %q, %q, mask = #xformer.mask<causal>, scale = 0.5 : tensor<2x2x4x4xf32>, tensor<2x2x4x4xf32>, tensor<2x2x4x4xf32> -> tensor<2x2x4x4xf32>
  %m = xformer.merge_heads %o : tensor<2x2x4x4xf32> -> tensor<2x4x8xf32>
  %l = xformer.linear %m, %w : tensor<2x4x8xf32>, tensor<10x8xf32> -> tensor<2x4x10xf32>
  return %l : tensor<2x4x10xf32>
}
xformer.weight_decl @wte : tensor<10x8xf32>
xformer.weight_decl @rowbias : tensor<2x1x8xf32>
