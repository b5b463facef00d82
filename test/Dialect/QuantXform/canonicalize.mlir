// Folds that -canonicalize applies to quant_xform ops.
// RUN: xform-opt %s -canonicalize -split-input-file | FileCheck %s

// CHECK-LABEL: func.func @rotate_then_inverse
// CHECK-SAME: (%[[X:[^:]+]]: tensor<2x4xf32>
// CHECK-NOT: quant_xform.rotate
// CHECK: return %[[X]]
func.func @rotate_then_inverse(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %0 = quant_xform.rotate hadamard %x signs [1, -1, -1, 1] : (tensor<2x4xf32>) -> tensor<2x4xf32>
  %1 = quant_xform.rotate hadamard %0 signs [1, -1, -1, 1] inverse : (tensor<2x4xf32>) -> tensor<2x4xf32>
  return %1 : tensor<2x4xf32>
}

// -----

// Different signs are different rotations: nothing cancels.
// CHECK-LABEL: func.func @different_signs_stay
// CHECK-COUNT-2: quant_xform.rotate hadamard
func.func @different_signs_stay(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %0 = quant_xform.rotate hadamard %x signs [1, -1, -1, 1] : (tensor<2x4xf32>) -> tensor<2x4xf32>
  %1 = quant_xform.rotate hadamard %0 signs [1, 1, -1, 1] inverse : (tensor<2x4xf32>) -> tensor<2x4xf32>
  return %1 : tensor<2x4xf32>
}

// -----

// Two forward rotations are not inverse of each other.
// CHECK-LABEL: func.func @same_direction_stays
// CHECK-COUNT-2: quant_xform.rotate dense
func.func @same_direction_stays(%x: tensor<2x2xf32>, %q: tensor<2x2xf32>) -> tensor<2x2xf32> {
  %0 = quant_xform.rotate dense %x by %q : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  %1 = quant_xform.rotate dense %0 by %q : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  return %1 : tensor<2x2xf32>
}

// -----

// CHECK-LABEL: func.func @dense_inverse_first
// CHECK-SAME: (%[[X:[^:]+]]: tensor<2x2xf32>
// CHECK-NEXT: return %[[X]]
func.func @dense_inverse_first(%x: tensor<2x2xf32>, %q: tensor<2x2xf32>) -> tensor<2x2xf32> {
  %0 = quant_xform.rotate dense %x by %q inverse : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  %1 = quant_xform.rotate dense %0 by %q : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  return %1 : tensor<2x2xf32>
}

// -----

// CHECK-LABEL: func.func @identity_rotations
// CHECK-SAME: (%[[X:[^:]+]]: tensor<2x3xf32>
// CHECK-NOT: quant_xform.rotate
// CHECK: return %[[X]], %[[X]]
func.func @identity_rotations(%x: tensor<2x3xf32>) -> (tensor<2x3xf32>, tensor<2x3xf32>) {
  %q = arith.constant dense<[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]> : tensor<3x3xf32>
  %0 = quant_xform.rotate dense %x by %q : (tensor<2x3xf32>, tensor<3x3xf32>) -> tensor<2x3xf32>
  %1 = quant_xform.rotate permutation %x perm [0, 1, 2] : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return %0, %1 : tensor<2x3xf32>, tensor<2x3xf32>
}

// -----

// CHECK-LABEL: func.func @non_identity_permutation_stays
// CHECK: quant_xform.rotate permutation
func.func @non_identity_permutation_stays(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %0 = quant_xform.rotate permutation %x perm [0, 2, 1] : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

// CHECK-LABEL: func.func @affine_pair
// CHECK-SAME: (%[[X:[^:]+]]: tensor<2x2xf32>
// CHECK-NOT: quant_xform.affine
// CHECK: return %[[X]]
func.func @affine_pair(%x: tensor<2x2xf32>) -> tensor<2x2xf32> {
  %a = arith.constant dense<[[2.0, 1.0], [0.5, 3.0]]> : tensor<2x2xf32>
  %d = arith.constant dense<[1.0, -1.0]> : tensor<2xf32>
  %0 = quant_xform.affine %x by %a shift %d : (tensor<2x2xf32>, tensor<2x2xf32>, tensor<2xf32>) -> tensor<2x2xf32>
  %1 = quant_xform.affine %0 by %a shift %d inverse : (tensor<2x2xf32>, tensor<2x2xf32>, tensor<2xf32>) -> tensor<2x2xf32>
  return %1 : tensor<2x2xf32>
}

// -----

// A different shift is a different transform.
// CHECK-LABEL: func.func @affine_different_shift
// CHECK-COUNT-2: quant_xform.affine
func.func @affine_different_shift(%x: tensor<2x2xf32>) -> tensor<2x2xf32> {
  %a = arith.constant dense<[[2.0, 1.0], [0.5, 3.0]]> : tensor<2x2xf32>
  %d = arith.constant dense<[1.0, -1.0]> : tensor<2xf32>
  %0 = quant_xform.affine %x by %a shift %d : (tensor<2x2xf32>, tensor<2x2xf32>, tensor<2xf32>) -> tensor<2x2xf32>
  %1 = quant_xform.affine %0 by %a inverse : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  return %1 : tensor<2x2xf32>
}

// -----

// CHECK-LABEL: func.func @affine_identity
// CHECK-SAME: (%[[X:[^:]+]]: tensor<2x2xf32>
// CHECK-NEXT: return %[[X]]
func.func @affine_identity(%x: tensor<2x2xf32>) -> tensor<2x2xf32> {
  %a = arith.constant dense<[[1.0, 0.0], [0.0, 1.0]]> : tensor<2x2xf32>
  %0 = quant_xform.affine %x by %a : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  return %0 : tensor<2x2xf32>
}

// -----

// CHECK-LABEL: func.func @smooth_pair_and_identity
// CHECK-SAME: (%[[X:[^:]+]]: tensor<2x2xf32>
// CHECK-NOT: quant_xform.smooth
// CHECK: return %[[X]], %[[X]]
func.func @smooth_pair_and_identity(%x: tensor<2x2xf32>) -> (tensor<2x2xf32>, tensor<2x2xf32>) {
  %s = arith.constant dense<[2.0, 0.5]> : tensor<2xf32>
  %one = arith.constant dense<1.0> : tensor<2xf32>
  %0 = quant_xform.smooth %x by %s inverse : (tensor<2x2xf32>, tensor<2xf32>) -> tensor<2x2xf32>
  %1 = quant_xform.smooth %0 by %s : (tensor<2x2xf32>, tensor<2xf32>) -> tensor<2x2xf32>
  %2 = quant_xform.smooth %x by %one : (tensor<2x2xf32>, tensor<2xf32>) -> tensor<2x2xf32>
  return %1, %2 : tensor<2x2xf32>, tensor<2x2xf32>
}

// -----

// Different kinds never cancel, even when both are inverted pairs.
// CHECK-LABEL: func.func @mixed_kinds_stay
// CHECK: quant_xform.smooth
// CHECK: quant_xform.affine
func.func @mixed_kinds_stay(%x: tensor<2x2xf32>) -> tensor<2x2xf32> {
  %s = arith.constant dense<[2.0, 0.5]> : tensor<2xf32>
  %a = arith.constant dense<[[2.0, 0.0], [0.0, 0.5]]> : tensor<2x2xf32>
  %0 = quant_xform.smooth %x by %s : (tensor<2x2xf32>, tensor<2xf32>) -> tensor<2x2xf32>
  %1 = quant_xform.affine %0 by %a inverse : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  return %1 : tensor<2x2xf32>
}

// -----

// CHECK-LABEL: func.func @requantize
// CHECK-SAME: (%[[Q:[^:]+]]: tensor<4x8xi8>
// CHECK-NEXT: return %[[Q]]
func.func @requantize(%q: tensor<4x8xi8>, %s: tensor<4xf32>) -> tensor<4x8xi8> {
  %x = quant_xform.dequantize %q, %s scheme<per_token> : (tensor<4x8xi8>, tensor<4xf32>) -> tensor<4x8xf32>
  %r = quant_xform.quantize %x, %s scheme<per_token> : (tensor<4x8xf32>, tensor<4xf32>) -> tensor<4x8xi8>
  return %r : tensor<4x8xi8>
}

// -----

// Another scale: the integers change, so nothing folds.
// CHECK-LABEL: func.func @requantize_other_scale
// CHECK: quant_xform.quantize
func.func @requantize_other_scale(%q: tensor<4x8xi8>, %s: tensor<4xf32>, %t: tensor<4xf32>) -> tensor<4x8xi8> {
  %x = quant_xform.dequantize %q, %s scheme<per_token> : (tensor<4x8xi8>, tensor<4xf32>) -> tensor<4x8xf32>
  %r = quant_xform.quantize %x, %t scheme<per_token> : (tensor<4x8xf32>, tensor<4xf32>) -> tensor<4x8xi8>
  return %r : tensor<4x8xi8>
}

// -----

// Chains compose: two permutations are one permutation; (x[p1])[p2] = x[p1[p2]].
// CHECK-LABEL: func.func @compose_permutations
// CHECK: %[[R:.*]] = quant_xform.rotate permutation %arg0 perm [2, 0, 3, 1] {quant_xform.pinned}
// CHECK-NEXT: return %[[R]]
func.func @compose_permutations(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %0 = quant_xform.rotate permutation %x perm [1, 2, 3, 0] : (tensor<2x4xf32>) -> tensor<2x4xf32>
  %1 = quant_xform.rotate permutation %0 perm [1, 3, 2, 0] {quant_xform.pinned} : (tensor<2x4xf32>) -> tensor<2x4xf32>
  return %1 : tensor<2x4xf32>
}

// -----

// A dense rotation after a permutation is one dense rotation.
// CHECK-LABEL: func.func @compose_dense
// P·Q = [[0, 1], [1, 0]]·[[0, 1], [−1, 0]] = [[−1, 0], [0, 1]].
// CHECK: %[[Q:.*]] = arith.constant dense<{{\[\[}}-1.000000e+00, 0.000000e+00], [0.000000e+00, 1.000000e+00]]> : tensor<2x2xf32>
// CHECK: %[[R:.*]] = quant_xform.rotate dense %arg0 by %[[Q]]
// CHECK-NEXT: return %[[R]]
func.func @compose_dense(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %q = arith.constant dense<[[0.0, 1.0], [-1.0, 0.0]]> : tensor<2x2xf32>
  %0 = quant_xform.rotate permutation %x perm [1, 0] : (tensor<3x2xf32>) -> tensor<3x2xf32>
  %1 = quant_xform.rotate dense %0 by %q : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32>
  return %1 : tensor<3x2xf32>
}

// -----

// Two smooths: ((x − 1)/2 − 0.5)/4 = (x − 2)/8.
// CHECK-LABEL: func.func @compose_smooths
// CHECK-DAG: %[[S:.*]] = arith.constant dense<8.000000e+00> : tensor<2xf32>
// CHECK-DAG: %[[D:.*]] = arith.constant dense<2.000000e+00> : tensor<2xf32>
// CHECK: %[[R:.*]] = quant_xform.smooth %arg0 by %[[S]] shift %[[D]]
// CHECK-NEXT: return %[[R]]
func.func @compose_smooths(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %s1 = arith.constant dense<2.0> : tensor<2xf32>
  %d1 = arith.constant dense<1.0> : tensor<2xf32>
  %s2 = arith.constant dense<4.0> : tensor<2xf32>
  %d2 = arith.constant dense<0.5> : tensor<2xf32>
  %0 = quant_xform.smooth %x by %s1 shift %d1 : (tensor<3x2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<3x2xf32>
  %1 = quant_xform.smooth %0 by %s2 shift %d2 : (tensor<3x2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<3x2xf32>
  return %1 : tensor<3x2xf32>
}

// -----

// A pinned transform and its inverse (an inserted pair) neither cancel nor
// compose; Hadamards are never composed.
// CHECK-LABEL: func.func @pinned_pair_stays
// CHECK: quant_xform.rotate permutation %arg0 perm [1, 2, 3, 0] {quant_xform.pinned}
// CHECK-NEXT: quant_xform.rotate permutation %{{.*}} perm [1, 2, 3, 0] inverse
// CHECK: quant_xform.rotate hadamard
// CHECK-NEXT: quant_xform.rotate hadamard
func.func @pinned_pair_stays(%x: tensor<2x4xf32>) -> (tensor<2x4xf32>, tensor<2x4xf32>) {
  %0 = quant_xform.rotate permutation %x perm [1, 2, 3, 0] {quant_xform.pinned} : (tensor<2x4xf32>) -> tensor<2x4xf32>
  %1 = quant_xform.rotate permutation %0 perm [1, 2, 3, 0] inverse : (tensor<2x4xf32>) -> tensor<2x4xf32>
  %2 = quant_xform.rotate hadamard %x signs [1, -1, 1, 1] : (tensor<2x4xf32>) -> tensor<2x4xf32>
  %3 = quant_xform.rotate hadamard %2 signs [1, 1, -1, 1] : (tensor<2x4xf32>) -> tensor<2x4xf32>
  return %1, %3 : tensor<2x4xf32>, tensor<2x4xf32>
}
