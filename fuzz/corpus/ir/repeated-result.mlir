// A LayerNorm (with β) read by two linears, an RMSNorm read by a linear and
// by a residual add, and smoothing right after a norm.
func.func @main(%x: tensor<3x4xf32>) -> (tensor<3x2xf32>, tensor<3x2xf32>, tensor<3x4xf32>, tensor<3x2xf32>) {
  %g = arith.constant dense<[1.5, 0.5, 2.0, 4.0]> : tensor<4xf32>
  %beta = arith.constant dense<[0.1, -0.2, 0.0, 0.3]> : tensor<4xf32>
  %w = arith.constant dense<[[0.5, -1.0, 0.25, 2.0], [1.5, 0.2, -0.4, 0.3]]> : tensor<2x4xf32>
  %b = arith.constant dense<[0.1, -0.2]> : tensor<2xf32>
  %w2 = arith.constant dense<[[0.3, 0.7, -0.5, 0.1], [-0.6, 0.4, 0.9, -0.2]]> : tensor<2x4xf32>
  %s = arith.constant dense<[2.0, 0.5, 4.0, 1.0]> : tensor<4xf32>
  %d = arith.constant dense<[0.3, -0.1, 0.0, 1.0]> : tensor<4xf32>
  %ln = quant_xform.layer_norm %x, %g, %beta : (tensor<3x4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<3x4xf32>
  %y0 = quant_xform.linear %ln, %w, %b : (tensor<3x4xf32>, tensor<2x4xf32>, tensor<2xf32>) -> tensor<3x2xf32>
  %y1 = quant_xform.linear %ln, %w2 : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32>
  %rms = quant_xform.rms_norm %x, %g : (tensor<3x4xf32>, tensor<4xf32>) -> tensor<3x4xf32>
  %r = arith.addf %rms, %x : tensor<3x4xf32>
  %rms2 = quant_xform.rms_norm %x, %g, %beta : (tensor<3x4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<3x4xf32>
  %sm = quant_xform.smooth %rms2 by %s shift %d {quant_xform.pinned} : (tensor<3x4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<3x4xf32>
  %y2 = quant_xform.linear %sm, %w : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32>
  return %y0, %y2, %r, %y2 : tensor<3x2xf32>, tensor<3x2xf32>, tensor<3x4xf32>, tensor<3x2xf32>
}
