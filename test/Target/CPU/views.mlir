// Results that are a run of their operand's bytes are views, not copies: a
// slice of one contiguous run (a fused projection's query, key and value at
// one position) and transposes, head splits and merges that move only unit
// dimensions. Strided ones are copied.
// RUN: xformer-compile %s --emit=source | FileCheck %s

// CHECK-LABEL: int32_t fn_forward(
// CHECK: xfk_linear_fused(f, {{.*}}(float *)(S + [[QKV:[0-9]+]]), 1, 64, 128,
// Rows of a batch of two are strided: the slice and its heads are copied.
// CHECK: xfk_linear_fused(f, {{.*}}, 6, 64, 128,
// CHECK-NEXT: // xformer.slice
// CHECK-NEXT: xfk_slice(
// CHECK-NEXT: // xformer.split_heads
// CHECK-NEXT: xfk_transpose(
// The key at 64 floats (256 bytes) in, the value at 96, their heads split
// in place: no kernel, the outputs copied from the linear's result.
// CHECK-NEXT: memcpy(out[0], ((const char *)(S + [[QKV]]) + 256), 128);
// CHECK-NEXT: memcpy(out[1], ((const char *)(S + [[QKV]]) + 384), 128);
// CHECK-NEXT: memcpy(out[2],
// CHECK-NEXT: memcpy(out[3],
func.func @forward(%x: tensor<1x1x64xf32>, %y: tensor<2x3x64xf32>) -> (tensor<1x2x1x16xf32>, tensor<1x2x1x16xf32>, tensor<2x3x32xf32>, tensor<2x2x3x16xf32>) attributes {xformer.model = #xformer.model<encoder>} {
  %w = xformer.weight "qkv" : tensor<128x64xf32>
  %qkv = xformer.linear %x, %w : tensor<1x1x64xf32>, tensor<128x64xf32> -> tensor<1x1x128xf32>
  %k = xformer.slice %qkv [0, 0, 64] : tensor<1x1x128xf32> -> tensor<1x1x32xf32>
  %v = xformer.slice %qkv [0, 0, 96] : tensor<1x1x128xf32> -> tensor<1x1x32xf32>
  %kh = xformer.split_heads %k, heads = 2 : tensor<1x1x32xf32> -> tensor<1x2x1x16xf32>
  %vh = xformer.split_heads %v, heads = 2 : tensor<1x1x32xf32> -> tensor<1x2x1x16xf32>
  %yy = xformer.linear %y, %w : tensor<2x3x64xf32>, tensor<128x64xf32> -> tensor<2x3x128xf32>
  %ys = xformer.slice %yy [0, 0, 32] : tensor<2x3x128xf32> -> tensor<2x3x32xf32>
  %yh = xformer.split_heads %ys, heads = 2 : tensor<2x3x32xf32> -> tensor<2x2x3x16xf32>
  return %kh, %vh, %ys, %yh : tensor<1x2x1x16xf32>, tensor<1x2x1x16xf32>, tensor<2x3x32xf32>, tensor<2x2x3x16xf32>
}
