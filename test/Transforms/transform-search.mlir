// Transform searches in quant-xform-insert-transforms on calibrated rows:
// SmoothQuant's α by grid search, AffineQuant's learned affine and the
// per-activation choice (kind=auto). Each records its choice and the
// measured W8A8 SQNR on the readers, and the float function is unchanged
// after folding (relative error ≤ 1e-5). quant-xform-calibrate's keep-rows
// and EMA statistics feed them and range=ema.
//
// RUN: xform-opt %S/Inputs/two-readers.mlir -quant-xform-calibrate="samples=8 keep-rows=20 ema=true second-moment=false" | FileCheck %s --check-prefix=CAL
// RUN: xform-opt %S/Inputs/two-readers.mlir -quant-xform-calibrate="samples=8 keep-rows=64" -o %t.cal.mlir
// RUN: xform-opt %t.cal.mlir -quant-xform-insert-transforms="kind=smooth alpha-search=true alpha-grid=0,0.25,0.5,0.75,1" | FileCheck %s --check-prefix=SMOOTH
// RUN: xform-opt %t.cal.mlir -quant-xform-insert-transforms="kind=learned-affine progress=true" 2>%t.progress | FileCheck %s --check-prefix=AFFINE
// RUN: FileCheck %s --check-prefix=PROGRESS < %t.progress
// RUN: xform-opt %t.cal.mlir -quant-xform-insert-transforms="kind=auto candidates=smooth,hadamard,pca,learned-affine" | FileCheck %s --check-prefix=AUTO
//
// RUN: xform-opt %t.cal.mlir -quant-xform-insert-transforms="kind=learned-affine affine-max-size=4" 2>&1 | FileCheck %s --check-prefix=MAXSIZE
//
// The searched transforms fold and keep the function.
// RUN: xform-opt %t.cal.mlir -quant-xform-insert-transforms="kind=smooth alpha-search=true" -quant-xform-fold-transforms-into-linears -o %t.s.mlir
// RUN: xform-opt %t.cal.mlir -quant-xform-insert-transforms="kind=learned-affine" -quant-xform-fold-transforms-into-linears -o %t.a.mlir
// RUN: xform-opt %t.cal.mlir -quant-xform-insert-transforms="kind=auto candidates=hadamard,learned-affine" -quant-xform-fold-transforms-into-linears -o %t.au.mlir
// RUN: xform-run --reference %S/Inputs/two-readers.mlir --seed 4 --no-print --max-rel-err 1e-5 --compare %t.s.mlir --compare %t.a.mlir --compare %t.au.mlir
//
// The choice survives quantization (the layer report shows it); static
// activation scales from the EMA.
// RUN: xform-opt %t.a.mlir -quant-xform-quantize-linears | FileCheck %s --check-prefix=QUANT
// RUN: xform-opt %S/Inputs/two-readers.mlir -quant-xform-calibrate="samples=6 ema=true ema-decay=0.5" -quant-xform-quantize-linears="activation-granularity=per_tensor static-activations=true range=ema" | FileCheck %s --check-prefix=EMA
//
// Errors: an error naming the problem, a non-zero exit.
// RUN: not xform-opt %S/Inputs/two-readers.mlir -quant-xform-calibrate -quant-xform-insert-transforms="kind=learned-affine" 2>&1 | FileCheck %s --check-prefix=ERR-ROWS
// RUN: not xform-opt %S/Inputs/two-readers.mlir -quant-xform-insert-transforms="kind=smooth alpha-search=true" 2>&1 | FileCheck %s --check-prefix=ERR-STATS
// RUN: not xform-opt %t.cal.mlir -quant-xform-insert-transforms="kind=smooth alpha-search=true alpha-grid=0.5,2" 2>&1 | FileCheck %s --check-prefix=ERR-GRID
// RUN: not xform-opt %t.cal.mlir -quant-xform-insert-transforms="kind=learned-affine affine-epochs=0" 2>&1 | FileCheck %s --check-prefix=ERR-EPOCHS
// RUN: not xform-opt %t.cal.mlir -quant-xform-insert-transforms="kind=learned-affine affine-stability=2" 2>&1 | FileCheck %s --check-prefix=ERR-STABILITY
// RUN: not xform-opt %t.cal.mlir -quant-xform-insert-transforms="kind=auto candidates=smooth,spin" 2>&1 | FileCheck %s --check-prefix=ERR-CAND
// RUN: not xform-opt %S/Inputs/two-readers.mlir -quant-xform-calibrate="keep-rows=-1" 2>&1 | FileCheck %s --check-prefix=ERR-KEEP
// RUN: not xform-opt %S/Inputs/two-readers.mlir -quant-xform-calibrate="ema=true ema-decay=1" 2>&1 | FileCheck %s --check-prefix=ERR-DECAY
// RUN: not xform-opt %S/Inputs/two-readers.mlir -quant-xform-calibrate -quant-xform-quantize-linears="activation-granularity=per_tensor static-activations=true range=ema" 2>&1 | FileCheck %s --check-prefix=ERR-EMA
//
// An error at the linear below.
// RUN: xform-opt %s -quant-xform-insert-transforms="kind=learned-affine" -verify-diagnostics

// 8 samples × 4 rows = 32 rows seen, 20 kept.
// CAL-LABEL: func.func @main
// CAL: quant_xform.linear {{.*}}ema_absmax = dense<{{.*}}> : tensor<8xf32>{{.*}}rows = 32 : i64, sampled_rows = dense{{.*}} : tensor<20x8xf32>
// CAL: quant_xform.linear {{.*}}ema_absmax = dense<{{.*}}> : tensor<4xf32>{{.*}}sampled_rows = dense{{.*}} : tensor<20x4xf32>

// SMOOTH-LABEL: func.func @main
// SMOOTH: quant_xform.smooth {{.*}} {quant_xform.pinned}
// SMOOTH: quant_xform.linear {{.*}}quant_xform.search = {alpha = {{[0-9.e+-]+}} : f64, sqnr_after = {{[0-9.e+-]+}} : f64, sqnr_before = {{[0-9.e+-]+}} : f64, transform = "smooth"}

// AFFINE-LABEL: func.func @main
// AFFINE: %[[F:.*]] = quant_xform.affine %{{.*}} by %{{.*}} {quant_xform.pinned}
// AFFINE-NEXT: %[[I:.*]] = quant_xform.affine %[[F]] by %{{.*}} inverse
// AFFINE-NEXT: quant_xform.linear %[[I]], {{.*}}transform = "learned-affine"
// AFFINE-NEXT: quant_xform.linear %[[I]], {{.*}}transform = "learned-affine"
// AFFINE: quant_xform.affine %{{.*}} by %{{.*}} {quant_xform.pinned}

// MAXSIZE: warning: linear 'attn.q': 8 features exceed affine-max-size=4; keeping the smoothing diagonal
// MAXSIZE-LABEL: func.func @main
// MAXSIZE: quant_xform.smooth {{.*}} {quant_xform.pinned}
// MAXSIZE: transform = "smooth"
// MAXSIZE: quant_xform.affine {{.*}} {quant_xform.pinned}
// MAXSIZE: transform = "learned-affine"

// PROGRESS: quant-xform-insert-transforms: 1/2 activations (attn.q)
// PROGRESS-NEXT: quant-xform-insert-transforms: 2/2 activations (mlp.down)

// AUTO-LABEL: func.func @main
// AUTO-COUNT-3: quant_xform.linear {{.*}}quant_xform.search = {{{.*}}transform = "{{none|smooth|hadamard|pca|learned-affine}}"}

// QUANT-LABEL: func.func @main
// QUANT-COUNT-3: quant_xform.qlinear {{.*}}quant_xform.search = {{{.*}}transform = "learned-affine"}

// EMA-LABEL: func.func @main
// EMA-COUNT-3: quant_xform.quantize {{.*}}per_tensor

// ERR-ROWS: error: linear 'attn.q' has no sampled rows for the transform search; run quant-xform-calibrate with keep-rows=<n> first
// ERR-STATS: error: linear 'attn.q' has no calibration statistics; run quant-xform-calibrate first
// ERR-GRID: error: quant-xform-insert-transforms: alpha-grid values must be in [0, 1], got 2
// ERR-EPOCHS: error: quant-xform-insert-transforms: affine-epochs must be in [1, 1000] and affine-steps in [1, 100000], got 0 and 8
// ERR-STABILITY: error: quant-xform-insert-transforms: affine-stability must be in [0, 1], got 2
// ERR-CAND: error: quant-xform-insert-transforms: candidates must be smooth, hadamard, pca or learned-affine, got 'spin'
// ERR-KEEP: error: quant-xform-calibrate: keep-rows must be in [0, 65536], got -1
// ERR-DECAY: error: quant-xform-calibrate: ema-decay must be in [0, 1) and ema-warmup >= 1, got 1
// ERR-EMA: error: linear 'attn.q' has no EMA statistics for range=ema; run quant-xform-calibrate with ema=true

// Degenerate calibration: every sampled row is zero.
func.func @zero_rows(%x: tensor<2x4xf32>) -> tensor<2x2xf32> {
  %w = arith.constant dense<[[1.0, 2.0, 3.0, 4.0], [0.5, -1.0, 0.25, 2.0]]> : tensor<2x4xf32>
  // expected-error @+1 {{linear 'zero': every sampled row is zero (degenerate calibration data)}}
  %y = quant_xform.linear %x, %w {quant_xform.layer = "zero", quant_xform.stats = {absmax = dense<0.0> : tensor<4xf32>, rows = 2 : i64, sampled_rows = dense<0.0> : tensor<2x4xf32>}} : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x2xf32>
  return %y : tensor<2x2xf32>
}

// A requested (not searched) transform is recorded too, measured the same
// way as the searches measure it: fixed α = 0.5 against a one-point α
// search, a Hadamard against kind=auto's Hadamard candidate (same seed,
// same signs). Without sampled rows only the kind is recorded. In the
// pipeline, measure=true recalibrates in front of each transform and the
// record composes (smoothing, then Hadamard: SQNR before both, after both).
// RUN: xform-opt %t.cal.mlir -quant-xform-insert-transforms="kind=smooth alpha=0.5" | FileCheck %s --check-prefix=FIXED-SMOOTH
// RUN: xform-opt %t.cal.mlir -quant-xform-insert-transforms="kind=smooth alpha-search=true alpha-grid=0.5" | FileCheck %s --check-prefix=FIXED-SMOOTH
// RUN: xform-opt %t.cal.mlir -quant-xform-insert-transforms="kind=hadamard" | FileCheck %s --check-prefix=FIXED-HAD
// A second function with the same layers (as a decoder layer's prefill and
// decode): the search runs once per layer and the twin gets its outcome,
// the same random signs included.
// RUN: sed '/^}$/d' %t.cal.mlir > %t.twin.mlir
// RUN: sed -n '/func.func @main/,/^  }$/p' %t.cal.mlir | sed 's/@main/@twin/' >> %t.twin.mlir
// RUN: echo "}" >> %t.twin.mlir
// RUN: xform-opt %t.twin.mlir -quant-xform-insert-transforms="kind=auto candidates=hadamard" | FileCheck %s --check-prefix=TWIN
// RUN: xform-opt %t.cal.mlir -quant-xform-insert-transforms="kind=auto candidates=hadamard" | FileCheck %s --check-prefix=FIXED-HAD
// RUN: xform-opt %S/Inputs/two-readers.mlir -quant-xform-insert-transforms="kind=hadamard" | FileCheck %s --check-prefix=FIXED-UNMEASURED
// RUN: xform-opt %src_root/examples/block.mlir -quant-xform-w8a8="smooth-alpha=0.5 rotation=hadamard measure=true" | FileCheck %s --check-prefix=MEASURE
// TWIN-LABEL: func.func @main
// TWIN: quant_xform.rotate hadamard %{{.*}} signs [[SIGNS:.*]] {quant_xform.pinned}
// TWIN-LABEL: func.func @twin
// TWIN: quant_xform.rotate hadamard %{{.*}} signs [[SIGNS]] {quant_xform.pinned}
// FIXED-SMOOTH-LABEL: func.func @main
// FIXED-SMOOTH: quant_xform.layer = "attn.q", quant_xform.role = "attn_in", quant_xform.search = {alpha = 5.000000e-01 : f64, sqnr_after = 47.8946{{[0-9]+}} : f64, sqnr_before = 43.939942560383{{[0-9]+}} : f64, transform = "smooth"}
// FIXED-HAD-LABEL: func.func @main
// FIXED-HAD: quant_xform.layer = "attn.q", quant_xform.role = "attn_in", quant_xform.search = {sqnr_after = 47.170872468144{{[0-9]+}} : f64, sqnr_before = 43.939942560383{{[0-9]+}} : f64, transform = "hadamard"}
// FIXED-UNMEASURED-LABEL: func.func @main
// FIXED-UNMEASURED: quant_xform.search = {transform = "hadamard"}
// MEASURE-LABEL: func.func @main
// MEASURE: quant_xform.qlinear {{.*}}quant_xform.layer = "attn.q"{{.*}}quant_xform.search = {alpha = 5.000000e-01 : f64, sqnr_after = 52.{{[0-9]+}} : f64, sqnr_before = 38.{{[0-9]+}} : f64, transform = "smooth+hadamard"}
