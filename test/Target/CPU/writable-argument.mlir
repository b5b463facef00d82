// An argument the IR marks `bufferization.writable = true` (the GPU decode
// step's KV cache, whose last slot the step fills) is written in place: no
// copy of the whole argument. Others stay read-only (the caller's buffer is
// copied before a write into it), and xform-aot's header drops `const` only
// for the writable one.
// RUN: xform-opt %s -quant-xform-emit-c-interface | FileCheck %s --check-prefix=IR
// RUN: xform-opt %s -quant-xform-emit-c-interface -one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" | FileCheck %s --check-prefix=BUF
// RUN: xform-aot %s --entry step -o %t.o --header %t.h
// RUN: FileCheck %s --check-prefix=HEADER < %t.h
// IR-LABEL: func.func @step
// IR-SAME: %arg0: tensor<1x8xf32> {bufferization.writable = false}
// IR-SAME: %arg1: tensor<4x8xf32> {bufferization.writable = true}
// IR-SAME: %arg2: tensor<4x8xf32> {bufferization.writable = false}
// BUF-LABEL: func.func @step
// BUF: memref.subview %arg1[3, 0] [1, 8] [1, 1]
// BUF-NOT: memref.copy %arg1,
// BUF: memref.copy %arg2, %[[COPY:.*]] :
// BUF: memref.subview %[[COPY]][3, 0] [1, 8] [1, 1]
// HEADER: static inline void qx_step(const float *in0, float *in1, const float *in2, float *out0, float *out1)
func.func @step(%new: tensor<1x8xf32>, %cache: tensor<4x8xf32> {bufferization.writable = true},
                %other: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>) {
  %0 = tensor.insert_slice %new into %cache[3, 0] [1, 8] [1, 1] : tensor<1x8xf32> into tensor<4x8xf32>
  %1 = tensor.insert_slice %new into %other[3, 0] [1, 8] [1, 1] : tensor<1x8xf32> into tensor<4x8xf32>
  return %0, %1 : tensor<4x8xf32>, tensor<4x8xf32>
}
