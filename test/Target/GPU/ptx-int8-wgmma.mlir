// For sm_90a (the default chip) the GPU lowering emits the wgmma kernel
// (the PTX is one escaped line: patterns avoid greedy {{.*}}):
// cp.async copies into swizzled shared memory, the warpgroup int8 MMA with
// i32 accumulators between wgmma fences, commits and waits, and 8-byte
// stores of whole blocks: the kernel of wgmma-tma=false (TMA:
// ptx-int8-wgmma-tma.mlir). format=isa: no ptxas or GPU needed.
// RUN: xform-opt %s -quant-xform-lower-to-gpu="format=isa wgmma-tma=false" | FileCheck %s --check-prefix=PTX
// The block shape follows the problem (and the tile options):
// RUN: xform-opt %s -convert-quant-xform-qlinear-to-gpu="wgmma=true wgmma-tma=false" | FileCheck %s --check-prefix=AUTO
// RUN: xform-opt %s -convert-quant-xform-qlinear-to-gpu="wgmma=true wgmma-tma=false wgmma-tile-m=128 wgmma-tile-n=256" | FileCheck %s --check-prefix=BIG
// K not a multiple of 16, or M below wgmma-min-m, keeps the mma.sync kernel:
// RUN: xform-opt %s -convert-quant-xform-qlinear-to-gpu="wgmma=true wgmma-min-m=512" | FileCheck %s --check-prefix=MINM

// PTX: .target sm_90a
// PTX: .visible .entry big_qlinear0(
// PTX: cp.async.cg.shared.global [{{[^]]*}}], [{{[^]]*}}], 16;
// PTX: cp.async.commit_group;
// PTX: cp.async.wait_group \09
// PTX: fence.proxy.async.shared::cta;
// PTX: wgmma.fence.sync.aligned;
// PTX: wgmma.mma_async.sync.aligned.m64n{{[0-9]+}}k32.s32.s8.s8
// PTX: wgmma.commit_group.sync.aligned;
// PTX: wgmma.wait_group.sync.aligned \091;
// PTX: wgmma.wait_group.sync.aligned \090;
// PTX: st.global.v2.b32
// PTX: .visible .entry small_qlinear0(
// PTX: wgmma.mma_async.sync.aligned.m64n32k32.s32.s8.s8
// PTX: .visible .entry tailk_qlinear0(
// PTX-NOT: wgmma
// PTX: mma.sync.aligned.m16n8k32.row.col.satfinite.s32.s8.s8.s32

// AUTO-LABEL: gpu.func @big_qlinear0
// AUTO-SAME: known_block_size = array<i32: 128, 1, 1>
// AUTO: gpu.dynamic_shared_memory
// AUTO: nvgpu.device_async_copy {{.*}} 16 {bypassL1}
// AUTO: nvvm.wgmma.mma_async {{.*}}, <m = 64, n = 32, k = 32>, D[<s32>, <one>], A[<s8>, <one>, <row>], B[<s8>, <one>, <col>]
// AUTO-LABEL: gpu.func @small_qlinear0
// AUTO: nvvm.wgmma.mma_async {{.*}}, <m = 64, n = 32, k = 32>
// AUTO-LABEL: gpu.func @tailk_qlinear0
// AUTO-NOT: wgmma
// AUTO: nvgpu.mma.sync
// AUTO-LABEL: func.func @big(
// AUTO: gpu.launch_func async [%{{[0-9a-z_]+}}] @qx_gpu_kernels::@big_qlinear0 blocks in (%{{.*}}, %{{.*}}, %{{.*}}) threads in (%{{.*}}, %{{.*}}, %{{.*}}) dynamic_shared_memory_size

// BIG-LABEL: gpu.func @big_qlinear0
// BIG-SAME: known_block_size = array<i32: 256, 1, 1>
// BIG: nvvm.wgmma.mma_async {{.*}}, <m = 64, n = 256, k = 32>

// MINM-LABEL: gpu.func @big_qlinear0
// MINM-NOT: wgmma
// MINM: nvgpu.mma.sync

func.func @big(%q: tensor<256x256xi8>, %s: tensor<256xf32>, %w: tensor<256x256xi8>, %sw: tensor<256xf32>, %b: tensor<256xf32>) -> tensor<256x256xf32> {
  %y = quant_xform.qlinear %q scale %s, %w scale %sw, bias %b : (tensor<256x256xi8>, tensor<256xf32>, tensor<256x256xi8>, tensor<256xf32>, tensor<256xf32>) -> tensor<256x256xf32>
  return %y : tensor<256x256xf32>
}

func.func @small(%q: tensor<16x512xi8>, %s: tensor<f32>, %w: tensor<96x512xi8>, %sw: tensor<96xf32>) -> tensor<16x96xf32> {
  %y = quant_xform.qlinear %q scale %s, %w scale %sw : (tensor<16x512xi8>, tensor<f32>, tensor<96x512xi8>, tensor<96xf32>) -> tensor<16x96xf32>
  return %y : tensor<16x96xf32>
}

func.func @tailk(%q: tensor<64x36xi8>, %s: tensor<64xf32>, %w: tensor<48x36xi8>, %sw: tensor<48xf32>) -> tensor<64x48xf32> {
  %y = quant_xform.qlinear %q scale %s, %w scale %sw : (tensor<64x36xi8>, tensor<64xf32>, tensor<48x36xi8>, tensor<48xf32>) -> tensor<64x48xf32>
  return %y : tensor<64x48xf32>
}
