// quant-xform-calibrate attaches the statistics of every linear's input;
// bad options and bad calibration data are errors.
// RUN: xform-opt %S/Inputs/two-readers.mlir -quant-xform-calibrate="samples=2 outlier-threshold=1.0" | FileCheck %s
// RUN: xform-opt %S/Inputs/two-readers.mlir -quant-xform-calibrate="second-moment=false" | FileCheck %s --check-prefix=NOMOMENT
// RUN: xform-run --reference %S/Inputs/matrices.mlir --entry orthogonal8 --no-print --output %t.wrong-shape.npy
// RUN: xform-run --reference %s --entry nan_input --no-print --output %t.nan.npy
// RUN: not xform-opt %S/Inputs/two-readers.mlir -quant-xform-calibrate="samples=0" 2>&1 | FileCheck %s --check-prefix=ERR-SAMPLES
// RUN: not xform-opt %S/Inputs/two-readers.mlir -quant-xform-calibrate="outlier-threshold=-1" 2>&1 | FileCheck %s --check-prefix=ERR-THRESHOLD
// RUN: not xform-opt %S/Inputs/two-readers.mlir -quant-xform-calibrate="entry=nope" 2>&1 | FileCheck %s --check-prefix=ERR-ENTRY
// RUN: not xform-opt %S/Inputs/two-readers.mlir -quant-xform-calibrate="inputs=%t.missing.npy" 2>&1 | FileCheck %s --check-prefix=ERR-FILE
// RUN: not xform-opt %S/Inputs/two-readers.mlir -quant-xform-calibrate="inputs=%t.wrong-shape.npy" 2>&1 | FileCheck %s --check-prefix=ERR-SHAPE
// RUN: xform-opt %s -quant-xform-calibrate="inputs=%t.nan.npy" -verify-diagnostics

// CHECK-LABEL: func.func @main
// CHECK: quant_xform.linear {{.*}}quant_xform.stats = {absmax = dense<{{.*}}> : tensor<8xf32>, max = dense<{{.*}}> : tensor<8xf32>, min = dense<{{.*}}> : tensor<8xf32>, outlier_rows = dense<{{.*}}> : tensor<8xi64>, outlier_threshold = 1.000000e+00 : f64, rows = 8 : i64, second_moment = dense<{{.*}}> : tensor<8x8xf32>}
// CHECK: quant_xform.linear {{.*}}rows = 8 : i64
// CHECK: quant_xform.linear {{.*}}quant_xform.stats = {absmax = dense<{{.*}}> : tensor<4xf32>{{.*}}rows = 8 : i64, second_moment = dense<{{.*}}> : tensor<4x4xf32>}
// CHECK-NOT: quant_xform.observe

// NOMOMENT-LABEL: func.func @main
// NOMOMENT-NOT: second_moment

// ERR-SAMPLES: error: quant-xform-calibrate: samples must be > 0, got 0
// ERR-THRESHOLD: error: quant-xform-calibrate: outlier-threshold must be a finite value > 0
// ERR-ENTRY: error: quant-xform-calibrate: no function named 'nope'
// ERR-FILE: error: quant-xform-calibrate: cannot read calibration input
// ERR-SHAPE: error: {{.*}}argument #0

// Calibration data: a 4x8 input of NaNs.
func.func @nan_input() -> tensor<4x8xf32> {
  %c = arith.constant dense<0x7FC00000> : tensor<4x8xf32>
  return %c : tensor<4x8xf32>
}

// Calibrated on the NaNs above.
func.func @main(%x: tensor<4x8xf32>) -> tensor<4x4xf32> {
  %w = arith.constant dense<0.5> : tensor<4x8xf32>
  // expected-error @+1 {{calibration saw NaN or Inf in the input of linear 'attn.q'}}
  %y = quant_xform.linear %x, %w {quant_xform.layer = "attn.q"} : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x4xf32>
  return %y : tensor<4x4xf32>
}
