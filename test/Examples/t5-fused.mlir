// A T5-style encoder-decoder layer: RMSNorm (pre-norm), bucketed relative
// position biases (bidirectional in the encoder, causal in the decoder),
// unscaled attention, decoder cross-attention over the encoder output, a
// ReLU MLP, an LM head tied to the shared embedding.
// Sizes: batch 1, source 6, target 4, d_model 16, 2 heads of 8, d_ff 32, vocab 10.
// Fused form.
// RUN: xformer-opt %s | xformer-opt | FileCheck %s
// RUN: xformer-opt %s --xformer-verify-masks --verify-diagnostics -o /dev/null
// CHECK-LABEL: func.func @forward
// CHECK: xformer.relative_position_bias {{.*}} bidirectional = true
// CHECK: mask = #xformer.mask<bidirectional>, scale = 1.000000e+00 bias(
// CHECK: xformer.relative_position_bias {{.*}} bidirectional = false
// CHECK: mask = #xformer.mask<causal>, scale = 1.000000e+00 bias(
// CHECK: mask = #xformer.mask<cross>, scale = 1.000000e+00 :

func.func @forward(%src_ids: tensor<1x6xi64>, %tgt_ids: tensor<1x4xi64>) -> tensor<1x4x10xf32> attributes {xformer.model = #xformer.model<encoder_decoder>} {
  %shared = xformer.weight @shared.weight : tensor<10x16xf32>
  // Encoder.
  %x = xformer.embedding %shared, %src_ids : tensor<10x16xf32>, tensor<1x6xi64> -> tensor<1x6x16xf32>
  %spos = xformer.positions : tensor<6xi64>
  %enc_rel = xformer.weight @encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight : tensor<32x2xf32>
  %enc_bias = xformer.relative_position_bias %enc_rel, %spos, %spos, num_buckets = 32, max_distance = 128, bidirectional = true : tensor<32x2xf32>, tensor<6xi64>, tensor<6xi64> -> tensor<1x2x6x6xf32>
  %eln = xformer.weight @encoder.block.0.layer.0.layer_norm.weight : tensor<16xf32>
  %h = xformer.rms_norm %x, %eln epsilon = 9.9999999999999995E-7 : tensor<1x6x16xf32>, tensor<16xf32>
  %ewq = xformer.weight @encoder.block.0.layer.0.SelfAttention.q.weight : tensor<16x16xf32>
  %ewk = xformer.weight @encoder.block.0.layer.0.SelfAttention.k.weight : tensor<16x16xf32>
  %ewv = xformer.weight @encoder.block.0.layer.0.SelfAttention.v.weight : tensor<16x16xf32>
  %eq0 = xformer.linear %h, %ewq : tensor<1x6x16xf32>, tensor<16x16xf32> -> tensor<1x6x16xf32>
  %ek0 = xformer.linear %h, %ewk : tensor<1x6x16xf32>, tensor<16x16xf32> -> tensor<1x6x16xf32>
  %ev0 = xformer.linear %h, %ewv : tensor<1x6x16xf32>, tensor<16x16xf32> -> tensor<1x6x16xf32>
  %eq = xformer.split_heads %eq0, heads = 2 : tensor<1x6x16xf32> -> tensor<1x2x6x8xf32>
  %ek = xformer.split_heads %ek0, heads = 2 : tensor<1x6x16xf32> -> tensor<1x2x6x8xf32>
  %ev = xformer.split_heads %ev0, heads = 2 : tensor<1x6x16xf32> -> tensor<1x2x6x8xf32>
  %ea = xformer.attention %eq, %ek, %ev, mask = #xformer.mask<bidirectional>, scale = 1.0 bias(%enc_bias : tensor<1x2x6x6xf32>) : tensor<1x2x6x8xf32>, tensor<1x2x6x8xf32>, tensor<1x2x6x8xf32> -> tensor<1x2x6x8xf32>
  %eam = xformer.merge_heads %ea : tensor<1x2x6x8xf32> -> tensor<1x6x16xf32>
  %ewo = xformer.weight @encoder.block.0.layer.0.SelfAttention.o.weight : tensor<16x16xf32>
  %eo = xformer.linear %eam, %ewo : tensor<1x6x16xf32>, tensor<16x16xf32> -> tensor<1x6x16xf32>
  %x1 = xformer.add %x, %eo : tensor<1x6x16xf32>, tensor<1x6x16xf32> -> tensor<1x6x16xf32>
  %efln = xformer.weight @encoder.block.0.layer.1.layer_norm.weight : tensor<16xf32>
  %h1 = xformer.rms_norm %x1, %efln epsilon = 9.9999999999999995E-7 : tensor<1x6x16xf32>, tensor<16xf32>
  %ewi = xformer.weight @encoder.block.0.layer.1.DenseReluDense.wi.weight : tensor<32x16xf32>
  %ei = xformer.linear %h1, %ewi : tensor<1x6x16xf32>, tensor<32x16xf32> -> tensor<1x6x32xf32>
  %er = xformer.relu %ei : tensor<1x6x32xf32>
  %ewo2 = xformer.weight @encoder.block.0.layer.1.DenseReluDense.wo.weight : tensor<16x32xf32>
  %eo2 = xformer.linear %er, %ewo2 : tensor<1x6x32xf32>, tensor<16x32xf32> -> tensor<1x6x16xf32>
  %x2 = xformer.add %x1, %eo2 : tensor<1x6x16xf32>, tensor<1x6x16xf32> -> tensor<1x6x16xf32>
  %enfl = xformer.weight @encoder.final_layer_norm.weight : tensor<16xf32>
  %enc = xformer.rms_norm %x2, %enfl epsilon = 9.9999999999999995E-7 : tensor<1x6x16xf32>, tensor<16xf32>
  // Decoder.
  %y = xformer.embedding %shared, %tgt_ids : tensor<10x16xf32>, tensor<1x4xi64> -> tensor<1x4x16xf32>
  %tpos = xformer.positions : tensor<4xi64>
  %dec_rel = xformer.weight @decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight : tensor<32x2xf32>
  %dec_bias = xformer.relative_position_bias %dec_rel, %tpos, %tpos, num_buckets = 32, max_distance = 128, bidirectional = false : tensor<32x2xf32>, tensor<4xi64>, tensor<4xi64> -> tensor<1x2x4x4xf32>
  %dln = xformer.weight @decoder.block.0.layer.0.layer_norm.weight : tensor<16xf32>
  %g = xformer.rms_norm %y, %dln epsilon = 9.9999999999999995E-7 : tensor<1x4x16xf32>, tensor<16xf32>
  %dwq = xformer.weight @decoder.block.0.layer.0.SelfAttention.q.weight : tensor<16x16xf32>
  %dwk = xformer.weight @decoder.block.0.layer.0.SelfAttention.k.weight : tensor<16x16xf32>
  %dwv = xformer.weight @decoder.block.0.layer.0.SelfAttention.v.weight : tensor<16x16xf32>
  %dq0 = xformer.linear %g, %dwq : tensor<1x4x16xf32>, tensor<16x16xf32> -> tensor<1x4x16xf32>
  %dk0 = xformer.linear %g, %dwk : tensor<1x4x16xf32>, tensor<16x16xf32> -> tensor<1x4x16xf32>
  %dv0 = xformer.linear %g, %dwv : tensor<1x4x16xf32>, tensor<16x16xf32> -> tensor<1x4x16xf32>
  %dq = xformer.split_heads %dq0, heads = 2 : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %dk = xformer.split_heads %dk0, heads = 2 : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %dv = xformer.split_heads %dv0, heads = 2 : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %da = xformer.attention %dq, %dk, %dv, mask = #xformer.mask<causal>, scale = 1.0 bias(%dec_bias : tensor<1x2x4x4xf32>) : tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x8xf32>
  %dam = xformer.merge_heads %da : tensor<1x2x4x8xf32> -> tensor<1x4x16xf32>
  %dwo = xformer.weight @decoder.block.0.layer.0.SelfAttention.o.weight : tensor<16x16xf32>
  %do = xformer.linear %dam, %dwo : tensor<1x4x16xf32>, tensor<16x16xf32> -> tensor<1x4x16xf32>
  %y1 = xformer.add %y, %do : tensor<1x4x16xf32>, tensor<1x4x16xf32> -> tensor<1x4x16xf32>
  %cln = xformer.weight @decoder.block.0.layer.1.layer_norm.weight : tensor<16xf32>
  %g1 = xformer.rms_norm %y1, %cln epsilon = 9.9999999999999995E-7 : tensor<1x4x16xf32>, tensor<16xf32>
  %cwq = xformer.weight @decoder.block.0.layer.1.EncDecAttention.q.weight : tensor<16x16xf32>
  %cwk = xformer.weight @decoder.block.0.layer.1.EncDecAttention.k.weight : tensor<16x16xf32>
  %cwv = xformer.weight @decoder.block.0.layer.1.EncDecAttention.v.weight : tensor<16x16xf32>
  %cq0 = xformer.linear %g1, %cwq : tensor<1x4x16xf32>, tensor<16x16xf32> -> tensor<1x4x16xf32>
  %ck0 = xformer.linear %enc, %cwk : tensor<1x6x16xf32>, tensor<16x16xf32> -> tensor<1x6x16xf32>
  %cv0 = xformer.linear %enc, %cwv : tensor<1x6x16xf32>, tensor<16x16xf32> -> tensor<1x6x16xf32>
  %cq = xformer.split_heads %cq0, heads = 2 : tensor<1x4x16xf32> -> tensor<1x2x4x8xf32>
  %ck = xformer.split_heads %ck0, heads = 2 : tensor<1x6x16xf32> -> tensor<1x2x6x8xf32>
  %cv = xformer.split_heads %cv0, heads = 2 : tensor<1x6x16xf32> -> tensor<1x2x6x8xf32>
  %ca = xformer.attention %cq, %ck, %cv, mask = #xformer.mask<cross>, scale = 1.0 : tensor<1x2x4x8xf32>, tensor<1x2x6x8xf32>, tensor<1x2x6x8xf32> -> tensor<1x2x4x8xf32>
  %cam = xformer.merge_heads %ca : tensor<1x2x4x8xf32> -> tensor<1x4x16xf32>
  %cwo = xformer.weight @decoder.block.0.layer.1.EncDecAttention.o.weight : tensor<16x16xf32>
  %co = xformer.linear %cam, %cwo : tensor<1x4x16xf32>, tensor<16x16xf32> -> tensor<1x4x16xf32>
  %y2 = xformer.add %y1, %co : tensor<1x4x16xf32>, tensor<1x4x16xf32> -> tensor<1x4x16xf32>
  %fln = xformer.weight @decoder.block.0.layer.2.layer_norm.weight : tensor<16xf32>
  %g2 = xformer.rms_norm %y2, %fln epsilon = 9.9999999999999995E-7 : tensor<1x4x16xf32>, tensor<16xf32>
  %dwi = xformer.weight @decoder.block.0.layer.2.DenseReluDense.wi.weight : tensor<32x16xf32>
  %di = xformer.linear %g2, %dwi : tensor<1x4x16xf32>, tensor<32x16xf32> -> tensor<1x4x32xf32>
  %dr = xformer.relu %di : tensor<1x4x32xf32>
  %dwo2 = xformer.weight @decoder.block.0.layer.2.DenseReluDense.wo.weight : tensor<16x32xf32>
  %do2 = xformer.linear %dr, %dwo2 : tensor<1x4x32xf32>, tensor<16x32xf32> -> tensor<1x4x16xf32>
  %y3 = xformer.add %y2, %do2 : tensor<1x4x16xf32>, tensor<1x4x16xf32> -> tensor<1x4x16xf32>
  %dfl = xformer.weight @decoder.final_layer_norm.weight : tensor<16xf32>
  %yo = xformer.rms_norm %y3, %dfl epsilon = 9.9999999999999995E-7 : tensor<1x4x16xf32>, tensor<16xf32>
  // T5 scales the decoder output by d_model^-0.5 before the tied head.
  %s = arith.constant dense<2.500000e-01> : tensor<f32>
  %ys = xformer.mul %yo, %s : tensor<1x4x16xf32>, tensor<f32> -> tensor<1x4x16xf32>
  %logits = xformer.linear %ys, %shared : tensor<1x4x16xf32>, tensor<10x16xf32> -> tensor<1x4x10xf32>
  return %logits : tensor<1x4x10xf32>
}
xformer.weight_decl @shared.weight : tensor<10x16xf32>
xformer.weight_decl @encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight : tensor<32x2xf32>
xformer.weight_decl @encoder.block.0.layer.0.layer_norm.weight : tensor<16xf32>
xformer.weight_decl @encoder.block.0.layer.0.SelfAttention.q.weight : tensor<16x16xf32>
xformer.weight_decl @encoder.block.0.layer.0.SelfAttention.k.weight : tensor<16x16xf32>
xformer.weight_decl @encoder.block.0.layer.0.SelfAttention.v.weight : tensor<16x16xf32>
xformer.weight_decl @encoder.block.0.layer.0.SelfAttention.o.weight : tensor<16x16xf32>
xformer.weight_decl @encoder.block.0.layer.1.layer_norm.weight : tensor<16xf32>
xformer.weight_decl @encoder.block.0.layer.1.DenseReluDense.wi.weight : tensor<32x16xf32>
xformer.weight_decl @encoder.block.0.layer.1.DenseReluDense.wo.weight : tensor<16x32xf32>
xformer.weight_decl @encoder.final_layer_norm.weight : tensor<16xf32>
xformer.weight_decl @decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight : tensor<32x2xf32>
xformer.weight_decl @decoder.block.0.layer.0.layer_norm.weight : tensor<16xf32>
xformer.weight_decl @decoder.block.0.layer.0.SelfAttention.q.weight : tensor<16x16xf32>
xformer.weight_decl @decoder.block.0.layer.0.SelfAttention.k.weight : tensor<16x16xf32>
xformer.weight_decl @decoder.block.0.layer.0.SelfAttention.v.weight : tensor<16x16xf32>
xformer.weight_decl @decoder.block.0.layer.0.SelfAttention.o.weight : tensor<16x16xf32>
xformer.weight_decl @decoder.block.0.layer.1.layer_norm.weight : tensor<16xf32>
xformer.weight_decl @decoder.block.0.layer.1.EncDecAttention.q.weight : tensor<16x16xf32>
xformer.weight_decl @decoder.block.0.layer.1.EncDecAttention.k.weight : tensor<16x16xf32>
xformer.weight_decl @decoder.block.0.layer.1.EncDecAttention.v.weight : tensor<16x16xf32>
xformer.weight_decl @decoder.block.0.layer.1.EncDecAttention.o.weight : tensor<16x16xf32>
xformer.weight_decl @decoder.block.0.layer.2.layer_norm.weight : tensor<16xf32>
xformer.weight_decl @decoder.block.0.layer.2.DenseReluDense.wi.weight : tensor<32x16xf32>
xformer.weight_decl @decoder.block.0.layer.2.DenseReluDense.wo.weight : tensor<16x32xf32>
xformer.weight_decl @decoder.final_layer_norm.weight : tensor<16xf32>
