// A function of mixed_linear ops (the kernel-function form, without
// `outline`) must be one the fused LLM.int8() kernels take.
// RUN: xform-opt %s -split-input-file -convert-quant-xform-qlinear-to-gpu="wgmma=true outline=false" -verify-diagnostics

func.func @threshold(%x: tensor<4x16xf32>, %w: tensor<8x16xi8>, %sw: tensor<8xf32>, %wall: tensor<8x16xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{the fused LLM.int8() GPU kernels need 1 to 64 static outlier columns}}
  %z = quant_xform.mixed_linear %x, %w scale %sw, outliers %wall threshold 6.0 : (tensor<4x16xf32>, tensor<8x16xi8>, tensor<8xf32>, tensor<8x16xf32>) -> tensor<4x8xf32>
  return %z : tensor<4x8xf32>
}

// -----

func.func @k_not_16(%x: tensor<4x12xf32>, %w: tensor<8x12xi8>, %sw: tensor<8xf32>, %wo: tensor<8x1xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{the fused LLM.int8() GPU kernels need K to be a multiple of 16 and M at least wgmma-min-m (M = 4, K = 12)}}
  %y = quant_xform.mixed_linear %x, %w scale %sw, outliers %wo columns [2] : (tensor<4x12xf32>, tensor<8x12xi8>, tensor<8xf32>, tensor<8x1xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

func.func @f16_outliers(%x: tensor<4x32xf32>, %w: tensor<8x32xi8>, %sw: tensor<8xf32>, %wo: tensor<8x1xf16>) -> tensor<4x8xf32> {
  // expected-error @+1 {{the fused LLM.int8() GPU kernels need an [M, K] f32 input with a static K, a static signed 8-bit weight and f32 scales, outlier weight, bias and result}}
  %y = quant_xform.mixed_linear %x, %w scale %sw, outliers %wo columns [2] : (tensor<4x32xf32>, tensor<8x32xi8>, tensor<8xf32>, tensor<8x1xf16>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

func.func @mixed_of_mixed(%x: tensor<4x16xf32>, %w: tensor<16x16xi8>, %sw: tensor<16xf32>, %wo: tensor<16x1xf32>) -> tensor<4x16xf32> {
  %y = quant_xform.mixed_linear %x, %w scale %sw, outliers %wo columns [2] : (tensor<4x16xf32>, tensor<16x16xi8>, tensor<16xf32>, tensor<16x1xf32>) -> tensor<4x16xf32>
  // expected-error @+1 {{the GPU lowering needs every mixed_linear operand to be a function argument}}
  %z = quant_xform.mixed_linear %y, %w scale %sw, outliers %wo columns [2] : (tensor<4x16xf32>, tensor<16x16xi8>, tensor<16xf32>, tensor<16x1xf32>) -> tensor<4x16xf32>
  return %z : tensor<4x16xf32>
}
