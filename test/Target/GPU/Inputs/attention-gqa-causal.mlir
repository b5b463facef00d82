// The GPU attention kernel: SmolLM2's heads (9 query heads on 3 key/value heads), causal, 77 tokens.
// Run by scripts/gpu-build-blocks.sh (test/Target/GPU/device-blocks.test).
func.func @main(%q: tensor<2x77x9x64xf32>, %k: tensor<2x77x3x64xf32>, %v: tensor<2x77x3x64xf32>) -> tensor<2x77x9x64xf32> {
  %y = quant_xform.attention %q, %k, %v {scale = 0.125 : f64, causal} : tensor<2x77x9x64xf32>, tensor<2x77x3x64xf32>
  return %y : tensor<2x77x9x64xf32>
}
