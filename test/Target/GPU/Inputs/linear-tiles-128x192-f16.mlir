// A W8A8 linear with f16 input, weight and result whose wgmma tiles are
// 128x192 (M = 2048, N = 1536, K = 384: whole tiles, so the f16 results go out
// through the staged tile in shared memory, 24 pieces of 16 bytes a row),
// x and W quantized per row on the device. Run by
// scripts/gpu-build-blocks.sh (test/Target/GPU/device-blocks.test).
func.func @main(%x: tensor<2048x384xf16>, %w: tensor<1536x384xf16>) -> tensor<2048x1536xf16> {
  %xf = arith.extf %x : tensor<2048x384xf16> to tensor<2048x384xf32>
  %wf = arith.extf %w : tensor<1536x384xf16> to tensor<1536x384xf32>
  %q, %s = quant_xform.dynamic_quantize %xf scheme<per_token> : (tensor<2048x384xf32>) -> (tensor<2048x384xi8>, tensor<2048xf32>)
  %wq, %sw = quant_xform.dynamic_quantize %wf scheme<per_token> : (tensor<1536x384xf32>) -> (tensor<1536x384xi8>, tensor<1536xf32>)
  %y = quant_xform.qlinear %q scale %s, %wq scale %sw : (tensor<2048x384xi8>, tensor<2048xf32>, tensor<1536x384xi8>, tensor<1536xf32>) -> tensor<2048x1536xf32>
  %h = arith.truncf %y : tensor<2048x1536xf32> to tensor<2048x1536xf16>
  return %h : tensor<2048x1536xf16>
}
