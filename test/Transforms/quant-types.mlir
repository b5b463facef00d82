// !quant.uniform interop: import quant.qcast/dcast as quant_xform quantizers,
// export quantizers with static scales back, and the round trip is exact.
// RUN: xform-opt %s -split-input-file -verify-diagnostics -quant-xform-import-quant-types | FileCheck %s --check-prefix=IMPORT
// RUN: xform-opt %s -split-input-file -verify-diagnostics -quant-xform-import-quant-types -canonicalize | FileCheck %s --check-prefix=CANON
// RUN: xform-opt %s -split-input-file -verify-diagnostics -quant-xform-import-quant-types -canonicalize -o %t.imported.mlir
// RUN: xform-opt %t.imported.mlir -quant-xform-export-quant-types | FileCheck %s --check-prefix=EXPORT
// RUN: xform-opt %t.imported.mlir -quant-xform-export-quant-types -quant-xform-import-quant-types -canonicalize -o %t.roundtrip.mlir
// RUN: xform-run --reference %t.imported.mlir --entry per_layer --seed 3 --no-print --max-rel-err 0 --compare %t.roundtrip.mlir
// RUN: xform-run --reference %t.imported.mlir --entry per_axis --seed 3 --no-print --max-rel-err 0 --compare %t.roundtrip.mlir
// RUN: xform-opt %S/Inputs/two-readers.mlir -quant-xform-calibrate -quant-xform-quantize-linears="activation-granularity=per_tensor static-activations=true asymmetric=true" -quant-xform-export-quant-types 2>&1 | FileCheck %s --check-prefix=REMARK
// RUN: xform-opt %S/Inputs/two-readers.mlir -quant-xform-calibrate -quant-xform-quantize-linears="activation-granularity=per_tensor static-activations=true" -quant-xform-export-quant-types | FileCheck %s --check-prefix=STATIC

// IMPORT-LABEL: func.func @per_layer
// IMPORT-SAME: (%[[ARG:.*]]: tensor<2x4xf32>)
// IMPORT: %[[S:.*]] = arith.constant dense<5.000000e-02> : tensor<f32>
// IMPORT: %[[Q:.*]] = quant_xform.quantize %[[ARG]], %[[S]] scheme<per_tensor> : (tensor<2x4xf32>, tensor<f32>) -> tensor<2x4xi8>
// IMPORT: %[[T:.*]] = quant.scast %[[Q]] : tensor<2x4xi8> to tensor<2x4x!quant.uniform<i8<-127:127>:f32, 5.000000e-02>>
// IMPORT: %[[R:.*]] = quant.scast %[[T]] : tensor<2x4x!quant.uniform<i8<-127:127>:f32, 5.000000e-02>> to tensor<2x4xi8>
// IMPORT: quant_xform.dequantize %[[R]], %{{.*}} scheme<per_tensor>
// IMPORT-LABEL: func.func @per_axis
// IMPORT-SAME: (%[[ARG:.*]]: tensor<2x4xf32>)
// IMPORT: quant_xform.quantize %[[ARG]], %{{.*}} scheme<per_channel> : (tensor<2x4xf32>, tensor<2xf32>) -> tensor<2x4xi8>

// After canonicalization the storage casts cancel.
// CANON-LABEL: func.func @per_layer
// CANON-NOT: quant.
// CANON: quant_xform.quantize
// CANON-NEXT: quant_xform.dequantize
// CANON-LABEL: func.func @per_axis
// CANON-NOT: quant.
// CANON: quant_xform.quantize
// CANON-NEXT: quant_xform.dequantize

// EXPORT-LABEL: func.func @per_layer
// EXPORT-SAME: (%[[ARG:.*]]: tensor<2x4xf32>)
// The scales are the f32 constants' exact values.
// EXPORT: %[[T:.*]] = quant.qcast %[[ARG]] : tensor<2x4xf32> to tensor<2x4x!quant.uniform<i8<-127:127>:f32, 0.05000000074505806>>
// EXPORT: %[[R:.*]] = quant.scast %[[T]]
// EXPORT: %[[T2:.*]] = quant.scast %[[R]]
// EXPORT: quant.dcast %[[T2]]
// EXPORT-LABEL: func.func @per_axis
// EXPORT-SAME: (%[[ARG:.*]]: tensor<2x4xf32>)
// EXPORT: quant.qcast %[[ARG]] : tensor<2x4xf32> to tensor<2x4x!quant.uniform<i8<-127:127>:f32:0, {0.10000000149011612,0.20000000298023224}>>

// Asymmetric (zero point) quantizers are not exported.
// REMARK-COUNT-3: remark: not exported: needs constant scales, a symmetric scheme without clip and signed storage

// Static symmetric activation scales from calibration are exported.
// STATIC-LABEL: func.func @main
// STATIC-COUNT-3: quant.qcast {{.*}}!quant.uniform<i8<-127:127>:f32

!q = !quant.uniform<i8<-127:127>:f32, 0.05>
!qa = !quant.uniform<i8<-127:127>:f32:0, {0.1, 0.2}>

func.func @per_layer(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %q = quant.qcast %x : tensor<2x4xf32> to tensor<2x4x!q>
  %y = quant.dcast %q : tensor<2x4x!q> to tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

func.func @per_axis(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %q = quant.qcast %x : tensor<2x4xf32> to tensor<2x4x!qa>
  %y = quant.dcast %q : tensor<2x4x!qa> to tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

// An asymmetric !quant.uniform (zero point 3, full signed range): no exact
// quant_xform scheme.
func.func @unsupported(%x: tensor<2x4xf32>) -> tensor<2x4x!quant.uniform<i8:f32, 0.05:3>> {
  // expected-error @+1 {{cannot import 'tensor<2x4x!quant.uniform<i8:f32, 5.000000e-02:3>>': only signed narrow-range storage}}
  %q = quant.qcast %x : tensor<2x4xf32> to tensor<2x4x!quant.uniform<i8:f32, 0.05:3>>
  return %q : tensor<2x4x!quant.uniform<i8:f32, 0.05:3>>
}
