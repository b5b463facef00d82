// An online Hadamard rotation feeding a per-token dynamic_quantize is done
// inside the quantize kernel (one kernel): the signs of its column factors
// ±1/√B (here +, −, +, +, −, ...) as bits in a global next to the kernel;
// the row copied into shared memory (cp.async); each of the 16 threads
// (of 32) with a chunk of 16 consecutive floats reads it from there,
// times 1/16 and flipped where its bit is set, strides 1 to 8 in
// registers, and writes it back; after a barrier each
// thread's set of 16 elements 16 apart read for strides 16 to 128; then
// the quantize as without it (the absmax's warp shuffles). Both shared
// buffers are 16-byte aligned. format=isa: no ptxas or GPU needed.
// RUN: xform-opt %s -quant-xform-lower-to-gpu=format=isa | FileCheck %s
// RUN: xform-opt %s -convert-quant-xform-qlinear-to-gpu | FileCheck %s --check-prefix=KERNEL

// KERNEL: memref.global "private" constant @main_quantize0_hadamard_signs : memref<8xi32> = dense<[-1524020654, 692736660,
// KERNEL: gpu.func @main_quantize0(
// KERNEL: memref.get_global @main_quantize0_hadamard_signs
// KERNEL-COUNT-2: nvgpu.device_async_copy
// KERNEL: nvvm.cp.async.wait.group 0
// KERNEL-NEXT: gpu.barrier
// KERNEL-COUNT-4: vector.load {{.*}} : memref<256xf32, #gpu.address_space<workgroup>>, vector<4xf32>
// KERNEL-COUNT-16: arith.mulf {{.*}}, %cst{{.*}} : f32
// KERNEL: memref.load {{.*}} : memref<8xi32>
// KERNEL: arith.shli %{{.*}}, %c31_i32
// KERNEL: arith.andi %{{.*}}, %c-2147483648_i32
// KERNEL-COUNT-64: arith.{{addf|subf}}
// KERNEL-NOT: gpu.shuffle
// KERNEL-COUNT-4: vector.store {{.*}} : memref<256xf32, #gpu.address_space<workgroup>>, vector<4xf32>
// KERNEL-NEXT: }
// KERNEL-NEXT: gpu.barrier
// KERNEL-COUNT-16: memref.load {{.*}} : memref<256xf32, #gpu.address_space<workgroup>>
// KERNEL-NOT: gpu.barrier
// KERNEL: gpu.shuffle  xor {{.*}}, %c16_i32
// KERNEL: gpu.barrier
// KERNEL: func.func @main(%[[X:.*]]: memref<16x256xf32>, %[[Q:.*]]: memref<16x256xi8>, %[[S:.*]]: memref<16xf32>)
// KERNEL-NOT: quant_xform.rotate
// KERNEL: gpu.launch_func async {{.*}} @qx_gpu_kernels::@main_quantize0 {{.*}} threads in (%c32, {{.*}} args(%[[X]] : memref<16x256xf32>, %[[Q]] : memref<16x256xi8>, %[[S]] : memref<16xf32>)

// CHECK: .global .align 16 .b8 main_quantize0_hadamard_signs[32]
// CHECK-SAME: .visible .entry main_quantize0(
// CHECK-SAME: .shared .align 16 .f32 __wg_main_quantize0_0_$_0
// CHECK-SAME: .shared .align 16 .b8 __wg_main_quantize0_1[1024]
// CHECK-SAME: cp.async.cg.shared.global
// CHECK-SAME: cp.async.wait_group
// CHECK-SAME: shfl.sync.bfly.b32
// CHECK-SAME: bar.sync
// CHECK-SAME: div.rn.f32
// CHECK-NOT: .extern

func.func @main(%x: tensor<16x256xf32>) -> (tensor<16x256xi8>, tensor<16xf32>) {
  %r = quant_xform.rotate hadamard %x signs [1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1] {quant_xform.online} : (tensor<16x256xf32>) -> tensor<16x256xf32>
  %q, %s = quant_xform.dynamic_quantize %r scheme<per_token> : (tensor<16x256xf32>) -> (tensor<16x256xi8>, tensor<16xf32>)
  return %q, %s : tensor<16x256xi8>, tensor<16xf32>
}
