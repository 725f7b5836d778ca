// A BERT-style encoder layer: token + position + segment embeddings, LayerNorm,
// bidirectional self-attention over padded sequences, GELU MLP, tanh pooler.
// Sizes: batch 2, seq 8, hidden 64, 4 heads of 16, intermediate 256, vocab 100.
// Unfused form, as an exporter emits it: matmul, scale, mask, softmax, matmul.
// RUN: xformer-opt %s | xformer-opt | FileCheck %s
// Fusion gives exactly the hand-fused form:
// RUN: xformer-opt %s --xformer-fuse-attention --canonicalize --cse > %t.fused
// RUN: xformer-opt %S/bert-fused.mlir --canonicalize --cse | diff %t.fused -
// CHECK-LABEL: func.func @forward
// CHECK: xformer.compare lt
// CHECK: xformer.cast %{{.+}} : tensor<2x8xi1> -> tensor<2x8xf32>
// CHECK: xformer.matmul
// CHECK: xformer.div
// CHECK: xformer.add %{{.+}}, %{{.+}} : tensor<2x4x8x8xf32>, tensor<2x1x1x8xf32>
// CHECK: xformer.softmax %{{.+}}, axis = 3
// CHECK-NOT: xformer.attention

func.func @forward(%input_ids: tensor<2x8xi64>, %token_type_ids: tensor<2x8xi64>, %lengths: tensor<2xi64>) -> (tensor<2x8x64xf32>, tensor<2x64xf32>) attributes {xformer.model = #xformer.model<encoder>} {
  // Embeddings: token + position + segment, then LayerNorm.
  %embeddings_word_embeddings_weight = xformer.weight @embeddings.word_embeddings.weight : tensor<100x64xf32>
  %embeddings_position_embeddings_weight = xformer.weight @embeddings.position_embeddings.weight : tensor<32x64xf32>
  %embeddings_token_type_embeddings_weight = xformer.weight @embeddings.token_type_embeddings.weight : tensor<2x64xf32>
  %tok = xformer.embedding %embeddings_word_embeddings_weight, %input_ids : tensor<100x64xf32>, tensor<2x8xi64> -> tensor<2x8x64xf32>
  %pos = xformer.positions : tensor<8xi64>
  %pos_emb = xformer.embedding %embeddings_position_embeddings_weight, %pos : tensor<32x64xf32>, tensor<8xi64> -> tensor<8x64xf32>
  %type_emb = xformer.embedding %embeddings_token_type_embeddings_weight, %token_type_ids : tensor<2x64xf32>, tensor<2x8xi64> -> tensor<2x8x64xf32>
  %emb = xformer.add %tok, %pos_emb : tensor<2x8x64xf32>, tensor<8x64xf32> -> tensor<2x8x64xf32>
  %emb_1 = xformer.add %emb, %type_emb : tensor<2x8x64xf32>, tensor<2x8x64xf32> -> tensor<2x8x64xf32>
  %embeddings_LayerNorm_weight = xformer.weight @embeddings.LayerNorm.weight : tensor<64xf32>
  %embeddings_LayerNorm_bias = xformer.weight @embeddings.LayerNorm.bias : tensor<64xf32>
  %x = xformer.layer_norm %emb_1, %embeddings_LayerNorm_weight, %embeddings_LayerNorm_bias epsilon = 1.0e-12 : tensor<2x8x64xf32>, tensor<64xf32>, tensor<64xf32>
  // Extended attention mask: (1 - (position < length)) * finfo(f32).min, [batch, 1, 1, seq].
  %key_pos = xformer.reshape %pos : tensor<8xi64> -> tensor<1x8xi64>
  %lens = xformer.reshape %lengths : tensor<2xi64> -> tensor<2x1xi64>
  %keep = xformer.compare lt, %key_pos, %lens : tensor<1x8xi64>, tensor<2x1xi64> -> tensor<2x8xi1>
  %keep_f = xformer.cast %keep : tensor<2x8xi1> -> tensor<2x8xf32>
  %one = arith.constant dense<1.000000e+00> : tensor<f32>
  %pad = xformer.sub %one, %keep_f : tensor<f32>, tensor<2x8xf32> -> tensor<2x8xf32>
  %min = arith.constant dense<-3.40282347E+38> : tensor<f32>
  %pad_bias = xformer.mul %pad, %min : tensor<2x8xf32>, tensor<f32> -> tensor<2x8xf32>
  %ext_mask = xformer.reshape %pad_bias : tensor<2x8xf32> -> tensor<2x1x1x8xf32>
  // Layer 0: bidirectional self-attention.
  %l0_attention_self_query_weight = xformer.weight @encoder.layer.0.attention.self.query.weight : tensor<64x64xf32>
  %l0_attention_self_query_bias = xformer.weight @encoder.layer.0.attention.self.query.bias : tensor<64xf32>
  %q_proj = xformer.linear %x, %l0_attention_self_query_weight, %l0_attention_self_query_bias : tensor<2x8x64xf32>, tensor<64x64xf32>, tensor<64xf32> -> tensor<2x8x64xf32>
  %l0_attention_self_key_weight = xformer.weight @encoder.layer.0.attention.self.key.weight : tensor<64x64xf32>
  %l0_attention_self_key_bias = xformer.weight @encoder.layer.0.attention.self.key.bias : tensor<64xf32>
  %k_proj = xformer.linear %x, %l0_attention_self_key_weight, %l0_attention_self_key_bias : tensor<2x8x64xf32>, tensor<64x64xf32>, tensor<64xf32> -> tensor<2x8x64xf32>
  %l0_attention_self_value_weight = xformer.weight @encoder.layer.0.attention.self.value.weight : tensor<64x64xf32>
  %l0_attention_self_value_bias = xformer.weight @encoder.layer.0.attention.self.value.bias : tensor<64xf32>
  %v_proj = xformer.linear %x, %l0_attention_self_value_weight, %l0_attention_self_value_bias : tensor<2x8x64xf32>, tensor<64x64xf32>, tensor<64xf32> -> tensor<2x8x64xf32>
  %q = xformer.split_heads %q_proj, heads = 4 : tensor<2x8x64xf32> -> tensor<2x4x8x16xf32>
  %k = xformer.split_heads %k_proj, heads = 4 : tensor<2x8x64xf32> -> tensor<2x4x8x16xf32>
  %v = xformer.split_heads %v_proj, heads = 4 : tensor<2x8x64xf32> -> tensor<2x4x8x16xf32>
  %k_t = xformer.transpose %k, [0, 1, 3, 2] : tensor<2x4x8x16xf32> -> tensor<2x4x16x8xf32>
  %scores = xformer.matmul %q, %k_t : tensor<2x4x8x16xf32>, tensor<2x4x16x8xf32> -> tensor<2x4x8x8xf32>
  %sqrt_d = arith.constant dense<4.000000e+00> : tensor<f32>
  %scaled = xformer.div %scores, %sqrt_d : tensor<2x4x8x8xf32>, tensor<f32> -> tensor<2x4x8x8xf32>
  %masked = xformer.add %scaled, %ext_mask : tensor<2x4x8x8xf32>, tensor<2x1x1x8xf32> -> tensor<2x4x8x8xf32>
  %probs = xformer.softmax %masked, axis = 3 : tensor<2x4x8x8xf32>
  %ctx = xformer.matmul %probs, %v : tensor<2x4x8x8xf32>, tensor<2x4x8x16xf32> -> tensor<2x4x8x16xf32>
  %ctx_m = xformer.merge_heads %ctx : tensor<2x4x8x16xf32> -> tensor<2x8x64xf32>
  %l0_attention_output_dense_weight = xformer.weight @encoder.layer.0.attention.output.dense.weight : tensor<64x64xf32>
  %l0_attention_output_dense_bias = xformer.weight @encoder.layer.0.attention.output.dense.bias : tensor<64xf32>
  %attn_out = xformer.linear %ctx_m, %l0_attention_output_dense_weight, %l0_attention_output_dense_bias : tensor<2x8x64xf32>, tensor<64x64xf32>, tensor<64xf32> -> tensor<2x8x64xf32>
  %res = xformer.add %attn_out, %x : tensor<2x8x64xf32>, tensor<2x8x64xf32> -> tensor<2x8x64xf32>
  %l0_attention_output_LayerNorm_weight = xformer.weight @encoder.layer.0.attention.output.LayerNorm.weight : tensor<64xf32>
  %l0_attention_output_LayerNorm_bias = xformer.weight @encoder.layer.0.attention.output.LayerNorm.bias : tensor<64xf32>
  %x1 = xformer.layer_norm %res, %l0_attention_output_LayerNorm_weight, %l0_attention_output_LayerNorm_bias epsilon = 1.0e-12 : tensor<2x8x64xf32>, tensor<64xf32>, tensor<64xf32>
  // Layer 0: GELU MLP.
  %l0_intermediate_dense_weight = xformer.weight @encoder.layer.0.intermediate.dense.weight : tensor<256x64xf32>
  %l0_intermediate_dense_bias = xformer.weight @encoder.layer.0.intermediate.dense.bias : tensor<256xf32>
  %inter = xformer.linear %x1, %l0_intermediate_dense_weight, %l0_intermediate_dense_bias : tensor<2x8x64xf32>, tensor<256x64xf32>, tensor<256xf32> -> tensor<2x8x256xf32>
  %gelu = xformer.gelu erf %inter : tensor<2x8x256xf32>
  %l0_output_dense_weight = xformer.weight @encoder.layer.0.output.dense.weight : tensor<64x256xf32>
  %l0_output_dense_bias = xformer.weight @encoder.layer.0.output.dense.bias : tensor<64xf32>
  %mlp_out = xformer.linear %gelu, %l0_output_dense_weight, %l0_output_dense_bias : tensor<2x8x256xf32>, tensor<64x256xf32>, tensor<64xf32> -> tensor<2x8x64xf32>
  %res_1 = xformer.add %mlp_out, %x1 : tensor<2x8x64xf32>, tensor<2x8x64xf32> -> tensor<2x8x64xf32>
  %l0_output_LayerNorm_weight = xformer.weight @encoder.layer.0.output.LayerNorm.weight : tensor<64xf32>
  %l0_output_LayerNorm_bias = xformer.weight @encoder.layer.0.output.LayerNorm.bias : tensor<64xf32>
  %hidden = xformer.layer_norm %res_1, %l0_output_LayerNorm_weight, %l0_output_LayerNorm_bias epsilon = 1.0e-12 : tensor<2x8x64xf32>, tensor<64xf32>, tensor<64xf32>
  // Pooler: tanh(dense(hidden[:, 0])).
  %cls = xformer.slice %hidden [0, 0, 0] : tensor<2x8x64xf32> -> tensor<2x1x64xf32>
  %cls_flat = xformer.reshape %cls : tensor<2x1x64xf32> -> tensor<2x64xf32>
  %pooler_dense_weight = xformer.weight @pooler.dense.weight : tensor<64x64xf32>
  %pooler_dense_bias = xformer.weight @pooler.dense.bias : tensor<64xf32>
  %pool = xformer.linear %cls_flat, %pooler_dense_weight, %pooler_dense_bias : tensor<2x64xf32>, tensor<64x64xf32>, tensor<64xf32> -> tensor<2x64xf32>
  %pooled = xformer.tanh %pool : tensor<2x64xf32>
  return %hidden, %pooled : tensor<2x8x64xf32>, tensor<2x64xf32>
}
xformer.weight_decl @embeddings.word_embeddings.weight : tensor<100x64xf32>
xformer.weight_decl @embeddings.position_embeddings.weight : tensor<32x64xf32>
xformer.weight_decl @embeddings.token_type_embeddings.weight : tensor<2x64xf32>
xformer.weight_decl @embeddings.LayerNorm.weight : tensor<64xf32>
xformer.weight_decl @embeddings.LayerNorm.bias : tensor<64xf32>
xformer.weight_decl @encoder.layer.0.attention.self.query.weight : tensor<64x64xf32>
xformer.weight_decl @encoder.layer.0.attention.self.query.bias : tensor<64xf32>
xformer.weight_decl @encoder.layer.0.attention.self.key.weight : tensor<64x64xf32>
xformer.weight_decl @encoder.layer.0.attention.self.key.bias : tensor<64xf32>
xformer.weight_decl @encoder.layer.0.attention.self.value.weight : tensor<64x64xf32>
xformer.weight_decl @encoder.layer.0.attention.self.value.bias : tensor<64xf32>
xformer.weight_decl @encoder.layer.0.attention.output.dense.weight : tensor<64x64xf32>
xformer.weight_decl @encoder.layer.0.attention.output.dense.bias : tensor<64xf32>
xformer.weight_decl @encoder.layer.0.attention.output.LayerNorm.weight : tensor<64xf32>
xformer.weight_decl @encoder.layer.0.attention.output.LayerNorm.bias : tensor<64xf32>
xformer.weight_decl @encoder.layer.0.intermediate.dense.weight : tensor<256x64xf32>
xformer.weight_decl @encoder.layer.0.intermediate.dense.bias : tensor<256xf32>
xformer.weight_decl @encoder.layer.0.output.dense.weight : tensor<64x256xf32>
xformer.weight_decl @encoder.layer.0.output.dense.bias : tensor<64xf32>
xformer.weight_decl @encoder.layer.0.output.LayerNorm.weight : tensor<64xf32>
xformer.weight_decl @encoder.layer.0.output.LayerNorm.bias : tensor<64xf32>
xformer.weight_decl @pooler.dense.weight : tensor<64x64xf32>
xformer.weight_decl @pooler.dense.bias : tensor<64xf32>
