// The AMX kernel of convert-quant-xform-to-linalg: the weight packed in
// 32-column panels (K = 70 padded to 128: two k-tiles, one loop iteration
// of two unrolled k-tiles), the activation zero-padded to [32, 128], tiles
// over (group of row blocks, panel), a loop over the group's blocks, and
// per iteration 2 A tiles × 2 B tiles → 4 tdpbssd (amx.tile_muli, signed ×
// signed: no u8 shift, no compensation) between loads and stores of the C
// tiles in the scratch. M < 16 stays on the VNNI kernel.
// REQUIRES: amx
// RUN: xform-opt %s --convert-quant-xform-to-linalg=int8-kernel=amx | FileCheck %s

// CHECK-LABEL: func.func @two_tiles
// CHECK: arith.constant dense<"0x{{.*}}"> : tensor<2x32x128xi8>
// CHECK: -> tensor<32x128xi8>
// CHECK: scf.forall (%{{.*}}, %{{.*}}) in (1, 2)
// CHECK: bufferization.to_buffer {{.*}} read_only : tensor<2x32x128xi8> to memref<2x32x128xi8>
// CHECK: bufferization.to_buffer {{.*}} read_only : tensor<32x128xi8> to memref<32x128xi8>
// CHECK: scf.for
// CHECK-COUNT-4: amx.tile_zero
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

// CHECK-LABEL: func.func @few_rows
// CHECK-NOT: amx.
// CHECK: qx_cpu.dot_u8s8
func.func @few_rows(%q: tensor<8x64xi8>, %s: tensor<8xf32>) -> tensor<8x16xf32> {
  %w = arith.constant dense<1> : tensor<16x64xi8>
  %sw = arith.constant dense<0.5> : tensor<16xf32>
  %y = quant_xform.qlinear %q scale %s, %w scale %sw : (tensor<8x64xi8>, tensor<8xf32>, tensor<16x64xi8>, tensor<16xf32>) -> tensor<8x16xf32>
  return %y : tensor<8x16xf32>
}
