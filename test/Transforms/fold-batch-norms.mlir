// quant-xform-fold-batch-norms: IR, numerical equivalence against the
// reference evaluator (relative error ≤ 1e-6 on seeded random inputs), and
// a batch norm that stays runs on the CPU like the evaluator says.
// RUN: xform-opt %s -quant-xform-fold-batch-norms | FileCheck %s
// RUN: xform-opt %s -quant-xform-fold-batch-norms -o %t.mlir
// RUN: xform-run --reference %s --entry=after_linear --seed 3 --no-print --max-rel-err 1e-6 --compare %t.mlir | FileCheck %s --check-prefix=NUM1
// RUN: xform-run --reference %s --entry=before_linears --seed 4 --no-print --max-rel-err 1e-6 --compare %t.mlir | FileCheck %s --check-prefix=NUM2
// RUN: xform-run --reference %s --entry=kept --seed 5 --no-print --max-rel-err 1e-6 --compare %t.mlir | FileCheck %s --check-prefix=NUM2
// RUN: xform-run --target=cpu %s --entry=kept --seed 6 --no-print --max-rel-err 1e-6 --compare-reference | FileCheck %s --check-prefix=NUM2
// RUN: xform-opt %s -quant-xform-w8a8 | FileCheck %s --check-prefix=W8A8

// NUM1: model
// NUM1-NEXT: .mlir 0 {{.*}} {{[0-9.]+e-(0[7-9]|[1-9][0-9])}}
// NUM2: model
// NUM2-NEXT: 0 {{.*}} {{(0\.0000e\+00|[0-9.]+e-(0[7-9]|[1-9][0-9]))}}
// NUM2-NEXT: 1 {{.*}} {{(0\.0000e\+00|[0-9.]+e-(0[7-9]|[1-9][0-9]))}}

// linear → BN (its only reader): folds into the producer.
// Output side: s = γ/sqrt(var + ε) = [1.060395, -1.130241];
// W' = diag(s)·W, b' = s⊙b + β − mean⊙s.
// CHECK-LABEL: func.func @after_linear
// CHECK-SAME: (%[[ARG:.*]]: tensor<3x4xf32>)
// CHECK-DAG: arith.constant dense<{{\[}}[0.530197561, -1.06039512, 2.12079024, 0.26509878], [-1.69536173, -0.847680866, 0.565120578, -1.13024116]]>
// CHECK-DAG: arith.constant dense<[-0.162079036, 0.373951793]>
// CHECK-NOT: quant_xform.batch_norm
// CHECK: quant_xform.linear %[[ARG]], {{.*}} {quant_xform.layer = "fc"}
// CHECK-NOT: quant_xform.batch_norm
// The W8A8 pipeline folds it first, so its linear is quantized.
// W8A8-LABEL: func.func @after_linear
// W8A8-NOT: quant_xform.batch_norm
// W8A8: quant_xform.qlinear
func.func @after_linear(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<[[0.5, -1.0, 2.0, 0.25], [1.5, 0.75, -0.5, 1.0]]> : tensor<2x4xf32>
  %b = arith.constant dense<[0.1, -0.2]> : tensor<2xf32>
  %m = arith.constant dense<[0.3, -0.4]> : tensor<2xf32>
  %v = arith.constant dense<[2.0, 0.5]> : tensor<2xf32>
  %g = arith.constant dense<[1.5, -0.8]> : tensor<2xf32>
  %be = arith.constant dense<[0.05, 0.6]> : tensor<2xf32>
  %y = quant_xform.linear %x, %w, %b {quant_xform.layer = "fc"} : (tensor<3x4xf32>, tensor<2x4xf32>, tensor<2xf32>) -> tensor<3x2xf32>
  %z = quant_xform.batch_norm %y, %m, %v, %g, %be {epsilon = 1.0e-3 : f64} : (tensor<3x2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<3x2xf32>
  return %z : tensor<3x2xf32>
}

// BN → two linears (one without bias): folds into both readers, with
// W·diag(s) and b + W·t; the bias-free reader gets a bias.
// CHECK-LABEL: func.func @before_linears
// CHECK-SAME: (%[[ARG:.*]]: tensor<2x3x4xf32>)
// CHECK-NOT: quant_xform.batch_norm
// CHECK: quant_xform.linear %[[ARG]], %{{.*}}, %{{.*}} : (tensor<2x3x4xf32>, tensor<2x4xf32>, tensor<2xf32>)
// CHECK: quant_xform.linear %[[ARG]], %{{.*}}, %{{.*}} : (tensor<2x3x4xf32>, tensor<3x4xf32>, tensor<3xf32>)
// W8A8-LABEL: func.func @before_linears
// W8A8-NOT: quant_xform.batch_norm
// W8A8: quant_xform.qlinear
func.func @before_linears(%x: tensor<2x3x4xf32>) -> (tensor<2x3x2xf32>, tensor<2x3x3xf32>) {
  %m = arith.constant dense<[0.3, -0.4, 1.0, 0.0]> : tensor<4xf32>
  %v = arith.constant dense<[2.0, 0.5, 0.0, 4.0]> : tensor<4xf32>
  %g = arith.constant dense<[1.5, -0.8, 1.0, 0.5]> : tensor<4xf32>
  %be = arith.constant dense<[0.05, 0.6, -1.0, 0.0]> : tensor<4xf32>
  %z = quant_xform.batch_norm %x, %m, %v, %g, %be : (tensor<2x3x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<2x3x4xf32>
  %w1 = arith.constant dense<[[0.5, -1.0, 2.0, 0.25], [1.5, 0.75, -0.5, 1.0]]> : tensor<2x4xf32>
  %b1 = arith.constant dense<[0.1, -0.2]> : tensor<2xf32>
  %w2 = arith.constant dense<[[1.0, 0.0, -1.0, 0.5], [0.2, 0.3, 0.4, -0.5], [-2.0, 1.0, 0.0, 0.1]]> : tensor<3x4xf32>
  %y1 = quant_xform.linear %z, %w1, %b1 : (tensor<2x3x4xf32>, tensor<2x4xf32>, tensor<2xf32>) -> tensor<2x3x2xf32>
  %y2 = quant_xform.linear %z, %w2 : (tensor<2x3x4xf32>, tensor<3x4xf32>) -> tensor<2x3x3xf32>
  return %y1, %y2 : tensor<2x3x2xf32>, tensor<2x3x3xf32>
}

// BN whose output is also returned: nothing to fold into; it stays.
// CHECK-LABEL: func.func @kept
// CHECK-SAME: (%[[ARG:.*]]: tensor<3x4xf32>)
// CHECK: %[[BN:.*]] = quant_xform.batch_norm %[[ARG]]
// CHECK: quant_xform.linear %[[BN]]
func.func @kept(%x: tensor<3x4xf32>) -> (tensor<3x4xf32>, tensor<3x2xf32>) {
  %m = arith.constant dense<[0.3, -0.4, 1.0, 0.0]> : tensor<4xf32>
  %v = arith.constant dense<[2.0, 0.5, 0.0, 4.0]> : tensor<4xf32>
  %g = arith.constant dense<[1.5, -0.8, 1.0, 0.5]> : tensor<4xf32>
  %be = arith.constant dense<[0.05, 0.6, -1.0, 0.0]> : tensor<4xf32>
  %z = quant_xform.batch_norm %x, %m, %v, %g, %be : (tensor<3x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<3x4xf32>
  %w1 = arith.constant dense<[[0.5, -1.0, 2.0, 0.25], [1.5, 0.75, -0.5, 1.0]]> : tensor<2x4xf32>
  %y1 = quant_xform.linear %z, %w1 : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32>
  return %z, %y1 : tensor<3x4xf32>, tensor<3x2xf32>
}
