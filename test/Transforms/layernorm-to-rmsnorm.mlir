// quant-xform-layernorm-to-rmsnorm: centering the residual stream's writers
// makes every LayerNorm an RMSNorm without changing the function
// (relative error ≤ 1e-5); a stream with a mean-sensitive reader is kept.
// RUN: xform-opt %S/Inputs/residual.mlir -quant-xform-layernorm-to-rmsnorm 2>&1 | FileCheck %s
// RUN: xform-opt %S/Inputs/residual.mlir -quant-xform-layernorm-to-rmsnorm -o %t.rms.mlir 2>/dev/null
// RUN: xform-run --reference %S/Inputs/residual.mlir --entry with_final_norm --seed 2 --no-print --max-rel-err 1e-5 --compare %t.rms.mlir
// RUN: xform-opt %src_root/examples/block_post.mlir -quant-xform-layernorm-to-rmsnorm -o %t.post.mlir
// RUN: xform-run --reference %src_root/examples/block_post.mlir --seed 2 --no-print --max-rel-err 1e-5 --compare %t.post.mlir
// RUN: FileCheck %s --check-prefix=POST < %t.post.mlir
// Quantizing after the conversion works as before.
// RUN: xform-opt %t.post.mlir -quant-xform-w8a8="rotation=hadamard" -o %t.post-int8.mlir
// RUN: xform-run --reference %src_root/examples/block_post.mlir --seed 2 --no-print --min-sqnr 25 --compare %t.post-int8.mlir

// CHECK: warning: LayerNorm kept: its residual stream is also read by 'func.return', which is not invariant to the per-token mean
// CHECK: note: that reader is here
// CHECK-LABEL: func.func @with_final_norm
// The function argument is centered once, online (it also feeds the first
// norm); the linears writing the stream are centered in their weights.
// CHECK: %[[SUM:.*]] = linalg.reduce ins(%arg0 : tensor<3x4xf32>)
// CHECK: %[[MEAN:.*]] = arith.mulf %[[SUM]]
// CHECK: %[[B:.*]] = linalg.broadcast ins(%[[MEAN]]
// CHECK: %[[X:.*]] = arith.subf %arg0, %[[B]]
// CHECK: quant_xform.rms_norm %[[X]], {{.*}} {epsilon = 1.000000e-05 : f64}
// CHECK-NOT: linalg.reduce
// CHECK: quant_xform.rms_norm
// CHECK: quant_xform.rms_norm {{.*}} {epsilon = 1.000000e-03 : f64}
// CHECK-NOT: layer_norm
// CHECK-LABEL: func.func @returns_stream
// CHECK-COUNT-2: quant_xform.layer_norm

// Post-norm block: the argument (also read by q/k/v) and the first norm's
// output (also read by mlp.up) are centered on their residual edges.
// POST-NOT: quant_xform.layer_norm
// POST: linalg.reduce
// POST: quant_xform.rms_norm
// POST: linalg.reduce
// POST: quant_xform.rms_norm
// POST-NOT: linalg.reduce
