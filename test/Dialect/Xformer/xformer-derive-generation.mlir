// Prefill and decode derived from a decoder's forward function.
// RUN: xformer-opt %S/../../Examples/gpt2-fused.mlir --xformer-derive-generation | FileCheck %s --check-prefix=GPT2
// RUN: xformer-opt %S/../../Examples/llama-fused.mlir --xformer-fuse-projections --canonicalize --cse --xformer-derive-generation | FileCheck %s --check-prefix=LLAMA
// A sliding-window (Mistral-style) variant of the Llama layer:
// RUN: sed -e 's/#xformer.mask<causal>/#xformer.mask<sliding_window, window = 4>/' %S/../../Examples/llama-fused.mlir | xformer-opt --xformer-derive-generation | FileCheck %s --check-prefix=WINDOW
// The derived programs plan: 4 positions of the window plus a chunk of 8, less one.
// RUN: sed -e 's/#xformer.mask<causal>/#xformer.mask<sliding_window, window = 4>/' %S/../../Examples/llama-fused.mlir | xformer-opt --xformer-derive-generation --xformer-plan-kv-cache="max-seq-len=64" | FileCheck %s --check-prefix=PLAN
// RUN: xformer-opt %S/../../Examples/gpt2-fused.mlir --xformer-derive-generation="all-logits=true" | FileCheck %s --check-prefix=ALL
// RUN: xformer-opt %S/../../Examples/gpt2-fused.mlir --xformer-derive-generation="verify-chunk=3" | FileCheck %s --check-prefix=VERIFY

// One cache per self-attention, named after its layer.
// GPT2: xformer.kv_cache @transformer.h.0.attn self, kv_heads = 4, head_dim = 16 : f32
// GPT2-LABEL: func.func @forward(
// The forward function is kept as it was.
// GPT2: xformer.attention {{.*}} mask = #xformer.mask<causal>, scale = 2.500000e-01 :
// Prefill: a chunk of 8 tokens starting at %start, %lengths of them valid.
// GPT2-LABEL: func.func @prefill(
// GPT2-SAME: [[IDS:%.+]]: tensor<2x8xi64>, [[START:%.+]]: tensor<2xi64>, [[LEN:%.+]]: tensor<2xi64>) -> tensor<2x100xf32>
// GPT2-SAME: attributes {xformer.model = #xformer.model<decoder>}
// GPT2: [[IOTA:%.+]] = xformer.positions : tensor<8xi64>
// GPT2: [[ROW:%.+]] = xformer.reshape [[IOTA]] : tensor<8xi64> -> tensor<1x8xi64>
// GPT2: [[COL:%.+]] = xformer.reshape [[START]] : tensor<2xi64> -> tensor<2x1xi64>
// GPT2: [[POS:%.+]] = xformer.add [[COL]], [[ROW]] : tensor<2x1xi64>, tensor<1x8xi64> -> tensor<2x8xi64>
// GPT2: [[KVLEN:%.+]] = xformer.add [[START]], [[LEN]] : tensor<2xi64>, tensor<2xi64> -> tensor<2xi64>
// GPT2: xformer.embedding %{{.+}}, [[POS]] : tensor<32x64xf32>, tensor<2x8xi64> -> tensor<2x8x64xf32>
// GPT2: xformer.cache_append @transformer.h.0.attn, [[K:%.+]], [[V:%.+]], start [[START]] lengths [[LEN]] : tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2xi64>, tensor<2xi64>
// GPT2: [[KC:%.+]], [[VC:%.+]] = xformer.cache_read @transformer.h.0.attn : tensor<2x4x?x16xf32>, tensor<2x4x?x16xf32>
// GPT2: xformer.attention %{{.+}}, [[KC]], [[VC]], mask = #xformer.mask<causal>, scale = 2.500000e-01 q_lengths([[LEN]] : tensor<2xi64>) kv_lengths([[KVLEN]] : tensor<2xi64>) : tensor<2x4x8x16xf32>, tensor<2x4x?x16xf32>, tensor<2x4x?x16xf32> -> tensor<2x4x8x16xf32>
// The logits of each sequence's last valid token.
// GPT2: [[ONE:%.+]] = arith.constant dense<1> : tensor<2xi64>
// GPT2: [[LAST:%.+]] = xformer.sub [[LEN]], [[ONE]]
// GPT2: xformer.gather_positions %{{.+}}, [[LAST]] : tensor<2x8x100xf32>, tensor<2xi64> -> tensor<2x100xf32>
// Decode: the same program for one token at %position.
// GPT2-LABEL: func.func @decode(
// GPT2-SAME: %{{.+}}: tensor<2x1xi64>, [[P:%.+]]: tensor<2xi64>) -> tensor<2x100xf32>
// GPT2: [[ONES:%.+]] = arith.constant dense<1> : tensor<2xi64>
// GPT2: [[DLEN:%.+]] = xformer.add [[P]], [[ONES]]
// GPT2: xformer.cache_append @transformer.h.0.attn, %{{.+}}, %{{.+}}, start [[P]] lengths [[ONES]] : tensor<2x4x1x16xf32>
// GPT2: xformer.attention {{.*}} mask = #xformer.mask<causal>, scale = 2.500000e-01 q_lengths([[ONES]] : tensor<2xi64>) kv_lengths([[DLEN]] : tensor<2xi64>) : tensor<2x4x1x16xf32>, tensor<2x4x?x16xf32>, tensor<2x4x?x16xf32> -> tensor<2x4x1x16xf32>
// GPT2: xformer.reshape %{{.+}} : tensor<2x1x100xf32> -> tensor<2x100xf32>

// Grouped-query attention caches its 2 K/V heads, not the 4 query heads.
// LLAMA: xformer.kv_cache @model.layers.0.self_attn self, kv_heads = 2, head_dim = 16 : f32
// LLAMA-LABEL: func.func @decode(
// LLAMA: xformer.rope half %{{.+}}, %{{.+}}, theta = 1.000000e+04 : tensor<2x4x1x16xf32>, tensor<2x1xi64>
// LLAMA: xformer.cache_append @model.layers.0.self_attn, %{{.+}}, %{{.+}}, start %{{.+}} lengths %{{.+}} : tensor<2x2x1x16xf32>
// LLAMA: xformer.attention {{.*}} : tensor<2x4x1x16xf32>, tensor<2x2x?x16xf32>, tensor<2x2x?x16xf32> -> tensor<2x4x1x16xf32>

// A sliding window keeps a ring; its valid length is capped at the ring.
// WINDOW: xformer.kv_cache @model.layers.0.self_attn ring, kv_heads = 2, head_dim = 16, window = 4 {chunk = 8 : i64} : f32
// WINDOW-LABEL: func.func @decode(
// WINDOW: [[LEN:%.+]] = xformer.add %arg1, %{{.+}} : tensor<2xi64>, tensor<2xi64>
// WINDOW: [[CAP:%.+]] = arith.constant dense<11> : tensor<i64>
// WINDOW: [[BELOW:%.+]] = xformer.compare lt, [[LEN]], [[CAP]]
// WINDOW: [[VIS:%.+]] = xformer.select [[BELOW]], [[LEN]], [[CAP]]
// WINDOW: xformer.attention {{.*}} mask = #xformer.mask<sliding_window, window = 4>, {{.*}} kv_lengths([[VIS]] : tensor<2xi64>)

// PLAN: xformer.kv_cache @model.layers.0.self_attn ring, kv_heads = 2, head_dim = 16, window = 4 {bytes = 2816 : i64, capacity = 11 : i64, chunk = 8 : i64, offset = 0 : i64} : f32

// Speculative decoding's program: chunks of 3, every position's logits,
// appending at `start` like prefill; prefill still returns the last.
// VERIFY-LABEL: func.func @prefill(
// VERIFY-SAME: -> tensor<2x100xf32>
// VERIFY-LABEL: func.func @verify(
// VERIFY-SAME: %[[IDS:.*]]: tensor<2x3xi64>, %[[START:.*]]: tensor<2xi64>, %[[LEN:.*]]: tensor<2xi64>) -> tensor<2x3x100xf32>
// VERIFY: xformer.cache_append @transformer.h.0.attn, {{.*}} start %[[START]] lengths %[[LEN]]
// VERIFY-NOT: xformer.gather_positions
// VERIFY: return {{.*}} : tensor<2x3x100xf32>

// ALL-LABEL: func.func @prefill(
// ALL-SAME: -> tensor<2x8x100xf32>
// ALL-NOT: xformer.gather_positions
// ALL-LABEL: func.func @decode(

// Encoder-decoder (BART): @encode runs the encoder once and writes each
// cross-attention's K/V into a static cross cache; the decoder programs read
// it and never recompute those projections.
// RUN: xformer-opt %S/../../Examples/bart-fused.mlir --xformer-fuse-projections --canonicalize --cse --xformer-derive-generation | FileCheck %s --check-prefix=BART
// RUN: xformer-opt %S/../../Examples/bart-fused.mlir --xformer-derive-generation --xformer-plan-kv-cache="max-seq-len=64 max-source-len=512 report=-" -o /dev/null | FileCheck %s --check-prefix=BARTPLAN
// BART: xformer.kv_cache @model.decoder.layers.0.self_attn self, kv_heads = 4, head_dim = 16 : f32
// BART: xformer.kv_cache @model.decoder.layers.0.encoder_attn cross, kv_heads = 4, head_dim = 16 : f32
// BART-LABEL: func.func @encode(
// BART-SAME: %{{.+}}: tensor<2x8xi64>, [[SRCLEN:%.+]]: tensor<2xi64>) -> tensor<2x8x64xf32>
// BART: mask = #xformer.mask<bidirectional>
// BART: xformer.weight @model.decoder.layers.0.encoder_attn.k_proj.weight
// BART: xformer.cache_append @model.decoder.layers.0.encoder_attn, %{{.+}}, %{{.+}}, start %{{.+}} lengths [[SRCLEN]] : tensor<2x4x8x16xf32>
// BART-LABEL: func.func @prefill(
// BART-SAME: %{{.+}}: tensor<2x6xi64>, %{{.+}}: tensor<2xi64>, %{{.+}}: tensor<2xi64>, %{{.+}}: tensor<2xi64>) -> tensor<2x100xf32>
// BART-LABEL: func.func @decode(
// BART-SAME: %{{.+}}: tensor<2x1xi64>, %{{.+}}: tensor<2xi64>, [[DSRC:%.+]]: tensor<2xi64>) -> tensor<2x100xf32>
// BART-NOT: encoder_attn.k_proj
// BART-NOT: encoder_attn.v_proj
// BART: xformer.cache_append @model.decoder.layers.0.self_attn
// BART: [[XK:%.+]], [[XV:%.+]] = xformer.cache_read @model.decoder.layers.0.encoder_attn : tensor<2x4x?x16xf32>, tensor<2x4x?x16xf32>
// BART: xformer.attention %{{.+}}, [[XK]], [[XV]], mask = #xformer.mask<cross>, scale = 2.500000e-01 q_lengths(%{{.+}}) kv_lengths([[DSRC]] : tensor<2xi64>)
// BART-NOT: xformer.weight @model.decoder.layers.0.encoder_attn.k_proj
// BART: return
// BARTPLAN: "kind": "cross",
// BARTPLAN: "capacity": 512,
// BARTPLAN: "bytes_per_token": 512,
// BARTPLAN: "bytes_per_source_token": 512,

// For T5, the decoder's relative position bias is rebuilt for each chunk from
// the queries' positions and the cached keys' positions; cross caches hold
// the static source length when no source lengths are given.
// RUN: xformer-opt %S/../../Examples/t5-fused.mlir --xformer-derive-generation | FileCheck %s --check-prefix=T5
// T5: xformer.kv_cache @decoder.block.0.layer.0.SelfAttention self, kv_heads = 2, head_dim = 8 : f32
// T5: xformer.kv_cache @decoder.block.0.layer.1.EncDecAttention cross, kv_heads = 2, head_dim = 8 : f32
// T5-LABEL: func.func @encode(
// T5: bidirectional = true
// T5: xformer.cache_append @decoder.block.0.layer.1.EncDecAttention
// T5-LABEL: func.func @decode(
// T5: [[POS:%.+]] = xformer.add %{{.+}}, %{{.+}} : tensor<1x1xi64>, tensor<1x1xi64> -> tensor<1x1xi64>
// T5: [[K:%.+]], [[V:%.+]] = xformer.cache_read @decoder.block.0.layer.0.SelfAttention
// T5: [[N:%.+]] = tensor.dim [[K]], %{{.+}} : tensor<1x2x?x8xf32>
// T5: [[KPOS:%.+]] = xformer.positions size [[N]] : tensor<?xi64>
// T5: [[BIAS:%.+]] = xformer.relative_position_bias %{{.+}}, [[POS]], [[KPOS]], num_buckets = 32, max_distance = 128, bidirectional = false : tensor<32x2xf32>, tensor<1x1xi64>, tensor<?xi64> -> tensor<1x2x1x?xf32>
// T5: xformer.attention {{.*}} mask = #xformer.mask<causal>, {{.*}} bias([[BIAS]] : tensor<1x2x1x?xf32>)
// T5: [[SRC:%.+]] = arith.constant dense<6> : tensor<1xi64>
// T5: xformer.cache_read @decoder.block.0.layer.1.EncDecAttention
// T5: xformer.attention {{.*}} mask = #xformer.mask<cross>, {{.*}} kv_lengths([[SRC]] : tensor<1xi64>)
