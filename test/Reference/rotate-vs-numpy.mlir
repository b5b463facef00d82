// xform-run --reference on Hadamard (signed, forward and inverse) and
// permutation rotations matches numpy.
// REQUIRES: numpy
// RUN: %python %S/Inputs/check_against_numpy.py rotate %t xform-run %s | FileCheck %s
// CHECK: rotate result 0: max relative error
// CHECK: rotate result 1: max relative error
// CHECK: rotate result 2: max relative error

func.func @main(%x: tensor<3x8xf32>) -> (tensor<3x8xf32>, tensor<3x8xf32>, tensor<3x8xf32>) {
  %0 = quant_xform.rotate hadamard %x signs [1, -1, 1, 1, -1, -1, 1, -1] : (tensor<3x8xf32>) -> tensor<3x8xf32>
  %1 = quant_xform.rotate hadamard %x signs [1, -1, 1, 1, -1, -1, 1, -1] inverse : (tensor<3x8xf32>) -> tensor<3x8xf32>
  %2 = quant_xform.rotate permutation %x perm [3, 0, 7, 1, 2, 6, 5, 4] : (tensor<3x8xf32>) -> tensor<3x8xf32>
  return %0, %1, %2 : tensor<3x8xf32>, tensor<3x8xf32>, tensor<3x8xf32>
}
