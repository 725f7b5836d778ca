// The CPU target's C++ for the GPT-2-style example: the derived programs,
// the mask kind as an argument of the fused kernel, the planned cache.
// RUN: xformer-compile %S/../../Examples/gpt2-fused.mlir --emit=source --max-seq-len=32 | FileCheck %s
// RUN: xformer-compile %S/../../Examples/llama-unfused.mlir --emit=source --max-seq-len=64 | FileCheck %s --check-prefix=LLAMA
// RUN: xformer-compile %S/../../Examples/bert-unfused.mlir --emit=source | FileCheck %s --check-prefix=BERT
// RUN: xformer-compile %S/../../Examples/gpt2-fused.mlir --emit=source --max-seq-len=32 --precision=bf16 | FileCheck %s --check-prefix=BF16

// The bf16 mode: the tied embedding is bound twice, f32 for the lookup and
// bf16 for the LM head; Conv1D weights ([in, out]) are bf16 too.
// BF16: static const xfm_tensor_desc kWeights[{{[0-9]+}}] = {
// BF16-DAG: {"transformer.wte.weight", XFM_BF16, 2, kShape{{[0-9]+}}},
// BF16-DAG: {"transformer.wte.weight", XFM_F32, 2, kShape{{[0-9]+}}},
// BF16-DAG: {"transformer.h.0.attn.c_attn.weight", XFM_BF16, 2,
// BF16-DAG: {"transformer.h.0.ln_1.weight", XFM_F32, 1,
// BF16-LABEL: static int32_t fn_prefill(
// BF16: xfk_linear_bf16_fused({{.*}}(uint16_t*)
// BF16-NOT: xfk_linear_fused(
// BF16-LABEL: static int32_t fn_decode(

// The file: the kernels' header, the planned cache, the weights, then each
// function as kernel calls (each commented with its op and location, its
// status checked) over pointers into the scratch.
// CHECK: #include "xformer/Runtime/CPU/Kernels.h"
// CHECK: static const xfm_cache_desc kCaches[1] = {
// CHECK-NEXT: {"transformer.h.0.attn", 0, 4, 16, 32, 0, 0, 32768},
// CHECK: static const xfm_tensor_desc kWeights[{{[0-9]+}}] = {
// CHECK-NEXT: {"transformer.wte.weight", XFM_F32, 2, kShape{{[0-9]+}}},
// CHECK-LABEL: static int32_t fn_prefill(
// CHECK-SAME: xfk_frame* [[F:v[0-9]+]], const void *const* {{v[0-9]+}}, void *const* {{v[0-9]+}}) {
// CHECK: [[S:v[0-9]+]] = [[FRAME:v[0-9]+]]->scratch;
// CHECK: // xformer.cache_append loc(
// CHECK-NEXT: int32_t [[RC:v[0-9]+]] = xfk_cache_append([[F]], &kCaches[0], 0, 2,
// CHECK-NEXT: if ([[RC]]) return [[RC]];
// CHECK: xfk_cache_read([[F]], &kCaches[0]
// CHECK: [[A:v[0-9]+]].kv_len = 32;
// CHECK: [[A]].mask_kind = XFK_MASK_CAUSAL;
// CHECK: xfk_attention([[F]], (&[[A]]));
// CHECK: xfk_linear_fused([[F]], {{.*}}, ((float*) {{v[0-9]+}}), {{v[0-9]+}}, 16, 64, 256, 1, 1, 0);
// CHECK: xfk_gather_positions(
// CHECK: memcpy(
// CHECK-NEXT: return 0;
// CHECK-LABEL: static int32_t fn_decode(
// CHECK: .q_len = 1;
// CHECK: {"prefill", fn_prefill, 3,
// CHECK: {"decode", fn_decode, 2,
// CHECK: const xfm_model_desc* xformer_model()

// The unfused Llama fuses (mask proved causal) before lowering; GQA stays
// grouped: 4 query heads over 2 cached KV heads.
// Projections fused (xformer-fuse-projections): Q, K, V (weights 2, 3, 4)
// and gate, up joined on open, the parts' copies freed (1: no code reads
// them but through the joined weight), read as W[12] and W[13].
// LLAMA: static const int32_t kFusedParts0[3] = {2, 3, 4};
// LLAMA-NEXT: static const int32_t kFusedParts1[2] = {7, 8};
// LLAMA-NEXT: static const xfm_fused_weight_desc kFusedWeights[2] = {
// LLAMA-NEXT: {{[{][{]}}"model.layers.0.self_attn.q_proj.weight+model.layers.0.self_attn.k_proj.weight+model.layers.0.self_attn.v_proj.weight", XFM_F32, 2, kShape{{[0-9]+}}}, 0, 3, kFusedParts0, 1},
// LLAMA-NEXT: {{[{][{]}}"model.layers.0.mlp.gate_proj.weight+model.layers.0.mlp.up_proj.weight", XFM_F32, 2, kShape{{[0-9]+}}}, 0, 2, kFusedParts1, 1},
// LLAMA-LABEL: static int32_t fn_decode(
// LLAMA: xfk_rope({{v[0-9]+}}, 0,
// LLAMA: .heads = 4;
// LLAMA-NEXT: .kv_heads = 2;
// LLAMA: .mask_kind = XFK_MASK_CAUSAL;
// LLAMA: [[W:v[0-9]+]] = [[WT:v[0-9]+]][13];
// LLAMA-NEXT: // xformer.linear
// LLAMA-NEXT: float* [[GU:v[0-9]+]] = (float*) ([[S:v[0-9]+]] + {{[0-9]+}});
// LLAMA-NEXT: xfk_linear_fused({{v[0-9]+}}, {{v[0-9]+}}, ((float*) [[W]]), 0, [[GU]], 2, 64, 256, 0, -1, 0);
// LLAMA: // xformer.glu
// LLAMA-NEXT: float*
// LLAMA-NEXT: xfk_glu({{v[0-9]+}}, 3, [[GU]], {{v[0-9]+}}, 2, 128);
// LLAMA: XFM_TARGET_CPU, 0, 2, kFusedWeights};

// The encoder: no cache, padding as kv_lengths, no derived programs.
// BERT-NOT: fn_prefill
// BERT: [[A:v[0-9]+]].mask_kind = XFK_MASK_BIDIRECTIONAL;
// BERT: [[A]].kv_lengths = (int64_t*) {{v[0-9]+}};
// BERT: {"forward", fn_forward, 3,
