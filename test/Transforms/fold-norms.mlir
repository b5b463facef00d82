// quant-xform-fold-norm-scales-into-linears and
// quant-xform-fold-diagonals-into-norms: IR and numerical equivalence
// (relative error ≤ 1e-5 on seeded random inputs) on Inputs/norms.mlir.
// RUN: xform-opt %S/Inputs/norms.mlir -quant-xform-fold-norm-scales-into-linears | FileCheck %s --check-prefix=SCALES
// RUN: xform-opt %S/Inputs/norms.mlir -quant-xform-fold-diagonals-into-norms | FileCheck %s --check-prefix=DIAG
// RUN: xform-opt %S/Inputs/norms.mlir -quant-xform-fold-norm-scales-into-linears -o %t.scales.mlir
// RUN: xform-opt %S/Inputs/norms.mlir -quant-xform-fold-diagonals-into-norms -o %t.diag.mlir
// RUN: xform-opt %S/Inputs/norms.mlir -quant-xform-fold-norm-scales-into-linears -quant-xform-fold-diagonals-into-norms -o %t.both.mlir
// RUN: xform-run --reference %S/Inputs/norms.mlir --seed 4 --no-print --max-rel-err 1e-5 --compare %t.scales.mlir --compare %t.diag.mlir --compare %t.both.mlir | FileCheck %s --check-prefix=NUM

// The LayerNorm read only by linears loses γ and β (γ = 1); the RMSNorm
// read by an add keeps its γ; the RMSNorm read by a smooth is untouched.
// SCALES-DAG: %[[ONES:.*]] = arith.constant dense<1.000000e+00> : tensor<4xf32>
// SCALES-DAG: %[[G:.*]] = arith.constant dense<[1.500000e+00, 5.000000e-01, 2.000000e+00, 4.000000e+00]> : tensor<4xf32>
// SCALES: %[[LN:.*]] = quant_xform.layer_norm %arg0, %[[ONES]] : (tensor<3x4xf32>, tensor<4xf32>) -> tensor<3x4xf32>
// SCALES-NEXT: quant_xform.linear %[[LN]], %{{.*}}, %{{.*}} : (tensor<3x4xf32>, tensor<2x4xf32>, tensor<2xf32>)
// SCALES-NEXT: quant_xform.linear %[[LN]], %{{.*}}, %{{.*}} : (tensor<3x4xf32>, tensor<2x4xf32>, tensor<2xf32>)
// SCALES-NEXT: quant_xform.rms_norm %arg0, %[[G]] :
// SCALES: quant_xform.smooth

// The smooth (with its shift) becomes the RMSNorm's γ and β:
// γ' = γ/s = [0.75, 1, 0.5, 4], β' = (β − δ)/s = [-0.1, -0.2, 0, -0.7].
// DIAG-DAG: %[[G2:.*]] = arith.constant dense<[7.500000e-01, 1.000000e+00, 5.000000e-01, 4.000000e+00]> : tensor<4xf32>
// DIAG-DAG: %[[B2:.*]] = arith.constant dense<[-0.100000009, -2.000000e-01, 0.000000e+00, -0.699999988]> : tensor<4xf32>
// DIAG: %[[R:.*]] = quant_xform.rms_norm %arg0, %[[G2]], %[[B2]]
// DIAG-NEXT: quant_xform.linear %[[R]]
// DIAG-NOT: quant_xform.smooth

// NUM: model
// NUM-COUNT-12: .mlir {{[0-3]}} {{[0-9.]+e[-+][0-9]+}} {{(0\.0000e\+00|[0-9.]+e-(0[6-9]|[1-9][0-9]))}}
