// quant-xform-insert-transforms: every kind inserts a pinned T and its
// inverse in front of the selected linears; the pair changes nothing, and
// after folding T⁻¹ into the weights the float function is still the same
// (relative error ≤ 1e-5 on seeded random inputs).
// RUN: xform-opt %S/Inputs/two-readers.mlir -quant-xform-insert-transforms | FileCheck %s
// RUN: xform-opt %S/Inputs/two-readers.mlir -quant-xform-insert-transforms -quant-xform-fold-transforms-into-linears | FileCheck %s --check-prefix=FOLD
//
// Numerical equivalence of each kind after insertion and after folding.
// RUN: xform-run --reference %S/Inputs/matrices.mlir --entry orthogonal8 --no-print --output %t.q.npy
// RUN: xform-run --reference %S/Inputs/matrices.mlir --entry affine8 --no-print --output %t.a.npy
// RUN: xform-run --reference %S/Inputs/matrices.mlir --entry singular8 --no-print --output %t.s.npy
// RUN: xform-opt %S/Inputs/two-readers.mlir -quant-xform-insert-transforms="kind=hadamard seed=3" -o %t.h.mlir
// RUN: xform-opt %t.h.mlir -quant-xform-fold-transforms-into-linears -o %t.hf.mlir
// RUN: xform-opt %S/Inputs/two-readers.mlir -quant-xform-insert-transforms="kind=random-orthogonal seed=5" -quant-xform-fold-transforms-into-linears -o %t.ro.mlir
// RUN: xform-opt %S/Inputs/two-readers.mlir -quant-xform-insert-transforms="kind=permutation seed=2" -quant-xform-fold-transforms-into-linears -o %t.p.mlir
// RUN: xform-opt %S/Inputs/two-readers.mlir -quant-xform-calibrate -quant-xform-insert-transforms="kind=permutation" -quant-xform-fold-transforms-into-linears -o %t.ps.mlir
// RUN: xform-opt %S/Inputs/two-readers.mlir -quant-xform-calibrate -quant-xform-insert-transforms="kind=smooth alpha=0.5" -quant-xform-fold-transforms-into-linears -o %t.sm.mlir
// RUN: xform-opt %S/Inputs/two-readers.mlir -quant-xform-calibrate -quant-xform-insert-transforms="kind=pca" -quant-xform-fold-transforms-into-linears -o %t.pca.mlir
// RUN: xform-opt %S/Inputs/two-readers.mlir -quant-xform-insert-transforms="kind=dense matrix-file=%t.q.npy layers=attn\..*" -quant-xform-fold-transforms-into-linears -o %t.d.mlir
// RUN: xform-opt %S/Inputs/two-readers.mlir -quant-xform-insert-transforms="kind=affine matrix-file=%t.a.npy roles=attn_in" -quant-xform-fold-transforms-into-linears -o %t.af.mlir
// RUN: xform-run --reference %S/Inputs/two-readers.mlir --seed 21 --no-print --max-rel-err 1e-5 --compare %t.h.mlir --compare %t.hf.mlir --compare %t.ro.mlir --compare %t.p.mlir --compare %t.ps.mlir --compare %t.sm.mlir --compare %t.pca.mlir --compare %t.d.mlir --compare %t.af.mlir | FileCheck %s --check-prefix=NUM
//
// Layer selection.
// RUN: xform-opt %S/Inputs/two-readers.mlir -quant-xform-insert-transforms="roles=mlp_down" | FileCheck %s --check-prefix=ROLE
// RUN: xform-opt %S/Inputs/two-readers.mlir -quant-xform-insert-transforms="layers=attn\.k" | FileCheck %s --check-prefix=REGEX
// RUN: xform-opt %S/Inputs/two-readers.mlir -quant-xform-calibrate -quant-xform-insert-transforms="kind=permutation" | FileCheck %s --check-prefix=PERM
//
// Bad options and inputs: an error naming the problem, a non-zero exit.
// RUN: not xform-opt %S/Inputs/two-readers.mlir -quant-xform-insert-transforms="kind=spin" 2>&1 | FileCheck %s --check-prefix=ERR-KIND
// RUN: not xform-opt %S/Inputs/two-readers.mlir -quant-xform-insert-transforms="kind=smooth alpha=1.5" 2>&1 | FileCheck %s --check-prefix=ERR-ALPHA
// RUN: not xform-opt %S/Inputs/two-readers.mlir -quant-xform-insert-transforms="kind=smooth" 2>&1 | FileCheck %s --check-prefix=ERR-STATS
// RUN: not xform-opt %S/Inputs/two-readers.mlir -quant-xform-insert-transforms="kind=pca" 2>&1 | FileCheck %s --check-prefix=ERR-PCA
// RUN: not xform-opt %S/Inputs/two-readers.mlir -quant-xform-insert-transforms="kind=dense" 2>&1 | FileCheck %s --check-prefix=ERR-NOFILE
// RUN: not xform-opt %S/Inputs/two-readers.mlir -quant-xform-insert-transforms="kind=dense matrix-file=%t.missing.npy" 2>&1 | FileCheck %s --check-prefix=ERR-MISSING
// RUN: not xform-opt %S/Inputs/two-readers.mlir -quant-xform-insert-transforms="kind=dense matrix-file=%t.a.npy roles=attn_in" 2>&1 | FileCheck %s --check-prefix=ERR-ORTHO
// RUN: not xform-opt %S/Inputs/two-readers.mlir -quant-xform-insert-transforms="kind=affine matrix-file=%t.s.npy roles=attn_in" 2>&1 | FileCheck %s --check-prefix=ERR-SINGULAR
// RUN: not xform-opt %S/Inputs/two-readers.mlir -quant-xform-insert-transforms="kind=dense matrix-file=%t.q.npy" 2>&1 | FileCheck %s --check-prefix=ERR-SIZE
// RUN: not xform-opt %S/Inputs/two-readers.mlir -quant-xform-insert-transforms="layers=(" 2>&1 | FileCheck %s --check-prefix=ERR-REGEX
// RUN: not xform-opt %S/Inputs/two-readers.mlir -quant-xform-insert-transforms="roles=attention" 2>&1 | FileCheck %s --check-prefix=ERR-ROLE
//
// An error at the linear below.
// RUN: xform-opt %s -quant-xform-insert-transforms -verify-diagnostics

// CHECK-LABEL: func.func @main
// CHECK: %[[H:.*]] = quant_xform.rms_norm
// CHECK-NEXT: %[[T:.*]] = quant_xform.rotate hadamard %[[H]] signs [{{.*}}] {quant_xform.pinned} : (tensor<4x8xf32>) -> tensor<4x8xf32>
// CHECK-NEXT: %[[U:.*]] = quant_xform.rotate hadamard %[[T]] signs [{{.*}}] inverse : (tensor<4x8xf32>) -> tensor<4x8xf32>
// CHECK-NEXT: quant_xform.linear %[[U]], {{.*}}quant_xform.layer = "attn.q"
// CHECK-NEXT: quant_xform.linear %[[U]], {{.*}}quant_xform.layer = "attn.k"
// CHECK: %[[TANH:.*]] = math.tanh
// CHECK-NEXT: %[[T2:.*]] = quant_xform.rotate hadamard %[[TANH]] signs [{{.*}}] {quant_xform.pinned}
// CHECK-NEXT: %[[U2:.*]] = quant_xform.rotate hadamard %[[T2]] signs [{{.*}}] inverse
// CHECK-NEXT: quant_xform.linear %[[U2]], {{.*}}quant_xform.layer = "mlp.down"

// After folding only the pinned halves stay: after a norm and after tanh.
// FOLD-LABEL: func.func @main
// FOLD-COUNT-2: quant_xform.rotate hadamard %{{.*}} {quant_xform.pinned}
// FOLD-NOT: inverse
// FOLD-NOT: quant_xform.rotate

// --max-rel-err fails the run otherwise; nine models, two results each.
// NUM: model
// NUM-COUNT-18: .mlir {{[01]}} {{[0-9.]+e[-+][0-9]+}} {{[0-9.]+e-(0[6-9]|[1-9][0-9])}}

// ROLE-LABEL: func.func @main
// ROLE-COUNT-1: quant_xform.rotate hadamard %{{.*}} {quant_xform.pinned} : (tensor<4x4xf32>)
// ROLE-NOT: quant_xform.pinned

// Only attn.k reads the inverse; attn.q keeps reading the norm.
// REGEX-LABEL: func.func @main
// REGEX: %[[H:.*]] = quant_xform.rms_norm
// REGEX: %[[U:.*]] = quant_xform.rotate hadamard {{.*}} inverse
// REGEX-NEXT: quant_xform.linear %[[H]], {{.*}}"attn.q"
// REGEX-NEXT: quant_xform.linear %[[U]], {{.*}}"attn.k"

// With statistics, channels are sorted by decreasing absmax; channel 6
// (γ = 3) comes first.
// PERM-LABEL: func.func @main
// PERM: quant_xform.rotate permutation %{{.*}} perm [6, {{.*}}] {quant_xform.pinned}

// ERR-KIND: for the --kind option: Cannot find option named 'spin'!
// ERR-ALPHA: error: quant-xform-insert-transforms: alpha must be in [0, 1], got 1.5
// ERR-STATS: error: linear 'attn.q' has no calibration statistics; run quant-xform-calibrate first
// ERR-PCA: error: linear 'attn.q' has no second-moment statistics
// ERR-NOFILE: error: quant-xform-insert-transforms: kind=dense needs matrix-file=<.npy>
// ERR-MISSING: error: quant-xform-insert-transforms: cannot read matrix-file
// ERR-ORTHO: error: matrix-file '{{.*}}' is not orthogonal
// ERR-SINGULAR: error: matrix-file '{{.*}}' is singular or ill-conditioned
// ERR-SIZE: error: linear 'mlp.down': matrix-file is 8x8 but the feature size is 4
// ERR-REGEX: error: quant-xform-insert-transforms: invalid layers regex '('
// ERR-ROLE: error: quant-xform-insert-transforms: unknown role 'attention'

// A Hadamard rotation of an odd feature size does not exist.
func.func @odd_feature_size(%x: tensor<2x5xf32>) -> tensor<2x2xf32> {
  %w = arith.constant dense<1.0> : tensor<2x5xf32>
  // expected-error @+1 {{linear 'odd': a Hadamard rotation needs an even feature size, got 5}}
  %y = quant_xform.linear %x, %w {quant_xform.layer = "odd"} : (tensor<2x5xf32>, tensor<2x5xf32>) -> tensor<2x2xf32>
  return %y : tensor<2x2xf32>
}
