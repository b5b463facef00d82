// The fused LLM.int8() kernels in PTX: the quantize kernel (the row's
// groups times the keep mask, then the per-token quantize) and the wgmma
// GEMM, which first copies its epilogue operands to shared memory (4-byte
// cp.async for the weight scales, 16-byte ones for the block's xo and Wo
// rows, O = 4) and whose epilogue adds the outlier columns' product with
// 16-byte shared loads and separately rounded multiplies and adds (no fma:
// the CPU lowering's order and rounding; the quantize's fmas are its
// division). format=isa: no ptxas or GPU needed (the PTX, one escaped
// line, is split into its lines by sed).
// RUN: xform-opt %s -quant-xform-lower-to-gpu=format=isa | sed -e 's/\\0A/\n/g' | FileCheck %s

// CHECK-NOT: __nv_
// CHECK-LABEL: .visible .entry main_mixed0_quantize(
// CHECK: ld.global.v4.b32
// CHECK: mul.rn.f32
// CHECK: shfl.sync.bfly.b32
// CHECK: rcp.rn.f32
// CHECK: fma.rn.f32
// CHECK: div.rn.f32
// CHECK-LABEL: .visible .entry main_mixed0_gemm(
// CHECK-NOT: fma.rn.f32
// CHECK: cp.async.ca.shared.global
// CHECK-NOT: fma.rn.f32
// CHECK: cp.async.cg.shared.global
// CHECK-NOT: fma.rn.f32
// CHECK: wgmma.mma_async.sync.aligned
// CHECK-NOT: fma.rn.f32
// CHECK: ld.shared.v4.b32
// CHECK-NOT: fma.rn.f32
// CHECK: mul.rn.f32
// CHECK-NOT: fma.rn.f32
// CHECK: add.rn.f32
// CHECK-NOT: fma.rn.f32
// CHECK: st.global.v2.b32
// CHECK-NOT: fma.rn.f32
// CHECK: llvm.func @main(
// CHECK: gpu.launch_func <%{{[0-9]+}} : !llvm.ptr> @qx_gpu_kernels::@main_mixed0_quantize
// CHECK: gpu.launch_func <%{{[0-9]+}} : !llvm.ptr> @qx_gpu_kernels::@main_mixed0_gemm
func.func @main(%x: tensor<128x64xf32>, %w: tensor<256x64xi8>, %sw: tensor<256xf32>, %wo: tensor<256x4xf32>) -> tensor<128x256xf32> {
  %y = quant_xform.mixed_linear %x, %w scale %sw, outliers %wo columns [1, 7, 30, 63] : (tensor<128x64xf32>, tensor<256x64xi8>, tensor<256xf32>, tensor<256x4xf32>) -> tensor<128x256xf32>
  return %y : tensor<128x256xf32>
}
