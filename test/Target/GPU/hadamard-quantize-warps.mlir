// The online Hadamard rotation in the quantize kernel (256 threads a row,
// groups of 4 floats; no GPU needed).
// RUN: xform-opt %s -split-input-file -convert-quant-xform-qlinear-to-gpu | FileCheck %s

// A 4096-wide row (B = 4096): each thread's 4 groups are warp-wide pieces
// 1024 apart (thread base warp·128 + lane·4: runs of groups would leave as
// many strides between warps). Strides 1 and 2 pair lanes of a vector
// (each element one fma, sign·mine + partner); the eight strides between
// threads (4 to 512) go through shared memory instead of shuffles: the row
// stored once (16-byte units permuted by bits 6–8 of the place), each
// thread's set of 16 elements for strides 4 to 32 read, butterflied in
// order and written back, then its set for strides 64 to 512, then its own
// groups read again; strides 1024 and 2048 pair groups of the thread.
// Four barriers with the absmax's (none after the last read of the
// buffer); the only shuffles are the absmax's.
// CHECK-LABEL: gpu.func @main_quantize0(
// CHECK-SAME: workgroup(%{{.*}} : memref<8xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %{{.*}} : memref<4096xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64})
// CHECK: %[[WARP:.*]] = arith.divui %{{.*}}, %c32
// CHECK: %[[W:.*]] = arith.muli %[[WARP]], %c128
// CHECK-COUNT-4: vector.load {{.*}} : memref<8x4096xf32>, vector<4xf32>
// CHECK-COUNT-8: llvm.intr.fma
// CHECK-NOT: gpu.shuffle
// CHECK: %[[P:.*]] = arith.shrui %{{.*}}, %c6
// CHECK: %[[B:.*]] = arith.andi %[[P]], %c7
// CHECK: %[[S:.*]] = arith.shli %[[B]], %c2
// CHECK: %[[Q:.*]] = arith.xori %{{.*}}, %[[S]]
// CHECK: vector.store %{{.*}}, %{{.*}}[%[[Q]]] : memref<4096xf32, #gpu.address_space<workgroup>>, vector<4xf32>
// CHECK-COUNT-3: vector.store {{.*}} : memref<4096xf32, #gpu.address_space<workgroup>>, vector<4xf32>
// CHECK-NEXT: gpu.barrier
// CHECK-NOT: scf.if
// CHECK-COUNT-16: memref.load {{.*}} : memref<4096xf32, #gpu.address_space<workgroup>>
// CHECK-COUNT-64: arith.{{addf|subf}} {{.*}} : f32
// CHECK-COUNT-16: memref.store {{.*}} : memref<4096xf32, #gpu.address_space<workgroup>>
// CHECK-NEXT: gpu.barrier
// CHECK-COUNT-16: memref.load {{.*}} : memref<4096xf32, #gpu.address_space<workgroup>>
// CHECK-COUNT-64: arith.{{addf|subf}} {{.*}} : f32
// CHECK-COUNT-16: memref.store {{.*}} : memref<4096xf32, #gpu.address_space<workgroup>>
// CHECK-NEXT: gpu.barrier
// CHECK-COUNT-4: vector.load {{.*}} : memref<4096xf32, #gpu.address_space<workgroup>>, vector<4xf32>
// CHECK-COUNT-8: arith.{{addf|subf}} {{.*}} : vector<4xf32>
// CHECK: gpu.shuffle
// CHECK: gpu.barrier
// CHECK-NOT: gpu.barrier
// CHECK: gpu.return
func.func @main(%x: tensor<8x4096xf32>) -> (tensor<8x4096xi8>, tensor<8xf32>) {
  %r = quant_xform.rotate hadamard %x {quant_xform.online} : (tensor<8x4096xf32>) -> tensor<8x4096xf32>
  %q, %s = quant_xform.dynamic_quantize %r scheme<per_token> : (tensor<8x4096xf32>) -> (tensor<8x4096xi8>, tensor<8xf32>)
  return %q, %s : tensor<8x4096xi8>, tensor<8xf32>
}

// -----

// An 11008-wide row (B = 256): 11 groups padded to 6 runs of 2 (thread
// base warp·256 + lane·4, runs 2048 apart, the last run past the row
// zeros), so that stride 128 pairs groups of the thread: no shared memory
// but the absmax's, one barrier.
// CHECK-LABEL: gpu.func @main_quantize0(
// CHECK-SAME: workgroup(%{{.*}} : memref<8xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64})
// CHECK-NOT: workgroup(
// CHECK: %[[WARP:.*]] = arith.divui %{{.*}}, %c32
// CHECK: %[[W:.*]] = arith.muli %[[WARP]], %c256
// CHECK: %[[L:.*]] = arith.muli %{{.*}}, %c4
// CHECK: %[[BASE:.*]] = arith.addi %[[W]], %[[L]]
// CHECK: %[[G0:.*]] = arith.addi %[[BASE]], %c0
// CHECK: vector.load %{{.*}}[%{{.*}}, %[[G0]]] {{.*}} : memref<8x11008xf32>, vector<4xf32>
// CHECK: %[[G1:.*]] = arith.addi %[[BASE]], %c128
// CHECK: vector.load %{{.*}}[%{{.*}}, %[[G1]]]
// CHECK: %[[G2:.*]] = arith.addi %[[BASE]], %c2048
// CHECK: vector.load %{{.*}}[%{{.*}}, %[[G2]]]
// CHECK: arith.addi %[[BASE]], %c10240
// CHECK: %[[IN10:.*]] = arith.cmpi ult, %{{.*}}, %c11008
// CHECK: scf.if %[[IN10]]
// CHECK: arith.addi %[[BASE]], %c10368
// CHECK: %[[IN11:.*]] = arith.cmpi ult, %{{.*}}, %c11008
// CHECK: scf.if %[[IN11]]
// CHECK-COUNT-240: gpu.shuffle  xor
// CHECK-NEXT: vector.insert
// CHECK-NEXT: llvm.intr.fma
// CHECK-COUNT-12: arith.{{addf|subf}} {{.*}} : vector<4xf32>
// CHECK: gpu.barrier
// CHECK-NOT: gpu.barrier
// CHECK: gpu.return
func.func @main(%x: tensor<8x11008xf32>) -> (tensor<8x11008xi8>, tensor<8xf32>) {
  %r = quant_xform.rotate hadamard %x {quant_xform.online} : (tensor<8x11008xf32>) -> tensor<8x11008xf32>
  %q, %s = quant_xform.dynamic_quantize %r scheme<per_token> : (tensor<8x11008xf32>) -> (tensor<8x11008xi8>, tensor<8xf32>)
  return %q, %s : tensor<8x11008xi8>, tensor<8xf32>
}
