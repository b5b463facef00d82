// quant_xform.smooth on the CPU in all four forms (forward / inverse, with
// and without a shift) against the evaluator: bit-exact (one division or
// multiply and one add per element, as the evaluator does them).
// RUN: xform-run --target=cpu %s --seed 2 --no-print --compare-reference --max-rel-err 0 | FileCheck %s
// CHECK: reference 0 0.0000e+00
// CHECK-NEXT: reference 1 0.0000e+00
// CHECK-NEXT: reference 2 0.0000e+00
// CHECK-NEXT: reference 3 0.0000e+00
func.func @main(%x: tensor<3x4xf32>) -> (tensor<3x4xf32>, tensor<3x4xf32>, tensor<3x4xf32>, tensor<3x4xf32>) {
  %s = arith.constant dense<[2.0, 0.5, 4.0, 1.0]> : tensor<4xf32>
  %d = arith.constant dense<[0.3, -0.1, 0.0, 1.0]> : tensor<4xf32>
  %a = quant_xform.smooth %x by %s inverse : (tensor<3x4xf32>, tensor<4xf32>) -> tensor<3x4xf32>
  %b = quant_xform.smooth %x by %s shift %d inverse : (tensor<3x4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<3x4xf32>
  %c = quant_xform.smooth %x by %s : (tensor<3x4xf32>, tensor<4xf32>) -> tensor<3x4xf32>
  %e = quant_xform.smooth %x by %s shift %d : (tensor<3x4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<3x4xf32>
  return %a, %b, %c, %e : tensor<3x4xf32>, tensor<3x4xf32>, tensor<3x4xf32>, tensor<3x4xf32>
}
