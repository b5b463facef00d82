// xform-run --print-observers: the evaluator hands every quant_xform.observe
// to calibration's ObserverStatistics (the evaluator itself keeps none).
// RUN: xform-run --reference %s --entry=main --print-observers --no-print | FileCheck %s
// RUN: not xform-run --reference %s --entry=resized --print-observers --no-print 2>&1 | FileCheck %s --check-prefix=RESIZED

// CHECK: observer 'block0.attn_in': 4 rows, 8 channels, absmax
// CHECK: observer 'block0.mlp_in': 6 rows, 6 channels, absmax
func.func @main(%x: tensor<4x8xf32>, %y: tensor<2x3x6xf32>) -> (tensor<4x8xf32>, tensor<2x3x6xf32>) {
  %a = quant_xform.observe %x "block0.attn_in" : tensor<4x8xf32>
  %b = quant_xform.observe %y "block0.mlp_in" : tensor<2x3x6xf32>
  return %a, %b : tensor<4x8xf32>, tensor<2x3x6xf32>
}

// One observer name on two feature sizes is an error at the second.
// RESIZED: error: 'quant_xform.observe' op observer 'shared' saw feature sizes 8 and 6
func.func @resized(%x: tensor<4x8xf32>, %y: tensor<4x6xf32>) -> (tensor<4x8xf32>, tensor<4x6xf32>) {
  %a = quant_xform.observe %x "shared" : tensor<4x8xf32>
  %b = quant_xform.observe %y "shared" : tensor<4x6xf32>
  return %a, %b : tensor<4x8xf32>, tensor<4x6xf32>
}
