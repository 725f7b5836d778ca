// Every op verifier rule, one case each.
// RUN: xformer-opt %s -split-input-file -verify-diagnostics

// expected-error @+1 {{expects a non-empty weight name}}
xformer.weight_decl @"" : tensor<4xf32>

// -----

// expected-error @+1 {{weight 'w' must have a static shape, got [?]}}
xformer.weight_decl @w : tensor<?xf32>

// -----

func.func @weight_dynamic_read() {
  // expected-error @+1 {{weight 'w' must have a static shape, got [?]}}
  %w = xformer.weight @w : tensor<?xf32>
  return
}
xformer.weight_decl @w : tensor<4xf32>

// -----

func.func @weight_undeclared() {
  // expected-error @+1 {{reads weight 'wpe', which no xformer.weight_decl declares}}
  %w = xformer.weight @wpe : tensor<4xf32>
  return
}
xformer.weight_decl @wte : tensor<4xf32>

// -----

func.func @weight_conflicting_shapes() {
  %a = xformer.weight @wte : tensor<100x64xf32>
  // expected-error @+1 {{reads weight 'wte' as 'tensor<100x32xf32>' but it is declared 'tensor<100x64xf32>'}}
  %b = xformer.weight @wte : tensor<100x32xf32>
  return
}
// expected-note @+1 {{declared here}}
xformer.weight_decl @wte : tensor<100x64xf32>

// -----

func.func @weight_int_and_float() {
  %a = xformer.weight @ids : tensor<4xi64>
  // expected-error @+1 {{reads weight 'ids' as 'tensor<4xf32>' but it is declared 'tensor<4xi64>'}}
  %b = xformer.weight @ids : tensor<4xf32>
  return
}
// expected-note @+1 {{declared here}}
xformer.weight_decl @ids : tensor<4xi64>

// -----

func.func @embedding_table_rank(%t: tensor<10xf32>, %i: tensor<2xi64>) {
  // expected-error @+1 {{expects a [vocab, dim] table, got rank 1}}
  %e = xformer.embedding %t, %i : tensor<10xf32>, tensor<2xi64> -> tensor<2x1xf32>
  return
}

// -----

func.func @embedding_bool_ids(%t: tensor<10x4xf32>, %i: tensor<2xi1>) {
  // expected-error @+1 {{expects integer token ids, not i1}}
  %e = xformer.embedding %t, %i : tensor<10x4xf32>, tensor<2xi1> -> tensor<2x4xf32>
  return
}

// -----

func.func @embedding_result_shape(%t: tensor<10x4xf32>, %i: tensor<2x3xi64>) {
  // expected-error @+1 {{result shape [2, 4] should be [2, 3, 4] (ids shape followed by dim)}}
  %e = xformer.embedding %t, %i : tensor<10x4xf32>, tensor<2x3xi64> -> tensor<2x4xf32>
  return
}

// -----

func.func @embedding_result_type(%t: tensor<10x4xf32>, %i: tensor<2xi64>) {
  // expected-error @+1 {{result element type 'f16' should be 'f32' (the table's)}}
  %e = xformer.embedding %t, %i : tensor<10x4xf32>, tensor<2xi64> -> tensor<2x4xf16>
  return
}

// -----

func.func @linear_weight_rank(%x: tensor<2x8xf32>, %w: tensor<8xf32>) {
  // expected-error @+1 {{expects a 2-D weight, got rank 1}}
  %y = xformer.linear %x, %w : tensor<2x8xf32>, tensor<8xf32> -> tensor<2x8xf32>
  return
}

// -----

func.func @linear_input_rank(%x: tensor<f32>, %w: tensor<4x8xf32>) {
  // expected-error @+1 {{expects an input of rank >= 1}}
  %y = xformer.linear %x, %w : tensor<f32>, tensor<4x8xf32> -> tensor<4xf32>
  return
}

// -----

func.func @linear_in_features(%x: tensor<2x8xf32>, %w: tensor<16x4xf32>) {
  // expected-error @+1 {{input feature dimension 8 does not match the weight's input dimension 4 (weight [16, 4], stored [out, in])}}
  %y = xformer.linear %x, %w : tensor<2x8xf32>, tensor<16x4xf32> -> tensor<2x16xf32>
  return
}

// -----

func.func @linear_in_features_transposed(%x: tensor<2x8xf32>, %w: tensor<16x4xf32>) {
  // expected-error @+1 {{input feature dimension 8 does not match the weight's input dimension 16 (weight [16, 4], stored [in, out])}}
  %y = xformer.linear %x, %w {weight_transposed} : tensor<2x8xf32>, tensor<16x4xf32> -> tensor<2x4xf32>
  return
}

// -----

func.func @linear_bias_shape(%x: tensor<2x8xf32>, %w: tensor<16x8xf32>, %b: tensor<8xf32>) {
  // expected-error @+1 {{bias shape [8] should be [16]}}
  %y = xformer.linear %x, %w, %b : tensor<2x8xf32>, tensor<16x8xf32>, tensor<8xf32> -> tensor<2x16xf32>
  return
}

// -----

func.func @linear_bias_type(%x: tensor<2x8xf32>, %w: tensor<16x8xf32>, %b: tensor<16xf16>) {
  // expected-error @+1 {{bias element type differs from the input's}}
  %y = xformer.linear %x, %w, %b : tensor<2x8xf32>, tensor<16x8xf32>, tensor<16xf16> -> tensor<2x16xf32>
  return
}

// -----

func.func @linear_result_shape(%x: tensor<2x8xf32>, %w: tensor<16x8xf32>) {
  // expected-error @+1 {{result shape [2, 8] should be [2, 16]}}
  %y = xformer.linear %x, %w : tensor<2x8xf32>, tensor<16x8xf32> -> tensor<2x8xf32>
  return
}

// -----

func.func @linear_types(%x: tensor<2x8xf32>, %w: tensor<16x8xf32>) {
  // expected-error @+1 {{input and result element types must agree}}
  %y = xformer.linear %x, %w : tensor<2x8xf32>, tensor<16x8xf32> -> tensor<2x16xbf16>
  return
}

// -----

func.func @linear_f16_weight_transposed(%x: tensor<2x8xf32>, %w: tensor<8x16xf16>) {
  // expected-error @+1 {{an f16 weight under an f32 input is stored [out, in]; weight_transposed is not allowed}}
  %y = xformer.linear %x, %w {weight_transposed} : tensor<2x8xf32>, tensor<8x16xf16> -> tensor<2x16xf32>
  return
}

// -----

func.func @linear_f32_weight_bf16_input(%x: tensor<2x8xbf16>, %w: tensor<16x8xf32>) {
  // expected-error @+1 {{weight element type 'f32' must be the input's ('bf16'), or bf16 or f16 under an f32 input}}
  %y = xformer.linear %x, %w : tensor<2x8xbf16>, tensor<16x8xf32> -> tensor<2x16xbf16>
  return
}

// -----

func.func @embedding_f16_table_to_bf16(%ids: tensor<2xi64>) {
  %t = xformer.weight @t : tensor<10x8xf16>
  // expected-error @+1 {{result element type 'bf16' should be 'f16' (the table's) or f32}}
  %r = xformer.embedding %t, %ids : tensor<10x8xf16>, tensor<2xi64> -> tensor<2x8xbf16>
  return
}
xformer.weight_decl @t : tensor<10x8xf16>

// -----

func.func @linear_bf16_weight_bf16_input(%x: tensor<2x8xf16>, %w: tensor<16x8xbf16>) {
  // expected-error @+1 {{weight element type 'bf16' must be the input's ('f16'), or bf16 or f16 under an f32 input}}
  %y = xformer.linear %x, %w : tensor<2x8xf16>, tensor<16x8xbf16> -> tensor<2x16xf16>
  return
}

// -----

func.func @linear_integer_input(%x: tensor<2x8xi32>, %w: tensor<16x8xf32>) {
  // expected-error @+1 {{operand #0 must be ranked tensor of floating-point values}}
  %y = xformer.linear %x, %w : tensor<2x8xi32>, tensor<16x8xf32> -> tensor<2x16xf32>
  return
}

// -----

func.func @matmul_rank(%a: tensor<8xf32>, %b: tensor<8x4xf32>) {
  // expected-error @+1 {{expects operands of rank >= 2}}
  %c = xformer.matmul %a, %b : tensor<8xf32>, tensor<8x4xf32> -> tensor<4xf32>
  return
}

// -----

func.func @matmul_types(%a: tensor<2x8xf32>, %b: tensor<8x4xf16>) {
  // expected-error @+1 {{operand and result element types must agree}}
  %c = xformer.matmul %a, %b : tensor<2x8xf32>, tensor<8x4xf16> -> tensor<2x4xf32>
  return
}

// -----

func.func @matmul_contraction(%a: tensor<2x8xf32>, %b: tensor<6x4xf32>) {
  // expected-error @+1 {{contraction dimensions differ: lhs has 8, rhs has 6}}
  %c = xformer.matmul %a, %b : tensor<2x8xf32>, tensor<6x4xf32> -> tensor<2x4xf32>
  return
}

// -----

func.func @matmul_contraction_transposed(%a: tensor<2x8xf32>, %b: tensor<8x4xf32>) {
  // expected-error @+1 {{contraction dimensions differ: lhs has 8, rhs has 4}}
  %c = xformer.matmul %a, %b {transpose_rhs} : tensor<2x8xf32>, tensor<8x4xf32> -> tensor<2x8xf32>
  return
}

// -----

func.func @matmul_batch(%a: tensor<3x2x8xf32>, %b: tensor<4x8x4xf32>) {
  // expected-error @+1 {{batch dimensions do not broadcast: dimension 0 of the broadcast is 3 in one operand and 4 in the other}}
  %c = xformer.matmul %a, %b : tensor<3x2x8xf32>, tensor<4x8x4xf32> -> tensor<3x2x4xf32>
  return
}

// -----

func.func @matmul_result(%a: tensor<2x8xf32>, %b: tensor<8x4xf32>) {
  // expected-error @+1 {{result shape [4, 2] should be [2, 4]}}
  %c = xformer.matmul %a, %b : tensor<2x8xf32>, tensor<8x4xf32> -> tensor<4x2xf32>
  return
}

// -----

func.func @transpose_size(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{permutation has 1 entries for an input of rank 2}}
  %t = xformer.transpose %x, [0] : tensor<2x3xf32> -> tensor<2x3xf32>
  return
}

// -----

func.func @transpose_not_perm(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{permutation [0, 0] is not a permutation of [0, 2)}}
  %t = xformer.transpose %x, [0, 0] : tensor<2x3xf32> -> tensor<2x2xf32>
  return
}

// -----

func.func @transpose_out_of_range(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{permutation [0, 2] is not a permutation of [0, 2)}}
  %t = xformer.transpose %x, [0, 2] : tensor<2x3xf32> -> tensor<2x3xf32>
  return
}

// -----

func.func @transpose_result(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{result shape [2, 3] should be [3, 2]}}
  %t = xformer.transpose %x, [1, 0] : tensor<2x3xf32> -> tensor<2x3xf32>
  return
}

// -----

func.func @transpose_elt(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{failed to verify that all of {input, result} have same element type}}
  %t = xformer.transpose %x, [1, 0] : tensor<2x3xf32> -> tensor<3x2xf16>
  return
}

// -----

func.func @reshape_count(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{cannot reshape [2, 3] (6 elements) to [7] (7 elements)}}
  %r = xformer.reshape %x : tensor<2x3xf32> -> tensor<7xf32>
  return
}

// -----

func.func @broadcast_incompatible(%x: tensor<3x4xf32>) {
  // expected-error @+1 {{cannot broadcast [3, 4] to [2, 4]: dimension 0 is 3 but the target's is 2}}
  %b = xformer.broadcast %x : tensor<3x4xf32> -> tensor<2x4xf32>
  return
}

// -----

func.func @broadcast_rank(%x: tensor<3x4xf32>) {
  // expected-error @+1 {{cannot broadcast [3, 4] to [4]: rank 2 exceeds the target rank 1}}
  %b = xformer.broadcast %x : tensor<3x4xf32> -> tensor<4xf32>
  return
}

// -----

func.func @slice_offsets(%x: tensor<4x4xf32>) {
  // expected-error @+1 {{expects one offset per dimension and a result of the input's rank 2}}
  %s = xformer.slice %x [0] : tensor<4x4xf32> -> tensor<1x4xf32>
  return
}

// -----

func.func @slice_dynamic(%x: tensor<4x4xf32>) {
  // expected-error @+1 {{expects a static result shape (the slice sizes)}}
  %s = xformer.slice %x [0, 0] : tensor<4x4xf32> -> tensor<?x4xf32>
  return
}

// -----

func.func @slice_negative(%x: tensor<4x4xf32>) {
  // expected-error @+1 {{offset -1 of dimension 1 is negative}}
  %s = xformer.slice %x [0, -1] : tensor<4x4xf32> -> tensor<1x4xf32>
  return
}

// -----

func.func @slice_bounds(%x: tensor<4x4xf32>) {
  // expected-error @+1 {{slice of dimension 0 ends at 5, past its size 4}}
  %s = xformer.slice %x [3, 0] : tensor<4x4xf32> -> tensor<2x4xf32>
  return
}

// -----

func.func @split_heads_zero(%x: tensor<2x8x64xf32>) {
  // expected-error @+1 {{expects a positive number of heads, got 0}}
  %h = xformer.split_heads %x, heads = 0 : tensor<2x8x64xf32> -> tensor<2x1x8x64xf32>
  return
}

// -----

func.func @split_heads_input_rank(%x: tensor<8x64xf32>) {
  // expected-error @+1 {{expects a [batch, seq, hidden] input, got rank 2}}
  %h = xformer.split_heads %x, heads = 4 : tensor<8x64xf32> -> tensor<1x4x8x16xf32>
  return
}

// -----

func.func @split_heads_result_rank(%x: tensor<2x8x64xf32>) {
  // expected-error @+1 {{expects a [batch, heads, seq, head_dim] result, got rank 3}}
  %h = xformer.split_heads %x, heads = 4 : tensor<2x8x64xf32> -> tensor<2x4x128xf32>
  return
}

// -----

func.func @split_heads_divisible(%x: tensor<2x8x64xf32>) {
  // expected-error @+1 {{hidden size 64 is not divisible by 5 heads}}
  %h = xformer.split_heads %x, heads = 5 : tensor<2x8x64xf32> -> tensor<2x5x8x12xf32>
  return
}

// -----

func.func @split_heads_count(%x: tensor<2x8x64xf32>) {
  // expected-error @+1 {{result has 8 heads, expected 4}}
  %h = xformer.split_heads %x, heads = 4 : tensor<2x8x64xf32> -> tensor<2x8x8x8xf32>
  return
}

// -----

func.func @split_heads_head_dim(%x: tensor<2x8x64xf32>) {
  // expected-error @+1 {{heads x head_dim = 4 x 32 = 128 does not match the hidden size 64}}
  %h = xformer.split_heads %x, heads = 4 : tensor<2x8x64xf32> -> tensor<2x4x8x32xf32>
  return
}

// -----

func.func @split_heads_carry(%x: tensor<2x8x64xf32>) {
  // expected-error @+1 {{batch and sequence dimensions must carry over: input [2, 8, 64], result [2, 4, 7, 16]}}
  %h = xformer.split_heads %x, heads = 4 : tensor<2x8x64xf32> -> tensor<2x4x7x16xf32>
  return
}

// -----

func.func @merge_heads_input_rank(%x: tensor<2x8x64xf32>) {
  // expected-error @+1 {{expects a [batch, heads, seq, head_dim] input, got rank 3}}
  %h = xformer.merge_heads %x : tensor<2x8x64xf32> -> tensor<2x8x64xf32>
  return
}

// -----

func.func @merge_heads_result_rank(%x: tensor<2x4x8x16xf32>) {
  // expected-error @+1 {{expects a [batch, seq, hidden] result, got rank 2}}
  %h = xformer.merge_heads %x : tensor<2x4x8x16xf32> -> tensor<16x64xf32>
  return
}

// -----

func.func @merge_heads_hidden(%x: tensor<2x4x8x16xf32>) {
  // expected-error @+1 {{heads x head_dim = 4 x 16 = 64 does not match the result hidden size 60}}
  %h = xformer.merge_heads %x : tensor<2x4x8x16xf32> -> tensor<2x8x60xf32>
  return
}

// -----

func.func @merge_heads_carry(%x: tensor<2x4x8x16xf32>) {
  // expected-error @+1 {{batch and sequence dimensions must carry over: input [2, 4, 8, 16], result [2, 4, 64]}}
  %h = xformer.merge_heads %x : tensor<2x4x8x16xf32> -> tensor<2x4x64xf32>
  return
}

// -----

func.func @layer_norm_rank0(%x: tensor<f32>, %g: tensor<1xf32>) {
  // expected-error @+1 {{expects an input of rank >= 1}}
  %y = xformer.layer_norm %x, %g epsilon = 1.0e-5 : tensor<f32>, tensor<1xf32>
  return
}

// -----

func.func @layer_norm_gamma_rank(%x: tensor<2x8xf32>, %g: tensor<1x8xf32>) {
  // expected-error @+1 {{expects 'gamma' to be 1-D, got [1, 8]}}
  %y = xformer.layer_norm %x, %g epsilon = 1.0e-5 : tensor<2x8xf32>, tensor<1x8xf32>
  return
}

// -----

func.func @layer_norm_gamma_size(%x: tensor<2x8xf32>, %g: tensor<4xf32>) {
  // expected-error @+1 {{'gamma' has 4 elements but the normalised dimension has 8}}
  %y = xformer.layer_norm %x, %g epsilon = 1.0e-5 : tensor<2x8xf32>, tensor<4xf32>
  return
}

// -----

func.func @layer_norm_gamma_type(%x: tensor<2x8xf32>, %g: tensor<8xf16>) {
  // expected-error @+1 {{'gamma' element type 'f16' differs from the input's 'f32'}}
  %y = xformer.layer_norm %x, %g epsilon = 1.0e-5 : tensor<2x8xf32>, tensor<8xf16>
  return
}

// -----

func.func @layer_norm_beta_size(%x: tensor<2x8xf32>, %g: tensor<8xf32>, %b: tensor<7xf32>) {
  // expected-error @+1 {{'beta' has 7 elements but the normalised dimension has 8}}
  %y = xformer.layer_norm %x, %g, %b epsilon = 1.0e-5 : tensor<2x8xf32>, tensor<8xf32>, tensor<7xf32>
  return
}

// -----

func.func @layer_norm_epsilon(%x: tensor<2x8xf32>, %g: tensor<8xf32>) {
  // expected-error @+1 {{expects a positive finite epsilon, got 0}}
  %y = xformer.layer_norm %x, %g epsilon = 0.0 : tensor<2x8xf32>, tensor<8xf32>
  return
}

// -----

func.func @rms_norm_rank0(%x: tensor<f32>, %g: tensor<1xf32>) {
  // expected-error @+1 {{expects an input of rank >= 1}}
  %y = xformer.rms_norm %x, %g epsilon = 1.0e-5 : tensor<f32>, tensor<1xf32>
  return
}

// -----

func.func @rms_norm_gamma_size(%x: tensor<2x8xf32>, %g: tensor<4xf32>) {
  // expected-error @+1 {{'gamma' has 4 elements but the normalised dimension has 8}}
  %y = xformer.rms_norm %x, %g epsilon = 1.0e-6 : tensor<2x8xf32>, tensor<4xf32>
  return
}

// -----

func.func @rms_norm_epsilon(%x: tensor<2x8xf32>, %g: tensor<8xf32>) {
  // expected-error @+1 {{expects a positive finite epsilon, got -1}}
  %y = xformer.rms_norm %x, %g epsilon = -1.0 : tensor<2x8xf32>, tensor<8xf32>
  return
}

// -----

func.func @softmax_axis(%x: tensor<2x8xf32>) {
  // expected-error @+1 {{axis 2 is out of range for rank 2 (expected [0, 2))}}
  %y = xformer.softmax %x, axis = 2 : tensor<2x8xf32>
  return
}

// -----

func.func @softmax_axis_negative(%x: tensor<2x8xf32>) {
  // expected-error @+1 {{axis -1 is out of range for rank 2 (expected [0, 2))}}
  %y = xformer.softmax %x, axis = -1 : tensor<2x8xf32>
  return
}

// -----

func.func @gelu_int(%x: tensor<2x8xi32>) {
  // expected-error @+1 {{operand #0 must be ranked tensor of floating-point values}}
  %y = xformer.gelu erf %x : tensor<2x8xi32>
  return
}

// -----

func.func @rope_rank(%x: tensor<2x8x16xf32>, %p: tensor<8xi64>) {
  // expected-error @+1 {{expects a [batch, heads, seq, head_dim] input, got rank 3}}
  %y = xformer.rope half %x, %p, theta = 1.0e4 : tensor<2x8x16xf32>, tensor<8xi64>
  return
}

// -----

func.func @rope_odd_rotary(%x: tensor<2x4x8x16xf32>, %p: tensor<8xi64>) {
  // expected-error @+1 {{rotary dimension must be positive and even, got 7}}
  %y = xformer.rope half %x, %p, theta = 1.0e4 {rotary_dim = 7 : i64} : tensor<2x4x8x16xf32>, tensor<8xi64>
  return
}

// -----

func.func @rope_odd_head_dim(%x: tensor<2x4x8x15xf32>, %p: tensor<8xi64>) {
  // expected-error @+1 {{rotary dimension must be positive and even, got 15}}
  %y = xformer.rope half %x, %p, theta = 1.0e4 : tensor<2x4x8x15xf32>, tensor<8xi64>
  return
}

// -----

func.func @rope_rotary_too_large(%x: tensor<2x4x8x16xf32>, %p: tensor<8xi64>) {
  // expected-error @+1 {{rotary dimension 32 exceeds head_dim 16}}
  %y = xformer.rope half %x, %p, theta = 1.0e4 {rotary_dim = 32 : i64} : tensor<2x4x8x16xf32>, tensor<8xi64>
  return
}

// -----

func.func @rope_theta(%x: tensor<2x4x8x16xf32>, %p: tensor<8xi64>) {
  // expected-error @+1 {{expects a positive finite theta, got 0}}
  %y = xformer.rope half %x, %p, theta = 0.0 : tensor<2x4x8x16xf32>, tensor<8xi64>
  return
}

// -----

func.func @rope_positions_len(%x: tensor<2x4x8x16xf32>, %p: tensor<4xi64>) {
  // expected-error @+1 {{positions have 4 entries for 8 sequence positions}}
  %y = xformer.rope half %x, %p, theta = 1.0e4 : tensor<2x4x8x16xf32>, tensor<4xi64>
  return
}

// -----

func.func @rope_positions_batch(%x: tensor<2x4x8x16xf32>, %p: tensor<3x8xi64>) {
  // expected-error @+1 {{positions shape [3, 8] should be [batch, seq] = [2, 8]}}
  %y = xformer.rope half %x, %p, theta = 1.0e4 : tensor<2x4x8x16xf32>, tensor<3x8xi64>
  return
}

// -----

func.func @rope_positions_rank(%x: tensor<2x4x8x16xf32>, %p: tensor<1x2x8xi64>) {
  // expected-error @+1 {{expects [seq] or [batch, seq] positions, got rank 3}}
  %y = xformer.rope half %x, %p, theta = 1.0e4 : tensor<2x4x8x16xf32>, tensor<1x2x8xi64>
  return
}

// -----

func.func @positions_rank() {
  // expected-error @+1 {{expects a 1-D result, got rank 2}}
  %p = xformer.positions : tensor<2x4xi64>
  return
}

// -----

func.func @positions_dynamic_no_size() {
  // expected-error @+1 {{a dynamic-length result needs a 'size' operand}}
  %p = xformer.positions : tensor<?xi64>
  return
}

// -----

func.func @positions_size_static(%n: index) {
  // expected-error @+1 {{'size' is only allowed with a dynamic-length result}}
  %p = xformer.positions size %n : tensor<4xi64>
  return
}

// -----

func.func @relbias_buckets(%t: tensor<32x4xf32>, %p: tensor<8xi64>) {
  // expected-error @+1 {{num_buckets and max_distance must be positive, got 0 and 128}}
  %b = xformer.relative_position_bias %t, %p, %p, num_buckets = 0, max_distance = 128, bidirectional = false : tensor<32x4xf32>, tensor<8xi64>, tensor<8xi64> -> tensor<1x4x8x8xf32>
  return
}

// -----

func.func @relbias_too_few(%t: tensor<3x4xf32>, %p: tensor<8xi64>) {
  // expected-error @+1 {{num_buckets 3 leaves no exact-distance bucket (needs at least 4)}}
  %b = xformer.relative_position_bias %t, %p, %p, num_buckets = 3, max_distance = 128, bidirectional = true : tensor<3x4xf32>, tensor<8xi64>, tensor<8xi64> -> tensor<1x4x8x8xf32>
  return
}

// -----

func.func @relbias_distance(%t: tensor<32x4xf32>, %p: tensor<8xi64>) {
  // expected-error @+1 {{max_distance 8 must exceed the 8 exact-distance buckets}}
  %b = xformer.relative_position_bias %t, %p, %p, num_buckets = 32, max_distance = 8, bidirectional = true : tensor<32x4xf32>, tensor<8xi64>, tensor<8xi64> -> tensor<1x4x8x8xf32>
  return
}

// -----

func.func @relbias_table(%t: tensor<32x4xf32>, %p: tensor<8xi64>) {
  // expected-error @+1 {{table shape [32, 4] should be [num_buckets = 16, heads]}}
  %b = xformer.relative_position_bias %t, %p, %p, num_buckets = 16, max_distance = 128, bidirectional = true : tensor<32x4xf32>, tensor<8xi64>, tensor<8xi64> -> tensor<1x4x8x8xf32>
  return
}

// -----

func.func @relbias_positions(%t: tensor<32x4xf32>, %p: tensor<1x8xi64>) {
  // expected-error @+1 {{expects [q_len] or [batch, q_len] query positions and [kv_len] key positions}}
  %b = xformer.relative_position_bias %t, %p, %p, num_buckets = 32, max_distance = 128, bidirectional = true : tensor<32x4xf32>, tensor<1x8xi64>, tensor<1x8xi64> -> tensor<1x4x8x8xf32>
  return
}

// -----

func.func @relbias_result(%t: tensor<32x4xf32>, %p: tensor<8xi64>) {
  // expected-error @+1 {{result shape [1, 8, 8, 8] should be [1, 4, 8, 8]}}
  %b = xformer.relative_position_bias %t, %p, %p, num_buckets = 32, max_distance = 128, bidirectional = true : tensor<32x4xf32>, tensor<8xi64>, tensor<8xi64> -> tensor<1x8x8x8xf32>
  return
}

// -----

func.func @relbias_type(%t: tensor<32x4xf32>, %p: tensor<8xi64>) {
  // expected-error @+1 {{result element type differs from the table's}}
  %b = xformer.relative_position_bias %t, %p, %p, num_buckets = 32, max_distance = 128, bidirectional = true : tensor<32x4xf32>, tensor<8xi64>, tensor<8xi64> -> tensor<1x4x8x8xf16>
  return
}

// -----

func.func @add_not_broadcastable(%a: tensor<2x3xf32>, %b: tensor<4x3xf32>) {
  // expected-error @+1 {{operand shapes do not broadcast: [2, 3] and [4, 3] (dimension 0 of the broadcast is 2 in one operand and 4 in the other)}}
  %c = xformer.add %a, %b : tensor<2x3xf32>, tensor<4x3xf32> -> tensor<4x3xf32>
  return
}

// -----

func.func @add_wrong_result(%a: tensor<2x3xf32>, %b: tensor<3xf32>) {
  // expected-error @+1 {{result shape [3] is not the broadcast shape [2, 3] of the operands}}
  %c = xformer.add %a, %b : tensor<2x3xf32>, tensor<3xf32> -> tensor<3xf32>
  return
}

// -----

func.func @mul_mixed_types(%a: tensor<2x3xf32>, %b: tensor<3xf16>) {
  // expected-error @+1 {{failed to verify that all of {lhs, rhs, result} have same element type}}
  %c = xformer.mul %a, %b : tensor<2x3xf32>, tensor<3xf16> -> tensor<2x3xf32>
  return
}

// -----

func.func @compare_shapes(%a: tensor<1x8xi64>, %b: tensor<8x1xi64>) {
  // expected-error @+1 {{result shape [8, 4] is not the broadcast shape [8, 8] of the operands}}
  %c = xformer.compare le, %a, %b : tensor<1x8xi64>, tensor<8x1xi64> -> tensor<8x4xi1>
  return
}

// -----

func.func @compare_types(%a: tensor<8xi64>, %b: tensor<8xi32>) {
  // expected-error @+1 {{failed to verify that all of {lhs, rhs} have same element type}}
  %c = xformer.compare le, %a, %b : tensor<8xi64>, tensor<8xi32> -> tensor<8xi1>
  return
}

// -----

func.func @compare_result_not_bool(%a: tensor<8xi64>, %b: tensor<8xi64>) {
  // expected-error @+1 {{result #0 must be ranked tensor of 1-bit signless integer values}}
  %c = xformer.compare le, %a, %b : tensor<8xi64>, tensor<8xi64> -> tensor<8xi64>
  return
}

// -----

func.func @and_not_bool(%a: tensor<8xi64>) {
  // expected-error @+1 {{operand #0 must be ranked tensor of 1-bit signless integer values}}
  %c = xformer.and %a, %a : tensor<8xi64>, tensor<8xi64> -> tensor<8xi64>
  return
}

// -----

func.func @select_shapes(%c: tensor<8x8xi1>, %a: tensor<2x4x8x7xf32>, %b: tensor<f32>) {
  // expected-error @+1 {{operand shapes do not broadcast: [8, 8] and [2, 4, 8, 7] (dimension 3 of the broadcast is 8 in one operand and 7 in the other)}}
  %s = xformer.select %c, %a, %b : tensor<8x8xi1>, tensor<2x4x8x7xf32>, tensor<f32> -> tensor<2x4x8x8xf32>
  return
}

// -----

func.func @masked_fill_shape(%x: tensor<2x4x8x8xf32>, %m: tensor<8x4xi1>) {
  // expected-error @+1 {{mask shape [8, 4] does not broadcast to the input shape [2, 4, 8, 8]: dimension 1 is 4 but the target's is 8}}
  %y = xformer.masked_fill %x, %m, value = -1.0e9 : tensor<2x4x8x8xf32>, tensor<8x4xi1>
  return
}

// -----

func.func @cast_shape(%x: tensor<2x8xi64>) {
  // expected-error @+1 {{requires the same shape for all operands and results}}
  %y = xformer.cast %x : tensor<2x8xi64> -> tensor<8x2xf32>
  return
}

// -----

func.func @attention_rank(%q: tensor<8x16x32xf32>, %k: tensor<8x16x32xf32>) {
  // expected-error @+1 {{expects a rank-4 [batch, heads, seq, head_dim] query, got [8, 16, 32]}}
  %o = xformer.attention %q, %k, %k, mask = #xformer.mask<causal>, scale = 1.0 : tensor<8x16x32xf32>, tensor<8x16x32xf32>, tensor<8x16x32xf32> -> tensor<8x16x32xf32>
  return
}

// -----

func.func @attention_types(%q: tensor<2x8x16x32xf32>, %k: tensor<2x2x16x32xbf16>) {
  // expected-error @+1 {{query, key, value and result element types must agree, got 'f32', 'bf16', 'bf16', 'f32'}}
  %o = xformer.attention %q, %k, %k, mask = #xformer.mask<causal>, scale = 1.0 : tensor<2x8x16x32xf32>, tensor<2x2x16x32xbf16>, tensor<2x2x16x32xbf16> -> tensor<2x8x16x32xf32>
  return
}

// -----

func.func @attention_batch(%q: tensor<2x8x16x32xf32>, %k: tensor<3x2x16x32xf32>) {
  // expected-error @+1 {{batch sizes differ: query 2, key 3, value 3}}
  %o = xformer.attention %q, %k, %k, mask = #xformer.mask<causal>, scale = 1.0 : tensor<2x8x16x32xf32>, tensor<3x2x16x32xf32>, tensor<3x2x16x32xf32> -> tensor<2x8x16x32xf32>
  return
}

// -----

func.func @attention_kv_heads(%q: tensor<2x8x16x32xf32>, %k: tensor<2x2x16x32xf32>, %v: tensor<2x4x16x32xf32>) {
  // expected-error @+1 {{key has 2 heads but value has 4}}
  %o = xformer.attention %q, %k, %v, mask = #xformer.mask<causal>, scale = 1.0 : tensor<2x8x16x32xf32>, tensor<2x2x16x32xf32>, tensor<2x4x16x32xf32> -> tensor<2x8x16x32xf32>
  return
}

// -----

func.func @attention_gqa_divisible(%q: tensor<2x8x16x32xf32>, %k: tensor<2x3x16x32xf32>) {
  // expected-error @+1 {{query heads (8) must be a multiple of key/value heads (3)}}
  %o = xformer.attention %q, %k, %k, mask = #xformer.mask<causal>, scale = 1.0 : tensor<2x8x16x32xf32>, tensor<2x3x16x32xf32>, tensor<2x3x16x32xf32> -> tensor<2x8x16x32xf32>
  return
}

// -----

func.func @attention_head_dim(%q: tensor<2x8x16x32xf32>, %k: tensor<2x2x16x64xf32>) {
  // expected-error @+1 {{query head_dim 32 differs from key head_dim 64}}
  %o = xformer.attention %q, %k, %k, mask = #xformer.mask<causal>, scale = 1.0 : tensor<2x8x16x32xf32>, tensor<2x2x16x64xf32>, tensor<2x2x16x64xf32> -> tensor<2x8x16x64xf32>
  return
}

// -----

func.func @attention_kv_len(%q: tensor<2x8x16x32xf32>, %k: tensor<2x2x16x32xf32>, %v: tensor<2x2x12x32xf32>) {
  // expected-error @+1 {{key length 16 differs from value length 12}}
  %o = xformer.attention %q, %k, %v, mask = #xformer.mask<causal>, scale = 1.0 : tensor<2x8x16x32xf32>, tensor<2x2x16x32xf32>, tensor<2x2x12x32xf32> -> tensor<2x8x16x32xf32>
  return
}

// -----

func.func @attention_result(%q: tensor<2x8x16x32xf32>, %k: tensor<2x2x16x32xf32>) {
  // expected-error @+1 {{result shape [2, 2, 16, 32] should be [2, 8, 16, 32] ([batch, heads, q_len, value head_dim])}}
  %o = xformer.attention %q, %k, %k, mask = #xformer.mask<causal>, scale = 1.0 : tensor<2x8x16x32xf32>, tensor<2x2x16x32xf32>, tensor<2x2x16x32xf32> -> tensor<2x2x16x32xf32>
  return
}

// -----

func.func @attention_scale(%q: tensor<2x8x16x32xf32>, %k: tensor<2x2x16x32xf32>) {
  // expected-error @+1 {{expects a positive finite scale, got 0}}
  %o = xformer.attention %q, %k, %k, mask = #xformer.mask<causal>, scale = 0.0 : tensor<2x8x16x32xf32>, tensor<2x2x16x32xf32>, tensor<2x2x16x32xf32> -> tensor<2x8x16x32xf32>
  return
}

// -----

func.func @attention_scale_negative(%q: tensor<2x8x16x32xf32>, %k: tensor<2x2x16x32xf32>) {
  // expected-error @+1 {{expects a positive finite scale, got -1.250000e-01}}
  %o = xformer.attention %q, %k, %k, mask = #xformer.mask<causal>, scale = -0.125 : tensor<2x8x16x32xf32>, tensor<2x2x16x32xf32>, tensor<2x2x16x32xf32> -> tensor<2x8x16x32xf32>
  return
}

// -----

func.func @attention_bidirectional_lengths(%q: tensor<2x8x16x32xf32>, %k: tensor<2x2x24x32xf32>) {
  // expected-error @+1 {{bidirectional self-attention needs as many queries as keys, got 16 queries and 24 keys; use #xformer.mask<cross> for attention over another sequence}}
  %o = xformer.attention %q, %k, %k, mask = #xformer.mask<bidirectional>, scale = 1.0 : tensor<2x8x16x32xf32>, tensor<2x2x24x32xf32>, tensor<2x2x24x32xf32> -> tensor<2x8x16x32xf32>
  return
}

// -----

func.func @attention_causal_more_queries(%q: tensor<2x8x16x32xf32>, %k: tensor<2x2x8x32xf32>) {
  // expected-error @+1 {{causal attention has more queries (16) than keys (8); queries are the last q_len key positions}}
  %o = xformer.attention %q, %k, %k, mask = #xformer.mask<causal>, scale = 1.0 : tensor<2x8x16x32xf32>, tensor<2x2x8x32xf32>, tensor<2x2x8x32xf32> -> tensor<2x8x16x32xf32>
  return
}

// -----

func.func @attention_window_more_queries(%q: tensor<2x8x16x32xf32>, %k: tensor<2x2x8x32xf32>) {
  // expected-error @+1 {{sliding_window attention has more queries (16) than keys (8); queries are the last q_len key positions}}
  %o = xformer.attention %q, %k, %k, mask = #xformer.mask<sliding_window, window = 4>, scale = 1.0 : tensor<2x8x16x32xf32>, tensor<2x2x8x32xf32>, tensor<2x2x8x32xf32> -> tensor<2x8x16x32xf32>
  return
}

// -----

func.func @attention_custom_without_tensor(%q: tensor<2x8x16x32xf32>, %k: tensor<2x2x16x32xf32>) {
  // expected-error @+1 {{#xformer.mask<custom> requires a 'mask_tensor' operand}}
  %o = xformer.attention %q, %k, %k, mask = #xformer.mask<custom>, scale = 1.0 : tensor<2x8x16x32xf32>, tensor<2x2x16x32xf32>, tensor<2x2x16x32xf32> -> tensor<2x8x16x32xf32>
  return
}

// -----

func.func @attention_tensor_without_custom(%q: tensor<2x8x16x32xf32>, %k: tensor<2x2x16x32xf32>, %m: tensor<16x16xi1>) {
  // expected-error @+1 {{'mask_tensor' is only allowed with #xformer.mask<custom>, not causal}}
  %o = xformer.attention %q, %k, %k, mask = #xformer.mask<causal>, scale = 1.0 mask_tensor(%m : tensor<16x16xi1>) : tensor<2x8x16x32xf32>, tensor<2x2x16x32xf32>, tensor<2x2x16x32xf32> -> tensor<2x8x16x32xf32>
  return
}

// -----

func.func @attention_dynamic_prefix_without_lengths(%q: tensor<2x8x16x32xf32>, %k: tensor<2x2x16x32xf32>) {
  // expected-error @+1 {{#xformer.mask<prefix_lm, prefix = ?> requires a 'prefix_lengths' operand}}
  %o = xformer.attention %q, %k, %k, mask = #xformer.mask<prefix_lm, prefix = ?>, scale = 1.0 : tensor<2x8x16x32xf32>, tensor<2x2x16x32xf32>, tensor<2x2x16x32xf32> -> tensor<2x8x16x32xf32>
  return
}

// -----

func.func @attention_lengths_with_static_prefix(%q: tensor<2x8x16x32xf32>, %k: tensor<2x2x16x32xf32>, %p: tensor<2xi32>) {
  // expected-error @+1 {{'prefix_lengths' is only allowed with #xformer.mask<prefix_lm, prefix = ?>}}
  %o = xformer.attention %q, %k, %k, mask = #xformer.mask<prefix_lm, prefix = 4>, scale = 1.0 prefix_lengths(%p : tensor<2xi32>) : tensor<2x8x16x32xf32>, tensor<2x2x16x32xf32>, tensor<2x2x16x32xf32> -> tensor<2x8x16x32xf32>
  return
}

// -----

func.func @attention_kv_lengths_shape(%q: tensor<2x8x16x32xf32>, %k: tensor<2x2x16x32xf32>, %l: tensor<3xi32>) {
  // expected-error @+1 {{'kv_lengths' shape [3] should be [batch] = [2]}}
  %o = xformer.attention %q, %k, %k, mask = #xformer.mask<causal>, scale = 1.0 kv_lengths(%l : tensor<3xi32>) : tensor<2x8x16x32xf32>, tensor<2x2x16x32xf32>, tensor<2x2x16x32xf32> -> tensor<2x8x16x32xf32>
  return
}

// -----

func.func @attention_q_lengths_rank(%q: tensor<2x8x16x32xf32>, %k: tensor<2x2x16x32xf32>, %l: tensor<2x1xi32>) {
  // expected-error @+1 {{'q_lengths' shape [2, 1] should be [batch] = [2]}}
  %o = xformer.attention %q, %k, %k, mask = #xformer.mask<causal>, scale = 1.0 q_lengths(%l : tensor<2x1xi32>) : tensor<2x8x16x32xf32>, tensor<2x2x16x32xf32>, tensor<2x2x16x32xf32> -> tensor<2x8x16x32xf32>
  return
}

// -----

func.func @attention_lengths_type(%q: tensor<2x8x16x32xf32>, %k: tensor<2x2x16x32xf32>, %l: tensor<2xf32>) {
  // expected-error @+1 {{operand #3 must be ranked tensor of 32-bit signless integer or 64-bit signless integer values}}
  %o = xformer.attention %q, %k, %k, mask = #xformer.mask<causal>, scale = 1.0 kv_lengths(%l : tensor<2xf32>) : tensor<2x8x16x32xf32>, tensor<2x2x16x32xf32>, tensor<2x2x16x32xf32> -> tensor<2x8x16x32xf32>
  return
}

// -----

func.func @attention_mask_tensor_shape(%q: tensor<2x8x16x32xf32>, %k: tensor<2x2x16x32xf32>, %m: tensor<16x8xi1>) {
  // expected-error @+1 {{mask_tensor shape [16, 8] does not broadcast to the scores [batch, heads, q_len, kv_len] = [2, 8, 16, 16]: dimension 1 is 8 but the target's is 16}}
  %o = xformer.attention %q, %k, %k, mask = #xformer.mask<custom>, scale = 1.0 mask_tensor(%m : tensor<16x8xi1>) : tensor<2x8x16x32xf32>, tensor<2x2x16x32xf32>, tensor<2x2x16x32xf32> -> tensor<2x8x16x32xf32>
  return
}

// -----

func.func @attention_bias_shape(%q: tensor<2x8x16x32xf32>, %k: tensor<2x2x16x32xf32>, %b: tensor<1x4x16x16xf32>) {
  // expected-error @+1 {{bias shape [1, 4, 16, 16] does not broadcast to the scores [batch, heads, q_len, kv_len] = [2, 8, 16, 16]: dimension 1 is 4 but the target's is 8}}
  %o = xformer.attention %q, %k, %k, mask = #xformer.mask<causal>, scale = 1.0 bias(%b : tensor<1x4x16x16xf32>) : tensor<2x8x16x32xf32>, tensor<2x2x16x32xf32>, tensor<2x2x16x32xf32> -> tensor<2x8x16x32xf32>
  return
}

// -----

func.func @attention_documents_without_segments(%q: tensor<2x8x16x32xf32>, %k: tensor<2x2x16x32xf32>) {
  // expected-error @+1 {{a mask with 'documents' requires a 'segment_ids' operand}}
  %o = xformer.attention %q, %k, %k, mask = #xformer.mask<causal, documents>, scale = 1.0 : tensor<2x8x16x32xf32>, tensor<2x2x16x32xf32>, tensor<2x2x16x32xf32> -> tensor<2x8x16x32xf32>
  return
}

// -----

func.func @attention_segments_without_documents(%q: tensor<2x8x16x32xf32>, %k: tensor<2x2x16x32xf32>, %s: tensor<2x16xi32>) {
  // expected-error @+1 {{'segment_ids' is only allowed with a mask that has 'documents'}}
  %o = xformer.attention %q, %k, %k, mask = #xformer.mask<causal>, scale = 1.0 segment_ids(%s : tensor<2x16xi32>) : tensor<2x8x16x32xf32>, tensor<2x2x16x32xf32>, tensor<2x2x16x32xf32> -> tensor<2x8x16x32xf32>
  return
}

// -----

func.func @attention_segments_shape(%q: tensor<2x8x16x32xf32>, %k: tensor<2x2x16x32xf32>, %s: tensor<2x8xi32>) {
  // expected-error @+1 {{'segment_ids' shape [2, 8] should be [batch, kv_len] = [2, 16]}}
  %o = xformer.attention %q, %k, %k, mask = #xformer.mask<causal, documents>, scale = 1.0 segment_ids(%s : tensor<2x8xi32>) : tensor<2x8x16x32xf32>, tensor<2x2x16x32xf32>, tensor<2x2x16x32xf32> -> tensor<2x8x16x32xf32>
  return
}

// -----

func.func @glu_odd(%x: tensor<2x7xf32>) {
  // expected-error @+1 {{halves a last dimension of 7 (gate, then up); the result's is 3}}
  %y = xformer.glu silu %x : tensor<2x7xf32> -> tensor<2x3xf32>
  return
}

// -----

func.func @glu_width(%x: tensor<2x8xf32>) {
  // expected-error @+1 {{halves a last dimension of 8 (gate, then up); the result's is 8}}
  %y = xformer.glu silu %x : tensor<2x8xf32> -> tensor<2x8xf32>
  return
}

// -----

func.func @glu_rows(%x: tensor<2x8xf32>) {
  // expected-error @+1 {{result shape [3, 4] differs from the input [2, 8] outside the last dimension}}
  %y = xformer.glu relu %x : tensor<2x8xf32> -> tensor<3x4xf32>
  return
}

// -----

func.func @glu_rank(%x: tensor<2x8xf32>) {
  // expected-error @+1 {{expects a result of the input's rank 2 (at least 1)}}
  %y = xformer.glu silu %x : tensor<2x8xf32> -> tensor<2x2x2xf32>
  return
}

// -----

func.func @concat_blocks_across_rows() {
  %a = xformer.weight @a : tensor<4x32x!xformer.ggml<q8_0>>
  // expected-error @+1 {{joins ggml blocks along axis 1; blocks concatenate along axis 0 only (whole rows)}}
  %w = xformer.concat %a, %a, axis = 1 : tensor<4x32x!xformer.ggml<q8_0>>, tensor<4x32x!xformer.ggml<q8_0>> -> tensor<4x64x!xformer.ggml<q8_0>>
  return
}
xformer.weight_decl @a : tensor<4x32x!xformer.ggml<q8_0>>

// -----

func.func @scratch_not_offsets(%x: tensor<2xf32>) -> tensor<2xf32> {
  // expected-error @+1 {{'xformer.scratch' must be an array<i64> of byte offsets on an op in a function}}
  %y = xformer.relu %x {xformer.scratch = 3 : i64} : tensor<2xf32>
  return %y : tensor<2xf32>
}

// -----

func.func @view_negative(%x: tensor<2x4xf32>) -> tensor<8xf32> {
  // expected-error @+1 {{'xformer.view' must be a byte offset (>= 0) on an op with one result and an operand}}
  %y = xformer.reshape %x {xformer.view = -4 : i64} : tensor<2x4xf32> -> tensor<8xf32>
  return %y : tensor<8xf32>
}

// -----

// expected-error @+1 {{'xformer.scratch_bytes' must be a byte count (>= 0) on a function}}
func.func @scratch_bytes_negative() attributes {xformer.scratch_bytes = -1 : i64} {
  return
}
