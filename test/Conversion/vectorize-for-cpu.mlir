// quant-xform-vectorize-for-cpu: f32 (batch) matmuls become register-blocked
// scf.forall kernels with vector.fma; other linalg ops are tiled and
// vectorized (erf through upstream's polynomial approximation); shapes the
// kernel does not take stay linalg. Numerics: test/Target/CPU/vectorize-vs-reference.mlir.
// RUN: xform-opt %s -pass-pipeline='builtin.module(func.func(quant-xform-vectorize-for-cpu))' | FileCheck %s

// CHECK-LABEL: func.func @bmm
// CHECK: scf.forall
// CHECK: scf.for
// CHECK-COUNT-16: vector.fma
// CHECK-NOT: linalg.batch_matmul
func.func @bmm(%a: tensor<2x8x4xf32>, %b: tensor<2x4x32xf32>, %c: tensor<2x8x32xf32>) -> tensor<2x8x32xf32> {
  %r = linalg.batch_matmul ins(%a, %b : tensor<2x8x4xf32>, tensor<2x4x32xf32>) outs(%c : tensor<2x8x32xf32>) -> tensor<2x8x32xf32>
  return %r : tensor<2x8x32xf32>
}

// N = 20 is not a multiple of 16: no kernel, the generic vectorizer takes it.
// CHECK-LABEL: func.func @matmul_ragged
// CHECK-NOT: vector.fma
// CHECK-NOT: linalg.matmul
func.func @matmul_ragged(%a: tensor<3x4xf32>, %b: tensor<4x20xf32>, %c: tensor<3x20xf32>) -> tensor<3x20xf32> {
  %r = linalg.matmul ins(%a, %b : tensor<3x4xf32>, tensor<4x20xf32>) outs(%c : tensor<3x20xf32>) -> tensor<3x20xf32>
  return %r : tensor<3x20xf32>
}

// CHECK-LABEL: func.func @erf_rows
// CHECK: scf.for
// CHECK: vector.transfer_read {{.*}} vector<1x64xf32>
// CHECK-NOT: math.erf
// CHECK: vector.transfer_write
func.func @erf_rows(%x: tensor<4x128xf32>) -> tensor<4x128xf32> {
  %e = tensor.empty() : tensor<4x128xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} ins(%x : tensor<4x128xf32>) outs(%e : tensor<4x128xf32>) {
  ^bb0(%a: f32, %o: f32):
    %y = math.erf %a : f32
    linalg.yield %y : f32
  } -> tensor<4x128xf32>
  return %r : tensor<4x128xf32>
}

// A row reduction vectorizes along the reduced dimension.
// CHECK-LABEL: func.func @row_max
// CHECK: vector.transfer_read {{.*}} vector<1x96xf32>
// CHECK: vector.reduction <maxnumf>
func.func @row_max(%x: tensor<4x96xf32>, %init: tensor<4xf32>) -> tensor<4xf32> {
  %r = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i)>], iterator_types = ["parallel", "reduction"]} ins(%x : tensor<4x96xf32>) outs(%init : tensor<4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %m = arith.maxnumf %a, %o : f32
    linalg.yield %m : f32
  } -> tensor<4xf32>
  return %r : tensor<4xf32>
}

// A large elementwise op (64 × 1024 f32) outside any forall: chunks of 8
// rows (8192 elements) in an scf.forall for the threads, each vectorized.
// CHECK-LABEL: func.func @threads
// CHECK: scf.forall (%{{.*}}) = (0) to (64) step (8) shared_outs
// CHECK: vector.transfer_read
// CHECK: math.
// CHECK-NOT: linalg.generic
// CHECK: tensor.parallel_insert_slice
func.func @threads(%x: tensor<64x1024xf32>) -> tensor<64x1024xf32> {
  %e = tensor.empty() : tensor<64x1024xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} ins(%x : tensor<64x1024xf32>) outs(%e : tensor<64x1024xf32>) {
  ^bb0(%a: f32, %o: f32):
    %t = math.tanh %a : f32
    linalg.yield %t : f32
  } -> tensor<64x1024xf32>
  return %y : tensor<64x1024xf32>
}

// A few rows (M = 3) against an [N, K] weight: the dot kernel, no
// transpose: an scf.forall over blocks of 4 weight rows, 3 × 4 vector
// accumulators over K in steps of 16, each reduced across its lanes.
// CHECK-LABEL: func.func @few_rows_nk
// CHECK-NOT: linalg.transpose
// CHECK: scf.forall (%{{.*}}, %{{.*}}) in (1, 8)
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c16
// CHECK-COUNT-12: vector.fma
// CHECK: vector.reduction <add>
// CHECK-NOT: linalg.generic
func.func @few_rows_nk(%a: tensor<3x64xf32>, %b: tensor<32x64xf32>) -> tensor<3x32xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<3x32xf32>
  %c = linalg.fill ins(%z : f32) outs(%e : tensor<3x32xf32>) -> tensor<3x32xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>], iterator_types = ["parallel", "parallel", "reduction"]} ins(%a, %b : tensor<3x64xf32>, tensor<32x64xf32>) outs(%c : tensor<3x32xf32>) {
  ^bb0(%x: f32, %w: f32, %o: f32):
    %p = arith.mulf %x, %w : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  } -> tensor<3x32xf32>
  return %y : tensor<3x32xf32>
}

// A constant [N, K] weight is transposed at compile time, not per call:
// w[n][k] = 8n + k, so the [K, N] constant starts 0, 8, 16 (f32 hex,
// little endian: 00000000 00000041 00008041).
// CHECK-LABEL: func.func @constant_nk
// CHECK-NOT: linalg.transpose
// CHECK: arith.constant dense<"0x000000000000004100008041{{[0-9A-F]*}}"> : tensor<8x16xf32>
// CHECK: scf.forall
func.func @constant_nk(%a: tensor<8x8xf32>) -> tensor<8x16xf32> {
  %b = arith.constant dense<"0x000000000000803F0000004000004040000080400000A0400000C0400000E0400000004100001041000020410000304100004041000050410000604100007041000080410000884100009041000098410000A0410000A8410000B0410000B8410000C0410000C8410000D0410000D8410000E0410000E8410000F0410000F84100000042000004420000084200000C4200001042000014420000184200001C4200002042000024420000284200002C4200003042000034420000384200003C4200004042000044420000484200004C4200005042000054420000584200005C4200006042000064420000684200006C4200007042000074420000784200007C42000080420000824200008442000086420000884200008A4200008C4200008E42000090420000924200009442000096420000984200009A4200009C4200009E420000A0420000A2420000A4420000A6420000A8420000AA420000AC420000AE420000B0420000B2420000B4420000B6420000B8420000BA420000BC420000BE420000C0420000C2420000C4420000C6420000C8420000CA420000CC420000CE420000D0420000D2420000D4420000D6420000D8420000DA420000DC420000DE420000E0420000E2420000E4420000E6420000E8420000EA420000EC420000EE420000F0420000F2420000F4420000F6420000F8420000FA420000FC420000FE42"> : tensor<16x8xf32>
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8x16xf32>
  %c = linalg.fill ins(%z : f32) outs(%e : tensor<8x16xf32>) -> tensor<8x16xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>], iterator_types = ["parallel", "parallel", "reduction"]} ins(%a, %b : tensor<8x8xf32>, tensor<16x8xf32>) outs(%c : tensor<8x16xf32>) {
  ^bb0(%x: f32, %w: f32, %o: f32):
    %p = arith.mulf %x, %w : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  } -> tensor<8x16xf32>
  return %y : tensor<8x16xf32>
}
