// LLM.int8() linears with static outlier columns on the fused GPU kernels
// (wgmma): the quantize kernel quantizes x with the outlier columns zeroed
// (a keep mask next to it) and gathers them into xo [M, O]; the wgmma GEMM
// takes xo and the outlier weight Wo [N, O] and adds xo·Woᵀ in its
// epilogue. Nothing of the mixed linear is left for loop kernels.
// RUN: xform-opt %s -split-input-file -convert-quant-xform-qlinear-to-gpu=wgmma=true | FileCheck %s

// A function of one mixed_linear: two launches on one stream, three
// scratch buffers (q, its scales, xo) freed after the GEMM.
// CHECK: memref.global "private" constant @main_mixed0_quantize_keep : memref<96xf32> = dense<[1.000000e+00, 0.000000e+00,
// CHECK: memref.global "private" constant @main_mixed0_quantize_outlier_columns : memref<3xi32> = dense<[1, 40, 95]>
// CHECK: gpu.func @main_mixed0_quantize(%{{.*}}: memref<100x96xf32>, %{{.*}}: memref<100x96xi8>, %{{.*}}: memref<100xf32>, %{{.*}}: memref<100x3xf32>)
// CHECK: gpu.func @main_mixed0_gemm(%{{.*}}: memref<100x96xi8>, %{{.*}}: memref<100xf32>, %{{.*}}: memref<70x96xi8>, %{{.*}}: memref<70xf32>, %{{.*}}: memref<70xf32>, %{{.*}}: memref<100x3xf32>, %{{.*}}: memref<70x3xf32>, %{{.*}}: memref<100x70xf32>)
// CHECK: nvvm.wgmma.mma_async
// CHECK-LABEL: func.func @main(
// CHECK-SAME: %[[X:[^:]*]]: memref<100x96xf32>, %[[W:[^:]*]]: memref<70x96xi8>, %[[SW:[^:]*]]: memref<70xf32>, %[[WO:[^:]*]]: memref<70x3xf32>, %[[B:[^:]*]]: memref<70xf32>, %[[Y:[^:]*]]: memref<100x70xf32>)
// CHECK: %[[Q:.*]], %{{.*}} = gpu.alloc async {{.*}} : memref<100x96xi8>
// CHECK: %[[S:.*]], %{{.*}} = gpu.alloc async {{.*}} : memref<100xf32>
// CHECK: %[[XO:.*]], %{{.*}} = gpu.alloc async {{.*}} : memref<100x3xf32>
// CHECK: gpu.launch_func async {{.*}} @qx_gpu_kernels::@main_mixed0_quantize {{.*}} args(%[[X]] : memref<100x96xf32>, %[[Q]] : memref<100x96xi8>, %[[S]] : memref<100xf32>, %[[XO]] : memref<100x3xf32>)
// CHECK: gpu.launch_func async {{.*}} @qx_gpu_kernels::@main_mixed0_gemm {{.*}} args(%[[Q]] : memref<100x96xi8>, %[[S]] : memref<100xf32>, %[[W]] : memref<70x96xi8>, %[[SW]] : memref<70xf32>, %[[B]] : memref<70xf32>, %[[XO]] : memref<100x3xf32>, %[[WO]] : memref<70x3xf32>, %{{.*}} : !llvm.array<16 x i64>, %{{.*}} : !llvm.array<16 x i64>, %[[Y]] : memref<100x70xf32>)
// CHECK: gpu.dealloc async
// CHECK: gpu.dealloc async
// CHECK: gpu.dealloc async
// CHECK: gpu.wait
func.func @main(%x: tensor<100x96xf32>, %w: tensor<70x96xi8>, %sw: tensor<70xf32>, %wo: tensor<70x3xf32>, %b: tensor<70xf32>) -> tensor<100x70xf32> {
  %y = quant_xform.mixed_linear %x, %w scale %sw, outliers %wo columns [1, 40, 95], bias %b : (tensor<100x96xf32>, tensor<70x96xi8>, tensor<70xf32>, tensor<70x3xf32>, tensor<70xf32>) -> tensor<100x70xf32>
  return %y : tensor<100x70xf32>
}

// -----

// In a whole model the mixed linear is outlined into one kernel function
// (both kernels); a dynamic-threshold one is split: its int8 part on the
// quantize and GEMM kernels, its outlier part a float matmul over all of K.
// CHECK-LABEL: func.func private @model_gpu0(
// CHECK-SAME: memref<4x16xf32>, %{{.*}}: memref<8x16xi8>, %{{.*}}: memref<8xf32>, %{{.*}}: memref<8x4xf32>, %{{.*}}: memref<4x8xf32>)
// CHECK: @qx_gpu_kernels::@model_gpu0_mixed0_quantize
// CHECK: @qx_gpu_kernels::@model_gpu0_mixed0_gemm
// CHECK-LABEL: func.func private @model_gpu1(
// CHECK: @qx_gpu_kernels::@model_gpu1_quantize0
// CHECK-LABEL: func.func private @model_gpu2(
// CHECK: @qx_gpu_kernels::@model_gpu2_qlinear0
// CHECK-LABEL: func.func @model(
// CHECK-NOT: quant_xform.mixed_linear
// CHECK: call @model_gpu0(
// CHECK: call @model_gpu1(
// CHECK: call @model_gpu2(
// CHECK: linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<4x16xf32>, tensor<8x16xf32>)
func.func @model(%x: tensor<4x16xf32>, %w: tensor<8x16xi8>, %sw: tensor<8xf32>, %wo: tensor<8x4xf32>, %wall: tensor<8x16xf32>) -> tensor<4x8xf32> {
  %y = quant_xform.mixed_linear %x, %w scale %sw, outliers %wo columns [0, 3, 4, 15] : (tensor<4x16xf32>, tensor<8x16xi8>, tensor<8xf32>, tensor<8x4xf32>) -> tensor<4x8xf32>
  %z = quant_xform.mixed_linear %x, %w scale %sw, outliers %wall threshold 6.0 : (tensor<4x16xf32>, tensor<8x16xi8>, tensor<8xf32>, tensor<8x16xf32>) -> tensor<4x8xf32>
  %r = arith.addf %y, %z : tensor<4x8xf32>
  return %r : tensor<4x8xf32>
}
