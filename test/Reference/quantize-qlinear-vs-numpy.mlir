// dynamic_quantize → qlinear: integers exact, floats to 1e-6, vs numpy.
// The int32 accumulator is exposed by a qlinear with unit scales.
// REQUIRES: numpy
// RUN: %python %S/Inputs/check_against_numpy.py qlinear %t xform-run %s | FileCheck %s
// CHECK: qlinear result 0: exact (int8, 128 values)
// CHECK: qlinear result 1: max relative error
// CHECK: qlinear result 2: exact (int32, 24 values)
// CHECK: qlinear result 3: max relative error

func.func @main(%x: tensor<4x32xf32>, %qw: tensor<6x32xi8>, %sw: tensor<6xf32>, %b: tensor<6xf32>)
    -> (tensor<4x32xi8>, tensor<4xf32>, tensor<4x6xi32>, tensor<4x6xf32>) {
  %q, %s = quant_xform.dynamic_quantize %x scheme<per_token> : (tensor<4x32xf32>) -> (tensor<4x32xi8>, tensor<4xf32>)
  // Σ_k qx·qw exactly, through linalg on widened integers.
  %q32 = arith.extsi %q : tensor<4x32xi8> to tensor<4x32xi32>
  %w32 = arith.extsi %qw : tensor<6x32xi8> to tensor<6x32xi32>
  %zero = arith.constant 0 : i32
  %e = tensor.empty() : tensor<4x6xi32>
  %init = linalg.fill ins(%zero : i32) outs(%e : tensor<4x6xi32>) -> tensor<4x6xi32>
  %et = tensor.empty() : tensor<32x6xi32>
  %wt = linalg.transpose ins(%w32 : tensor<6x32xi32>) outs(%et : tensor<32x6xi32>) permutation = [1, 0]
  %acc = linalg.matmul ins(%q32, %wt : tensor<4x32xi32>, tensor<32x6xi32>) outs(%init : tensor<4x6xi32>) -> tensor<4x6xi32>
  %y = quant_xform.qlinear %q scale %s, %qw scale %sw, bias %b : (tensor<4x32xi8>, tensor<4xf32>, tensor<6x32xi8>, tensor<6xf32>, tensor<6xf32>) -> tensor<4x6xf32>
  return %q, %s, %acc, %y : tensor<4x32xi8>, tensor<4xf32>, tensor<4x6xi32>, tensor<4x6xf32>
}
