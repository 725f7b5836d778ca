// Results that are a run of their operand's bytes are views, not copies: a
// slice of one contiguous run (a fused projection's query, key and value at
// one position) and transposes, head splits and merges that move only unit
// dimensions. Strided ones are copied.
// RUN: xformer-compile %s --emit=source | FileCheck %s

// CHECK-LABEL: static int32_t fn_forward(
// CHECK: // xformer.linear
// CHECK-NEXT: float* [[QKV:v[0-9]+]] = (float*) {{v[0-9]+}};
// CHECK-NEXT: xfk_linear_fused({{.*}}, [[QKV]], 1, 64, 128,
// CHECK-NEXT: if
// The key at 64 floats (256 bytes) in, the value at 96, their heads split
// in place: no kernel, pointers into the linear's result.
// CHECK-NEXT: float* [[K:v[0-9]+]] = (float*) ((char*) [[QKV]] + 256);
// CHECK-NEXT: float* [[V:v[0-9]+]] = (float*) ((char*) [[QKV]] + 384);
// Rows of a batch of two are strided: the slice and its heads are copied.
// CHECK-NEXT: // xformer.linear
// CHECK-NEXT: float*
// CHECK-NEXT: xfk_linear_fused({{.*}}, 6, 64, 128,
// CHECK-NEXT: if
// CHECK-NEXT: // xformer.slice
// CHECK-NEXT: float*
// CHECK-NEXT: xfk_slice(
// CHECK-NEXT: if
// CHECK-NEXT: // xformer.split_heads
// CHECK-NEXT: float*
// CHECK-NEXT: xfk_transpose(
// CHECK-NEXT: if
// CHECK-NEXT: [[OUT0:v[0-9]+]] = {{v[0-9]+}}[0];
// CHECK-NEXT: memcpy([[OUT0]], [[K]], 128);
// CHECK-NEXT: [[OUT1:v[0-9]+]] = {{v[0-9]+}}[1];
// CHECK-NEXT: memcpy([[OUT1]], [[V]], 128);
// CHECK-NEXT: {{v[0-9]+}}[2];
// CHECK-NEXT: memcpy(
// CHECK-NEXT: {{v[0-9]+}}[3];
// CHECK-NEXT: memcpy(
func.func @forward(%x: tensor<1x1x64xf32>, %y: tensor<2x3x64xf32>) -> (tensor<1x2x1x16xf32>, tensor<1x2x1x16xf32>, tensor<2x3x32xf32>, tensor<2x2x3x16xf32>) attributes {xformer.model = #xformer.model<encoder>} {
  %w = xformer.weight @qkv : tensor<128x64xf32>
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
xformer.weight_decl @qkv : tensor<128x64xf32>
