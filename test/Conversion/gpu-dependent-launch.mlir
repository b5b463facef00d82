// quant-xform-gpu-dependent-launch: every kernel waits for the grids it
// depends on at its entry, then lets its dependents be scheduled; the
// module gets the marker global the runtime launches its kernels by.
// Functions that are not kernels, modules without kernels and kernels that
// already wait are left alone (running the pass twice changes nothing).
// RUN: xform-opt %s -split-input-file -pass-pipeline="builtin.module(gpu.module(quant-xform-gpu-dependent-launch))" -verify-diagnostics | FileCheck %s
// RUN: xform-opt %s -split-input-file -pass-pipeline="builtin.module(gpu.module(quant-xform-gpu-dependent-launch,quant-xform-gpu-dependent-launch))" -verify-diagnostics | FileCheck %s

// CHECK-LABEL: gpu.module @kernels
// CHECK-NEXT: llvm.mlir.global external constant @qx_dependent_launch(1 : i32) {addr_space = 1 : i32, alignment = 4 : i64} : i32
// CHECK-NOT: qx_dependent_launch
// CHECK-LABEL: gpu.func @first(
// CHECK-NEXT: nvvm.griddepcontrol wait
// CHECK-NEXT: nvvm.griddepcontrol launch_dependents
// CHECK: memref.load
// CHECK-NOT: nvvm.griddepcontrol
// CHECK-LABEL: gpu.func @helper(
// CHECK-NOT: nvvm.griddepcontrol
// CHECK: gpu.return
// CHECK-LABEL: gpu.func @second(
// CHECK-NEXT: nvvm.griddepcontrol wait
// CHECK-NEXT: nvvm.griddepcontrol launch_dependents
// CHECK: memref.store
// CHECK-NOT: nvvm.griddepcontrol
// CHECK-LABEL: gpu.module @no_kernels
// CHECK-NOT: qx_dependent_launch
// CHECK-NOT: nvvm.griddepcontrol
gpu.module @kernels {
  gpu.func @first(%a: memref<4xf32>, %b: memref<4xf32>) kernel {
    %c0 = arith.constant 0 : index
    %v = memref.load %a[%c0] : memref<4xf32>
    memref.store %v, %b[%c0] : memref<4xf32>
    gpu.return
  }
  gpu.func @helper() {
    gpu.return
  }
  gpu.func @second(%b: memref<4xf32>) kernel {
    %c1 = arith.constant 1 : index
    %f = arith.constant 1.0 : f32
    memref.store %f, %b[%c1] : memref<4xf32>
    gpu.return
  }
}
gpu.module @no_kernels {
  gpu.func @helper() {
    gpu.return
  }
}

// -----

// The marker's name is taken by something else.
gpu.module @kernels {
  // expected-error @below {{'qx_dependent_launch' is the runtime's marker of kernels launched as dependents (an i32 constant global): another symbol cannot have its name}}
  llvm.mlir.global external @qx_dependent_launch(1.0 : f32) : f32
  gpu.func @k() kernel {
    gpu.return
  }
}
