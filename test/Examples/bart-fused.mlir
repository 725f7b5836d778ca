// A BART-style encoder-decoder layer: learned positions (offset 2), post-norm,
// encoder self-attention over padded sources, decoder causal self-attention,
// decoder cross-attention over the encoder output, tied LM head.
// Sizes: batch 2, source 8, target 6, hidden 64, 4 heads of 16, vocab 100.
// Fused form: one xformer.attention per attention, its mask an attribute.
// RUN: xformer-opt %s | xformer-opt | FileCheck %s
// The masks make sense for the model: no diagnostic.
// RUN: xformer-opt %s --xformer-verify-masks --verify-diagnostics -o /dev/null
// CHECK-LABEL: func.func @forward
// CHECK: mask = #xformer.mask<bidirectional>, scale = 2.500000e-01 kv_lengths(%{{.+}} : tensor<2xi64>) : tensor<2x4x8x16xf32>
// CHECK: mask = #xformer.mask<causal>, scale = 2.500000e-01 : tensor<2x4x6x16xf32>, tensor<2x4x6x16xf32>
// CHECK: mask = #xformer.mask<cross>, scale = 2.500000e-01 kv_lengths(%{{.+}} : tensor<2xi64>) : tensor<2x4x6x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32> -> tensor<2x4x6x16xf32>

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
  %encoder_layers_0_self_attn_q_proj_weight = xformer.weight @model.encoder.layers.0.self_attn.q_proj.weight : tensor<64x64xf32>
  %encoder_layers_0_self_attn_q_proj_bias = xformer.weight @model.encoder.layers.0.self_attn.q_proj.bias : tensor<64xf32>
  %enc_sa_q_proj = xformer.linear %enc_x, %encoder_layers_0_self_attn_q_proj_weight, %encoder_layers_0_self_attn_q_proj_bias : tensor<2x8x64xf32>, tensor<64x64xf32>, tensor<64xf32> -> tensor<2x8x64xf32>
  %encoder_layers_0_self_attn_k_proj_weight = xformer.weight @model.encoder.layers.0.self_attn.k_proj.weight : tensor<64x64xf32>
  %encoder_layers_0_self_attn_k_proj_bias = xformer.weight @model.encoder.layers.0.self_attn.k_proj.bias : tensor<64xf32>
  %enc_sa_k_proj = xformer.linear %enc_x, %encoder_layers_0_self_attn_k_proj_weight, %encoder_layers_0_self_attn_k_proj_bias : tensor<2x8x64xf32>, tensor<64x64xf32>, tensor<64xf32> -> tensor<2x8x64xf32>
  %encoder_layers_0_self_attn_v_proj_weight = xformer.weight @model.encoder.layers.0.self_attn.v_proj.weight : tensor<64x64xf32>
  %encoder_layers_0_self_attn_v_proj_bias = xformer.weight @model.encoder.layers.0.self_attn.v_proj.bias : tensor<64xf32>
  %enc_sa_v_proj = xformer.linear %enc_x, %encoder_layers_0_self_attn_v_proj_weight, %encoder_layers_0_self_attn_v_proj_bias : tensor<2x8x64xf32>, tensor<64x64xf32>, tensor<64xf32> -> tensor<2x8x64xf32>
  %enc_sa_q = xformer.split_heads %enc_sa_q_proj, heads = 4 : tensor<2x8x64xf32> -> tensor<2x4x8x16xf32>
  %enc_sa_k = xformer.split_heads %enc_sa_k_proj, heads = 4 : tensor<2x8x64xf32> -> tensor<2x4x8x16xf32>
  %enc_sa_v = xformer.split_heads %enc_sa_v_proj, heads = 4 : tensor<2x8x64xf32> -> tensor<2x4x8x16xf32>
  %enc_sa_ctx = xformer.attention %enc_sa_q, %enc_sa_k, %enc_sa_v, mask = #xformer.mask<bidirectional>, scale = 2.500000e-01 kv_lengths(%src_lengths : tensor<2xi64>) : tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32> -> tensor<2x4x8x16xf32>
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
  %decoder_layers_0_self_attn_q_proj_weight = xformer.weight @model.decoder.layers.0.self_attn.q_proj.weight : tensor<64x64xf32>
  %decoder_layers_0_self_attn_q_proj_bias = xformer.weight @model.decoder.layers.0.self_attn.q_proj.bias : tensor<64xf32>
  %dec_sa_q_proj = xformer.linear %dec_x, %decoder_layers_0_self_attn_q_proj_weight, %decoder_layers_0_self_attn_q_proj_bias : tensor<2x6x64xf32>, tensor<64x64xf32>, tensor<64xf32> -> tensor<2x6x64xf32>
  %decoder_layers_0_self_attn_k_proj_weight = xformer.weight @model.decoder.layers.0.self_attn.k_proj.weight : tensor<64x64xf32>
  %decoder_layers_0_self_attn_k_proj_bias = xformer.weight @model.decoder.layers.0.self_attn.k_proj.bias : tensor<64xf32>
  %dec_sa_k_proj = xformer.linear %dec_x, %decoder_layers_0_self_attn_k_proj_weight, %decoder_layers_0_self_attn_k_proj_bias : tensor<2x6x64xf32>, tensor<64x64xf32>, tensor<64xf32> -> tensor<2x6x64xf32>
  %decoder_layers_0_self_attn_v_proj_weight = xformer.weight @model.decoder.layers.0.self_attn.v_proj.weight : tensor<64x64xf32>
  %decoder_layers_0_self_attn_v_proj_bias = xformer.weight @model.decoder.layers.0.self_attn.v_proj.bias : tensor<64xf32>
  %dec_sa_v_proj = xformer.linear %dec_x, %decoder_layers_0_self_attn_v_proj_weight, %decoder_layers_0_self_attn_v_proj_bias : tensor<2x6x64xf32>, tensor<64x64xf32>, tensor<64xf32> -> tensor<2x6x64xf32>
  %dec_sa_q = xformer.split_heads %dec_sa_q_proj, heads = 4 : tensor<2x6x64xf32> -> tensor<2x4x6x16xf32>
  %dec_sa_k = xformer.split_heads %dec_sa_k_proj, heads = 4 : tensor<2x6x64xf32> -> tensor<2x4x6x16xf32>
  %dec_sa_v = xformer.split_heads %dec_sa_v_proj, heads = 4 : tensor<2x6x64xf32> -> tensor<2x4x6x16xf32>
  %dec_sa_ctx = xformer.attention %dec_sa_q, %dec_sa_k, %dec_sa_v, mask = #xformer.mask<causal>, scale = 2.500000e-01 : tensor<2x4x6x16xf32>, tensor<2x4x6x16xf32>, tensor<2x4x6x16xf32> -> tensor<2x4x6x16xf32>
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
  %dec_ca_q = xformer.split_heads %dec_ca_q_proj, heads = 4 : tensor<2x6x64xf32> -> tensor<2x4x6x16xf32>
  %dec_ca_k = xformer.split_heads %dec_ca_k_proj, heads = 4 : tensor<2x8x64xf32> -> tensor<2x4x8x16xf32>
  %dec_ca_v = xformer.split_heads %dec_ca_v_proj, heads = 4 : tensor<2x8x64xf32> -> tensor<2x4x8x16xf32>
  %dec_ca_ctx = xformer.attention %dec_ca_q, %dec_ca_k, %dec_ca_v, mask = #xformer.mask<cross>, scale = 2.500000e-01 kv_lengths(%src_lengths : tensor<2xi64>) : tensor<2x4x6x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32> -> tensor<2x4x6x16xf32>
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
