// Llama-3-8B: 32 layers, 8 KV heads of 128, bf16.
// 2 x 32 x 8 x 128 x 2 = 131,072 bytes per token; a 8192-token sequence is 1 GiB.
// RUN: xformer-opt %s --xformer-plan-kv-cache="max-seq-len=8192 max-batch=4 budget=80GiB report=-" -o /dev/null | FileCheck %s
// CHECK: "bytes_per_token": 131072,
// CHECK: "bytes_per_sequence": 1073741824,
// CHECK: "total_bytes": 4294967296,
// CHECK: "sequences_fit": 80
// The same model with 32 KV heads (no GQA) stores four times as much.
// RUN: sed -e 's/kv_heads = 8/kv_heads = 32/' %s | xformer-opt --xformer-plan-kv-cache="max-seq-len=8192" | FileCheck %s --check-prefix=MHA
// MHA: bytes_per_token = 524288
// And in fp8 with a scale per head, 2 x 32 x 8 x (128 + 4) = 67,584 bytes.
// RUN: xformer-opt %s --xformer-plan-kv-cache="max-seq-len=8192 cache-dtype=fp8" | FileCheck %s --check-prefix=FP8
// FP8: bytes_per_token = 67584
// The plan is attached to each cache: offsets follow one another.
// RUN: xformer-opt %s --xformer-plan-kv-cache="max-seq-len=8192 max-batch=4" | FileCheck %s --check-prefix=IR
// IR: xformer.kv_cache @model.layers.0 self, kv_heads = 8, head_dim = 128 {bytes = 134217728 : i64, capacity = 8192 : i64, offset = 0 : i64} : bf16
// IR-NEXT: xformer.kv_cache @model.layers.1 self, kv_heads = 8, head_dim = 128 {bytes = 134217728 : i64, capacity = 8192 : i64, offset = 134217728 : i64} : bf16

module {
  xformer.kv_cache @model.layers.0 self, kv_heads = 8, head_dim = 128 : bf16
  xformer.kv_cache @model.layers.1 self, kv_heads = 8, head_dim = 128 : bf16
  xformer.kv_cache @model.layers.2 self, kv_heads = 8, head_dim = 128 : bf16
  xformer.kv_cache @model.layers.3 self, kv_heads = 8, head_dim = 128 : bf16
  xformer.kv_cache @model.layers.4 self, kv_heads = 8, head_dim = 128 : bf16
  xformer.kv_cache @model.layers.5 self, kv_heads = 8, head_dim = 128 : bf16
  xformer.kv_cache @model.layers.6 self, kv_heads = 8, head_dim = 128 : bf16
  xformer.kv_cache @model.layers.7 self, kv_heads = 8, head_dim = 128 : bf16
  xformer.kv_cache @model.layers.8 self, kv_heads = 8, head_dim = 128 : bf16
  xformer.kv_cache @model.layers.9 self, kv_heads = 8, head_dim = 128 : bf16
  xformer.kv_cache @model.layers.10 self, kv_heads = 8, head_dim = 128 : bf16
  xformer.kv_cache @model.layers.11 self, kv_heads = 8, head_dim = 128 : bf16
  xformer.kv_cache @model.layers.12 self, kv_heads = 8, head_dim = 128 : bf16
  xformer.kv_cache @model.layers.13 self, kv_heads = 8, head_dim = 128 : bf16
  xformer.kv_cache @model.layers.14 self, kv_heads = 8, head_dim = 128 : bf16
  xformer.kv_cache @model.layers.15 self, kv_heads = 8, head_dim = 128 : bf16
  xformer.kv_cache @model.layers.16 self, kv_heads = 8, head_dim = 128 : bf16
  xformer.kv_cache @model.layers.17 self, kv_heads = 8, head_dim = 128 : bf16
  xformer.kv_cache @model.layers.18 self, kv_heads = 8, head_dim = 128 : bf16
  xformer.kv_cache @model.layers.19 self, kv_heads = 8, head_dim = 128 : bf16
  xformer.kv_cache @model.layers.20 self, kv_heads = 8, head_dim = 128 : bf16
  xformer.kv_cache @model.layers.21 self, kv_heads = 8, head_dim = 128 : bf16
  xformer.kv_cache @model.layers.22 self, kv_heads = 8, head_dim = 128 : bf16
  xformer.kv_cache @model.layers.23 self, kv_heads = 8, head_dim = 128 : bf16
  xformer.kv_cache @model.layers.24 self, kv_heads = 8, head_dim = 128 : bf16
  xformer.kv_cache @model.layers.25 self, kv_heads = 8, head_dim = 128 : bf16
  xformer.kv_cache @model.layers.26 self, kv_heads = 8, head_dim = 128 : bf16
  xformer.kv_cache @model.layers.27 self, kv_heads = 8, head_dim = 128 : bf16
  xformer.kv_cache @model.layers.28 self, kv_heads = 8, head_dim = 128 : bf16
  xformer.kv_cache @model.layers.29 self, kv_heads = 8, head_dim = 128 : bf16
  xformer.kv_cache @model.layers.30 self, kv_heads = 8, head_dim = 128 : bf16
  xformer.kv_cache @model.layers.31 self, kv_heads = 8, head_dim = 128 : bf16
}
