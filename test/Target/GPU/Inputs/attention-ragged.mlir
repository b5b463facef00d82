// The GPU attention kernel: 100 tokens (a partial query block and key tile), head size 64, a mask.
// Run by scripts/gpu-build-blocks.sh (test/Target/GPU/device-blocks.test).
func.func @main(%q: tensor<2x100x4x64xf32>, %k: tensor<2x100x4x64xf32>, %v: tensor<2x100x4x64xf32>, %m: tensor<2x100xf32>) -> tensor<2x100x4x64xf32> {
  %y = quant_xform.attention %q, %k, %v mask(%m : tensor<2x100xf32>) {scale = 0.125 : f64} : tensor<2x100x4x64xf32>, tensor<2x100x4x64xf32>
  return %y : tensor<2x100x4x64xf32>
}
