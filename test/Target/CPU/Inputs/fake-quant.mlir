// fake_quant (QAT export) has no CPU lowering yet.
func.func @main(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %y = quant_xform.fake_quant %x scheme<per_token> : (tensor<2x4xf32>) -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}
