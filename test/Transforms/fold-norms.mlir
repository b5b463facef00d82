// quant-xform-fold-norm-scales-into-linears and
// quant-xform-fold-diagonals-into-norms: IR and numerical equivalence
// (relative error ≤ 1e-5 on seeded random inputs).
// RUN: xform-opt %s -quant-xform-fold-norm-scales-into-linears | FileCheck %s --check-prefix=SCALES
// RUN: xform-opt %s -quant-xform-fold-diagonals-into-norms | FileCheck %s --check-prefix=DIAG
// RUN: xform-opt %s -quant-xform-fold-norm-scales-into-linears -o %t.scales.mlir
// RUN: xform-opt %s -quant-xform-fold-diagonals-into-norms -o %t.diag.mlir
// RUN: xform-opt %s -quant-xform-fold-norm-scales-into-linears -quant-xform-fold-diagonals-into-norms -o %t.both.mlir
// RUN: xform-run --reference %s --seed 4 --no-print --max-rel-err 1e-5 --compare %t.scales.mlir --compare %t.diag.mlir --compare %t.both.mlir | FileCheck %s --check-prefix=NUM

// NUM: model
// NUM-COUNT-12: .mlir {{[0-3]}} {{[0-9.]+e[-+][0-9]+}} {{(0\.0000e\+00|[0-9.]+e-(0[6-9]|[1-9][0-9]))}}

// A LayerNorm (with β) read by two linears, an RMSNorm read by a linear and
// by a residual add, and smoothing right after a norm.
//
// The LayerNorm read only by linears loses γ and β (γ = 1); the RMSNorm
// read by an add keeps its γ; the RMSNorm read by a smooth is untouched.
// SCALES-LABEL: func.func @main
// SCALES-SAME: (%[[ARG:.*]]: tensor<3x4xf32>)
// SCALES-DAG: %[[ONES:.*]] = arith.constant dense<1.000000e+00> : tensor<4xf32>
// SCALES-DAG: %[[G:.*]] = arith.constant dense<[1.500000e+00, 5.000000e-01, 2.000000e+00, 4.000000e+00]> : tensor<4xf32>
// SCALES: %[[LN:.*]] = quant_xform.layer_norm %[[ARG]], %[[ONES]] : (tensor<3x4xf32>, tensor<4xf32>) -> tensor<3x4xf32>
// SCALES-NEXT: quant_xform.linear %[[LN]], %{{.*}}, %{{.*}} : (tensor<3x4xf32>, tensor<2x4xf32>, tensor<2xf32>)
// SCALES-NEXT: quant_xform.linear %[[LN]], %{{.*}}, %{{.*}} : (tensor<3x4xf32>, tensor<2x4xf32>, tensor<2xf32>)
// SCALES-NEXT: quant_xform.rms_norm %[[ARG]], %[[G]] :
// SCALES: quant_xform.smooth
//
// The smooth (with its shift) becomes the RMSNorm's γ and β:
// γ' = γ/s = [0.75, 1, 0.5, 4], β' = (β − δ)/s = [-0.1, -0.2, 0, -0.7].
// DIAG-LABEL: func.func @main
// DIAG-SAME: (%[[ARG:.*]]: tensor<3x4xf32>)
// DIAG-DAG: %[[G2:.*]] = arith.constant dense<[7.500000e-01, 1.000000e+00, 5.000000e-01, 4.000000e+00]> : tensor<4xf32>
// DIAG-DAG: %[[B2:.*]] = arith.constant dense<[-0.100000009, -2.000000e-01, 0.000000e+00, -0.699999988]> : tensor<4xf32>
// DIAG: %[[R:.*]] = quant_xform.rms_norm %[[ARG]], %[[G2]], %[[B2]]
// DIAG-NEXT: quant_xform.linear %[[R]]
// DIAG-NOT: quant_xform.smooth
func.func @main(%x: tensor<3x4xf32>) -> (tensor<3x2xf32>, tensor<3x2xf32>, tensor<3x4xf32>, tensor<3x2xf32>) {
  %g = arith.constant dense<[1.5, 0.5, 2.0, 4.0]> : tensor<4xf32>
  %beta = arith.constant dense<[0.1, -0.2, 0.0, 0.3]> : tensor<4xf32>
  %w = arith.constant dense<[[0.5, -1.0, 0.25, 2.0], [1.5, 0.2, -0.4, 0.3]]> : tensor<2x4xf32>
  %b = arith.constant dense<[0.1, -0.2]> : tensor<2xf32>
  %w2 = arith.constant dense<[[0.3, 0.7, -0.5, 0.1], [-0.6, 0.4, 0.9, -0.2]]> : tensor<2x4xf32>
  %s = arith.constant dense<[2.0, 0.5, 4.0, 1.0]> : tensor<4xf32>
  %d = arith.constant dense<[0.3, -0.1, 0.0, 1.0]> : tensor<4xf32>
  %ln = quant_xform.layer_norm %x, %g, %beta : (tensor<3x4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<3x4xf32>
  %y0 = quant_xform.linear %ln, %w, %b : (tensor<3x4xf32>, tensor<2x4xf32>, tensor<2xf32>) -> tensor<3x2xf32>
  %y1 = quant_xform.linear %ln, %w2 : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32>
  %rms = quant_xform.rms_norm %x, %g : (tensor<3x4xf32>, tensor<4xf32>) -> tensor<3x4xf32>
  %r = arith.addf %rms, %x : tensor<3x4xf32>
  %rms2 = quant_xform.rms_norm %x, %g, %beta : (tensor<3x4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<3x4xf32>
  %sm = quant_xform.smooth %rms2 by %s shift %d {quant_xform.pinned} : (tensor<3x4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<3x4xf32>
  %y2 = quant_xform.linear %sm, %w : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32>
  return %y0, %y1, %r, %y2 : tensor<3x2xf32>, tensor<3x2xf32>, tensor<3x4xf32>, tensor<3x2xf32>
}
