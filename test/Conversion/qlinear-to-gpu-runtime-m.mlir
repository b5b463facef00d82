// A run-time M (tensor<?xK>): one artifact for every number of rows. The
// kernels take memrefs of a dynamic first dimension and read M from them
// (memref.dim) for their row clamps and masks; the host sizes the grid's
// row dimension from it (one quantize block per row, ⌈M / rows per block⌉
// GEMM blocks) and allocates the scratch buffers with it. The kernel and
// tile are planned for `planned-m` rows (default 1024): wgmma 64 × 64
// blocks for N = 512 at 1024 rows, 128 × 256 at planned-m=8192; mma.sync
// 64 × 64 warp tiles (256 rows per block) without wgmma. TMA tensor maps
// get the run-time rows.
// RUN: xform-opt %s -split-input-file -convert-quant-xform-qlinear-to-gpu=wgmma=true | FileCheck %s --check-prefix=WGMMA
// RUN: xform-opt %s -split-input-file -convert-quant-xform-qlinear-to-gpu="wgmma=true planned-m=8192" | FileCheck %s --check-prefix=PLAN
// RUN: xform-opt %s -split-input-file -convert-quant-xform-qlinear-to-gpu=wgmma=false | FileCheck %s --check-prefix=MMA
// RUN: xform-opt %s -split-input-file -convert-quant-xform-qlinear-to-gpu=wgmma=true -quant-xform-gpu-tensor-maps | FileCheck %s --check-prefix=MAPS

// WGMMA-LABEL: gpu.func @fused_quantize0(
// WGMMA-SAME: memref<?x256xbf16>, %{{.*}}: memref<?x256xi8>, %{{.*}}: memref<?xf32>)
// WGMMA-LABEL: gpu.func @fused_qlinear0(
// WGMMA-SAME: %[[QX:[^:]*]]: memref<?x256xi8>, %{{.*}}: memref<?xf32>,
// WGMMA-SAME: memref<?x512xbf16>)
// WGMMA: memref.dim %[[QX]], %{{.*}} : memref<?x256xi8>
// WGMMA: gpu.return
// WGMMA-LABEL: func.func @fused(
// WGMMA-SAME: %[[X:.*]]: memref<?x256xbf16>, %{{.*}}: memref<512x256xi8>, %{{.*}}: memref<512xf32>, %{{.*}}: memref<512xf32>, %[[Y:.*]]: memref<?x512xbf16>)
// WGMMA: %[[M:.*]] = memref.dim %[[X]], %{{.*}} : memref<?x256xbf16>
// WGMMA: %[[Q:.*]], %{{.*}} = gpu.alloc async [%{{.*}}] (%[[M]]) : memref<?x256xi8>
// WGMMA: %[[S:.*]], %{{.*}} = gpu.alloc async [%{{.*}}] (%[[M]]) : memref<?xf32>
// WGMMA: gpu.launch_func async {{.*}} @qx_gpu_kernels::@fused_quantize0 blocks in (%[[M]], %c1{{.*}}, %c1{{.*}}) threads in (%c128
// WGMMA: %[[QM:.*]] = memref.dim %[[Q]], %{{.*}} : memref<?x256xi8>
// WGMMA: %[[ROWBLOCKS:.*]] = arith.ceildivui %[[QM]], %c64
// WGMMA: gpu.launch_func async {{.*}} @qx_gpu_kernels::@fused_qlinear0 blocks in (%c8{{.*}}, %[[ROWBLOCKS]], %c1{{.*}}) threads in (%c160

// PLAN-LABEL: func.func @fused(
// PLAN: arith.ceildivui %{{.*}}, %c128
// PLAN: gpu.launch_func async {{.*}} @qx_gpu_kernels::@fused_qlinear0 blocks in (%c2{{.*}}, %{{.*}}, %c1{{.*}}) threads in (%c384

// MMA-LABEL: gpu.func @fused_qlinear0(
// MMA: %[[M:.*]] = memref.dim %arg0, %{{.*}} : memref<?x256xi8>
// MMA: %[[LAST:.*]] = arith.subi %[[M]], %c1
// MMA: arith.minsi %{{.*}}, %[[LAST]]
// MMA: nvgpu.mma.sync
// MMA: arith.cmpi slt, %{{.*}}, %{{.*}} : index
// MMA-LABEL: func.func @fused(
// MMA: arith.ceildivui %{{.*}}, %c256
// MMA: gpu.launch_func async {{.*}} @qx_gpu_kernels::@fused_qlinear0 blocks in (%c8{{.*}}, %{{.*}}, %c1{{.*}}) threads in (%c128

// MAPS-LABEL: func.func @fused(
// MAPS: %[[Q:.*]], %{{.*}} = gpu.alloc async [%{{.*}}] (%{{.*}}) : memref<?x256xi8>
// MAPS: memref.extract_aligned_pointer_as_index %[[Q]]
// MAPS: %[[ROWS:.*]] = memref.dim %[[Q]], %{{.*}} : memref<?x256xi8>
// MAPS: %[[ROWS64:.*]] = arith.index_castui %[[ROWS]] : index to i64
// MAPS: llvm.call @qxGpuEncodeTensorMap(%{{.*}}, %{{.*}}, %[[ROWS64]],
func.func @fused(%x: tensor<?x256xbf16>, %w: tensor<512x256xi8>, %sw: tensor<512xf32>, %b: tensor<512xf32>) -> tensor<?x512xbf16> {
  %xf = arith.extf %x : tensor<?x256xbf16> to tensor<?x256xf32>
  %q, %s = quant_xform.dynamic_quantize %xf scheme<per_token> : (tensor<?x256xf32>) -> (tensor<?x256xi8>, tensor<?xf32>)
  %y = quant_xform.qlinear %q scale %s, %w scale %sw, bias %b : (tensor<?x256xi8>, tensor<?xf32>, tensor<512x256xi8>, tensor<512xf32>, tensor<512xf32>) -> tensor<?x512xf32>
  %yb = arith.truncf %y : tensor<?x512xf32> to tensor<?x512xbf16>
  return %yb : tensor<?x512xbf16>
}

// -----

// An LLM.int8() mixed_linear of a run-time M: its scratch buffers (the
// quantized x, its scales, the gathered outlier columns) take M too.
// WGMMA-LABEL: func.func @mixed(
// WGMMA: %[[M:.*]] = memref.dim %arg0, %{{.*}} : memref<?x64xf32>
// WGMMA: gpu.alloc async [%{{.*}}] (%[[M]]) : memref<?x64xi8>
// WGMMA: gpu.alloc async [%{{.*}}] (%[[M]]) : memref<?xf32>
// WGMMA: gpu.alloc async [%{{.*}}] (%[[M]]) : memref<?x2xf32>
// WGMMA: @qx_gpu_kernels::@mixed_mixed0_quantize blocks in (%[[M]],
// WGMMA: arith.ceildivui %[[M]], %c64
func.func @mixed(%x: tensor<?x64xf32>, %w: tensor<32x64xi8>, %sw: tensor<32xf32>, %wo: tensor<32x2xf32>) -> tensor<?x32xf32> {
  %y = quant_xform.mixed_linear %x, %w scale %sw, outliers %wo columns [3, 40] : (tensor<?x64xf32>, tensor<32x64xi8>, tensor<32xf32>, tensor<32x2xf32>) -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}
