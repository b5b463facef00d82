// The online Hadamard rotation in the quantize kernel: chunks of 2^c
// consecutive elements per thread (strides 1 .. 2^c / 2 in registers), then
// phases through shared memory, each thread taking the sets of elements
// that differ only in the phase's bits (no GPU needed).
// RUN: xform-opt %s -split-input-file -convert-quant-xform-qlinear-to-gpu | FileCheck %s

// B = 4096: 64 threads. The row is first copied into the 16 KB buffer
// (16-byte units, cp.async past L1, each unit at its swizzled place:
// 16-byte units permuted by bits 6–8 of the place); each thread reads its
// chunk of 64 consecutive floats from there (tid·64), times 1/64, strides
// 1 to 32 in registers, and writes it back; then its set of 64 elements 64
// apart (place tid + 64·m) is read, strides 64 to 2048 in registers, and
// its bytes stored 64 apart as integers (fptosi: ptxas would store a byte
// of a float register through a saturating conversion). No shuffles but
// the absmax's, no sign table without signs; both buffers static and
// 16-byte aligned.
// CHECK-LABEL: gpu.func @main_quantize0(
// CHECK-NOT: _hadamard_signs
// CHECK-SAME: workgroup(%{{.*}} : memref<2xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %[[BUF:.*]] : memref<4096xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64})
// CHECK-SAME: known_block_size = array<i32: 64, 1, 1>
// CHECK: %[[U0:.*]] = arith.addi %thread_id_x, %c0
// CHECK: %[[UNIT:.*]] = arith.muli %[[U0]], %c4
// CHECK: %[[P:.*]] = arith.shrui %[[UNIT]], %c6
// CHECK: %[[B:.*]] = arith.andi %[[P]], %c7
// CHECK: %[[S:.*]] = arith.shli %[[B]], %c2
// CHECK: %[[Q:.*]] = arith.xori %[[UNIT]], %[[S]]
// CHECK: nvgpu.device_async_copy %{{.*}}[%{{.*}}, %[[UNIT]]], %[[BUF]][%[[Q]]], 4 {bypassL1}
// CHECK-COUNT-15: nvgpu.device_async_copy
// CHECK-NEXT: nvvm.cp.async.commit.group
// CHECK-NEXT: nvvm.cp.async.wait.group 0
// CHECK-NEXT: gpu.barrier
// CHECK-NOT: scf.if
// CHECK-COUNT-16: vector.load %[[BUF]]
// CHECK-COUNT-64: arith.mulf {{.*}}, %cst{{.*}} : f32
// CHECK-COUNT-384: arith.{{addf|subf}} {{.*}} : f32
// CHECK-NOT: gpu.shuffle
// CHECK-COUNT-16: vector.store {{.*}}, %[[BUF]]
// CHECK-NEXT: gpu.barrier
// CHECK-NOT: scf.if
// CHECK-COUNT-64: memref.load %[[BUF]]
// CHECK-COUNT-384: arith.{{addf|subf}} {{.*}} : f32
// CHECK-NOT: memref.store {{.*}}, %[[BUF]]
// CHECK: gpu.shuffle
// CHECK: gpu.barrier
// CHECK-NOT: gpu.barrier
// CHECK: arith.fptosi {{.*}} : vector<64xf32> to vector<64xi32>
// CHECK: arith.addi %{{.*}}, %c4032
// CHECK-NEXT: memref.store %{{.*}} : memref<8x4096xi8>
// CHECK: gpu.return
// CHECK: gpu.launch_func {{.*}} threads in (%c64,
// CHECK-NOT: dynamic_shared_memory_size
// CHECK-SAME: args(
func.func @main(%x: tensor<8x4096xf32>) -> (tensor<8x4096xi8>, tensor<8xf32>) {
  %r = quant_xform.rotate hadamard %x {quant_xform.online} : (tensor<8x4096xf32>) -> tensor<8x4096xf32>
  %q, %s = quant_xform.dynamic_quantize %r scheme<per_token> : (tensor<8x4096xf32>) -> (tensor<8x4096xi8>, tensor<8xf32>)
  return %q, %s : tensor<8x4096xi8>, tensor<8xf32>
}

// -----

// An 11008-wide row (B = 256): 256 threads, 2752 units copied in 11
// rounds (the last guarded), 688 chunks of 16 in 3 rounds (the third,
// tid + 512, guarded) and as many sets; a set holds the 16 elements 16
// apart of one block: place (σ mod 16) + 256·⌊σ/16⌋.
// CHECK-LABEL: gpu.func @main_quantize0(
// CHECK-SAME: memref<11008xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64})
// CHECK-SAME: known_block_size = array<i32: 256, 1, 1>
// CHECK-COUNT-10: nvgpu.device_async_copy
// CHECK: %[[U10:.*]] = arith.addi %{{.*}}, %c2560
// CHECK: %[[IN10:.*]] = arith.cmpi ult, %[[U10]], %c2752
// CHECK: scf.if %[[IN10]] {
// CHECK: nvgpu.device_async_copy
// CHECK: nvvm.cp.async.wait.group 0
// CHECK: %[[C2:.*]] = arith.addi %{{.*}}, %c512
// CHECK: %[[INC2:.*]] = arith.cmpi ult, %[[C2]], %c688
// CHECK: scf.if %[[INC2]] {
// CHECK-COUNT-4: vector.load {{.*}} : memref<11008xf32, #gpu.address_space<workgroup>>, vector<4xf32>
// CHECK: gpu.barrier
// CHECK: %[[SIGMA:.*]] = arith.addi %{{.*}}, %c0
// CHECK: %[[LOW:.*]] = arith.andi %[[SIGMA]], %c15
// CHECK: %[[HIGH:.*]] = arith.shrui %[[SIGMA]], %c4
// CHECK: %[[HI:.*]] = arith.shli %[[HIGH]], %c8
// CHECK: arith.addi %[[LOW]], %[[HI]]
// CHECK-COUNT-16: memref.load {{.*}} : memref<11008xf32, #gpu.address_space<workgroup>>
// CHECK: %[[S2:.*]] = arith.addi %{{.*}}, %c512
// CHECK: %[[SET2:.*]] = arith.cmpi ult, %[[S2]], %c688
// CHECK: scf.if %[[SET2]] -> (vector<16xf32>) {
// CHECK: } else {
// CHECK-NEXT: arith.constant dense<0.000000e+00> : vector<16xf32>
// CHECK: gpu.shuffle
// CHECK: arith.addi %{{.*}}, %c240
// CHECK-NEXT: memref.store %{{.*}} : memref<8x11008xi8>
// CHECK: gpu.launch_func {{.*}} threads in (%c256,
// CHECK-NOT: dynamic_shared_memory_size
// CHECK-SAME: args(
func.func @main(%x: tensor<8x11008xf32>) -> (tensor<8x11008xi8>, tensor<8xf32>) {
  %r = quant_xform.rotate hadamard %x {quant_xform.online} : (tensor<8x11008xf32>) -> tensor<8x11008xf32>
  %q, %s = quant_xform.dynamic_quantize %r scheme<per_token> : (tensor<8x11008xf32>) -> (tensor<8x11008xi8>, tensor<8xf32>)
  return %q, %s : tensor<8x11008xi8>, tensor<8xf32>
}

// -----

// B = 16384: chunks of 64, then two phases of four bits (sets of 16, 64
// apart, then 1024 apart) with a barrier between them. The 64 KB buffer
// and the warp maxima after it are dynamic shared memory (past the 48 KB
// a block has statically), and the kernel has no static shared memory.
// CHECK-LABEL: gpu.func @main_quantize0(
// CHECK-SAME: memref<8xf32>) kernel
// CHECK-SAME: known_block_size = array<i32: 256, 1, 1>
// CHECK: %[[SMEM:.*]] = gpu.dynamic_shared_memory
// CHECK: memref.view %[[SMEM]][%c0{{.*}}][] {{.*}} to memref<16384xf32, #gpu.address_space<workgroup>>
// CHECK: memref.view %[[SMEM]][%c65536{{.*}}][] {{.*}} to memref<8xf32, #gpu.address_space<workgroup>>
// CHECK: nvvm.cp.async.wait.group 0
// CHECK-COUNT-16: vector.store {{.*}} : memref<16384xf32, #gpu.address_space<workgroup>>, vector<4xf32>
// CHECK-NEXT: gpu.barrier
// CHECK: arith.andi %{{.*}}, %c63
// CHECK: arith.shli %{{.*}}, %c10
// CHECK-COUNT-16: memref.load {{.*}} : memref<16384xf32, #gpu.address_space<workgroup>>
// CHECK-COUNT-16: memref.store {{.*}} : memref<16384xf32, #gpu.address_space<workgroup>>
// CHECK: gpu.barrier
// CHECK: arith.andi %{{.*}}, %c1023
// CHECK: arith.shli %{{.*}}, %c14
// CHECK-COUNT-16: memref.load {{.*}} : memref<16384xf32, #gpu.address_space<workgroup>>
// CHECK-NOT: memref.store {{.*}} : memref<16384xf32, #gpu.address_space<workgroup>>
// CHECK: gpu.shuffle
// CHECK: gpu.launch_func {{.*}} dynamic_shared_memory_size %c65568_i32
func.func @main(%x: tensor<8x16384xf32>) -> (tensor<8x16384xi8>, tensor<8xf32>) {
  %r = quant_xform.rotate hadamard %x {quant_xform.online} : (tensor<8x16384xf32>) -> tensor<8x16384xf32>
  %q, %s = quant_xform.dynamic_quantize %r scheme<per_token> : (tensor<8x16384xf32>) -> (tensor<8x16384xi8>, tensor<8xf32>)
  return %q, %s : tensor<8x16384xi8>, tensor<8xf32>
}

// -----

// B = 32 ≤ 64: every stride within a thread's chunk of 32 loaded from
// global memory (three chunks, 32 threads), no shared memory but the
// absmax's, the bytes of a chunk stored at once (bit-cast and truncated:
// a vector store packs them with integer ops).
// CHECK-LABEL: gpu.func @main_quantize0(
// CHECK-SAME: workgroup(%{{.*}} : memref<1xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}) kernel
// CHECK-SAME: known_block_size = array<i32: 32, 1, 1>
// CHECK-NOT: device_async_copy
// CHECK: %[[IN:.*]] = arith.cmpi ult, %{{.*}}, %c3
// CHECK: scf.if %[[IN]] -> (vector<32xf32>)
// CHECK-COUNT-8: vector.load {{.*}} : memref<8x96xf32>, vector<4xf32>
// CHECK-NOT: arith.fptosi
// CHECK: vector.store %{{.*}} {alignment = 16 : i64} : memref<8x96xi8>, vector<32xi8>
// CHECK: gpu.launch_func {{.*}} threads in (%c32,
// CHECK-NOT: dynamic_shared_memory_size
// CHECK-SAME: args(
func.func @main(%x: tensor<8x96xf32>) -> (tensor<8x96xi8>, tensor<8xf32>) {
  %r = quant_xform.rotate hadamard %x {quant_xform.online} : (tensor<8x96xf32>) -> tensor<8x96xf32>
  %q, %s = quant_xform.dynamic_quantize %r scheme<per_token> : (tensor<8x96xf32>) -> (tensor<8x96xi8>, tensor<8xf32>)
  return %q, %s : tensor<8x96xi8>, tensor<8xf32>
}
