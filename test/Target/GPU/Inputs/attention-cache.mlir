// The GPU attention kernel: 16 new tokens after 514 cached ones (causal, bottom-right), head size 128, 4 query heads per key/value head.
// Run by scripts/gpu-build-blocks.sh (test/Target/GPU/device-blocks.test).
func.func @main(%q: tensor<1x16x8x128xf32>, %k: tensor<1x530x2x128xf32>, %v: tensor<1x530x2x128xf32>) -> tensor<1x16x8x128xf32> {
  %y = quant_xform.attention %q, %k, %v {scale = 0.08838834764831843 : f64, causal} : tensor<1x16x8x128xf32>, tensor<1x530x2x128xf32>
  return %y : tensor<1x16x8x128xf32>
}
