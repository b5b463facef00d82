// quant-xform-split-outliers on the example block (γ channels 3, 17, 28
// carry outliers): static columns from calibration, or a run-time threshold.
// RUN: xform-opt %src_root/examples/block.mlir -quant-xform-calibrate="samples=2" -quant-xform-split-outliers 2>&1 | FileCheck %s
// RUN: xform-opt %src_root/examples/block.mlir -quant-xform-split-outliers="mode=dynamic roles=attn_in" | FileCheck %s --check-prefix=DYN
// RUN: xform-opt %src_root/examples/block.mlir -quant-xform-calibrate="samples=2" -quant-xform-split-outliers -quant-xform-quantize-linears -o %t.split.mlir 2>/dev/null
// RUN: xform-opt %src_root/examples/block.mlir -quant-xform-quantize-linears -o %t.plain.mlir
// RUN: xform-run --reference %src_root/examples/block.mlir --seed 9 --no-print --compare %t.plain.mlir --compare %t.split.mlir | FileCheck %s --check-prefix=NUM
// RUN: xform-opt %s -quant-xform-split-outliers -verify-diagnostics
// RUN: not xform-opt %src_root/examples/block.mlir -quant-xform-calibrate -quant-xform-split-outliers="threshold=4.0" 2>&1 | FileCheck %s --check-prefix=ERR-MISMATCH
// RUN: not xform-opt %src_root/examples/block.mlir -quant-xform-split-outliers="mode=sometimes" 2>&1 | FileCheck %s --check-prefix=ERR-MODE
// RUN: not xform-opt %src_root/examples/block.mlir -quant-xform-split-outliers="threshold=0" 2>&1 | FileCheck %s --check-prefix=ERR-THRESHOLD
// RUN: not xform-opt %src_root/examples/block.mlir -quant-xform-split-outliers="min-token-fraction=2" 2>&1 | FileCheck %s --check-prefix=ERR-FRACTION

// The GELU output has many large features: the cap keeps 10% (6 of 64).
// CHECK: warning: linear 'mlp.down': {{[0-9]+}} of 64 features are outliers; keeping the 6 largest
// CHECK-LABEL: func.func @main
// CHECK-COUNT-3: quant_xform.mixed_linear {{.*}} columns [3, 17, 28], bias %{{.*}} {quant_xform.layer = "attn.{{[qkv]}}", quant_xform.role = "attn_in"}
// V carries the outliers through attention into attn.o's input.
// CHECK: quant_xform.mixed_linear {{.*}} columns [3, 17, 28], bias %{{.*}} {quant_xform.layer = "attn.o"
// CHECK: quant_xform.mixed_linear {{.*}} columns [3, 17, 28], bias %{{.*}} {quant_xform.layer = "mlp.up"
// CHECK: quant_xform.mixed_linear {{.*}} columns [{{[0-9]+, [0-9]+, [0-9]+, [0-9]+, [0-9]+, [0-9]+}}], bias %{{.*}} {quant_xform.layer = "mlp.down"

// DYN-LABEL: func.func @main
// DYN-COUNT-3: quant_xform.mixed_linear {{.*}} threshold 6.000000e+00, bias %{{.*}} {quant_xform.layer = "attn.{{[qkv]}}"
// DYN-NOT: mixed_linear

// Keeping the outlier columns in float cuts the W8A8 error (SQNR ~22 dB →
// above 30 dB).
// NUM: plain.mlir 0 {{[0-9.e+-]+}} {{[0-9.e+-]+}} {{(1|2)[0-9]\.[0-9]+}}
// NUM: split.mlir 0 {{[0-9.e+-]+}} {{[0-9.e+-]+}} {{[3-9][0-9]\.[0-9]+}}

// ERR-MISMATCH: error: linear 'attn.q' was calibrated with outlier threshold 6.000000e+00, not 4.000000e+00
// ERR-MODE: for the --mode option: Cannot find option named 'sometimes'!
// ERR-THRESHOLD: error: quant-xform-split-outliers: threshold must be a finite value > 0
// ERR-FRACTION: error: quant-xform-split-outliers: min-token-fraction must be in [0, 1], got 2

// Static outlier columns without calibration statistics.
func.func @uncalibrated(%x: tensor<4x8xf32>) -> tensor<4x4xf32> {
  %w = arith.constant dense<0.5> : tensor<4x8xf32>
  // expected-error @+1 {{linear 'attn.q' has no outlier statistics; run quant-xform-calibrate first}}
  %y = quant_xform.linear %x, %w {quant_xform.layer = "attn.q"} : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x4xf32>
  return %y : tensor<4x4xf32>
}
