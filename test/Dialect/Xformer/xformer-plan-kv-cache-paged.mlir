// Paged Llama-3-8B: blocks of 16 positions hold 16 x 131,072 = 2 MiB across
// the 32 layers. A 2 GiB budget, less the block table (4 sequences x 512
// blocks x 4 bytes) and alignment, holds 1023 blocks: one 8192-token sequence.
// RUN: xformer-opt %s --xformer-plan-kv-cache="layout=paged block-size=16 max-seq-len=8192 max-batch=4 budget=2GiB report=-" -o /dev/null | FileCheck %s
// CHECK: "layout": "paged",
// CHECK: "paged": true,
// CHECK: "num_blocks": 1023,
// CHECK: "block_bytes": 2097152,
// CHECK: "block_table_entries": 2048,
// CHECK: "block_table_bytes": 8192,
// CHECK: "sequences_fit": 1
// Without a budget: enough blocks for every sequence at the maximum length.
// RUN: xformer-opt %s --xformer-plan-kv-cache="layout=paged block-size=256 max-seq-len=8192 max-batch=4 report=-" -o /dev/null | FileCheck %s --check-prefix=NOBUDGET
// NOBUDGET: "num_blocks": 128,
// NOBUDGET: "block_table_entries": 128,

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
