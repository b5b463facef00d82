// What the GPU kernels do not handle is an error naming the op: in
// functions of qlinear / dynamic_quantize ops only, and everywhere without
// `outline` (with it, other functions keep such ops for the linalg
// lowering: qlinear-to-gpu-outline.mlir).
// RUN: xform-opt %s -split-input-file -convert-quant-xform-qlinear-to-gpu=outline=false -verify-diagnostics

func.func @per_tensor_quantize(%x: tensor<4x8xf32>, %w: tensor<4x8xi8>, %sw: tensor<4xf32>) -> tensor<4x4xf32> {
  // expected-error @+1 {{the GPU quantize kernel handles symmetric per_token schemes only (for now)}}
  %q, %s = quant_xform.dynamic_quantize %x scheme<per_tensor> : (tensor<4x8xf32>) -> (tensor<4x8xi8>, tensor<f32>)
  %y = quant_xform.qlinear %q scale %s, %w scale %sw : (tensor<4x8xi8>, tensor<f32>, tensor<4x8xi8>, tensor<4xf32>) -> tensor<4x4xf32>
  return %y : tensor<4x4xf32>
}

// -----

func.func @quantize_ragged_k(%x: tensor<4x6xf32>, %w: tensor<4x6xi8>, %sw: tensor<4xf32>) -> tensor<4x4xf32> {
  // expected-error @+1 {{the GPU quantize kernel needs K to be a multiple of 4 (K = 6)}}
  %q, %s = quant_xform.dynamic_quantize %x scheme<per_token> : (tensor<4x6xf32>) -> (tensor<4x6xi8>, tensor<4xf32>)
  %y = quant_xform.qlinear %q scale %s, %w scale %sw : (tensor<4x6xi8>, tensor<4xf32>, tensor<4x6xi8>, tensor<4xf32>) -> tensor<4x4xf32>
  return %y : tensor<4x4xf32>
}

// -----

func.func @quantize_f16(%x: tensor<4x8xf16>, %w: tensor<4x8xi8>, %sw: tensor<4xf32>) -> tensor<4x4xf32> {
  // expected-error @+1 {{the GPU quantize kernel needs an [M, K] f32 input with a static K, s8 values and f32 scales}}
  %q, %s = quant_xform.dynamic_quantize %x scheme<per_token> : (tensor<4x8xf16>) -> (tensor<4x8xi8>, tensor<4xf32>)
  %y = quant_xform.qlinear %q scale %s, %w scale %sw : (tensor<4x8xi8>, tensor<4xf32>, tensor<4x8xi8>, tensor<4xf32>) -> tensor<4x4xf32>
  return %y : tensor<4x4xf32>
}

// -----

func.func @ragged_k(%q: tensor<4x6xi8>, %s: tensor<4xf32>, %w: tensor<8x6xi8>, %sw: tensor<8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{the GPU int8 kernel needs K to be a multiple of 4 (K = 6)}}
  %y = quant_xform.qlinear %q scale %s, %w scale %sw : (tensor<4x6xi8>, tensor<4xf32>, tensor<8x6xi8>, tensor<8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

func.func @constant_weight(%q: tensor<4x8xi8>, %s: tensor<4xf32>, %sw: tensor<8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{the GPU lowering handles functions of qlinear, per-token dynamic_quantize, mixed_linear, attention and norm ops only}}
  %w = arith.constant dense<1> : tensor<8x8xi8>
  %y = quant_xform.qlinear %q scale %s, %w scale %sw : (tensor<4x8xi8>, tensor<4xf32>, tensor<8x8xi8>, tensor<8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

// A function without qlinear ops (a float model) is not skipped silently.
func.func @float_only(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{the GPU lowering handles functions of qlinear, per-token dynamic_quantize, mixed_linear, attention and norm ops only (without `outline`); this op is not one}}
  %y = arith.addf %x, %x : tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

func.func @returns_argument(%q: tensor<4x8xi8>, %s: tensor<4xf32>, %w: tensor<8x8xi8>, %sw: tensor<8xf32>) -> (tensor<4x8xf32>, tensor<4xf32>) {
  %y = quant_xform.qlinear %q scale %s, %w scale %sw : (tensor<4x8xi8>, tensor<4xf32>, tensor<8x8xi8>, tensor<8xf32>) -> tensor<4x8xf32>
  // expected-error @+1 {{the GPU lowering needs every result to be a qlinear, dynamic_quantize, mixed_linear, attention or norm result (or an arith.truncf of a linear's)}}
  return %y, %s : tensor<4x8xf32>, tensor<4xf32>
}

// -----

func.func @rotation_returned(%x: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xi8>, tensor<4xf32>) {
  // expected-error @+1 {{the GPU lowering takes a rotation only as an online Hadamard of a function argument (or its arith.extf) feeding one dynamic_quantize (K ≤ 16384)}}
  %r = quant_xform.rotate hadamard %x {quant_xform.online} : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %q, %s = quant_xform.dynamic_quantize %r scheme<per_token> : (tensor<4x8xf32>) -> (tensor<4x8xi8>, tensor<4xf32>)
  return %r, %q, %s : tensor<4x8xf32>, tensor<4x8xi8>, tensor<4xf32>
}

// -----

// Without wgmma (sm_90), a function of an LLM.int8() linear has no fused
// kernels (in a whole model it would be split instead).
func.func @mixed_without_wgmma(%x: tensor<4x16xf32>, %w: tensor<8x16xi8>, %sw: tensor<8xf32>, %wo: tensor<8x1xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{the fused LLM.int8() GPU kernels need the wgmma kernel (sm_90a)}}
  %y = quant_xform.mixed_linear %x, %w scale %sw, outliers %wo columns [2] : (tensor<4x16xf32>, tensor<8x16xi8>, tensor<8xf32>, tensor<8x1xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

// A widening is fused into the quantize kernel's loads only: one that is
// also returned is not.
func.func @widen_returned(%x: tensor<4x8xbf16>) -> (tensor<4x8xi8>, tensor<4xf32>, tensor<4x8xf32>) {
  // expected-error @+1 {{the GPU lowering fuses an arith.extf only when it widens a static [M, K] bf16 / f16 function argument to f32 for dynamic_quantize, rotate or mixed_linear}}
  %xf = arith.extf %x : tensor<4x8xbf16> to tensor<4x8xf32>
  %q, %s = quant_xform.dynamic_quantize %xf scheme<per_token> : (tensor<4x8xf32>) -> (tensor<4x8xi8>, tensor<4xf32>)
  return %q, %s, %xf : tensor<4x8xi8>, tensor<4xf32>, tensor<4x8xf32>
}

// -----

// A narrowing is fused into the epilogue only when it is the linear's only
// use: here the f32 result is returned too.
func.func @narrow_and_f32(%q: tensor<4x8xi8>, %s: tensor<4xf32>, %w: tensor<16x8xi8>, %sw: tensor<16xf32>) -> (tensor<4x16xbf16>, tensor<4x16xf32>) {
  %y = quant_xform.qlinear %q scale %s, %w scale %sw : (tensor<4x8xi8>, tensor<4xf32>, tensor<16x8xi8>, tensor<16xf32>) -> tensor<4x16xf32>
  // expected-error @+1 {{the GPU lowering fuses an arith.truncf only when it rounds the f32 result of a qlinear or mixed_linear, or of the activation its epilogue applies (its only use), to bf16 / f16, to nearest even}}
  %yb = arith.truncf %y : tensor<4x16xf32> to tensor<4x16xbf16>
  return %yb, %y : tensor<4x16xbf16>, tensor<4x16xf32>
}

// -----

// The epilogue rounds to nearest even; another rounding mode is not fused.
func.func @narrow_rounding_mode(%q: tensor<4x8xi8>, %s: tensor<4xf32>, %w: tensor<16x8xi8>, %sw: tensor<16xf32>) -> tensor<4x16xbf16> {
  %y = quant_xform.qlinear %q scale %s, %w scale %sw : (tensor<4x8xi8>, tensor<4xf32>, tensor<16x8xi8>, tensor<16xf32>) -> tensor<4x16xf32>
  // expected-error @+1 {{the GPU lowering fuses an arith.truncf only when it rounds the f32 result}}
  %yb = arith.truncf %y to_nearest_away : tensor<4x16xf32> to tensor<4x16xbf16>
  return %yb : tensor<4x16xbf16>
}

// -----

// A run-time M is fine (qlinear-to-gpu-runtime-m.mlir); a run-time K is not.
func.func @quantize_dynamic_k(%x: tensor<4x?xf32>) -> (tensor<4x?xi8>, tensor<4xf32>) {
  // expected-error @+1 {{the GPU quantize kernel needs an [M, K] f32 input with a static K, s8 values and f32 scales}}
  %q, %s = quant_xform.dynamic_quantize %x scheme<per_token> : (tensor<4x?xf32>) -> (tensor<4x?xi8>, tensor<4xf32>)
  return %q, %s : tensor<4x?xi8>, tensor<4xf32>
}

// -----

func.func @qlinear_dynamic_weight(%q: tensor<?x8xi8>, %s: tensor<?xf32>, %w: tensor<?x8xi8>, %sw: tensor<?xf32>) -> tensor<?x?xf32> {
  // expected-error @+1 {{the GPU lowering needs an [M, K] s8 input with a static K, a static weight and f32 scales and result}}
  %y = quant_xform.qlinear %q scale %s, %w scale %sw : (tensor<?x8xi8>, tensor<?xf32>, tensor<?x8xi8>, tensor<?xf32>) -> tensor<?x?xf32>
  return %y : tensor<?x?xf32>
}

// -----

func.func @attention_odd_head(%q: tensor<1x8x2x24xf32>) -> tensor<1x8x2x24xf32> {
  // expected-error @+1 {{the GPU attention kernel needs a head size that is a multiple of 16 up to 128 (got 24)}}
  %y = quant_xform.attention %q, %q, %q {scale = 0.125 : f64} : tensor<1x8x2x24xf32>, tensor<1x8x2x24xf32>
  return %y : tensor<1x8x2x24xf32>
}

// -----

func.func @norm_ragged(%x: tensor<4x6xf32>, %g: tensor<6xf32>) -> tensor<4x6xf32> {
  // expected-error @+1 {{the GPU norm kernel needs K a multiple of 4 (got 6)}}
  %y = quant_xform.rms_norm %x, %g : (tensor<4x6xf32>, tensor<6xf32>) -> tensor<4x6xf32>
  return %y : tensor<4x6xf32>
}

// -----

func.func @grouped_input_scales(%q: tensor<4x8xi8>, %s: tensor<4x2xf32>, %w: tensor<8x8xi8>, %sw: tensor<8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{per_group activation scales are not lowered to the GPU yet}}
  %y = quant_xform.qlinear %q scale %s, %w scale %sw : (tensor<4x8xi8>, tensor<4x2xf32>, tensor<8x8xi8>, tensor<8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
