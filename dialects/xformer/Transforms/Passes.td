//===- Passes.td - xformer dialect passes ------------------*- tablegen -*-===//

#ifndef XFORMER_TRANSFORMS_PASSES_TD
#define XFORMER_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def XformerFuseAttention : Pass<"xformer-fuse-attention", "func::FuncOp"> {
  let summary = "Raise unfused attention into xformer.attention with its mask kind";
  let description = [{
    Finds `softmax(scale * Q K^T + mask) V` however an exporter wrote it and
    replaces it with one `xformer.attention`. Canonicalization runs first
    (reshape + transpose become `split_heads`/`merge_heads`, transposed
    right operands become `transpose_rhs`), then matching follows meaning:

    * the scale may sit on Q, on K or on the scores, as a multiplication or a
      division, or be split between them (the product is used);
    * casts around the softmax (scores computed in f32) are looked through;
    * K^T may be an explicit transpose or `transpose_rhs`;
    * grouped-query K/V written as `repeat_kv` (reshape, broadcast, reshape)
      or as a broadcast of one head become K/V with fewer heads;
    * masks may be applied with `masked_fill`, `select` or an additive bias,
      any number of them, in any order.

    The mask kind is *proved*, not guessed: the ops that build the mask
    (positions, comparisons, constants, casts, arithmetic, the per-sequence
    lengths) are evaluated exactly for every (query, key) element and every
    length, and the result is compared with each kind's definition
    (`mlir::xformer::mask::isVisible`). Masks that depend only on key
    lengths become the `kv_lengths` operand (and `q_lengths` for right-padded
    causal self-attention). An additive term that is not 0 / very negative
    (T5's relative position bias) becomes the `bias` operand. A mask that is
    none of the kinds is kept as `#xformer.mask<custom>` with its tensor.
    Attention whose keys come from a different input sequence than its
    queries is `cross`.

    Fused rows with no visible key produce zeros (see `xformer.attention`);
    in the unfused form such rows (padding only) were uniform or NaN.

    ```mlir
    // Before: matmul, div, select(keep, s, min), softmax, matmul.
    // After:
    %o = xformer.attention %q, %k, %v, mask = #xformer.mask<causal>,
        scale = 1.250000e-01 : ...
    ```
  }];
  let dependentDialects = ["::mlir::xformer::XformerDialect"];
}

def XformerVerifyMasks : Pass<"xformer-verify-masks", "ModuleOp"> {
  let summary = "Check that attention masks make sense for the model";
  let description = [{
    A lint over fused attention. Functions say what they are with the
    attribute `xformer.model = #xformer.model<encoder | decoder |
    encoder_decoder>`. In an encoder-decoder, the decoder is the sequence
    that queries the cross-attentions.

    Errors:
    * self-attention in an autoregressive decoder whose mask lets a query
      see a later position (bidirectional, or a custom mask that does); the
      message names the layer and the positions;
    * cross-attention whose keys come from the queries' own sequence rather
      than the encoder's.

    Warnings:
    * causal, prefix-LM or sliding-window attention with key lengths but no
      query lengths: for key lengths below the number of queries, the first
      query rows see no key (fully masked rows);
    * bidirectional self-attention whose query and key lengths are different
      values;
    * a custom mask with a fully masked row, a static prefix that covers
      every key.
  }];
}

def XformerPrintMasks : Pass<"xformer-print-masks", "func::FuncOp"> {
  let summary = "Print each attention's mask and tile classification";
  let description = [{
    For each `xformer.attention`, prints to stdout the visibility matrix for
    a small size (1 = visible) next to the classification of its tiles
    (`F` full: run unmasked, `P` partial: mask per element, `.` empty: skip),
    so a person can check the mask by eye:

    ```
    causal, q=6 k=6       tiles 2x2
    1 0 0 0 0 0           F . .
    1 1 0 0 0 0           F F .
    ...
    ```
  }];
  let options = [
    Option<"qLen", "q-len", "int64_t", "0",
           "Number of queries shown (default: the op's, at most 16)">,
    Option<"kvLen", "kv-len", "int64_t", "0",
           "Number of keys shown (default: the op's, at most 16)">,
    Option<"blockQ", "block-q", "int64_t", "2", "Tile height (queries)">,
    Option<"blockK", "block-k", "int64_t", "2", "Tile width (keys)">,
    Option<"prefix", "prefix", "int64_t", "2",
           "Prefix length used for a runtime prefix (`prefix = ?`)">,
  ];
}

def XformerPlanKVCache : Pass<"xformer-plan-kv-cache", "ModuleOp"> {
  let summary = "Place every layer's K/V cache in one arena and size it";
  let description = [{
    Plans the memory of every `xformer.kv_cache` of the module:

    * `self` caches hold `max-seq-len` positions per sequence, `ring` caches
      (sliding window) `window` positions whatever the maximum length (plus
      `chunk - 1` when prefill writes chunks into them), and
      `cross` caches `max-source-len` positions of the encoder output;
    * a position costs `2 * kv_heads * head_dim * bytes(cache-dtype)` (K and
      V; grouped-query attention stores its K/V heads only), plus one f32
      scale per head for K and for V with the 8-bit types `fp8` (e4m3) and
      `int8`;
    * `layout=contiguous` gives each cache `max-batch` sequences of its
      capacity; `layout=paged` stores `self` caches in blocks of
      `block-size` positions shared by the sequences through a block table
      (int32, `max-batch` x ceil(`max-seq-len` / `block-size`)), as many
      blocks as the budget allows (or enough for `max-batch` sequences of
      the maximum length without a budget); ring and cross caches stay
      contiguous;
    * caches are placed in module order in one arena, each offset aligned to
      `alignment` bytes.

    Each cache gets `capacity`, `offset` and `bytes`; the module gets
    `xformer.kv_plan`, a dictionary of the totals (bytes per token, bytes
    per sequence of maximum length, total, and how many such sequences fit
    the budget). `report=<file>` writes the plan as JSON (`-` for stdout).

    A plan over `budget`, a budget too small for one sequence of maximum
    length, a window larger than the maximum length, or inconsistent options
    are errors that name the numbers.
  }];
  let options = [
    Option<"maxBatch", "max-batch", "int64_t", "1",
           "Sequences decoded at once">,
    Option<"maxSeqLen", "max-seq-len", "int64_t", "2048",
           "Maximum positions of a sequence (prompt and generated tokens)">,
    Option<"maxSourceLen", "max-source-len", "int64_t", "0",
           "Maximum encoder positions for cross caches (default: max-seq-len)">,
    Option<"cacheDtype", "cache-dtype", "::mlir::xformer::CacheDtype",
           "::mlir::xformer::CacheDtype::model",
           "Storage type: model (the K/V type), f32, f16, bf16, fp8, int8",
           [{XFORMER_CACHE_DTYPE_CL_VALUES}]>,
    Option<"layout", "layout", "::mlir::xformer::CacheLayout",
           "::mlir::xformer::CacheLayout::contiguous", "contiguous or paged",
           [{XFORMER_CACHE_LAYOUT_CL_VALUES}]>,
    Option<"blockSize", "block-size", "int64_t", "16",
           "Positions per block with layout=paged">,
    Option<"budget", "budget", "std::string", "\"\"",
           "Memory budget in bytes, with an optional KiB/MiB/GiB/TiB or "
           "KB/MB/GB/TB suffix">,
    Option<"alignment", "alignment", "int64_t", "256",
           "Alignment of each cache's offset in bytes">,
    Option<"report", "report", "std::string", "\"\"",
           "Write the plan as JSON to this file (- for stdout)">,
  ];
}

def XformerFuseProjections : Pass<"xformer-fuse-projections", "func::FuncOp"> {
  let summary = "Merge linears that share an input into one GEMM";
  let description = [{
    Linears reading the same input with the same weight layout and weight
    element type (and all with or all without a bias) become one
    `xformer.linear` over the concatenated weights, followed by a slice per
    original output: the Q, K and V projections of an attention, K and V of
    a cross-attention. A gated MLP's pair, `mul(act(gate), up)` with each
    result read only there, becomes one linear over gate then up and an
    `xformer.glu` of the activation in place of the slices, the activation
    and the product. Decode then runs one GEMV per group instead of two or
    three, the input quantized once. Weights declared after the first
    linear of a group move up to it (`xformer.weight` has no operands); the
    runtime builds each concatenated weight once, on open. Linears with an
    epilogue already fused are left alone. Part of `xformer-cpu-pipeline`
    and `xformer-cuda-pipeline` (option `fuse-projections`), after the
    weights' formats are final: a Q4_K_M file's Q4_K query and key join,
    its Q6_K value stays apart.

    ```mlir
    // Before: three linears of %h.
    // After:
    %w = xformer.concat %wq, %wk, %wv, axis = 0 : ... -> tensor<128x64xf32>
    %qkv = xformer.linear %h, %w : ... -> tensor<2x8x128xf32>
    %q = xformer.slice %qkv [0, 0, 0] : ... -> tensor<2x8x64xf32>
    // A SwiGLU MLP: silu(%h W_gate^T) * (%h W_up^T).
    %wgu = xformer.concat %wgate, %wup, axis = 0 : ... -> tensor<256x64xf32>
    %gu = xformer.linear %h, %wgu : ... -> tensor<2x8x256xf32>
    %a = xformer.glu silu %gu : tensor<2x8x256xf32> -> tensor<2x8x128xf32>
    ```
  }];
  let dependentDialects = ["::mlir::xformer::XformerDialect"];
}

def XformerNarrowWeights : Pass<"xformer-narrow-weights", "func::FuncOp"> {
  let summary = "Store the weights of linear layers in bf16";
  let description = [{
    The bf16 mode: every `xformer.linear` with an f32 input whose weight is
    an f32 `xformer.weight` reads a bf16 `xformer.weight` of the same name
    instead (mixed-precision linear: bf16 products, f32 sums, f32 bias,
    epilogue and output). The runtime rounds the checkpoint's tensor to
    bf16 once, on open (a bf16 checkpoint is taken as it is), so a GEMV
    streams half the bytes and a GEMM runs on AVX512-BF16, AMX or tensor
    cores. Everything else stays f32: embeddings, norms, attention and the
    KV cache. A tied embedding keeps its f32 table for the lookup and gets a
    bf16 copy for the LM head. A linear whose weight is computed (a
    concatenation) is left as it is.

    ```mlir
    // Before:
    %w = xformer.weight @lm_head.weight : tensor<50257x768xf32>
    %y = xformer.linear %x, %w : tensor<1x1x768xf32>, tensor<50257x768xf32>
        -> tensor<1x1x50257xf32>
    // After:
    %w = xformer.weight @lm_head.weight : tensor<50257x768xbf16>
    %y = xformer.linear %x, %w : tensor<1x1x768xf32>, tensor<50257x768xbf16>
        -> tensor<1x1x50257xf32>
    ```
  }];
  let options = [
    Option<"dtype", "dtype", "::mlir::xformer::NarrowType",
           "::mlir::xformer::NarrowType::bf16",
           "Storage type of linear weights (bf16)",
           [{XFORMER_NARROW_TYPE_CL_VALUES}]>,
  ];
  let dependentDialects = ["::mlir::xformer::XformerDialect"];
}

def XformerWeightFormat : Pass<"xformer-weight-format", "func::FuncOp"> {
  let summary = "Choose how the weights of linear layers are stored";
  let description = [{
    Retypes the `xformer.weight` ops that linears read (and, for `f32`,
    those that embeddings read) to the storage `format`; the runtime
    converts the stored tensor when the model is opened.

    * `f32`: every weight in bf16, f16 or ggml blocks is decoded to f32 (a
      GGUF model computed in f32, as transformers computes it from that
      file).
    * `bf16`: linear weights in bf16 (as `--xformer-narrow-weights`, also
      from f16 and ggml blocks).
    * a ggml block format (`q8_0`, `q4_0`, `q4_1`, `q5_0`, `q5_1`, `q2_k`
      ... `q6_k`): every linear with an f32 input whose weight is stored
      `[out, in]` with rows of whole blocks reads it in that format. The
      runtime quantizes a float checkpoint on open as ggml's reference
      quantizers do (Q8_0, Q4_0, Q4_1, Q4_K and Q6_K: the same bytes
      llama-quantize writes); a GGUF tensor already in the format is read
      in place. Linears whose rows are not whole blocks, and embedding tables,
      keep their format.

    ```mlir
    // Before:
    %w = xformer.weight @model.layers.0.mlp.up_proj.weight : tensor<1536x576xf32>
    %y = xformer.linear %x, %w : tensor<1x8x576xf32>, tensor<1536x576xf32>
        -> tensor<1x8x1536xf32>
    // After (format=q8_0):
    %w = xformer.weight @model.layers.0.mlp.up_proj.weight
        : tensor<1536x576x!xformer.ggml<q8_0>>
    %y = xformer.linear %x, %w
        : tensor<1x8x576xf32>, tensor<1536x576x!xformer.ggml<q8_0>>
          -> tensor<1x8x1536xf32>
    ```
  }];
  let options = [
    Option<"format", "format", "::mlir::xformer::WeightStorage",
           "::mlir::xformer::WeightStorage::f32",
           "f32, bf16, or a ggml block format (q8_0, q4_0, q4_1, ...)",
           [{XFORMER_WEIGHT_STORAGE_CL_VALUES}]>,
  ];
  let dependentDialects = ["::mlir::xformer::XformerDialect"];
}

def XformerDeriveGeneration : Pass<"xformer-derive-generation", "ModuleOp"> {
  let summary = "Derive the encode, prefill and decode programs of a model";
  let description = [{
    From the forward function of a decoder (`xformer.model =
    #xformer.model<decoder>`) or an encoder-decoder (`encoder_decoder`),
    with fused attention, derives the programs of generation. They share
    explicit KV caches: one `xformer.kv_cache` per decoder self-attention
    (`self`, or `ring` for a sliding window; the K/V heads only) and one
    `cross` cache per cross-attention.

    * `@encode(<encoder inputs>)` (encoder-decoders): runs the encoder once
      and writes each cross-attention's K/V projections of the encoder
      output into its cross cache. They are never recomputed per step.
    * `@prefill(%ids: [batch, seq], %start: [batch], %lengths: [batch],
      <encoder inputs the decoder reads, e.g. source lengths>)` runs a chunk
      of `lengths[b]` tokens per sequence whose first token sits at position
      `start[b]` (0 for a whole prompt): it appends the chunk's K/V at
      `start`, attends over the cache (`kv_lengths = start + lengths`,
      `q_lengths = lengths`: queries are the last positions) and returns
      the logits of each sequence's last token, `[batch, vocab]` (all
      positions with `all-logits`). Prefill in chunks and in one go run the
      same program.
    * `@verify(%ids: [batch, n], %start, %lengths, ...)` with
      `verify-chunk=n` (0: none; at most the prefill chunk): the prefill
      program over chunks of `n` returning the logits of every position,
      `[batch, n, vocab]`: what speculative decoding checks `n - 1` drafted
      tokens with. A sliding-window ring keeps `chunk - 1` positions past
      its window, so the positions of a rejected draft (at most `n - 1`)
      can be forgotten without losing any the window still sees.
    * `@decode(%token: [batch, 1], %position: [batch], ...)` is the same
      program for one token at position `position[b]`: its attention is the
      mask seen from a query at that position (keys `[0, p]`, or the
      window).

    * With `row-counts` (default `auto`: 1, 2, 4, ... below the batch),
      each program again over the first `N` sequences, named with `_rN`
      (`@decode_r1`, `@prefill_r2`, `@encode_r1`, ...): the caches keep
      the planned number of sequences, and a call whose sequences all sit
      in the first `N` rows runs the `N`-row program, so its cost follows
      the rows in use rather than the batch. A model whose ops cannot be
      re-typed to fewer rows gets a warning and only the whole batch's
      programs.

    The decoder is the input sequence that queries the cross-attentions;
    ops are split between programs by which inputs they depend on. Positions
    become `start + i` per sequence; every other op keeps its meaning with
    the sequence dimension re-typed. Mask kinds are unchanged: the
    bottom-right alignment of #xformer.mask makes the same kind correct for
    a chunk and for one token.

    T5's relative position bias of a decoder self-attention is rebuilt in
    each program from the chunk's query positions and the cached key
    positions.

    Errors: a function that is an encoder (no autoregressive part), a
    decoder self-attention that can see the future, masks that need the
    whole sequence (custom tensors, document ids, other additive biases, a
    runtime prefix), and ops whose sequence dimension cannot be re-typed.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::tensor::TensorDialect"];
  let options = [
    Option<"functionName", "function", "std::string", "\"forward\"",
           "The forward function to derive from">,
    Option<"allLogits", "all-logits", "bool", "false",
           "Prefill returns the logits of every position">,
    Option<"verifyChunk", "verify-chunk", "int64_t", "0",
           "Also derive @verify over chunks of this many tokens, returning "
           "every position's logits (0: none)">,
    Option<"rowCounts", "row-counts", "std::string", "\"auto\"",
           "Also derive each program over the first N sequences, named "
           "with _rN (@decode_r1, ...), for each N of a comma-separated "
           "list below the batch; 'auto': the powers of two below it; "
           "'none'">,
  ];
}

def XformerPlanGeneration : Pass<"xformer-plan-generation", "ModuleOp"> {
  let summary = "Derive the generation programs of a model and plan their KV cache";
  let description = [{
    The generation half of the compiler pipelines, for any model kind: a
    decoder or an encoder-decoder gets its programs
    (`xformer-derive-generation`, then canonicalize and cse) and their KV
    cache plan (`xformer-plan-kv-cache`); an encoder passes through
    unchanged. Sizes come from the model where it states them:

    * `max-batch=0` (the default) is the batch of the model's programs (the
      first argument's leading dimension); a larger one gives the caches
      more sequences than a call runs, a smaller one is an error;
    * `max-source-len=0` is the encoder input's length, read off `@encode`.

    Errors, besides those of the passes it runs: a function without
    `xformer.model`, and a learned position table (an embedding indexed by
    `xformer.positions`, possibly plus a constant) with fewer rows than
    `max-seq-len` positions need; the message gives the largest
    `max-seq-len` that fits.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::tensor::TensorDialect"];
  let options = [
    Option<"maxBatch", "max-batch", "int64_t", "0",
           "Sequences the KV caches hold (0: the programs' batch)">,
    Option<"maxSeqLen", "max-seq-len", "int64_t", "1024",
           "Positions each KV cache holds">,
    Option<"maxSourceLen", "max-source-len", "int64_t", "0",
           "Encoder positions of cross caches (0: the encoder input's length)">,
    Option<"verifyChunk", "verify-chunk", "int64_t", "0",
           "Tokens per @verify call (xformer-derive-generation; 0: none)">,
    Option<"rowCounts", "row-counts", "std::string", "\"auto\"",
           "Programs over fewer sequences (xformer-derive-generation: "
           "'auto', 'none' or a list such as '1,2')">,
  ];
}

def XformerFuseEpilogues : Pass<"xformer-fuse-epilogues", "func::FuncOp"> {
  let summary = "Fold activations and residual adds into the linear before them";
  let description = [{
    A linear whose result's only reader is an activation (`xformer.gelu`,
    `relu`, `silu`, `tanh`) takes it as its `activation`; a linear (with
    or without one) whose result's only reader is an `xformer.add` of two
    different tensors of the result's type takes the other addend as its
    `residual`, when that is defined before the linear (the GEMM reads it
    as it writes each output). Nothing else fuses: an activation with a
    second reader of the GEMM's output, a broadcasting add, a residual
    computed after the linear.

    ```mlir
    // Before:
    %h = xformer.linear %x, %w, %b : ...
    %a = xformer.gelu tanh %h : tensor<2x8x3072xf32>
    %o = xformer.linear %a, %w2, %b2 : ...
    %r = xformer.add %x, %o : ...
    // After:
    %a = xformer.linear %x, %w, %b activation gelu_tanh : ...
    %r = xformer.linear %a, %w2, %b2 residual %x : ...
    ```
  }];
  let dependentDialects = ["::mlir::xformer::XformerDialect"];
}

def XformerPlanScratch : Pass<"xformer-plan-scratch", "ModuleOp"> {
  let summary = "Place every intermediate tensor in one scratch buffer";
  let description = [{
    The memory plan of each function the emitters print, written into the
    IR (the last pass of `xformer-cpu-pipeline` and `xformer-cuda-pipeline`;
    the emitters read it and check it: every buffer 64-byte aligned inside
    the scratch, no two live ones overlapping, every view a view):

    * `xformer.scratch = array<i64: ...>` on an op: the byte offset of each
      result in the function's scratch (-1: a result without bytes of its
      own). First fit in program order over value lifetimes: a tensor's
      bytes are free again after its last reader.
    * `xformer.view = N`: the result is operand #0's bytes from byte N, no
      copy: reshapes, a slice that is one contiguous run of its operand (a
      decode step's key and value inside the fused QKV result), a
      transpose or head split/merge that moves only unit dimensions. The
      operand's bytes live as long as any view of them.
    * `xformer.scratch_temps = array<i64: ...>`: buffers an op uses while
      it runs: a sliding-window cache read's unrolled keys and values (held
      for the whole function), an attention's mask and bias broadcast to
      `[batch, heads, q, kv]` (-1: not needed).
    * `xformer.scratch_bytes` on the function: the buffer's size.

    Weights, constants, cache reads of full caches and index arithmetic take
    no scratch. Dynamic shapes are resolved first: positions by their
    compile-time size, relative biases over them, cache reads at their
    cache's planned capacity.

    ```mlir
    func.func @decode(...) attributes {xformer.scratch_bytes = 9856 : i64} {
      %qkv = xformer.linear %h, %w {xformer.scratch = array<i64: 4736>} ...
      %k = xformer.slice %qkv [0, 0, 576] {xformer.view = 2304 : i64} ...
    ```
  }];
}

def XformerVerifyTarget : Pass<"xformer-verify-target", "ModuleOp"> {
  let summary = "Check that a code-generation target can lower the module";
  let description = [{
    The back end's contract, checked before code generation (the last pass
    of `xformer-cpu-pipeline` and `xformer-cuda-pipeline`; the emitter
    checks it again on entry). Errors, at the op, weight or cache at fault:

    * an op the target has no lowering for (outside func.return,
      arith.constant, tensor.dim and the xformer ops of a function body),
      constants that are not dense tensors, `tensor.dim` without a constant
      in-range index, `xformer.positions` with an offset operand or a size
      not known at compile time, `xformer.rope` on other than 4-D
      `[batch, heads, seq, head_dim]` tensors, attention whose query, key or
      value is dynamic other than from `xformer.cache_read`;
    * types the kernels lack: element types other than f32, i64, i32 and i1,
      except bf16, f16 and ggml blocks as stored weights that linears
      (weight operand) and embeddings (table operand) decode, on the CPU
      only; unranked tensors; dynamic shapes outside cache reads, attention,
      positions and relative position biases;
    * function arguments that are not static f32, i64, i32 or i1 tensors,
      functions with more than one block, a module with no function or none
      that says what the model is (`xformer.model`);
    * weights with dynamic shapes or a storage type the target lacks;
    * KV caches without a plan (`xformer-plan-kv-cache`), not f32, or laid
      out other than `contiguous`.

    ```mlir
    // xformer-opt --xformer-verify-target=target=cuda
    %w = xformer.weight @w : tensor<8x8xbf16>
    // error: the CUDA target needs static f32/i64/i32 weights, not 'tensor<8x8xbf16>'
    ```
  }];
  let options = [
    Option<"target", "target", "::mlir::xformer::ModelTarget",
           "::mlir::xformer::ModelTarget::cpu",
           "The target whose kernels lower the module",
           [{::llvm::cl::values(
             clEnumValN(::mlir::xformer::ModelTarget::cpu, "cpu",
                        "the CPU kernel library"),
             clEnumValN(::mlir::xformer::ModelTarget::cuda, "cuda",
                        "the CUDA kernels"))}]>,
  ];
}

#endif // XFORMER_TRANSFORMS_PASSES_TD
