// The generation half of the pipelines for any model kind: programs and
// their KV plan, sizes from the model where it states them.
//
// A decoder: @prefill and @decode over one arena; max-batch above the
// programs' batch gives the caches more sequences.
// RUN: xformer-opt %S/../../Examples/gpt2-fused.mlir --xformer-plan-generation="max-seq-len=32 max-batch=4" | FileCheck %s --check-prefix=DECODER
// DECODER: module attributes {xformer.kv_plan = {{{.*}}max_batch = 4 : i64, max_seq_len = 32 : i64, total_bytes = 65536 : i64}}
// DECODER: xformer.kv_cache @transformer.h.0.attn self, kv_heads = 4, head_dim = 16 {bytes = 65536 : i64, capacity = 32 : i64, offset = 0 : i64} : f32
// DECODER: func.func @prefill(
// DECODER: func.func @decode(
//
// An encoder-decoder: the cross cache holds the encoder input's 6
// positions (max-source-len=0 reads them off @encode).
// RUN: xformer-opt %S/../../Examples/t5-fused.mlir --xformer-plan-generation=max-seq-len=32 | FileCheck %s --check-prefix=T5
// T5: xformer.kv_cache @decoder.block.0.layer.0.SelfAttention self, kv_heads = 2, head_dim = 8 {{{.*}}capacity = 32 : i64
// T5: xformer.kv_cache @decoder.block.0.layer.1.EncDecAttention cross, kv_heads = 2, head_dim = 8 {{{.*}}capacity = 6 : i64
// T5: func.func @encode(%{{.*}}: tensor<1x6xi64>)
//
// An encoder passes through: no programs, no caches.
// RUN: xformer-opt %S/../../Examples/bert-fused.mlir --xformer-plan-generation | FileCheck %s --check-prefix=ENCODER
// ENCODER-NOT: xformer.kv_cache
// ENCODER-NOT: func.func @decode
// ENCODER: func.func @forward
//
// A learned position table shorter than max-seq-len needs is an error that
// names the largest length that fits; so are batches below the programs'
// and lengths that are not positive.
// RUN: not xformer-opt %S/../../Examples/gpt2-fused.mlir --xformer-plan-generation=max-seq-len=4096 2>&1 | FileCheck %s --check-prefix=TABLE
// TABLE: error: the position table has 32 rows, but --max-seq-len 4096 needs positions up to 4095: compile with --max-seq-len=32 or less (the model's context)
// RUN: not xformer-opt %S/../../Examples/gpt2-fused.mlir --xformer-plan-generation="max-seq-len=32 max-batch=1" 2>&1 | FileCheck %s --check-prefix=BATCH
// BATCH: error: xformer-plan-generation: max-batch=1 is below the model IR's batch of 2
// RUN: not xformer-opt %S/../../Examples/gpt2-fused.mlir --xformer-plan-generation=max-seq-len=0 2>&1 | FileCheck %s --check-prefix=SEQ
// SEQ: error: xformer-plan-generation: max-seq-len must be positive, not 0
