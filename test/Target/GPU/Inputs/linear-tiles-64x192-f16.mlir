// A W8A8 linear with f16 input, weight and result whose wgmma tiles are
// 64x192 (M = 2048, N = 576, K = 272: whole tiles, so the f16 results go out
// through the staged tile in shared memory, 24 pieces of 16 bytes a row),
// x and W quantized per row on the device. Run by
// scripts/gpu-build-blocks.sh (test/Target/GPU/device-blocks.test).
func.func @main(%x: tensor<2048x272xf16>, %w: tensor<576x272xf16>) -> tensor<2048x576xf16> {
  %xf = arith.extf %x : tensor<2048x272xf16> to tensor<2048x272xf32>
  %wf = arith.extf %w : tensor<576x272xf16> to tensor<576x272xf32>
  %q, %s = quant_xform.dynamic_quantize %xf scheme<per_token> : (tensor<2048x272xf32>) -> (tensor<2048x272xi8>, tensor<2048xf32>)
  %wq, %sw = quant_xform.dynamic_quantize %wf scheme<per_token> : (tensor<576x272xf32>) -> (tensor<576x272xi8>, tensor<576xf32>)
  %y = quant_xform.qlinear %q scale %s, %wq scale %sw : (tensor<2048x272xi8>, tensor<2048xf32>, tensor<576x272xi8>, tensor<576xf32>) -> tensor<2048x576xf32>
  %h = arith.truncf %y : tensor<2048x576xf32> to tensor<2048x576xf16>
  return %h : tensor<2048x576xf16>
}
