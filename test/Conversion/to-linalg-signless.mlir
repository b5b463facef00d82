// convert-quant-xform-to-linalg leaves no unsigned integer type: function
// signatures, results, constants and the ops in between become signless
// (the same bits), through a TypeConverter; no tensor.bitcast is left. The
// CPU against the evaluator on unsigned types: Target/CPU/ops-vs-reference.
// RUN: xform-opt %s -convert-quant-xform-to-linalg | FileCheck %s

// CHECK-LABEL: func.func @round_trip
// CHECK-SAME: (%{{.*}}: tensor<4x8xf32>, %{{.*}}: tensor<4xi8>) -> (tensor<4x8xi8>, tensor<4x8xf32>)
// CHECK-NOT: ui8
// CHECK-NOT: tensor.bitcast
// CHECK: return
func.func @round_trip(%x: tensor<4x8xf32>, %zp: tensor<4xui8>) -> (tensor<4x8xui8>, tensor<4x8xf32>) {
  %s = arith.constant dense<[0.05, 0.1, 0.02, 0.04]> : tensor<4xf32>
  %q = quant_xform.quantize %x, %s zero_point %zp scheme<per_token, asymmetric> : (tensor<4x8xf32>, tensor<4xf32>, tensor<4xui8>) -> tensor<4x8xui8>
  %y = quant_xform.dequantize %q, %s zero_point %zp scheme<per_token, asymmetric> : (tensor<4x8xui8>, tensor<4xf32>, tensor<4xui8>) -> tensor<4x8xf32>
  return %q, %y : tensor<4x8xui8>, tensor<4x8xf32>
}

// CHECK-LABEL: func.func @constant_zero_point
// CHECK: arith.constant dense<-56> : tensor<4xi8>
// CHECK-NOT: ui8
func.func @constant_zero_point(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %s = arith.constant dense<0.05> : tensor<4xf32>
  %zp = arith.constant dense<200> : tensor<4xui8>
  %q = quant_xform.quantize %x, %s zero_point %zp scheme<per_token, asymmetric> : (tensor<4x8xf32>, tensor<4xf32>, tensor<4xui8>) -> tensor<4x8xui8>
  %y = quant_xform.dequantize %q, %s zero_point %zp scheme<per_token, asymmetric> : (tensor<4x8xui8>, tensor<4xf32>, tensor<4xui8>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
