// Every verifier rule, with its message.
// RUN: xform-opt %s -split-input-file -verify-diagnostics

func.func @linear_k_mismatch(%x: tensor<4x8xf32>, %w: tensor<16x7xf32>) -> tensor<4x16xf32> {
  // expected-error @+1 {{weight shape [16, 7] does not match the input features K = 8}}
  %0 = quant_xform.linear %x, %w : (tensor<4x8xf32>, tensor<16x7xf32>) -> tensor<4x16xf32>
  return %0 : tensor<4x16xf32>
}

// -----

func.func @linear_weight_rank(%x: tensor<4x8xf32>, %w: tensor<8xf32>) -> tensor<4x16xf32> {
  // expected-error @+1 {{weight must be a matrix [N, K], got [8]}}
  %0 = quant_xform.linear %x, %w : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x16xf32>
  return %0 : tensor<4x16xf32>
}

// -----

func.func @linear_bias(%x: tensor<4x8xf32>, %w: tensor<16x8xf32>, %b: tensor<15xf32>) -> tensor<4x16xf32> {
  // expected-error @+1 {{bias must have shape [16] (one per feature), got [15]}}
  %0 = quant_xform.linear %x, %w, %b : (tensor<4x8xf32>, tensor<16x8xf32>, tensor<15xf32>) -> tensor<4x16xf32>
  return %0 : tensor<4x16xf32>
}

// -----

func.func @linear_result(%x: tensor<4x8xf32>, %w: tensor<16x8xf32>) -> tensor<4x15xf32> {
  // expected-error @+1 {{result shape [4, 15] does not match [4, 16]}}
  %0 = quant_xform.linear %x, %w : (tensor<4x8xf32>, tensor<16x8xf32>) -> tensor<4x15xf32>
  return %0 : tensor<4x15xf32>
}

// -----

func.func @linear_element_type(%x: tensor<4x8xf32>, %w: tensor<16x8xf16>) -> tensor<4x16xf32> {
  // expected-error @+1 {{weight element type 'f16' does not match the input element type 'f32'}}
  %0 = quant_xform.linear %x, %w : (tensor<4x8xf32>, tensor<16x8xf16>) -> tensor<4x16xf32>
  return %0 : tensor<4x16xf32>
}

// -----

func.func @linear_nan_weight(%x: tensor<1x2xf32>) -> tensor<1x2xf32> {
  %w = arith.constant dense<[[1.0, 0.0], [0x7FC00000, 1.0]]> : tensor<2x2xf32>
  // expected-error @+1 {{weight[2] is NaN}}
  %0 = quant_xform.linear %x, %w : (tensor<1x2xf32>, tensor<2x2xf32>) -> tensor<1x2xf32>
  return %0 : tensor<1x2xf32>
}

// -----

func.func @norm_gamma(%x: tensor<4x8xf32>, %g: tensor<4xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{gamma must have shape [8] (one per feature), got [4]}}
  %0 = quant_xform.rms_norm %x, %g : (tensor<4x8xf32>, tensor<4xf32>) -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

func.func @batch_norm_shape(%x: tensor<4x8xf32>, %m: tensor<8xf32>, %v: tensor<4xf32>, %g: tensor<8xf32>, %b: tensor<8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{variance must have shape [8] (one per feature), got [4]}}
  %0 = quant_xform.batch_norm %x, %m, %v, %g, %b : (tensor<4x8xf32>, tensor<8xf32>, tensor<4xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

func.func @batch_norm_negative_variance(%x: tensor<4x2xf32>, %m: tensor<2xf32>, %g: tensor<2xf32>, %b: tensor<2xf32>) -> tensor<4x2xf32> {
  %v = arith.constant dense<[1.0, -0.5]> : tensor<2xf32>
  // expected-error @+1 {{variance[1] = -5.000000e-01 is negative}}
  %0 = quant_xform.batch_norm %x, %m, %v, %g, %b : (tensor<4x2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<4x2xf32>
  return %0 : tensor<4x2xf32>
}

// -----

func.func @batch_norm_nan_gamma(%x: tensor<4x2xf32>, %m: tensor<2xf32>, %v: tensor<2xf32>, %b: tensor<2xf32>) -> tensor<4x2xf32> {
  %g = arith.constant dense<[1.0, 0x7FC00000]> : tensor<2xf32>
  // expected-error @+1 {{gamma[1] is NaN}}
  %0 = quant_xform.batch_norm %x, %m, %v, %g, %b : (tensor<4x2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<4x2xf32>
  return %0 : tensor<4x2xf32>
}

// -----

func.func @batch_norm_epsilon(%x: tensor<4x2xf32>, %m: tensor<2xf32>, %v: tensor<2xf32>, %g: tensor<2xf32>, %b: tensor<2xf32>) -> tensor<4x2xf32> {
  // expected-error @+1 {{epsilon = -1.000000e+00 must be > 0}}
  %0 = quant_xform.batch_norm %x, %m, %v, %g, %b {epsilon = -1.0 : f64} : (tensor<4x2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<4x2xf32>
  return %0 : tensor<4x2xf32>
}

// -----

func.func @batch_norm_result_type(%x: tensor<4x2xf32>, %m: tensor<2xf32>, %v: tensor<2xf32>, %g: tensor<2xf32>, %b: tensor<2xf32>) -> tensor<4x2xf16> {
  // expected-error @+1 {{result type 'tensor<4x2xf16>' must equal the input type 'tensor<4x2xf32>'}}
  %0 = quant_xform.batch_norm %x, %m, %v, %g, %b : (tensor<4x2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<4x2xf16>
  return %0 : tensor<4x2xf16>
}

// -----

func.func @norm_epsilon(%x: tensor<4x8xf32>, %g: tensor<8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{epsilon = 0.000000e+00 must be > 0}}
  %0 = quant_xform.layer_norm %x, %g {epsilon = 0.0 : f64} : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

func.func @norm_result(%x: tensor<4x8xf32>, %g: tensor<8xf32>) -> tensor<4x8xf16> {
  // expected-error @+1 {{result type 'tensor<4x8xf16>' must equal the input type 'tensor<4x8xf32>'}}
  %0 = quant_xform.layer_norm %x, %g : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf16>
  return %0 : tensor<4x8xf16>
}

// -----

func.func @rotate_matrix_shape(%x: tensor<2x4xf32>, %q: tensor<3x3xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{rotation matrix shape [3, 3] does not match the input features (expected [4, 4])}}
  %0 = quant_xform.rotate dense %x by %q : (tensor<2x4xf32>, tensor<3x3xf32>) -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

func.func @rotate_dense_needs_matrix(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{a dense rotation needs a matrix operand}}
  %0 = quant_xform.rotate dense %x : (tensor<2x4xf32>) -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

func.func @rotate_hadamard_matrix(%x: tensor<2x4xf32>, %q: tensor<4x4xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{a hadamard rotation takes no matrix}}
  %0 = quant_xform.rotate hadamard %x by %q : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

func.func @rotate_hadamard_size(%x: tensor<2x5xf32>) -> tensor<2x5xf32> {
  // expected-error @+1 {{a hadamard rotation needs an even feature size (blocks of the largest power of two dividing K), got K = 5}}
  %0 = quant_xform.rotate hadamard %x : (tensor<2x5xf32>) -> tensor<2x5xf32>
  return %0 : tensor<2x5xf32>
}

// -----

func.func @rotate_hadamard_signs_len(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{hadamard signs have 2 entries, expected K = 4}}
  %0 = quant_xform.rotate hadamard %x signs [1, -1] : (tensor<2x4xf32>) -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

func.func @rotate_hadamard_signs_value(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{hadamard sign[2] = 2 is not +1 or -1}}
  %0 = quant_xform.rotate hadamard %x signs [1, -1, 2, 1] : (tensor<2x4xf32>) -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

func.func @rotate_signs_on_perm(%x: tensor<2x2xf32>) -> tensor<2x2xf32> {
  // expected-error @+1 {{'signs' is only valid on a hadamard rotation}}
  %0 = quant_xform.rotate permutation %x perm [1, 0] signs [1, 1] : (tensor<2x2xf32>) -> tensor<2x2xf32>
  return %0 : tensor<2x2xf32>
}

// -----

func.func @rotate_perm_on_dense(%x: tensor<2x2xf32>, %q: tensor<2x2xf32>) -> tensor<2x2xf32> {
  // expected-error @+1 {{'perm' is only valid on a permutation rotation}}
  %0 = quant_xform.rotate dense %x by %q perm [1, 0] : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  return %0 : tensor<2x2xf32>
}

// -----

func.func @rotate_perm_missing(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{a permutation rotation needs 'perm'}}
  %0 = quant_xform.rotate permutation %x : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @rotate_perm_duplicate(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{permutation entry 0 appears twice: not a permutation}}
  %0 = quant_xform.rotate permutation %x perm [0, 2, 0] : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @rotate_perm_range(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{permutation entry perm[1] = 3 is out of range [0, 3)}}
  %0 = quant_xform.rotate permutation %x perm [0, 3, 1] : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @rotate_perm_length(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{permutation has 2 entries, expected K = 3}}
  %0 = quant_xform.rotate permutation %x perm [1, 0] : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @rotate_tolerance(%x: tensor<2x2xf32>) -> tensor<2x2xf32> {
  // expected-error @+1 {{tolerance = -1.000000e+00 must be > 0}}
  %0 = quant_xform.rotate permutation %x perm [1, 0] {tolerance = -1.0 : f64} : (tensor<2x2xf32>) -> tensor<2x2xf32>
  return %0 : tensor<2x2xf32>
}

// -----

func.func @rotate_result_type(%x: tensor<2x2xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{result type 'tensor<2x3xf32>' must equal the input type 'tensor<2x2xf32>'}}
  %0 = quant_xform.rotate permutation %x perm [1, 0] : (tensor<2x2xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @affine_shape(%x: tensor<2x2xf32>, %a: tensor<2x3xf32>) -> tensor<2x2xf32> {
  // expected-error @+1 {{affine matrix shape [2, 3] does not match the input features (expected [2, 2])}}
  %0 = quant_xform.affine %x by %a : (tensor<2x2xf32>, tensor<2x3xf32>) -> tensor<2x2xf32>
  return %0 : tensor<2x2xf32>
}

// -----

func.func @affine_nan(%x: tensor<2x2xf32>) -> tensor<2x2xf32> {
  %a = arith.constant dense<[[1.0, 0x7FC00000], [0.0, 1.0]]> : tensor<2x2xf32>
  // expected-error @+1 {{affine matrix[1] is NaN}}
  %0 = quant_xform.affine %x by %a : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  return %0 : tensor<2x2xf32>
}

// -----

func.func @affine_max_condition(%x: tensor<2x2xf32>, %a: tensor<2x2xf32>) -> tensor<2x2xf32> {
  // expected-error @+1 {{max_condition = 5.000000e-01 must be >= 1}}
  %0 = quant_xform.affine %x by %a {max_condition = 0.5 : f64} : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  return %0 : tensor<2x2xf32>
}

// -----

func.func @affine_shift(%x: tensor<2x2xf32>, %a: tensor<2x2xf32>, %d: tensor<3xf32>) -> tensor<2x2xf32> {
  // expected-error @+1 {{shift must have shape [2] (one per feature), got [3]}}
  %0 = quant_xform.affine %x by %a shift %d : (tensor<2x2xf32>, tensor<2x2xf32>, tensor<3xf32>) -> tensor<2x2xf32>
  return %0 : tensor<2x2xf32>
}

// -----

func.func @smooth_negative(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %s = arith.constant dense<[1.0, -0.5, 2.0]> : tensor<3xf32>
  // expected-error @+1 {{smoothing scale[1] = -5.000000e-01 is not positive}}
  %0 = quant_xform.smooth %x by %s : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @smooth_nan(%x: tensor<2x2xf32>) -> tensor<2x2xf32> {
  %s = arith.constant dense<[1.0, 0x7FC00000]> : tensor<2xf32>
  // expected-error @+1 {{smoothing scale[1] is NaN}}
  %0 = quant_xform.smooth %x by %s : (tensor<2x2xf32>, tensor<2xf32>) -> tensor<2x2xf32>
  return %0 : tensor<2x2xf32>
}

// -----

func.func @smooth_inf(%x: tensor<2x2xf32>) -> tensor<2x2xf32> {
  %s = arith.constant dense<[0x7F800000, 1.0]> : tensor<2xf32>
  // expected-error @+1 {{smoothing scale[0] is infinite}}
  %0 = quant_xform.smooth %x by %s : (tensor<2x2xf32>, tensor<2xf32>) -> tensor<2x2xf32>
  return %0 : tensor<2x2xf32>
}

// -----

func.func @smooth_shape(%x: tensor<2x2xf32>, %s: tensor<3xf32>) -> tensor<2x2xf32> {
  // expected-error @+1 {{smoothing scale must have shape [2] (one per feature), got [3]}}
  %0 = quant_xform.smooth %x by %s : (tensor<2x2xf32>, tensor<3xf32>) -> tensor<2x2xf32>
  return %0 : tensor<2x2xf32>
}

// -----

func.func @quantize_scale_zero(%x: tensor<2x2xf32>) -> tensor<2x2xi8> {
  %s = arith.constant dense<0.0> : tensor<f32>
  // expected-error @+1 {{scale[0] = 0.000000e+00 is not positive}}
  %0 = quant_xform.quantize %x, %s scheme<per_tensor> : (tensor<2x2xf32>, tensor<f32>) -> tensor<2x2xi8>
  return %0 : tensor<2x2xi8>
}

// -----

func.func @quantize_scale_nan(%x: tensor<2x2xf32>) -> tensor<2x2xi8> {
  %s = arith.constant dense<[1.0, 0x7FC00000]> : tensor<2xf32>
  // expected-error @+1 {{scale[1] is NaN}}
  %0 = quant_xform.quantize %x, %s scheme<per_token> : (tensor<2x2xf32>, tensor<2xf32>) -> tensor<2x2xi8>
  return %0 : tensor<2x2xi8>
}

// -----

func.func @quantize_scale_shape(%x: tensor<4x8xf32>, %s: tensor<8xf32>) -> tensor<4x8xi8> {
  // expected-error @+1 {{scale shape [8] does not match per_token quantization of an input of shape [4, 8] (expected [4])}}
  %0 = quant_xform.quantize %x, %s scheme<per_token> : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xi8>
  return %0 : tensor<4x8xi8>
}

// -----

func.func @quantize_group_divides(%x: tensor<4x100xf32>, %s: tensor<4x1xf32>) -> tensor<4x100xi8> {
  // expected-error @+1 {{group size 128 does not divide K = 100}}
  %0 = quant_xform.quantize %x, %s scheme<per_group 128> : (tensor<4x100xf32>, tensor<4x1xf32>) -> tensor<4x100xi8>
  return %0 : tensor<4x100xi8>
}

// -----

func.func @quantize_shape_mismatch(%x: tensor<4x8xf32>, %s: tensor<f32>) -> tensor<4x4xi8> {
  // expected-error @+1 {{float shape [4, 8] and quantized shape [4, 4] differ}}
  %0 = quant_xform.quantize %x, %s scheme<per_tensor> : (tensor<4x8xf32>, tensor<f32>) -> tensor<4x4xi8>
  return %0 : tensor<4x4xi8>
}

// -----

func.func @quantize_symmetric_unsigned(%x: tensor<4x8xf32>, %s: tensor<f32>) -> tensor<4x8xui8> {
  // expected-error @+1 {{symmetric quantization needs a signed or signless integer type, got 'ui8'}}
  %0 = quant_xform.quantize %x, %s scheme<per_tensor> : (tensor<4x8xf32>, tensor<f32>) -> tensor<4x8xui8>
  return %0 : tensor<4x8xui8>
}

// -----

func.func @quantize_asymmetric_signed(%x: tensor<4x8xf32>, %s: tensor<f32>, %zp: tensor<ui8>) -> tensor<4x8xi8> {
  // expected-error @+1 {{asymmetric quantization needs an unsigned integer type, got 'i8'}}
  %0 = quant_xform.quantize %x, %s zero_point %zp scheme<per_tensor, asymmetric> : (tensor<4x8xf32>, tensor<f32>, tensor<ui8>) -> tensor<4x8xi8>
  return %0 : tensor<4x8xi8>
}

// -----

func.func @quantize_width(%x: tensor<4x8xf32>, %s: tensor<f32>) -> tensor<4x8xi4> {
  // expected-error @+1 {{element type 'i4' cannot hold 8-bit quantized values}}
  %0 = quant_xform.quantize %x, %s scheme<per_tensor> : (tensor<4x8xf32>, tensor<f32>) -> tensor<4x8xi4>
  return %0 : tensor<4x8xi4>
}

// -----

func.func @quantize_missing_zp(%x: tensor<4x8xf32>, %s: tensor<f32>) -> tensor<4x8xui8> {
  // expected-error @+1 {{an asymmetric scheme needs a zero point}}
  %0 = quant_xform.quantize %x, %s scheme<per_tensor, asymmetric> : (tensor<4x8xf32>, tensor<f32>) -> tensor<4x8xui8>
  return %0 : tensor<4x8xui8>
}

// -----

func.func @quantize_extra_zp(%x: tensor<4x8xf32>, %s: tensor<f32>, %zp: tensor<ui8>) -> tensor<4x8xi8> {
  // expected-error @+1 {{a symmetric scheme takes no zero point}}
  %0 = quant_xform.quantize %x, %s zero_point %zp scheme<per_tensor> : (tensor<4x8xf32>, tensor<f32>, tensor<ui8>) -> tensor<4x8xi8>
  return %0 : tensor<4x8xi8>
}

// -----

func.func @quantize_zp_shape(%x: tensor<4x8xf32>, %s: tensor<4xf32>, %zp: tensor<ui8>) -> tensor<4x8xui8> {
  // expected-error @+1 {{zero point shape [] does not match the scale shape [4]}}
  %0 = quant_xform.quantize %x, %s zero_point %zp scheme<per_token, asymmetric> : (tensor<4x8xf32>, tensor<4xf32>, tensor<ui8>) -> tensor<4x8xui8>
  return %0 : tensor<4x8xui8>
}

// -----

func.func @scheme_bits() attributes {
  // expected-error @+1 {{quantization bit width 9 is out of range [2, 8]}}
  a = #quant_xform.scheme<per_tensor, bits = 9>} {
  return
}

// -----

func.func @scheme_group_zero() attributes {
  // expected-error @+1 {{per_group quantization needs a positive group size, got 0}}
  a = #quant_xform.scheme<per_group 0>} {
  return
}

// -----

func.func @scheme_clip() attributes {
  // expected-error @+1 {{clip ratio 1.500000e+00 is out of range (0, 1]}}
  a = #quant_xform.scheme<per_tensor, clip = 1.5>} {
  return
}

// -----

func.func @scheme_granularity() attributes {
  // expected-error @+1 {{unknown quantization granularity 'per_row'}}
  a = #quant_xform.scheme<per_row>} {
  return
}

// -----

func.func @scheme_option() attributes {
  // expected-error @+1 {{unknown quantization scheme option 'signed'}}
  a = #quant_xform.scheme<per_tensor, signed>} {
  return
}

// -----

func.func @dequantize_scale(%q: tensor<4x8xi8>, %s: tensor<8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{scale shape [8] does not match per_channel quantization of an input of shape [4, 8] (expected [4])}}
  %0 = quant_xform.dequantize %q, %s scheme<per_channel> : (tensor<4x8xi8>, tensor<8xf32>) -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

func.func @dynamic_quantize_scale(%x: tensor<4x8xf32>) -> (tensor<4x8xi8>, tensor<f32>) {
  // expected-error @+1 {{scale shape [] does not match per_token quantization of an input of shape [4, 8] (expected [4])}}
  %q, %s = quant_xform.dynamic_quantize %x scheme<per_token> : (tensor<4x8xf32>) -> (tensor<4x8xi8>, tensor<f32>)
  return %q, %s : tensor<4x8xi8>, tensor<f32>
}

// -----

func.func @fake_quant_clip(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{PACT clip value -1.000000e+00 must be > 0}}
  %0 = quant_xform.fake_quant %x scheme<per_tensor> clip -1.0 : (tensor<4x8xf32>) -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

func.func @fake_quant_clip_asym(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{a PACT clip needs a symmetric scheme}}
  %0 = quant_xform.fake_quant %x scheme<per_tensor, asymmetric> clip 6.0 : (tensor<4x8xf32>) -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

func.func @fake_quant_group(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{group size 3 does not divide K = 8}}
  %0 = quant_xform.fake_quant %x scheme<per_group 3> : (tensor<4x8xf32>) -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

func.func @qlinear_overflow(%qx: tensor<1x140000xi8>, %sx: tensor<1xf32>, %qw: tensor<4x140000xi8>, %sw: tensor<4xf32>) -> tensor<1x4xf32> {
  // expected-error @+1 {{int32 accumulator can overflow: K = 140000 × 128 × 128 = 2293760000 > 2147483647; split K into chunks of at most 131071}}
  %0 = quant_xform.qlinear %qx scale %sx, %qw scale %sw : (tensor<1x140000xi8>, tensor<1xf32>, tensor<4x140000xi8>, tensor<4xf32>) -> tensor<1x4xf32>
  return %0 : tensor<1x4xf32>
}

// -----

func.func @qlinear_input_scale(%qx: tensor<4x8xi8>, %sx: tensor<8xf32>, %qw: tensor<16x8xi8>, %sw: tensor<16xf32>) -> tensor<4x16xf32> {
  // expected-error @+1 {{input scale shape [8] must be [] (per tensor), [4] (per token) or [4, K/G] (per group)}}
  %0 = quant_xform.qlinear %qx scale %sx, %qw scale %sw : (tensor<4x8xi8>, tensor<8xf32>, tensor<16x8xi8>, tensor<16xf32>) -> tensor<4x16xf32>
  return %0 : tensor<4x16xf32>
}

// -----

func.func @qlinear_input_groups(%qx: tensor<4x8xi8>, %sx: tensor<4x3xf32>, %qw: tensor<16x8xi8>, %sw: tensor<16xf32>) -> tensor<4x16xf32> {
  // expected-error @+1 {{input scale has 3 groups, which do not divide K = 8}}
  %0 = quant_xform.qlinear %qx scale %sx, %qw scale %sw : (tensor<4x8xi8>, tensor<4x3xf32>, tensor<16x8xi8>, tensor<16xf32>) -> tensor<4x16xf32>
  return %0 : tensor<4x16xf32>
}

// -----

func.func @qlinear_groups_differ(%qx: tensor<4x8xi8>, %sx: tensor<4x2xf32>, %qw: tensor<16x8xi8>, %sw: tensor<16x4xf32>) -> tensor<4x16xf32> {
  // expected-error @+1 {{input scale has 2 groups and weight scale 4; per-group scales of both must have the same groups}}
  %0 = quant_xform.qlinear %qx scale %sx, %qw scale %sw : (tensor<4x8xi8>, tensor<4x2xf32>, tensor<16x8xi8>, tensor<16x4xf32>) -> tensor<4x16xf32>
  return %0 : tensor<4x16xf32>
}

// -----

func.func @qlinear_weight_scale(%qx: tensor<4x8xi8>, %sx: tensor<4xf32>, %qw: tensor<16x8xi8>, %sw: tensor<8xf32>) -> tensor<4x16xf32> {
  // expected-error @+1 {{weight scale shape [8] must be [] (per tensor), [16] (per channel) or [16, K/G] (per group)}}
  %0 = quant_xform.qlinear %qx scale %sx, %qw scale %sw : (tensor<4x8xi8>, tensor<4xf32>, tensor<16x8xi8>, tensor<8xf32>) -> tensor<4x16xf32>
  return %0 : tensor<4x16xf32>
}

// -----

func.func @qlinear_groups(%qx: tensor<4x8xi8>, %sx: tensor<4xf32>, %qw: tensor<16x8xi8>, %sw: tensor<16x3xf32>) -> tensor<4x16xf32> {
  // expected-error @+1 {{weight scale has 3 groups, which do not divide K = 8}}
  %0 = quant_xform.qlinear %qx scale %sx, %qw scale %sw : (tensor<4x8xi8>, tensor<4xf32>, tensor<16x8xi8>, tensor<16x3xf32>) -> tensor<4x16xf32>
  return %0 : tensor<4x16xf32>
}

// -----

func.func @qlinear_weight_k(%qx: tensor<4x8xi8>, %sx: tensor<4xf32>, %qw: tensor<16x9xi8>, %sw: tensor<16xf32>) -> tensor<4x16xf32> {
  // expected-error @+1 {{weight shape [16, 9] does not match the input features K = 8}}
  %0 = quant_xform.qlinear %qx scale %sx, %qw scale %sw : (tensor<4x8xi8>, tensor<4xf32>, tensor<16x9xi8>, tensor<16xf32>) -> tensor<4x16xf32>
  return %0 : tensor<4x16xf32>
}

// -----

func.func @qlinear_negative_scale(%qx: tensor<4x8xi8>, %qw: tensor<16x8xi8>, %sw: tensor<16xf32>) -> tensor<4x16xf32> {
  %sx = arith.constant dense<-1.0> : tensor<f32>
  // expected-error @+1 {{input scale[0] = -1.000000e+00 is not positive}}
  %0 = quant_xform.qlinear %qx scale %sx, %qw scale %sw : (tensor<4x8xi8>, tensor<f32>, tensor<16x8xi8>, tensor<16xf32>) -> tensor<4x16xf32>
  return %0 : tensor<4x16xf32>
}

// -----

func.func @qlinear_unsigned_needs_zp(%qx: tensor<4x8xui8>, %sx: tensor<4xf32>, %qw: tensor<16x8xi8>, %sw: tensor<16xf32>) -> tensor<4x16xf32> {
  // expected-error @+1 {{unsigned quantized input needs a zero point}}
  %0 = quant_xform.qlinear %qx scale %sx, %qw scale %sw : (tensor<4x8xui8>, tensor<4xf32>, tensor<16x8xi8>, tensor<16xf32>) -> tensor<4x16xf32>
  return %0 : tensor<4x16xf32>
}

// -----

func.func @qlinear_zp_signed(%qx: tensor<4x8xi8>, %sx: tensor<4xf32>, %zx: tensor<4xui8>, %qw: tensor<16x8xi8>, %sw: tensor<16xf32>) -> tensor<4x16xf32> {
  // expected-error @+1 {{an input zero point needs unsigned quantized input, got 'i8'}}
  %0 = quant_xform.qlinear %qx scale %sx zero_point %zx, %qw scale %sw : (tensor<4x8xi8>, tensor<4xf32>, tensor<4xui8>, tensor<16x8xi8>, tensor<16xf32>) -> tensor<4x16xf32>
  return %0 : tensor<4x16xf32>
}

// -----

func.func @qlinear_result(%qx: tensor<4x8xi8>, %sx: tensor<4xf32>, %qw: tensor<16x8xi8>, %sw: tensor<16xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{result shape [4, 8] does not match [4, 16]}}
  %0 = quant_xform.qlinear %qx scale %sx, %qw scale %sw : (tensor<4x8xi8>, tensor<4xf32>, tensor<16x8xi8>, tensor<16xf32>) -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

func.func @mixed_threshold(%x: tensor<4x8xf32>, %qw: tensor<16x8xi8>, %sw: tensor<16xf32>, %wo: tensor<16x8xf32>) -> tensor<4x16xf32> {
  // expected-error @+1 {{outlier threshold 0.000000e+00 must be > 0}}
  %0 = quant_xform.mixed_linear %x, %qw scale %sw, outliers %wo threshold 0.0 : (tensor<4x8xf32>, tensor<16x8xi8>, tensor<16xf32>, tensor<16x8xf32>) -> tensor<4x16xf32>
  return %0 : tensor<4x16xf32>
}

// -----

func.func @mixed_neither(%x: tensor<4x8xf32>, %qw: tensor<16x8xi8>, %sw: tensor<16xf32>, %wo: tensor<16x8xf32>) -> tensor<4x16xf32> {
  // expected-error @+1 {{needs exactly one of static 'columns' or a dynamic 'threshold'}}
  %0 = quant_xform.mixed_linear %x, %qw scale %sw, outliers %wo : (tensor<4x8xf32>, tensor<16x8xi8>, tensor<16xf32>, tensor<16x8xf32>) -> tensor<4x16xf32>
  return %0 : tensor<4x16xf32>
}

// -----

func.func @mixed_column_range(%x: tensor<4x8xf32>, %qw: tensor<16x8xi8>, %sw: tensor<16xf32>, %wo: tensor<16x1xf32>) -> tensor<4x16xf32> {
  // expected-error @+1 {{outlier column 8 is out of range [0, 8)}}
  %0 = quant_xform.mixed_linear %x, %qw scale %sw, outliers %wo columns [8] : (tensor<4x8xf32>, tensor<16x8xi8>, tensor<16xf32>, tensor<16x1xf32>) -> tensor<4x16xf32>
  return %0 : tensor<4x16xf32>
}

// -----

func.func @mixed_column_order(%x: tensor<4x8xf32>, %qw: tensor<16x8xi8>, %sw: tensor<16xf32>, %wo: tensor<16x2xf32>) -> tensor<4x16xf32> {
  // expected-error @+1 {{outlier columns must be strictly increasing}}
  %0 = quant_xform.mixed_linear %x, %qw scale %sw, outliers %wo columns [5, 1] : (tensor<4x8xf32>, tensor<16x8xi8>, tensor<16xf32>, tensor<16x2xf32>) -> tensor<4x16xf32>
  return %0 : tensor<4x16xf32>
}

// -----

func.func @mixed_outlier_shape(%x: tensor<4x8xf32>, %qw: tensor<16x8xi8>, %sw: tensor<16xf32>, %wo: tensor<16x3xf32>) -> tensor<4x16xf32> {
  // expected-error @+1 {{outlier weight shape [16, 3] must be [16, 2] (one column per outlier)}}
  %0 = quant_xform.mixed_linear %x, %qw scale %sw, outliers %wo columns [1, 5] : (tensor<4x8xf32>, tensor<16x8xi8>, tensor<16xf32>, tensor<16x3xf32>) -> tensor<4x16xf32>
  return %0 : tensor<4x16xf32>
}

// -----

func.func @mixed_dynamic_shape(%x: tensor<4x8xf32>, %qw: tensor<16x8xi8>, %sw: tensor<16xf32>, %wo: tensor<16x2xf32>) -> tensor<4x16xf32> {
  // expected-error @+1 {{outlier weight shape [16, 2] must be [16, 8] (all columns: the set is chosen at run time)}}
  %0 = quant_xform.mixed_linear %x, %qw scale %sw, outliers %wo threshold 6.0 : (tensor<4x8xf32>, tensor<16x8xi8>, tensor<16xf32>, tensor<16x2xf32>) -> tensor<4x16xf32>
  return %0 : tensor<4x16xf32>
}

// -----

func.func @mixed_weight_scale(%x: tensor<4x8xf32>, %qw: tensor<16x8xi8>, %sw: tensor<8xf32>, %wo: tensor<16x8xf32>) -> tensor<4x16xf32> {
  // expected-error @+1 {{weight scale must have shape [16] (one per feature), got [8]}}
  %0 = quant_xform.mixed_linear %x, %qw scale %sw, outliers %wo threshold 6.0 : (tensor<4x8xf32>, tensor<16x8xi8>, tensor<8xf32>, tensor<16x8xf32>) -> tensor<4x16xf32>
  return %0 : tensor<4x16xf32>
}

// -----

func.func @observe_name(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{observer name must not be empty}}
  %0 = quant_xform.observe %x "" : tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

func.func @element_type_constraint(%x: tensor<4x8xi32>, %w: tensor<16x8xf32>) -> tensor<4x16xf32> {
  // expected-error @+1 {{operand #0 must be ranked tensor of floating-point values}}
  %0 = quant_xform.linear %x, %w : (tensor<4x8xi32>, tensor<16x8xf32>) -> tensor<4x16xf32>
  return %0 : tensor<4x16xf32>
}

// -----

func.func @rank0_input(%x: tensor<f32>, %w: tensor<4x1xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{input must have rank >= 1 (features innermost)}}
  %0 = quant_xform.linear %x, %w : (tensor<f32>, tensor<4x1xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @zero_point_range(%x: tensor<4x8xf32>, %s: tensor<f32>) -> tensor<4x8xui8> {
  %zp = arith.constant dense<20> : tensor<ui8>
  // expected-error @+1 {{zero point[0] = 20 is outside the quantized range [0, 15]}}
  %0 = quant_xform.quantize %x, %s zero_point %zp scheme<per_tensor, bits = 4, asymmetric> : (tensor<4x8xf32>, tensor<f32>, tensor<ui8>) -> tensor<4x8xui8>
  return %0 : tensor<4x8xui8>
}

// -----

func.func @qlinear_zp_shape(%qx: tensor<4x8xui8>, %sx: tensor<4xf32>, %zx: tensor<ui8>, %qw: tensor<16x8xi8>, %sw: tensor<16xf32>) -> tensor<4x16xf32> {
  // expected-error @+1 {{input zero point shape [] must match the input scale shape [4]}}
  %0 = quant_xform.qlinear %qx scale %sx zero_point %zx, %qw scale %sw : (tensor<4x8xui8>, tensor<4xf32>, tensor<ui8>, tensor<16x8xi8>, tensor<16xf32>) -> tensor<4x16xf32>
  return %0 : tensor<4x16xf32>
}

// -----

func.func @qlinear_unsigned_overflow(%qx: tensor<1x70000xui8>, %sx: tensor<1xf32>, %zx: tensor<1xui8>, %qw: tensor<4x70000xi8>, %sw: tensor<4xf32>) -> tensor<1x4xf32> {
  // expected-error @+1 {{int32 accumulator can overflow: K = 70000 × 255 × 128 = 2284800000 > 2147483647; split K into chunks of at most 65793}}
  %0 = quant_xform.qlinear %qx scale %sx zero_point %zx, %qw scale %sw : (tensor<1x70000xui8>, tensor<1xf32>, tensor<1xui8>, tensor<4x70000xi8>, tensor<4xf32>) -> tensor<1x4xf32>
  return %0 : tensor<1x4xf32>
}

// -----

func.func @mixed_bias(%x: tensor<4x8xf32>, %qw: tensor<16x8xi8>, %sw: tensor<16xf32>, %wo: tensor<16x8xf32>, %b: tensor<8xf32>) -> tensor<4x16xf32> {
  // expected-error @+1 {{bias must have shape [16] (one per feature), got [8]}}
  %0 = quant_xform.mixed_linear %x, %qw scale %sw, outliers %wo threshold 6.0, bias %b : (tensor<4x8xf32>, tensor<16x8xi8>, tensor<16xf32>, tensor<16x8xf32>, tensor<8xf32>) -> tensor<4x16xf32>
  return %0 : tensor<4x16xf32>
}

// -----

func.func @fake_quant_type(%x: tensor<4x8xf32>) -> tensor<4x8xf16> {
  // expected-error @+1 {{result type 'tensor<4x8xf16>' must equal the input type 'tensor<4x8xf32>'}}
  %0 = quant_xform.fake_quant %x scheme<per_tensor> : (tensor<4x8xf32>) -> tensor<4x8xf16>
  return %0 : tensor<4x8xf16>
}

// -----

func.func @dequantize_nan_scale(%q: tensor<4xi8>) -> tensor<4xf32> {
  %s = arith.constant dense<0x7FC00000> : tensor<f32>
  // expected-error @+1 {{scale[0] is NaN}}
  %0 = quant_xform.dequantize %q, %s scheme<per_tensor> : (tensor<4xi8>, tensor<f32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// Discardable quant_xform attributes.
func.func @layer_not_string(%x: tensor<2x4xf32>, %w: tensor<3x4xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{'quant_xform.layer' must be a string}}
  %y = quant_xform.linear %x, %w {quant_xform.layer = 3 : i64} : (tensor<2x4xf32>, tensor<3x4xf32>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

func.func @unknown_role(%x: tensor<2x4xf32>, %w: tensor<3x4xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{'quant_xform.role' must be one of "attn_in", "attn_out", "mlp_in", "mlp_down"}}
  %y = quant_xform.linear %x, %w {quant_xform.role = "attention"} : (tensor<2x4xf32>, tensor<3x4xf32>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

func.func @unknown_attr(%x: tensor<2x4xf32>, %w: tensor<3x4xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{has unknown quant_xform attribute 'quant_xform.colour'}}
  %y = quant_xform.linear %x, %w {quant_xform.colour = "red"} : (tensor<2x4xf32>, tensor<3x4xf32>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

func.func @pinned_on_linear(%x: tensor<2x4xf32>, %w: tensor<3x4xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{'quant_xform.pinned' applies only to transform ops}}
  %y = quant_xform.linear %x, %w {quant_xform.pinned} : (tensor<2x4xf32>, tensor<3x4xf32>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

func.func @online_not_unit(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{'quant_xform.online' must be a unit attribute}}
  %y = quant_xform.rotate hadamard %x {quant_xform.online = 1 : i64} : (tensor<2x4xf32>) -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

func.func @stats_not_dict(%x: tensor<2x4xf32>, %w: tensor<3x4xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{'quant_xform.stats' must be a dictionary}}
  %y = quant_xform.linear %x, %w {quant_xform.stats = 1 : i64} : (tensor<2x4xf32>, tensor<3x4xf32>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

func.func @stats_wrong_size(%x: tensor<2x4xf32>, %w: tensor<3x4xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{'quant_xform.stats' entry 'absmax' must be a dense tensor of shape [K] with K = 4}}
  %y = quant_xform.linear %x, %w {quant_xform.stats = {absmax = dense<1.0> : tensor<3xf32>, rows = 2 : i64}} : (tensor<2x4xf32>, tensor<3x4xf32>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

func.func @stats_nan(%x: tensor<2x4xf32>, %w: tensor<3x4xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{'quant_xform.stats' entry 'absmax' holds NaN or Inf}}
  %y = quant_xform.linear %x, %w {quant_xform.stats = {absmax = dense<[1.0, 0x7FC00000, 1.0, 1.0]> : tensor<4xf32>, rows = 2 : i64}} : (tensor<2x4xf32>, tensor<3x4xf32>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

func.func @stats_rows(%x: tensor<2x4xf32>, %w: tensor<3x4xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{'quant_xform.stats' entry 'rows' must be a positive integer}}
  %y = quant_xform.linear %x, %w {quant_xform.stats = {absmax = dense<1.0> : tensor<4xf32>, rows = 0 : i64}} : (tensor<2x4xf32>, tensor<3x4xf32>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

func.func @stats_missing(%x: tensor<2x4xf32>, %w: tensor<3x4xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{'quant_xform.stats' needs at least 'absmax' and 'rows'}}
  %y = quant_xform.linear %x, %w {quant_xform.stats = {rows = 2 : i64}} : (tensor<2x4xf32>, tensor<3x4xf32>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

func.func @stats_unknown(%x: tensor<2x4xf32>, %w: tensor<3x4xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{'quant_xform.stats' has unknown entry 'median'}}
  %y = quant_xform.linear %x, %w {quant_xform.stats = {absmax = dense<1.0> : tensor<4xf32>, median = 1.0 : f32, rows = 2 : i64}} : (tensor<2x4xf32>, tensor<3x4xf32>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

func.func @stats_outliers_threshold(%x: tensor<2x4xf32>, %w: tensor<3x4xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{'quant_xform.stats' entry 'outlier_rows' needs 'outlier_threshold'}}
  %y = quant_xform.linear %x, %w {quant_xform.stats = {absmax = dense<1.0> : tensor<4xf32>, outlier_rows = dense<0> : tensor<4xi64>, rows = 2 : i64}} : (tensor<2x4xf32>, tensor<3x4xf32>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

func.func @stats_bad_threshold(%x: tensor<2x4xf32>, %w: tensor<3x4xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{'quant_xform.stats' entry 'outlier_threshold' must be a float > 0}}
  %y = quant_xform.linear %x, %w {quant_xform.stats = {absmax = dense<1.0> : tensor<4xf32>, outlier_threshold = -1.0 : f64, rows = 2 : i64}} : (tensor<2x4xf32>, tensor<3x4xf32>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

func.func @stats_no_feature_dim(%x: tensor<?xf32>) -> tensor<?xf32> {
  // expected-error @+1 {{'quant_xform.stats' needs a first operand with a static feature dimension}}
  %y = quant_xform.rotate hadamard %x {quant_xform.stats = {rows = 2 : i64}} : (tensor<?xf32>) -> tensor<?xf32>
  return %y : tensor<?xf32>
}

// -----

func.func @stats_histogram_shape(%x: tensor<2x4xf32>, %w: tensor<3x4xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{'quant_xform.stats' entry 'histogram' must be a non-empty 1-D integer tensor}}
  %y = quant_xform.linear %x, %w {quant_xform.stats = {absmax = dense<1.0> : tensor<4xf32>, histogram = dense<1.0> : tensor<8xf32>, histogram_max = 1.0 : f64, rows = 2 : i64}} : (tensor<2x4xf32>, tensor<3x4xf32>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

func.func @stats_histogram_max(%x: tensor<2x4xf32>, %w: tensor<3x4xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{'quant_xform.stats' entry 'histogram' needs 'histogram_max'}}
  %y = quant_xform.linear %x, %w {quant_xform.stats = {absmax = dense<1.0> : tensor<4xf32>, histogram = dense<1> : tensor<8xi64>, rows = 2 : i64}} : (tensor<2x4xf32>, tensor<3x4xf32>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

func.func @stats_sampled_rows_shape(%x: tensor<2x4xf32>, %w: tensor<3x4xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{'quant_xform.stats' entry 'sampled_rows' must be a float tensor of shape [R, K] with R >= 1 and K = 4}}
  %y = quant_xform.linear %x, %w {quant_xform.stats = {absmax = dense<1.0> : tensor<4xf32>, rows = 2 : i64, sampled_rows = dense<1.0> : tensor<2x3xf32>}} : (tensor<2x4xf32>, tensor<3x4xf32>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

func.func @stats_sampled_rows_nan(%x: tensor<2x4xf32>, %w: tensor<3x4xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{'quant_xform.stats' entry 'sampled_rows' holds NaN or Inf}}
  %y = quant_xform.linear %x, %w {quant_xform.stats = {absmax = dense<1.0> : tensor<4xf32>, rows = 2 : i64, sampled_rows = dense<0x7FC00000> : tensor<1x4xf32>}} : (tensor<2x4xf32>, tensor<3x4xf32>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

func.func @stats_ema_shape(%x: tensor<2x4xf32>, %w: tensor<3x4xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{'quant_xform.stats' entry 'ema_absmax' must be a dense tensor of shape [K] with K = 4}}
  %y = quant_xform.linear %x, %w {quant_xform.stats = {absmax = dense<1.0> : tensor<4xf32>, ema_absmax = dense<1.0> : tensor<3xf32>, rows = 2 : i64}} : (tensor<2x4xf32>, tensor<3x4xf32>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

func.func @search_kind(%x: tensor<2x4xf32>, %w: tensor<3x4xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{'quant_xform.search' needs transform = one of none, smooth, learned-affine, hadamard, pca, dense, random-orthogonal, permutation, affine (or several joined by '+')}}
  %y = quant_xform.linear %x, %w {quant_xform.search = {transform = "spin"}} : (tensor<2x4xf32>, tensor<3x4xf32>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

func.func @search_unknown(%x: tensor<2x4xf32>, %w: tensor<3x4xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{'quant_xform.search' has unknown entry 'beta'}}
  %y = quant_xform.linear %x, %w {quant_xform.search = {transform = "smooth", beta = 1.0 : f64}} : (tensor<2x4xf32>, tensor<3x4xf32>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

func.func @search_sqnr(%x: tensor<2x4xf32>, %w: tensor<3x4xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{'quant_xform.search' entry 'sqnr_after' must be a float}}
  %y = quant_xform.linear %x, %w {quant_xform.search = {transform = "smooth", sqnr_after = "high"}} : (tensor<2x4xf32>, tensor<3x4xf32>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

func.func @search_alpha(%x: tensor<2x4xf32>, %w: tensor<3x4xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{'quant_xform.search' entry 'alpha' must be in [0, 1]}}
  %y = quant_xform.linear %x, %w {quant_xform.search = {transform = "smooth", alpha = 1.5 : f64}} : (tensor<2x4xf32>, tensor<3x4xf32>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

func.func @attention_batch(%q: tensor<2x5x4x8xf32>, %k: tensor<3x7x2x8xf32>) -> tensor<2x5x4x8xf32> {
  // expected-error @+1 {{query batch 2 does not match the key batch 3 (query [2, 5, 4, 8], key [3, 7, 2, 8])}}
  %0 = quant_xform.attention %q, %k, %k {scale = 0.125 : f64} : tensor<2x5x4x8xf32>, tensor<3x7x2x8xf32>
  return %0 : tensor<2x5x4x8xf32>
}

// -----

func.func @attention_head_size(%q: tensor<2x5x4x8xf32>, %k: tensor<2x7x2x16xf32>) -> tensor<2x5x4x8xf32> {
  // expected-error @+1 {{query head size 8 does not match the key head size 16}}
  %0 = quant_xform.attention %q, %k, %k {scale = 0.125 : f64} : tensor<2x5x4x8xf32>, tensor<2x7x2x16xf32>
  return %0 : tensor<2x5x4x8xf32>
}

// -----

func.func @attention_groups(%q: tensor<2x5x4x8xf32>, %k: tensor<2x7x3x8xf32>) -> tensor<2x5x4x8xf32> {
  // expected-error @+1 {{the 3 key/value heads must divide the 4 query heads (grouped-query attention)}}
  %0 = quant_xform.attention %q, %k, %k {scale = 0.125 : f64} : tensor<2x5x4x8xf32>, tensor<2x7x3x8xf32>
  return %0 : tensor<2x5x4x8xf32>
}

// -----

func.func @attention_mask(%q: tensor<2x5x4x8xf32>, %k: tensor<2x7x2x8xf32>, %m: tensor<2x5xf32>) -> tensor<2x5x4x8xf32> {
  // expected-error @+1 {{mask shape [2, 5] must be [batch, keys] = [2, 7]}}
  %0 = quant_xform.attention %q, %k, %k mask(%m : tensor<2x5xf32>) {scale = 0.125 : f64} : tensor<2x5x4x8xf32>, tensor<2x7x2x8xf32>
  return %0 : tensor<2x5x4x8xf32>
}

// -----

func.func @attention_scale(%q: tensor<2x5x4x8xf32>, %k: tensor<2x7x2x8xf32>) -> tensor<2x5x4x8xf32> {
  // expected-error @+1 {{scale = 0.000000e+00 must be finite and > 0}}
  %0 = quant_xform.attention %q, %k, %k {scale = 0.0 : f64} : tensor<2x5x4x8xf32>, tensor<2x7x2x8xf32>
  return %0 : tensor<2x5x4x8xf32>
}

// -----

func.func @attention_causal_keys(%q: tensor<2x5x4x8xf32>, %k: tensor<2x3x2x8xf32>) -> tensor<2x5x4x8xf32> {
  // expected-error @+1 {{causal attention needs at least as many keys (3) as queries (5)}}
  %0 = quant_xform.attention %q, %k, %k {scale = 0.125 : f64, causal} : tensor<2x5x4x8xf32>, tensor<2x3x2x8xf32>
  return %0 : tensor<2x5x4x8xf32>
}

// -----

func.func @attention_f16(%q: tensor<2x5x4x8xf16>) -> tensor<2x5x4x8xf16> {
  // expected-error @+1 {{operand #0 must be 4D tensor of 32-bit float values}}
  %0 = quant_xform.attention %q, %q, %q {scale = 0.125 : f64} : tensor<2x5x4x8xf16>, tensor<2x5x4x8xf16>
  return %0 : tensor<2x5x4x8xf16>
}

// -----

func.func @rotary_odd_head(%x: tensor<5x4x7xf32>, %c: tensor<5x3xf32>) -> tensor<5x4x7xf32> {
  // expected-error @+1 {{head size 7 must be even (its two halves are rotated)}}
  %0 = quant_xform.rotary %x, %c, %c : tensor<5x4x7xf32>, tensor<5x3xf32>
  return %0 : tensor<5x4x7xf32>
}

// -----

func.func @rotary_table_shape(%x: tensor<5x4x8xf32>, %c: tensor<5x8xf32>) -> tensor<5x4x8xf32> {
  // expected-error @+1 {{cos / sin shape [5, 8] must be [tokens, head size / 2] = [5, 4]}}
  %0 = quant_xform.rotary %x, %c, %c : tensor<5x4x8xf32>, tensor<5x8xf32>
  return %0 : tensor<5x4x8xf32>
}

// -----

func.func @rotary_table_tokens(%x: tensor<5x4x8xf32>, %c: tensor<6x4xf32>) -> tensor<5x4x8xf32> {
  // expected-error @+1 {{cos / sin shape [6, 4] must be [tokens, head size / 2] = [5, 4]}}
  %0 = quant_xform.rotary %x, %c, %c : tensor<5x4x8xf32>, tensor<6x4xf32>
  return %0 : tensor<5x4x8xf32>
}

// -----

func.func @rotary_rank(%x: tensor<5x32xf32>, %c: tensor<5x16xf32>) -> tensor<5x32xf32> {
  // expected-error @+1 {{must be 3D tensor of 32-bit float values}}
  %0 = "quant_xform.rotary"(%x, %c, %c) : (tensor<5x32xf32>, tensor<5x16xf32>, tensor<5x16xf32>) -> tensor<5x32xf32>
  return %0 : tensor<5x32xf32>
}
