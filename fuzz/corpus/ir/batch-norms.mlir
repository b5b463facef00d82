// Batch norms around linears, for test/Transforms/fold-batch-norms.mlir.

// linear → BN (its only reader): folds into the producer.
func.func @after_linear(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<[[0.5, -1.0, 2.0, 0.25], [1.5, 0.75, -0.5, 1.0]]> : tensor<2x4xf32>
  %b = arith.constant dense<[0.1, -0.2]> : tensor<2xf32>
  %m = arith.constant dense<[0.3, -0.4]> : tensor<2xf32>
  %v = arith.constant dense<[2.0, 0.5]> : tensor<2xf32>
  %g = arith.constant dense<[1.5, -0.8]> : tensor<2xf32>
  %be = arith.constant dense<[0.05, 0.6]> : tensor<2xf32>
  %y = quant_xform.linear %x, %w, %b {quant_xform.layer = "fc"} : (tensor<3x4xf32>, tensor<2x4xf32>, tensor<2xf32>) -> tensor<3x2xf32>
  %z = quant_xform.batch_norm %y, %m, %v, %g, %be {epsilon = 1.0e-3 : f64} : (tensor<3x2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<3x2xf32>
  return %z : tensor<3x2xf32>
}

// BN → two linears (one without bias): folds into both readers.
func.func @before_linears(%x: tensor<2x3x4xf32>) -> (tensor<2x3x2xf32>, tensor<2x3x3xf32>) {
  %m = arith.constant dense<[0.3, -0.4, 1.0, 0.0]> : tensor<4xf32>
  %v = arith.constant dense<[2.0, 0.5, 0.0, 4.0]> : tensor<4xf32>
  %g = arith.constant dense<[1.5, -0.8, 1.0, 0.5]> : tensor<4xf32>
  %be = arith.constant dense<[0.05, 0.6, -1.0, 0.0]> : tensor<4xf32>
  %z = quant_xform.batch_norm %x, %m, %v, %g, %be : (tensor<2x3x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<2x3x4xf32>
  %w1 = arith.constant dense<[[0.5, -1.0, 2.0, 0.25], [1.5, 0.75, -0.5, 1.0]]> : tensor<2x4xf32>
  %b1 = arith.constant dense<[0.1, -0.2]> : tensor<2xf32>
  %w2 = arith.constant dense<[[1.0, 0.0, -1.0, 0.5], [0.2, 0.3, 0.4, -0.5], [-2.0, 1.0, 0.0, 0.1]]> : tensor<3x4xf32>
  %y1 = quant_xform.linear %z, %w1, %b1 : (tensor<2x3x4xf32>, tensor<2x4xf32>, tensor<2xf32>) -> tensor<2x3x2xf32>
  %y2 = quant_xform.linear %z, %w2 : (tensor<2x3x4xf32>, tensor<3x4xf32>) -> tensor<2x3x3xf32>
  return %y1, %y2 : tensor<2x3x2xf32>, tensor<2x3x3xf32>
}

// BN whose output is also returned: nothing to fold into; it stays.
func.func @kept(%x: tensor<3x4xf32>) -> (tensor<3x4xf32>, tensor<3x2xf32>) {
  %m = arith.constant dense<[0.3, -0.4, 1.0, 0.0]> : tensor<4xf32>
  %v = arith.constant dense<[2.0, 0.5, 0.0, 4.0]> : tensor<4xf32>
  %g = arith.constant dense<[1.5, -0.8, 1.0, 0.5]> : tensor<4xf32>
  %be = arith.constant dense<[0.05, 0.6, -1.0, 0.0]> : tensor<4xf32>
  %z = quant_xform.batch_norm %x, %m, %v, %g, %be : (tensor<3x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<3x4xf32>
  %w1 = arith.constant dense<[[0.5, -1.0, 2.0, 0.25], [1.5, 0.75, -0.5, 1.0]]> : tensor<2x4xf32>
  %y1 = quant_xform.linear %z, %w1 : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32>
  return %z, %y1 : tensor<3x4xf32>, tensor<3x2xf32>
}
