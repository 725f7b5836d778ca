// An attention whose mask tensor and bias both broadcast over the query
// positions gets one buffer for each while it runs (they used to share
// one: the bias's broadcast overwrote the mask's before the kernel read
// it).
// RUN: xformer-compile %s --emit=source | FileCheck %s
// CHECK-LABEL: static int32_t fn_forward(
// The mask's [2, 1, 8, 8] bytes (128), then the bias's buffer after them.
// CHECK: [[M:v[0-9]+]] = (uint8_t*) ({{v[0-9]+}} + [[#MASK:]]);
// CHECK-NEXT: xfk_broadcast({{v[0-9]+}}, 1, ((uint8_t*) {{v[0-9]+}}), {{.*}}, [[M]], {{.*}}, 4);
// CHECK-NEXT: if
// CHECK-NEXT: [[B:v[0-9]+]] = (float*) ({{v[0-9]+}} + [[#MASK+128]]);
// CHECK-NEXT: xfk_broadcast({{v[0-9]+}}, 4, ((float*) {{v[0-9]+}}), {{.*}}, [[B]], {{.*}}, 4);
// CHECK: .mask = [[M]];
// CHECK: .bias = [[B]];
func.func @forward(%q: tensor<2x4x8x16xf32>, %k: tensor<2x4x8x16xf32>, %v: tensor<2x4x8x16xf32>, %mask: tensor<2x1x1x8xi1>, %bias: tensor<1x4x1x8xf32>) -> tensor<2x4x8x16xf32> attributes {xformer.model = #xformer.model<encoder>} {
  %o = xformer.attention %q, %k, %v, mask = #xformer.mask<custom>, scale = 0.25 mask_tensor(%mask : tensor<2x1x1x8xi1>) bias(%bias : tensor<1x4x1x8xf32>) : tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32> -> tensor<2x4x8x16xf32>
  return %o : tensor<2x4x8x16xf32>
}
