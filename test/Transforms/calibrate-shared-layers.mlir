// Statistics belong to a layer: quant-xform-calibrate runs `main` and gives
// the same layer's linear in another function (a decode step) the same
// statistics; a linear of an unknown layer, or of another width, gets none.
// RUN: xform-opt %s -quant-xform-calibrate="samples=2" -verify-diagnostics | FileCheck %s

// CHECK-LABEL: func.func @main
// CHECK: quant_xform.linear {{.*}}quant_xform.layer = "l0.q"{{.*}}quant_xform.stats = {absmax = dense<[[ABSMAX:.*]]> : tensor<8xf32>
func.func @main(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %w = arith.constant dense<0.5> : tensor<8x8xf32>
  %y = quant_xform.linear %x, %w {quant_xform.layer = "l0.q"} : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// CHECK-LABEL: func.func @decode
// CHECK: quant_xform.linear {{.*}}quant_xform.layer = "l0.q"{{.*}}quant_xform.stats = {absmax = dense<[[ABSMAX]]> : tensor<8xf32>
// CHECK: quant_xform.linear %{{.*}}, %{{.*}} {quant_xform.layer = "l9.other"} :
func.func @decode(%x: tensor<1x8xf32>) -> tensor<1x8xf32> {
  %w = arith.constant dense<0.5> : tensor<8x8xf32>
  %y = quant_xform.linear %x, %w {quant_xform.layer = "l0.q"} : (tensor<1x8xf32>, tensor<8x8xf32>) -> tensor<1x8xf32>
  // expected-warning @+1 {{linear 'l9.other' was not reached during calibration; it gets no statistics}}
  %z = quant_xform.linear %y, %w {quant_xform.layer = "l9.other"} : (tensor<1x8xf32>, tensor<8x8xf32>) -> tensor<1x8xf32>
  return %z : tensor<1x8xf32>
}
