// An asymmetric !quant.uniform (zero point 3, full signed range): no exact
// quant_xform scheme.
func.func @main(%x: tensor<2x4xf32>) -> tensor<2x4x!quant.uniform<i8:f32, 0.05:3>> {
  %q = quant.qcast %x : tensor<2x4xf32> to tensor<2x4x!quant.uniform<i8:f32, 0.05:3>>
  return %q : tensor<2x4x!quant.uniform<i8:f32, 0.05:3>>
}
