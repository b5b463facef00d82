// The value checks of the transform ops (quant-xform-check-transform-matrices):
// a constant dense rotation matrix must be orthogonal within its tolerance,
// a constant affine matrix invertible by the documented test. They cost
// O(K³), so the verifier does not run them: the IR below verifies, and the
// pass (which the W8A8 pipeline, xform-run and xform-aot run first) rejects
// it with the numbers.
// RUN: xform-opt %s -split-input-file -quant-xform-check-transform-matrices -verify-diagnostics
// RUN: xform-opt %s -split-input-file | FileCheck %s --check-prefix=VERIFIES
// RUN: not xform-opt %s -split-input-file -quant-xform-w8a8 2>&1 | FileCheck %s --check-prefix=PIPELINE
// RUN: sed -n '/^func.func @rotate_not_orthogonal/,/^}/p' %s > %t.mlir
// RUN: not xform-run --reference %t.mlir 2>&1 | FileCheck %s --check-prefix=TOOL
// RUN: not xform-aot %t.mlir --entry rotate_not_orthogonal -o %t.o --header %t.h 2>&1 | FileCheck %s --check-prefix=TOOL
// VERIFIES-LABEL: func.func @rotate_not_orthogonal
// VERIFIES-LABEL: func.func @affine_singular
// PIPELINE: error: 'quant_xform.rotate' op rotation matrix is not orthogonal
// PIPELINE: error: 'quant_xform.affine' op affine matrix is not invertible
// TOOL: .mlir:4:{{[0-9]+}}: error: 'quant_xform.rotate' op rotation matrix is not orthogonal: max |QQᵀ - I| = 1.000000e-01

func.func @rotate_not_orthogonal(%x: tensor<2x2xf32>) -> tensor<2x2xf32> {
  %q = arith.constant dense<[[1.0, 0.1], [0.0, 1.0]]> : tensor<2x2xf32>
  // expected-error @+1 {{rotation matrix is not orthogonal: max |QQᵀ - I| = 1.000000e-01 > tolerance 1.000000e-04}}
  %0 = quant_xform.rotate dense %x by %q : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  return %0 : tensor<2x2xf32>
}

// -----

func.func @affine_singular(%x: tensor<2x2xf32>) -> tensor<2x2xf32> {
  %a = arith.constant dense<[[1.0, 2.0], [2.0, 4.0]]> : tensor<2x2xf32>
  // expected-error @+1 {{affine matrix is not invertible by the documented test: row 0 is not strictly diagonally dominant (|a_00| = 1.000000e+00 <= sum of |off-diagonal| = 2.000000e+00) and the estimated condition number INF exceeds max_condition = 1.000000e+06}}
  %0 = quant_xform.affine %x by %a : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  return %0 : tensor<2x2xf32>
}

// -----

func.func @rotate_large_not_orthogonal(%x: tensor<1x512xf32>) -> tensor<1x512xf32> {
  %q = arith.constant dense<0.0625> : tensor<512x512xf32>
  // expected-error @+1 {{rotation matrix is not orthogonal: max |Qᵀ(Q·v) - v|}}
  %0 = quant_xform.rotate dense %x by %q : (tensor<1x512xf32>, tensor<512x512xf32>) -> tensor<1x512xf32>
  return %0 : tensor<1x512xf32>
}

// -----

func.func @affine_ill_conditioned(%x: tensor<2x2xf32>) -> tensor<2x2xf32> {
  %a = arith.constant dense<[[1.0, 1.0], [1.0, 1.001]]> : tensor<2x2xf32>
  // expected-error @+1 {{exceeds max_condition = 1.000000e+02}}
  %0 = quant_xform.affine %x by %a {max_condition = 100.0 : f64} : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  return %0 : tensor<2x2xf32>
}

// -----

// Not constants: nothing to check.
func.func @rotate_argument(%x: tensor<2x2xf32>, %q: tensor<2x2xf32>) -> tensor<2x2xf32> {
  %0 = quant_xform.rotate dense %x by %q : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  return %0 : tensor<2x2xf32>
}

