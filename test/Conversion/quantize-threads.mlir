// Threads of the per-token quantize kernel per row: an f32 row's 16-byte
// groups spread evenly over the most threads (a multiple of 32, at least
// 64, at most 256) that keeps every thread's groups in registers; else
// 256. The row maximum is exact in any order, so the bits do not depend on
// the count (the device blocks and MiniLM's real-weight check compare
// with the evaluator).
// RUN: xform-opt %s -split-input-file -convert-quant-xform-qlinear-to-gpu | FileCheck %s

// K = 1536 f32: 192 threads, two 16-byte groups each (256 threads would leave half of them one).
// CHECK-LABEL: func.func @k1536_f32(
// CHECK: gpu.launch_func {{.*}} threads in (%c192, 
func.func @k1536_f32(%x: tensor<8x1536xf32>) -> (tensor<8x1536xi8>, tensor<8xf32>) {
  %r, %s = quant_xform.dynamic_quantize %x scheme<per_token> : (tensor<8x1536xf32>) -> (tensor<8x1536xi8>, tensor<8xf32>)
  return %r, %s : tensor<8x1536xi8>, tensor<8xf32>
}

// -----

// K = 384 f32: 96 threads, one group each.
// CHECK-LABEL: func.func @k384_f32(
// CHECK: gpu.launch_func {{.*}} threads in (%c96, 
func.func @k384_f32(%x: tensor<8x384xf32>) -> (tensor<8x384xi8>, tensor<8xf32>) {
  %r, %s = quant_xform.dynamic_quantize %x scheme<per_token> : (tensor<8x384xf32>) -> (tensor<8x384xi8>, tensor<8xf32>)
  return %r, %s : tensor<8x384xi8>, tensor<8xf32>
}

// -----

// K = 4096 f32: 256 threads, four groups each, as before.
// CHECK-LABEL: func.func @k4096_f32(
// CHECK: gpu.launch_func {{.*}} threads in (%c256, 
func.func @k4096_f32(%x: tensor<8x4096xf32>) -> (tensor<8x4096xi8>, tensor<8xf32>) {
  %r, %s = quant_xform.dynamic_quantize %x scheme<per_token> : (tensor<8x4096xf32>) -> (tensor<8x4096xi8>, tensor<8xf32>)
  return %r, %s : tensor<8x4096xi8>, tensor<8xf32>
}

// -----

// K = 64 f32: 256 threads, 16 groups: fewer than 64 threads would be needed, so 256 as before.
// CHECK-LABEL: func.func @k64_f32(
// CHECK: gpu.launch_func {{.*}} threads in (%c256, 
func.func @k64_f32(%x: tensor<8x64xf32>) -> (tensor<8x64xi8>, tensor<8xf32>) {
  %r, %s = quant_xform.dynamic_quantize %x scheme<per_token> : (tensor<8x64xf32>) -> (tensor<8x64xi8>, tensor<8xf32>)
  return %r, %s : tensor<8x64xi8>, tensor<8xf32>
}

// -----

// K = 1536 f16: 128 threads, bf16 / f16 rows: 128 threads of 8-value loads, as before.
// CHECK-LABEL: func.func @k1536_f16(
// CHECK: gpu.launch_func {{.*}} threads in (%c128, 
func.func @k1536_f16(%x: tensor<8x1536xf16>) -> (tensor<8x1536xi8>, tensor<8xf32>) {
  %w = arith.extf %x : tensor<8x1536xf16> to tensor<8x1536xf32>
  %r, %s = quant_xform.dynamic_quantize %w scheme<per_token> : (tensor<8x1536xf32>) -> (tensor<8x1536xi8>, tensor<8xf32>)
  return %r, %s : tensor<8x1536xi8>, tensor<8xf32>
}
