// The GPU attention kernel: all-MiniLM-L6-v2's attention at 8 sequences of 128 tokens, with a padding mask.
// Run by scripts/gpu-build-blocks.sh (test/Target/GPU/device-blocks.test).
func.func @main(%q: tensor<8x128x12x32xf32>, %k: tensor<8x128x12x32xf32>, %v: tensor<8x128x12x32xf32>, %m: tensor<8x128xf32>) -> tensor<8x128x12x32xf32> {
  %y = quant_xform.attention %q, %k, %v mask(%m : tensor<8x128xf32>) {scale = 0.17677669529663687 : f64} : tensor<8x128x12x32xf32>, tensor<8x128x12x32xf32>
  return %y : tensor<8x128x12x32xf32>
}
