// Static activation ranges from calibration histograms: percentile, MSE and
// KL (TensorRT entropy) choosers; errors on bad options and missing data.
// RUN: xform-opt %S/Inputs/two-readers.mlir -quant-xform-calibrate="histogram=true samples=2" | FileCheck %s --check-prefix=HIST
// RUN: xform-opt %S/Inputs/two-readers.mlir -quant-xform-calibrate="histogram=true" -quant-xform-quantize-linears="activation-granularity=per_tensor static-activations=true range=kl" | FileCheck %s --check-prefix=KL
// RUN: xform-opt %S/Inputs/two-readers.mlir -quant-xform-calibrate="histogram=true" -quant-xform-quantize-linears="activation-granularity=per_tensor static-activations=true range=mse" -o %t.mse.mlir
// RUN: xform-opt %S/Inputs/two-readers.mlir -quant-xform-calibrate="histogram=true" -quant-xform-quantize-linears="activation-granularity=per_tensor static-activations=true range=percentile percentile=99.9" -o %t.pct.mlir
// RUN: xform-opt %S/Inputs/two-readers.mlir -quant-xform-calibrate="histogram=true" -quant-xform-quantize-linears="activation-granularity=per_tensor static-activations=true range=kl" -o %t.kl.mlir
// RUN: xform-run --reference %S/Inputs/two-readers.mlir --seed 7 --no-print --min-sqnr 20 --compare %t.mse.mlir --compare %t.pct.mlir --compare %t.kl.mlir
// RUN: xform-opt %s -quant-xform-calibrate -quant-xform-quantize-linears="activation-granularity=per_tensor static-activations=true range=kl" -verify-diagnostics
// RUN: not xform-opt %S/Inputs/two-readers.mlir -quant-xform-quantize-linears="range=entropy" 2>&1 | FileCheck %s --check-prefix=ERR-NAME
// RUN: not xform-opt %S/Inputs/two-readers.mlir -quant-xform-quantize-linears="activation-granularity=per_tensor static-activations=true asymmetric=true range=mse" 2>&1 | FileCheck %s --check-prefix=ERR-ASYM
// RUN: not xform-opt %S/Inputs/two-readers.mlir -quant-xform-quantize-linears="percentile=0" 2>&1 | FileCheck %s --check-prefix=ERR-PCT

// HIST-LABEL: func.func @main
// HIST: quant_xform.linear {{.*}}histogram = dense<{{.*}}> : tensor<2048xi64>, histogram_max = {{[0-9.e+-]+}} : f64

// KL-LABEL: func.func @main
// KL: %[[S:.*]] = arith.constant dense<{{[0-9.e+-]+}}> : tensor<f32>
// KL: quant_xform.quantize %{{.*}}, %[[S]] scheme<per_tensor>

// ERR-NAME: for the --range option: Cannot find option named 'entropy'!
// ERR-ASYM: error: quant-xform-quantize-linears: range=mse needs static-activations and a symmetric scheme
// ERR-PCT: error: quant-xform-quantize-linears: percentile must be in (0, 100], got 0

// Calibrated without histogram=true, quantized with range=kl.
func.func @main(%x: tensor<4x8xf32>) -> tensor<4x4xf32> {
  %w = arith.constant dense<0.5> : tensor<4x8xf32>
  // expected-error @+1 {{linear 'attn.q' has no calibration histogram for range=kl; run quant-xform-calibrate with histogram=true}}
  %y = quant_xform.linear %x, %w {quant_xform.layer = "attn.q"} : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x4xf32>
  return %y : tensor<4x4xf32>
}
