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

#endif // XFORMER_TRANSFORMS_PASSES_TD
