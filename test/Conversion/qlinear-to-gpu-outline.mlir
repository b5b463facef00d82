// In a function with other ops (a whole model), each qlinear and per-token
// dynamic_quantize that the GPU kernels handle is outlined into a private
// kernel function on memrefs and called through buffers (norms and
// attention too: norm-to-gpu.mlir, attention-to-gpu.mlir); the other ops
// stay for the linalg lowering. A
// qlinear the kernels cannot take stays too, with a warning. (A function
// of qlinear ops only is still checked strictly: qlinear-to-gpu-invalid.mlir.)
// RUN: xform-opt %s -split-input-file -convert-quant-xform-qlinear-to-gpu | FileCheck %s
// RUN: xform-opt %s -split-input-file -convert-quant-xform-qlinear-to-gpu -verify-diagnostics -o /dev/null

// Kernel functions launch synchronously, with no stream of their own: the
// pipeline inlines them and gpu-async-region puts all launches of the
// caller on one stream.
// CHECK-LABEL: func.func private @block_gpu0(
// CHECK-SAME: %[[X:.*]]: memref<4x8xf32>, %[[Q:.*]]: memref<4x8xi8>, %[[S:.*]]: memref<4xf32>)
// CHECK-NOT: gpu.wait
// CHECK: gpu.launch_func @qx_gpu_kernels::@block_gpu0_quantize0 {{.*}} args(%[[X]] : memref<4x8xf32>, %[[Q]] : memref<4x8xi8>, %[[S]] : memref<4xf32>)
// CHECK-NEXT: return
// CHECK-LABEL: func.func private @block_gpu1(
// CHECK-SAME: memref<4x8xi8>, %{{.*}}: memref<4xf32>, %{{.*}}: memref<16x8xi8>, %{{.*}}: memref<16xf32>, %{{.*}}: memref<16xf32>, %{{.*}}: memref<4x16xf32>)
// CHECK: gpu.launch_func @qx_gpu_kernels::@block_gpu1_qlinear0
// CHECK-LABEL: func.func @block(
// CHECK: %[[H:.*]] = arith.mulf
// CHECK: %[[HB:.*]] = bufferization.to_buffer %[[H]] read_only : tensor<4x8xf32> to memref<4x8xf32>
// CHECK: %[[QB:.*]] = memref.alloc() : memref<4x8xi8>
// CHECK: %[[SB:.*]] = memref.alloc() : memref<4xf32>
// CHECK: call @block_gpu0(%[[HB]], %[[QB]], %[[SB]])
// CHECK: bufferization.to_tensor %[[QB]] restrict writable
// CHECK: bufferization.to_tensor %[[SB]] restrict writable
// CHECK: %[[YB:.*]] = memref.alloc() : memref<4x16xf32>
// CHECK: call @block_gpu1({{.*}}, %[[YB]])
// CHECK: %[[Y:.*]] = bufferization.to_tensor %[[YB]] restrict writable
// CHECK: arith.addf %[[Y]], %[[Y]]
// CHECK-NOT: quant_xform.qlinear
// CHECK-NOT: quant_xform.dynamic_quantize
func.func @block(%x: tensor<4x8xf32>, %g: tensor<8xf32>, %w: tensor<16x8xi8>, %sw: tensor<16xf32>, %b: tensor<16xf32>) -> tensor<4x16xf32> {
  %h = arith.mulf %x, %x : tensor<4x8xf32>
  %q, %s = quant_xform.dynamic_quantize %h scheme<per_token> : (tensor<4x8xf32>) -> (tensor<4x8xi8>, tensor<4xf32>)
  %y = quant_xform.qlinear %q scale %s, %w scale %sw, bias %b : (tensor<4x8xi8>, tensor<4xf32>, tensor<16x8xi8>, tensor<16xf32>, tensor<16xf32>) -> tensor<4x16xf32>
  %r = arith.addf %y, %y : tensor<4x16xf32>
  return %r : tensor<4x16xf32>
}

// -----

// A per-group qlinear and a per-tensor quantize stay in place.
// CHECK-LABEL: func.func @grouped(
// CHECK: quant_xform.dynamic_quantize
// CHECK: quant_xform.qlinear
func.func @grouped(%x: tensor<4x32xf32>, %w: tensor<8x32xi8>, %sw: tensor<8x2xf32>) -> tensor<4x8xf32> {
  %q, %s = quant_xform.dynamic_quantize %x scheme<per_tensor> : (tensor<4x32xf32>) -> (tensor<4x32xi8>, tensor<f32>)
  // expected-warning @+1 {{not lowered to a tensor-core kernel (see convert-quant-xform-qlinear-to-gpu): runs as generic GPU loops}}
  %y = quant_xform.qlinear %q scale %s, %w scale %sw : (tensor<4x32xi8>, tensor<f32>, tensor<8x32xi8>, tensor<8x2xf32>) -> tensor<4x8xf32>
  %r = arith.addf %y, %y : tensor<4x8xf32>
  return %r : tensor<4x8xf32>
}

// -----

// A function of quantize ops only may return their results (written to
// the out-parameters, no scratch buffers).
// CHECK-LABEL: func.func @quantize_only(
// CHECK-SAME: %[[X:.*]]: memref<4x8xf32>, %[[Q:.*]]: memref<4x8xi8>, %[[S:.*]]: memref<4xf32>)
// CHECK-NOT: gpu.alloc
// CHECK: gpu.launch_func async {{.*}} args(%[[X]] : memref<4x8xf32>, %[[Q]] : memref<4x8xi8>, %[[S]] : memref<4xf32>)
func.func @quantize_only(%x: tensor<4x8xf32>) -> (tensor<4x8xi8>, tensor<4xf32>) {
  %q, %s = quant_xform.dynamic_quantize %x scheme<per_token> : (tensor<4x8xf32>) -> (tensor<4x8xi8>, tensor<4xf32>)
  return %q, %s : tensor<4x8xi8>, tensor<4xf32>
}


// -----

// An online Hadamard rotation feeding the quantize goes into the same
// kernel function (and kernel): the function takes the unrotated rows.
// CHECK-LABEL: func.func private @rotated_gpu0(
// CHECK-SAME: %[[X:.*]]: memref<4x8xf32>, %[[Q:.*]]: memref<4x8xi8>, %[[S:.*]]: memref<4xf32>)
// CHECK: gpu.launch_func @qx_gpu_kernels::@rotated_gpu0_quantize0 {{.*}} args(%[[X]] : memref<4x8xf32>, %[[Q]] : memref<4x8xi8>, %[[S]] : memref<4xf32>)
// CHECK-LABEL: func.func @rotated(
// CHECK: %[[H:.*]] = arith.addf
// CHECK-NEXT: bufferization.to_buffer %[[H]] read_only
// CHECK-NOT: quant_xform.rotate
func.func @rotated(%x: tensor<4x8xf32>, %w: tensor<16x8xi8>, %sw: tensor<16xf32>) -> tensor<4x16xf32> {
  %h = arith.addf %x, %x : tensor<4x8xf32>
  %r = quant_xform.rotate hadamard %h signs [1, -1, 1, 1, -1, 1, 1, 1] {quant_xform.online} : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %q, %s = quant_xform.dynamic_quantize %r scheme<per_token> : (tensor<4x8xf32>) -> (tensor<4x8xi8>, tensor<4xf32>)
  %y = quant_xform.qlinear %q scale %s, %w scale %sw : (tensor<4x8xi8>, tensor<4xf32>, tensor<16x8xi8>, tensor<16xf32>) -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}

// -----

// An LLM.int8() linear: its int8 part becomes the quantize and GEMM kernel
// functions (on x with the outlier columns zeroed), the outlier part a
// float matmul of the gathered columns added to the GEMM's result.
// CHECK-LABEL: func.func private @mixed_gpu0(
// CHECK: @qx_gpu_kernels::@mixed_gpu0_quantize0
// CHECK-LABEL: func.func private @mixed_gpu1(
// CHECK: @qx_gpu_kernels::@mixed_gpu1_qlinear0
// CHECK-LABEL: func.func @mixed(
// CHECK-NOT: quant_xform.mixed_linear
// CHECK: %[[XIN:.*]] = linalg.generic
// CHECK: %[[XO:.*]] = linalg.generic
// CHECK: bufferization.to_buffer %[[XIN]]
// CHECK: call @mixed_gpu0(
// CHECK: call @mixed_gpu1(
// CHECK: %[[Y:.*]] = bufferization.to_tensor
// CHECK: linalg.generic {{.*}} ins(%[[XO]], %{{.*}} : tensor<4x2xf32>, tensor<16x2xf32>) outs(%[[Y]] : tensor<4x16xf32>)
func.func @mixed(%x: tensor<4x8xf32>, %w: tensor<16x8xi8>, %sw: tensor<16xf32>, %wo: tensor<16x2xf32>) -> tensor<4x16xf32> {
  %y = quant_xform.mixed_linear %x, %w scale %sw, outliers %wo columns [1, 5] : (tensor<4x8xf32>, tensor<16x8xi8>, tensor<16xf32>, tensor<16x2xf32>) -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}

// -----

// An LLM.int8() linear the kernels cannot take (K not a multiple of 4)
// stays, with a warning, for the loop lowering.
// CHECK-LABEL: func.func @mixed_ragged(
// CHECK: quant_xform.mixed_linear
func.func @mixed_ragged(%x: tensor<4x6xf32>, %w: tensor<16x6xi8>, %sw: tensor<16xf32>, %wo: tensor<16x1xf32>) -> tensor<4x16xf32> {
  // expected-warning @+1 {{this LLM.int8() linear is not lowered to the tensor-core kernels: runs as generic GPU loops}}
  %y = quant_xform.mixed_linear %x, %w scale %sw, outliers %wo columns [1] : (tensor<4x6xf32>, tensor<16x6xi8>, tensor<16xf32>, tensor<16x1xf32>) -> tensor<4x16xf32>
  %r = arith.addf %y, %y : tensor<4x16xf32>
  return %r : tensor<4x16xf32>
}

// -----

// Casts at the edges go into the kernel functions: the quantize kernel
// function reads the bf16 argument (the widening stays for its other
// user), the linear's writes bf16 (the narrowing is gone).
// CHECK-LABEL: func.func private @casts_gpu0(
// CHECK-SAME: %[[X:.*]]: memref<4x8xbf16>, %{{.*}}: memref<4x8xi8>, %{{.*}}: memref<4xf32>)
// CHECK: gpu.launch_func @qx_gpu_kernels::@casts_gpu0_quantize0 {{.*}} args(%[[X]] : memref<4x8xbf16>,
// CHECK-LABEL: func.func private @casts_gpu1(
// CHECK-SAME: %{{.*}}: memref<4x16xbf16>)
// CHECK-LABEL: func.func @casts(
// CHECK: %[[XF:.*]] = arith.extf %{{.*}} : tensor<4x8xbf16> to tensor<4x8xf32>
// CHECK: call @casts_gpu0(
// CHECK: call @casts_gpu1(
// CHECK-NOT: arith.truncf
// CHECK: arith.addf %[[XF]], %[[XF]]
func.func @casts(%x: tensor<4x8xbf16>, %w: tensor<16x8xi8>, %sw: tensor<16xf32>) -> (tensor<4x16xbf16>, tensor<4x8xf32>) {
  %xf = arith.extf %x : tensor<4x8xbf16> to tensor<4x8xf32>
  %q, %s = quant_xform.dynamic_quantize %xf scheme<per_token> : (tensor<4x8xf32>) -> (tensor<4x8xi8>, tensor<4xf32>)
  %y = quant_xform.qlinear %q scale %s, %w scale %sw : (tensor<4x8xi8>, tensor<4xf32>, tensor<16x8xi8>, tensor<16xf32>) -> tensor<4x16xf32>
  %yb = arith.truncf %y : tensor<4x16xf32> to tensor<4x16xbf16>
  %z = arith.addf %xf, %xf : tensor<4x8xf32>
  return %yb, %z : tensor<4x16xbf16>, tensor<4x8xf32>
}

// -----

// A result returned reshaped (a projection's [S, KV·D] returned as the
// KV cache's [S, KV, D], and read by others as rows): its buffer is
// allocated in the returned type and the kernel function writes it through
// a collapsed view, so that bufferization returns the allocation itself
// (buffer-results-to-out-params then writes the out-parameter in place,
// no copy); the other reader gets the rows back by a collapse.
// CHECK-LABEL: func.func @cache(
// CHECK: %[[A:.*]] = memref.alloc() : memref<4x2x8xf32>
// CHECK: %[[V:.*]] = memref.collapse_shape %[[A]] {{\[\[}}0], [1, 2]] : memref<4x2x8xf32> into memref<4x16xf32>
// CHECK: call @cache_gpu1(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[V]])
// CHECK: %[[T:.*]] = bufferization.to_tensor %[[A]] restrict writable : memref<4x2x8xf32> to tensor<4x2x8xf32>
// CHECK: %[[ROWS:.*]] = tensor.collapse_shape %[[T]] {{\[\[}}0], [1, 2]] : tensor<4x2x8xf32> into tensor<4x16xf32>
// CHECK: %[[D:.*]] = arith.addf %[[ROWS]], %[[ROWS]]
// CHECK: return %[[D]], %[[T]] : tensor<4x16xf32>, tensor<4x2x8xf32>
func.func @cache(%x: tensor<4x8xf32>, %w: tensor<16x8xi8>, %sw: tensor<16xf32>) -> (tensor<4x16xf32>, tensor<4x2x8xf32>) {
  %q, %s = quant_xform.dynamic_quantize %x scheme<per_token> : (tensor<4x8xf32>) -> (tensor<4x8xi8>, tensor<4xf32>)
  %v = quant_xform.qlinear %q scale %s, %w scale %sw : (tensor<4x8xi8>, tensor<4xf32>, tensor<16x8xi8>, tensor<16xf32>) -> tensor<4x16xf32>
  %v3 = tensor.expand_shape %v [[0], [1, 2]] output_shape [4, 2, 8] : tensor<4x16xf32> into tensor<4x2x8xf32>
  %d = arith.addf %v, %v : tensor<4x16xf32>
  return %d, %v3 : tensor<4x16xf32>, tensor<4x2x8xf32>
}
