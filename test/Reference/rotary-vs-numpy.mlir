// xform-run --reference on quant_xform.rotary (each head's halves rotated
// by the token's angles) matches numpy on real rotary tables.
// REQUIRES: numpy
// RUN: %python %S/Inputs/check_against_numpy.py rotary %t xform-run %s | FileCheck %s
// CHECK: rotary result 0: max relative error

func.func @main(%x: tensor<6x3x8xf32>, %cos: tensor<6x4xf32>, %sin: tensor<6x4xf32>) -> tensor<6x3x8xf32> {
  %y = quant_xform.rotary %x, %cos, %sin : tensor<6x3x8xf32>, tensor<6x4xf32>
  return %y : tensor<6x3x8xf32>
}
