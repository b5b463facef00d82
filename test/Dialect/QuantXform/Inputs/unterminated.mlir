func.func @f(%x: tensor<2xf32>) -> tensor<2xf32> {
  %0 = quant_xform.rotate hadamard %x signs [1, -1] : (tensor<2xf32>) -> tensor<2xf32>
