// The GPU attention kernel with split keys on f16 q, k and v and an f16
// result: a decode step (1 query row, 9 query heads on 3 KV heads, 512
// cache slots), the keys split across blocks; the combine kernel rounds
// the output to f16. Run by scripts/gpu-build-blocks.sh
// (test/Target/GPU/device-blocks.test).
func.func @main(%q: tensor<1x1x9x64xf16>, %k: tensor<1x512x3x64xf16>, %v: tensor<1x512x3x64xf16>) -> tensor<1x1x9x64xf16> {
  %qf = arith.extf %q : tensor<1x1x9x64xf16> to tensor<1x1x9x64xf32>
  %kf = arith.extf %k : tensor<1x512x3x64xf16> to tensor<1x512x3x64xf32>
  %vf = arith.extf %v : tensor<1x512x3x64xf16> to tensor<1x512x3x64xf32>
  %y = quant_xform.attention %qf, %kf, %vf {scale = 0.125 : f64} : tensor<1x1x9x64xf32>, tensor<1x512x3x64xf32>
  %h = arith.truncf %y : tensor<1x1x9x64xf32> to tensor<1x1x9x64xf16>
  return %h : tensor<1x1x9x64xf16>
}
