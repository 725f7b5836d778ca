// A BART-style encoder-decoder layer: learned positions (offset 2), post-norm,
// encoder self-attention over padded sources, decoder causal self-attention,
// decoder cross-attention over the encoder output, tied LM head.
// Sizes: batch 2, source 8, target 6, hidden 64, 4 heads of 16, vocab 100.
// Unfused form, as an exporter emits it: matmul, scale, mask, softmax, matmul.
// RUN: xformer-opt %s | xformer-opt | FileCheck %s
// Fusion gives exactly the hand-fused form:
// RUN: xformer-opt %s --xformer-fuse-attention --canonicalize --cse > %t.fused
// RUN: xformer-opt %S/bart-fused.mlir --canonicalize --cse | diff %t.fused -
// CHECK-LABEL: func.func @forward
// CHECK: xformer.compare lt
// CHECK-COUNT-3: xformer.softmax
// CHECK-NOT: xformer.attention

func.func @forward(%src_ids: tensor<2x8xi64>, %src_lengths: tensor<2xi64>, %tgt_ids: tensor<2x6xi64>) -> (tensor<2x8x64xf32>, tensor<2x6x100xf32>) attributes {xformer.model = #xformer.model<encoder_decoder>} {
  %shared_weight = xformer.weight @model.shared.weight : tensor<100x64xf32>
  %two = arith.constant dense<2> : tensor<i64>
  // Encoder: learned positions, post-norm layer with bidirectional self-attention over padded sources.
  %encoder_embed_positions_weight = xformer.weight @model.encoder.embed_positions.weight : tensor<34x64xf32>
  %enc_tok = xformer.embedding %shared_weight, %src_ids : tensor<100x64xf32>, tensor<2x8xi64> -> tensor<2x8x64xf32>
  %enc_pos = xformer.positions : tensor<8xi64>
  // BART's learned positions are offset by 2.
  %enc_pos_off = xformer.add %enc_pos, %two : tensor<8xi64>, tensor<i64> -> tensor<8xi64>
  %enc_pos_emb = xformer.embedding %encoder_embed_positions_weight, %enc_pos_off : tensor<34x64xf32>, tensor<8xi64> -> tensor<8x64xf32>
  %enc_emb = xformer.add %enc_tok, %enc_pos_emb : tensor<2x8x64xf32>, tensor<8x64xf32> -> tensor<2x8x64xf32>
  %encoder_layernorm_embedding_weight = xformer.weight @model.encoder.layernorm_embedding.weight : tensor<64xf32>
  %encoder_layernorm_embedding_bias = xformer.weight @model.encoder.layernorm_embedding.bias : tensor<64xf32>
  %enc_x = xformer.layer_norm %enc_emb, %encoder_layernorm_embedding_weight, %encoder_layernorm_embedding_bias epsilon = 1.000000e-05 : tensor<2x8x64xf32>, tensor<64xf32>, tensor<64xf32>
  // Padding bias over source keys: (1 - (position < length)) * finfo(f32).min, [batch, 1, 1, src].
  %src_key_pos = xformer.reshape %enc_pos : tensor<8xi64> -> tensor<1x8xi64>
  %src_lens = xformer.reshape %src_lengths : tensor<2xi64> -> tensor<2x1xi64>
  %src_keep = xformer.compare lt, %src_key_pos, %src_lens : tensor<1x8xi64>, tensor<2x1xi64> -> tensor<2x8xi1>
  %src_keep_f = xformer.cast %src_keep : tensor<2x8xi1> -> tensor<2x8xf32>
  %one = arith.constant dense<1.000000e+00> : tensor<f32>
  %src_pad = xformer.sub %one, %src_keep_f : tensor<f32>, tensor<2x8xf32> -> tensor<2x8xf32>
  %min = arith.constant dense<-3.40282347E+38> : tensor<f32>
  %src_pad_bias = xformer.mul %src_pad, %min : tensor<2x8xf32>, tensor<f32> -> tensor<2x8xf32>
  %src_mask = xformer.reshape %src_pad_bias : tensor<2x8xf32> -> tensor<2x1x1x8xf32>
  %encoder_layers_0_self_attn_q_proj_weight = xformer.weight @model.encoder.layers.0.self_attn.q_proj.weight : tensor<64x64xf32>
  %encoder_layers_0_self_attn_q_proj_bias = xformer.weight @model.encoder.layers.0.self_attn.q_proj.bias : tensor<64xf32>
  %enc_sa_q_proj = xformer.linear %enc_x, %encoder_layers_0_self_attn_q_proj_weight, %encoder_layers_0_self_attn_q_proj_bias : tensor<2x8x64xf32>, tensor<64x64xf32>, tensor<64xf32> -> tensor<2x8x64xf32>
  %encoder_layers_0_self_attn_k_proj_weight = xformer.weight @model.encoder.layers.0.self_attn.k_proj.weight : tensor<64x64xf32>
  %encoder_layers_0_self_attn_k_proj_bias = xformer.weight @model.encoder.layers.0.self_attn.k_proj.bias : tensor<64xf32>
  %enc_sa_k_proj = xformer.linear %enc_x, %encoder_layers_0_self_attn_k_proj_weight, %encoder_layers_0_self_attn_k_proj_bias : tensor<2x8x64xf32>, tensor<64x64xf32>, tensor<64xf32> -> tensor<2x8x64xf32>
  %encoder_layers_0_self_attn_v_proj_weight = xformer.weight @model.encoder.layers.0.self_attn.v_proj.weight : tensor<64x64xf32>
  %encoder_layers_0_self_attn_v_proj_bias = xformer.weight @model.encoder.layers.0.self_attn.v_proj.bias : tensor<64xf32>
  %enc_sa_v_proj = xformer.linear %enc_x, %encoder_layers_0_self_attn_v_proj_weight, %encoder_layers_0_self_attn_v_proj_bias : tensor<2x8x64xf32>, tensor<64x64xf32>, tensor<64xf32> -> tensor<2x8x64xf32>
  // BART scales the query projection by head_dim^-0.5.
  %enc_sa_scaling = arith.constant dense<2.500000e-01> : tensor<f32>
  %enc_sa_q_scaled = xformer.mul %enc_sa_q_proj, %enc_sa_scaling : tensor<2x8x64xf32>, tensor<f32> -> tensor<2x8x64xf32>
  %enc_sa_q = xformer.split_heads %enc_sa_q_scaled, heads = 4 : tensor<2x8x64xf32> -> tensor<2x4x8x16xf32>
  %enc_sa_k = xformer.split_heads %enc_sa_k_proj, heads = 4 : tensor<2x8x64xf32> -> tensor<2x4x8x16xf32>
  %enc_sa_v = xformer.split_heads %enc_sa_v_proj, heads = 4 : tensor<2x8x64xf32> -> tensor<2x4x8x16xf32>
  %enc_sa_scores = xformer.matmul %enc_sa_q, %enc_sa_k {transpose_rhs} : tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32> -> tensor<2x4x8x8xf32>
  %enc_sa_masked = xformer.add %enc_sa_scores, %src_mask : tensor<2x4x8x8xf32>, tensor<2x1x1x8xf32> -> tensor<2x4x8x8xf32>
  %enc_sa_probs = xformer.softmax %enc_sa_masked, axis = 3 : tensor<2x4x8x8xf32>
  %enc_sa_ctx = xformer.matmul %enc_sa_probs, %enc_sa_v : tensor<2x4x8x8xf32>, tensor<2x4x8x16xf32> -> tensor<2x4x8x16xf32>
  %enc_sa_ctx_m = xformer.merge_heads %enc_sa_ctx : tensor<2x4x8x16xf32> -> tensor<2x8x64xf32>
  %encoder_layers_0_self_attn_out_proj_weight = xformer.weight @model.encoder.layers.0.self_attn.out_proj.weight : tensor<64x64xf32>
  %encoder_layers_0_self_attn_out_proj_bias = xformer.weight @model.encoder.layers.0.self_attn.out_proj.bias : tensor<64xf32>
  %enc_sa_out = xformer.linear %enc_sa_ctx_m, %encoder_layers_0_self_attn_out_proj_weight, %encoder_layers_0_self_attn_out_proj_bias : tensor<2x8x64xf32>, tensor<64x64xf32>, tensor<64xf32> -> tensor<2x8x64xf32>
  %enc_x1_res = xformer.add %enc_sa_out, %enc_x : tensor<2x8x64xf32>, tensor<2x8x64xf32> -> tensor<2x8x64xf32>
  %encoder_layers_0_self_attn_layer_norm_weight = xformer.weight @model.encoder.layers.0.self_attn_layer_norm.weight : tensor<64xf32>
  %encoder_layers_0_self_attn_layer_norm_bias = xformer.weight @model.encoder.layers.0.self_attn_layer_norm.bias : tensor<64xf32>
  %enc_x1 = xformer.layer_norm %enc_x1_res, %encoder_layers_0_self_attn_layer_norm_weight, %encoder_layers_0_self_attn_layer_norm_bias epsilon = 1.000000e-05 : tensor<2x8x64xf32>, tensor<64xf32>, tensor<64xf32>
  %encoder_layers_0_fc1_weight = xformer.weight @model.encoder.layers.0.fc1.weight : tensor<128x64xf32>
  %encoder_layers_0_fc1_bias = xformer.weight @model.encoder.layers.0.fc1.bias : tensor<128xf32>
  %enc_ffn_fc1 = xformer.linear %enc_x1, %encoder_layers_0_fc1_weight, %encoder_layers_0_fc1_bias : tensor<2x8x64xf32>, tensor<128x64xf32>, tensor<128xf32> -> tensor<2x8x128xf32>
  %enc_ffn_gelu = xformer.gelu erf %enc_ffn_fc1 : tensor<2x8x128xf32>
  %encoder_layers_0_fc2_weight = xformer.weight @model.encoder.layers.0.fc2.weight : tensor<64x128xf32>
  %encoder_layers_0_fc2_bias = xformer.weight @model.encoder.layers.0.fc2.bias : tensor<64xf32>
  %enc_ffn_fc2 = xformer.linear %enc_ffn_gelu, %encoder_layers_0_fc2_weight, %encoder_layers_0_fc2_bias : tensor<2x8x128xf32>, tensor<64x128xf32>, tensor<64xf32> -> tensor<2x8x64xf32>
  %enc_out_res = xformer.add %enc_ffn_fc2, %enc_x1 : tensor<2x8x64xf32>, tensor<2x8x64xf32> -> tensor<2x8x64xf32>
  %encoder_layers_0_final_layer_norm_weight = xformer.weight @model.encoder.layers.0.final_layer_norm.weight : tensor<64xf32>
  %encoder_layers_0_final_layer_norm_bias = xformer.weight @model.encoder.layers.0.final_layer_norm.bias : tensor<64xf32>
  %enc_out = xformer.layer_norm %enc_out_res, %encoder_layers_0_final_layer_norm_weight, %encoder_layers_0_final_layer_norm_bias epsilon = 1.000000e-05 : tensor<2x8x64xf32>, tensor<64xf32>, tensor<64xf32>
  // Decoder: causal self-attention, cross-attention over the encoder output, MLP.
  %decoder_embed_positions_weight = xformer.weight @model.decoder.embed_positions.weight : tensor<34x64xf32>
  %dec_tok = xformer.embedding %shared_weight, %tgt_ids : tensor<100x64xf32>, tensor<2x6xi64> -> tensor<2x6x64xf32>
  %dec_pos = xformer.positions : tensor<6xi64>
  // BART's learned positions are offset by 2.
  %dec_pos_off = xformer.add %dec_pos, %two : tensor<6xi64>, tensor<i64> -> tensor<6xi64>
  %dec_pos_emb = xformer.embedding %decoder_embed_positions_weight, %dec_pos_off : tensor<34x64xf32>, tensor<6xi64> -> tensor<6x64xf32>
  %dec_emb = xformer.add %dec_tok, %dec_pos_emb : tensor<2x6x64xf32>, tensor<6x64xf32> -> tensor<2x6x64xf32>
  %decoder_layernorm_embedding_weight = xformer.weight @model.decoder.layernorm_embedding.weight : tensor<64xf32>
  %decoder_layernorm_embedding_bias = xformer.weight @model.decoder.layernorm_embedding.bias : tensor<64xf32>
  %dec_x = xformer.layer_norm %dec_emb, %decoder_layernorm_embedding_weight, %decoder_layernorm_embedding_bias epsilon = 1.000000e-05 : tensor<2x6x64xf32>, tensor<64xf32>, tensor<64xf32>
  // Additive causal mask over target positions.
  %tgt_key_pos = xformer.reshape %dec_pos : tensor<6xi64> -> tensor<1x6xi64>
  %tgt_query_pos = xformer.reshape %dec_pos : tensor<6xi64> -> tensor<6x1xi64>
  %tgt_keep = xformer.compare le, %tgt_key_pos, %tgt_query_pos : tensor<1x6xi64>, tensor<6x1xi64> -> tensor<6x6xi1>
  %zero = arith.constant dense<0.000000e+00> : tensor<f32>
  %causal_mask = xformer.select %tgt_keep, %zero, %min : tensor<6x6xi1>, tensor<f32>, tensor<f32> -> tensor<6x6xf32>
  %decoder_layers_0_self_attn_q_proj_weight = xformer.weight @model.decoder.layers.0.self_attn.q_proj.weight : tensor<64x64xf32>
  %decoder_layers_0_self_attn_q_proj_bias = xformer.weight @model.decoder.layers.0.self_attn.q_proj.bias : tensor<64xf32>
  %dec_sa_q_proj = xformer.linear %dec_x, %decoder_layers_0_self_attn_q_proj_weight, %decoder_layers_0_self_attn_q_proj_bias : tensor<2x6x64xf32>, tensor<64x64xf32>, tensor<64xf32> -> tensor<2x6x64xf32>
  %decoder_layers_0_self_attn_k_proj_weight = xformer.weight @model.decoder.layers.0.self_attn.k_proj.weight : tensor<64x64xf32>
  %decoder_layers_0_self_attn_k_proj_bias = xformer.weight @model.decoder.layers.0.self_attn.k_proj.bias : tensor<64xf32>
  %dec_sa_k_proj = xformer.linear %dec_x, %decoder_layers_0_self_attn_k_proj_weight, %decoder_layers_0_self_attn_k_proj_bias : tensor<2x6x64xf32>, tensor<64x64xf32>, tensor<64xf32> -> tensor<2x6x64xf32>
  %decoder_layers_0_self_attn_v_proj_weight = xformer.weight @model.decoder.layers.0.self_attn.v_proj.weight : tensor<64x64xf32>
  %decoder_layers_0_self_attn_v_proj_bias = xformer.weight @model.decoder.layers.0.self_attn.v_proj.bias : tensor<64xf32>
  %dec_sa_v_proj = xformer.linear %dec_x, %decoder_layers_0_self_attn_v_proj_weight, %decoder_layers_0_self_attn_v_proj_bias : tensor<2x6x64xf32>, tensor<64x64xf32>, tensor<64xf32> -> tensor<2x6x64xf32>
  // BART scales the query projection by head_dim^-0.5.
  %dec_sa_scaling = arith.constant dense<2.500000e-01> : tensor<f32>
  %dec_sa_q_scaled = xformer.mul %dec_sa_q_proj, %dec_sa_scaling : tensor<2x6x64xf32>, tensor<f32> -> tensor<2x6x64xf32>
  %dec_sa_q = xformer.split_heads %dec_sa_q_scaled, heads = 4 : tensor<2x6x64xf32> -> tensor<2x4x6x16xf32>
  %dec_sa_k = xformer.split_heads %dec_sa_k_proj, heads = 4 : tensor<2x6x64xf32> -> tensor<2x4x6x16xf32>
  %dec_sa_v = xformer.split_heads %dec_sa_v_proj, heads = 4 : tensor<2x6x64xf32> -> tensor<2x4x6x16xf32>
  %dec_sa_scores = xformer.matmul %dec_sa_q, %dec_sa_k {transpose_rhs} : tensor<2x4x6x16xf32>, tensor<2x4x6x16xf32> -> tensor<2x4x6x6xf32>
  %dec_sa_masked = xformer.add %dec_sa_scores, %causal_mask : tensor<2x4x6x6xf32>, tensor<6x6xf32> -> tensor<2x4x6x6xf32>
  %dec_sa_probs = xformer.softmax %dec_sa_masked, axis = 3 : tensor<2x4x6x6xf32>
  %dec_sa_ctx = xformer.matmul %dec_sa_probs, %dec_sa_v : tensor<2x4x6x6xf32>, tensor<2x4x6x16xf32> -> tensor<2x4x6x16xf32>
  %dec_sa_ctx_m = xformer.merge_heads %dec_sa_ctx : tensor<2x4x6x16xf32> -> tensor<2x6x64xf32>
  %decoder_layers_0_self_attn_out_proj_weight = xformer.weight @model.decoder.layers.0.self_attn.out_proj.weight : tensor<64x64xf32>
  %decoder_layers_0_self_attn_out_proj_bias = xformer.weight @model.decoder.layers.0.self_attn.out_proj.bias : tensor<64xf32>
  %dec_sa_out = xformer.linear %dec_sa_ctx_m, %decoder_layers_0_self_attn_out_proj_weight, %decoder_layers_0_self_attn_out_proj_bias : tensor<2x6x64xf32>, tensor<64x64xf32>, tensor<64xf32> -> tensor<2x6x64xf32>
  %dec_y1_res = xformer.add %dec_sa_out, %dec_x : tensor<2x6x64xf32>, tensor<2x6x64xf32> -> tensor<2x6x64xf32>
  %decoder_layers_0_self_attn_layer_norm_weight = xformer.weight @model.decoder.layers.0.self_attn_layer_norm.weight : tensor<64xf32>
  %decoder_layers_0_self_attn_layer_norm_bias = xformer.weight @model.decoder.layers.0.self_attn_layer_norm.bias : tensor<64xf32>
  %dec_y1 = xformer.layer_norm %dec_y1_res, %decoder_layers_0_self_attn_layer_norm_weight, %decoder_layers_0_self_attn_layer_norm_bias epsilon = 1.000000e-05 : tensor<2x6x64xf32>, tensor<64xf32>, tensor<64xf32>
  %decoder_layers_0_encoder_attn_q_proj_weight = xformer.weight @model.decoder.layers.0.encoder_attn.q_proj.weight : tensor<64x64xf32>
  %decoder_layers_0_encoder_attn_q_proj_bias = xformer.weight @model.decoder.layers.0.encoder_attn.q_proj.bias : tensor<64xf32>
  %dec_ca_q_proj = xformer.linear %dec_y1, %decoder_layers_0_encoder_attn_q_proj_weight, %decoder_layers_0_encoder_attn_q_proj_bias : tensor<2x6x64xf32>, tensor<64x64xf32>, tensor<64xf32> -> tensor<2x6x64xf32>
  %decoder_layers_0_encoder_attn_k_proj_weight = xformer.weight @model.decoder.layers.0.encoder_attn.k_proj.weight : tensor<64x64xf32>
  %decoder_layers_0_encoder_attn_k_proj_bias = xformer.weight @model.decoder.layers.0.encoder_attn.k_proj.bias : tensor<64xf32>
  %dec_ca_k_proj = xformer.linear %enc_out, %decoder_layers_0_encoder_attn_k_proj_weight, %decoder_layers_0_encoder_attn_k_proj_bias : tensor<2x8x64xf32>, tensor<64x64xf32>, tensor<64xf32> -> tensor<2x8x64xf32>
  %decoder_layers_0_encoder_attn_v_proj_weight = xformer.weight @model.decoder.layers.0.encoder_attn.v_proj.weight : tensor<64x64xf32>
  %decoder_layers_0_encoder_attn_v_proj_bias = xformer.weight @model.decoder.layers.0.encoder_attn.v_proj.bias : tensor<64xf32>
  %dec_ca_v_proj = xformer.linear %enc_out, %decoder_layers_0_encoder_attn_v_proj_weight, %decoder_layers_0_encoder_attn_v_proj_bias : tensor<2x8x64xf32>, tensor<64x64xf32>, tensor<64xf32> -> tensor<2x8x64xf32>
  // BART scales the query projection by head_dim^-0.5.
  %dec_ca_scaling = arith.constant dense<2.500000e-01> : tensor<f32>
  %dec_ca_q_scaled = xformer.mul %dec_ca_q_proj, %dec_ca_scaling : tensor<2x6x64xf32>, tensor<f32> -> tensor<2x6x64xf32>
  %dec_ca_q = xformer.split_heads %dec_ca_q_scaled, heads = 4 : tensor<2x6x64xf32> -> tensor<2x4x6x16xf32>
  %dec_ca_k = xformer.split_heads %dec_ca_k_proj, heads = 4 : tensor<2x8x64xf32> -> tensor<2x4x8x16xf32>
  %dec_ca_v = xformer.split_heads %dec_ca_v_proj, heads = 4 : tensor<2x8x64xf32> -> tensor<2x4x8x16xf32>
  %dec_ca_scores = xformer.matmul %dec_ca_q, %dec_ca_k {transpose_rhs} : tensor<2x4x6x16xf32>, tensor<2x4x8x16xf32> -> tensor<2x4x6x8xf32>
  %dec_ca_masked = xformer.add %dec_ca_scores, %src_mask : tensor<2x4x6x8xf32>, tensor<2x1x1x8xf32> -> tensor<2x4x6x8xf32>
  %dec_ca_probs = xformer.softmax %dec_ca_masked, axis = 3 : tensor<2x4x6x8xf32>
  %dec_ca_ctx = xformer.matmul %dec_ca_probs, %dec_ca_v : tensor<2x4x6x8xf32>, tensor<2x4x8x16xf32> -> tensor<2x4x6x16xf32>
  %dec_ca_ctx_m = xformer.merge_heads %dec_ca_ctx : tensor<2x4x6x16xf32> -> tensor<2x6x64xf32>
  %decoder_layers_0_encoder_attn_out_proj_weight = xformer.weight @model.decoder.layers.0.encoder_attn.out_proj.weight : tensor<64x64xf32>
  %decoder_layers_0_encoder_attn_out_proj_bias = xformer.weight @model.decoder.layers.0.encoder_attn.out_proj.bias : tensor<64xf32>
  %dec_ca_out = xformer.linear %dec_ca_ctx_m, %decoder_layers_0_encoder_attn_out_proj_weight, %decoder_layers_0_encoder_attn_out_proj_bias : tensor<2x6x64xf32>, tensor<64x64xf32>, tensor<64xf32> -> tensor<2x6x64xf32>
  %dec_y2_res = xformer.add %dec_ca_out, %dec_y1 : tensor<2x6x64xf32>, tensor<2x6x64xf32> -> tensor<2x6x64xf32>
  %decoder_layers_0_encoder_attn_layer_norm_weight = xformer.weight @model.decoder.layers.0.encoder_attn_layer_norm.weight : tensor<64xf32>
  %decoder_layers_0_encoder_attn_layer_norm_bias = xformer.weight @model.decoder.layers.0.encoder_attn_layer_norm.bias : tensor<64xf32>
  %dec_y2 = xformer.layer_norm %dec_y2_res, %decoder_layers_0_encoder_attn_layer_norm_weight, %decoder_layers_0_encoder_attn_layer_norm_bias epsilon = 1.000000e-05 : tensor<2x6x64xf32>, tensor<64xf32>, tensor<64xf32>
  %decoder_layers_0_fc1_weight = xformer.weight @model.decoder.layers.0.fc1.weight : tensor<128x64xf32>
  %decoder_layers_0_fc1_bias = xformer.weight @model.decoder.layers.0.fc1.bias : tensor<128xf32>
  %dec_ffn_fc1 = xformer.linear %dec_y2, %decoder_layers_0_fc1_weight, %decoder_layers_0_fc1_bias : tensor<2x6x64xf32>, tensor<128x64xf32>, tensor<128xf32> -> tensor<2x6x128xf32>
  %dec_ffn_gelu = xformer.gelu erf %dec_ffn_fc1 : tensor<2x6x128xf32>
  %decoder_layers_0_fc2_weight = xformer.weight @model.decoder.layers.0.fc2.weight : tensor<64x128xf32>
  %decoder_layers_0_fc2_bias = xformer.weight @model.decoder.layers.0.fc2.bias : tensor<64xf32>
  %dec_ffn_fc2 = xformer.linear %dec_ffn_gelu, %decoder_layers_0_fc2_weight, %decoder_layers_0_fc2_bias : tensor<2x6x128xf32>, tensor<64x128xf32>, tensor<64xf32> -> tensor<2x6x64xf32>
  %dec_out_res = xformer.add %dec_ffn_fc2, %dec_y2 : tensor<2x6x64xf32>, tensor<2x6x64xf32> -> tensor<2x6x64xf32>
  %decoder_layers_0_final_layer_norm_weight = xformer.weight @model.decoder.layers.0.final_layer_norm.weight : tensor<64xf32>
  %decoder_layers_0_final_layer_norm_bias = xformer.weight @model.decoder.layers.0.final_layer_norm.bias : tensor<64xf32>
  %dec_out = xformer.layer_norm %dec_out_res, %decoder_layers_0_final_layer_norm_weight, %decoder_layers_0_final_layer_norm_bias epsilon = 1.000000e-05 : tensor<2x6x64xf32>, tensor<64xf32>, tensor<64xf32>
  // LM head tied to the shared embedding, plus final_logits_bias.
  %final_logits_bias = xformer.weight @final_logits_bias : tensor<1x100xf32>
  %logits_nob = xformer.linear %dec_out, %shared_weight : tensor<2x6x64xf32>, tensor<100x64xf32> -> tensor<2x6x100xf32>
  %logits = xformer.add %logits_nob, %final_logits_bias : tensor<2x6x100xf32>, tensor<1x100xf32> -> tensor<2x6x100xf32>
  return %enc_out, %logits : tensor<2x8x64xf32>, tensor<2x6x100xf32>
}
xformer.weight_decl @model.shared.weight : tensor<100x64xf32>
xformer.weight_decl @model.encoder.embed_positions.weight : tensor<34x64xf32>
xformer.weight_decl @model.encoder.layernorm_embedding.weight : tensor<64xf32>
xformer.weight_decl @model.encoder.layernorm_embedding.bias : tensor<64xf32>
xformer.weight_decl @model.encoder.layers.0.self_attn.q_proj.weight : tensor<64x64xf32>
xformer.weight_decl @model.encoder.layers.0.self_attn.q_proj.bias : tensor<64xf32>
xformer.weight_decl @model.encoder.layers.0.self_attn.k_proj.weight : tensor<64x64xf32>
xformer.weight_decl @model.encoder.layers.0.self_attn.k_proj.bias : tensor<64xf32>
xformer.weight_decl @model.encoder.layers.0.self_attn.v_proj.weight : tensor<64x64xf32>
xformer.weight_decl @model.encoder.layers.0.self_attn.v_proj.bias : tensor<64xf32>
xformer.weight_decl @model.encoder.layers.0.self_attn.out_proj.weight : tensor<64x64xf32>
xformer.weight_decl @model.encoder.layers.0.self_attn.out_proj.bias : tensor<64xf32>
xformer.weight_decl @model.encoder.layers.0.self_attn_layer_norm.weight : tensor<64xf32>
xformer.weight_decl @model.encoder.layers.0.self_attn_layer_norm.bias : tensor<64xf32>
xformer.weight_decl @model.encoder.layers.0.fc1.weight : tensor<128x64xf32>
xformer.weight_decl @model.encoder.layers.0.fc1.bias : tensor<128xf32>
xformer.weight_decl @model.encoder.layers.0.fc2.weight : tensor<64x128xf32>
xformer.weight_decl @model.encoder.layers.0.fc2.bias : tensor<64xf32>
xformer.weight_decl @model.encoder.layers.0.final_layer_norm.weight : tensor<64xf32>
xformer.weight_decl @model.encoder.layers.0.final_layer_norm.bias : tensor<64xf32>
xformer.weight_decl @model.decoder.embed_positions.weight : tensor<34x64xf32>
xformer.weight_decl @model.decoder.layernorm_embedding.weight : tensor<64xf32>
xformer.weight_decl @model.decoder.layernorm_embedding.bias : tensor<64xf32>
xformer.weight_decl @model.decoder.layers.0.self_attn.q_proj.weight : tensor<64x64xf32>
xformer.weight_decl @model.decoder.layers.0.self_attn.q_proj.bias : tensor<64xf32>
xformer.weight_decl @model.decoder.layers.0.self_attn.k_proj.weight : tensor<64x64xf32>
xformer.weight_decl @model.decoder.layers.0.self_attn.k_proj.bias : tensor<64xf32>
xformer.weight_decl @model.decoder.layers.0.self_attn.v_proj.weight : tensor<64x64xf32>
xformer.weight_decl @model.decoder.layers.0.self_attn.v_proj.bias : tensor<64xf32>
xformer.weight_decl @model.decoder.layers.0.self_attn.out_proj.weight : tensor<64x64xf32>
xformer.weight_decl @model.decoder.layers.0.self_attn.out_proj.bias : tensor<64xf32>
xformer.weight_decl @model.decoder.layers.0.self_attn_layer_norm.weight : tensor<64xf32>
xformer.weight_decl @model.decoder.layers.0.self_attn_layer_norm.bias : tensor<64xf32>
xformer.weight_decl @model.decoder.layers.0.encoder_attn.q_proj.weight : tensor<64x64xf32>
xformer.weight_decl @model.decoder.layers.0.encoder_attn.q_proj.bias : tensor<64xf32>
xformer.weight_decl @model.decoder.layers.0.encoder_attn.k_proj.weight : tensor<64x64xf32>
xformer.weight_decl @model.decoder.layers.0.encoder_attn.k_proj.bias : tensor<64xf32>
xformer.weight_decl @model.decoder.layers.0.encoder_attn.v_proj.weight : tensor<64x64xf32>
xformer.weight_decl @model.decoder.layers.0.encoder_attn.v_proj.bias : tensor<64xf32>
xformer.weight_decl @model.decoder.layers.0.encoder_attn.out_proj.weight : tensor<64x64xf32>
xformer.weight_decl @model.decoder.layers.0.encoder_attn.out_proj.bias : tensor<64xf32>
xformer.weight_decl @model.decoder.layers.0.encoder_attn_layer_norm.weight : tensor<64xf32>
xformer.weight_decl @model.decoder.layers.0.encoder_attn_layer_norm.bias : tensor<64xf32>
xformer.weight_decl @model.decoder.layers.0.fc1.weight : tensor<128x64xf32>
xformer.weight_decl @model.decoder.layers.0.fc1.bias : tensor<128xf32>
xformer.weight_decl @model.decoder.layers.0.fc2.weight : tensor<64x128xf32>
xformer.weight_decl @model.decoder.layers.0.fc2.bias : tensor<64xf32>
xformer.weight_decl @model.decoder.layers.0.final_layer_norm.weight : tensor<64xf32>
xformer.weight_decl @model.decoder.layers.0.final_layer_norm.bias : tensor<64xf32>
xformer.weight_decl @final_logits_bias : tensor<1x100xf32>
