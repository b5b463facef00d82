// A W8A8 linear whose wgmma tiles are 128x192 (M = 2048, N = 1400, K = 208: the
// tile choice's modelled waves favour 128x192 on the H100's 132 SMs; N and K
// ragged), x and W quantized per row on the device (per-token activations,
// per-channel weights). Run by scripts/gpu-build-blocks.sh
// (test/Target/GPU/device-blocks.test); bit-exact with the evaluator but
// for f32 sums in another order.
func.func @main(%x: tensor<2048x208xf32>, %w: tensor<1400x208xf32>) -> tensor<2048x1400xf32> {
  %q, %s = quant_xform.dynamic_quantize %x scheme<per_token> : (tensor<2048x208xf32>) -> (tensor<2048x208xi8>, tensor<2048xf32>)
  %wq, %sw = quant_xform.dynamic_quantize %w scheme<per_token> : (tensor<1400x208xf32>) -> (tensor<1400x208xi8>, tensor<1400xf32>)
  %y = quant_xform.qlinear %q scale %s, %wq scale %sw : (tensor<2048x208xi8>, tensor<2048xf32>, tensor<1400x208xi8>, tensor<1400xf32>) -> tensor<2048x1400xf32>
  return %y : tensor<2048x1400xf32>
}
