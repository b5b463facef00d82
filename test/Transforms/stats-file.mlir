// Statistics files: quant-xform-export-stats / quant-xform-import-stats.
// A round trip reproduces the calibrated IR exactly (all entries: absmax,
// min/max, rows, outliers, histogram, sampled rows, second moment, EMA);
// a module calibrated from the file quantizes like one calibrated in place;
// every malformed file is an error naming the tensor, and leaves the
// module unchanged.
// RUN: xform-opt %src_root/examples/block.mlir -quant-xform-calibrate="samples=2 histogram=true keep-rows=8 ema=true" -o %t.cal.mlir
// RUN: xform-opt %t.cal.mlir -quant-xform-export-stats="file=%t.stats" -o %t.same.mlir
// RUN: cmp %t.cal.mlir %t.same.mlir
// RUN: xform-opt %src_root/examples/block.mlir -quant-xform-import-stats="file=%t.stats" -o %t.imp.mlir
// RUN: cmp %t.cal.mlir %t.imp.mlir
// RUN: xform-opt %t.imp.mlir -quant-xform-quantize-linears="static-activations=true activation-granularity=per_tensor range=kl" -o %t.q1.mlir
// RUN: xform-opt %t.cal.mlir -quant-xform-quantize-linears="static-activations=true activation-granularity=per_tensor range=kl" -o %t.q2.mlir
// RUN: cmp %t.q1.mlir %t.q2.mlir
// RUN: FileCheck %s --check-prefix=IMP --input-file=%t.imp.mlir

// IMP-LABEL: func.func @main
// IMP: quant_xform.linear {{.*}}quant_xform.layer = "attn.q"{{.*}}quant_xform.stats = {absmax = {{.*}}ema_absmax = {{.*}}histogram = {{.*}}histogram_max = {{.*}}outlier_rows = {{.*}}rows = 32 : i64, sampled_rows = {{.*}}second_moment

// Errors.
// RUN: not xform-opt %src_root/examples/block.mlir -quant-xform-export-stats="file=%t.none" 2>&1 | FileCheck %s --check-prefix=NONE
// RUN: not test -e %t.none
// RUN: not xform-opt %src_root/examples/block.mlir -quant-xform-export-stats 2>&1 | FileCheck %s --check-prefix=NOFILE
// RUN: not xform-opt %src_root/examples/block.mlir -quant-xform-import-stats="file=%t.missing" 2>&1 | FileCheck %s --check-prefix=MISSING
// NONE: error: no linear has calibration statistics to export to '{{.*}}.none'; run quant-xform-calibrate first
// NOFILE: error: quant-xform-export-stats needs file=<path>
// MISSING: error: {{.*}}.missing: cannot read:

// RUN: %python %S/Inputs/edit-stats-file.py %t.stats %t.bad nometa
// RUN: not xform-opt %src_root/examples/block.mlir -quant-xform-import-stats="file=%t.bad" 2>&1 | FileCheck %s --check-prefix=NOMETA
// NOMETA: error: '{{.*}}.bad' is not a quant-xform statistics file (its __metadata__ has no "format": "quant-xform-stats")
// RUN: %python %S/Inputs/edit-stats-file.py %t.stats %t.bad version
// RUN: not xform-opt %src_root/examples/block.mlir -quant-xform-import-stats="file=%t.bad" 2>&1 | FileCheck %s --check-prefix=VERSION
// VERSION: error: '{{.*}}.bad': unsupported statistics file version '9' (this build reads version 1)
// RUN: %python %S/Inputs/edit-stats-file.py %t.stats %t.bad rename-layer
// RUN: not xform-opt %src_root/examples/block.mlir -quant-xform-import-stats="file=%t.bad" 2>&1 | FileCheck %s --check-prefix=LAYER
// LAYER: error: '{{.*}}.bad': tensor 'nope/{{[a-z_]+}}' names layer 'nope', which the module does not have
// RUN: %python %S/Inputs/edit-stats-file.py %t.stats %t.bad unknown-entry
// RUN: not xform-opt %src_root/examples/block.mlir -quant-xform-import-stats="file=%t.bad" 2>&1 | FileCheck %s --check-prefix=ENTRY
// ENTRY: error: '{{.*}}.bad': tensor 'attn.q/foo' has an unknown statistics entry 'foo'
// RUN: %python %S/Inputs/edit-stats-file.py %t.stats %t.bad short-absmax
// RUN: not xform-opt %src_root/examples/block.mlir -quant-xform-import-stats="file=%t.bad" 2>&1 | FileCheck %s --check-prefix=SHAPE
// SHAPE: error: 'quant_xform.linear' op 'quant_xform.stats' entry 'absmax' must be a dense tensor of shape [K] with K = 32
// SHAPE: error: '{{.*}}.bad': the statistics of layer 'attn.q' do not fit the linear (see above)
// RUN: %python %S/Inputs/edit-stats-file.py %t.stats %t.bad rows-float
// RUN: not xform-opt %src_root/examples/block.mlir -quant-xform-import-stats="file=%t.bad" 2>&1 | FileCheck %s --check-prefix=DTYPE
// DTYPE: error: '{{.*}}.bad': tensor 'attn.q/rows' must be I64 or I32, not F32
// RUN: %python %S/Inputs/edit-stats-file.py %t.stats %t.bad nan
// RUN: not xform-opt %src_root/examples/block.mlir -quant-xform-import-stats="file=%t.bad" 2>&1 | FileCheck %s --check-prefix=NAN
// NAN: error: 'quant_xform.linear' op 'quant_xform.stats' entry 'absmax' holds NaN or Inf
// RUN: %python %S/Inputs/edit-stats-file.py %t.stats %t.bad truncate
// RUN: not xform-opt %src_root/examples/block.mlir -quant-xform-import-stats="file=%t.bad" 2>&1 | FileCheck %s --check-prefix=TRUNC
// TRUNC: error: {{.*}}.bad: truncated
// RUN: %python %S/Inputs/edit-stats-file.py %t.stats %t.bad only-q
// RUN: xform-opt %src_root/examples/block.mlir -quant-xform-import-stats="file=%t.bad" -o /dev/null 2>&1 | FileCheck %s --check-prefix=PARTIAL
// PARTIAL-NOT: linear 'attn.q' has no statistics
// PARTIAL: warning: linear 'attn.k' has no statistics in '{{.*}}.bad'

// An unnamed linear is '#<i>' (its index among the module's linears); two
// linears with one name cannot be told apart.
// RUN: sed 's/{quant_xform.layer = "attn.k", quant_xform.role = "attn_in"}//' %S/Inputs/two-readers.mlir > %t.unnamed.mlir
// RUN: xform-opt %t.unnamed.mlir -quant-xform-calibrate -quant-xform-export-stats="file=%t.unnamed.stats" -o %t.unnamed.cal.mlir
// RUN: xform-opt %t.unnamed.mlir -quant-xform-import-stats="file=%t.unnamed.stats" -o %t.unnamed.imp.mlir
// RUN: cmp %t.unnamed.cal.mlir %t.unnamed.imp.mlir
// RUN: %python -c "import json,struct,sys; b=open(sys.argv[1],'rb').read(); print(sorted(json.loads(b[8:8+struct.unpack('<Q',b[:8])[0]])))" %t.unnamed.stats | FileCheck %s --check-prefix=KEYS
// KEYS: '#1/absmax'
// KEYS-SAME: 'attn.q/absmax'
// RUN: xform-opt %s -quant-xform-calibrate -quant-xform-export-stats="file=%t.dup.stats" -verify-diagnostics

// Two readers of one norm, both named 'attn.q'.
func.func @main(%x: tensor<4x8xf32>) -> (tensor<4x4xf32>, tensor<4x4xf32>) {
  %g = arith.constant dense<[1.5, 0.5, 2.0, 1.0, 0.75, 1.25, 3.0, 0.9]> : tensor<8xf32>
  %w1 = arith.constant dense<0.5> : tensor<4x8xf32>
  %w2 = arith.constant dense<-0.25> : tensor<4x8xf32>
  %h = quant_xform.rms_norm %x, %g : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  %q = quant_xform.linear %h, %w1 {quant_xform.layer = "attn.q", quant_xform.role = "attn_in"} : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x4xf32>
  // expected-error @+1 {{two linears are named 'attn.q'; a statistics file needs unique layer names}}
  %k = quant_xform.linear %h, %w2 {quant_xform.layer = "attn.q", quant_xform.role = "attn_in"} : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x4xf32>
  return %q, %k : tensor<4x4xf32>, tensor<4x4xf32>
}
