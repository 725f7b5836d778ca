// --xformer-weight-format: the storage of linear weights, by format.
// RUN: xformer-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(xformer-weight-format{format=q8_0}))' | FileCheck %s --check-prefix=Q8
// RUN: xformer-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(xformer-weight-format{format=q4_k}))' | FileCheck %s --check-prefix=Q4K
// RUN: xformer-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(xformer-weight-format{format=f32}))' | FileCheck %s --check-prefix=F32
// RUN: xformer-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(xformer-weight-format{format=bf16}))' | FileCheck %s --check-prefix=BF16
// RUN: not xformer-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(xformer-weight-format{format=q7}))' 2>&1 | FileCheck %s --check-prefix=BAD
// BAD: for the --format option: Cannot find option named 'q7'!

// A tied embedding: the lookup keeps its f32 table, the LM head reads the
// blocks. A transposed weight (GPT-2's Conv1D) keeps f32 under a block
// format and is narrowed under bf16, as --xformer-narrow-weights narrows it.
// Q4_K's blocks of 256 do not divide rows of 32: nothing changes.
// Q8-LABEL: func.func @tied
// Q8-DAG: %[[HEAD:.+]] = xformer.weight @wte : tensor<100x32x!xformer.ggml<q8_0>>
// Q8-DAG: %[[TABLE:.+]] = xformer.weight @wte : tensor<100x32xf32>
// Q8-DAG: %[[T:.+]] = xformer.weight @t : tensor<32x64xf32>
// Q8: xformer.embedding %[[TABLE]]
// Q8: xformer.linear %{{.+}}, %[[T]] {weight_transposed}
// Q8: xformer.linear %{{.+}}, %[[HEAD]] : tensor<2x4x32xf32>, tensor<100x32x!xformer.ggml<q8_0>> -> tensor<2x4x100xf32>
// Q4K-LABEL: func.func @tied
// Q4K-NOT: ggml
// BF16-LABEL: func.func @tied
// BF16-DAG: xformer.weight @wte : tensor<100x32xbf16>
// BF16-DAG: xformer.weight @t : tensor<32x64xbf16>
func.func @tied(%ids: tensor<2x4xi64>) -> tensor<2x4x100xf32> {
  %wte = xformer.weight @wte : tensor<100x32xf32>
  %t = xformer.weight @t : tensor<32x64xf32>
  %e = xformer.embedding %wte, %ids : tensor<100x32xf32>, tensor<2x4xi64> -> tensor<2x4x32xf32>
  %h = xformer.linear %e, %t {weight_transposed} : tensor<2x4x32xf32>, tensor<32x64xf32> -> tensor<2x4x64xf32>
  %l = xformer.linear %e, %wte : tensor<2x4x32xf32>, tensor<100x32xf32> -> tensor<2x4x100xf32>
  return %l : tensor<2x4x100xf32>
}
xformer.weight_decl @wte : tensor<100x32xf32>
xformer.weight_decl @t : tensor<32x64xf32>

// -----

// A GGUF model's blocks: f32 decodes them all, the embedding's table too;
// bf16 narrows the linear only; another block format retypes the linear.
// F32-LABEL: func.func @from_gguf
// F32-NOT: ggml
// F32: xformer.embedding %{{.+}}, %{{.+}} : tensor<100x256xf32>
// F32: xformer.linear %{{.+}}, %{{.+}} : tensor<2x4x256xf32>, tensor<64x256xf32>
// BF16-LABEL: func.func @from_gguf
// BF16: xformer.embedding %{{.+}}, %{{.+}} : tensor<100x256x!xformer.ggml<q4_1>>
// BF16: xformer.linear %{{.+}}, %{{.+}} : tensor<2x4x256xf32>, tensor<64x256xbf16>
// Q4K-LABEL: func.func @from_gguf
// Q4K: xformer.embedding %{{.+}}, %{{.+}} : tensor<100x256x!xformer.ggml<q4_1>>
// Q4K: xformer.linear %{{.+}}, %{{.+}} : tensor<2x4x256xf32>, tensor<64x256x!xformer.ggml<q4_k>>
func.func @from_gguf(%ids: tensor<2x4xi64>) -> tensor<2x4x64xf32> {
  %e = xformer.weight @token_embd.weight : tensor<100x256x!xformer.ggml<q4_1>>
  %w = xformer.weight @blk.0.ffn_up.weight : tensor<64x256x!xformer.ggml<q6_k>>
  %x = xformer.embedding %e, %ids : tensor<100x256x!xformer.ggml<q4_1>>, tensor<2x4xi64> -> tensor<2x4x256xf32>
  %y = xformer.linear %x, %w : tensor<2x4x256xf32>, tensor<64x256x!xformer.ggml<q6_k>> -> tensor<2x4x64xf32>
  return %y : tensor<2x4x64xf32>
}
xformer.weight_decl @token_embd.weight : tensor<100x256x!xformer.ggml<q4_1>>
xformer.weight_decl @blk.0.ffn_up.weight : tensor<64x256x!xformer.ggml<q6_k>>

// -----

// A GGUF F16 model: f32 widens the f16 table and linear; bf16 narrows the
// linear only (the table stays f16); a block format quantizes the linear.
// F32-LABEL: func.func @from_f16_gguf
// F32: xformer.embedding %{{.+}}, %{{.+}} : tensor<100x256xf32>
// F32: xformer.linear %{{.+}}, %{{.+}} : tensor<2x4x256xf32>, tensor<64x256xf32>
// BF16-LABEL: func.func @from_f16_gguf
// BF16: xformer.embedding %{{.+}}, %{{.+}} : tensor<100x256xf16>
// BF16: xformer.linear %{{.+}}, %{{.+}} : tensor<2x4x256xf32>, tensor<64x256xbf16>
// Q8-LABEL: func.func @from_f16_gguf
// Q8: xformer.embedding %{{.+}}, %{{.+}} : tensor<100x256xf16>
// Q8: xformer.linear %{{.+}}, %{{.+}} : tensor<2x4x256xf32>, tensor<64x256x!xformer.ggml<q8_0>>
func.func @from_f16_gguf(%ids: tensor<2x4xi64>) -> tensor<2x4x64xf32> {
  %e = xformer.weight @token_embd.weight : tensor<100x256xf16>
  %w = xformer.weight @blk.0.ffn_up.weight : tensor<64x256xf16>
  %x = xformer.embedding %e, %ids : tensor<100x256xf16>, tensor<2x4xi64> -> tensor<2x4x256xf32>
  %y = xformer.linear %x, %w : tensor<2x4x256xf32>, tensor<64x256xf16> -> tensor<2x4x64xf32>
  return %y : tensor<2x4x64xf32>
}
xformer.weight_decl @token_embd.weight : tensor<100x256xf16>
xformer.weight_decl @blk.0.ffn_up.weight : tensor<64x256xf16>
