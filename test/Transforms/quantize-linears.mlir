// quant-xform-quantize-linears: IR shape, then numbers through the evaluator.
// RUN: xform-opt %s -quant-xform-quantize-linears | FileCheck %s
// RUN: xform-opt %s -quant-xform-quantize-linears="activation-granularity=per_tensor weight-granularity=per_group group-size=4" | FileCheck %s --check-prefix=GROUP
// RUN: xform-opt %s -quant-xform-quantize-linears -o %t.int8.mlir
// RUN: xform-run --reference %s --seed 3 --no-print --compare %t.int8.mlir | FileCheck %s --check-prefix=NUM
// RUN: xform-opt %s -quant-xform-quantize-linears="activation-granularity=per_group group-size=4" | FileCheck %s --check-prefix=AGROUP
// RUN: xform-opt %s -quant-xform-quantize-linears="activation-granularity=per_group group-size=4" -o %t.agroup.mlir
// RUN: xform-run --reference %s --seed 3 --no-print --compare %t.agroup.mlir | FileCheck %s --check-prefix=NUMG
// RUN: xform-opt %s -quant-xform-quantize-linears="activation-granularity=per_group group-size=3" -verify-diagnostics
// RUN: not xform-opt %s -quant-xform-quantize-linears="activation-granularity=per_row" 2>&1 | FileCheck %s --check-prefix=BADOPT
// RUN: xform-opt %s -quant-xform-quantize-linears="weight-granularity=per_group group-size=3" -verify-diagnostics

// CHECK-LABEL: func.func @main
// Row 0: absmax 2 ⇒ sw = 2/127; 0.5/sw = 31.75 → 32, −1/sw = −63.5 → −64 (half to even).
// CHECK-NOT: tensor<3x8xf32>
// CHECK-DAG: %[[QW:.*]] = arith.constant dense<{{\[\[}}32, -64, 16, 127, -48, 6, 19, -13], [127, 17, -34, 0, 76, -93, 4, 51], [-29, 68, 117, -78, 39, 0, -127, 20]]> : tensor<3x8xi8>
// CHECK-DAG: %[[SW:.*]] = arith.constant dense<[0.0157480314, 0.0118110236, 0.0102362204]> : tensor<3xf32>
// CHECK: %[[Q:.*]], %[[S:.*]] = quant_xform.dynamic_quantize %{{.*}} scheme<per_token> : (tensor<2x8xf32>) -> (tensor<2x8xi8>, tensor<2xf32>)
// CHECK: quant_xform.qlinear %[[Q]] scale %[[S]], %[[QW]] scale %[[SW]], bias %{{.*}}
// CHECK-NOT: quant_xform.linear

// GROUP-LABEL: func.func @main
// GROUP: %[[SW:.*]] = arith.constant dense<{{.*}}> : tensor<3x2xf32>
// GROUP: quant_xform.dynamic_quantize %{{.*}} scheme<per_tensor> : (tensor<2x8xf32>) -> (tensor<2x8xi8>, tensor<f32>)

// Per-group activation scales: one scale per 4 inputs of a row, read group by
// group by the qlinear (per-channel weight scales stay).
// AGROUP-LABEL: func.func @main
// AGROUP: %[[Q:.*]], %[[S:.*]] = quant_xform.dynamic_quantize %{{.*}} scheme<per_group 4> : (tensor<2x8xf32>) -> (tensor<2x8xi8>, tensor<2x2xf32>)
// AGROUP: quant_xform.qlinear %[[Q]] scale %[[S]], %{{.*}} scale %{{.*}}, bias %{{.*}} : (tensor<2x8xi8>, tensor<2x2xf32>, tensor<3x8xi8>, tensor<3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
// Finer scales: here 46 dB against 44 dB per token.
// NUMG: model
// NUMG-NEXT: agroup.mlir{{ +0 +[0-9.e+-]+ +[0-9]\.[0-9]+e-0[3-9] +4[5-9]\.[0-9]+}}

// The W8A8 output stays within 1% of float here (an SQNR above 30 dB).
// NUM: model
// NUM-NEXT: int8.mlir{{ +0 +[0-9.e+-]+ +[0-9]\.[0-9]+e-0[3-9] +[3-9][0-9]\.[0-9]+}}

// BADOPT: for the --activation-granularity option: Cannot find option named 'per_row'!

func.func @main(%x: tensor<2x8xf32>) -> tensor<2x3xf32> {
  %w = arith.constant dense<[[0.5, -1.0, 0.25, 2.0, -0.75, 0.1, 0.3, -0.2],
                              [1.5, 0.2, -0.4, 0.0, 0.9, -1.1, 0.05, 0.6],
                              [-0.3, 0.7, 1.2, -0.8, 0.4, 0.0, -1.3, 0.2]]> : tensor<3x8xf32>
  %b = arith.constant dense<[0.1, -0.2, 0.3]> : tensor<3xf32>
  // With group-size=3 (the -verify-diagnostics run):
  // expected-error @+1 {{group size 3 does not divide K = 8}}
  %y = quant_xform.linear %x, %w, %b : (tensor<2x8xf32>, tensor<3x8xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}
