// An elementwise linalg.generic behind a qlinear (an activation: here the
// exact GELU, as the Python front end emits it) is fused into the GEMM's
// epilogue: the outlined kernel function holds both, the GEMM applies the
// generic's body to each dequantized value before its store (erf inside
// the kernel), and no loop kernel or buffer is left for the activation.
// A generic that reads its init, or a result with other users, is not
// fused.
// RUN: xform-opt %s -split-input-file -convert-quant-xform-qlinear-to-gpu | FileCheck %s

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
