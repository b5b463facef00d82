// The GPU attention kernel: head size 16 (the smallest), 33 tokens, a mask.
// Run by scripts/gpu-build-blocks.sh (test/Target/GPU/device-blocks.test).
func.func @main(%q: tensor<3x33x4x16xf32>, %k: tensor<3x33x4x16xf32>, %v: tensor<3x33x4x16xf32>, %m: tensor<3x33xf32>) -> tensor<3x33x4x16xf32> {
  %y = quant_xform.attention %q, %k, %v mask(%m : tensor<3x33xf32>) {scale = 0.25 : f64} : tensor<3x33x4x16xf32>, tensor<3x33x4x16xf32>
  return %y : tensor<3x33x4x16xf32>
}
