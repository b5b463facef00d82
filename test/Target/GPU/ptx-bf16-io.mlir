// bf16 activations in and bf16 results out, as PyTorch models hold them:
// the arith.extf in front of the quantize becomes the quantize kernel's
// 16-byte loads of 8 bf16 widened exactly to f32 (cvt.f32.bf16), the
// arith.truncf behind the linear the epilogue's round-to-nearest-even
// pair conversion (cvt.rn.bf16x2.f32), the pairs put in a padded tile in
// shared memory and written out in 16-byte pieces; the host function
// takes and fills bf16 buffers and keeps no cast. The same for an
// LLM.int8() linear, whose outlier columns are gathered widened (f32).
// A bf16 row of K ≤ 8192 gets 128 threads (an f32 one 256), so that a
// row's registers keep as many bytes in flight; its 8-byte stores hold 8
// int8 values.
// format=isa: no ptxas or GPU needed.
// RUN: xform-opt %s -split-input-file -convert-quant-xform-qlinear-to-gpu=wgmma=true | FileCheck %s --check-prefix=KERNEL
// RUN: xform-opt %s -split-input-file -quant-xform-lower-to-gpu=format=isa | FileCheck %s --check-prefix=PTX

// KERNEL-LABEL: gpu.func @w8a8_quantize0(
// KERNEL-SAME: memref<256x512xbf16>, %{{.*}}: memref<256x512xi8>, %{{.*}}: memref<256xf32>)
// KERNEL-SAME: known_block_size = array<i32: 128, 1, 1>
// KERNEL: vector.load {{.*}} {alignment = 16 : i64} : memref<256x512xbf16>, vector<8xbf16>
// KERNEL-NEXT: arith.extf {{.*}} : vector<8xbf16> to vector<8xf32>
// KERNEL: vector.store {{.*}} {alignment = 8 : i64} : memref<256x512xi8>, vector<8xi8>
// KERNEL-LABEL: gpu.func @w8a8_qlinear0(
// KERNEL-SAME: %{{.*}}: memref<384xf32>, %{{.*}}: memref<256x384xbf16>)
// KERNEL: arith.truncf {{.*}} : vector<2xf32> to vector<2xbf16>
// KERNEL-NEXT: vector.store {{.*}} {alignment = 4 : i64} : memref<{{[0-9]+}}x{{[0-9]+}}xbf16, #gpu.address_space<workgroup>>, vector<2xbf16>
// KERNEL: vector.load {{.*}} {alignment = 16 : i64} : memref<{{[0-9]+}}x{{[0-9]+}}xbf16, #gpu.address_space<workgroup>>, vector<8xbf16>
// KERNEL: vector.store {{.*}} {alignment = 16 : i64} : memref<256x384xbf16>, vector<8xbf16>
// KERNEL-LABEL: func.func @w8a8(
// KERNEL-SAME: %[[X:.*]]: memref<256x512xbf16>, %{{.*}}: memref<384x512xi8>, %{{.*}}: memref<384xf32>, %{{.*}}: memref<384xf32>, %[[Y:.*]]: memref<256x384xbf16>)
// KERNEL-NOT: arith.extf
// KERNEL-NOT: arith.truncf
// KERNEL: gpu.launch_func {{.*}} @qx_gpu_kernels::@w8a8_quantize0 blocks in (%c256, %c1, %c1{{.*}}) threads in (%c128, {{.*}} args(%[[X]] : memref<256x512xbf16>,
// KERNEL: gpu.launch_func {{.*}} @qx_gpu_kernels::@w8a8_qlinear0 {{.*}}, %[[Y]] : memref<256x384xbf16>)
// KERNEL-NOT: arith.truncf

// PTX: .visible .entry w8a8_quantize0(
// PTX-SAME: ld.global.v4.b32
// PTX-SAME: cvt.f32.bf16
// PTX-SAME: st.global.v2.b32
// PTX-SAME: .visible .entry w8a8_qlinear0(
// PTX-SAME: wgmma.mma_async.sync.aligned.m64n{{[0-9]+}}k32.s32.s8.s8
// PTX-SAME: cvt.rn.bf16x2.f32 {{.*}}st.shared.b32 {{.*}}ld.shared.v4.b32 {{.*}}st.global.v4.b32
func.func @w8a8(%x: tensor<256x512xbf16>, %w: tensor<384x512xi8>, %sw: tensor<384xf32>, %b: tensor<384xf32>) -> tensor<256x384xbf16> {
  %xf = arith.extf %x : tensor<256x512xbf16> to tensor<256x512xf32>
  %q, %s = quant_xform.dynamic_quantize %xf scheme<per_token> : (tensor<256x512xf32>) -> (tensor<256x512xi8>, tensor<256xf32>)
  %y = quant_xform.qlinear %q scale %s, %w scale %sw, bias %b : (tensor<256x512xi8>, tensor<256xf32>, tensor<384x512xi8>, tensor<384xf32>, tensor<384xf32>) -> tensor<256x384xf32>
  %yb = arith.truncf %y : tensor<256x384xf32> to tensor<256x384xbf16>
  return %yb : tensor<256x384xbf16>
}

// -----

// KERNEL-LABEL: gpu.func @llm_int8_mixed0_quantize(
// KERNEL-SAME: memref<128x256xf16>, %{{.*}}: memref<128x256xi8>, %{{.*}}: memref<128xf32>, %{{.*}}: memref<128x2xf32>)
// KERNEL: memref.load {{.*}} : memref<128x256xf16>
// KERNEL-NEXT: arith.extf {{.*}} : f16 to f32
// KERNEL: vector.load {{.*}} : memref<128x256xf16>, vector<8xf16>
// KERNEL-LABEL: gpu.func @llm_int8_mixed0_gemm(
// KERNEL-SAME: memref<128x64xf16>)
// KERNEL: arith.truncf {{.*}} : vector<2xf32> to vector<2xf16>
// KERNEL-LABEL: func.func @llm_int8(
// KERNEL-SAME: %[[X:.*]]: memref<128x256xf16>,
// KERNEL-NOT: arith.extf
// KERNEL: gpu.launch_func {{.*}}@llm_int8_mixed0_quantize {{.*}} args(%[[X]] : memref<128x256xf16>,

// PTX: .visible .entry llm_int8_mixed0_quantize(
// PTX-SAME: cvt.f32.f16
// PTX-SAME: .visible .entry llm_int8_mixed0_gemm(
// PTX-SAME: cvt.rn.f16x2.f32
func.func @llm_int8(%x: tensor<128x256xf16>, %w: tensor<64x256xi8>, %sw: tensor<64xf32>, %wo: tensor<64x2xf32>) -> tensor<128x64xf16> {
  %xf = arith.extf %x : tensor<128x256xf16> to tensor<128x256xf32>
  %y = quant_xform.mixed_linear %xf, %w scale %sw, outliers %wo columns [3, 100] : (tensor<128x256xf32>, tensor<64x256xi8>, tensor<64xf32>, tensor<64x2xf32>) -> tensor<128x64xf32>
  %yb = arith.truncf %y : tensor<128x64xf32> to tensor<128x64xf16>
  return %yb : tensor<128x64xf16>
}

// -----

// A 64 × 192 tile (M = 2048, N = 576: the tile choice's one wave of 96
// blocks): 24 16-byte pieces a row, so the warpgroup copies its 64 rows out
// as 1536 pieces, 128 at a time.
// KERNEL-LABEL: gpu.func @wide_tile_qlinear0(
// KERNEL: nvvm.wgmma.mma_async {{.*}} <m = 64, n = 192, k = 32>
// KERNEL: scf.for %{{.*}} = %c0{{.*}} to %c1536{{.*}} step %c128
// KERNEL: vector.load {{.*}} {alignment = 16 : i64} : memref<64x200xbf16, #gpu.address_space<workgroup>>, vector<8xbf16>
// KERNEL: vector.store {{.*}} {alignment = 16 : i64} : memref<2048x576xbf16>, vector<8xbf16>
// PTX: .visible .entry wide_tile_qlinear0(
func.func @wide_tile(%x: tensor<2048x256xbf16>, %w: tensor<576x256xi8>, %sw: tensor<576xf32>) -> tensor<2048x576xbf16> {
  %xf = arith.extf %x : tensor<2048x256xbf16> to tensor<2048x256xf32>
  %q, %s = quant_xform.dynamic_quantize %xf scheme<per_token> : (tensor<2048x256xf32>) -> (tensor<2048x256xi8>, tensor<2048xf32>)
  %y = quant_xform.qlinear %q scale %s, %w scale %sw : (tensor<2048x256xi8>, tensor<2048xf32>, tensor<576x256xi8>, tensor<576xf32>) -> tensor<2048x576xf32>
  %yb = arith.truncf %y : tensor<2048x576xf32> to tensor<2048x576xbf16>
  return %yb : tensor<2048x576xbf16>
}
