func.func @main(%x: tensor<4x8xf32>, %g: tensor<8xf32>, %w: tensor<16x8xi8>, %sw: tensor<16xf32>, %b: tensor<16xf32>) -> tensor<4x16xf32> {
  %h = quant_xform.rms_norm %x, %g : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  %r = quant_xform.rotate hadamard %h signs [1, -1, 1, 1, -1, 1, 1, 1] {quant_xform.online} : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %q, %s = quant_xform.dynamic_quantize %r scheme<per_token> : (tensor<4x8xf32>) -> (tensor<4x8xi8>, tensor<4xf32>)
  %y = quant_xform.qlinear %q scale %s, %w scale %sw, bias %b : (tensor<4x8xi8>, tensor<4xf32>, tensor<16x8xi8>, tensor<16xf32>, tensor<16xf32>) -> tensor<4x16xf32>
  %e = math.erf %y : tensor<4x16xf32>
  return %e : tensor<4x16xf32>
}
