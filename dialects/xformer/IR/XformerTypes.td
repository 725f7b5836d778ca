//===- XformerTypes.td - xformer types ---------------------*- tablegen -*-===//

#ifndef XFORMER_TYPES_TD
#define XFORMER_TYPES_TD

include "xformer/IR/XformerAttrs.td"
include "mlir/IR/AttrTypeBase.td"

def Xformer_GGMLType : TypeDef<Xformer_Dialect, "GGML"> {
  let mnemonic = "ggml";
  let summary = "An element stored in one of ggml's block formats";
  let description = [{
    The element type of a weight stored as llama.cpp stores it: rows cut
    into blocks (32 elements for `q4_0`, `q4_1`, `q5_0`, `q5_1`, `q8_0`;
    256 for the k-quants `q2_k` to `q6_k`), each block small integers with
    its own scale (and minimum, for the `_1` and k formats). A tensor of
    this element type has the logical shape of the weight it holds; its
    last dimension is a whole number of blocks and its bytes are
    `rows * (cols / block elements) * block bytes`, the layout of a GGUF
    tensor of that type, so the runtime binds a GGUF tensor in place.

    A linear over such a weight (f32 input and result) computes on the
    blocks as stored: every product is a weight's stored value times the
    input, the input rounded to no fewer than 16 bits per block of 32 (the
    CPU runtime's integer dot products for a few rows, llama.cpp's scheme
    with 16 bits for its 8; for many rows it decodes the weights to f32 a
    panel at a time and the products are exact). An embedding over such a
    table decodes the rows it looks up.

    ```mlir
    %w = xformer.weight @blk.0.attn_q.weight : tensor<576x576x!xformer.ggml<q4_1>>
    %y = xformer.linear %x, %w
        : tensor<1x8x576xf32>, tensor<576x576x!xformer.ggml<q4_1>>
          -> tensor<1x8x576xf32>
    ```
  }];
  let parameters = (ins EnumParameter<Xformer_GGMLFormat>:$format);
  let assemblyFormat = "`<` $format `>`";
  let extraClassDeclaration = [{
    /// Elements per block (32 or 256) and the bytes of one block.
    int64_t getBlockElements() const;
    int64_t getBlockBytes() const;
    /// ggml's name of the format ("Q4_K").
    ::llvm::StringRef getGGMLName() const;
  }];
}

def XF_GGMLElement : Type<CPred<"::llvm::isa<::mlir::xformer::GGMLType>($_self)">,
                          "ggml block element">;

#endif // XFORMER_TYPES_TD
