// bf16 arithmetic outside the dialect (emulated in f32 on x86) with bf16
// arguments and results: each op rounds once, as the evaluator's does.
func.func @main(%x: tensor<2x4xbf16>, %y: tensor<2x4xbf16>) -> tensor<2x4xbf16> {
  %s = arith.addf %x, %y : tensor<2x4xbf16>
  %p = arith.mulf %s, %x : tensor<2x4xbf16>
  return %p : tensor<2x4xbf16>
}
