// Masks checked against what the model is.
// RUN: xformer-opt %s -split-input-file --xformer-verify-masks --verify-diagnostics

// A GPT-2-style decoder whose self-attention is bidirectional: rejected, and
// the message names the layer.
func.func @gpt2_bidirectional(%x: tensor<1x8x48xf32>) -> tensor<1x2x8x8xf32>
    attributes {xformer.model = #xformer.model<decoder>} {
  %w = xformer.weight @transformer.h.3.attn.c_attn.weight : tensor<48x48xf32>
  %qkv = xformer.linear %x, %w {weight_transposed} : tensor<1x8x48xf32>, tensor<48x48xf32> -> tensor<1x8x48xf32>
  %xq = xformer.slice %qkv [0, 0, 0] : tensor<1x8x48xf32> -> tensor<1x8x16xf32>
  %xk = xformer.slice %qkv [0, 0, 16] : tensor<1x8x48xf32> -> tensor<1x8x16xf32>
  %q = xformer.split_heads %xq, heads = 2 : tensor<1x8x16xf32> -> tensor<1x2x8x8xf32>
  %k = xformer.split_heads %xk, heads = 2 : tensor<1x8x16xf32> -> tensor<1x2x8x8xf32>
  // expected-error @+1 {{self-attention in layer 'transformer.h.3.attn' of an autoregressive decoder is not causal: #xformer.mask<bidirectional> lets every query see later positions (the query at position 0 sees keys 1..7)}}
  %o = xformer.attention %q, %k, %k, mask = #xformer.mask<bidirectional>, scale = 0.35 : tensor<1x2x8x8xf32>, tensor<1x2x8x8xf32>, tensor<1x2x8x8xf32> -> tensor<1x2x8x8xf32>
  return %o : tensor<1x2x8x8xf32>
}
xformer.weight_decl @transformer.h.3.attn.c_attn.weight : tensor<48x48xf32>

// -----

// The same layer with a causal, sliding-window or prefix-LM mask is fine.
func.func @decoder_ok(%x: tensor<1x8x16xf32>) -> (tensor<1x2x8x8xf32>, tensor<1x2x8x8xf32>, tensor<1x2x8x8xf32>)
    attributes {xformer.model = #xformer.model<decoder>} {
  %q = xformer.split_heads %x, heads = 2 : tensor<1x8x16xf32> -> tensor<1x2x8x8xf32>
  %a = xformer.attention %q, %q, %q, mask = #xformer.mask<causal>, scale = 0.35 : tensor<1x2x8x8xf32>, tensor<1x2x8x8xf32>, tensor<1x2x8x8xf32> -> tensor<1x2x8x8xf32>
  %b = xformer.attention %q, %q, %q, mask = #xformer.mask<sliding_window, window = 4>, scale = 0.35 : tensor<1x2x8x8xf32>, tensor<1x2x8x8xf32>, tensor<1x2x8x8xf32> -> tensor<1x2x8x8xf32>
  %c = xformer.attention %q, %q, %q, mask = #xformer.mask<prefix_lm, prefix = 3>, scale = 0.35 : tensor<1x2x8x8xf32>, tensor<1x2x8x8xf32>, tensor<1x2x8x8xf32> -> tensor<1x2x8x8xf32>
  return %a, %b, %c : tensor<1x2x8x8xf32>, tensor<1x2x8x8xf32>, tensor<1x2x8x8xf32>
}

// -----

// An encoder may attend both ways.
func.func @encoder_ok(%x: tensor<1x8x16xf32>) -> tensor<1x2x8x8xf32>
    attributes {xformer.model = #xformer.model<encoder>} {
  %q = xformer.split_heads %x, heads = 2 : tensor<1x8x16xf32> -> tensor<1x2x8x8xf32>
  %a = xformer.attention %q, %q, %q, mask = #xformer.mask<bidirectional>, scale = 0.35 : tensor<1x2x8x8xf32>, tensor<1x2x8x8xf32>, tensor<1x2x8x8xf32> -> tensor<1x2x8x8xf32>
  return %a : tensor<1x2x8x8xf32>
}

// -----

// A custom mask in a decoder is checked element by element.
func.func @decoder_custom_future(%x: tensor<1x3x8xf32>) -> tensor<1x1x3x8xf32>
    attributes {xformer.model = #xformer.model<decoder>} {
  %q = xformer.split_heads %x, heads = 1 : tensor<1x3x8xf32> -> tensor<1x1x3x8xf32>
  %m = arith.constant dense<[[true, false, false], [true, true, true], [true, true, true]]> : tensor<3x3xi1>
  // expected-error @+1 {{of an autoregressive decoder is not causal: its custom mask lets the query at position 1 see the key at position 2}}
  %a = xformer.attention %q, %q, %q, mask = #xformer.mask<custom>, scale = 0.35 mask_tensor(%m : tensor<3x3xi1>) : tensor<1x1x3x8xf32>, tensor<1x1x3x8xf32>, tensor<1x1x3x8xf32> -> tensor<1x1x3x8xf32>
  return %a : tensor<1x1x3x8xf32>
}

// -----

func.func @decoder_custom_past_only(%x: tensor<1x3x8xf32>) -> tensor<1x1x3x8xf32>
    attributes {xformer.model = #xformer.model<decoder>} {
  %q = xformer.split_heads %x, heads = 1 : tensor<1x3x8xf32> -> tensor<1x1x3x8xf32>
  %m = arith.constant dense<[[true, false, false], [true, true, false], [false, true, true]]> : tensor<3x3xi1>
  %a = xformer.attention %q, %q, %q, mask = #xformer.mask<custom>, scale = 0.35 mask_tensor(%m : tensor<3x3xi1>) : tensor<1x1x3x8xf32>, tensor<1x1x3x8xf32>, tensor<1x1x3x8xf32> -> tensor<1x1x3x8xf32>
  return %a : tensor<1x1x3x8xf32>
}

// -----

// Encoder-decoder: the encoder may be bidirectional; the decoder (the
// sequence that queries the cross-attention) may not.
func.func @encoder_decoder(%src: tensor<1x6x16xf32>, %tgt: tensor<1x4x16xf32>) -> tensor<1x2x4x8xf32>
    attributes {xformer.model = #xformer.model<encoder_decoder>} {
  %s = xformer.split_heads %src, heads = 2 : tensor<1x6x16xf32> -> tensor<1x2x6x8xf32>
  %enc = xformer.attention %s, %s, %s, mask = #xformer.mask<bidirectional>, scale = 0.35 : tensor<1x2x6x8xf32>, tensor<1x2x6x8xf32>, tensor<1x2x6x8xf32> -> tensor<1x2x6x8xf32>
  %t = xformer.split_heads %tgt, heads = 2 : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  // expected-error @+1 {{self-attention of an autoregressive decoder is not causal}}
  %dec = xformer.attention %t, %t, %t, mask = #xformer.mask<bidirectional>, scale = 0.35 : tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x8xf32>
  %x = xformer.attention %dec, %enc, %enc, mask = #xformer.mask<cross>, scale = 0.35 : tensor<1x2x4x8xf32>, tensor<1x2x6x8xf32>, tensor<1x2x6x8xf32> -> tensor<1x2x4x8xf32>
  return %x : tensor<1x2x4x8xf32>
}

// -----

// Cross-attention over the decoder's own sequence is not cross-attention.
func.func @cross_over_self(%src: tensor<1x6x16xf32>, %tgt: tensor<1x4x16xf32>) -> tensor<1x2x4x8xf32>
    attributes {xformer.model = #xformer.model<encoder_decoder>} {
  %t = xformer.split_heads %tgt, heads = 2 : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %dec = xformer.attention %t, %t, %t, mask = #xformer.mask<causal>, scale = 0.35 : tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x8xf32>
  // expected-error @+1 {{cross-attention: its keys come from the queries' own sequence (argument #1), not from the encoder}}
  %x = xformer.attention %dec, %t, %t, mask = #xformer.mask<cross>, scale = 0.35 : tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x8xf32>
  return %x : tensor<1x2x4x8xf32>
}

// -----

func.func @cross_without_source(%tgt: tensor<1x4x16xf32>) -> tensor<1x2x4x8xf32> {
  %t = xformer.split_heads %tgt, heads = 2 : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %w = xformer.weight @memory : tensor<1x2x6x8xf32>
  // expected-error @+1 {{cross-attention: its keys do not come from an input sequence}}
  %x = xformer.attention %t, %w, %w, mask = #xformer.mask<cross>, scale = 0.35 : tensor<1x2x4x8xf32>, tensor<1x2x6x8xf32>, tensor<1x2x6x8xf32> -> tensor<1x2x4x8xf32>
  return %x : tensor<1x2x4x8xf32>
}
xformer.weight_decl @memory : tensor<1x2x6x8xf32>

// -----

// Warnings: lengths that leave rows fully masked or disagree with the mask.
func.func @warnings(%x: tensor<2x8x16xf32>, %len: tensor<2xi32>, %len2: tensor<2xi32>) -> (tensor<2x2x8x8xf32>, tensor<2x2x8x8xf32>, tensor<2x2x8x8xf32>, tensor<2x2x8x8xf32>) {
  %q = xformer.split_heads %x, heads = 2 : tensor<2x8x16xf32> -> tensor<2x2x8x8xf32>
  // expected-warning @+1 {{causal attention has key lengths but no query lengths: when a key length is below the 8 queries, the first query rows see no key (fully masked rows); pass q_lengths for right-padded sequences}}
  %a = xformer.attention %q, %q, %q, mask = #xformer.mask<causal>, scale = 0.35 kv_lengths(%len : tensor<2xi32>) : tensor<2x2x8x8xf32>, tensor<2x2x8x8xf32>, tensor<2x2x8x8xf32> -> tensor<2x2x8x8xf32>
  // expected-warning @+1 {{bidirectional self-attention has query and key lengths from different values}}
  %b = xformer.attention %q, %q, %q, mask = #xformer.mask<bidirectional>, scale = 0.35 q_lengths(%len : tensor<2xi32>) kv_lengths(%len2 : tensor<2xi32>) : tensor<2x2x8x8xf32>, tensor<2x2x8x8xf32>, tensor<2x2x8x8xf32> -> tensor<2x2x8x8xf32>
  // expected-warning @+1 {{prefix 8 covers every one of the 8 keys: the mask is bidirectional}}
  %c = xformer.attention %q, %q, %q, mask = #xformer.mask<prefix_lm, prefix = 8>, scale = 0.35 : tensor<2x2x8x8xf32>, tensor<2x2x8x8xf32>, tensor<2x2x8x8xf32> -> tensor<2x2x8x8xf32>
  %bad = arith.constant dense<[3, 9]> : tensor<2xi32>
  // expected-warning @+1 {{kv_lengths value 9 is outside [0, 8]}}
  %d = xformer.attention %q, %q, %q, mask = #xformer.mask<bidirectional>, scale = 0.35 kv_lengths(%bad : tensor<2xi32>) : tensor<2x2x8x8xf32>, tensor<2x2x8x8xf32>, tensor<2x2x8x8xf32> -> tensor<2x2x8x8xf32>
  return %a, %b, %c, %d : tensor<2x2x8x8xf32>, tensor<2x2x8x8xf32>, tensor<2x2x8x8xf32>, tensor<2x2x8x8xf32>
}

// -----

func.func @custom_fully_masked_row(%x: tensor<1x2x8xf32>) -> tensor<1x1x2x8xf32> {
  %q = xformer.split_heads %x, heads = 1 : tensor<1x2x8xf32> -> tensor<1x1x2x8xf32>
  %m = arith.constant dense<[[true, false], [false, false]]> : tensor<2x2xi1>
  // expected-warning @+1 {{custom mask: query row 1 sees no key (a fully masked row)}}
  %a = xformer.attention %q, %q, %q, mask = #xformer.mask<custom>, scale = 0.35 mask_tensor(%m : tensor<2x2xi1>) : tensor<1x1x2x8xf32>, tensor<1x1x2x8xf32>, tensor<1x1x2x8xf32> -> tensor<1x1x2x8xf32>
  return %a : tensor<1x1x2x8xf32>
}
