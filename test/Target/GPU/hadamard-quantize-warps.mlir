// The online Hadamard rotation of a 4096-wide row in the quantize kernel
// (256 threads, 4 groups of 4 floats each): strides 1 and 2 inside a
// vector, 4 to 64 across lanes (shuffles; each element one fma,
// sign·mine + partner, no select), and the three strides between warps
// (128, 256, 512) in one round trip through shared memory: the row stored
// once, each thread's two sets of 8 elements read, butterflied in order and
// written back, the thread's own groups read again; three barriers with
// the absmax's (none after the last read of the buffer). Strides 1024 and
// 2048 pair groups of one thread. No GPU needed.
// RUN: xform-opt %s -convert-quant-xform-qlinear-to-gpu | FileCheck %s

// CHECK-LABEL: gpu.func @main_quantize0(
// CHECK-COUNT-4: vector.load {{.*}} : memref<8x4096xf32>, vector<4xf32>
// CHECK-COUNT-8: vector.shuffle
// CHECK-COUNT-20: llvm.intr.fma
// CHECK-NOT: gpu.barrier
// CHECK-COUNT-4: vector.store {{.*}} : memref<4096xf32, #gpu.address_space<workgroup>>, vector<4xf32>
// CHECK-NEXT: gpu.barrier
// CHECK-COUNT-8: memref.load {{.*}} : memref<4096xf32, #gpu.address_space<workgroup>>
// CHECK-COUNT-12: arith.{{addf|subf}}
// CHECK-COUNT-8: memref.store {{.*}} : memref<4096xf32, #gpu.address_space<workgroup>>
// CHECK-COUNT-8: memref.load {{.*}} : memref<4096xf32, #gpu.address_space<workgroup>>
// CHECK-COUNT-12: arith.{{addf|subf}}
// CHECK-COUNT-8: memref.store {{.*}} : memref<4096xf32, #gpu.address_space<workgroup>>
// CHECK-NEXT: gpu.barrier
// CHECK-COUNT-4: vector.load {{.*}} : memref<4096xf32, #gpu.address_space<workgroup>>, vector<4xf32>
// CHECK-NOT: workgroup>>, vector<4xf32>
// CHECK-COUNT-8: arith.{{addf|subf}} {{.*}} : vector<4xf32>
// CHECK: gpu.barrier
// CHECK-NOT: gpu.barrier
// CHECK: gpu.return

func.func @main(%x: tensor<8x4096xf32>) -> (tensor<8x4096xi8>, tensor<8xf32>) {
  %r = quant_xform.rotate hadamard %x {quant_xform.online} : (tensor<8x4096xf32>) -> tensor<8x4096xf32>
  %q, %s = quant_xform.dynamic_quantize %r scheme<per_token> : (tensor<8x4096xf32>) -> (tensor<8x4096xi8>, tensor<8xf32>)
  return %q, %s : tensor<8x4096xi8>, tensor<8xf32>
}
