// quant-xform-gpu-tensor-map-args: a kernel's !llvm.array<16 x i64>
// argument used through casts to !llvm.ptr becomes a byval, 64-byte
// aligned, grid-constant pointer argument, and the casts go.
// RUN: xform-opt %s -split-input-file -pass-pipeline="builtin.module(gpu.module(quant-xform-gpu-tensor-map-args))" -verify-diagnostics | FileCheck %s

// CHECK-LABEL: llvm.func @kern(
// CHECK-SAME: %[[MAP:.*]]: !llvm.ptr {llvm.align = 64 : i64, llvm.byval = !llvm.array<16 x i64>, nvvm.grid_constant}, %{{.*}}: i64)
// CHECK-NOT: unrealized_conversion_cast
// CHECK: llvm.call @use(%[[MAP]])
// An array argument used by value stays.
// CHECK-LABEL: llvm.func @by_value(
// CHECK-SAME: %{{.*}}: !llvm.array<16 x i64>)
gpu.module @k {
  llvm.func @use(!llvm.ptr)
  llvm.func @kern(%map: !llvm.array<16 x i64>, %n: i64) attributes {gpu.kernel, nvvm.kernel} {
    %p = builtin.unrealized_conversion_cast %map : !llvm.array<16 x i64> to !llvm.ptr
    llvm.call @use(%p) : (!llvm.ptr) -> ()
    llvm.return
  }
  llvm.func @by_value(%map: !llvm.array<16 x i64>) attributes {gpu.kernel, nvvm.kernel} {
    %e = llvm.extractvalue %map[0] : !llvm.array<16 x i64>
    llvm.return
  }
}

// -----

// Only a kernel argument can be a grid constant.
gpu.module @k {
  llvm.func @use(!llvm.ptr)
  // expected-error @below {{argument 0 is a tensor map used by address, which only a kernel argument can be}}
  llvm.func @helper(%map: !llvm.array<16 x i64>) {
    %p = builtin.unrealized_conversion_cast %map : !llvm.array<16 x i64> to !llvm.ptr
    llvm.call @use(%p) : (!llvm.ptr) -> ()
    llvm.return
  }
}
