//===- XformerDialect.td - The xformer dialect -------------*- tablegen -*-===//

#ifndef XFORMER_DIALECT_TD
#define XFORMER_DIALECT_TD

include "mlir/IR/OpBase.td"

def Xformer_Dialect : Dialect {
  let name = "xformer";
  let cppNamespace = "::mlir::xformer";
  let summary = "Transformer graphs with first-class attention mask semantics";
  let description = [{
    The `xformer` dialect represents the forward pass of transformer models
    (encoders such as BERT, decoders such as GPT-2 and Llama, encoder-decoders
    such as T5 and BART) on builtin ranked tensors, op by op.

    Two levels coexist in one module:

    * the *unfused* form an exporter produces: `xformer.matmul`, a scale,
      a mask built from `xformer.positions` and `xformer.compare` and applied
      with `xformer.masked_fill` or an additive bias, `xformer.softmax`,
      `xformer.matmul`;
    * the *fused* form: one `xformer.attention` whose mask is an attribute,
      `#xformer.mask<...>`, not an opaque tensor.

    Attention masks are semantics, not data. `#xformer.mask<causal>` says,
    for every query i and key j, whether j is visible; the one C++ function
    `mlir::xformer::mask::isVisible` (dialects/xformer/Semantics) answers it
    for the verifiers, the passes, the code generators and the tests alike.

    Weights are module-level symbols named as a safetensors or GGUF file
    names them (`xformer.weight_decl @bert.encoder... : tensor<...>`), read
    by `xformer.weight @bert.encoder...`, so IR stays small whatever the
    model size. A weight's element type says how it is stored: f32, bf16,
    or one of ggml's block formats (`!xformer.ggml<q4_k>`).
  }];
  let useDefaultAttributePrinterParser = 1;
  let useDefaultTypePrinterParser = 1;
  let hasOperationAttrVerify = 1;
  let dependentDialects = ["::mlir::arith::ArithDialect"];
  let extraClassDeclaration = [{
    /// Registers the attributes (in XformerAttrs.cpp, where their storage
    /// classes are defined).
    void registerAttributes();
    /// Registers the types (in XformerTypes.cpp).
    void registerTypes();

    /// The discardable function attribute saying what a model computes.
    static constexpr ::llvm::StringLiteral kModelAttrName = "xformer.model";
    /// The module attribute holding the KV cache plan (a dictionary).
    static constexpr ::llvm::StringLiteral kKVPlanAttrName = "xformer.kv_plan";
    /// The scratch plan (--xformer-plan-scratch): each result's byte offset
    /// (an i64 array on an op), a view's byte offset into operand #0, the
    /// buffers an op uses while it runs, and a function's scratch size.
    static constexpr ::llvm::StringLiteral kScratchAttrName = "xformer.scratch";
    static constexpr ::llvm::StringLiteral kViewAttrName = "xformer.view";
    static constexpr ::llvm::StringLiteral kScratchTempsAttrName =
        "xformer.scratch_temps";
    static constexpr ::llvm::StringLiteral kScratchBytesAttrName =
        "xformer.scratch_bytes";
  }];
}

class Xformer_Op<string mnemonic, list<Trait> traits = []>
    : Op<Xformer_Dialect, mnemonic, traits>;

#endif // XFORMER_DIALECT_TD
