// The CPU target's C++ for the GPT-2-style example: the derived programs,
// the mask kind as an argument of the fused kernel, the planned cache.
// RUN: xformer-compile %S/../../Examples/gpt2-fused.mlir --emit=source --max-seq-len=32 | FileCheck %s
// RUN: xformer-compile %S/../../Examples/llama-unfused.mlir --emit=source --max-seq-len=64 | FileCheck %s --check-prefix=LLAMA
// RUN: xformer-compile %S/../../Examples/bert-unfused.mlir --emit=source | FileCheck %s --check-prefix=BERT
// RUN: xformer-compile %S/../../Examples/gpt2-fused.mlir --emit=source --max-seq-len=32 --precision=bf16 | FileCheck %s --check-prefix=BF16

// The bf16 mode: the tied embedding is bound twice, f32 for the lookup and
// bf16 for the LM head; Conv1D weights ([in, out]) are bf16 too.
// BF16: static const xfm_tensor_desc kWeights[] = {
// BF16-DAG: {"transformer.wte.weight", XFM_BF16, 2, kShape{{[0-9]+}}},
// BF16-DAG: {"transformer.wte.weight", XFM_F32, 2, kShape{{[0-9]+}}},
// BF16-DAG: {"transformer.h.0.attn.c_attn.weight", XFM_BF16, 2,
// BF16-DAG: {"transformer.h.0.ln_1.weight", XFM_F32, 1,
// BF16-LABEL: int32_t fn_prefill(
// BF16: xfk_linear_bf16_fused(f, {{.*}}(const uint16_t *)
// BF16-NOT: xfk_linear_fused(
// BF16-LABEL: int32_t fn_decode(

// CHECK: #include "xformer/Runtime/CPU/Kernels.h"
// CHECK: static const xfm_tensor_desc kWeights[] = {
// CHECK-NEXT: {"transformer.wte.weight", XFM_F32, 2, kShape{{[0-9]+}}},
// CHECK: static const xfm_cache_desc kCaches[] = {
// CHECK-NEXT: {"transformer.h.0.attn", 0, 4, 16, 32, 0, 0, 32768},
// CHECK-LABEL: int32_t fn_prefill(
// CHECK: xfk_cache_append(f, &kCaches[0], 0, 2,
// CHECK: xfk_cache_read(f, &kCaches[0]
// CHECK: a.kv_len = 32;
// CHECK: a.mask_kind = XFK_MASK_CAUSAL;
// CHECK: xfk_linear_fused({{.*}}, 16, 64, 256, 1, 1, 0))) return rc;
// CHECK: xfk_gather_positions(
// CHECK-LABEL: int32_t fn_decode(
// CHECK: a.q_len = 1;
// CHECK: {"prefill", fn_prefill, 3,
// CHECK: {"decode", fn_decode, 2,
// CHECK: const xfm_model_desc *xformer_model(void)

// The unfused Llama fuses (mask proved causal) before lowering; GQA stays
// grouped: 4 query heads over 2 cached KV heads.
// Projections fused (xformer-fuse-projections): Q, K, V (weights 2, 3, 4)
// and gate, up joined on open, the parts' copies freed (1: no code reads
// them but through the joined weight), read as W[12] and W[13].
// LLAMA: static const int32_t kFusedParts0[] = {2, 3, 4};
// LLAMA-NEXT: static const int32_t kFusedParts1[] = {7, 8};
// LLAMA-NEXT: static const xfm_fused_weight_desc kFusedWeights[] = {
// LLAMA-NEXT: {{[{][{]}}"model.layers.0.self_attn.q_proj.weight+model.layers.0.self_attn.k_proj.weight+model.layers.0.self_attn.v_proj.weight", XFM_F32, 2, kShape{{[0-9]+}}}, 0, 3, kFusedParts0, 1},
// LLAMA-NEXT: {{[{][{]}}"model.layers.0.mlp.gate_proj.weight+model.layers.0.mlp.up_proj.weight", XFM_F32, 2, kShape{{[0-9]+}}}, 0, 2, kFusedParts1, 1},
// LLAMA: {"model.layers.0.self_attn", 0, 2, 16, 64,
// LLAMA-LABEL: int32_t fn_decode(
// LLAMA: xfk_rope(f, 0,
// LLAMA: a.heads = 4;
// LLAMA-NEXT: a.kv_heads = 2;
// LLAMA: a.mask_kind = XFK_MASK_CAUSAL;
// LLAMA: xfk_linear_fused(f, {{.*}}(W[13]), 0, (float *)(S + [[GU:[0-9]+]]), 2, 64, 256, 0, -1, 0)
// LLAMA-NEXT: // xformer.glu
// LLAMA-NEXT: xfk_glu(f, 3, (const float *)(S + [[GU]]), {{.*}}, 2, 128)
// LLAMA: XFM_TARGET_CPU, 0, 2, kFusedWeights};

// The encoder: no cache, padding as kv_lengths, no derived programs.
// BERT-NOT: fn_prefill
// BERT: a.mask_kind = XFK_MASK_BIDIRECTIONAL;
// BERT: a.kv_lengths = (in[2]);
// BERT: {"forward", fn_forward, 3,
