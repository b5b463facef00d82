// An attention on f16 q, k and v (each an arith.extf of an f16 argument)
// whose result is only rounded back to f16 (arith.truncf): the kernel loads
// the f16 values as they are — q straight into its f16 A fragments, k and v
// by cp.async with no half-copy kernel in front — and rounds its output to
// f16 as it stores it (with split keys, the combine kernel does). The
// widenings are exact and the kernel rounds q, k and v to f16 anyway, so
// the result is the f32 kernel's rounded to f16.
// RUN: xform-opt %s -split-input-file -convert-quant-xform-qlinear-to-gpu -verify-diagnostics | FileCheck %s

// CHECK-LABEL: gpu.func @prefill16_attention0(
// CHECK-SAME: memref<2x77x9x64xf16>, %{{.*}}: memref<2x77x3x64xf16>, %{{.*}}: memref<2x77x3x64xf16>, %{{.*}}: memref<2x77x9x64xf16>) kernel
// CHECK-NOT: arith.truncf %{{.*}} : vector<2xf32> to vector<2xf16>
// CHECK: vector.load %{{.*}} : memref<2x77x9x64xf16>, vector<2xf16>
// CHECK: nvgpu.device_async_copy
// CHECK: nvgpu.mma.sync
// The epilogue: 1 / row sum, then each pair scaled, rounded and stored.
// CHECK: arith.divf
// CHECK: %[[Y:.*]] = arith.truncf %{{.*}} : vector<2xf32> to vector<2xf16>
// CHECK: vector.store %[[Y]], %{{.*}} : memref<2x77x9x64xf16>, vector<2xf16>
// CHECK-NOT: gpu.func
// CHECK-LABEL: func.func @prefill16(
// CHECK-NOT: gpu.alloc
// CHECK: gpu.launch_func
// CHECK-NOT: gpu.launch_func
// CHECK: return
func.func @prefill16(%q: tensor<2x77x9x64xf16>, %k: tensor<2x77x3x64xf16>, %v: tensor<2x77x3x64xf16>) -> tensor<2x77x9x64xf16> {
  %qf = arith.extf %q : tensor<2x77x9x64xf16> to tensor<2x77x9x64xf32>
  %kf = arith.extf %k : tensor<2x77x3x64xf16> to tensor<2x77x3x64xf32>
  %vf = arith.extf %v : tensor<2x77x3x64xf16> to tensor<2x77x3x64xf32>
  %y = quant_xform.attention %qf, %kf, %vf {scale = 0.125 : f64, causal} : tensor<2x77x9x64xf32>, tensor<2x77x3x64xf32>
  %h = arith.truncf %y : tensor<2x77x9x64xf32> to tensor<2x77x9x64xf16>
  return %h : tensor<2x77x9x64xf16>
}

// -----

// A decode step: the keys split in 8; the parts stay f32, the combine
// kernel rounds the output to f16.
// CHECK-LABEL: gpu.func @decode16_attention0(
// CHECK-SAME: memref<1x1x9x64xf16>, %{{.*}}: memref<1x512x3x64xf16>, %{{.*}}: memref<1x512x3x64xf16>, %{{.*}}: memref<8x1x1x9x64xf32>, %{{.*}}: memref<8x1x1x9x2xf32>) kernel
// CHECK-LABEL: gpu.func @decode16_attention0_combine(
// CHECK-SAME: memref<8x1x1x9x64xf32>, %{{.*}}: memref<8x1x1x9x2xf32>, %{{.*}}: memref<1x1x9x64xf16>) kernel
// CHECK: %[[Y:.*]] = arith.truncf %{{.*}} : f32 to f16
// CHECK-NEXT: memref.store %[[Y]]
// CHECK-LABEL: func.func @decode16(
// CHECK-COUNT-2: gpu.launch_func
func.func @decode16(%q: tensor<1x1x9x64xf16>, %k: tensor<1x512x3x64xf16>, %v: tensor<1x512x3x64xf16>) -> tensor<1x1x9x64xf16> {
  %qf = arith.extf %q : tensor<1x1x9x64xf16> to tensor<1x1x9x64xf32>
  %kf = arith.extf %k : tensor<1x512x3x64xf16> to tensor<1x512x3x64xf32>
  %vf = arith.extf %v : tensor<1x512x3x64xf16> to tensor<1x512x3x64xf32>
  %y = quant_xform.attention %qf, %kf, %vf {scale = 0.125 : f64} : tensor<1x1x9x64xf32>, tensor<1x512x3x64xf32>
  %h = arith.truncf %y : tensor<1x1x9x64xf32> to tensor<1x1x9x64xf16>
  return %h : tensor<1x1x9x64xf16>
}

// -----

// f16 q with f32 k and v: q is loaded in f16, k and v go through the
// half-copy; the output stays f32.
// CHECK-LABEL: gpu.func @query16_attention0(
// CHECK-SAME: memref<2x77x9x64xf16>, %{{.*}}: memref<2x77x3x64xf16>, %{{.*}}: memref<2x77x3x64xf16>, %{{.*}}: memref<2x77x9x64xf32>) kernel
// CHECK-LABEL: gpu.func @query16_attention0_keys(
// CHECK-LABEL: func.func @query16(
// CHECK-COUNT-2: gpu.launch_func
func.func @query16(%q: tensor<2x77x9x64xf16>, %k: tensor<2x77x3x64xf32>, %v: tensor<2x77x3x64xf32>) -> tensor<2x77x9x64xf32> {
  %qf = arith.extf %q : tensor<2x77x9x64xf16> to tensor<2x77x9x64xf32>
  %y = quant_xform.attention %qf, %k, %v {scale = 0.125 : f64, causal} : tensor<2x77x9x64xf32>, tensor<2x77x3x64xf32>
  return %y : tensor<2x77x9x64xf32>
}

// -----

// k and v are one type in the kernel: an f16 k with an f32 v is not fused.
// The function is outlined as a whole model instead: the widening runs as
// a loop kernel, the attention on f32 k and v (through the half-copy).
// CHECK-LABEL: gpu.func @mixed_keys_gpu0_attention0(
// CHECK-SAME: memref<2x77x9x64xf32>, %{{.*}}: memref<2x77x3x64xf16>, %{{.*}}: memref<2x77x3x64xf16>, %{{.*}}: memref<2x77x9x64xf32>) kernel
// CHECK-LABEL: gpu.func @mixed_keys_gpu0_attention0_keys(
// CHECK-LABEL: func.func @mixed_keys(
// CHECK: arith.extf %{{.*}} : tensor<2x77x3x64xf16> to tensor<2x77x3x64xf32>
// CHECK: call @mixed_keys_gpu0
func.func @mixed_keys(%q: tensor<2x77x9x64xf32>, %k: tensor<2x77x3x64xf16>, %v: tensor<2x77x3x64xf32>) -> tensor<2x77x9x64xf32> {
  %kf = arith.extf %k : tensor<2x77x3x64xf16> to tensor<2x77x3x64xf32>
  %y = quant_xform.attention %q, %kf, %v {scale = 0.125 : f64, causal} : tensor<2x77x9x64xf32>, tensor<2x77x3x64xf32>
  return %y : tensor<2x77x9x64xf32>
}

// -----

// The kernel stores f16 only: a bf16 rounding of its result is left to a
// loop kernel after the f32 attention.
// CHECK-LABEL: gpu.func @bf16_out_gpu0_attention0(
// CHECK-SAME: %{{.*}}: memref<2x77x9x64xf32>) kernel
// CHECK-LABEL: func.func @bf16_out(
// CHECK: call @bf16_out_gpu0
// CHECK: arith.truncf %{{.*}} : tensor<2x77x9x64xf32> to tensor<2x77x9x64xbf16>
func.func @bf16_out(%q: tensor<2x77x9x64xf32>, %k: tensor<2x77x3x64xf32>, %v: tensor<2x77x3x64xf32>) -> tensor<2x77x9x64xbf16> {
  %y = quant_xform.attention %q, %k, %v {scale = 0.125 : f64, causal} : tensor<2x77x9x64xf32>, tensor<2x77x3x64xf32>
  %h = arith.truncf %y : tensor<2x77x9x64xf32> to tensor<2x77x9x64xbf16>
  return %h : tensor<2x77x9x64xbf16>
}

// -----

// In a whole model, projected q, k and v come from their GEMMs in f16 (the
// rounding the attention kernel does anyway, moved into the epilogues: no
// half-copy kernel), and the output, read only by the output projection's
// quantize, is stored in f16 and widened by the quantize kernel's loads.
// CHECK-LABEL: gpu.func @layer_gpu0_qlinear0(
// CHECK-SAME: %{{.*}}: memref<32x64xf16>) kernel
// CHECK-LABEL: gpu.func @layer_gpu1_qlinear0(
// CHECK-SAME: %{{.*}}: memref<32x64xf16>) kernel
// CHECK-LABEL: gpu.func @layer_gpu2_qlinear0(
// CHECK-SAME: %{{.*}}: memref<32x64xf16>) kernel
// CHECK-LABEL: gpu.func @layer_gpu3_attention0(
// CHECK-SAME: %{{.*}}: memref<1x32x4x16xf16>, %{{.*}}: memref<1x32x4x16xf16>, %{{.*}}: memref<1x32x4x16xf16>, %{{.*}}: memref<1x32xf32>, %{{.*}}: memref<1x32x4x16xf16>) kernel
// CHECK-NOT: gpu.func @layer_gpu3_attention0_keys
// CHECK-LABEL: gpu.func @layer_gpu4_quantize0(
// CHECK-SAME: %{{.*}}: memref<32x64xf16>, %{{.*}}: memref<32x64xi8>, %{{.*}}: memref<32xf32>)
// CHECK-LABEL: func.func @layer(
// CHECK: tensor.expand_shape %{{.*}} : tensor<32x64xf16> into tensor<1x32x4x16xf16>
// CHECK: call @layer_gpu3
// CHECK: tensor.collapse_shape %{{.*}} : tensor<1x32x4x16xf16> into tensor<32x64xf16>
// CHECK: call @layer_gpu4
func.func @layer(%xq: tensor<32x64xi8>, %sx: tensor<32xf32>, %w: tensor<64x64xi8>, %sw: tensor<64xf32>, %m: tensor<32xf32>) -> (tensor<32x64xi8>, tensor<32xf32>) {
  %q = quant_xform.qlinear %xq scale %sx, %w scale %sw : (tensor<32x64xi8>, tensor<32xf32>, tensor<64x64xi8>, tensor<64xf32>) -> tensor<32x64xf32>
  %k = quant_xform.qlinear %xq scale %sx, %w scale %sw : (tensor<32x64xi8>, tensor<32xf32>, tensor<64x64xi8>, tensor<64xf32>) -> tensor<32x64xf32>
  %v = quant_xform.qlinear %xq scale %sx, %w scale %sw : (tensor<32x64xi8>, tensor<32xf32>, tensor<64x64xi8>, tensor<64xf32>) -> tensor<32x64xf32>
  %mask = tensor.expand_shape %m [[0, 1]] output_shape [1, 32] : tensor<32xf32> into tensor<1x32xf32>
  %q4 = tensor.expand_shape %q [[0, 1], [2, 3]] output_shape [1, 32, 4, 16] : tensor<32x64xf32> into tensor<1x32x4x16xf32>
  %k4 = tensor.expand_shape %k [[0, 1], [2, 3]] output_shape [1, 32, 4, 16] : tensor<32x64xf32> into tensor<1x32x4x16xf32>
  %v4 = tensor.expand_shape %v [[0, 1], [2, 3]] output_shape [1, 32, 4, 16] : tensor<32x64xf32> into tensor<1x32x4x16xf32>
  %y = quant_xform.attention %q4, %k4, %v4 mask(%mask : tensor<1x32xf32>) {scale = 2.500000e-01 : f64} : tensor<1x32x4x16xf32>, tensor<1x32x4x16xf32>
  %rows = tensor.collapse_shape %y [[0, 1], [2, 3]] : tensor<1x32x4x16xf32> into tensor<32x64xf32>
  %yq, %sy = quant_xform.dynamic_quantize %rows scheme<per_token> : (tensor<32x64xf32>) -> (tensor<32x64xi8>, tensor<32xf32>)
  return %yq, %sy : tensor<32x64xi8>, tensor<32xf32>
}
