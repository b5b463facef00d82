// SmoothQuant scales in closed form, s_j = max|x_j|^α / max|W_j|^(1−α),
// with hand-written statistics (absmax = [2, 8]) and weight column maxima
// [4, 0.5] (over both readers): α = 1 → s = absmax = [2, 8];
// α = 0 → s = 1 / max|W| = [0.25, 2]; α = 0.5 → s = √(absmax / max|W|) =
// [√0.5, 4]. The function is unchanged after folding.
// RUN: xform-opt %s -quant-xform-insert-transforms="kind=smooth alpha=1.0" | FileCheck %s --check-prefix=A1
// RUN: xform-opt %s -quant-xform-insert-transforms="kind=smooth alpha=0.0" | FileCheck %s --check-prefix=A0
// RUN: xform-opt %s -quant-xform-insert-transforms="kind=smooth alpha=0.5" | FileCheck %s --check-prefix=AH
// RUN: xform-opt %s -quant-xform-insert-transforms="kind=smooth alpha=0.5" -quant-xform-fold-transforms-into-linears -o %t.mlir
// RUN: xform-run --reference %s --seed 3 --no-print --max-rel-err 1e-5 --compare %t.mlir

// A1-LABEL: func.func @main
// A1: arith.constant dense<[2.000000e+00, 8.000000e+00]> : tensor<2xf32>
// A0-LABEL: func.func @main
// A0: arith.constant dense<[2.500000e-01, 2.000000e+00]> : tensor<2xf32>
// AH-LABEL: func.func @main
// AH: arith.constant dense<[0.707106769, 4.000000e+00]> : tensor<2xf32>

func.func @main(%x: tensor<3x2xf32>) -> (tensor<3x2xf32>, tensor<3x1xf32>) {
  %w1 = arith.constant dense<[[4.0, 0.25], [-1.0, 0.5]]> : tensor<2x2xf32>
  %w2 = arith.constant dense<[[-2.0, 0.125]]> : tensor<1x2xf32>
  %y1 = quant_xform.linear %x, %w1 {quant_xform.stats = {absmax = dense<[2.0, 8.0]> : tensor<2xf32>, rows = 3 : i64}} : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32>
  %y2 = quant_xform.linear %x, %w2 {quant_xform.stats = {absmax = dense<[2.0, 8.0]> : tensor<2xf32>, rows = 3 : i64}} : (tensor<3x2xf32>, tensor<1x2xf32>) -> tensor<3x1xf32>
  return %y1, %y2 : tensor<3x2xf32>, tensor<3x1xf32>
}
