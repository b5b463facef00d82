// quant-xform-layernorm-to-rmsnorm: centering the residual stream's writers
// makes every LayerNorm an RMSNorm without changing the function
// (relative error ≤ 1e-5); a stream with a mean-sensitive reader is kept.
// RUN: xform-opt %s -quant-xform-layernorm-to-rmsnorm -verify-diagnostics | FileCheck %s
// RUN: xform-opt %s -quant-xform-layernorm-to-rmsnorm -verify-diagnostics -o %t.rms.mlir
// RUN: xform-run --reference %s --entry with_final_norm --seed 2 --no-print --max-rel-err 1e-5 --compare %t.rms.mlir
// RUN: xform-opt %src_root/examples/block_post.mlir -quant-xform-layernorm-to-rmsnorm -o %t.post.mlir
// RUN: xform-run --reference %src_root/examples/block_post.mlir --seed 2 --no-print --max-rel-err 1e-5 --compare %t.post.mlir
// RUN: FileCheck %s --check-prefix=POST < %t.post.mlir
// Quantizing after the conversion works as before.
// RUN: xform-opt %t.post.mlir -quant-xform-w8a8="rotation=hadamard" -o %t.post-int8.mlir
// RUN: xform-run --reference %src_root/examples/block_post.mlir --seed 2 --no-print --min-sqnr 25 --compare %t.post-int8.mlir

// Two pre-norm sublayers on a residual stream of 4 features, ending in a
// final LayerNorm. The function argument is centered once, online (it also
// feeds the first norm); the linears writing the stream are centered in
// their weights.
// CHECK-LABEL: func.func @with_final_norm
// CHECK-SAME: (%[[ARG:.*]]: tensor<3x4xf32>)
// CHECK: %[[SUM:.*]] = linalg.reduce ins(%[[ARG]] : tensor<3x4xf32>)
// CHECK: %[[MEAN:.*]] = arith.mulf %[[SUM]]
// CHECK: %[[B:.*]] = linalg.broadcast ins(%[[MEAN]]
// CHECK: %[[X:.*]] = arith.subf %[[ARG]], %[[B]]
// CHECK: quant_xform.rms_norm %[[X]], {{.*}} {epsilon = 1.000000e-05 : f64}
// CHECK-NOT: linalg.reduce
// CHECK: quant_xform.rms_norm
// CHECK: quant_xform.rms_norm {{.*}} {epsilon = 1.000000e-03 : f64}
// CHECK-NOT: layer_norm
func.func @with_final_norm(%x: tensor<3x4xf32>) -> tensor<3x4xf32> {
  %g = arith.constant dense<[1.5, 0.5, 2.0, 1.0]> : tensor<4xf32>
  %beta = arith.constant dense<[0.1, -0.2, 0.0, 0.3]> : tensor<4xf32>
  %w1 = arith.constant dense<[[0.5, -1.0, 0.25, 2.0], [1.5, 0.2, -0.4, 0.3], [-0.3, 0.8, 1.2, -0.6], [0.1, 0.1, -0.2, 0.7]]> : tensor<4x4xf32>
  %b1 = arith.constant dense<[0.1, -0.2, 0.05, 0.3]> : tensor<4xf32>
  %w2 = arith.constant dense<[[0.2, 0.4, -0.6, 0.8], [0.3, -0.1, 0.7, 0.2], [-1.1, 0.6, 0.0, 0.4], [0.9, -0.7, 0.3, -0.5]]> : tensor<4x4xf32>
  %h = quant_xform.layer_norm %x, %g, %beta : (tensor<3x4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<3x4xf32>
  %a = quant_xform.linear %h, %w1, %b1 : (tensor<3x4xf32>, tensor<4x4xf32>, tensor<4xf32>) -> tensor<3x4xf32>
  %r1 = arith.addf %x, %a : tensor<3x4xf32>
  %h2 = quant_xform.layer_norm %r1, %g : (tensor<3x4xf32>, tensor<4xf32>) -> tensor<3x4xf32>
  %d = quant_xform.linear %h2, %w2 : (tensor<3x4xf32>, tensor<4x4xf32>) -> tensor<3x4xf32>
  %r2 = arith.addf %r1, %d : tensor<3x4xf32>
  %y = quant_xform.layer_norm %r2, %g, %beta {epsilon = 1.0e-3 : f64} : (tensor<3x4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<3x4xf32>
  return %y : tensor<3x4xf32>
}

// The same sublayers returning the stream itself: its mean reaches the
// result, so both LayerNorms stay.
// CHECK-LABEL: func.func @returns_stream
// CHECK-COUNT-2: quant_xform.layer_norm
func.func @returns_stream(%x: tensor<3x4xf32>) -> tensor<3x4xf32> {
  %g = arith.constant dense<[1.5, 0.5, 2.0, 1.0]> : tensor<4xf32>
  %w1 = arith.constant dense<[[0.5, -1.0, 0.25, 2.0], [1.5, 0.2, -0.4, 0.3], [-0.3, 0.8, 1.2, -0.6], [0.1, 0.1, -0.2, 0.7]]> : tensor<4x4xf32>
  // expected-warning @+1 {{LayerNorm kept: its residual stream is also read by 'func.return', which is not invariant to the per-token mean}}
  %h = quant_xform.layer_norm %x, %g : (tensor<3x4xf32>, tensor<4xf32>) -> tensor<3x4xf32>
  %a = quant_xform.linear %h, %w1 : (tensor<3x4xf32>, tensor<4x4xf32>) -> tensor<3x4xf32>
  %r1 = arith.addf %x, %a : tensor<3x4xf32>
  %h2 = quant_xform.layer_norm %r1, %g : (tensor<3x4xf32>, tensor<4xf32>) -> tensor<3x4xf32>
  // expected-note @+1 {{that reader is here}}
  return %r1 : tensor<3x4xf32>
}

// Post-norm block: the argument (also read by q/k/v) and the first norm's
// output (also read by mlp.up) are centered on their residual edges.
// POST-LABEL: func.func @main
// POST-NOT: quant_xform.layer_norm
// POST: linalg.reduce
// POST: quant_xform.rms_norm
// POST: linalg.reduce
// POST: quant_xform.rms_norm
// POST-NOT: linalg.reduce
