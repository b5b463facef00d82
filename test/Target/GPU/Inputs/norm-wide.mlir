// The GPU norm kernel: RMSNorm of 33 rows of K = 4096 (LLaMA-2-7B's hidden
// size).
// Run by scripts/gpu-build-blocks.sh (test/Target/GPU/device-blocks.test).
func.func @main(%x: tensor<33x4096xf32>, %g: tensor<4096xf32>) -> tensor<33x4096xf32> {
  %y = quant_xform.rms_norm %x, %g {epsilon = 1.0e-5 : f64} : (tensor<33x4096xf32>, tensor<4096xf32>) -> tensor<33x4096xf32>
  return %y : tensor<33x4096xf32>
}
