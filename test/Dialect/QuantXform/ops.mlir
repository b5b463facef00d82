// Round trip of every quant_xform op, in custom and in generic form.
// RUN: xform-opt %s | FileCheck %s
// RUN: xform-opt %s | xform-opt | FileCheck %s
// RUN: xform-opt -mlir-print-op-generic %s | xform-opt | FileCheck %s

// CHECK-LABEL: func.func @linear
func.func @linear(%x: tensor<4x8xf32>, %w: tensor<16x8xf32>, %b: tensor<16xf32>) -> (tensor<4x16xf32>, tensor<2x4x16xf32>) {
  // CHECK: quant_xform.linear %{{.*}}, %{{.*}}, %{{.*}} : (tensor<4x8xf32>, tensor<16x8xf32>, tensor<16xf32>) -> tensor<4x16xf32>
  %0 = quant_xform.linear %x, %w, %b : (tensor<4x8xf32>, tensor<16x8xf32>, tensor<16xf32>) -> tensor<4x16xf32>
  %x3 = tensor.expand_shape %x [[0, 1], [2]] output_shape [2, 2, 8] : tensor<4x8xf32> into tensor<2x2x8xf32>
  %x4 = tensor.empty() : tensor<2x4x8xf32>
  // CHECK: quant_xform.linear %{{.*}}, %{{.*}} : (tensor<2x4x8xf32>, tensor<16x8xf32>) -> tensor<2x4x16xf32>
  %1 = quant_xform.linear %x4, %w : (tensor<2x4x8xf32>, tensor<16x8xf32>) -> tensor<2x4x16xf32>
  return %0, %1 : tensor<4x16xf32>, tensor<2x4x16xf32>
}

// CHECK-LABEL: func.func @norms
func.func @norms(%x: tensor<4x8xf32>, %g: tensor<8xf32>, %b: tensor<8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>) {
  // CHECK: quant_xform.layer_norm %{{.*}}, %{{.*}}, %{{.*}} {epsilon = 1.000000e-03 : f64}
  %0 = quant_xform.layer_norm %x, %g, %b {epsilon = 1.0e-3 : f64} : (tensor<4x8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  // CHECK: quant_xform.rms_norm %{{.*}}, %{{.*}} : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  %1 = quant_xform.rms_norm %x, %g : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  return %0, %1 : tensor<4x8xf32>, tensor<4x8xf32>
}

// CHECK-LABEL: func.func @batch_norm
func.func @batch_norm(%x: tensor<2x4x8xf32>, %m: tensor<8xf32>, %v: tensor<8xf32>, %g: tensor<8xf32>, %b: tensor<8xf32>) -> (tensor<2x4x8xf32>, tensor<2x4x8xf32>) {
  // CHECK: quant_xform.batch_norm %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : (tensor<2x4x8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<2x4x8xf32>
  %0 = quant_xform.batch_norm %x, %m, %v, %g, %b : (tensor<2x4x8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<2x4x8xf32>
  // CHECK: quant_xform.batch_norm {{.*}} {epsilon = 1.000000e-03 : f64}
  %1 = quant_xform.batch_norm %x, %m, %v, %g, %b {epsilon = 1.0e-3 : f64} : (tensor<2x4x8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<2x4x8xf32>
  return %0, %1 : tensor<2x4x8xf32>, tensor<2x4x8xf32>
}

// CHECK-LABEL: func.func @rotations
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

// CHECK-LABEL: func.func @affine_smooth
func.func @affine_smooth(%x: tensor<2x4xf32>, %a: tensor<4x4xf32>, %d: tensor<4xf32>, %s: tensor<4xf32>) -> (tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>) {
  // CHECK: quant_xform.affine %{{.*}} by %{{.*}} shift %{{.*}} : (tensor<2x4xf32>, tensor<4x4xf32>, tensor<4xf32>) -> tensor<2x4xf32>
  %0 = quant_xform.affine %x by %a shift %d : (tensor<2x4xf32>, tensor<4x4xf32>, tensor<4xf32>) -> tensor<2x4xf32>
  // CHECK: quant_xform.affine %{{.*}} by %{{.*}} inverse {max_condition = 1.000000e+03 : f64}
  %1 = quant_xform.affine %x by %a inverse {max_condition = 1.0e3 : f64} : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32>
  // CHECK: quant_xform.smooth %{{.*}} by %{{.*}} shift %{{.*}} inverse : (tensor<2x4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<2x4xf32>
  %2 = quant_xform.smooth %x by %s shift %d inverse : (tensor<2x4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<2x4xf32>
  return %0, %1, %2 : tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>
}

// CHECK-LABEL: func.func @quantization
func.func @quantization(%x: tensor<4x8xf32>, %st: tensor<f32>, %stok: tensor<4xf32>, %sg: tensor<4x2xf32>, %zp: tensor<4xui8>) -> (tensor<4x8xi8>, tensor<4x8xi8>, tensor<4x8xui8>, tensor<4x8xf32>, tensor<4x8xf32>) {
  // CHECK: quant_xform.quantize %{{.*}}, %{{.*}} scheme<per_tensor> : (tensor<4x8xf32>, tensor<f32>) -> tensor<4x8xi8>
  %0 = quant_xform.quantize %x, %st scheme<per_tensor> : (tensor<4x8xf32>, tensor<f32>) -> tensor<4x8xi8>
  // CHECK: quant_xform.quantize %{{.*}}, %{{.*}} scheme<per_group 4, bits = 4> : (tensor<4x8xf32>, tensor<4x2xf32>) -> tensor<4x8xi8>
  %1 = quant_xform.quantize %x, %sg scheme<per_group 4, bits = 4> : (tensor<4x8xf32>, tensor<4x2xf32>) -> tensor<4x8xi8>
  // CHECK: quant_xform.quantize %{{.*}}, %{{.*}} zero_point %{{.*}} scheme<per_token, asymmetric, clip = 9.000000e-01>
  %2 = quant_xform.quantize %x, %stok zero_point %zp scheme<per_token, asymmetric, clip = 0.9> : (tensor<4x8xf32>, tensor<4xf32>, tensor<4xui8>) -> tensor<4x8xui8>
  // CHECK: quant_xform.dequantize %{{.*}}, %{{.*}} scheme<per_channel> : (tensor<4x8xi8>, tensor<4xf32>) -> tensor<4x8xf32>
  %3 = quant_xform.dequantize %0, %stok scheme<per_channel> : (tensor<4x8xi8>, tensor<4xf32>) -> tensor<4x8xf32>
  // CHECK: quant_xform.fake_quant %{{.*}} scheme<per_tensor> clip 6.000000e+00 : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %4 = quant_xform.fake_quant %x scheme<per_tensor> clip 6.0 : (tensor<4x8xf32>) -> tensor<4x8xf32>
  return %0, %1, %2, %3, %4 : tensor<4x8xi8>, tensor<4x8xi8>, tensor<4x8xui8>, tensor<4x8xf32>, tensor<4x8xf32>
}

// CHECK-LABEL: func.func @dynamic_quantize
func.func @dynamic_quantize(%x: tensor<4x8xf32>) -> (tensor<4x8xi8>, tensor<4xf32>, tensor<4x8xui8>, tensor<f32>, tensor<ui8>) {
  // CHECK: quant_xform.dynamic_quantize %{{.*}} scheme<per_token> : (tensor<4x8xf32>) -> (tensor<4x8xi8>, tensor<4xf32>)
  %q, %s = quant_xform.dynamic_quantize %x scheme<per_token> : (tensor<4x8xf32>) -> (tensor<4x8xi8>, tensor<4xf32>)
  // CHECK: quant_xform.dynamic_quantize %{{.*}} scheme<per_tensor, asymmetric> : (tensor<4x8xf32>) -> (tensor<4x8xui8>, tensor<f32>, tensor<ui8>)
  %u, %su, %zu = quant_xform.dynamic_quantize %x scheme<per_tensor, asymmetric> : (tensor<4x8xf32>) -> (tensor<4x8xui8>, tensor<f32>, tensor<ui8>)
  return %q, %s, %u, %su, %zu : tensor<4x8xi8>, tensor<4xf32>, tensor<4x8xui8>, tensor<f32>, tensor<ui8>
}

// CHECK-LABEL: func.func @qlinear
func.func @qlinear(%qx: tensor<4x8xi8>, %sx: tensor<4xf32>, %ux: tensor<4x8xui8>, %zx: tensor<4xui8>, %qw: tensor<16x8xi8>, %sw: tensor<16xf32>, %sg: tensor<16x2xf32>, %b: tensor<16xf32>) -> (tensor<4x16xf32>, tensor<4x16xf16>) {
  // CHECK: quant_xform.qlinear %{{.*}} scale %{{.*}}, %{{.*}} scale %{{.*}}, bias %{{.*}} : (tensor<4x8xi8>, tensor<4xf32>, tensor<16x8xi8>, tensor<16xf32>, tensor<16xf32>) -> tensor<4x16xf32>
  %0 = quant_xform.qlinear %qx scale %sx, %qw scale %sw, bias %b : (tensor<4x8xi8>, tensor<4xf32>, tensor<16x8xi8>, tensor<16xf32>, tensor<16xf32>) -> tensor<4x16xf32>
  // CHECK: quant_xform.qlinear %{{.*}} scale %{{.*}} zero_point %{{.*}}, %{{.*}} scale %{{.*}} : (tensor<4x8xui8>, tensor<4xf32>, tensor<4xui8>, tensor<16x8xi8>, tensor<16x2xf32>) -> tensor<4x16xf16>
  %1 = quant_xform.qlinear %ux scale %sx zero_point %zx, %qw scale %sg : (tensor<4x8xui8>, tensor<4xf32>, tensor<4xui8>, tensor<16x8xi8>, tensor<16x2xf32>) -> tensor<4x16xf16>
  return %0, %1 : tensor<4x16xf32>, tensor<4x16xf16>
}

// Per-group activation scales, with per-group or per-channel weight scales.
// CHECK-LABEL: func.func @qlinear_grouped_input
func.func @qlinear_grouped_input(%qx: tensor<4x8xi8>, %sx: tensor<4x2xf32>, %qw: tensor<16x8xi8>, %sw: tensor<16xf32>, %sg: tensor<16x2xf32>) -> (tensor<4x16xf32>, tensor<4x16xf32>) {
  // CHECK: quant_xform.qlinear %{{.*}} scale %{{.*}}, %{{.*}} scale %{{.*}} : (tensor<4x8xi8>, tensor<4x2xf32>, tensor<16x8xi8>, tensor<16x2xf32>) -> tensor<4x16xf32>
  %0 = quant_xform.qlinear %qx scale %sx, %qw scale %sg : (tensor<4x8xi8>, tensor<4x2xf32>, tensor<16x8xi8>, tensor<16x2xf32>) -> tensor<4x16xf32>
  // CHECK: quant_xform.qlinear %{{.*}} scale %{{.*}}, %{{.*}} scale %{{.*}} : (tensor<4x8xi8>, tensor<4x2xf32>, tensor<16x8xi8>, tensor<16xf32>) -> tensor<4x16xf32>
  %1 = quant_xform.qlinear %qx scale %sx, %qw scale %sw : (tensor<4x8xi8>, tensor<4x2xf32>, tensor<16x8xi8>, tensor<16xf32>) -> tensor<4x16xf32>
  return %0, %1 : tensor<4x16xf32>, tensor<4x16xf32>
}

// CHECK-LABEL: func.func @mixed_linear
func.func @mixed_linear(%x: tensor<4x8xf32>, %qw: tensor<16x8xi8>, %sw: tensor<16xf32>, %wo: tensor<16x2xf32>, %wall: tensor<16x8xf32>, %b: tensor<16xf32>) -> (tensor<4x16xf32>, tensor<4x16xf32>) {
  // CHECK: quant_xform.mixed_linear %{{.*}}, %{{.*}} scale %{{.*}}, outliers %{{.*}} columns [1, 5], bias %{{.*}}
  %0 = quant_xform.mixed_linear %x, %qw scale %sw, outliers %wo columns [1, 5], bias %b : (tensor<4x8xf32>, tensor<16x8xi8>, tensor<16xf32>, tensor<16x2xf32>, tensor<16xf32>) -> tensor<4x16xf32>
  // CHECK: quant_xform.mixed_linear %{{.*}}, %{{.*}} scale %{{.*}}, outliers %{{.*}} threshold 6.000000e+00 :
  %1 = quant_xform.mixed_linear %x, %qw scale %sw, outliers %wall threshold 6.0 : (tensor<4x8xf32>, tensor<16x8xi8>, tensor<16xf32>, tensor<16x8xf32>) -> tensor<4x16xf32>
  return %0, %1 : tensor<4x16xf32>, tensor<4x16xf32>
}

// CHECK-LABEL: func.func @observe
func.func @observe(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // CHECK: quant_xform.observe %{{.*}} "block0.attn_in" : tensor<4x8xf32>
  %0 = quant_xform.observe %x "block0.attn_in" : tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// CHECK-LABEL: func.func @scheme_attr
// CHECK-SAME: attr = #quant_xform.scheme<per_group 128, bits = 4, asymmetric>
func.func @scheme_attr() attributes {attr = #quant_xform.scheme<per_group 128, bits = 4, asymmetric>} {
  return
}

// CHECK-LABEL: func.func @rotary
func.func @rotary(%x: tensor<5x4x8xf32>, %c: tensor<5x4xf32>, %s: tensor<5x4xf32>) -> tensor<5x4x8xf32> {
  // CHECK: quant_xform.rotary %{{.*}}, %{{.*}}, %{{.*}} : tensor<5x4x8xf32>, tensor<5x4xf32>
  %0 = quant_xform.rotary %x, %c, %s : tensor<5x4x8xf32>, tensor<5x4xf32>
  return %0 : tensor<5x4x8xf32>
}

// CHECK-LABEL: func.func @attention
func.func @attention(%q: tensor<2x5x4x8xf32>, %k: tensor<2x7x2x8xf32>, %v: tensor<2x7x2x8xf32>, %m: tensor<2x7xf32>) -> (tensor<2x5x4x8xf32>, tensor<2x5x4x8xf32>) {
  // CHECK: quant_xform.attention %{{.*}}, %{{.*}}, %{{.*}} mask(%{{.*}} : tensor<2x7xf32>) {scale = 0.353553{{[0-9]*}} : f64} : tensor<2x5x4x8xf32>, tensor<2x7x2x8xf32>
  %0 = quant_xform.attention %q, %k, %v mask(%m : tensor<2x7xf32>) {scale = 0.35355339059327379 : f64} : tensor<2x5x4x8xf32>, tensor<2x7x2x8xf32>
  // CHECK: quant_xform.attention %{{.*}}, %{{.*}}, %{{.*}} {causal, scale = 1.250000e-01 : f64} : tensor<2x5x4x8xf32>, tensor<2x7x2x8xf32>
  %1 = quant_xform.attention %q, %k, %v {scale = 0.125 : f64, causal} : tensor<2x5x4x8xf32>, tensor<2x7x2x8xf32>
  return %0, %1 : tensor<2x5x4x8xf32>, tensor<2x5x4x8xf32>
}
