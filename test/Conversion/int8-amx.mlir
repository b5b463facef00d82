// The AMX kernel of convert-quant-xform-to-linalg: the weight packed in
// 32-column panels (K = 70 padded to 128: two k-tiles, less than one
// chunk of 8, so only the last, short chunk), the activation zero-padded
// to [32, 128] by
// masked 64-byte vector reads in a forall over 32-row blocks (or used as it
// is when it needs no padding), tiles over (group of row blocks, panel),
// the group's C tiles zeroed in a scratch, K chunks outside a loop over the
// group's blocks, and per chunk 2 A tiles × 2 B tiles → 4 tdpbssd
// (amx.tile_muli, signed × signed: no u8 shift, no compensation) between
// loads and stores of the C tiles in the scratch. M < 16 stays on the VNNI
// kernel.
// REQUIRES: amx
// RUN: xform-opt %s --convert-quant-xform-to-linalg=int8-kernel=amx | FileCheck %s

// CHECK-LABEL: func.func @two_tiles
// CHECK: arith.constant dense<"0x{{.*}}"> : tensor<2x32x128xi8>
// CHECK: scf.forall (%{{.*}}) in (1) shared_outs(%{{.*}} = %{{.*}}) -> (tensor<32x128xi8>)
// CHECK: vector.transfer_read %{{.*}}, %{{.*}} : tensor<20x70xi8>, vector<1x64xi8>
// CHECK: scf.forall (%{{.*}}, %{{.*}}) in (1, 2)
// CHECK: bufferization.to_buffer {{.*}} read_only : tensor<2x32x128xi8> to memref<2x32x128xi8>
// CHECK: bufferization.to_buffer {{.*}} read_only : tensor<32x128xi8> to memref<32x128xi8>
// CHECK: to_buffer {{.*}} : tensor<32x32xi32> to memref<32x32xi32>
// CHECK: scf.for
// CHECK-COUNT-4: amx.tile_zero
// CHECK-NOT: scf.for
// CHECK: scf.for
// CHECK-COUNT-4: amx.tile_load {{.*}} into !amx.tile<16x16xi32>
// CHECK-COUNT-2: amx.tile_muli
// CHECK-NOT: zext
// CHECK-COUNT-6: amx.tile_muli
// CHECK-COUNT-4: amx.tile_store
// CHECK: arith.sitofp {{.*}} : vector<16xi32> to vector<16xf32>
func.func @two_tiles(%q: tensor<20x70xi8>, %s: tensor<20xf32>) -> tensor<20x40xf32> {
  %w = arith.constant dense<3> : tensor<40x70xi8>
  %sw = arith.constant dense<0.5> : tensor<40xf32>
  %y = quant_xform.qlinear %q scale %s, %w scale %sw : (tensor<20x70xi8>, tensor<20xf32>, tensor<40x70xi8>, tensor<40xf32>) -> tensor<20x40xf32>
  return %y : tensor<20x40xf32>
}

// CHECK-LABEL: func.func @no_padding
// CHECK-NOT: vector.transfer_read
// CHECK: scf.forall (%{{.*}}, %{{.*}}) in (1, 1)
// CHECK: bufferization.to_buffer %arg0 read_only : tensor<64x128xi8> to memref<64x128xi8>
func.func @no_padding(%q: tensor<64x128xi8>, %s: tensor<64xf32>) -> tensor<64x32xf32> {
  %w = arith.constant dense<3> : tensor<32x128xi8>
  %sw = arith.constant dense<0.5> : tensor<32xf32>
  %y = quant_xform.qlinear %q scale %s, %w scale %sw : (tensor<64x128xi8>, tensor<64xf32>, tensor<32x128xi8>, tensor<32xf32>) -> tensor<64x32xf32>
  return %y : tensor<64x32xf32>
}

// A slice of a larger tensor (a strided view) is copied even when it needs
// no padding.
// CHECK-LABEL: func.func @slice_input
// CHECK: scf.forall (%{{.*}}) in (1) shared_outs(%{{.*}} = %{{.*}}) -> (tensor<32x128xi8>)
// CHECK: vector.transfer_read %{{.*}}, %{{.*}} : tensor<32x128xi8>, vector<1x64xi8>
func.func @slice_input(%big: tensor<64x256xi8>, %s: tensor<32xf32>) -> tensor<32x32xf32> {
  %q = tensor.extract_slice %big[0, 0] [32, 128] [1, 1] : tensor<64x256xi8> to tensor<32x128xi8>
  %w = arith.constant dense<3> : tensor<32x128xi8>
  %sw = arith.constant dense<0.5> : tensor<32xf32>
  %y = quant_xform.qlinear %q scale %s, %w scale %sw : (tensor<32x128xi8>, tensor<32xf32>, tensor<32x128xi8>, tensor<32xf32>) -> tensor<32x32xf32>
  return %y : tensor<32x32xf32>
}

// K = 640: one chunk of 8 k-tiles in a loop, then the last chunk of 2.
// CHECK-LABEL: func.func @chunks
// CHECK: bufferization.to_buffer %arg0 read_only : tensor<32x640xi8> to memref<32x640xi8>
// CHECK-COUNT-4: amx.tile_zero
// CHECK: scf.for %{{.*}} = %c0{{.*}} to %c1{{.*}} step %c1
// CHECK: scf.for
// CHECK-COUNT-4: amx.tile_load {{.*}} into !amx.tile<16x16xi32>
// CHECK-COUNT-32: amx.tile_muli
// CHECK-COUNT-4: amx.tile_store
// CHECK: scf.for
// CHECK-COUNT-4: amx.tile_load {{.*}} into !amx.tile<16x16xi32>
// CHECK-COUNT-8: amx.tile_muli
// CHECK-NOT: amx.tile_muli
// CHECK-COUNT-4: amx.tile_store
func.func @chunks(%q: tensor<32x640xi8>, %s: tensor<32xf32>) -> tensor<32x32xf32> {
  %w = arith.constant dense<3> : tensor<32x640xi8>
  %sw = arith.constant dense<0.5> : tensor<32xf32>
  %y = quant_xform.qlinear %q scale %s, %w scale %sw : (tensor<32x640xi8>, tensor<32xf32>, tensor<32x640xi8>, tensor<32xf32>) -> tensor<32x32xf32>
  return %y : tensor<32x32xf32>
}

// CHECK-LABEL: func.func @few_rows
// CHECK-NOT: amx.
// CHECK: qx_cpu.dot_u8s8
func.func @few_rows(%q: tensor<8x64xi8>, %s: tensor<8xf32>) -> tensor<8x16xf32> {
  %w = arith.constant dense<1> : tensor<16x64xi8>
  %sw = arith.constant dense<0.5> : tensor<16xf32>
  %y = quant_xform.qlinear %q scale %s, %w scale %sw : (tensor<8x64xi8>, tensor<8xf32>, tensor<16x64xi8>, tensor<16xf32>) -> tensor<8x16xf32>
  return %y : tensor<8x16xf32>
}

// Per-group input scales: groups of 32 run on half-width tiles (A 16 × 32
// bytes, B 8 k-steps × 64 bytes), the C tiles zeroed per group and stored
// to one of two slots of an i32 scratch (fresh `alloc_tensor`s, never
// merged by CSE with the output's `tensor.empty`); group 0's tiles run
// before the loop, each iteration runs group g's tiles, then adds group
// g − 1's sums into the f32 block as (sx·sw)·float(c) (the VNNI kernel's
// order), and the last group is added after the loop. The block is copied
// into the output tile row by row.
// CHECK-LABEL: func.func @groups_of_32
// CHECK: bufferization.to_buffer {{.*}} read_only : tensor<20x3xf32> to memref<20x3xf32>
// CHECK: bufferization.alloc_tensor() : tensor<64x32xi32>
// CHECK: bufferization.alloc_tensor() : tensor<32x32xf32>
// CHECK-COUNT-4: amx.tile_zero
// CHECK-COUNT-2: amx.tile_load {{.*}} into !amx.tile<16x32xi8>
// CHECK-COUNT-2: amx.tile_load {{.*}} into !amx.tile<8x64xi8>
// CHECK-COUNT-4: amx.tile_muli
// CHECK-COUNT-4: amx.tile_store
// CHECK: scf.for
// CHECK-COUNT-4: amx.tile_zero
// CHECK: arith.andi
// CHECK: memref.load {{.*}} : memref<20x3xf32>
// CHECK: arith.sitofp {{.*}} : vector<16xi32> to vector<16xf32>
// CHECK-NEXT: arith.mulf
// CHECK-NEXT: arith.mulf
// CHECK: arith.addf
// CHECK: arith.sitofp
// CHECK: vector.transfer_write {{.*}} : vector<1x32xf32>, tensor<?x?xf32>
func.func @groups_of_32(%q: tensor<20x96xi8>, %s: tensor<20x3xf32>) -> tensor<20x40xf32> {
  %w = arith.constant dense<3> : tensor<40x96xi8>
  %sw = arith.constant dense<0.5> : tensor<40x3xf32>
  %y = quant_xform.qlinear %q scale %s, %w scale %sw : (tensor<20x96xi8>, tensor<20x3xf32>, tensor<40x96xi8>, tensor<40x3xf32>) -> tensor<20x40xf32>
  return %y : tensor<20x40xf32>
}

// Groups of 128: two full-width k-tiles a group.
// CHECK-LABEL: func.func @groups_of_128
// CHECK-COUNT-2: amx.tile_load {{.*}} into !amx.tile<16x64xi8>
// CHECK-COUNT-2: amx.tile_load {{.*}} into !amx.tile<16x64xi8>
// CHECK-COUNT-4: amx.tile_muli
// CHECK-COUNT-2: amx.tile_load {{.*}} into !amx.tile<16x64xi8>
// CHECK-COUNT-2: amx.tile_load {{.*}} into !amx.tile<16x64xi8>
// CHECK-COUNT-4: amx.tile_muli
// CHECK-NOT: amx.tile_muli
// CHECK-COUNT-4: amx.tile_store
func.func @groups_of_128(%q: tensor<32x256xi8>, %s: tensor<32x2xf32>) -> tensor<32x32xf32> {
  %w = arith.constant dense<3> : tensor<32x256xi8>
  %sw = arith.constant dense<0.5> : tensor<32xf32>
  %y = quant_xform.qlinear %q scale %s, %w scale %sw : (tensor<32x256xi8>, tensor<32x2xf32>, tensor<32x256xi8>, tensor<32xf32>) -> tensor<32x32xf32>
  return %y : tensor<32x32xf32>
}

// Groups of 16 (not a tile row of k) stay on the VNNI kernel.
// CHECK-LABEL: func.func @groups_of_16
// CHECK-NOT: amx.
// CHECK: qx_cpu.dot_u8s8
func.func @groups_of_16(%q: tensor<32x64xi8>, %s: tensor<32x4xf32>) -> tensor<32x16xf32> {
  %w = arith.constant dense<1> : tensor<16x64xi8>
  %sw = arith.constant dense<0.5> : tensor<16x4xf32>
  %y = quant_xform.qlinear %q scale %s, %w scale %sw : (tensor<32x64xi8>, tensor<32x4xf32>, tensor<16x64xi8>, tensor<16x4xf32>) -> tensor<32x16xf32>
  return %y : tensor<32x16xf32>
}
