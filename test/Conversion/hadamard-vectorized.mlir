// A block Hadamard (K = 384: blocks of 128) lowers to one radix-16 matmul
// kernel plus butterfly stages, and every stage gets vector code: no scalar
// linalg.generic is left after quant-xform-vectorize-for-cpu.
// RUN: xform-opt %s -pass-pipeline='builtin.module(convert-quant-xform-to-linalg,func.func(quant-xform-vectorize-for-cpu))' | FileCheck %s
// CHECK-LABEL: func.func @main
// CHECK: vector.fma
// CHECK-NOT: linalg.generic
func.func @main(%x: tensor<8x384xf32>) -> tensor<8x384xf32> {
  %r = quant_xform.rotate hadamard %x : (tensor<8x384xf32>) -> tensor<8x384xf32>
  return %r : tensor<8x384xf32>
}
