// T5-small decoder: 6 self caches and 6 static cross caches (8 heads of 64,
// f32). Self caches are sized by the target length, cross caches by the
// source length.
// RUN: xformer-opt %s --xformer-plan-kv-cache="max-seq-len=512 max-source-len=1024 report=-" -o /dev/null | FileCheck %s
// CHECK: "name": "decoder.block.0.layer.0.SelfAttention",
// CHECK: "capacity": 512,
// CHECK: "name": "decoder.block.0.layer.1.EncDecAttention",
// CHECK-NEXT: "kind": "cross",
// CHECK: "capacity": 1024,
// CHECK: "bytes_per_token": 24576,
// CHECK: "bytes_per_source_token": 24576,
// CHECK: "bytes_per_sequence": 37748736,

module {
  xformer.kv_cache @decoder.block.0.layer.0.SelfAttention self, kv_heads = 8, head_dim = 64 : f32
  xformer.kv_cache @decoder.block.0.layer.1.EncDecAttention cross, kv_heads = 8, head_dim = 64 : f32
  xformer.kv_cache @decoder.block.1.layer.0.SelfAttention self, kv_heads = 8, head_dim = 64 : f32
  xformer.kv_cache @decoder.block.1.layer.1.EncDecAttention cross, kv_heads = 8, head_dim = 64 : f32
  xformer.kv_cache @decoder.block.2.layer.0.SelfAttention self, kv_heads = 8, head_dim = 64 : f32
  xformer.kv_cache @decoder.block.2.layer.1.EncDecAttention cross, kv_heads = 8, head_dim = 64 : f32
  xformer.kv_cache @decoder.block.3.layer.0.SelfAttention self, kv_heads = 8, head_dim = 64 : f32
  xformer.kv_cache @decoder.block.3.layer.1.EncDecAttention cross, kv_heads = 8, head_dim = 64 : f32
  xformer.kv_cache @decoder.block.4.layer.0.SelfAttention self, kv_heads = 8, head_dim = 64 : f32
  xformer.kv_cache @decoder.block.4.layer.1.EncDecAttention cross, kv_heads = 8, head_dim = 64 : f32
  xformer.kv_cache @decoder.block.5.layer.0.SelfAttention self, kv_heads = 8, head_dim = 64 : f32
  xformer.kv_cache @decoder.block.5.layer.1.EncDecAttention cross, kv_heads = 8, head_dim = 64 : f32
}
