// xform-run --reference on a linear matches numpy.
// REQUIRES: numpy
// RUN: %python %S/Inputs/check_against_numpy.py linear %t xform-run %s | FileCheck %s
// CHECK: linear result 0: max relative error

func.func @main(%x: tensor<5x16xf32>, %w: tensor<12x16xf32>, %b: tensor<12xf32>) -> tensor<5x12xf32> {
  %y = quant_xform.linear %x, %w, %b : (tensor<5x16xf32>, tensor<12x16xf32>, tensor<12xf32>) -> tensor<5x12xf32>
  return %y : tensor<5x12xf32>
}
