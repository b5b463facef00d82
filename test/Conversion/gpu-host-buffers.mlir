// The host side of whole functions on the GPU, after the GPU mapping:
// allocations and constants move to device memory (constants copied from
// their host globals at the entry), all freed before the return; a load
// left on the host is an error.
// RUN: xform-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(quant-xform-gpu-host-buffers))' -verify-diagnostics | FileCheck %s

memref.global "private" constant @w : memref<4xf32> = dense<[1.0, 2.0, 3.0, 4.0]>

// CHECK-LABEL: func.func @buffers(
// CHECK-SAME: %[[OUT:.*]]: memref<4xf32>)
// CHECK-NEXT: %[[HOST:.*]] = memref.get_global @w : memref<4xf32>
// CHECK-NEXT: %[[W:.*]] = gpu.alloc () : memref<4xf32>
// CHECK-NEXT: gpu.memcpy %[[W]], %[[HOST]] : memref<4xf32>, memref<4xf32>
// CHECK-NEXT: %[[TMP:.*]] = gpu.alloc () : memref<4xf32>
// CHECK-NOT: memref.alloc
// CHECK: gpu.launch
// CHECK: memref.load %[[W]]
// CHECK: memref.store %{{.*}}, %[[TMP]]
// CHECK: memref.load %[[TMP]]
// CHECK: memref.store %{{.*}}, %[[OUT]]
// CHECK-NOT: memref.dealloc
// CHECK: gpu.dealloc %[[W]]
// CHECK-NEXT: gpu.dealloc %[[TMP]]
// CHECK-NEXT: return
func.func @buffers(%out: memref<4xf32>) {
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %g = memref.get_global @w : memref<4xf32>
  %tmp = memref.alloc() : memref<4xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c4, %sy = %c1, %sz = %c1) {
    %v = memref.load %g[%tx] : memref<4xf32>
    memref.store %v, %tmp[%tx] : memref<4xf32>
    %u = memref.load %tmp[%tx] : memref<4xf32>
    memref.store %u, %out[%tx] : memref<4xf32>
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
