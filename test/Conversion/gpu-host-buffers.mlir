// The host side of whole functions on the GPU, after the GPU mapping:
// allocations move to device memory, freed before the return; f32/i8/i32
// constants become the runtime's resident device copies, other constants
// device buffers filled from their host globals at the entry; a load left
// on the host is an error.
// RUN: xform-opt %s -split-input-file -pass-pipeline='builtin.module(quant-xform-gpu-host-buffers)' -verify-diagnostics | FileCheck %s

memref.global "private" constant @w : memref<2x2xf32> = dense<[[1.0, 2.0], [3.0, 4.0]]>
memref.global "private" constant @d : memref<4xf64> = dense<[1.0, 2.0, 3.0, 4.0]>

// CHECK-LABEL: func.func private @qxGpuConstantF32(memref<?xf32>) -> memref<?xf32> attributes {llvm.emit_c_interface}
// CHECK-LABEL: func.func @buffers(
// CHECK-SAME: %[[OUT:.*]]: memref<4xf32>)
// An f32 constant: the runtime's resident device copy, viewed in its
// shape; other constants: a device buffer filled on every call; the GPU
// ops after the last resident-copy call (one stream for all of them).
// CHECK: %[[DH:.*]] = memref.get_global @d : memref<4xf64>
// CHECK-NEXT: %[[W:.*]] = memref.get_global @w : memref<2x2xf32>
// CHECK-NEXT: %[[FLAT:.*]] = memref.reinterpret_cast %[[W]] to offset: [0], sizes: [4], strides: [1]
// CHECK-NEXT: %[[DYN:.*]] = memref.cast %[[FLAT]] : memref<4xf32> to memref<?xf32>
// CHECK-NEXT: %[[DEV:.*]] = call @qxGpuConstantF32(%[[DYN]])
// CHECK-NEXT: %[[DD:.*]] = gpu.alloc () : memref<4xf64>
// CHECK-NEXT: gpu.memcpy %[[DD]], %[[DH]] : memref<4xf64>, memref<4xf64>
// CHECK-NEXT: %[[TMP:.*]] = gpu.alloc () : memref<4xf32>
// CHECK-NEXT: %[[DEVS:.*]] = memref.cast %[[DEV]] : memref<?xf32> to memref<4xf32>
// CHECK-NEXT: %[[WD:.*]] = memref.reinterpret_cast %[[DEVS]] to offset: [0], sizes: [2, 2], strides: [2, 1] : memref<4xf32> to memref<2x2xf32>
// CHECK-NOT: memref.alloc
// CHECK: gpu.launch
// CHECK: memref.load %[[WD]]
// CHECK: memref.load %[[DD]]
// CHECK: memref.store %{{.*}}, %[[TMP]]
// CHECK: memref.load %[[TMP]]
// CHECK: memref.store %{{.*}}, %[[OUT]]
// CHECK-NOT: memref.dealloc
// CHECK: gpu.dealloc %[[DD]]
// CHECK-NEXT: gpu.dealloc %[[TMP]]
// CHECK-NEXT: return
func.func @buffers(%out: memref<4xf32>) {
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c4 = arith.constant 4 : index
  %g = memref.get_global @w : memref<2x2xf32>
  %dg = memref.get_global @d : memref<4xf64>
  %tmp = memref.alloc() : memref<4xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c2, %sy = %c2, %sz = %c1) {
    %v = memref.load %g[%tx, %ty] : memref<2x2xf32>
    %i = arith.addi %tx, %tx : index
    %j = arith.addi %i, %ty : index
    %dv = memref.load %dg[%j] : memref<4xf64>
    %dt = arith.truncf %dv : f64 to f32
    %s = arith.addf %v, %dt : f32
    memref.store %s, %tmp[%j] : memref<4xf32>
    %u = memref.load %tmp[%j] : memref<4xf32>
    memref.store %u, %out[%j] : memref<4xf32>
    gpu.terminator
  }
  memref.dealloc %tmp : memref<4xf32>
  return
}

// -----

func.func @host_load(%a: memref<4xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  // expected-error @+1 {{the GPU lowering left this op on the host, where it would read device memory}}
  %v = memref.load %a[%c0] : memref<4xf32>
  return %v : f32
}

// -----

func.func @dynamic_buffer(%n: index) {
  // expected-error @+1 {{the GPU lowering needs static shapes for buffers}}
  %a = memref.alloc(%n) : memref<?xf32>
  return
}
