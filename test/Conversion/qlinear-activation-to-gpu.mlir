// An elementwise linalg.generic behind a qlinear (an activation: here the
// exact GELU, as the Python front end emits it) is fused into the GEMM's
// epilogue: the outlined kernel function holds both, the GEMM applies the
// generic's body to each dequantized value before its store (erf inside
// the kernel), and no loop kernel or buffer is left for the activation.
// A generic that reads its init, or a result with other users, is not
// fused.
// RUN: xform-opt %s -split-input-file -convert-quant-xform-qlinear-to-gpu | FileCheck %s
// RUN: xform-opt %s -split-input-file -convert-quant-xform-qlinear-to-gpu="wgmma=true" | FileCheck %s --check-prefix=WGMMA

// CHECK-LABEL: gpu.func @mlp_gpu1_qlinear0(
// CHECK: math.erf
// CHECK-LABEL: func.func private @mlp_gpu1(
// CHECK-SAME: %{{.*}}: memref<64x32xi8>, %{{.*}}: memref<64xf32>, %{{.*}}: memref<128x32xi8>, %{{.*}}: memref<128xf32>, %[[Y:.*]]: memref<64x128xf32>)
// CHECK: gpu.launch_func @qx_gpu_kernels::@mlp_gpu1_qlinear0 {{.*}} %[[Y]] : memref<64x128xf32>)
// CHECK-NEXT: return
// CHECK-LABEL: func.func @mlp(
// CHECK: call @mlp_gpu1(
// CHECK-NOT: linalg.generic
// CHECK: return
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @mlp(%x: tensor<64x32xf32>, %w: tensor<128x32xi8>, %sw: tensor<128xf32>) -> tensor<64x128xf32> {
  %q, %s = quant_xform.dynamic_quantize %x scheme<per_token> : (tensor<64x32xf32>) -> (tensor<64x32xi8>, tensor<64xf32>)
  %u = quant_xform.qlinear %q scale %s, %w scale %sw : (tensor<64x32xi8>, tensor<64xf32>, tensor<128x32xi8>, tensor<128xf32>) -> tensor<64x128xf32>
  %init = tensor.empty() : tensor<64x128xf32>
  %g = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%u : tensor<64x128xf32>) outs(%init : tensor<64x128xf32>) {
  ^bb0(%a: f32, %o: f32):
    %c = arith.constant 0.707106769 : f32
    %t = arith.mulf %a, %c : f32
    %e = math.erf %t : f32
    %one = arith.constant 1.0 : f32
    %e1 = arith.addf %e, %one : f32
    %half = arith.constant 0.5 : f32
    %h = arith.mulf %a, %half : f32
    %r = arith.mulf %h, %e1 : f32
    linalg.yield %r : f32
  } -> tensor<64x128xf32>
  return %g : tensor<64x128xf32>
}

// -----

// The generic reads its init (an accumulation): not an activation.
// CHECK-LABEL: func.func @reads_init(
// CHECK: call @reads_init_gpu1(
// CHECK: linalg.generic
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @reads_init(%x: tensor<64x32xf32>, %w: tensor<128x32xi8>, %sw: tensor<128xf32>, %acc: tensor<64x128xf32>) -> tensor<64x128xf32> {
  %q, %s = quant_xform.dynamic_quantize %x scheme<per_token> : (tensor<64x32xf32>) -> (tensor<64x32xi8>, tensor<64xf32>)
  %u = quant_xform.qlinear %q scale %s, %w scale %sw : (tensor<64x32xi8>, tensor<64xf32>, tensor<128x32xi8>, tensor<128xf32>) -> tensor<64x128xf32>
  %g = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%u : tensor<64x128xf32>) outs(%acc : tensor<64x128xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.addf %a, %o : f32
    linalg.yield %r : f32
  } -> tensor<64x128xf32>
  return %g : tensor<64x128xf32>
}

// -----

// Canonicalization hoists the body's constants out of the generic: they
// are cloned into the kernel with the body.
// CHECK-LABEL: gpu.func @hoisted_gpu1_qlinear0(
// CHECK: arith.constant 5.000000e-01 : f32
// CHECK: math.tanh
// CHECK-LABEL: func.func @hoisted(
// CHECK-NOT: linalg.generic
// CHECK: return
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @hoisted(%x: tensor<64x32xf32>, %w: tensor<128x32xi8>, %sw: tensor<128xf32>) -> tensor<64x128xf32> {
  %half = arith.constant 0.5 : f32
  %q, %s = quant_xform.dynamic_quantize %x scheme<per_token> : (tensor<64x32xf32>) -> (tensor<64x32xi8>, tensor<64xf32>)
  %u = quant_xform.qlinear %q scale %s, %w scale %sw : (tensor<64x32xi8>, tensor<64xf32>, tensor<128x32xi8>, tensor<128xf32>) -> tensor<64x128xf32>
  %init = tensor.empty() : tensor<64x128xf32>
  %g = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%u : tensor<64x128xf32>) outs(%init : tensor<64x128xf32>) {
  ^bb0(%a: f32, %o: f32):
    %t = math.tanh %a : f32
    %r = arith.mulf %t, %half : f32
    linalg.yield %r : f32
  } -> tensor<64x128xf32>
  return %g : tensor<64x128xf32>
}

// -----

// SwiGLU: silu(gate) · up, a generic of both linears' results. It is fused
// into the epilogue of the later linear (up): that kernel takes gate's
// result as one more operand ([M, N] f32, before y) and reads it at each
// value's place; gate's kernel stores its result plainly, and no loop
// kernel is left.
// CHECK-LABEL: gpu.func @swiglu_gpu2_qlinear0(
// CHECK-SAME: %{{.*}}: memref<64x32xi8>, %{{.*}}: memref<64xf32>, %{{.*}}: memref<128x32xi8>, %{{.*}}: memref<128xf32>, %[[GATE:.*]]: memref<64x128xf32>, %{{.*}}: memref<64x128xf32>) kernel
// CHECK: memref.load %[[GATE]]
// CHECK: math.exp
// CHECK: arith.mulf
// CHECK-LABEL: func.func private @swiglu_gpu1(
// CHECK-SAME: %{{.*}}: memref<128x32xi8>, %{{.*}}: memref<128xf32>, %{{.*}}: memref<64x128xf32>)
// CHECK-LABEL: func.func private @swiglu_gpu2(
// CHECK-SAME: %{{.*}}: memref<64x32xi8>, %{{.*}}: memref<64xf32>, %{{.*}}: memref<128x32xi8>, %{{.*}}: memref<128xf32>, %[[G:.*]]: memref<64x128xf32>, %[[Y:.*]]: memref<64x128xf32>)
// CHECK: gpu.launch_func @qx_gpu_kernels::@swiglu_gpu2_qlinear0 {{.*}} %[[G]] : memref<64x128xf32>, %[[Y]] : memref<64x128xf32>)
// CHECK-LABEL: func.func @swiglu(
// CHECK: call @swiglu_gpu1(
// CHECK: call @swiglu_gpu2(
// CHECK-NOT: linalg.generic
// CHECK: return
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @swiglu(%x: tensor<64x32xf32>, %wg: tensor<128x32xi8>, %sg: tensor<128xf32>, %wu: tensor<128x32xi8>, %su: tensor<128xf32>) -> tensor<64x128xf32> {
  %q, %s = quant_xform.dynamic_quantize %x scheme<per_token> : (tensor<64x32xf32>) -> (tensor<64x32xi8>, tensor<64xf32>)
  %gate = quant_xform.qlinear %q scale %s, %wg scale %sg : (tensor<64x32xi8>, tensor<64xf32>, tensor<128x32xi8>, tensor<128xf32>) -> tensor<64x128xf32>
  %up = quant_xform.qlinear %q scale %s, %wu scale %su : (tensor<64x32xi8>, tensor<64xf32>, tensor<128x32xi8>, tensor<128xf32>) -> tensor<64x128xf32>
  %init = tensor.empty() : tensor<64x128xf32>
  %g = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%gate, %up : tensor<64x128xf32>, tensor<64x128xf32>) outs(%init : tensor<64x128xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %one = arith.constant 1.0 : f32
    %n = arith.negf %a : f32
    %e = math.exp %n : f32
    %d = arith.addf %e, %one : f32
    %sig = arith.divf %a, %d : f32
    %r = arith.mulf %sig, %b : f32
    linalg.yield %r : f32
  } -> tensor<64x128xf32>
  return %g : tensor<64x128xf32>
}

// -----

// SwiGLU as quant_xform.llm_ir emits it: silu on gate's result (one-input,
// fused into gate's epilogue), then a tensor arith.mulf by up's result,
// fused into up's epilogue (reading gate's result); no loop kernel left.
// CHECK-LABEL: gpu.func @swiglu_mul_gpu1_qlinear0(
// CHECK: math.exp
// CHECK-LABEL: gpu.func @swiglu_mul_gpu2_qlinear0(
// CHECK-SAME: %[[GATE:[^:]*]]: memref<64x128xf32>, %{{.*}}: memref<64x128xf32>) kernel
// CHECK: %[[G:.*]] = memref.load %[[GATE]]
// CHECK: arith.mulf %{{.*}}, %[[G]] : f32
// In the wgmma kernel's epilogue, the second tensor's pairs are loaded
// ahead, eight column groups at a time (here the tile's four: 2 rows
// each), before the first store, which could alias them and would
// otherwise keep each load behind the store in front of it.
// WGMMA-LABEL: gpu.func @swiglu_mul_gpu2_qlinear0(
// WGMMA-SAME: %[[GATE:[^:]*]]: memref<64x128xf32>, {{.*}}tensor_map{{.*}}tensor_map{{.*}}, %[[Y:[^:]*]]: memref<64x128xf32>) kernel
// WGMMA: nvvm.wgmma.mma_async
// WGMMA-COUNT-8: vector.load %[[GATE]]
// WGMMA-NOT: vector.load %[[GATE]]
// WGMMA: vector.store %{{.*}}, %[[Y]]
// CHECK-LABEL: func.func @swiglu_mul(
// CHECK: call @swiglu_mul_gpu1(
// CHECK: call @swiglu_mul_gpu2(
// CHECK-NOT: arith.mulf
// CHECK-NOT: linalg.generic
// CHECK: return
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @swiglu_mul(%x: tensor<64x32xf32>, %wg: tensor<128x32xi8>, %sg: tensor<128xf32>, %wu: tensor<128x32xi8>, %su: tensor<128xf32>) -> tensor<64x128xf32> {
  %q, %s = quant_xform.dynamic_quantize %x scheme<per_token> : (tensor<64x32xf32>) -> (tensor<64x32xi8>, tensor<64xf32>)
  %gate = quant_xform.qlinear %q scale %s, %wg scale %sg : (tensor<64x32xi8>, tensor<64xf32>, tensor<128x32xi8>, tensor<128xf32>) -> tensor<64x128xf32>
  %up = quant_xform.qlinear %q scale %s, %wu scale %su : (tensor<64x32xi8>, tensor<64xf32>, tensor<128x32xi8>, tensor<128xf32>) -> tensor<64x128xf32>
  %init = tensor.empty() : tensor<64x128xf32>
  %g = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%gate : tensor<64x128xf32>) outs(%init : tensor<64x128xf32>) {
  ^bb0(%a: f32, %o: f32):
    %one = arith.constant 1.0 : f32
    %n = arith.negf %a : f32
    %e = math.exp %n : f32
    %d = arith.addf %e, %one : f32
    %sig = arith.divf %a, %d : f32
    linalg.yield %sig : f32
  } -> tensor<64x128xf32>
  %y = arith.mulf %g, %up : tensor<64x128xf32>
  return %y : tensor<64x128xf32>
}

// -----

// The residual add behind a layer's last linear: the GEMM's epilogue adds
// the residual (one more operand, read at each value's place) and stores
// the sum; no loop kernel is left. The add in front of a norm stays the
// norm kernel's (its residual).
// CHECK-LABEL: gpu.func @residual_gpu1_qlinear0(
// CHECK-SAME: %{{.*}}: memref<128xf32>, %[[R:.*]]: memref<64x128xf32>, %{{.*}}: memref<64x128xf32>) kernel
// CHECK: %[[X:.*]] = memref.load %[[R]]
// CHECK: arith.addf %{{.*}}, %[[X]] : f32
// CHECK-LABEL: func.func @residual(
// CHECK: call @residual_gpu0(
// CHECK: call @residual_gpu1(
// CHECK: call @residual_gpu2(
// CHECK-NOT: arith.addf
// CHECK: return
func.func @residual(%x: tensor<64x32xf32>, %r: tensor<64x128xf32>, %w: tensor<128x32xi8>, %sw: tensor<128xf32>, %g: tensor<128xf32>) -> (tensor<64x128xf32>, tensor<64x128xf32>) {
  %q, %s = quant_xform.dynamic_quantize %x scheme<per_token> : (tensor<64x32xf32>) -> (tensor<64x32xi8>, tensor<64xf32>)
  %u = quant_xform.qlinear %q scale %s, %w scale %sw : (tensor<64x32xi8>, tensor<64xf32>, tensor<128x32xi8>, tensor<128xf32>) -> tensor<64x128xf32>
  %y = arith.addf %r, %u : tensor<64x128xf32>
  %v = quant_xform.qlinear %q scale %s, %w scale %sw : (tensor<64x32xi8>, tensor<64xf32>, tensor<128x32xi8>, tensor<128xf32>) -> tensor<64x128xf32>
  %z = arith.addf %y, %v : tensor<64x128xf32>
  %n = quant_xform.rms_norm %z, %g {epsilon = 1.0e-05 : f64} : (tensor<64x128xf32>, tensor<128xf32>) -> tensor<64x128xf32>
  return %y, %n : tensor<64x128xf32>, tensor<64x128xf32>
}

// -----

// The same inside a kernel function (no outlining): gate's result is not
// returned, but up's epilogue reads it, so it is kept in a scratch buffer
// on the function's stream instead of being dropped as unused.
// CHECK-LABEL: func.func @swiglu_kernel_function(
// CHECK: %[[GATE:.*]], %{{.*}} = gpu.alloc async [%{{.*}}] () : memref<64x128xf32>
// CHECK: gpu.launch_func async [%{{.*}}] @qx_gpu_kernels::@swiglu_kernel_function_qlinear0 {{.*}} %[[GATE]] : memref<64x128xf32>)
// CHECK: gpu.launch_func async [%{{.*}}] @qx_gpu_kernels::@swiglu_kernel_function_qlinear1 {{.*}} %[[GATE]] : memref<64x128xf32>, %{{.*}} : memref<64x128xf32>)
// CHECK: gpu.dealloc async [%{{.*}}] %[[GATE]]
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @swiglu_kernel_function(%x: tensor<64x32xf32>, %wg: tensor<128x32xi8>, %sg: tensor<128xf32>, %wu: tensor<128x32xi8>, %su: tensor<128xf32>) -> tensor<64x128xf32> {
  %q, %s = quant_xform.dynamic_quantize %x scheme<per_token> : (tensor<64x32xf32>) -> (tensor<64x32xi8>, tensor<64xf32>)
  %gate = quant_xform.qlinear %q scale %s, %wg scale %sg : (tensor<64x32xi8>, tensor<64xf32>, tensor<128x32xi8>, tensor<128xf32>) -> tensor<64x128xf32>
  %up = quant_xform.qlinear %q scale %s, %wu scale %su : (tensor<64x32xi8>, tensor<64xf32>, tensor<128x32xi8>, tensor<128xf32>) -> tensor<64x128xf32>
  %g = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%gate, %up : tensor<64x128xf32>, tensor<64x128xf32>) outs(%up : tensor<64x128xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.mulf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<64x128xf32>
  return %g : tensor<64x128xf32>
}
