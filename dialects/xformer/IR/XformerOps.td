//===- XformerOps.td - xformer operations ------------------*- tablegen -*-===//

#ifndef XFORMER_OPS_TD
#define XFORMER_OPS_TD

include "xformer/IR/XformerDialect.td"
include "xformer/IR/XformerAttrs.td"
include "xformer/IR/XformerTypes.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/IR/SymbolInterfaces.td"
include "mlir/IR/CommonAttrConstraints.td"
include "mlir/IR/CommonTypeConstraints.td"

//===----------------------------------------------------------------------===//
// Type constraints and traits
//===----------------------------------------------------------------------===//

def XF_FloatTensor : RankedTensorOf<[AnyFloat]>;
def XF_IntTensor : RankedTensorOf<[AnySignlessInteger]>;
/// A weight as stored: floats, or ggml blocks.
def XF_StoredTensor : RankedTensorOf<[AnyFloat, Xformer_GGMLType]>;
def XF_BoolTensor : RankedTensorOf<[I1]>;
def XF_IndexTensor : RankedTensorOf<[I32, I64]>;
def XF_NumericTensor : RankedTensorOf<[AnyFloat, AnySignlessInteger]>;

// Operands broadcast against each other with NumPy rules (trailing dimensions
// aligned, size-1 dimensions stretched); the result has the broadcast shape.
// The result type follows from the operands and attributes
// (InferTypeOpInterface): passes that re-type an op (derive-generation's
// programs over chunks) ask the op instead of computing shapes themselves.
// Dimensions are compatible when equal or either is dynamic; where the
// operands are malformed the inference declines (an unranked result,
// compatible with anything) and the op's verifier says what is wrong.
defvar XF_InferResultType = InferTypeOpAdaptorWithIsCompatible;

def XF_Broadcasting : NativeOpTrait<"BroadcastingElementwise"> {
  let cppNamespace = "::mlir::OpTrait::xformer";
}

//===----------------------------------------------------------------------===//
// Base classes
//===----------------------------------------------------------------------===//

// Elementwise float -> float of one operand.
class XF_UnaryFloatOp<string mnemonic, string summaryText, string formula>
    : Xformer_Op<mnemonic, [Pure, SameOperandsAndResultType]> {
  let summary = summaryText;
  let description = "Computes `" # formula # "` elementwise.\n\n"
    # "```mlir\n%y = xformer." # mnemonic
    # " %x : tensor<2x8x3072xf32>\n```";
  let arguments = (ins XF_FloatTensor:$input);
  let results = (outs XF_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

// Elementwise binary with broadcasting; operands and result share the
// element type.
class XF_BinaryOp<string mnemonic, string summaryText, string formula,
                  Type operandType = XF_FloatTensor,
                  string exampleTypes = "tensor<2x8x768xf32>, tensor<768xf32> "
                                        # "-> tensor<2x8x768xf32>">
    : Xformer_Op<mnemonic, [Pure, XF_Broadcasting,
                            AllElementTypesMatch<["lhs", "rhs", "result"]>,
                            XF_InferResultType]> {
  let summary = summaryText;
  let description = "Computes `" # formula # "` elementwise, with NumPy "
    # "broadcasting: trailing dimensions align and size-1 dimensions stretch. "
    # "The result has the broadcast shape.\n\n"
    # "```mlir\n%z = xformer." # mnemonic
    # " %x, %y : " # exampleTypes # "\n```";
  let arguments = (ins operandType:$lhs, operandType:$rhs);
  let results = (outs operandType:$result);
  let assemblyFormat = [{
    $lhs `,` $rhs attr-dict `:` type($lhs) `,` type($rhs) `->` type($result)
  }];
}

//===----------------------------------------------------------------------===//
// Weights and embeddings
//===----------------------------------------------------------------------===//

def Xformer_WeightDeclOp : Xformer_Op<"weight_decl", [Symbol]> {
  let summary = "Declares a model weight: the tensor stored under its name";
  let description = [{
    A module-level declaration of the tensor stored under `sym_name` in the
    model's weights file (safetensors or GGUF), with the shape every use
    reads and the element type it is declared in. `xformer.weight` ops read
    it by symbol; the runtime binds the file to the uses' types. Names are
    the file's, so they are usually printed bare (`@transformer.wte.weight`)
    and quoted where they need it (`@"encoder/layer_0/kernel"`).

    ```mlir
    xformer.weight_decl @transformer.wte.weight : tensor<50257x768xf32>
    ```
  }];
  let arguments = (ins SymbolNameAttr:$sym_name,
                       TypeAttrOf<RankedTensorOf<[AnyFloat, AnySignlessInteger,
                                                  Xformer_GGMLType]>>:$type);
  let assemblyFormat = "$sym_name attr-dict `:` $type";
  let hasVerifier = 1;
}

def Xformer_WeightOp : Xformer_Op<"weight",
    [Pure, DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "Reads a declared model weight";
  let description = [{
    The tensor `xformer.weight_decl` declares under `name`, read in this
    op's type. The runtime binds the file and checks that the stored tensor
    has this shape and a dtype it can convert to this one (a bf16 or f16
    checkpoint feeds an f32 weight exactly; an f32 or f16 one feeds a bf16
    weight rounded to nearest even). A weight may be read more than once
    (tied embeddings): every read has the declared shape, and its element
    type is the declared one or, both being floats or ggml blocks, one the
    runtime converts to (`--xformer-narrow-weights` keeps a tied embedding
    f32 for the lookup and makes the LM head's copy bf16;
    `--xformer-weight-format` stores linear weights in ggml blocks): the
    runtime then binds one converted copy per type. Checked against the
    declaration through the symbol table (`verifySymbolUses`).

    ```mlir
    %wte = xformer.weight @transformer.wte.weight : tensor<50257x768xf32>
    ```
  }];
  let arguments = (ins FlatSymbolRefAttr:$name);
  let results = (outs RankedTensorOf<[AnyFloat, AnySignlessInteger,
                                      Xformer_GGMLType]>:$result);
  let assemblyFormat = "$name attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def Xformer_EmbeddingOp : Xformer_Op<"embedding", [Pure]> {
  let summary = "Row lookup in an embedding table";
  let description = [{
    `result[..., :] = table[ids[...], :]`. The table is `[vocab, dim]`; the
    result has the shape of `ids` followed by `dim`. Token, learned position
    and segment embeddings are all this op. A table in ggml blocks
    (`!xformer.ggml<...>`) gives f32 rows, each decoded as ggml decodes it;
    a `bf16` or `f16` table (GGUF BF16, F16) gives rows of its own type or
    f32 rows (exactly: both widen to f32 without rounding).

    ```mlir
    %e = xformer.embedding %table, %ids
        : tensor<30522x384xf32>, tensor<2x8xi64> -> tensor<2x8x384xf32>
    ```
  }];
  let arguments = (ins XF_StoredTensor:$table, XF_IntTensor:$ids);
  let results = (outs XF_FloatTensor:$result);
  let assemblyFormat = [{
    $table `,` $ids attr-dict `:` type($table) `,` type($ids) `->` type($result)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Linear algebra
//===----------------------------------------------------------------------===//

def Xformer_LinearOp : Xformer_Op<"linear", [Pure, AttrSizedOperandSegments, XF_InferResultType,
    OptionalTypesMatchWith<"the residual has the result's type", "result",
                           "residual", "$_self">]> {
  let summary = "Affine projection of the last dimension, with its epilogue";
  let description = [{
    `result = input @ W^T + bias` over the last dimension of `input`
    (`[..., in]` to `[..., out]`). The weight is stored `[out, in]` as in
    PyTorch's `nn.Linear`; with the unit attribute `weight_transposed` it is
    stored `[in, out]` (GPT-2's `Conv1D`). The bias, when present, is `[out]`.

    An epilogue, as `--xformer-fuse-epilogues` writes it: `activation`
    applies an elementwise activation to that (`gelu`, `gelu_tanh`,
    `relu`, `silu`, `tanh`, as the ops of those names define them), and
    `residual` then adds a tensor of the result's type:
    `result = residual + activation(input @ W^T + bias)`. The kernels apply
    both to each output as it is produced (no second pass over it).

    Input, bias and result share one element type; the weight has it too,
    or is `bf16` under an `f32` input (mixed precision, as
    `--xformer-narrow-weights` writes it): the input is then rounded to
    bf16, products of bf16 values are exact in f32 and are summed in f32,
    and bias, activation and residual stay f32 (what AVX512-BF16, AMX and
    tensor cores compute). Or the weight is `f16` under an `f32` input
    (GGUF F16, stored `[out, in]`, `weight_transposed` not allowed): each
    product is an f16 value (exact in f32) times the f32 input as it is,
    summed in f32. Or the weight is in ggml blocks
    (`!xformer.ggml<q4_k>`, stored `[out, in]`) under an `f32` input: the
    products are of the weights as stored, the input rounded to no fewer
    than 16 bits per block of 32 (the CPU runtime quantizes it so and takes
    integer dot products times the two scales, llama.cpp's scheme with 16
    bits for its 8: on AVX512-VNNI CPUs for any number of rows, elsewhere
    below 12; from 12 rows there the products are exact).

    ```mlir
    %y = xformer.linear %x, %w, %b
        : tensor<2x8x768xf32>, tensor<3072x768xf32>, tensor<3072xf32>
          -> tensor<2x8x3072xf32>
    %z = xformer.linear %x, %w2 {weight_transposed}
        : tensor<2x8x768xf32>, tensor<768x2304xf32> -> tensor<2x8x2304xf32>
    %h = xformer.linear %x, %w3
        : tensor<2x8x768xf32>, tensor<50257x768xbf16> -> tensor<2x8x50257xf32>
    %g = xformer.linear %x, %w5
        : tensor<2x8x768xf32>, tensor<3072x768xf16> -> tensor<2x8x3072xf32>
    %q = xformer.linear %x, %w4
        : tensor<2x8x768xf32>, tensor<3072x768x!xformer.ggml<q4_1>>
          -> tensor<2x8x3072xf32>
    // A GPT-2 MLP's second half: the residual stream plus the projection.
    %r = xformer.linear %a, %w6, %b6 activation gelu_tanh residual %x
        : tensor<2x8x768xf32>, tensor<768x3072xf32>, tensor<768xf32>
          -> tensor<2x8x768xf32>
    ```
  }];
  let arguments = (ins XF_FloatTensor:$input, XF_StoredTensor:$weight,
                       Optional<XF_FloatTensor>:$bias,
                       Optional<XF_FloatTensor>:$residual,
                       UnitAttr:$weight_transposed,
                       OptionalAttr<Xformer_Activation>:$activation);
  let results = (outs XF_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $weight (`,` $bias^)? (`activation` $activation^)?
    (`residual` $residual^)? attr-dict `:` type($input) `,`
    type($weight) (`,` type($bias)^)? `->` type($result)
  }];
  let builders = [
    // A linear without an epilogue.
    OpBuilder<(ins "::mlir::Type":$result, "::mlir::Value":$input,
                   "::mlir::Value":$weight, "::mlir::Value":$bias,
                   "bool":$weightTransposed), [{
      build($_builder, $_state, result, input, weight, bias,
            /*residual=*/::mlir::Value(),
            weightTransposed ? $_builder.getUnitAttr() : ::mlir::UnitAttr(),
            ::mlir::xformer::ActivationAttr());
    }]>
  ];
  let extraClassDeclaration = [{
    /// Whether an activation or a residual add is fused into the op.
    bool hasEpilogue() { return getActivation() || getResidual(); }
  }];
  let hasVerifier = 1;
}

def Xformer_MatmulOp : Xformer_Op<"matmul", [Pure, XF_InferResultType]> {
  let summary = "Batched matrix product";
  let description = [{
    `[..., M, K] x [..., K, N] -> [..., M, N]`; with `transpose_rhs` the
    right operand is `[..., N, K]`. Batch dimensions broadcast (NumPy rules),
    so per-head and batched products are both this op. Operand and result
    element types agree.

    ```mlir
    %s = xformer.matmul %q, %kt
        : tensor<2x12x8x64xf32>, tensor<2x12x64x8xf32> -> tensor<2x12x8x8xf32>
    %t = xformer.matmul %q, %k {transpose_rhs}
        : tensor<2x12x8x64xf32>, tensor<2x12x8x64xf32> -> tensor<2x12x8x8xf32>
    ```
  }];
  let arguments = (ins XF_FloatTensor:$lhs, XF_FloatTensor:$rhs,
                       UnitAttr:$transpose_rhs);
  let results = (outs XF_FloatTensor:$result);
  let assemblyFormat = [{
    $lhs `,` $rhs attr-dict `:` type($lhs) `,` type($rhs) `->` type($result)
  }];
  let hasCanonicalizer = 1;
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Shape manipulation
//===----------------------------------------------------------------------===//

def Xformer_TransposeOp : Xformer_Op<"transpose",
    [Pure, AllElementTypesMatch<["input", "result"]>, XF_InferResultType]> {
  let summary = "Permutes dimensions";
  let description = [{
    `result` dimension `i` is `input` dimension `permutation[i]`.

    ```mlir
    %t = xformer.transpose %k, [0, 1, 3, 2]
        : tensor<2x12x8x64xf32> -> tensor<2x12x64x8xf32>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$input, DenseI64ArrayAttr:$permutation);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $input `,` $permutation attr-dict `:` type($input) `->` type($result)
  }];
  let hasFolder = 1;
  let hasCanonicalizer = 1;
  let hasVerifier = 1;
}

def Xformer_ReshapeOp : Xformer_Op<"reshape",
    [Pure, AllElementTypesMatch<["input", "result"]>]> {
  let summary = "Reinterprets a tensor with another shape, same elements";
  let description = [{
    Row-major reshape; the element count is preserved (checked when both
    shapes are static).

    ```mlir
    %r = xformer.reshape %x : tensor<2x8x768xf32> -> tensor<2x8x12x64xf32>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$input);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasFolder = 1;
  let hasCanonicalizer = 1;
  let hasVerifier = 1;
}

def Xformer_BroadcastOp : Xformer_Op<"broadcast",
    [Pure, AllElementTypesMatch<["input", "result"]>]> {
  let summary = "Broadcasts a tensor to a larger shape (NumPy rules)";
  let description = [{
    Trailing dimensions align; an input dimension of size 1 stretches to the
    result's size; leading result dimensions are new. Grouped-query attention
    as exporters write it (`repeat_kv`) is a broadcast of the K/V heads
    followed by a reshape.

    ```mlir
    %b = xformer.broadcast %k
        : tensor<2x2x1x8x16xf32> -> tensor<2x2x4x8x16xf32>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$input);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def Xformer_SliceOp : Xformer_Op<"slice",
    [Pure, AllElementTypesMatch<["input", "result"]>]> {
  let summary = "A static rectangular slice";
  let description = [{
    `result[i...] = input[offsets + i...]` with the result's shape as the
    slice sizes. Selects the `[CLS]` token for a pooler, or the top-left
    `[S, S]` corner of a registered causal-mask buffer.

    ```mlir
    %cls = xformer.slice %h [0, 0, 0]
        : tensor<2x8x384xf32> -> tensor<2x1x384xf32>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$input, DenseI64ArrayAttr:$offsets);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $input $offsets attr-dict `:` type($input) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Xformer_ConcatOp : Xformer_Op<"concat", [Pure, SameOperandsElementType,
                                              SameOperandsAndResultElementType]> {
  let summary = "Concatenates tensors along one axis";
  let description = [{
    Joins tensors that agree on every dimension but `axis`. Projection
    fusion concatenates the Q, K and V weights (or gate and up) so one GEMM
    serves all of them; for weights the runtime concatenates once, at load
    (the CPU and CUDA emitters turn a concat of `xformer.weight`s into a
    weight of the model built on open). Weights in ggml blocks concatenate
    along axis 0 only (whole rows of blocks).

    ```mlir
    %w = xformer.concat %wq, %wk, %wv, axis = 0
        : tensor<64x64xf32>, tensor<32x64xf32>, tensor<32x64xf32> -> tensor<128x64xf32>
    ```
  }];
  let arguments = (ins Variadic<AnyRankedTensor>:$inputs, I64Attr:$axis);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    custom<OperandsThenAxis>($inputs, $axis) attr-dict `:` type($inputs)
    `->` type($result)
  }];
  let hasVerifier = 1;
}

def Xformer_GatherPositionsOp : Xformer_Op<"gather_positions", [Pure, XF_InferResultType]> {
  let summary = "Picks one position per sequence";
  let description = [{
    `result[b, ...] = input[b, positions[b], ...]`: the hidden state or
    logits of one position per sequence, such as each prompt's last token.
    A position outside `[0, seq)` yields zeros. Canonicalization moves the
    gather above a single-use linear without bias or rms_norm (both keep a
    zero row zero), so a prefill's LM head runs on the kept rows only.

    ```mlir
    %last = xformer.gather_positions %logits, %idx
        : tensor<2x8x100xf32>, tensor<2xi64> -> tensor<2x100xf32>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$input, XF_IndexTensor:$positions);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $input `,` $positions attr-dict `:` type($input) `,` type($positions)
    `->` type($result)
  }];
  let hasVerifier = 1;
  let hasCanonicalizer = 1;
}

def Xformer_SplitHeadsOp : Xformer_Op<"split_heads",
    [Pure, AllElementTypesMatch<["input", "result"]>, XF_InferResultType]> {
  let summary = "[batch, seq, heads * head_dim] -> [batch, heads, seq, head_dim]";
  let description = [{
    Splits the hidden dimension into `heads` heads and moves the head axis
    before the sequence axis: the reshape-and-transpose every attention does
    to its projections.

    ```mlir
    %q = xformer.split_heads %x, heads = 12
        : tensor<2x8x768xf32> -> tensor<2x12x8x64xf32>
    ```
  }];
  let arguments = (ins XF_FloatTensor:$input, I64Attr:$heads);
  let results = (outs XF_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` `heads` `=` $heads attr-dict `:` type($input) `->` type($result)
  }];
  let hasCanonicalizer = 1;
  let hasVerifier = 1;
}

def Xformer_MergeHeadsOp : Xformer_Op<"merge_heads",
    [Pure, AllElementTypesMatch<["input", "result"]>, XF_InferResultType]> {
  let summary = "[batch, heads, seq, head_dim] -> [batch, seq, heads * head_dim]";
  let description = [{
    The inverse of `xformer.split_heads`.

    ```mlir
    %h = xformer.merge_heads %o : tensor<2x12x8x64xf32> -> tensor<2x8x768xf32>
    ```
  }];
  let arguments = (ins XF_FloatTensor:$input);
  let results = (outs XF_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Normalisation and activations
//===----------------------------------------------------------------------===//

def Xformer_LayerNormOp : Xformer_Op<"layer_norm",
    [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "Layer normalisation over the last dimension";
  let description = [{
    `(x - mean(x)) / sqrt(var(x) + epsilon) * gamma + beta` over the last
    dimension (biased variance). `gamma` and `beta` are `[dim]`; `beta` is
    optional (no bias).

    ```mlir
    %y = xformer.layer_norm %x, %gamma, %beta epsilon = 1.0e-12
        : tensor<2x8x384xf32>, tensor<384xf32>, tensor<384xf32>
    ```
  }];
  let arguments = (ins XF_FloatTensor:$input, XF_FloatTensor:$gamma,
                       Optional<XF_FloatTensor>:$beta, F64Attr:$epsilon);
  let results = (outs XF_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $gamma (`,` $beta^)? `epsilon` `=` $epsilon attr-dict `:`
    type($input) `,` type($gamma) (`,` type($beta)^)?
  }];
  let hasVerifier = 1;
}

def Xformer_RMSNormOp : Xformer_Op<"rms_norm",
    [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "Root-mean-square normalisation over the last dimension";
  let description = [{
    `x / sqrt(mean(x^2) + epsilon) * gamma` over the last dimension
    (Llama, T5). `gamma` is `[dim]`.

    ```mlir
    %y = xformer.rms_norm %x, %gamma epsilon = 1.0e-06
        : tensor<2x8x512xf32>, tensor<512xf32>
    ```
  }];
  let arguments = (ins XF_FloatTensor:$input, XF_FloatTensor:$gamma,
                       F64Attr:$epsilon);
  let results = (outs XF_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $gamma `epsilon` `=` $epsilon attr-dict `:` type($input)
    `,` type($gamma)
  }];
  let hasVerifier = 1;
}

def Xformer_GeluOp : Xformer_Op<"gelu", [Pure, SameOperandsAndResultType]> {
  let summary = "Gaussian error linear unit";
  let description = [{
    `erf`: `0.5 x (1 + erf(x / sqrt(2)))` (BERT, BART).
    `tanh`: `0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))` (GPT-2's
    `gelu_new`).

    ```mlir
    %y = xformer.gelu erf %x : tensor<2x8x1536xf32>
    %z = xformer.gelu tanh %x : tensor<2x8x1536xf32>
    ```
  }];
  let arguments = (ins Xformer_GeluApproximation:$approximation,
                       XF_FloatTensor:$input);
  let results = (outs XF_FloatTensor:$result);
  let assemblyFormat = "$approximation $input attr-dict `:` type($input)";
}

def Xformer_GluOp : Xformer_Op<"glu", [Pure, XF_InferResultType]> {
  let summary = "Gated linear unit: an activation of one half times the other";
  let description = [{
    `result[..., i] = activation(input[..., i]) * input[..., n + i]` for an
    input whose last dimension is `2n`: SwiGLU (`silu`), GeGLU (`gelu`,
    `gelu_tanh`), ReGLU (`relu`), the activations as the ops of those names
    define them. `--xformer-fuse-projections` writes it where the gate and
    up projections of a gated MLP became one linear (gate first), in place
    of the activation, the product and the two slices.

    ```mlir
    %h = xformer.glu silu %gate_up : tensor<2x8x256xf32> -> tensor<2x8x128xf32>
    ```
  }];
  let arguments = (ins Xformer_Activation:$activation, XF_FloatTensor:$input);
  let results = (outs XF_FloatTensor:$result);
  let assemblyFormat = [{
    $activation $input attr-dict `:` type($input) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Xformer_ReluOp : XF_UnaryFloatOp<"relu", "Rectified linear unit",
                                     "max(x, 0)">;
def Xformer_SiluOp : XF_UnaryFloatOp<"silu", "Sigmoid linear unit (swish)",
                                     "x * sigmoid(x)">;
def Xformer_TanhOp : XF_UnaryFloatOp<"tanh", "Hyperbolic tangent", "tanh(x)">;

def Xformer_SoftmaxOp : Xformer_Op<"softmax",
    [Pure, SameOperandsAndResultType]> {
  let summary = "Softmax along one axis";
  let description = [{
    `exp(x - max(x)) / sum(exp(x - max(x)))` along `axis` (in `[0, rank)`).
    Entries equal to `-inf` get probability 0; a slice that is entirely
    `-inf` yields NaN, as in PyTorch (the fused `xformer.attention` defines
    such rows as zeros instead).

    ```mlir
    %p = xformer.softmax %s, axis = 3 : tensor<2x12x8x8xf32>
    ```
  }];
  let arguments = (ins XF_FloatTensor:$input, I64Attr:$axis);
  let results = (outs XF_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` `axis` `=` $axis attr-dict `:` type($input)
  }];
  let hasCanonicalizer = 1;
  let hasVerifier = 1;
}

// Integer operands are allowed for position arithmetic (BART's `positions + 2`).
def Xformer_AddOp : XF_BinaryOp<"add", "Elementwise addition", "lhs + rhs",
                                XF_NumericTensor>;
def Xformer_SubOp : XF_BinaryOp<"sub", "Elementwise subtraction", "lhs - rhs",
                                XF_NumericTensor>;
def Xformer_MulOp : XF_BinaryOp<"mul", "Elementwise product", "lhs * rhs",
                                XF_NumericTensor>;
def Xformer_DivOp : XF_BinaryOp<"div", "Elementwise division", "lhs / rhs">;

//===----------------------------------------------------------------------===//
// Positions
//===----------------------------------------------------------------------===//

def Xformer_RopeOp : Xformer_Op<"rope", [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "Rotary position embedding";
  let description = [{
    Rotates pairs of features of each head of `input` (`[batch, heads, seq,
    head_dim]`) by the angle `position * theta^(-2k / rotary_dim)` for pair
    `k`, with `position` taken from `positions` (`[seq]` or `[batch, seq]`).
    `half` pairs feature `k` with `k + rotary_dim / 2` (Llama, GPT-NeoX);
    `interleaved` pairs `2k` with `2k + 1` (GPT-J). Only the first
    `rotary_dim` features rotate (default: all of `head_dim`); the rest pass
    through. `scaling` rescales the frequencies for long contexts
    (`#xformer.rope_scaling`: linear, llama3).

    ```mlir
    %qr = xformer.rope half %q, %pos, theta = 1.0e+04
        : tensor<2x8x16x64xf32>, tensor<16xi64>
    ```
  }];
  let arguments = (ins Xformer_RopeStyle:$style, XF_FloatTensor:$input,
                       XF_IndexTensor:$positions, F64Attr:$theta,
                       OptionalAttr<I64Attr>:$rotary_dim,
                       OptionalAttr<Xformer_RopeScalingAttr>:$scaling);
  let results = (outs XF_FloatTensor:$result);
  let assemblyFormat = [{
    $style $input `,` $positions `,` `theta` `=` $theta attr-dict `:`
    type($input) `,` type($positions)
  }];
  let hasVerifier = 1;
}

def Xformer_PositionsOp : Xformer_Op<"positions",
    [Pure, AttrSizedOperandSegments]> {
  let summary = "The positions offset, offset + 1, ..., offset + n - 1";
  let description = [{
    A 1-D integer tensor `[offset, offset + n)` where `n` is the result's
    length: static, or given by `size` when the result is dynamic. `offset`
    defaults to 0; in a decode step it is the number of cached tokens.
    Exporters build masks from positions: `xformer.compare le` of key
    positions against query positions is a causal mask.

    ```mlir
    %p = xformer.positions : tensor<8xi64>
    %d = xformer.positions offset %n : tensor<1xi64>
    %s = xformer.positions size %len : tensor<?xi64>
    ```
  }];
  let arguments = (ins Optional<Index>:$offset, Optional<Index>:$size);
  let results = (outs RankedTensorOf<[I32, I64]>:$result);
  let assemblyFormat = [{
    (`offset` $offset^)? (`size` $size^)? attr-dict `:` type($result)
  }];
  let hasVerifier = 1;
}

def Xformer_RelativePositionBiasOp : Xformer_Op<"relative_position_bias",
    [Pure]> {
  let summary = "T5-style bucketed relative position bias";
  let description = [{
    Computes the additive attention bias `result[0, h, i, j] =
    table[bucket(key_positions[j] - query_positions[i]), h]` where `bucket`
    is T5's: half the buckets are exact small distances, the rest
    logarithmic up to `max_distance`; `bidirectional` splits the buckets
    between negative and positive distances (encoder), otherwise only the
    past is distinguished (decoder). `table` is `[num_buckets, heads]`.
    Query positions are `[q_len]` (the result is `[1, heads, q_len,
    kv_len]`) or per sequence `[batch, q_len]` (the result is `[batch,
    heads, q_len, kv_len]`, as in a decode step); key positions are
    `[kv_len]`.

    ```mlir
    %bias = xformer.relative_position_bias %table, %qp, %kp,
        num_buckets = 32, max_distance = 128, bidirectional = true
        : tensor<32x8xf32>, tensor<16xi64>, tensor<16xi64> -> tensor<1x8x16x16xf32>
    ```
  }];
  let arguments = (ins XF_FloatTensor:$table, XF_IndexTensor:$query_positions,
                       XF_IndexTensor:$key_positions, I64Attr:$num_buckets,
                       I64Attr:$max_distance, BoolAttr:$bidirectional);
  let results = (outs XF_FloatTensor:$result);
  let assemblyFormat = [{
    $table `,` $query_positions `,` $key_positions `,`
    `num_buckets` `=` $num_buckets `,` `max_distance` `=` $max_distance `,`
    `bidirectional` `=` $bidirectional attr-dict `:` type($table) `,`
    type($query_positions) `,` type($key_positions) `->` type($result)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Building and applying masks
//===----------------------------------------------------------------------===//

def Xformer_CompareOp : Xformer_Op<"compare",
    [Pure, XF_Broadcasting, AllElementTypesMatch<["lhs", "rhs"]>,
     XF_InferResultType]> {
  let summary = "Elementwise comparison with broadcasting";
  let description = [{
    `lhs <predicate> rhs` elementwise, with NumPy broadcasting, giving an
    `i1` tensor. A causal mask is key positions `le` query positions:

    ```mlir
    %keep = xformer.compare le, %kpos, %qpos
        : tensor<1x8xi64>, tensor<8x1xi64> -> tensor<8x8xi1>
    ```
  }];
  let arguments = (ins Xformer_ComparePredicate:$predicate,
                       XF_NumericTensor:$lhs, XF_NumericTensor:$rhs);
  let results = (outs XF_BoolTensor:$result);
  let assemblyFormat = [{
    $predicate `,` $lhs `,` $rhs attr-dict `:` type($lhs) `,` type($rhs) `->`
    type($result)
  }];
}

def Xformer_AndOp : XF_BinaryOp<"and", "Elementwise logical and",
    "lhs && rhs", XF_BoolTensor,
    "tensor<8x8xi1>, tensor<2x1x8xi1> -> tensor<2x8x8xi1>">;
def Xformer_OrOp : XF_BinaryOp<"or", "Elementwise logical or",
    "lhs || rhs", XF_BoolTensor,
    "tensor<8x8xi1>, tensor<2x1x8xi1> -> tensor<2x8x8xi1>">;

def Xformer_NotOp : Xformer_Op<"not", [Pure, SameOperandsAndResultType]> {
  let summary = "Elementwise logical negation";
  let description = [{
    ```mlir
    %future = xformer.not %keep : tensor<8x8xi1>
    ```
  }];
  let arguments = (ins XF_BoolTensor:$input);
  let results = (outs XF_BoolTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

def Xformer_MaskedFillOp : Xformer_Op<"masked_fill",
    [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "Replaces the elements where a mask is true by a constant";
  let description = [{
    `result = mask ? value : input`, as PyTorch's `masked_fill`: the mask
    marks what to *hide*. The mask broadcasts to the input's shape. `value`
    is typically `-inf` (`0xFFF0000000000000`) or the element type's lowest finite value.

    ```mlir
    %m = xformer.masked_fill %scores, %future, value = 0xFFF0000000000000
        : tensor<2x12x8x8xf32>, tensor<8x8xi1>
    ```
  }];
  let arguments = (ins XF_FloatTensor:$input, XF_BoolTensor:$mask,
                       F64Attr:$value);
  let results = (outs XF_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $mask `,` `value` `=` $value attr-dict `:` type($input) `,`
    type($mask)
  }];
  let hasVerifier = 1;
}

def Xformer_SelectOp : Xformer_Op<"select",
    [Pure, XF_Broadcasting,
     AllElementTypesMatch<["true_value", "false_value", "result"]>,
     XF_InferResultType]> {
  let summary = "Elementwise choice between two tensors";
  let description = [{
    `result = condition ? true_value : false_value` with NumPy broadcasting
    (PyTorch's `where`). The mask marks what to *keep*:

    ```mlir
    %m = xformer.select %keep, %scores, %neg_inf
        : tensor<8x8xi1>, tensor<2x12x8x8xf32>, tensor<f32> -> tensor<2x12x8x8xf32>
    ```
  }];
  let arguments = (ins XF_BoolTensor:$condition, AnyRankedTensor:$true_value,
                       AnyRankedTensor:$false_value);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $condition `,` $true_value `,` $false_value attr-dict `:`
    type($condition) `,` type($true_value) `,` type($false_value) `->`
    type($result)
  }];
}

def Xformer_CastOp : Xformer_Op<"cast", [Pure, SameOperandsAndResultShape]> {
  let summary = "Converts the element type";
  let description = [{
    Float to float (round to nearest even), integer or `i1` to float (`true`
    is 1.0), float to integer (truncation), integer to integer (sign
    extension or truncation). Exporters compute softmax in f32 between two
    casts, and turn a 0/1 attention mask into an additive bias with a cast.

    ```mlir
    %s32 = xformer.cast %s : tensor<2x12x8x8xbf16> -> tensor<2x12x8x8xf32>
    ```
  }];
  let arguments = (ins XF_NumericTensor:$input);
  let results = (outs XF_NumericTensor:$result);
  let hasFolder = 1;
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
}

//===----------------------------------------------------------------------===//
// Fused attention
//===----------------------------------------------------------------------===//

def Xformer_AttentionOp : Xformer_Op<"attention",
    [Pure, AttrSizedOperandSegments]> {
  let summary = "Fused scaled dot-product attention with mask semantics";
  let description = [{
    For each batch `b`, query head `h` and query index `i`:

    ```
    s[j]   = scale * dot(query[b, h, i, :], key[b, h / g, j, :]) + bias[b, h, i, j]
    p      = softmax over the keys j visible to query i (see #xformer.mask)
    out[b, h, i, :] = sum_j p[j] * value[b, h / g, j, :]
    ```

    `query` is `[batch, heads, q_len, head_dim]`; `key` and `value` are
    `[batch, kv_heads, kv_len, head_dim]` (`value` may have another head
    dimension, which the result takes). `heads` must be a multiple of
    `kv_heads`; query head `h` reads key/value head `h / (heads / kv_heads)`
    (grouped-query attention; multi-query when `kv_heads` is 1).

    Visibility is the `mask` attribute (`#xformer.mask<...>`), evaluated by
    `mlir::xformer::mask::isVisible`, further restricted by:
    * `q_lengths` / `kv_lengths` (`[batch]`): per-sequence valid lengths
      (padding, variable lengths). Queries sit at positions
      `kv_len - q_len + i` (the last `q_len` positions of the keys), so a
      decode step's single query sits at `kv_len - 1` and a prefill chunk at
      its offset. Keys at or past `kv_len` are never visible; query rows at
      or past `q_len` are padding.
    * `prefix_lengths` (`[batch]`): the runtime prefix of
      `#xformer.mask<prefix_lm, prefix = ?>`.
    * `mask_tensor`: for `#xformer.mask<custom>` only, an `i1` tensor
      broadcastable to `[batch, heads, q_len, kv_len]`, true where visible.
    * `segment_ids` (`[batch, kv_len]`): the document of each key position,
      for `#xformer.mask<..., documents>` only (packed sequences).
    * `bias`: an optional additive float bias broadcastable to
      `[batch, heads, q_len, kv_len]` (T5 relative positions, ALiBi). It
      adds to scores; it does not decide visibility.

    **Fully masked rows** (no visible key, including padding rows) yield
    zeros, never NaN.

    ```mlir
    %o = xformer.attention %q, %k, %v, mask = #xformer.mask<causal>,
        scale = 1.250000e-01
        : tensor<1x32x128x128xbf16>, tensor<1x8x128x128xbf16>,
          tensor<1x8x128x128xbf16> -> tensor<1x32x128x128xbf16>
    %p = xformer.attention %q2, %k2, %v2,
        mask = #xformer.mask<prefix_lm, prefix = ?>, scale = 1.250000e-01
        kv_lengths(%len : tensor<2xi32>) prefix_lengths(%pre : tensor<2xi32>)
        : tensor<2x4x16x64xf32>, tensor<2x4x16x64xf32>, tensor<2x4x16x64xf32>
          -> tensor<2x4x16x64xf32>
    ```
  }];
  let arguments = (ins XF_FloatTensor:$query, XF_FloatTensor:$key,
                       XF_FloatTensor:$value,
                       Optional<XF_IndexTensor>:$q_lengths,
                       Optional<XF_IndexTensor>:$kv_lengths,
                       Optional<XF_IndexTensor>:$prefix_lengths,
                       Optional<XF_BoolTensor>:$mask_tensor,
                       Optional<XF_FloatTensor>:$bias,
                       Optional<XF_IndexTensor>:$segment_ids,
                       Xformer_MaskAttr:$mask, F64Attr:$scale);
  let results = (outs XF_FloatTensor:$result);
  let assemblyFormat = [{
    $query `,` $key `,` $value `,` `mask` `=` qualified($mask) `,`
    `scale` `=` $scale
    (`q_lengths` `(` $q_lengths^ `:` type($q_lengths) `)`)?
    (`kv_lengths` `(` $kv_lengths^ `:` type($kv_lengths) `)`)?
    (`prefix_lengths` `(` $prefix_lengths^ `:` type($prefix_lengths) `)`)?
    (`mask_tensor` `(` $mask_tensor^ `:` type($mask_tensor) `)`)?
    (`bias` `(` $bias^ `:` type($bias) `)`)?
    (`segment_ids` `(` $segment_ids^ `:` type($segment_ids) `)`)?
    attr-dict `:` type($query) `,` type($key) `,` type($value) `->`
    type($result)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    int64_t getNumHeads() { return getQuery().getType().getDimSize(1); }
    int64_t getNumKVHeads() { return getKey().getType().getDimSize(1); }
  }];
}

//===----------------------------------------------------------------------===//
// KV cache
//===----------------------------------------------------------------------===//

def Xformer_KVCacheOp : Xformer_Op<"kv_cache", [Symbol]> {
  let summary = "Declares the key/value cache of one attention layer";
  let description = [{
    A module-level declaration of the memory that keeps one attention's keys
    and values between calls: `self` for every position up to the maximum
    sequence length, `ring` for a sliding-window attention (a ring buffer of
    `window` positions, whatever the maximum length), `cross` for a
    cross-attention's K/V of the encoder output, computed once per source.
    It stores `kv_heads` heads (grouped-query attention stores the K/V
    heads, not the query heads) of `head_dim` in `element_type` (the model's
    K/V type; the planner may choose a narrower storage type).

    A ring written by chunks of up to `chunk` positions (prefill) holds
    `window + chunk - 1` positions, so the first query of a chunk still
    finds its whole window; without `chunk` (or with 1: decode) it holds
    `window`.

    `--xformer-plan-kv-cache` fills `capacity` (positions per sequence),
    `offset` (bytes into the cache arena) and `bytes`.

    ```mlir
    xformer.kv_cache @model.layers.0.self_attn self, kv_heads = 8,
        head_dim = 128 : bf16
    xformer.kv_cache @model.layers.1.self_attn ring, kv_heads = 8,
        head_dim = 128, window = 4096 : bf16
    ```
  }];
  let arguments = (ins SymbolNameAttr:$sym_name, Xformer_CacheKind:$kind,
                       I64Attr:$kv_heads, I64Attr:$head_dim,
                       TypeAttr:$element_type,
                       OptionalAttr<I64Attr>:$window,
                       OptionalAttr<I64Attr>:$chunk,
                       OptionalAttr<I64Attr>:$capacity,
                       OptionalAttr<I64Attr>:$offset,
                       OptionalAttr<I64Attr>:$bytes);
  let assemblyFormat = [{
    $sym_name $kind `,` `kv_heads` `=` $kv_heads `,` `head_dim` `=` $head_dim
    (`,` `window` `=` $window^)? attr-dict `:` $element_type
  }];
  let hasVerifier = 1;
}

def Xformer_CacheAppendOp : Xformer_Op<"cache_append",
    [DeclareOpInterfaceMethods<SymbolUserOpInterface>,
     MemoryEffects<[MemWrite]>]> {
  let summary = "Writes new keys and values into a KV cache";
  let description = [{
    Writes `key` and `value` (`[batch, kv_heads, n, head_dim]`) of sequence
    `b` at positions `start[b]`, ..., `start[b] + n - 1` of `cache`; with
    `lengths`, only the first `lengths[b]` of the n are written (padding is
    not cached). A ring cache writes position p at slot p mod window.

    ```mlir
    xformer.cache_append @model.layers.0.self_attn, %k, %v, start %pos
        : tensor<1x8x1x128xbf16>, tensor<1x8x1x128xbf16>, tensor<1xi64>
    ```
  }];
  let arguments = (ins FlatSymbolRefAttr:$cache, XF_FloatTensor:$key,
                       XF_FloatTensor:$value, XF_IndexTensor:$start,
                       Optional<XF_IndexTensor>:$lengths);
  let assemblyFormat = [{
    $cache `,` $key `,` $value `,` `start` $start (`lengths` $lengths^)?
    attr-dict `:` type($key) `,` type($value) `,` type($start)
    (`,` type($lengths)^)?
  }];
  let hasVerifier = 1;
}

def Xformer_CacheReadOp : Xformer_Op<"cache_read",
    [DeclareOpInterfaceMethods<SymbolUserOpInterface>,
     MemoryEffects<[MemRead]>]> {
  let summary = "Reads the keys and values held by a KV cache";
  let description = [{
    The cached keys and values as `[batch, kv_heads, capacity, head_dim]`
    in position order: positions `0 .. capacity - 1` of a `self` or `cross`
    cache, and for a `ring` cache the last `window` positions, oldest first.
    Positions not written yet are padding; the attention that reads the
    cache gets the valid lengths as `kv_lengths`.

    ```mlir
    %k, %v = xformer.cache_read @model.layers.0.self_attn
        : tensor<1x8x4096x128xbf16>, tensor<1x8x4096x128xbf16>
    ```
  }];
  let arguments = (ins FlatSymbolRefAttr:$cache);
  let results = (outs XF_FloatTensor:$key, XF_FloatTensor:$value);
  let assemblyFormat = [{
    $cache attr-dict `:` type($key) `,` type($value)
  }];
}

#endif // XFORMER_OPS_TD
