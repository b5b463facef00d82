// Every canonicalization of transforms keeps the function: the reference
// evaluator on seeded inputs agrees within 1e-6 relative before and after
// -canonicalize (xform-run exits non-zero otherwise).
// RUN: xform-opt %s -canonicalize -o %t.mlir
// RUN: xform-run --reference %s --entry compose_permutations --seed 1 --no-print --max-rel-err 1e-6 --compare %t.mlir
// RUN: xform-run --reference %s --entry compose_dense --seed 2 --no-print --max-rel-err 1e-6 --compare %t.mlir
// RUN: xform-run --reference %s --entry compose_smooths --seed 3 --no-print --max-rel-err 1e-6 --compare %t.mlir
// RUN: xform-run --reference %s --entry cancel_affine --seed 4 --no-print --max-rel-err 1e-6 --compare %t.mlir
// RUN: xform-run --reference %s --entry cancel_hadamard --seed 5 --no-print --max-rel-err 1e-6 --compare %t.mlir
// RUN: xform-run --reference %s --entry identity_smooth --seed 6 --no-print --max-rel-err 1e-6 --compare %t.mlir
// RUN: FileCheck %s < %t.mlir
//
// Three transforms are left in all (one each in the three compose_
// functions), and no quant_xform.affine.

// CHECK-LABEL: func.func @compose_permutations
// CHECK-NOT: quant_xform.{{rotate|smooth|affine}}
// CHECK: quant_xform.rotate permutation
// CHECK-NOT: quant_xform.{{rotate|smooth|affine}}
func.func @compose_permutations(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %0 = quant_xform.rotate permutation %x perm [1, 2, 3, 0] : (tensor<2x4xf32>) -> tensor<2x4xf32>
  %1 = quant_xform.rotate permutation %0 perm [1, 3, 2, 0] inverse : (tensor<2x4xf32>) -> tensor<2x4xf32>
  return %1 : tensor<2x4xf32>
}

// CHECK-LABEL: func.func @compose_dense
// CHECK-NOT: quant_xform.{{rotate|smooth|affine}}
// CHECK: quant_xform.rotate dense
// CHECK-NOT: quant_xform.{{rotate|smooth|affine}}
func.func @compose_dense(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %q = arith.constant dense<[[0.6, 0.8], [-0.8, 0.6]]> : tensor<2x2xf32>
  %0 = quant_xform.rotate permutation %x perm [1, 0] : (tensor<3x2xf32>) -> tensor<3x2xf32>
  %1 = quant_xform.rotate dense %0 by %q inverse : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32>
  return %1 : tensor<3x2xf32>
}

// CHECK-LABEL: func.func @compose_smooths
// CHECK-NOT: quant_xform.{{rotate|smooth|affine}}
// CHECK: quant_xform.smooth
// CHECK-NOT: quant_xform.{{rotate|smooth|affine}}
func.func @compose_smooths(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %s1 = arith.constant dense<[2.0, 0.5]> : tensor<2xf32>
  %d1 = arith.constant dense<[1.0, -0.25]> : tensor<2xf32>
  %s2 = arith.constant dense<[4.0, 3.0]> : tensor<2xf32>
  %0 = quant_xform.smooth %x by %s1 shift %d1 : (tensor<3x2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<3x2xf32>
  %1 = quant_xform.smooth %0 by %s2 inverse : (tensor<3x2xf32>, tensor<2xf32>) -> tensor<3x2xf32>
  return %1 : tensor<3x2xf32>
}

// CHECK-LABEL: func.func @cancel_affine
// CHECK-NOT: quant_xform.{{rotate|smooth|affine}}
func.func @cancel_affine(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %a = arith.constant dense<[[2.0, 0.5], [0.25, 1.5]]> : tensor<2x2xf32>
  %d = arith.constant dense<[0.5, -1.0]> : tensor<2xf32>
  %0 = quant_xform.affine %x by %a shift %d : (tensor<3x2xf32>, tensor<2x2xf32>, tensor<2xf32>) -> tensor<3x2xf32>
  %1 = quant_xform.affine %0 by %a shift %d inverse : (tensor<3x2xf32>, tensor<2x2xf32>, tensor<2xf32>) -> tensor<3x2xf32>
  return %1 : tensor<3x2xf32>
}

// CHECK-LABEL: func.func @cancel_hadamard
// CHECK-NOT: quant_xform.{{rotate|smooth|affine}}
func.func @cancel_hadamard(%x: tensor<3x4xf32>) -> tensor<3x4xf32> {
  %0 = quant_xform.rotate hadamard %x signs [1, -1, 1, 1] : (tensor<3x4xf32>) -> tensor<3x4xf32>
  %1 = quant_xform.rotate hadamard %0 signs [1, -1, 1, 1] inverse : (tensor<3x4xf32>) -> tensor<3x4xf32>
  return %1 : tensor<3x4xf32>
}

// CHECK-LABEL: func.func @identity_smooth
// CHECK-NOT: quant_xform.{{rotate|smooth|affine}}
func.func @identity_smooth(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %one = arith.constant dense<1.0> : tensor<2xf32>
  %0 = quant_xform.smooth %x by %one : (tensor<3x2xf32>, tensor<2xf32>) -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}
