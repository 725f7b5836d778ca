// Malformed IR: each case is a parse error with a location, never a crash.
// RUN: xformer-opt %s -split-input-file -verify-diagnostics

func.func @unknown_op(%x: tensor<4xf32>) {
  // expected-error @+1 {{custom op 'xformer.flash' is unknown}}
  %y = xformer.flash %x : tensor<4xf32>
  return
}

// -----

func.func @unranked(%x: tensor<*xf32>) {
  // expected-error @+1 {{invalid kind of type specified: expected builtin.tensor, but found 'tensor<*xf32>'}}
  %y = xformer.relu %x : tensor<*xf32>
  return
}

// -----

// expected-note @+1 {{prior use here}}
func.func @wrong_operand_type(%x: tensor<4xf32>) {
  // expected-error @+1 {{use of value '%x' expects different type than prior uses: 'tensor<8xf32>' vs 'tensor<4xf32>'}}
  %y = xformer.relu %x : tensor<8xf32>
  return
}

// -----

func.func @unknown_gelu(%x: tensor<4xf32>) {
  // expected-error @+1 {{expected string or keyword containing one of the following enum values for attribute 'approximation' [erf, tanh]}}
  %y = xformer.gelu sigmoid %x : tensor<4xf32>
  return
}

// -----

func.func @unknown_predicate(%a: tensor<4xi64>) {
  // expected-error @+1 {{expected string or keyword containing one of the following enum values for attribute 'predicate' [eq, ne, lt, le, gt, ge]}}
  %c = xformer.compare before, %a, %a : tensor<4xi64>, tensor<4xi64> -> tensor<4xi1>
  return
}

// -----

func.func @missing_scale(%q: tensor<1x1x4x8xf32>) {
  // expected-error @+1 {{expected 'scale'}}
  %o = xformer.attention %q, %q, %q, mask = #xformer.mask<causal> : tensor<1x1x4x8xf32>, tensor<1x1x4x8xf32>, tensor<1x1x4x8xf32> -> tensor<1x1x4x8xf32>
  return
}

// -----

func.func @weight_without_name() {
  // expected-error @+1 {{expected attribute value}}
  %w = xformer.weight : tensor<4xf32>
  return
}

// -----

func.func @unknown_dialect_attr(%q: tensor<1x1x4x8xf32>) {
  // expected-error @+1 {{unknown attribute `window` in dialect `xformer`}}
  %o = xformer.attention %q, %q, %q, mask = #xformer.window<4>, scale = 1.0 : tensor<1x1x4x8xf32>, tensor<1x1x4x8xf32>, tensor<1x1x4x8xf32> -> tensor<1x1x4x8xf32>
  return
}

// -----

func.func @concat_without_axis(%a: tensor<2x4xf32>, %b: tensor<2x4xf32>) {
  // expected-error @+1 {{expected ', axis = <integer>' after the operands}}
  %c = xformer.concat %a, %b : tensor<2x4xf32>, tensor<2x4xf32> -> tensor<4x4xf32>
  return
}
