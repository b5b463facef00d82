// The GPU lowering for sm_90 (no wgmma) emits mma.sync int8 tensor-core code: the kernel's PTX (format=isa,
// no ptxas or GPU needed) holds the s8 mma.sync with i32 accumulators, the
// host function launches it, and its 4-byte operand loads are 32-bit loads.
// RUN: xform-opt %s -quant-xform-lower-to-gpu="chip=sm_90 format=isa" | FileCheck %s

// CHECK: gpu.binary @qx_gpu_kernels
// CHECK-SAME: .target sm_90
// CHECK-SAME: .visible .entry main_qlinear0(
// CHECK-SAME: ld.global.b32
// CHECK-SAME: mma.sync.aligned.m16n8k32.row.col.satfinite.s32.s8.s8.s32
// CHECK: llvm.func @main(
// CHECK: gpu.launch_func <%{{[0-9]+}} : !llvm.ptr> @qx_gpu_kernels::@main_qlinear0 blocks in ({{.*}}) threads in ({{.*}})
// CHECK: llvm.func @_mlir_ciface_main(

func.func @main(%q: tensor<100x96xi8>, %s: tensor<100xf32>, %w: tensor<70x96xi8>, %sw: tensor<70xf32>, %b: tensor<70xf32>) -> tensor<100x70xf32> {
  %y = quant_xform.qlinear %q scale %s, %w scale %sw, bias %b : (tensor<100x96xi8>, tensor<100xf32>, tensor<70x96xi8>, tensor<70xf32>, tensor<70xf32>) -> tensor<100x70xf32>
  return %y : tensor<100x70xf32>
}
