// An online Hadamard rotation feeding a per-token dynamic_quantize is done
// inside the quantize kernel (one kernel, the row in registers): its
// column factors sign_k/√B (here +1/16, −1/16, +1/16, ...) in a global
// next to the kernel, butterflies within a vector, then, the row being
// one group per thread (256 floats), the strides between threads in shared
// memory (stored once, as 1024 floats with the threads past the row: sets
// of 16 elements for strides 4 to 32, of 4 for 64 and 128, each between
// barriers, then each thread's own group read back), then the quantize as
// without it (the absmax's warp shuffles). Both shared buffers are
// 16-byte aligned (they take 16-byte accesses). format=isa: no ptxas or
// GPU needed.
// RUN: xform-opt %s -quant-xform-lower-to-gpu=format=isa | FileCheck %s
// RUN: xform-opt %s -convert-quant-xform-qlinear-to-gpu | FileCheck %s --check-prefix=KERNEL

// KERNEL: memref.global "private" constant @main_quantize0_hadamard : memref<256xf32> = dense<"0x0000803D000080BD0000803D
// KERNEL: gpu.func @main_quantize0(
// KERNEL: memref.get_global @main_quantize0_hadamard
// KERNEL: vector.shuffle {{.*}} [1, 0, 3, 2]
// KERNEL: vector.shuffle {{.*}} [2, 3, 0, 1]
// KERNEL-NOT: gpu.shuffle
// KERNEL: vector.store {{.*}} : memref<1024xf32, #gpu.address_space<workgroup>>, vector<4xf32>
// KERNEL-NEXT: gpu.barrier
// KERNEL-COUNT-16: memref.load {{.*}} : memref<1024xf32, #gpu.address_space<workgroup>>
// KERNEL: gpu.barrier
// KERNEL-COUNT-4: memref.load {{.*}} : memref<1024xf32, #gpu.address_space<workgroup>>
// KERNEL: gpu.barrier
// KERNEL: vector.load {{.*}} : memref<1024xf32, #gpu.address_space<workgroup>>, vector<4xf32>
// KERNEL: gpu.shuffle  xor {{.*}}, %c16_i32
// KERNEL: gpu.barrier
// KERNEL: func.func @main(%[[X:.*]]: memref<16x256xf32>, %[[Q:.*]]: memref<16x256xi8>, %[[S:.*]]: memref<16xf32>)
// KERNEL-NOT: quant_xform.rotate
// KERNEL: gpu.launch_func async {{.*}} @qx_gpu_kernels::@main_quantize0 {{.*}} args(%[[X]] : memref<16x256xf32>, %[[Q]] : memref<16x256xi8>, %[[S]] : memref<16xf32>)

// CHECK: .global .align 16 .b8 main_quantize0_hadamard[1024]
// CHECK-SAME: .visible .entry main_quantize0(
// CHECK-SAME: .shared .align 16 .b8 __wg_main_quantize0_0[32]
// CHECK-SAME: .shared .align 16 .b8 __wg_main_quantize0_1[4096]
// CHECK-SAME: shfl.sync.bfly.b32
// CHECK-SAME: bar.sync
// CHECK-SAME: div.rn.f32
// CHECK-NOT: .extern

func.func @main(%x: tensor<16x256xf32>) -> (tensor<16x256xi8>, tensor<16xf32>) {
  %r = quant_xform.rotate hadamard %x signs [1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1] {quant_xform.online} : (tensor<16x256xf32>) -> tensor<16x256xf32>
  %q, %s = quant_xform.dynamic_quantize %r scheme<per_token> : (tensor<16x256xf32>) -> (tensor<16x256xi8>, tensor<16xf32>)
  return %q, %s : tensor<16x256xi8>, tensor<16xf32>
}
