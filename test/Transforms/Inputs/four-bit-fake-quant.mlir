// A 4-bit fake-quantizer in front of a linear: not W8A8.
func.func @main(%x: tensor<2x4xf32>) -> tensor<2x2xf32> {
  %w = arith.constant dense<[[1.0, 2.0, 3.0, 4.0], [0.5, -1.0, 0.25, 2.0]]> : tensor<2x4xf32>
  %fx = quant_xform.fake_quant %x scheme<per_token, bits = 4> : (tensor<2x4xf32>) -> tensor<2x4xf32>
  %y = quant_xform.linear %fx, %w : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x2xf32>
  return %y : tensor<2x2xf32>
}
