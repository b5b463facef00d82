// quant-xform-hoist-rotations-through-norms: a rotation after a γ-free
// RMSNorm moves in front of it, then folds into the linear producing the
// norm's input; the function is unchanged (relative error ≤ 1e-5).
// RUN: xform-opt %s -quant-xform-hoist-rotations-through-norms | FileCheck %s
// RUN: xform-opt %s -quant-xform-hoist-rotations-through-norms -quant-xform-fold-transforms-into-linears | FileCheck %s --check-prefix=FOLD
// RUN: xform-opt %s -quant-xform-hoist-rotations-through-norms -quant-xform-fold-transforms-into-linears -o %t.mlir
// RUN: xform-run --reference %s --seed 8 --no-print --max-rel-err 1e-5 --compare %t.mlir

// CHECK-LABEL: func.func @main
// CHECK: %[[A:.*]] = quant_xform.linear
// CHECK-NEXT: %[[R:.*]] = quant_xform.rotate hadamard %[[A]] signs [1, -1, 1, 1, -1, 1, 1, 1] {quant_xform.pinned}
// CHECK-NEXT: %[[N:.*]] = quant_xform.rms_norm %[[R]], %{{.*}} :
// CHECK-NEXT: quant_xform.linear %[[N]]
// The second norm has γ ≠ 1: its rotation stays.
// CHECK: quant_xform.rms_norm
// CHECK-NEXT: quant_xform.rotate hadamard

// The pinned rotation went into the first linear's output.
// FOLD-LABEL: func.func @main
// FOLD-SAME: (%[[ARG:.*]]: tensor<3x8xf32>)
// FOLD: %[[A:.*]] = quant_xform.linear %[[ARG]]
// FOLD-NEXT: quant_xform.rms_norm %[[A]]
// FOLD-COUNT-1: quant_xform.rotate
// FOLD-NOT: quant_xform.rotate

func.func @main(%x: tensor<3x8xf32>) -> (tensor<3x2xf32>, tensor<3x8xf32>) {
  %ones = arith.constant dense<1.0> : tensor<8xf32>
  %g = arith.constant dense<[1.0, 2.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.5]> : tensor<8xf32>
  %w0 = arith.constant dense<[[0.5, -1.0, 0.25, 2.0, -0.75, 0.1, 0.3, -0.2],
                              [1.5, 0.2, -0.4, 0.0, 0.9, -1.1, 0.05, 0.6],
                              [-0.3, 0.8, 1.2, -0.6, 0.3, 0.0, -1.3, 0.2],
                              [0.1, 0.1, -0.2, 0.7, -0.4, 0.5, 0.6, -0.9],
                              [0.2, 0.4, -0.6, 0.8, -1.0, 1.2, -1.4, 1.6],
                              [0.3, -0.1, 0.7, 0.2, 0.5, -0.8, 0.9, -0.3],
                              [-1.1, 0.6, 0.0, 0.4, -0.2, 0.3, 0.1, 0.5],
                              [0.9, -0.7, 0.3, -0.5, 0.6, 0.2, -0.4, 0.8]]> : tensor<8x8xf32>
  %b0 = arith.constant dense<0.1> : tensor<8xf32>
  %w1 = arith.constant dense<[[0.5, -1.0, 0.25, 2.0, -0.75, 0.1, 0.3, -0.2],
                              [1.5, 0.2, -0.4, 0.0, 0.9, -1.1, 0.05, 0.6]]> : tensor<2x8xf32>
  %a = quant_xform.linear %x, %w0, %b0 : (tensor<3x8xf32>, tensor<8x8xf32>, tensor<8xf32>) -> tensor<3x8xf32>
  %n = quant_xform.rms_norm %a, %ones : (tensor<3x8xf32>, tensor<8xf32>) -> tensor<3x8xf32>
  %r = quant_xform.rotate hadamard %n signs [1, -1, 1, 1, -1, 1, 1, 1] {quant_xform.pinned} : (tensor<3x8xf32>) -> tensor<3x8xf32>
  %y = quant_xform.linear %r, %w1 : (tensor<3x8xf32>, tensor<2x8xf32>) -> tensor<3x2xf32>
  %n2 = quant_xform.rms_norm %x, %g : (tensor<3x8xf32>, tensor<8xf32>) -> tensor<3x8xf32>
  %r2 = quant_xform.rotate hadamard %n2 signs [1, 1, 1, 1, -1, 1, 1, 1] : (tensor<3x8xf32>) -> tensor<3x8xf32>
  return %y, %r2 : tensor<3x2xf32>, tensor<3x8xf32>
}
