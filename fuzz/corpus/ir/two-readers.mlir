// A norm read by two linears (attention inputs), a non-linearity, and a
// linear after it: the shapes the insertion and folding tests need.
func.func @main(%x: tensor<4x8xf32>) -> (tensor<4x4xf32>, tensor<4x4xf32>) {
  %g = arith.constant dense<[1.5, 0.5, 2.0, 1.0, 0.75, 1.25, 3.0, 0.9]> : tensor<8xf32>
  %w1 = arith.constant dense<[[0.5, -1.0, 0.25, 2.0, -0.75, 0.1, 0.3, -0.2],
                              [1.5, 0.2, -0.4, 0.0, 0.9, -1.1, 0.05, 0.6],
                              [-0.3, 0.8, 1.2, -0.6, 0.3, 0.0, -1.3, 0.2],
                              [0.1, 0.1, -0.2, 0.7, -0.4, 0.5, 0.6, -0.9]]> : tensor<4x8xf32>
  %b1 = arith.constant dense<[0.1, -0.2, 0.05, 0.3]> : tensor<4xf32>
  %w2 = arith.constant dense<[[0.2, 0.4, -0.6, 0.8, -1.0, 1.2, -1.4, 1.6],
                              [0.3, -0.1, 0.7, 0.2, 0.5, -0.8, 0.9, -0.3],
                              [-1.1, 0.6, 0.0, 0.4, -0.2, 0.3, 0.1, 0.5],
                              [0.9, -0.7, 0.3, -0.5, 0.6, 0.2, -0.4, 0.8]]> : tensor<4x8xf32>
  %w3 = arith.constant dense<[[0.5, -0.25, 1.0, 0.75], [0.3, 0.6, -0.9, 0.2],
                              [-0.4, 0.8, 0.1, -0.7], [1.1, -0.2, 0.4, 0.3]]> : tensor<4x4xf32>
  %b3 = arith.constant dense<[0.01, 0.02, -0.03, 0.04]> : tensor<4xf32>
  %h = quant_xform.rms_norm %x, %g : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  %q = quant_xform.linear %h, %w1, %b1 {quant_xform.layer = "attn.q", quant_xform.role = "attn_in"} : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4xf32>) -> tensor<4x4xf32>
  %k = quant_xform.linear %h, %w2 {quant_xform.layer = "attn.k", quant_xform.role = "attn_in"} : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x4xf32>
  %t = math.tanh %q : tensor<4x4xf32>
  %d = quant_xform.linear %t, %w3, %b3 {quant_xform.layer = "mlp.down", quant_xform.role = "mlp_down"} : (tensor<4x4xf32>, tensor<4x4xf32>, tensor<4xf32>) -> tensor<4x4xf32>
  return %k, %d : tensor<4x4xf32>, tensor<4x4xf32>
}
