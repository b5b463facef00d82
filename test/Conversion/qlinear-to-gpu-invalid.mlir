// What the first GPU slice does not lower is an error naming the op.
// RUN: xform-opt %s -split-input-file -convert-quant-xform-qlinear-to-gpu -verify-diagnostics

func.func @other_op(%x: tensor<4x8xf32>) -> (tensor<4x8xi8>, tensor<4xf32>) {
  // expected-error @+1 {{the GPU lowering handles functions of qlinear ops only}}
  %q, %s = quant_xform.dynamic_quantize %x scheme<per_token> : (tensor<4x8xf32>) -> (tensor<4x8xi8>, tensor<4xf32>)
  %y = quant_xform.qlinear %q scale %s, %q scale %s : (tensor<4x8xi8>, tensor<4xf32>, tensor<4x8xi8>, tensor<4xf32>) -> tensor<4x4xf32>
  return %q, %s : tensor<4x8xi8>, tensor<4xf32>
}

// -----

func.func @ragged_k(%q: tensor<4x6xi8>, %s: tensor<4xf32>, %w: tensor<8x6xi8>, %sw: tensor<8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{the GPU int8 kernel needs K to be a multiple of 4 (K = 6)}}
  %y = quant_xform.qlinear %q scale %s, %w scale %sw : (tensor<4x6xi8>, tensor<4xf32>, tensor<8x6xi8>, tensor<8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

func.func @constant_weight(%q: tensor<4x8xi8>, %s: tensor<4xf32>, %sw: tensor<8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{the GPU lowering handles functions of qlinear ops only}}
  %w = arith.constant dense<1> : tensor<8x8xi8>
  %y = quant_xform.qlinear %q scale %s, %w scale %sw : (tensor<4x8xi8>, tensor<4xf32>, tensor<8x8xi8>, tensor<8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

// A function without qlinear ops (a float model) is not skipped silently.
func.func @float_only(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{the GPU lowering handles functions of qlinear ops only (for now); this op is not one}}
  %y = arith.addf %x, %x : tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
