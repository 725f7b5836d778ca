// The registered compiler pipelines, as xformer-opt, xformer-compile and
// the Python bindings run them.
//
// A decoder: fused, its programs derived, the cache planned for the IR's
// batch; exactly what xformer-compile lowers.
// RUN: xformer-opt %S/../../Examples/llama-unfused.mlir --xformer-cpu-pipeline=max-seq-len=64 > %t.opt.mlir
// RUN: FileCheck %s --check-prefix=DECODER < %t.opt.mlir
// RUN: xformer-compile %S/../../Examples/llama-unfused.mlir --max-seq-len=64 --emit=mlir -o %t.compile.mlir
// RUN: diff -B %t.opt.mlir %t.compile.mlir
// DECODER: module attributes {xformer.kv_plan = {{{.*}}max_batch = 2 : i64, max_seq_len = 64 : i64
// DECODER: xformer.kv_cache @model.layers.0.self_attn self, kv_heads = 2, head_dim = 16 {bytes = 32768 : i64, capacity = 64 : i64, offset = 0 : i64} : f32
// DECODER: func.func @forward
// DECODER: xformer.attention {{.*}}mask = #xformer.mask<causal>
// DECODER: func.func @prefill(%{{.*}}: tensor<2x8xi64>, %{{.*}}: tensor<2xi64>, %{{.*}}: tensor<2xi64>) -> tensor<2x100xf32>
// DECODER: func.func @decode(%{{.*}}: tensor<2x1xi64>, %{{.*}}: tensor<2xi64>) -> tensor<2x100xf32>
//
// Options: more sequences than a call runs, weights in ggml blocks or bf16.
// RUN: xformer-opt %S/../../Examples/llama-unfused.mlir --xformer-cpu-pipeline="max-seq-len=64 max-batch=4 weights=q8_0" | FileCheck %s --check-prefix=Q8
// Q8: max_batch = 4 : i64
// Q8: xformer.weight @model.layers.0.self_attn.q_proj.weight : tensor<64x64x!xformer.ggml<q8_0>>
// RUN: xformer-opt %S/../../Examples/llama-unfused.mlir --xformer-cpu-pipeline="max-seq-len=64 precision=bf16" | FileCheck %s --check-prefix=BF16
// BF16: xformer.weight @model.layers.0.self_attn.q_proj.weight : tensor<64x64xbf16>
//
// An encoder-decoder: the cross caches hold the encoder input's 6 positions.
// RUN: xformer-opt %S/../../Examples/t5-fused.mlir --xformer-cpu-pipeline=max-seq-len=32 | FileCheck %s --check-prefix=T5
// T5: xformer.kv_cache @decoder.block.0.layer.0.SelfAttention self, {{.*}}capacity = 32 : i64
// T5: xformer.kv_cache @decoder.block.0.layer.1.EncDecAttention cross, {{.*}}capacity = 6 : i64
// T5: func.func @encode(%{{.*}}: tensor<1x6xi64>)
//
// An encoder: fused, no programs, no cache.
// RUN: xformer-opt %S/../../Examples/bert-unfused.mlir --xformer-cpu-pipeline | FileCheck %s --check-prefix=ENCODER
// ENCODER-NOT: kv_cache
// ENCODER: xformer.attention {{.*}}mask = #xformer.mask<bidirectional>
// ENCODER-NOT: func.func @decode
//
// What a target cannot lower, and options out of range, are errors.
// RUN: not xformer-opt %S/../../Examples/llama-unfused.mlir --xformer-cuda-pipeline="max-seq-len=64 weights=q8_0" 2>&1 | FileCheck %s --check-prefix=CUDA
// CUDA: error: the CUDA target needs static f32/i64/i32 weights, not 'tensor<64x64x!xformer.ggml<q8_0>>'
// RUN: not xformer-opt %S/../../Examples/llama-unfused.mlir --xformer-cpu-pipeline="max-batch=1" 2>&1 | FileCheck %s --check-prefix=BATCH
// BATCH: error: xformer-plan-generation: max-batch=1 is below the model IR's batch of 2
// RUN: not xformer-opt %S/../../Examples/llama-unfused.mlir --xformer-cpu-pipeline="max-seq-len=0" 2>&1 | FileCheck %s --check-prefix=SEQ
// SEQ: error: xformer-plan-generation: max-seq-len must be positive, not 0
// RUN: echo 'module {}' | not xformer-opt --xformer-cpu-pipeline=precision=fp8 2>&1 | FileCheck %s --check-prefix=PRECISION
// PRECISION: for the --precision option: Cannot find option named 'fp8'!
// RUN: not xformer-opt %S/../../Examples/llama-unfused.mlir --xformer-cpu-pipeline=weights=q9_9 2>&1 | FileCheck %s --check-prefix=WEIGHTS
// WEIGHTS: for the --weights option: Cannot find option named 'q9_9'!
