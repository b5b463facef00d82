// The GPU norm kernel: LayerNorm with β, 300 rows (a partial block) of
// K = 200 (a partial 128-element chunk).
// Run by scripts/gpu-build-blocks.sh (test/Target/GPU/device-blocks.test).
func.func @main(%x: tensor<300x200xf32>, %g: tensor<200xf32>, %b: tensor<200xf32>) -> tensor<300x200xf32> {
  %y = quant_xform.layer_norm %x, %g, %b {epsilon = 1.0e-5 : f64} : (tensor<300x200xf32>, tensor<200xf32>, tensor<200xf32>) -> tensor<300x200xf32>
  return %y : tensor<300x200xf32>
}
