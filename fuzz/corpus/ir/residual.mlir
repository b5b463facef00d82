// Two pre-norm sublayers on a residual stream of 4 features, ending in a
// final LayerNorm (@with_final_norm) or returning the stream (@returns_stream).
func.func @with_final_norm(%x: tensor<3x4xf32>) -> tensor<3x4xf32> {
  %g = arith.constant dense<[1.5, 0.5, 2.0, 1.0]> : tensor<4xf32>
  %beta = arith.constant dense<[0.1, -0.2, 0.0, 0.3]> : tensor<4xf32>
  %w1 = arith.constant dense<[[0.5, -1.0, 0.25, 2.0], [1.5, 0.2, -0.4, 0.3], [-0.3, 0.8, 1.2, -0.6], [0.1, 0.1, -0.2, 0.7]]> : tensor<4x4xf32>
  %b1 = arith.constant dense<[0.1, -0.2, 0.05, 0.3]> : tensor<4xf32>
  %w2 = arith.constant dense<[[0.2, 0.4, -0.6, 0.8], [0.3, -0.1, 0.7, 0.2], [-1.1, 0.6, 0.0, 0.4], [0.9, -0.7, 0.3, -0.5]]> : tensor<4x4xf32>
  %h = quant_xform.layer_norm %x, %g, %beta : (tensor<3x4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<3x4xf32>
  %a = quant_xform.linear %h, %w1, %b1 : (tensor<3x4xf32>, tensor<4x4xf32>, tensor<4xf32>) -> tensor<3x4xf32>
  %r1 = arith.addf %x, %a : tensor<3x4xf32>
  %h2 = quant_xform.layer_norm %r1, %g : (tensor<3x4xf32>, tensor<4xf32>) -> tensor<3x4xf32>
  %d = quant_xform.linear %h2, %w2 : (tensor<3x4xf32>, tensor<4x4xf32>) -> tensor<3x4xf32>
  %r2 = arith.addf %r1, %d : tensor<3x4xf32>
  %y = quant_xform.layer_norm %r2, %g, %beta {epsilon = 1.0e-3 : f64} : (tensor<3x4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<3x4xf32>
  return %y : tensor<3x4xf32>
}

func.func @returns_stream(%x: tensor<3x4xf32>) -> tensor<3x4xf32> {
  %g = arith.constant dense<[1.5, 0.5, 2.0, 1.0]> : tensor<4xf32>
  %w1 = arith.constant dense<[[0.5, -1.0, 0.25, 2.0], [1.5, 0.2, -0.4, 0.3], [-0.3, 0.8, 1.2, -0.6], [0.1, 0.1, -0.2, 0.7]]> : tensor<4x4xf32>
  %h = quant_xform.layer_norm %x, %g : (tensor<3x4xf32>, tensor<4xf32>) -> tensor<3x4xf32>
  %a = quant_xform.linear %h, %w1 : (tensor<3x4xf32>, tensor<4x4xf32>) -> tensor<3x4xf32>
  %r1 = arith.addf %x, %a : tensor<3x4xf32>
  %h2 = quant_xform.layer_norm %r1, %g : (tensor<3x4xf32>, tensor<4xf32>) -> tensor<3x4xf32>
  return %r1 : tensor<3x4xf32>
}
