// The wgmma kernel's raster order and persistent blocks. By default the
// grid is (column blocks, row blocks) and consecutive blocks walk down
// raster groups of 16 row blocks (fewer in the last group: the arith.minui)
// of one column block; wgmma-group-m=1 keeps the row-by-row order. With
// wgmma-persistent and more tiles than the H100's 132 SMs, 132 blocks walk
// the tiles (an scf.for from the block id in steps of 132) with two
// epilogue buffers (2 × 512 floats after the 4 pipeline stages); with
// fewer tiles the grid stays as it is. The tiles are fixed at 256 columns
// (the tile choice alone takes 128 for @wide: 264 tiles in two full waves).
// RUN: xform-opt %s -convert-quant-xform-qlinear-to-gpu="wgmma=true wgmma-tile-n=256" | FileCheck %s --check-prefix=GROUP
// RUN: xform-opt %s -convert-quant-xform-qlinear-to-gpu="wgmma=true wgmma-tile-n=256 wgmma-group-m=1" | FileCheck %s --check-prefix=ROWS
// RUN: xform-opt %s -convert-quant-xform-qlinear-to-gpu="wgmma=true wgmma-tile-n=256 wgmma-persistent=true wgmma-tma=false" | FileCheck %s --check-prefix=PERSIST

// GROUP-LABEL: gpu.func @wide_qlinear0
// GROUP-DAG: gpu.block_id  x
// GROUP-DAG: gpu.block_id  y
// GROUP: arith.minui %{{.*}}, %c16
// GROUP-NOT: scf.for {{.*}} step %c132
// GROUP: gpu.return
// GROUP-LABEL: func.func @wide(
// GROUP: gpu.launch_func {{.*}} blocks in (%c6, %c24, %c1{{.*}}) threads in (%c384,

// ROWS-LABEL: gpu.func @wide_qlinear0
// ROWS-NOT: arith.minui
// ROWS: gpu.return
// ROWS-LABEL: func.func @wide(
// ROWS: gpu.launch_func {{.*}} blocks in (%c6, %c24, %c1{{.*}})

// PERSIST-LABEL: gpu.func @wide_qlinear0
// PERSIST: %[[BID:.*]] = gpu.block_id  x
// PERSIST: memref.view {{.*}} to memref<512xf32, #gpu.address_space<workgroup>>
// PERSIST: scf.for %{{.*}} = %[[BID]] to %c144 step %c132
// PERSIST: gpu.barrier
// PERSIST: scf.if
// PERSIST: memref.view {{.*}} to memref<512xf32, #gpu.address_space<workgroup>>
// PERSIST: nvvm.cp.async.commit.group
// PERSIST: } else {
// PERSIST: nvvm.cp.async.commit.group
// PERSIST: gpu.return
// PERSIST-LABEL: gpu.func @narrow_qlinear0
// PERSIST-NOT: step %c132
// PERSIST: gpu.return
// PERSIST-LABEL: func.func @wide(
// PERSIST: gpu.launch_func {{.*}} blocks in (%c132, %c1, %c1{{.*}}) threads in (%c256, {{.*}} dynamic_shared_memory_size %c201728_i32
// PERSIST-LABEL: func.func @narrow(
// PERSIST: gpu.launch_func {{.*}} blocks in (%c{{[0-9]+}}, %c{{[0-9]+}}, %c1

// 24 row blocks of 128 × 6 column blocks of 256 = 144 tiles; ragged M, N
// and K.
func.func @wide(%q: tensor<3000x208xi8>, %s: tensor<3000xf32>, %w: tensor<1400x208xi8>, %sw: tensor<1400xf32>, %b: tensor<1400xf32>) -> tensor<3000x1400xf32> {
  %y = quant_xform.qlinear %q scale %s, %w scale %sw, bias %b : (tensor<3000x208xi8>, tensor<3000xf32>, tensor<1400x208xi8>, tensor<1400xf32>, tensor<1400xf32>) -> tensor<3000x1400xf32>
  return %y : tensor<3000x1400xf32>
}

func.func @narrow(%q: tensor<300x272xi8>, %s: tensor<300xf32>, %w: tensor<200x272xi8>, %sw: tensor<200xf32>) -> tensor<300x200xf32> {
  %y = quant_xform.qlinear %q scale %s, %w scale %sw : (tensor<300x272xi8>, tensor<300xf32>, tensor<200x272xi8>, tensor<200xf32>) -> tensor<300x200xf32>
  return %y : tensor<300x200xf32>
}
