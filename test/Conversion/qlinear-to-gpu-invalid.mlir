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
  // expected-error @+1 {{the GPU quantize kernel needs a static [M, K] f32 input, s8 values and f32 scales}}
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
  // expected-error @+1 {{the GPU lowering handles functions of qlinear, per-token dynamic_quantize and mixed_linear ops only}}
  %w = arith.constant dense<1> : tensor<8x8xi8>
  %y = quant_xform.qlinear %q scale %s, %w scale %sw : (tensor<4x8xi8>, tensor<4xf32>, tensor<8x8xi8>, tensor<8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

// A function without qlinear ops (a float model) is not skipped silently.
func.func @float_only(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{the GPU lowering handles functions of qlinear, per-token dynamic_quantize and mixed_linear ops only (without `outline`); this op is not one}}
  %y = arith.addf %x, %x : tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

func.func @returns_argument(%q: tensor<4x8xi8>, %s: tensor<4xf32>, %w: tensor<8x8xi8>, %sw: tensor<8xf32>) -> (tensor<4x8xf32>, tensor<4xf32>) {
  %y = quant_xform.qlinear %q scale %s, %w scale %sw : (tensor<4x8xi8>, tensor<4xf32>, tensor<8x8xi8>, tensor<8xf32>) -> tensor<4x8xf32>
  // expected-error @+1 {{the GPU lowering needs every result to be a qlinear or dynamic_quantize result}}
  return %y, %s : tensor<4x8xf32>, tensor<4xf32>
}

// -----

func.func @rotation_returned(%x: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xi8>, tensor<4xf32>) {
  // expected-error @+1 {{the GPU lowering takes a rotation only as an online Hadamard of a function argument feeding one dynamic_quantize (K ≤ 16384)}}
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
