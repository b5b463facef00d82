// Non-constant weights stay in float, with a warning.
// RUN: xform-opt %s -quant-xform-quantize-linears -verify-diagnostics | FileCheck %s

// CHECK-LABEL: func.func @weight_argument
// CHECK: quant_xform.linear
func.func @weight_argument(%x: tensor<2x8xf32>, %w: tensor<3x8xf32>) -> tensor<2x3xf32> {
  // expected-warning @+1 {{weight is not a constant; linear left in float}}
  %y = quant_xform.linear %x, %w : (tensor<2x8xf32>, tensor<3x8xf32>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}
