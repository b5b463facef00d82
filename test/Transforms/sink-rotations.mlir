// quant-xform-sink-rotations: a block that reads and writes a rotated
// residual stream (`rotate … inverse` on the argument, `rotate` on the
// result, as quant_xform.llm_ir places them) ends with both rotations folded
// into its linears; the function is unchanged (relative error ≤ 1e-5).
// RUN: xform-opt %s -quant-xform-sink-rotations | FileCheck %s
// RUN: xform-opt %s -quant-xform-sink-rotations -o %t.mlir
// RUN: xform-run --reference %s --seed 3 --no-print --max-rel-err 1e-5 --compare %t.mlir
// The W8A8 pipeline does it first with residual-rotation=true (and not
// otherwise): its linears are then quantized with the rotations inside.
// RUN: xform-opt %s '-quant-xform-w8a8=residual-rotation=true' | FileCheck %s --check-prefix=W8A8
// RUN: xform-opt %s '-quant-xform-w8a8' | FileCheck %s --check-prefix=KEPT
// W8A8-LABEL: func.func @main
// W8A8-NOT: quant_xform.rotate
// W8A8-COUNT-3: quant_xform.qlinear
// W8A8-NOT: quant_xform.rotate
// W8A8-LABEL: func.func @blocked
// KEPT-LABEL: func.func @main
// KEPT: quant_xform.rotate hadamard %{{.*}} inverse

// Norm readers take W·Q, the writers into the stream Q·W: no rotation left.
// CHECK-LABEL: func.func @main
// CHECK-SAME: (%[[X:.*]]: tensor<3x8xf32>)
// CHECK-NOT: quant_xform.rotate
// CHECK: %[[N:.*]] = quant_xform.rms_norm %[[X]]
// CHECK: %[[Q:.*]] = quant_xform.linear %[[N]]
// CHECK: %[[O:.*]] = quant_xform.linear %[[Q]]
// CHECK: %[[H:.*]] = arith.addf %[[X]], %[[O]]
// CHECK: %[[N2:.*]] = quant_xform.rms_norm %[[H]]
// CHECK: %[[D:.*]] = quant_xform.linear %[[N2]]
// CHECK: %[[Y:.*]] = arith.addf %[[H]], %[[D]]
// CHECK-NOT: quant_xform.rotate
// CHECK: return %[[Y]], %[[Q]]
func.func @main(%xr: tensor<3x8xf32>) -> (tensor<3x8xf32>, tensor<3x4xf32>) {
  %ones = arith.constant dense<1.0> : tensor<8xf32>
  %w1 = arith.constant dense<[[0.5, -1.0, 0.25, 2.0, -0.75, 0.1, 0.3, -0.2],
                              [1.5, 0.2, -0.4, 0.0, 0.9, -1.1, 0.05, 0.6],
                              [-0.3, 0.8, 1.2, -0.6, 0.3, 0.0, -1.3, 0.2],
                              [0.1, 0.1, -0.2, 0.7, -0.4, 0.5, 0.6, -0.9]]> : tensor<4x8xf32>
  %w2 = arith.constant dense<[[0.2, 0.4, -0.6, 0.8], [0.3, -0.1, 0.7, 0.2],
                              [-1.1, 0.6, 0.0, 0.4], [0.9, -0.7, 0.3, -0.5],
                              [0.5, -0.8, 0.9, -0.3], [-0.2, 0.3, 0.1, 0.5],
                              [0.6, 0.2, -0.4, 0.8], [0.1, -0.3, 0.2, 0.4]]> : tensor<8x4xf32>
  %b2 = arith.constant dense<[0.1, -0.2, 0.3, 0.0, 0.05, -0.1, 0.2, 0.4]> : tensor<8xf32>
  %w3 = arith.constant dense<[[0.7, -0.2, 0.1, 0.4, -0.5, 0.3, 0.2, -0.6],
                              [0.3, 0.5, -0.7, 0.2, 0.1, -0.4, 0.6, 0.0],
                              [-0.1, 0.2, 0.3, -0.8, 0.6, 0.5, -0.2, 0.1],
                              [0.4, 0.0, 0.2, 0.1, -0.3, 0.7, -0.5, 0.9],
                              [0.2, -0.6, 0.4, 0.3, 0.8, -0.1, 0.0, -0.2],
                              [-0.5, 0.1, 0.6, -0.2, 0.2, 0.3, 0.4, 0.1],
                              [0.1, 0.9, -0.3, 0.5, -0.4, 0.2, 0.3, -0.7],
                              [0.6, -0.4, 0.0, 0.2, 0.1, -0.9, 0.5, 0.3]]> : tensor<8x8xf32>
  %x = quant_xform.rotate hadamard %xr signs [1, -1, 1, 1, -1, 1, 1, -1] inverse : (tensor<3x8xf32>) -> tensor<3x8xf32>
  %n = quant_xform.rms_norm %x, %ones : (tensor<3x8xf32>, tensor<8xf32>) -> tensor<3x8xf32>
  %q = quant_xform.linear %n, %w1 : (tensor<3x8xf32>, tensor<4x8xf32>) -> tensor<3x4xf32>
  %o = quant_xform.linear %q, %w2, %b2 : (tensor<3x4xf32>, tensor<8x4xf32>, tensor<8xf32>) -> tensor<3x8xf32>
  %h = arith.addf %x, %o : tensor<3x8xf32>
  %n2 = quant_xform.rms_norm %h, %ones : (tensor<3x8xf32>, tensor<8xf32>) -> tensor<3x8xf32>
  %d = quant_xform.linear %n2, %w3 : (tensor<3x8xf32>, tensor<8x8xf32>) -> tensor<3x8xf32>
  %y = arith.addf %h, %d : tensor<3x8xf32>
  %yr = quant_xform.rotate hadamard %y signs [1, -1, 1, 1, -1, 1, 1, -1] : (tensor<3x8xf32>) -> tensor<3x8xf32>
  return %yr, %q : tensor<3x8xf32>, tensor<3x4xf32>
}

// What blocks a rotation: a norm with γ ≠ 1, an add whose other operand is
// an argument, a pinned rotation. They stay where they are, online.
// CHECK-LABEL: func.func @blocked
// CHECK: quant_xform.rotate hadamard %{{.*}} signs [1, 1, -1, 1] inverse
// CHECK-NEXT: quant_xform.rms_norm
// CHECK: quant_xform.rotate hadamard %{{.*}} signs [1, -1, -1, 1] inverse
// CHECK-NEXT: arith.addf
// CHECK: quant_xform.rotate hadamard %{{.*}} signs [-1, 1, 1, 1] {quant_xform.pinned}
// CHECK-NEXT: quant_xform.rms_norm
func.func @blocked(%a: tensor<2x4xf32>, %b: tensor<2x4xf32>, %c: tensor<2x4xf32>) -> (tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>) {
  %g = arith.constant dense<[1.0, 2.0, 1.0, 0.5]> : tensor<4xf32>
  %ones = arith.constant dense<1.0> : tensor<4xf32>
  %ra = quant_xform.rotate hadamard %a signs [1, 1, -1, 1] inverse : (tensor<2x4xf32>) -> tensor<2x4xf32>
  %na = quant_xform.rms_norm %ra, %g : (tensor<2x4xf32>, tensor<4xf32>) -> tensor<2x4xf32>
  %rb = quant_xform.rotate hadamard %b signs [1, -1, -1, 1] inverse : (tensor<2x4xf32>) -> tensor<2x4xf32>
  %s = arith.addf %rb, %c : tensor<2x4xf32>
  %rc = quant_xform.rotate hadamard %c signs [-1, 1, 1, 1] {quant_xform.pinned} : (tensor<2x4xf32>) -> tensor<2x4xf32>
  %nc = quant_xform.rms_norm %rc, %ones : (tensor<2x4xf32>, tensor<4xf32>) -> tensor<2x4xf32>
  return %na, %s, %nc : tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>
}
