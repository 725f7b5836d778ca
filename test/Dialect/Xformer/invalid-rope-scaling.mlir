// #xformer.rope_scaling: each parse and verifier rule, one case each.
// RUN: xformer-opt %s -split-input-file -verify-diagnostics

func.func @unknown_kind(%x: tensor<1x2x8x16xf32>, %p: tensor<8xi64>) {
  // expected-error @+1 {{unknown rope scaling 'yarn' (linear, llama3)}}
  %y = xformer.rope half %x, %p, theta = 1.0e4 {scaling = #xformer.rope_scaling<yarn, factor = 2.0>} : tensor<1x2x8x16xf32>, tensor<8xi64>
  return
}

// -----

func.func @bad_factor(%x: tensor<1x2x8x16xf32>, %p: tensor<8xi64>) {
  // expected-error @+1 {{rope scaling factor must be positive and finite, got 0}}
  %y = xformer.rope half %x, %p, theta = 1.0e4 {scaling = #xformer.rope_scaling<linear, factor = 0.0>} : tensor<1x2x8x16xf32>, tensor<8xi64>
  return
}

// -----

func.func @llama3_without_context(%x: tensor<1x2x8x16xf32>, %p: tensor<8xi64>) {
  // expected-error @+1 {{llama3 rope scaling needs original_max_positions > 0}}
  %y = xformer.rope half %x, %p, theta = 1.0e4 {scaling = #xformer.rope_scaling<llama3, factor = 8.0>} : tensor<1x2x8x16xf32>, tensor<8xi64>
  return
}

// -----

func.func @llama3_bands(%x: tensor<1x2x8x16xf32>, %p: tensor<8xi64>) {
  // expected-error @+1 {{llama3 rope scaling needs 0 < low_freq_factor < high_freq_factor, got 4.000000e+00 and 1.000000e+00}}
  %y = xformer.rope half %x, %p, theta = 1.0e4 {scaling = #xformer.rope_scaling<llama3, factor = 8.0, low_freq_factor = 4.0, high_freq_factor = 1.0, original_max_positions = 32>} : tensor<1x2x8x16xf32>, tensor<8xi64>
  return
}

// -----

func.func @unknown_parameter(%x: tensor<1x2x8x16xf32>, %p: tensor<8xi64>) {
  // expected-error @+1 {{unknown rope scaling parameter 'beta_fast'}}
  %y = xformer.rope half %x, %p, theta = 1.0e4 {scaling = #xformer.rope_scaling<linear, factor = 2.0, beta_fast = 32.0>} : tensor<1x2x8x16xf32>, tensor<8xi64>
  return
}
