// quant-xform-fold-batch-norms: IR, numerical equivalence against the
// reference evaluator (relative error ≤ 1e-6 on seeded random inputs), and
// a batch norm that stays runs on the CPU like the evaluator says.
// RUN: xform-opt %S/Inputs/batch-norms.mlir -quant-xform-fold-batch-norms | FileCheck %s
// RUN: xform-opt %S/Inputs/batch-norms.mlir -quant-xform-fold-batch-norms -o %t.mlir
// RUN: xform-run --reference %S/Inputs/batch-norms.mlir --entry=after_linear --seed 3 --no-print --max-rel-err 1e-6 --compare %t.mlir | FileCheck %s --check-prefix=NUM1
// RUN: xform-run --reference %S/Inputs/batch-norms.mlir --entry=before_linears --seed 4 --no-print --max-rel-err 1e-6 --compare %t.mlir | FileCheck %s --check-prefix=NUM2
// RUN: xform-run --reference %S/Inputs/batch-norms.mlir --entry=kept --seed 5 --no-print --max-rel-err 1e-6 --compare %t.mlir | FileCheck %s --check-prefix=NUM2
// RUN: xform-run --target=cpu %S/Inputs/batch-norms.mlir --entry=kept --seed 6 --no-print --max-rel-err 1e-6 --compare-reference | FileCheck %s --check-prefix=NUM2
// RUN: xform-opt %S/Inputs/batch-norms.mlir -quant-xform-w8a8 | FileCheck %s --check-prefix=W8A8

// Output side: s = γ/sqrt(var + ε) = [1.060395, -1.130241];
// W' = diag(s)·W, b' = s⊙b + β − mean⊙s.
// CHECK-LABEL: func.func @after_linear
// CHECK: arith.constant dense<{{\[}}[0.530197561, -1.06039512, 2.12079024, 0.26509878], [-1.69536173, -0.847680866, 0.565120578, -1.13024116]]>
// CHECK: arith.constant dense<[-0.162079036, 0.373951793]>
// CHECK-NOT: quant_xform.batch_norm
// CHECK: quant_xform.linear %arg0, {{.*}} {quant_xform.layer = "fc"}
// CHECK-NOT: quant_xform.batch_norm

// Input side: both readers read the norm's input, with W·diag(s) and
// b + W·t; the bias-free reader gets a bias.
// CHECK-LABEL: func.func @before_linears
// CHECK-NOT: quant_xform.batch_norm
// CHECK: quant_xform.linear %arg0, %{{.*}}, %{{.*}} : (tensor<2x3x4xf32>, tensor<2x4xf32>, tensor<2xf32>)
// CHECK: quant_xform.linear %arg0, %{{.*}}, %{{.*}} : (tensor<2x3x4xf32>, tensor<3x4xf32>, tensor<3xf32>)

// CHECK-LABEL: func.func @kept
// CHECK: %[[BN:.*]] = quant_xform.batch_norm %arg0
// CHECK: quant_xform.linear %[[BN]]

// The W8A8 pipeline folds them first, so its linears are quantized.
// W8A8-LABEL: func.func @after_linear
// W8A8-NOT: quant_xform.batch_norm
// W8A8: quant_xform.qlinear
// W8A8-LABEL: func.func @before_linears
// W8A8-NOT: quant_xform.batch_norm
// W8A8: quant_xform.qlinear

// NUM1: model
// NUM1-NEXT: .mlir 0 {{.*}} {{[0-9.]+e-(0[7-9]|[1-9][0-9])}}
// NUM2: model
// NUM2-NEXT: 0 {{.*}} {{(0\.0000e\+00|[0-9.]+e-(0[7-9]|[1-9][0-9]))}}
// NUM2-NEXT: 1 {{.*}} {{(0\.0000e\+00|[0-9.]+e-(0[7-9]|[1-9][0-9]))}}
