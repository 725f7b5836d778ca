// GPT-2 small: 12 layers, 12 heads of 64 (no GQA), f16: 36,864 bytes per token.
// RUN: xformer-opt %s --xformer-plan-kv-cache="max-seq-len=1024 cache-dtype=f16 report=-" -o /dev/null | FileCheck %s
// CHECK: "bytes_per_token": 36864,
// CHECK: "bytes_per_sequence": 37748736,

module {
  xformer.kv_cache @transformer.h.0 self, kv_heads = 12, head_dim = 64 : f32
  xformer.kv_cache @transformer.h.1 self, kv_heads = 12, head_dim = 64 : f32
  xformer.kv_cache @transformer.h.2 self, kv_heads = 12, head_dim = 64 : f32
  xformer.kv_cache @transformer.h.3 self, kv_heads = 12, head_dim = 64 : f32
  xformer.kv_cache @transformer.h.4 self, kv_heads = 12, head_dim = 64 : f32
  xformer.kv_cache @transformer.h.5 self, kv_heads = 12, head_dim = 64 : f32
  xformer.kv_cache @transformer.h.6 self, kv_heads = 12, head_dim = 64 : f32
  xformer.kv_cache @transformer.h.7 self, kv_heads = 12, head_dim = 64 : f32
  xformer.kv_cache @transformer.h.8 self, kv_heads = 12, head_dim = 64 : f32
  xformer.kv_cache @transformer.h.9 self, kv_heads = 12, head_dim = 64 : f32
  xformer.kv_cache @transformer.h.10 self, kv_heads = 12, head_dim = 64 : f32
  xformer.kv_cache @transformer.h.11 self, kv_heads = 12, head_dim = 64 : f32
}
