// The GPU attention kernel on f16 q, k and v with an f16 result: SmolLM2's
// heads (9 query heads on 3 key/value heads), causal, 77 tokens. The
// widenings and the rounding fuse into the kernel's loads and stores (no
// half-copy kernel). Run by scripts/gpu-build-blocks.sh
// (test/Target/GPU/device-blocks.test).
func.func @main(%q: tensor<2x77x9x64xf16>, %k: tensor<2x77x3x64xf16>, %v: tensor<2x77x3x64xf16>) -> tensor<2x77x9x64xf16> {
  %qf = arith.extf %q : tensor<2x77x9x64xf16> to tensor<2x77x9x64xf32>
  %kf = arith.extf %k : tensor<2x77x3x64xf16> to tensor<2x77x3x64xf32>
  %vf = arith.extf %v : tensor<2x77x3x64xf16> to tensor<2x77x3x64xf32>
  %y = quant_xform.attention %qf, %kf, %vf {scale = 0.125 : f64, causal} : tensor<2x77x9x64xf32>, tensor<2x77x3x64xf32>
  %h = arith.truncf %y : tensor<2x77x9x64xf32> to tensor<2x77x9x64xf16>
  return %h : tensor<2x77x9x64xf16>
}
