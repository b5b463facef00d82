// xform-run --reference on a block-diagonal Hadamard (K = 12, blocks of 4),
// forward and inverse, matches numpy's kron(I_3, H_4) with row signs.
// REQUIRES: numpy
// RUN: %python %S/Inputs/check_against_numpy.py rotate_blocks %t xform-run %s | FileCheck %s
// CHECK: rotate_blocks result 0: max relative error
// CHECK: rotate_blocks result 1: max relative error

func.func @main(%x: tensor<3x12xf32>) -> (tensor<3x12xf32>, tensor<3x12xf32>) {
  %0 = quant_xform.rotate hadamard %x signs [1, -1, 1, 1, -1, -1, 1, -1, 1, 1, 1, -1] : (tensor<3x12xf32>) -> tensor<3x12xf32>
  %1 = quant_xform.rotate hadamard %x signs [1, -1, 1, 1, -1, -1, 1, -1, 1, 1, 1, -1] inverse : (tensor<3x12xf32>) -> tensor<3x12xf32>
  return %0, %1 : tensor<3x12xf32>, tensor<3x12xf32>
}
