// The W8A8 pipeline output of the bundled transformer block, lowered whole
// for the GPU (format=isa: PTX, no ptxas or GPU needed; libdevice from the
// CUDA toolkit, hence the ptxas feature): the per-token quantizers and the
// linears become the generated quantize and wgmma kernels and the norms
// the generated norm kernel (their kernel functions inlined into @main),
// the rotations, attention (linalg here), softmax and GELU loop kernels; weights come from the runtime's resident device
// copies; all launches go on one stream, synchronized once;
// the erf of the GELU is libdevice's, linked and inlined (no external
// function is left).
// REQUIRES: ptxas
// RUN: xform-opt %src_root/examples/block.mlir -quant-xform-w8a8="smooth-alpha=0.5 rotation=hadamard" | xform-opt -quant-xform-lower-to-gpu=format=isa | FileCheck %s --implicit-check-not=.extern --implicit-check-not=memref.alloc

// CHECK: gpu.binary @qx_gpu_kernels
// CHECK-SAME: .visible .entry main_gpu0_norm0(
// CHECK-SAME: .visible .entry main_gpu1_quantize0(
// CHECK-SAME: .visible .entry main_gpu2_qlinear0(
// CHECK-SAME: wgmma.mma_async.sync.aligned
// CHECK-NOT: llvm.func @main_gpu
// CHECK: llvm.func @main(
// CHECK: llvm.call @qxGpuConstantF32(
// CHECK: llvm.call @qxGpuConstantI8(
// CHECK-NOT: llvm.call @mgpuMemcpy
// CHECK: %[[STREAM:.*]] = llvm.call @mgpuStreamCreate
// CHECK: llvm.call @mgpuMemAlloc
// CHECK: gpu.launch_func <%[[STREAM]] : !llvm.ptr> @qx_gpu_kernels::@main_gpu0_norm0
// CHECK: gpu.launch_func <%[[STREAM]] : !llvm.ptr> @qx_gpu_kernels::@main_gpu1_quantize0
// CHECK: gpu.launch_func <%[[STREAM]] : !llvm.ptr> @qx_gpu_kernels::@main_gpu2_qlinear0
// CHECK: gpu.launch_func <%[[STREAM]] : !llvm.ptr> @main_kernel::@main_kernel
// CHECK: llvm.call @mgpuMemFree
// CHECK: llvm.call @mgpuStreamSynchronize(%[[STREAM]])
// CHECK-NOT: llvm.call @mgpuStreamSynchronize
// CHECK: llvm.func @_mlir_ciface_main(
// CHECK: gpu.binary @main_kernel
// CHECK: gpu.binary @main_kernel_0
