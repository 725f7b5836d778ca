// Every rule of #xformer.mask, parsed and verified.
// RUN: xformer-opt %s -split-input-file -verify-diagnostics

func.func @window_zero(%q: tensor<1x1x4x8xf32>) -> tensor<1x1x4x8xf32> {
  // expected-error @+1 {{sliding_window mask requires a positive window, got 0}}
  %o = xformer.attention %q, %q, %q, mask = #xformer.mask<sliding_window, window = 0>, scale = 1.0 : tensor<1x1x4x8xf32>, tensor<1x1x4x8xf32>, tensor<1x1x4x8xf32> -> tensor<1x1x4x8xf32>
  return %o : tensor<1x1x4x8xf32>
}

// -----

func.func @window_negative(%q: tensor<1x1x4x8xf32>) -> tensor<1x1x4x8xf32> {
  // expected-error @+1 {{sliding_window mask requires a positive window, got -3}}
  %o = xformer.attention %q, %q, %q, mask = #xformer.mask<sliding_window, window = -3>, scale = 1.0 : tensor<1x1x4x8xf32>, tensor<1x1x4x8xf32>, tensor<1x1x4x8xf32> -> tensor<1x1x4x8xf32>
  return %o : tensor<1x1x4x8xf32>
}

// -----

func.func @window_missing(%q: tensor<1x1x4x8xf32>) -> tensor<1x1x4x8xf32> {
  // expected-error @+1 {{sliding_window mask requires 'window = N'}}
  %o = xformer.attention %q, %q, %q, mask = #xformer.mask<sliding_window>, scale = 1.0 : tensor<1x1x4x8xf32>, tensor<1x1x4x8xf32>, tensor<1x1x4x8xf32> -> tensor<1x1x4x8xf32>
  return %o : tensor<1x1x4x8xf32>
}

// -----

func.func @window_on_causal(%q: tensor<1x1x4x8xf32>) -> tensor<1x1x4x8xf32> {
  // expected-error @+1 {{'window' is only valid for sliding_window masks, not causal}}
  %o = xformer.attention %q, %q, %q, mask = #xformer.mask<causal, window = 4>, scale = 1.0 : tensor<1x1x4x8xf32>, tensor<1x1x4x8xf32>, tensor<1x1x4x8xf32> -> tensor<1x1x4x8xf32>
  return %o : tensor<1x1x4x8xf32>
}

// -----

func.func @prefix_zero(%q: tensor<1x1x4x8xf32>) -> tensor<1x1x4x8xf32> {
  // expected-error @+1 {{prefix_lm mask requires a positive prefix length or '?' for a runtime value, got 0}}
  %o = xformer.attention %q, %q, %q, mask = #xformer.mask<prefix_lm, prefix = 0>, scale = 1.0 : tensor<1x1x4x8xf32>, tensor<1x1x4x8xf32>, tensor<1x1x4x8xf32> -> tensor<1x1x4x8xf32>
  return %o : tensor<1x1x4x8xf32>
}

// -----

func.func @prefix_missing(%q: tensor<1x1x4x8xf32>) -> tensor<1x1x4x8xf32> {
  // expected-error @+1 {{prefix_lm mask requires 'prefix = N' or 'prefix = ?'}}
  %o = xformer.attention %q, %q, %q, mask = #xformer.mask<prefix_lm>, scale = 1.0 : tensor<1x1x4x8xf32>, tensor<1x1x4x8xf32>, tensor<1x1x4x8xf32> -> tensor<1x1x4x8xf32>
  return %o : tensor<1x1x4x8xf32>
}

// -----

func.func @prefix_on_bidirectional(%q: tensor<1x1x4x8xf32>) -> tensor<1x1x4x8xf32> {
  // expected-error @+1 {{'prefix' is only valid for prefix_lm masks, not bidirectional}}
  %o = xformer.attention %q, %q, %q, mask = #xformer.mask<bidirectional, prefix = 2>, scale = 1.0 : tensor<1x1x4x8xf32>, tensor<1x1x4x8xf32>, tensor<1x1x4x8xf32> -> tensor<1x1x4x8xf32>
  return %o : tensor<1x1x4x8xf32>
}

// -----

func.func @unknown_kind(%q: tensor<1x1x4x8xf32>) -> tensor<1x1x4x8xf32> {
  // expected-error @+1 {{unknown mask kind 'diagonal'; expected one of bidirectional, causal, prefix_lm, sliding_window, cross, custom}}
  %o = xformer.attention %q, %q, %q, mask = #xformer.mask<diagonal>, scale = 1.0 : tensor<1x1x4x8xf32>, tensor<1x1x4x8xf32>, tensor<1x1x4x8xf32> -> tensor<1x1x4x8xf32>
  return %o : tensor<1x1x4x8xf32>
}

// -----

func.func @unknown_parameter(%q: tensor<1x1x4x8xf32>) -> tensor<1x1x4x8xf32> {
  // expected-error @+1 {{unknown mask parameter 'stride'; expected 'window', 'prefix' or 'documents'}}
  %o = xformer.attention %q, %q, %q, mask = #xformer.mask<causal, stride = 2>, scale = 1.0 : tensor<1x1x4x8xf32>, tensor<1x1x4x8xf32>, tensor<1x1x4x8xf32> -> tensor<1x1x4x8xf32>
  return %o : tensor<1x1x4x8xf32>
}

// -----

func.func @duplicate_window(%q: tensor<1x1x4x8xf32>) -> tensor<1x1x4x8xf32> {
  // expected-error @+1 {{duplicate 'window' in mask}}
  %o = xformer.attention %q, %q, %q, mask = #xformer.mask<sliding_window, window = 2, window = 3>, scale = 1.0 : tensor<1x1x4x8xf32>, tensor<1x1x4x8xf32>, tensor<1x1x4x8xf32> -> tensor<1x1x4x8xf32>
  return %o : tensor<1x1x4x8xf32>
}

// -----

func.func @duplicate_prefix(%q: tensor<1x1x4x8xf32>) -> tensor<1x1x4x8xf32> {
  // expected-error @+1 {{duplicate 'prefix' in mask}}
  %o = xformer.attention %q, %q, %q, mask = #xformer.mask<prefix_lm, prefix = 2, prefix = ?>, scale = 1.0 : tensor<1x1x4x8xf32>, tensor<1x1x4x8xf32>, tensor<1x1x4x8xf32> -> tensor<1x1x4x8xf32>
  return %o : tensor<1x1x4x8xf32>
}

// -----

func.func @not_a_mask(%q: tensor<1x1x4x8xf32>) -> tensor<1x1x4x8xf32> {
  // expected-error @+1 {{invalid kind of attribute specified}}
  %o = xformer.attention %q, %q, %q, mask = 3 : i32, scale = 1.0 : tensor<1x1x4x8xf32>, tensor<1x1x4x8xf32>, tensor<1x1x4x8xf32> -> tensor<1x1x4x8xf32>
  return %o : tensor<1x1x4x8xf32>
}

// -----

func.func @documents_on_cross(%q: tensor<1x1x4x8xf32>) -> tensor<1x1x4x8xf32> {
  // expected-error @+1 {{'documents' does not apply to cross masks}}
  %o = xformer.attention %q, %q, %q, mask = #xformer.mask<cross, documents>, scale = 1.0 : tensor<1x1x4x8xf32>, tensor<1x1x4x8xf32>, tensor<1x1x4x8xf32> -> tensor<1x1x4x8xf32>
  return %o : tensor<1x1x4x8xf32>
}

// -----

func.func @duplicate_documents(%q: tensor<1x1x4x8xf32>) -> tensor<1x1x4x8xf32> {
  // expected-error @+1 {{duplicate 'documents' in mask}}
  %o = xformer.attention %q, %q, %q, mask = #xformer.mask<causal, documents, documents>, scale = 1.0 : tensor<1x1x4x8xf32>, tensor<1x1x4x8xf32>, tensor<1x1x4x8xf32> -> tensor<1x1x4x8xf32>
  return %o : tensor<1x1x4x8xf32>
}
