// A function that returns one tensor twice (and its argument): each result
// is its own out-parameter (quant-xform-emit-c-interface copies a repeated
// one; upstream's buffer-results-to-out-params crashed on it). The CPU JIT
// matches the evaluator (test/Target/GPU/repeated-results.test: the GPU
// lowering compiles it).
// RUN: xform-run --target=cpu %s --seed 1 --no-print --compare-reference --max-rel-err 1e-6 | FileCheck %s
// RUN: xform-opt %s -quant-xform-emit-c-interface | FileCheck %s --check-prefix=IR
// CHECK: reference 0 0.0000e+00
// CHECK-NEXT: reference 1 0.0000e+00
// CHECK-NEXT: reference 2 0.0000e+00
// IR-LABEL: func.func @main
// IR: %[[Y:.*]] = arith.addf
// IR: %[[COPY:.*]] = bufferization.alloc_tensor() copy(%[[Y]])
// IR: return %[[Y]], %[[COPY]], %arg0
func.func @main(%x: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>) {
  %y = arith.addf %x, %x : tensor<4x8xf32>
  return %y, %y, %x : tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>
}
