// A GPT-2-style decoder layer: learned positions, pre-LayerNorm, causal
// self-attention, GELU (tanh) MLP, LM head tied to the token embedding.
// Sizes: batch 2, seq 8, hidden 64, 4 heads of 16, intermediate 256, vocab 100.
// Unfused form, as an exporter emits it: matmul, scale, mask, softmax, matmul.
// RUN: xformer-opt %s | xformer-opt | FileCheck %s
// Fusion gives exactly the hand-fused form:
// RUN: xformer-opt %s --xformer-fuse-attention --canonicalize --cse > %t.fused
// RUN: xformer-opt %S/gpt2-fused.mlir --canonicalize --cse | diff %t.fused -
// CHECK-LABEL: func.func @forward
// CHECK: xformer.compare le
// CHECK: xformer.select
// CHECK: xformer.softmax %{{.+}}, axis = 3
// CHECK-NOT: xformer.attention

func.func @forward(%input_ids: tensor<2x8xi64>) -> (tensor<2x8x100xf32>) attributes {xformer.model = #xformer.model<decoder>} {
  // Embeddings: tokens + learned positions.
  %transformer_wte_weight = xformer.weight @transformer.wte.weight : tensor<100x64xf32>
  %transformer_wpe_weight = xformer.weight @transformer.wpe.weight : tensor<32x64xf32>
  %tok = xformer.embedding %transformer_wte_weight, %input_ids : tensor<100x64xf32>, tensor<2x8xi64> -> tensor<2x8x64xf32>
  %pos = xformer.positions : tensor<8xi64>
  %pos_emb = xformer.embedding %transformer_wpe_weight, %pos : tensor<32x64xf32>, tensor<8xi64> -> tensor<8x64xf32>
  %x = xformer.add %tok, %pos_emb : tensor<2x8x64xf32>, tensor<8x64xf32> -> tensor<2x8x64xf32>
  // Block 0: pre-norm causal self-attention (Conv1D weights stored [in, out]).
  %h0_ln_1_weight = xformer.weight @transformer.h.0.ln_1.weight : tensor<64xf32>
  %h0_ln_1_bias = xformer.weight @transformer.h.0.ln_1.bias : tensor<64xf32>
  %ln1 = xformer.layer_norm %x, %h0_ln_1_weight, %h0_ln_1_bias epsilon = 1.0e-05 : tensor<2x8x64xf32>, tensor<64xf32>, tensor<64xf32>
  %h0_attn_c_attn_weight = xformer.weight @transformer.h.0.attn.c_attn.weight : tensor<64x192xf32>
  %h0_attn_c_attn_bias = xformer.weight @transformer.h.0.attn.c_attn.bias : tensor<192xf32>
  %qkv = xformer.linear %ln1, %h0_attn_c_attn_weight, %h0_attn_c_attn_bias {weight_transposed} : tensor<2x8x64xf32>, tensor<64x192xf32>, tensor<192xf32> -> tensor<2x8x192xf32>
  %q_proj = xformer.slice %qkv [0, 0, 0] : tensor<2x8x192xf32> -> tensor<2x8x64xf32>
  %k_proj = xformer.slice %qkv [0, 0, 64] : tensor<2x8x192xf32> -> tensor<2x8x64xf32>
  %v_proj = xformer.slice %qkv [0, 0, 128] : tensor<2x8x192xf32> -> tensor<2x8x64xf32>
  %q = xformer.split_heads %q_proj, heads = 4 : tensor<2x8x64xf32> -> tensor<2x4x8x16xf32>
  %k = xformer.split_heads %k_proj, heads = 4 : tensor<2x8x64xf32> -> tensor<2x4x8x16xf32>
  %v = xformer.split_heads %v_proj, heads = 4 : tensor<2x8x64xf32> -> tensor<2x4x8x16xf32>
  %k_t = xformer.transpose %k, [0, 1, 3, 2] : tensor<2x4x8x16xf32> -> tensor<2x4x16x8xf32>
  %scores = xformer.matmul %q, %k_t : tensor<2x4x8x16xf32>, tensor<2x4x16x8xf32> -> tensor<2x4x8x8xf32>
  %sqrt_d = arith.constant dense<4.000000e+00> : tensor<f32>
  %scaled = xformer.div %scores, %sqrt_d : tensor<2x4x8x8xf32>, tensor<f32> -> tensor<2x4x8x8xf32>
  // Causal mask: keep key j for query i when j <= i; else finfo(f32).min.
  %key_pos = xformer.reshape %pos : tensor<8xi64> -> tensor<1x8xi64>
  %query_pos = xformer.reshape %pos : tensor<8xi64> -> tensor<8x1xi64>
  %keep = xformer.compare le, %key_pos, %query_pos : tensor<1x8xi64>, tensor<8x1xi64> -> tensor<8x8xi1>
  %min = arith.constant dense<-3.40282347E+38> : tensor<f32>
  %masked = xformer.select %keep, %scaled, %min : tensor<8x8xi1>, tensor<2x4x8x8xf32>, tensor<f32> -> tensor<2x4x8x8xf32>
  %probs = xformer.softmax %masked, axis = 3 : tensor<2x4x8x8xf32>
  %ctx = xformer.matmul %probs, %v : tensor<2x4x8x8xf32>, tensor<2x4x8x16xf32> -> tensor<2x4x8x16xf32>
  %ctx_m = xformer.merge_heads %ctx : tensor<2x4x8x16xf32> -> tensor<2x8x64xf32>
  %h0_attn_c_proj_weight = xformer.weight @transformer.h.0.attn.c_proj.weight : tensor<64x64xf32>
  %h0_attn_c_proj_bias = xformer.weight @transformer.h.0.attn.c_proj.bias : tensor<64xf32>
  %attn_out = xformer.linear %ctx_m, %h0_attn_c_proj_weight, %h0_attn_c_proj_bias {weight_transposed} : tensor<2x8x64xf32>, tensor<64x64xf32>, tensor<64xf32> -> tensor<2x8x64xf32>
  %res = xformer.add %attn_out, %x : tensor<2x8x64xf32>, tensor<2x8x64xf32> -> tensor<2x8x64xf32>
  // Block 0: pre-norm MLP with GELU (tanh).
  %h0_ln_2_weight = xformer.weight @transformer.h.0.ln_2.weight : tensor<64xf32>
  %h0_ln_2_bias = xformer.weight @transformer.h.0.ln_2.bias : tensor<64xf32>
  %ln2 = xformer.layer_norm %res, %h0_ln_2_weight, %h0_ln_2_bias epsilon = 1.0e-05 : tensor<2x8x64xf32>, tensor<64xf32>, tensor<64xf32>
  %h0_mlp_c_fc_weight = xformer.weight @transformer.h.0.mlp.c_fc.weight : tensor<64x256xf32>
  %h0_mlp_c_fc_bias = xformer.weight @transformer.h.0.mlp.c_fc.bias : tensor<256xf32>
  %fc = xformer.linear %ln2, %h0_mlp_c_fc_weight, %h0_mlp_c_fc_bias {weight_transposed} : tensor<2x8x64xf32>, tensor<64x256xf32>, tensor<256xf32> -> tensor<2x8x256xf32>
  %gelu = xformer.gelu tanh %fc : tensor<2x8x256xf32>
  %h0_mlp_c_proj_weight = xformer.weight @transformer.h.0.mlp.c_proj.weight : tensor<256x64xf32>
  %h0_mlp_c_proj_bias = xformer.weight @transformer.h.0.mlp.c_proj.bias : tensor<64xf32>
  %mlp_out = xformer.linear %gelu, %h0_mlp_c_proj_weight, %h0_mlp_c_proj_bias {weight_transposed} : tensor<2x8x256xf32>, tensor<256x64xf32>, tensor<64xf32> -> tensor<2x8x64xf32>
  %res_1 = xformer.add %mlp_out, %res : tensor<2x8x64xf32>, tensor<2x8x64xf32> -> tensor<2x8x64xf32>
  // Final norm and the LM head tied to the token embedding.
  %transformer_ln_f_weight = xformer.weight @transformer.ln_f.weight : tensor<64xf32>
  %transformer_ln_f_bias = xformer.weight @transformer.ln_f.bias : tensor<64xf32>
  %ln_f = xformer.layer_norm %res_1, %transformer_ln_f_weight, %transformer_ln_f_bias epsilon = 1.0e-05 : tensor<2x8x64xf32>, tensor<64xf32>, tensor<64xf32>
  %logits = xformer.linear %ln_f, %transformer_wte_weight : tensor<2x8x64xf32>, tensor<100x64xf32> -> tensor<2x8x100xf32>
  return %logits : tensor<2x8x100xf32>
}
xformer.weight_decl @transformer.wte.weight : tensor<100x64xf32>
xformer.weight_decl @transformer.wpe.weight : tensor<32x64xf32>
xformer.weight_decl @transformer.h.0.ln_1.weight : tensor<64xf32>
xformer.weight_decl @transformer.h.0.ln_1.bias : tensor<64xf32>
xformer.weight_decl @transformer.h.0.attn.c_attn.weight : tensor<64x192xf32>
xformer.weight_decl @transformer.h.0.attn.c_attn.bias : tensor<192xf32>
xformer.weight_decl @transformer.h.0.attn.c_proj.weight : tensor<64x64xf32>
xformer.weight_decl @transformer.h.0.attn.c_proj.bias : tensor<64xf32>
xformer.weight_decl @transformer.h.0.ln_2.weight : tensor<64xf32>
xformer.weight_decl @transformer.h.0.ln_2.bias : tensor<64xf32>
xformer.weight_decl @transformer.h.0.mlp.c_fc.weight : tensor<64x256xf32>
xformer.weight_decl @transformer.h.0.mlp.c_fc.bias : tensor<256xf32>
xformer.weight_decl @transformer.h.0.mlp.c_proj.weight : tensor<256x64xf32>
xformer.weight_decl @transformer.h.0.mlp.c_proj.bias : tensor<64xf32>
xformer.weight_decl @transformer.ln_f.weight : tensor<64xf32>
xformer.weight_decl @transformer.ln_f.bias : tensor<64xf32>
