func.func @truncated(%x: tensor<2x8x64xf32>) -> tensor<2x8x64xf32> {
  %y = xformer.gelu erf %x : tensor<2x8x64xf32>
  %z = xformer.layer_norm %y, 