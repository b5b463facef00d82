
func.func @linear(%x: tensor<4x8xf32>, %w: tensor<16x8xf32>, %b: tensor<16xf32>) -> (tensor<4x16xf32>, tensor<2x4x16xf32>) {
  // CHECK: quant_xform.linear %{{.*}}, %{{.*}}, %{{.*}} : (tensor<4x8xf32>, tensor<16x8xf32>, tensor<16xf32>) -> tensor<4x16xf32>
  %0 = quant_xform.linear %x, %w, %b : (tensor<4x8xf32>, tensor<16x8xf32>, tensor<16xf32>) -> tensor<4x16xf32>
  %x3 = tensor.expand_shape %x [[0, 1], [2]] output_shape [2, 2, 8] : tensor<4x8xf32> into tensor<2x2x8xf32>
  %x4 = tensor.empty() : tensor<2x4x8xf32>
  // CHECK: quant_xform.linear %{{.*}}, %{{.*}} : (tensor<2x4x8xf32>, tensor<16x8xf32>) -> tensor<2x4x16xf32>
  %1 = quant_xform.linear %x4, %w : (tensor<2x4x8xf32>, tensor<16x8xf32>) -> tensor<2x4x16xf32>
  return %0, %1 : tensor<4x16xf32>, tensor<2x4x16xf32>
}

func.func @norms(%x: tensor<4x8xf32>, %g: tensor<8xf32>, %b: tensor<8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>) {
  // CHECK: quant_xform.layer_norm %{{.*}}, %{{.*}}, %{{.*}} {epsilon = 1.000000e-03 : f64}
  %0 = quant_xform.layer_norm %x, %g, %b {epsilon = 1.0e-3 : f64} : (tensor<4x8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  // CHECK: quant_xform.rms_norm %{{.*}}, %{{.*}} : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  %1 = quant_xform.rms_norm %x, %g : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  return %0, %1 : tensor<4x8xf32>, tensor<4x8xf32>
}

func.func @rotations(%x: tensor<2x4xf32>, %q: tensor<4x4xf32>) -> (tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>) {
  // CHECK: quant_xform.rotate dense %{{.*}} by %{{.*}} inverse : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32>
  %0 = quant_xform.rotate dense %x by %q inverse : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32>
  // CHECK: quant_xform.rotate hadamard %{{.*}} signs [1, -1, 1, 1] : (tensor<2x4xf32>) -> tensor<2x4xf32>
  %1 = quant_xform.rotate hadamard %x signs [1, -1, 1, 1] : (tensor<2x4xf32>) -> tensor<2x4xf32>
  // CHECK: quant_xform.rotate hadamard %{{.*}} : (tensor<2x4xf32>) -> tensor<2x4xf32>
  %2 = quant_xform.rotate hadamard %x : (tensor<2x4xf32>) -> tensor<2x4xf32>
  // CHECK: quant_xform.rotate permutation %{{.*}} perm [3, 0, 2, 1] {tolerance = 1.000000e-03 : f64} : (tensor<2x4xf32>) -> tensor<2x4xf32>
  %3 = quant_xform.rotate permutation %x perm [3, 0, 2, 1] {tolerance = 1.0e-3 : f64} : (tensor<2x4xf32>) -> tensor<2x4xf32>
  return %0, %1, %2, %3 : tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>
}

func.func @affine_smooth(%x: tensor<2x4xf32>, %a: tensor<4x4xf32>, %d: tensor<4xf32>, %s: tensor<4xf32>) -> (tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>) {
