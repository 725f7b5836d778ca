//===- XformerAttrs.td - xformer attributes and enums ------*- tablegen -*-===//

#ifndef XFORMER_ATTRS_TD
#define XFORMER_ATTRS_TD

include "xformer/IR/XformerDialect.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

//===----------------------------------------------------------------------===//
// Enums
//===----------------------------------------------------------------------===//

def Xformer_MaskKind : I32EnumAttr<"MaskKind", "attention mask kind", [
    I32EnumAttrCase<"bidirectional", 0>,
    I32EnumAttrCase<"causal", 1>,
    I32EnumAttrCase<"prefix_lm", 2>,
    I32EnumAttrCase<"sliding_window", 3>,
    I32EnumAttrCase<"cross", 4>,
    I32EnumAttrCase<"custom", 5>]> {
  let cppNamespace = "::mlir::xformer";
  let genSpecializedAttr = 0;
}

// Numbered as ggml numbers its types (the numbers GGUF files store).
def Xformer_GGMLFormat : I32EnumAttr<"GGMLFormat", "ggml block format", [
    I32EnumAttrCase<"q4_0", 2>,
    I32EnumAttrCase<"q4_1", 3>,
    I32EnumAttrCase<"q5_0", 6>,
    I32EnumAttrCase<"q5_1", 7>,
    I32EnumAttrCase<"q8_0", 8>,
    I32EnumAttrCase<"q2_k", 10>,
    I32EnumAttrCase<"q3_k", 11>,
    I32EnumAttrCase<"q4_k", 12>,
    I32EnumAttrCase<"q5_k", 13>,
    I32EnumAttrCase<"q6_k", 14>]> {
  let cppNamespace = "::mlir::xformer";
  let genSpecializedAttr = 0;
}

def Xformer_GeluApproximation : I32EnumAttr<"GeluApproximation",
    "GELU formulation", [
    I32EnumAttrCase<"erf", 0>,
    I32EnumAttrCase<"tanh", 1>]> {
  let cppNamespace = "::mlir::xformer";
}

// Numbered as the kernels' unary codes (XFK_GELU_ERF ... XFK_TANH).
def Xformer_Activation : I32EnumAttr<"Activation",
    "activation of a fused linear epilogue", [
    I32EnumAttrCase<"gelu", 0>,
    I32EnumAttrCase<"gelu_tanh", 1>,
    I32EnumAttrCase<"relu", 2>,
    I32EnumAttrCase<"silu", 3>,
    I32EnumAttrCase<"tanh", 4>]> {
  let cppNamespace = "::mlir::xformer";
}

def Xformer_RopeStyle : I32EnumAttr<"RopeStyle",
    "how rotary embeddings pair the features of a head", [
    // Feature i pairs with i + d/2 (GPT-NeoX, Llama: rotate_half).
    I32EnumAttrCase<"half", 0>,
    // Feature 2i pairs with 2i + 1 (GPT-J, original RoFormer).
    I32EnumAttrCase<"interleaved", 1>]> {
  let cppNamespace = "::mlir::xformer";
}

def Xformer_ComparePredicate : I32EnumAttr<"ComparePredicate",
    "elementwise comparison", [
    I32EnumAttrCase<"eq", 0>,
    I32EnumAttrCase<"ne", 1>,
    I32EnumAttrCase<"lt", 2>,
    I32EnumAttrCase<"le", 3>,
    I32EnumAttrCase<"gt", 4>,
    I32EnumAttrCase<"ge", 5>]> {
  let cppNamespace = "::mlir::xformer";
}

def Xformer_ModelKindEnum : I32EnumAttr<"ModelKind",
    "what a model function computes", [
    // Every token sees every token (BERT).
    I32EnumAttrCase<"encoder", 0>,
    // Autoregressive: a token must not see later tokens (GPT, Llama).
    I32EnumAttrCase<"decoder", 1>,
    // An encoder and an autoregressive decoder that cross-attends to it.
    I32EnumAttrCase<"encoder_decoder", 2>]> {
  let cppNamespace = "::mlir::xformer";
  let genSpecializedAttr = 0;
}

def Xformer_ModelKindAttr : EnumAttr<Xformer_Dialect, Xformer_ModelKindEnum,
                                     "model"> {
  let summary = "What a model function computes";
  let description = [{
    Attached to a function as `xformer.model`, it tells the checking passes
    which attentions must be autoregressive:

    ```mlir
    func.func @forward(%ids: tensor<1x8xi64>) -> tensor<1x8x100xf32>
        attributes {xformer.model = #xformer.model<decoder>} { ... }
    ```
  }];
  let assemblyFormat = "`<` $value `>`";
}

def Xformer_CacheKind : I32EnumAttr<"CacheKind",
    "what a KV cache holds", [
    // K/V of a self-attention for every position up to the maximum length.
    I32EnumAttrCase<"self", 0>,
    // K/V of a sliding-window self-attention: a ring of `window` positions.
    I32EnumAttrCase<"ring", 1>,
    // K/V of a cross-attention, computed once from the encoder output.
    I32EnumAttrCase<"cross", 2>]> {
  let cppNamespace = "::mlir::xformer";
}

//===----------------------------------------------------------------------===//
// #xformer.mask
//===----------------------------------------------------------------------===//

def Xformer_RopeScalingKind : I32EnumAttr<"RopeScalingKind",
    "how rotary frequencies are rescaled for longer contexts", [
    // Every frequency divided by the factor (position interpolation).
    I32EnumAttrCase<"linear", 0>,
    // Llama 3: low frequencies divided by the factor, high ones kept, the
    // band between interpolated.
    I32EnumAttrCase<"llama3", 1>]> {
  let cppNamespace = "::mlir::xformer";
  let genSpecializedAttr = 0;
}

def Xformer_RopeScalingAttr : AttrDef<Xformer_Dialect, "RopeScaling"> {
  let mnemonic = "rope_scaling";
  let summary = "Frequency scaling of a rotary embedding";
  let description = [{
    Rescales the rotary frequencies `inv_freq[k] = theta^(-2k / rotary_dim)`
    as Hugging Face's `rope_type` does. `linear`: `inv_freq / factor`.
    `llama3`: with wavelength `w = 2 pi / inv_freq`, frequencies with
    `w > original_max_positions / low_freq_factor` are divided by `factor`,
    those with `w < original_max_positions / high_freq_factor` are kept, and
    the band between is interpolated with
    `s = (original_max_positions / w - low_freq_factor) /
         (high_freq_factor - low_freq_factor)`.

    ```mlir
    %q2 = xformer.rope half %q, %pos, theta = 5.0e+05
        {scaling = #xformer.rope_scaling<llama3, factor = 8.0,
         low_freq_factor = 1.0, high_freq_factor = 4.0,
         original_max_positions = 8192>} : tensor<1x32x8x64xf32>, tensor<8xi64>
    ```
  }];
  let parameters = (ins EnumParameter<Xformer_RopeScalingKind>:$kind,
                        "::llvm::APFloat":$factor,
                        "::llvm::APFloat":$lowFreqFactor,
                        "::llvm::APFloat":$highFreqFactor,
                        "int64_t":$originalMaxPositions);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
}

def Xformer_MaskAttr : AttrDef<Xformer_Dialect, "Mask"> {
  let mnemonic = "mask";
  let summary = "The visibility semantics of an attention";
  let description = [{
    Says, for every query index `i` in `[0, q_len)` and key index `j` in
    `[0, kv_len)`, whether key `j` is visible to query `i`.

    Positions: key `j` sits at position `j`; the `q_len` queries are the
    last `q_len` positions of the key sequence, so query `i` sits at position
    `kv_len - q_len + i`. A one-shot prefill has `q_len == kv_len`; a decode
    step's single query sits at `kv_len - 1`; a prefill chunk of `c` tokens
    at offset `o` has `kv_len = o + c`. With per-sequence lengths, `q_len` and
    `kv_len` are that sequence's lengths; indices at or past them are padding
    and never visible.

    | kind | key j visible to the query at position p when |
    |---|---|
    | `bidirectional` | always |
    | `causal` | `j <= p` |
    | `prefix_lm, prefix = P` | `j <= p` or `j < P` |
    | `sliding_window, window = W` | `j <= p` and `p - j < W` |
    | `cross` | always (keys belong to another sequence) |
    | `custom` | the attention's explicit boolean mask tensor is true |

    `prefix = ?` means the prefix length is a runtime value, given per
    sequence by the attention's `prefix_lengths` operand.

    `documents` adds packed sequences: the attention's `segment_ids`
    operand (`[batch, kv_len]`) gives each key position's document, and key
    `j` is visible to the query at position `p` only if it also lies in the
    document of position `p`. Documents are contiguous runs of positions
    and different documents have different ids (ids are compared for
    equality; their order does not matter). It combines with bidirectional,
    causal, prefix-LM and sliding-window masks (not with cross or custom).

    ```mlir
    #xformer.mask<bidirectional>
    #xformer.mask<causal>
    #xformer.mask<prefix_lm, prefix = 16>
    #xformer.mask<prefix_lm, prefix = ?>
    #xformer.mask<sliding_window, window = 4096>
    #xformer.mask<cross>
    #xformer.mask<custom>
    #xformer.mask<causal, documents>
    ```
  }];
  let parameters = (ins
    "::mlir::xformer::MaskKind":$kind,
    DefaultValuedParameter<"int64_t", "0">:$window,
    DefaultValuedParameter<"int64_t", "0">:$prefix,
    DefaultValuedParameter<"bool", "false">:$documents);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let builders = [
    AttrBuilder<(ins "::mlir::xformer::MaskKind":$kind), [{
      return $_get($_ctxt, kind, 0, 0, false);
    }]>
  ];
  let extraClassDeclaration = [{
    /// True when the prefix length is a runtime value (`prefix = ?`).
    bool hasDynamicPrefix() const;
    /// The mask as plain numbers for mlir::xformer::mask::isVisible. A
    /// dynamic prefix must be supplied by the caller.
    ::mlir::xformer::mask::Spec getSpec(int64_t runtimePrefix = 0) const;
  }];
}

#endif // XFORMER_ATTRS_TD
