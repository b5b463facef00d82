// A W8A8 linear whose wgmma tiles are 64x192 (M = 2000, N = 600, K = 272: the
// tile choice's modelled waves favour 64x192 on the H100's 132 SMs; N and K
// ragged), x and W quantized per row on the device (per-token activations,
// per-channel weights). Run by scripts/gpu-build-blocks.sh
// (test/Target/GPU/device-blocks.test); bit-exact with the evaluator but
// for f32 sums in another order.
func.func @main(%x: tensor<2000x272xf32>, %w: tensor<600x272xf32>) -> tensor<2000x600xf32> {
  %q, %s = quant_xform.dynamic_quantize %x scheme<per_token> : (tensor<2000x272xf32>) -> (tensor<2000x272xi8>, tensor<2000xf32>)
  %wq, %sw = quant_xform.dynamic_quantize %w scheme<per_token> : (tensor<600x272xf32>) -> (tensor<600x272xi8>, tensor<600xf32>)
  %y = quant_xform.qlinear %q scale %s, %wq scale %sw : (tensor<2000x272xi8>, tensor<2000xf32>, tensor<600x272xi8>, tensor<600xf32>) -> tensor<2000x600xf32>
  return %y : tensor<2000x600xf32>
}
