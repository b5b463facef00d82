// quant-xform-gpu-tensor-maps: a TMA kernel's tensor-map arguments
// (quant_xform.tensor_map = [source, box rows, box bytes]) get the map of
// their source operand, made right before the launch by the runtime's
// qxGpuEncodeTensorMap into a 64-byte aligned slot at the function entry.
// RUN: xform-opt %s -split-input-file -quant-xform-gpu-tensor-maps -verify-diagnostics | FileCheck %s

// CHECK: llvm.func @qxGpuEncodeTensorMap(!llvm.ptr, !llvm.ptr, i64, i64, i64, i64)
// CHECK-LABEL: func.func @host(
// CHECK-SAME: %[[Q:.*]]: memref<300x272xi8>, %[[Y:.*]]: memref<300x4xf32>)
// CHECK: %[[SLOT:.*]] = llvm.alloca %{{.*}} x !llvm.array<16 x i64> {alignment = 64 : i64}
// CHECK: %[[T:.*]] = gpu.wait async
// CHECK: %[[ADDR:.*]] = memref.extract_aligned_pointer_as_index %[[Q]]
// CHECK: %[[ROWS:.*]] = llvm.mlir.constant(300 : i64)
// CHECK: %[[COLS:.*]] = llvm.mlir.constant(272 : i64)
// CHECK: %[[BOXR:.*]] = llvm.mlir.constant(64 : i64)
// CHECK: %[[BOXB:.*]] = llvm.mlir.constant(128 : i64)
// CHECK: llvm.call @qxGpuEncodeTensorMap(%[[SLOT]], %{{.*}}, %[[ROWS]], %[[COLS]], %[[BOXR]], %[[BOXB]])
// CHECK: %[[MAP:.*]] = llvm.load %[[SLOT]] : !llvm.ptr -> !llvm.array<16 x i64>
// CHECK: gpu.launch_func async [%[[T]]] @k::@tma {{.*}}args(%[[Q]] : memref<300x272xi8>, %[[MAP]] : !llvm.array<16 x i64>, %[[Y]] : memref<300x4xf32>)
module attributes {gpu.container_module} {
  gpu.module @k {
    gpu.func @tma(%q: memref<300x272xi8>, %map: !llvm.array<16 x i64> {quant_xform.tensor_map = array<i64: 0, 64, 128>}, %y: memref<300x4xf32>) kernel {
      gpu.return
    }
  }
  func.func @host(%q: memref<300x272xi8>, %y: memref<300x4xf32>) {
    %c1 = arith.constant 1 : index
    %t = gpu.wait async
    %p = llvm.mlir.poison : !llvm.array<16 x i64>
    %t2 = gpu.launch_func async [%t] @k::@tma blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%q : memref<300x272xi8>, %p : !llvm.array<16 x i64>, %y : memref<300x4xf32>)
    gpu.wait [%t2]
    return
  }
}

// -----

// A map whose source is not an int8 matrix is an error.
module attributes {gpu.container_module} {
  gpu.module @k {
    gpu.func @tma(%q: memref<300x272xf32>, %map: !llvm.array<16 x i64> {quant_xform.tensor_map = array<i64: 0, 64, 128>}) kernel {
      gpu.return
    }
  }
  func.func @host(%q: memref<300x272xf32>) {
    %c1 = arith.constant 1 : index
    %p = llvm.mlir.poison : !llvm.array<16 x i64>
    // expected-error @below {{tensor map argument 1 of kernel tma does not describe an int8 matrix operand of static columns and identity layout}}
    gpu.launch_func @k::@tma blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%q : memref<300x272xf32>, %p : !llvm.array<16 x i64>)
    return
  }
}

// -----

// A source index past the operands is an error.
module attributes {gpu.container_module} {
  gpu.module @k {
    gpu.func @tma(%map: !llvm.array<16 x i64> {quant_xform.tensor_map = array<i64: 5, 64, 128>}) kernel {
      gpu.return
    }
  }
  func.func @host() {
    %c1 = arith.constant 1 : index
    %p = llvm.mlir.poison : !llvm.array<16 x i64>
    // expected-error @below {{tensor map argument 0 of kernel tma does not describe an int8 matrix operand of static columns and identity layout}}
    gpu.launch_func @k::@tma blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%p : !llvm.array<16 x i64>)
    return
  }
}
