// With wgmma-tma, the wgmma kernel loads its K tiles by TMA: a producer
// warpgroup (two consumer warpgroups: 384 threads, registers moved to the
// consumers by setmaxnreg) or warp (one: 160 threads) issues 2-D tensor
// copies completing on a stage's "full" mbarrier; the consumers wait on it
// and release the stage on its "empty" mbarrier. The tensor maps are
// 128-byte grid-constant parameters (.param .align 64, addressed through
// cvta.param), made on the host by qxGpuEncodeTensorMap right before the
// launch. format=isa: no ptxas or GPU needed.
// RUN: xform-opt %s -quant-xform-lower-to-gpu="format=isa wgmma-tma=true" | FileCheck %s --check-prefix=PTX
// RUN: xform-opt %s -quant-xform-lower-to-gpu="format=isa wgmma-tma=true" | FileCheck %s --check-prefix=HOST
// RUN: xform-opt %s -convert-quant-xform-qlinear-to-gpu="wgmma=true wgmma-tma=true" | FileCheck %s --check-prefix=KERNEL
// Without wgmma-tma: cp.async, and no tensor maps.
// RUN: xform-opt %s -quant-xform-lower-to-gpu="format=isa wgmma-tma=false" | FileCheck %s --check-prefix=CPASYNC

// PTX: .visible .entry wide_qlinear0(
// PTX: .param .align 64 .b8 wide_qlinear0_param_{{[0-9]+}}[128],
// PTX: .param .align 64 .b8 wide_qlinear0_param_{{[0-9]+}}[128],
// PTX: .maxntid 384, 1, 1
// PTX: cvta.param.u64
// PTX: mbarrier.init.shared.b64
// PTX: fence.mbarrier_init.release.cluster;
// PTX: setmaxnreg.dec.sync.aligned.u32 \0940;
// PTX: mbarrier.try_wait.parity.shared.b64
// PTX: mbarrier.arrive.expect_tx.shared.b64 {{[^,]*}}, [{{[^]]*}}], {{[^;]*}};
// PTX: cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::complete_tx::bytes
// PTX: setmaxnreg.inc.sync.aligned.u32 \09232;
// PTX: mbarrier.try_wait.parity.shared.b64
// PTX: wgmma.mma_async.sync.aligned.m64n256k32.s32.s8.s8
// PTX: wgmma.wait_group.sync.aligned \091;
// PTX: mbarrier.arrive.shared.b64
// PTX: wgmma.wait_group.sync.aligned \090;
// PTX: st.global.v2.b32
// PTX: .visible .entry narrow_qlinear0(
// PTX: .maxntid 160, 1, 1
// PTX-NOT: setmaxnreg
// PTX: cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::complete_tx::bytes

// HOST: llvm.func @qxGpuEncodeTensorMap(!llvm.ptr, !llvm.ptr, i64, i64, i64, i64)
// HOST-LABEL: llvm.func @wide(
// HOST: %[[SLOT:.*]] = llvm.alloca %{{.*}} x !llvm.array<16 x i64> {alignment = 64 : i64}
// HOST: %[[STREAM:.*]] = llvm.call @mgpuStreamCreate()
// HOST: llvm.call @qxGpuEncodeTensorMap(%{{[^,]*}}, %{{[^,]*}}, %{{[^,]*}}, %{{[^,]*}}, %{{[^,]*}}, %{{[^)]*}})
// HOST-NOT: mgpuStreamSynchronize
// HOST: llvm.call @qxGpuEncodeTensorMap(%[[SLOT]],
// HOST-NEXT: %[[MAP:.*]] = llvm.load %[[SLOT]] : !llvm.ptr -> !llvm.array<16 x i64>
// HOST-NOT: mgpuStreamSynchronize
// HOST: gpu.launch_func <%[[STREAM]] : !llvm.ptr> @qx_gpu_kernels::@wide_qlinear0 {{.*}}%[[MAP]] : !llvm.array<16 x i64>
// HOST: llvm.call @mgpuStreamSynchronize(%[[STREAM]])

// The kernel: two tensor-map arguments before y, naming their source
// argument (qx: 0, w: 2), box rows and box bytes; the launch passes
// placeholders until quant-xform-gpu-tensor-maps.
// KERNEL-LABEL: gpu.func @wide_qlinear0(
// KERNEL-SAME: !llvm.array<16 x i64> {quant_xform.tensor_map = array<i64: 0, 128, 128>}
// KERNEL-SAME: !llvm.array<16 x i64> {quant_xform.tensor_map = array<i64: 2, 256, 128>}
// KERNEL-SAME: memref<4096x1024xf32>
// KERNEL-SAME: known_block_size = array<i32: 384, 1, 1>
// KERNEL: builtin.unrealized_conversion_cast %{{.*}} : !llvm.array<16 x i64> to !llvm.ptr
// KERNEL-LABEL: func.func @wide(
// KERNEL: %[[MAP:.*]] = llvm.mlir.poison : !llvm.array<16 x i64>
// KERNEL: gpu.launch_func {{.*}}@wide_qlinear0 {{.*}}threads in (%c384,

// CPASYNC-NOT: qxGpuEncodeTensorMap
// CPASYNC: .maxntid 256, 1, 1
// CPASYNC: cp.async.cg.shared.global
// CPASYNC-NOT: cp.async.bulk.tensor
// CPASYNC: st.global.v2.b32

// 32 × 4 whole tiles of 128 × 256.
func.func @wide(%q: tensor<4096x512xi8>, %s: tensor<4096xf32>, %w: tensor<1024x512xi8>, %sw: tensor<1024xf32>, %b: tensor<1024xf32>) -> tensor<4096x1024xf32> {
  %y = quant_xform.qlinear %q scale %s, %w scale %sw, bias %b : (tensor<4096x512xi8>, tensor<4096xf32>, tensor<1024x512xi8>, tensor<1024xf32>, tensor<1024xf32>) -> tensor<4096x1024xf32>
  return %y : tensor<4096x1024xf32>
}

// One warpgroup per block (64 rows), ragged.
func.func @narrow(%q: tensor<300x272xi8>, %s: tensor<300xf32>, %w: tensor<200x272xi8>, %sw: tensor<200xf32>) -> tensor<300x200xf32> {
  %y = quant_xform.qlinear %q scale %s, %w scale %sw : (tensor<300x272xi8>, tensor<300xf32>, tensor<200x272xi8>, tensor<200xf32>) -> tensor<300x200xf32>
  return %y : tensor<300x200xf32>
}
