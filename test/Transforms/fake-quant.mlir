// QAT export and import. quant-xform-insert-fake-quant fake-quantizes the
// inputs (per token, or with a PACT clip from calibration) and weights (per
// channel) of the linears; that float model computes what the W8A8 model
// computes (relative error ≤ 1e-6). quant-xform-quantize-linears reads the
// fake-quantizers back: a PACT clip α becomes the static scale α / 127.
//
// RUN: xform-opt %S/Inputs/two-readers.mlir -quant-xform-insert-fake-quant | FileCheck %s
// RUN: xform-opt %S/Inputs/two-readers.mlir -quant-xform-insert-fake-quant -o %t.fq.mlir
// RUN: xform-opt %t.fq.mlir -quant-xform-quantize-linears -o %t.q.mlir
// RUN: xform-run --reference %t.fq.mlir --seed 3 --no-print --max-rel-err 1e-6 --compare %t.q.mlir
// RUN: xform-opt %S/Inputs/two-readers.mlir -quant-xform-calibrate -quant-xform-insert-fake-quant=pact=true -o %t.pact.mlir
// RUN: FileCheck %s --check-prefix=PACT < %t.pact.mlir
// RUN: xform-opt %t.pact.mlir -quant-xform-quantize-linears -o %t.pq.mlir
// RUN: FileCheck %s --check-prefix=PACT-Q < %t.pq.mlir
// RUN: xform-run --reference %t.pact.mlir --seed 3 --no-print --max-rel-err 1e-6 --compare %t.pq.mlir
//
// Import of a clip learned elsewhere, and a fake-quantizer that cannot be
// imported (the functions below).
// RUN: xform-opt %s -split-input-file -verify-diagnostics -quant-xform-quantize-linears | FileCheck %s --check-prefix=IMPORT
//
// Errors not located in this file.
// RUN: not xform-opt %S/Inputs/two-readers.mlir -quant-xform-insert-fake-quant=pact=true 2>&1 | FileCheck %s --check-prefix=ERR-STATS

// CHECK-LABEL: func.func @main
// CHECK: %[[N:.*]] = quant_xform.rms_norm
// CHECK-NEXT: %[[FX:.*]] = quant_xform.fake_quant %[[N]] scheme<per_token>
// CHECK-NEXT: %[[FW:.*]] = quant_xform.fake_quant %{{.*}} scheme<per_channel>
// CHECK-NEXT: quant_xform.linear %[[FX]], %[[FW]]
// CHECK-COUNT-2: quant_xform.fake_quant

// PACT-LABEL: func.func @main
// PACT-COUNT-3: quant_xform.fake_quant %{{.*}} scheme<per_tensor> clip {{[0-9.e+-]+}} :

// PACT-Q-LABEL: func.func @main
// PACT-Q-NOT: fake_quant
// PACT-Q-COUNT-3: quant_xform.quantize %{{.*}} scheme<per_tensor>

// ERR-STATS: error: linear 'attn.q' has no calibration statistics for the PACT clip; run quant-xform-calibrate first

// α = 2.54 → scale 0.02.
// IMPORT-LABEL: func.func @pact_clip
// IMPORT-SAME: (%[[ARG:.*]]: tensor<2x4xf32>)
// IMPORT: arith.constant dense<2.000000e-02> : tensor<f32>
// IMPORT: quant_xform.quantize %[[ARG]], %{{.*}} scheme<per_tensor>
// IMPORT-NOT: fake_quant
func.func @pact_clip(%x: tensor<2x4xf32>) -> tensor<2x2xf32> {
  %w = arith.constant dense<[[1.0, 2.0, 3.0, 4.0], [0.5, -1.0, 0.25, 2.0]]> : tensor<2x4xf32>
  %fx = quant_xform.fake_quant %x scheme<per_tensor> clip 2.54 : (tensor<2x4xf32>) -> tensor<2x4xf32>
  %y = quant_xform.linear %fx, %w : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x2xf32>
  return %y : tensor<2x2xf32>
}

// -----

// A 4-bit fake-quantizer in front of a linear: not W8A8.
func.func @four_bit(%x: tensor<2x4xf32>) -> tensor<2x2xf32> {
  %w = arith.constant dense<[[1.0, 2.0, 3.0, 4.0], [0.5, -1.0, 0.25, 2.0]]> : tensor<2x4xf32>
  // expected-error @+1 {{'quant_xform.fake_quant' op is a 4-bit fake-quantizer; only 8-bit ones can become W8A8}}
  %fx = quant_xform.fake_quant %x scheme<per_token, bits = 4> : (tensor<2x4xf32>) -> tensor<2x4xf32>
  %y = quant_xform.linear %fx, %w : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x2xf32>
  return %y : tensor<2x2xf32>
}
