// quant-xform-quantize-linears with static (calibrated) per-tensor scales,
// asymmetric uint8 activations, and layer selection.
// RUN: xform-opt %S/Inputs/two-readers.mlir -quant-xform-calibrate -quant-xform-quantize-linears="activation-granularity=per_tensor static-activations=true" | FileCheck %s --check-prefix=STATIC
// RUN: xform-opt %S/Inputs/two-readers.mlir -quant-xform-calibrate -quant-xform-quantize-linears="activation-granularity=per_tensor static-activations=true asymmetric=true" | FileCheck %s --check-prefix=ASYM
// RUN: xform-opt %S/Inputs/two-readers.mlir -quant-xform-quantize-linears="asymmetric=true" | FileCheck %s --check-prefix=DYNASYM
// RUN: xform-opt %S/Inputs/two-readers.mlir -quant-xform-quantize-linears="roles=attn_in" | FileCheck %s --check-prefix=ROLE
// RUN: xform-opt %S/Inputs/two-readers.mlir -quant-xform-calibrate="seed=1" -quant-xform-quantize-linears="activation-granularity=per_tensor static-activations=true" -o %t.static.mlir
// RUN: xform-opt %S/Inputs/two-readers.mlir -quant-xform-calibrate="seed=1" -quant-xform-quantize-linears="activation-granularity=per_tensor static-activations=true asymmetric=true" -o %t.asym.mlir
// RUN: xform-opt %S/Inputs/two-readers.mlir -quant-xform-quantize-linears="asymmetric=true" -o %t.dynasym.mlir
// RUN: xform-run --reference %S/Inputs/two-readers.mlir --seed 1 --no-print --min-sqnr 25 --compare %t.static.mlir --compare %t.asym.mlir --compare %t.dynasym.mlir
// RUN: xform-opt %s -quant-xform-quantize-linears="activation-granularity=per_tensor static-activations=true" -verify-diagnostics
// RUN: not xform-opt %S/Inputs/two-readers.mlir -quant-xform-quantize-linears="static-activations=true" 2>&1 | FileCheck %s --check-prefix=ERR-GRAN

// STATIC-LABEL: func.func @main
// STATIC: %[[S:.*]] = arith.constant dense<{{[0-9.e+-]+}}> : tensor<f32>
// STATIC: %[[Q:.*]] = quant_xform.quantize %{{.*}}, %[[S]] scheme<per_tensor> : (tensor<4x8xf32>, tensor<f32>) -> tensor<4x8xi8>
// STATIC: quant_xform.qlinear %[[Q]] scale %[[S]], {{.*}}quant_xform.layer = "attn.q"
// STATIC-NOT: quant_xform.linear
// STATIC-NOT: dynamic_quantize

// ASYM-LABEL: func.func @main
// ASYM: %[[Z:.*]] = arith.constant dense<{{[0-9]+}}> : tensor<ui8>
// ASYM: %[[Q:.*]] = quant_xform.quantize %{{.*}}, %[[S:.*]] zero_point %[[Z]] scheme<per_tensor, asymmetric> : (tensor<4x8xf32>, tensor<f32>, tensor<ui8>) -> tensor<4x8xui8>
// ASYM: quant_xform.qlinear %[[Q]] scale %[[S]] zero_point %[[Z]],

// DYNASYM-LABEL: func.func @main
// DYNASYM: %{{.*}}, %{{.*}}, %{{.*}} = quant_xform.dynamic_quantize %{{.*}} scheme<per_token, asymmetric> : (tensor<4x8xf32>) -> (tensor<4x8xui8>, tensor<4xf32>, tensor<4xui8>)

// Only the attention inputs are quantized; mlp.down stays in float.
// ROLE-LABEL: func.func @main
// ROLE-COUNT-2: quant_xform.qlinear
// ROLE: quant_xform.linear {{.*}}"mlp.down"

// ERR-GRAN: error: quant-xform-quantize-linears: static-activations needs activation-granularity=per_tensor

// Static scales without calibration statistics.
func.func @uncalibrated(%x: tensor<4x8xf32>) -> tensor<4x4xf32> {
  %w = arith.constant dense<0.5> : tensor<4x8xf32>
  // expected-error @+1 {{linear 'attn.q' has no calibration statistics for static activation scales; run quant-xform-calibrate first}}
  %y = quant_xform.linear %x, %w {quant_xform.layer = "attn.q"} : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x4xf32>
  return %y : tensor<4x4xf32>
}
