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

// With cache-blocked-rotations (the CPU pipeline): K = 3072 (blocks of
// 1024), M = 6 → row blocks of 2 (≤ 8192 floats), an scf.forall over three
// blocks whose stages are still all vector code.
// RUN: xform-opt %s -pass-pipeline='builtin.module(convert-quant-xform-to-linalg{cache-blocked-rotations},func.func(quant-xform-vectorize-for-cpu))' | FileCheck %s --check-prefix=BLOCKED
// BLOCKED-LABEL: func.func @main
// BLOCKED-LABEL: func.func @row_blocks
// BLOCKED: scf.forall (%{{.*}}) in (3) shared_outs(%{{.*}} = %{{.*}}) -> (tensor<6x3072xf32>)
// BLOCKED: tensor.extract_slice %{{.*}}[%{{.*}}, 0] [2, 3072] [1, 1]
// BLOCKED: vector.fma
// BLOCKED-NOT: linalg.generic
// BLOCKED: tensor.parallel_insert_slice {{.*}} into %{{.*}}[%{{.*}}, 0] [2, 3072] [1, 1]
func.func @row_blocks(%x: tensor<6x3072xf32>) -> tensor<6x3072xf32> {
  %r = quant_xform.rotate hadamard %x : (tensor<6x3072xf32>) -> tensor<6x3072xf32>
  return %r : tensor<6x3072xf32>
}
