// Mistral-7B: 32 sliding-window layers (window 4096), 8 KV heads of 128,
// bf16. Each layer keeps a ring of 4096 positions whatever the maximum length.
// RUN: xformer-opt %s --xformer-plan-kv-cache="max-seq-len=32768 report=-" -o /dev/null | FileCheck %s
// CHECK: "name": "model.layers.0",
// CHECK-NEXT: "kind": "ring",
// CHECK: "capacity": 4096,
// CHECK: "bytes": 16777216
// CHECK: "bytes_per_token": 131072,
// CHECK: "bytes_per_sequence": 536870912,
// RUN: xformer-opt %s --xformer-plan-kv-cache="max-seq-len=131072 report=-" -o /dev/null | FileCheck %s --check-prefix=LONG
// LONG: "capacity": 4096,
// LONG: "bytes_per_sequence": 536870912,

module {
  xformer.kv_cache @model.layers.0 ring, kv_heads = 8, head_dim = 128, window = 4096 : bf16
  xformer.kv_cache @model.layers.1 ring, kv_heads = 8, head_dim = 128, window = 4096 : bf16
  xformer.kv_cache @model.layers.2 ring, kv_heads = 8, head_dim = 128, window = 4096 : bf16
  xformer.kv_cache @model.layers.3 ring, kv_heads = 8, head_dim = 128, window = 4096 : bf16
  xformer.kv_cache @model.layers.4 ring, kv_heads = 8, head_dim = 128, window = 4096 : bf16
  xformer.kv_cache @model.layers.5 ring, kv_heads = 8, head_dim = 128, window = 4096 : bf16
  xformer.kv_cache @model.layers.6 ring, kv_heads = 8, head_dim = 128, window = 4096 : bf16
  xformer.kv_cache @model.layers.7 ring, kv_heads = 8, head_dim = 128, window = 4096 : bf16
  xformer.kv_cache @model.layers.8 ring, kv_heads = 8, head_dim = 128, window = 4096 : bf16
  xformer.kv_cache @model.layers.9 ring, kv_heads = 8, head_dim = 128, window = 4096 : bf16
  xformer.kv_cache @model.layers.10 ring, kv_heads = 8, head_dim = 128, window = 4096 : bf16
  xformer.kv_cache @model.layers.11 ring, kv_heads = 8, head_dim = 128, window = 4096 : bf16
  xformer.kv_cache @model.layers.12 ring, kv_heads = 8, head_dim = 128, window = 4096 : bf16
  xformer.kv_cache @model.layers.13 ring, kv_heads = 8, head_dim = 128, window = 4096 : bf16
  xformer.kv_cache @model.layers.14 ring, kv_heads = 8, head_dim = 128, window = 4096 : bf16
  xformer.kv_cache @model.layers.15 ring, kv_heads = 8, head_dim = 128, window = 4096 : bf16
  xformer.kv_cache @model.layers.16 ring, kv_heads = 8, head_dim = 128, window = 4096 : bf16
  xformer.kv_cache @model.layers.17 ring, kv_heads = 8, head_dim = 128, window = 4096 : bf16
  xformer.kv_cache @model.layers.18 ring, kv_heads = 8, head_dim = 128, window = 4096 : bf16
  xformer.kv_cache @model.layers.19 ring, kv_heads = 8, head_dim = 128, window = 4096 : bf16
  xformer.kv_cache @model.layers.20 ring, kv_heads = 8, head_dim = 128, window = 4096 : bf16
  xformer.kv_cache @model.layers.21 ring, kv_heads = 8, head_dim = 128, window = 4096 : bf16
  xformer.kv_cache @model.layers.22 ring, kv_heads = 8, head_dim = 128, window = 4096 : bf16
  xformer.kv_cache @model.layers.23 ring, kv_heads = 8, head_dim = 128, window = 4096 : bf16
  xformer.kv_cache @model.layers.24 ring, kv_heads = 8, head_dim = 128, window = 4096 : bf16
  xformer.kv_cache @model.layers.25 ring, kv_heads = 8, head_dim = 128, window = 4096 : bf16
  xformer.kv_cache @model.layers.26 ring, kv_heads = 8, head_dim = 128, window = 4096 : bf16
  xformer.kv_cache @model.layers.27 ring, kv_heads = 8, head_dim = 128, window = 4096 : bf16
  xformer.kv_cache @model.layers.28 ring, kv_heads = 8, head_dim = 128, window = 4096 : bf16
  xformer.kv_cache @model.layers.29 ring, kv_heads = 8, head_dim = 128, window = 4096 : bf16
  xformer.kv_cache @model.layers.30 ring, kv_heads = 8, head_dim = 128, window = 4096 : bf16
  xformer.kv_cache @model.layers.31 ring, kv_heads = 8, head_dim = 128, window = 4096 : bf16
}
