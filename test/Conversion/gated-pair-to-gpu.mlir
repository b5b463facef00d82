// SwiGLU's gate and up linears (one quantized input, constant per-channel
// weights) become one wgmma GEMM over both weights, their rows interleaved
// in blocks of half its tile (GatedPairs.cpp): the kernel reads a
// [2F, K] weight and [2F] scales, and its epilogue stores silu(gate) · up
// into the [M, F] result, pairs of values at a time. No gate tensor, one
// kernel function fewer. Where the kernel cannot take whole tiles (M = 3
// rows; or the mma.sync kernel) the linears are still one GEMM over the
// same interleaved weight (so that every compiled shape of a model reads
// one weight file) and the pairing generic, unmarked, stays for the loop
// kernels. The numbers: the gated-pair blocks of
// test/Target/GPU/device-blocks.test against the evaluator.
// RUN: xform-opt %S/../Target/GPU/Inputs/gated-pair.mlir -convert-quant-xform-qlinear-to-gpu=wgmma=true | FileCheck %s
// RUN: xform-opt %S/../Target/GPU/Inputs/gated-pair.mlir -convert-quant-xform-qlinear-to-gpu | FileCheck %s --check-prefix=LOOPS
// RUN: xform-opt %S/../Target/GPU/Inputs/gated-pair-rows.mlir -convert-quant-xform-qlinear-to-gpu=wgmma=true | FileCheck %s --check-prefix=ROWS

// CHECK-LABEL: gpu.func @main_gpu1_qlinear0(
// CHECK-SAME: %{{.*}}: memref<128x64xi8>, %{{.*}}: memref<128xf32>, %{{.*}}: memref<512x64xi8>, %{{.*}}: memref<512xf32>,
// CHECK-SAME: %[[Y:arg[0-9]+]]: memref<128x256xf32>) kernel
// CHECK: math.exp
// CHECK: arith.divf
// CHECK: arith.mulf
// CHECK: vector.store %{{.*}}, %[[Y]][%{{.*}}, %{{.*}}] {alignment = 8 : i64} : memref<128x256xf32>, vector<2xf32>
// CHECK-NOT: gpu.func @main_gpu2
// CHECK-LABEL: func.func @main(
// CHECK: call @main_gpu0(
// CHECK: call @main_gpu1(
// CHECK-NOT: call @main_gpu2
// CHECK-NOT: linalg.generic

// The gate half of block ⌊n/16⌋ and its up half, 16 columns on.
// LOOPS-DAG: #[[G:map[0-9]*]] = affine_map<(d0, d1) -> (d0, (d1 floordiv 16) * 32 + d1 mod 16)>
// LOOPS-DAG: #[[U:map[0-9]*]] = affine_map<(d0, d1) -> (d0, (d1 floordiv 16) * 32 + d1 mod 16 + 16)>
// LOOPS: gpu.func @main_gpu1_qlinear0({{.*}}memref<512x64xi8>{{.*}}memref<128x512xf32>) kernel
// LOOPS-NOT: gpu.func @main_gpu2
// LOOPS-LABEL: func.func @main(
// LOOPS: linalg.generic {indexing_maps = [#[[G]], #[[U]], #{{map[0-9]*}}]
// LOOPS-NOT: quant_xform.gated_pairs

// ROWS: gpu.func @main_gpu1_qlinear0({{.*}}memref<512x64xi8>{{.*}}memref<3x512xf32>) kernel
// ROWS-LABEL: func.func @main(
// ROWS: linalg.generic
// ROWS-NOT: quant_xform.gated_pairs
