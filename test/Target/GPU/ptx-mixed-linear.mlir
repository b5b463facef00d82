// The fused LLM.int8() kernels in PTX: the quantize kernel (the row's
// groups times the keep mask, then the per-token quantize) and the wgmma
// GEMM, which first copies its epilogue operands to shared memory (4-byte
// cp.async for the weight scales, 16-byte ones for the block's xo and Wo
// rows, O = 4) and whose epilogue adds the outlier columns' product with
// 16-byte shared loads and separately rounded multiplies and adds (no fma:
// the CPU lowering's order and rounding). format=isa: no ptxas or GPU
// needed (the PTX is one escaped line).
// RUN: xform-opt %s -quant-xform-lower-to-gpu=format=isa | FileCheck %s --implicit-check-not=fma.rn.f32

// CHECK-NOT: __nv_
// CHECK: .visible .entry main_mixed0_quantize(
// CHECK-SAME: ld.global.v4.b32
// CHECK-SAME: mul.rn.f32
// CHECK-SAME: shfl.sync.bfly.b32
// CHECK-SAME: div.rn.f32
// CHECK-SAME: .visible .entry main_mixed0_gemm(
// CHECK-SAME: cp.async.ca.shared.global
// CHECK-SAME: cp.async.cg.shared.global
// CHECK-SAME: wgmma.mma_async.sync.aligned
// CHECK-SAME: ld.shared.v4.b32
// CHECK-SAME: mul.rn.f32
// CHECK-SAME: add.rn.f32
// CHECK-SAME: st.global.v2.b32
// CHECK: llvm.func @main(
// CHECK: gpu.launch_func <%{{[0-9]+}} : !llvm.ptr> @qx_gpu_kernels::@main_mixed0_quantize
// CHECK: gpu.launch_func <%{{[0-9]+}} : !llvm.ptr> @qx_gpu_kernels::@main_mixed0_gemm
func.func @main(%x: tensor<128x64xf32>, %w: tensor<256x64xi8>, %sw: tensor<256xf32>, %wo: tensor<256x4xf32>) -> tensor<128x256xf32> {
  %y = quant_xform.mixed_linear %x, %w scale %sw, outliers %wo columns [1, 7, 30, 63] : (tensor<128x64xf32>, tensor<256x64xi8>, tensor<256xf32>, tensor<256x4xf32>) -> tensor<128x256xf32>
  return %y : tensor<128x256xf32>
}
