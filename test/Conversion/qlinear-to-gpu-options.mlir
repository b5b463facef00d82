// Out-of-range kernel options are errors naming the option.
// RUN: not xform-opt %s -convert-quant-xform-qlinear-to-gpu="wgmma=true wgmma-tile-n=100" 2>&1 | FileCheck %s --check-prefix=TILEN
// RUN: not xform-opt %s -convert-quant-xform-qlinear-to-gpu="wgmma=true wgmma-tile-m=32" 2>&1 | FileCheck %s --check-prefix=TILEM
// RUN: not xform-opt %s -convert-quant-xform-qlinear-to-gpu="wgmma=true wgmma-min-m=0" 2>&1 | FileCheck %s --check-prefix=MINM
// RUN: not xform-opt %s -convert-quant-xform-qlinear-to-gpu="wgmma=true wgmma-tile-k=32" 2>&1 | FileCheck %s --check-prefix=TILEK
// RUN: not xform-opt %s -convert-quant-xform-qlinear-to-gpu="wgmma=true wgmma-stages=2" 2>&1 | FileCheck %s --check-prefix=STAGES
// RUN: not xform-opt %s -convert-quant-xform-qlinear-to-gpu="wgmma=true wgmma-tile-m=128 wgmma-tile-n=256 wgmma-stages=16" 2>&1 | FileCheck %s --check-prefix=SMEM
// RUN: not xform-opt %s -convert-quant-xform-qlinear-to-gpu="wgmma=true wgmma-group-m=-1" 2>&1 | FileCheck %s --check-prefix=GROUPM
// RUN: not xform-opt %s -convert-quant-xform-qlinear-to-gpu="wgmma=true wgmma-group-m=2000" 2>&1 | FileCheck %s --check-prefix=GROUPMBIG
// RUN: not xform-opt %s -convert-quant-xform-qlinear-to-gpu="wgmma=true wgmma-tma=true wgmma-persistent=true" 2>&1 | FileCheck %s --check-prefix=TMAPERSIST
// RUN: not xform-opt %s -convert-quant-xform-qlinear-to-gpu="planned-m=0" 2>&1 | FileCheck %s --check-prefix=PLANNEDM
// TILEN: error: wgmma-tile-n must be 0 (choose), 32, 64, 128, 192 or 256 (got 100)
// TILEM: error: wgmma-tile-m must be 0 (choose), 64 or 128 (got 32)
// MINM: error: wgmma-min-m must be at least 1 (got 0)
// TILEK: error: wgmma-tile-k must be 0 (choose), 64 or 128 (got 32)
// STAGES: error: wgmma-stages must be 0 (choose) or 3 to 16 (got 2)
// SMEM: error: the wgmma kernel's 16 stages need more shared memory than the 227 KB of an H100 block; lower wgmma-stages
// GROUPM: error: wgmma-group-m must be 0 (choose) or 1 to 1024 (got -1)
// GROUPMBIG: error: wgmma-group-m must be 0 (choose) or 1 to 1024 (got 2000)
// PLANNEDM: error: planned-m must be at least 1 (got 0)
// TMAPERSIST: error: wgmma-persistent needs wgmma-tma=false (the TMA kernel is not persistent)

func.func @f(%q: tensor<16x64xi8>, %s: tensor<16xf32>, %w: tensor<32x64xi8>, %sw: tensor<32xf32>) -> tensor<16x32xf32> {
  %y = quant_xform.qlinear %q scale %s, %w scale %sw : (tensor<16x64xi8>, tensor<16xf32>, tensor<32x64xi8>, tensor<32xf32>) -> tensor<16x32xf32>
  return %y : tensor<16x32xf32>
}
