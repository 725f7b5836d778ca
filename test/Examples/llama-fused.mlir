// A Llama-style decoder layer: RMSNorm, rotary embeddings, grouped-query
// causal attention (4 query heads, 2 KV heads), SwiGLU MLP, untied LM head.
// Sizes: batch 2, seq 8, hidden 64, head_dim 16, intermediate 128, vocab 100.
// Fused form: one xformer.attention per attention, its mask an attribute.
// RUN: xformer-opt %s | xformer-opt | FileCheck %s
// The masks make sense for the model: no diagnostic.
// RUN: xformer-opt %s --xformer-verify-masks --verify-diagnostics -o /dev/null
// CHECK-LABEL: func.func @forward
// CHECK-COUNT-2: xformer.rope half
// CHECK: xformer.attention %{{.+}}, %{{.+}}, %{{.+}}, mask = #xformer.mask<causal>, scale = 2.500000e-01 : tensor<2x4x8x16xf32>, tensor<2x2x8x16xf32>, tensor<2x2x8x16xf32> -> tensor<2x4x8x16xf32>
// CHECK: xformer.silu

func.func @forward(%input_ids: tensor<2x8xi64>) -> (tensor<2x8x100xf32>) attributes {xformer.model = #xformer.model<decoder>} {
  %embed_tokens_weight = xformer.weight @model.embed_tokens.weight : tensor<100x64xf32>
  %x = xformer.embedding %embed_tokens_weight, %input_ids : tensor<100x64xf32>, tensor<2x8xi64> -> tensor<2x8x64xf32>
  %pos = xformer.positions : tensor<8xi64>
  // Layer 0: RMSNorm, grouped-query attention (4 query heads, 2 KV heads) with RoPE.
  %layers_0_input_layernorm_weight = xformer.weight @model.layers.0.input_layernorm.weight : tensor<64xf32>
  %h = xformer.rms_norm %x, %layers_0_input_layernorm_weight epsilon = 9.9999999999999995E-7 : tensor<2x8x64xf32>, tensor<64xf32>
  %layers_0_self_attn_q_proj_weight = xformer.weight @model.layers.0.self_attn.q_proj.weight : tensor<64x64xf32>
  %q_proj = xformer.linear %h, %layers_0_self_attn_q_proj_weight : tensor<2x8x64xf32>, tensor<64x64xf32> -> tensor<2x8x64xf32>
  %layers_0_self_attn_k_proj_weight = xformer.weight @model.layers.0.self_attn.k_proj.weight : tensor<32x64xf32>
  %k_proj = xformer.linear %h, %layers_0_self_attn_k_proj_weight : tensor<2x8x64xf32>, tensor<32x64xf32> -> tensor<2x8x32xf32>
  %layers_0_self_attn_v_proj_weight = xformer.weight @model.layers.0.self_attn.v_proj.weight : tensor<32x64xf32>
  %v_proj = xformer.linear %h, %layers_0_self_attn_v_proj_weight : tensor<2x8x64xf32>, tensor<32x64xf32> -> tensor<2x8x32xf32>
  %q = xformer.split_heads %q_proj, heads = 4 : tensor<2x8x64xf32> -> tensor<2x4x8x16xf32>
  %k = xformer.split_heads %k_proj, heads = 2 : tensor<2x8x32xf32> -> tensor<2x2x8x16xf32>
  %v = xformer.split_heads %v_proj, heads = 2 : tensor<2x8x32xf32> -> tensor<2x2x8x16xf32>
  %q_rot = xformer.rope half %q, %pos, theta = 1.000000e+04 : tensor<2x4x8x16xf32>, tensor<8xi64>
  %k_rot = xformer.rope half %k, %pos, theta = 1.000000e+04 : tensor<2x2x8x16xf32>, tensor<8xi64>
  %ctx = xformer.attention %q_rot, %k_rot, %v, mask = #xformer.mask<causal>, scale = 2.500000e-01 : tensor<2x4x8x16xf32>, tensor<2x2x8x16xf32>, tensor<2x2x8x16xf32> -> tensor<2x4x8x16xf32>
  %ctx_m = xformer.merge_heads %ctx : tensor<2x4x8x16xf32> -> tensor<2x8x64xf32>
  %layers_0_self_attn_o_proj_weight = xformer.weight @model.layers.0.self_attn.o_proj.weight : tensor<64x64xf32>
  %attn_out = xformer.linear %ctx_m, %layers_0_self_attn_o_proj_weight : tensor<2x8x64xf32>, tensor<64x64xf32> -> tensor<2x8x64xf32>
  %res = xformer.add %attn_out, %x : tensor<2x8x64xf32>, tensor<2x8x64xf32> -> tensor<2x8x64xf32>
  // Layer 0: RMSNorm, SwiGLU MLP.
  %layers_0_post_attention_layernorm_weight = xformer.weight @model.layers.0.post_attention_layernorm.weight : tensor<64xf32>
  %h2 = xformer.rms_norm %res, %layers_0_post_attention_layernorm_weight epsilon = 9.9999999999999995E-7 : tensor<2x8x64xf32>, tensor<64xf32>
  %layers_0_mlp_gate_proj_weight = xformer.weight @model.layers.0.mlp.gate_proj.weight : tensor<128x64xf32>
  %gate = xformer.linear %h2, %layers_0_mlp_gate_proj_weight : tensor<2x8x64xf32>, tensor<128x64xf32> -> tensor<2x8x128xf32>
  %layers_0_mlp_up_proj_weight = xformer.weight @model.layers.0.mlp.up_proj.weight : tensor<128x64xf32>
  %up = xformer.linear %h2, %layers_0_mlp_up_proj_weight : tensor<2x8x64xf32>, tensor<128x64xf32> -> tensor<2x8x128xf32>
  %act = xformer.silu %gate : tensor<2x8x128xf32>
  %gated = xformer.mul %act, %up : tensor<2x8x128xf32>, tensor<2x8x128xf32> -> tensor<2x8x128xf32>
  %layers_0_mlp_down_proj_weight = xformer.weight @model.layers.0.mlp.down_proj.weight : tensor<64x128xf32>
  %down = xformer.linear %gated, %layers_0_mlp_down_proj_weight : tensor<2x8x128xf32>, tensor<64x128xf32> -> tensor<2x8x64xf32>
  %res_1 = xformer.add %down, %res : tensor<2x8x64xf32>, tensor<2x8x64xf32> -> tensor<2x8x64xf32>
  // Final norm and an untied LM head.
  %norm_weight = xformer.weight @model.norm.weight : tensor<64xf32>
  %norm = xformer.rms_norm %res_1, %norm_weight epsilon = 9.9999999999999995E-7 : tensor<2x8x64xf32>, tensor<64xf32>
  %lm_head_weight = xformer.weight @lm_head.weight : tensor<100x64xf32>
  %logits = xformer.linear %norm, %lm_head_weight : tensor<2x8x64xf32>, tensor<100x64xf32> -> tensor<2x8x100xf32>
  return %logits : tensor<2x8x100xf32>
}
xformer.weight_decl @model.embed_tokens.weight : tensor<100x64xf32>
xformer.weight_decl @model.layers.0.input_layernorm.weight : tensor<64xf32>
xformer.weight_decl @model.layers.0.self_attn.q_proj.weight : tensor<64x64xf32>
xformer.weight_decl @model.layers.0.self_attn.k_proj.weight : tensor<32x64xf32>
xformer.weight_decl @model.layers.0.self_attn.v_proj.weight : tensor<32x64xf32>
xformer.weight_decl @model.layers.0.self_attn.o_proj.weight : tensor<64x64xf32>
xformer.weight_decl @model.layers.0.post_attention_layernorm.weight : tensor<64xf32>
xformer.weight_decl @model.layers.0.mlp.gate_proj.weight : tensor<128x64xf32>
xformer.weight_decl @model.layers.0.mlp.up_proj.weight : tensor<128x64xf32>
xformer.weight_decl @model.layers.0.mlp.down_proj.weight : tensor<64x128xf32>
xformer.weight_decl @model.norm.weight : tensor<64xf32>
xformer.weight_decl @lm_head.weight : tensor<100x64xf32>
