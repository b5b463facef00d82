// The wgmma kernel is planned with the chip's facts (SM count, shared
// memory per block, wgmma); sm-count and max-shared-bytes override them.
// RUN: xform-opt %s -convert-quant-xform-qlinear-to-gpu="wgmma=true" | FileCheck %s --check-prefix=H100
// RUN: xform-opt %s -convert-quant-xform-qlinear-to-gpu="wgmma=true sm-count=16" | FileCheck %s --check-prefix=SM16
// RUN: xform-opt %s -convert-quant-xform-qlinear-to-gpu="wgmma=true wgmma-tma=false wgmma-persistent=true sm-count=1" | FileCheck %s --check-prefix=PERSIST
// RUN: xform-opt %s -convert-quant-xform-qlinear-to-gpu="chip=sm_80" | FileCheck %s --check-prefix=MMA
// RUN: not xform-opt %s -convert-quant-xform-qlinear-to-gpu="wgmma=true chip=sm_90" 2>&1 | FileCheck %s --check-prefix=NOWGMMA
// RUN: not xform-opt %s -convert-quant-xform-qlinear-to-gpu="wgmma=true sm-count=-1" 2>&1 | FileCheck %s --check-prefix=NEGATIVE
// RUN: not xform-opt %s -convert-quant-xform-qlinear-to-gpu="wgmma=true wgmma-stages=16 max-shared-bytes=102400" 2>&1 | FileCheck %s --check-prefix=SMEMKB
// RUN: not xform-opt %s -convert-quant-xform-qlinear-to-gpu="wgmma=true wgmma-stages=16 max-shared-bytes=100000" 2>&1 | FileCheck %s --check-prefix=SMEMBYTES

// 132 SMs: no tile reaches ~0.9 of them, so the smallest (64 × 32) grid.
// H100: gpu.launch_func {{.*}} blocks in (%c8, %c4, %c1)
// 16 SMs: 64 × 64 tiles, 16 blocks.
// SM16: gpu.launch_func {{.*}} blocks in (%c4, %c4{{.*}}, %c1)
// One SM: 128 × 256 tiles, one persistent block walking both.
// PERSIST: gpu.launch_func {{.*}} blocks in (%c1, %c1{{.*}}, %c1{{.*}}) threads in (%c256,
// MMA: gpu.launch_func {{.*}}@f_qlinear0
// NOWGMMA: error: wgmma needs chip=sm_90a (got sm_90)
// NEGATIVE: error: sm-count and max-shared-bytes must be 0 (the chip's) or positive (got -1 and 0)
// SMEMKB: error: the wgmma kernel's 16 stages need more shared memory than the 100 KB of a block; lower wgmma-stages
// SMEMBYTES: error: the wgmma kernel's 16 stages need more shared memory than the 100000 bytes of a block; lower wgmma-stages

func.func @f(%q: tensor<256x64xi8>, %s: tensor<256xf32>, %w: tensor<256x64xi8>, %sw: tensor<256xf32>) -> tensor<256x256xf32> {
  %y = quant_xform.qlinear %q scale %s, %w scale %sw : (tensor<256x64xi8>, tensor<256xf32>, tensor<256x64xi8>, tensor<256xf32>) -> tensor<256x256xf32>
  return %y : tensor<256x256xf32>
}
