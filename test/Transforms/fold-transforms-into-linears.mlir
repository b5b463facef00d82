// quant-xform-fold-transforms-into-linears: the transforms disappear into the
// weights, and the float function is unchanged (relative error ≤ 1e-6,
// SQNR ≥ 120 dB) on seeded random inputs.
// RUN: xform-opt %s -quant-xform-fold-transforms-into-linears | FileCheck %s
// RUN: xform-opt %s -quant-xform-fold-transforms-into-linears -o %t.folded.mlir
// RUN: xform-run --reference %s --entry=input_side --seed 11 --no-print --compare %t.folded.mlir | FileCheck %s --check-prefix=NUM3
// RUN: xform-run --reference %s --entry=output_side --seed 12 --no-print --compare %t.folded.mlir | FileCheck %s --check-prefix=NUM1
// RUN: xform-run --reference %s --entry=shared_reader --seed 13 --no-print --compare %t.folded.mlir | FileCheck %s --check-prefix=NUM2
// RUN: xform-run --reference %s --entry=dense_rotation --seed 14 --no-print --compare %t.folded.mlir | FileCheck %s --check-prefix=NUM2
// RUN: xform-run --reference %s --entry=block_hadamard --seed 15 --no-print --compare %t.folded.mlir | FileCheck %s --check-prefix=NUM1
// NUM3-COUNT-3: folded.mlir{{ +[0-9] +[0-9.e+-]+ +(0\.0000e\+00|[0-9]\.[0-9]+e-(0[7-9]|[1-9][0-9])) +(inf|[0-9]{3,}\.[0-9]+) +}}
// NUM2-COUNT-2: folded.mlir{{ +[0-9] +[0-9.e+-]+ +(0\.0000e\+00|[0-9]\.[0-9]+e-(0[7-9]|[1-9][0-9])) +(inf|[0-9]{3,}\.[0-9]+) +}}
// NUM1: folded.mlir{{ +[0-9] +[0-9.e+-]+ +(0\.0000e\+00|[0-9]\.[0-9]+e-(0[7-9]|[1-9][0-9])) +(inf|[0-9]{3,}\.[0-9]+) +}}

// Hadamard, smoothing with a shift, and an affine with a shift, each in front
// of a linear.
// CHECK-LABEL: func.func @input_side
// CHECK-NOT: quant_xform.rotate
// CHECK-NOT: quant_xform.smooth
// CHECK-NOT: quant_xform.affine
// CHECK-COUNT-3: quant_xform.linear
func.func @input_side(%x: tensor<3x4xf32>) -> (tensor<3x2xf32>, tensor<3x2xf32>, tensor<3x2xf32>) {
  %w = arith.constant dense<[[0.5, -1.0, 0.25, 2.0], [1.5, 0.2, -0.4, 0.3]]> : tensor<2x4xf32>
  %b = arith.constant dense<[0.1, -0.2]> : tensor<2xf32>
  %s = arith.constant dense<[2.0, 0.5, 4.0, 1.0]> : tensor<4xf32>
  %d = arith.constant dense<[0.3, -0.1, 0.0, 1.0]> : tensor<4xf32>
  %a = arith.constant dense<[[2.0, 0.5, 0.0, 0.1], [0.2, 3.0, 0.4, 0.0], [0.0, 0.1, 1.5, 0.2], [0.3, 0.0, 0.1, 1.0]]> : tensor<4x4xf32>
  %r = quant_xform.rotate hadamard %x signs [1, -1, -1, 1] : (tensor<3x4xf32>) -> tensor<3x4xf32>
  %y0 = quant_xform.linear %r, %w, %b : (tensor<3x4xf32>, tensor<2x4xf32>, tensor<2xf32>) -> tensor<3x2xf32>
  %sm = quant_xform.smooth %x by %s shift %d : (tensor<3x4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<3x4xf32>
  %y1 = quant_xform.linear %sm, %w : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32>
  %af = quant_xform.affine %x by %a shift %d : (tensor<3x4xf32>, tensor<4x4xf32>, tensor<4xf32>) -> tensor<3x4xf32>
  %y2 = quant_xform.linear %af, %w, %b : (tensor<3x4xf32>, tensor<2x4xf32>, tensor<2xf32>) -> tensor<3x2xf32>
  return %y0, %y1, %y2 : tensor<3x2xf32>, tensor<3x2xf32>, tensor<3x2xf32>
}

// A transform on the output of a linear folds into it (bias included).
// CHECK-LABEL: func.func @output_side
// CHECK-NOT: quant_xform.rotate
// CHECK-NOT: quant_xform.smooth
// CHECK: quant_xform.linear
func.func @output_side(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<[[0.5, -1.0, 0.25, 2.0], [1.5, 0.2, -0.4, 0.3]]> : tensor<2x4xf32>
  %b = arith.constant dense<[0.1, -0.2]> : tensor<2xf32>
  %s = arith.constant dense<[3.0, 0.25]> : tensor<2xf32>
  %d = arith.constant dense<[1.0, -2.0]> : tensor<2xf32>
  %y = quant_xform.linear %x, %w, %b : (tensor<3x4xf32>, tensor<2x4xf32>, tensor<2xf32>) -> tensor<3x2xf32>
  %r = quant_xform.rotate hadamard %y inverse : (tensor<3x2xf32>) -> tensor<3x2xf32>
  %z = quant_xform.smooth %r by %s shift %d inverse : (tensor<3x2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<3x2xf32>
  return %z : tensor<3x2xf32>
}

// One rotation read by two linears folds into both and disappears.
// CHECK-LABEL: func.func @shared_reader
// CHECK-NOT: quant_xform.rotate
// CHECK-COUNT-2: quant_xform.linear
func.func @shared_reader(%x: tensor<2x4xf32>) -> (tensor<2x2xf32>, tensor<2x2xf32>) {
  %w = arith.constant dense<[[0.5, -1.0, 0.25, 2.0], [1.5, 0.2, -0.4, 0.3]]> : tensor<2x4xf32>
  %v = arith.constant dense<[[-0.3, 0.7, 1.2, -0.8], [0.4, 0.0, -1.3, 0.2]]> : tensor<2x4xf32>
  %r = quant_xform.rotate permutation %x perm [2, 0, 3, 1] : (tensor<2x4xf32>) -> tensor<2x4xf32>
  %y0 = quant_xform.linear %r, %w : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x2xf32>
  %y1 = quant_xform.linear %r, %v : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x2xf32>
  return %y0, %y1 : tensor<2x2xf32>, tensor<2x2xf32>
}

// A dense rotation (a 2-D Givens rotation by 30°) folds too; a transform with
// a non-linear reader stays.
// CHECK-LABEL: func.func @dense_rotation
// CHECK: quant_xform.rotate dense
// CHECK: math.tanh
func.func @dense_rotation(%x: tensor<2x2xf32>) -> (tensor<2x2xf32>, tensor<2x2xf32>) {
  %q = arith.constant dense<[[0.866025404, -0.5], [0.5, 0.866025404]]> : tensor<2x2xf32>
  %w = arith.constant dense<[[0.5, -1.0], [1.5, 0.2]]> : tensor<2x2xf32>
  %r = quant_xform.rotate dense %x by %q : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  %y = quant_xform.linear %r, %w : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  %t = math.tanh %r : tensor<2x2xf32>
  return %y, %t : tensor<2x2xf32>, tensor<2x2xf32>
}

// A block Hadamard (K = 6: blocks of 2) folds like any rotation.
// CHECK-LABEL: func.func @block_hadamard
// CHECK-NOT: quant_xform.rotate
func.func @block_hadamard(%x: tensor<3x6xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<[[0.5, -1.0, 0.25, 2.0, 0.7, -0.3], [1.5, 0.2, -0.4, 0.3, -1.1, 0.9]]> : tensor<2x6xf32>
  %r = quant_xform.rotate hadamard %x signs [1, -1, -1, 1, 1, -1] : (tensor<3x6xf32>) -> tensor<3x6xf32>
  %y = quant_xform.linear %r, %w : (tensor<3x6xf32>, tensor<2x6xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}
