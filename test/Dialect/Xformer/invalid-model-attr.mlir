// The xformer.model function attribute.
// RUN: xformer-opt %s -split-input-file -verify-diagnostics

// expected-error @+1 {{'xformer.model' expects #xformer.model<encoder | decoder | encoder_decoder>, got 3 : i32}}
func.func @not_a_model_kind() attributes {xformer.model = 3 : i32} {
  return
}

// -----

// expected-error @+1 {{'xformer.model' is only valid on a function}}
module attributes {xformer.model = #xformer.model<decoder>} {
}

// -----

// expected-error @+1 {{unknown xformer attribute 'xformer.arch'}}
func.func @unknown_attr() attributes {xformer.arch = "decoder"} {
  return
}

// -----

// expected-error @+2 {{expected ::mlir::xformer::ModelKind to be one of: encoder, decoder, encoder_decoder}}
// expected-error @+1 {{failed to parse Xformer_ModelKindAttr parameter 'value' which is to be a `::mlir::xformer::ModelKind`}}
func.func @unknown_kind() attributes {xformer.model = #xformer.model<transformer>} {
  return
}
