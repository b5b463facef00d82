// The vector code of quant-xform-vectorize-for-cpu (on by default in the
// CPU pipeline) matches the reference evaluator: the batch-matmul kernel,
// a matmul it does not take (generic vectorizer), softmax, and an erf GELU
// through the polynomial approximation; ops large enough to be split into
// chunks across two threads (a GELU of 96 × 1024, a per-token quantize of
// 40 × 2048: its scale reduction and its rounding); float linears of a few
// rows against an [N, K] weight (the dot kernel at K = 1024, M = 1 and 5;
// the generic path at K = 300); and the same with vectorize=false.
// RUN: xform-run --target=cpu %s --entry attention --seed 1 --no-print --compare-reference --max-rel-err 1e-5 | FileCheck %s
// RUN: xform-run --target=cpu %s --entry ragged --seed 2 --no-print --compare-reference --max-rel-err 1e-5 | FileCheck %s
// RUN: xform-run --target=cpu %s --entry gelu --seed 3 --no-print --compare-reference --max-rel-err 1e-5 | FileCheck %s
// RUN: xform-run --target=cpu --cpu-threads=2 %s --entry threaded --seed 4 --no-print --compare-reference --exact-ints --max-rel-err 1e-5 | FileCheck %s
// RUN: xform-run --target=cpu --cpu-threads=2 %s --entry few_rows_linear --seed 5 --no-print --compare-reference --max-rel-err 1e-5 | FileCheck %s
// RUN: xform-opt %s -quant-xform-lower-to-cpu=vectorize=false | FileCheck %s --check-prefix=SCALAR
// CHECK: reference 0 {{[0-9.e+-]+}} {{(0\.0000e\+00|[0-9.]+e-(0[5-9]|[1-9][0-9]))}}
// SCALAR-NOT: vector<

func.func @attention(%q: tensor<2x16x8xf32>, %kt: tensor<2x8x16xf32>, %v: tensor<2x16x32xf32>) -> tensor<2x16x32xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x16x16xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<2x16x16xf32>) -> tensor<2x16x16xf32>
  %s = linalg.batch_matmul ins(%q, %kt : tensor<2x16x8xf32>, tensor<2x8x16xf32>) outs(%f : tensor<2x16x16xf32>) -> tensor<2x16x16xf32>
  %p = linalg.softmax dimension(2) ins(%s : tensor<2x16x16xf32>) outs(%e : tensor<2x16x16xf32>) -> tensor<2x16x16xf32>
  %e2 = tensor.empty() : tensor<2x16x32xf32>
  %f2 = linalg.fill ins(%z : f32) outs(%e2 : tensor<2x16x32xf32>) -> tensor<2x16x32xf32>
  %o = linalg.batch_matmul ins(%p, %v : tensor<2x16x16xf32>, tensor<2x16x32xf32>) outs(%f2 : tensor<2x16x32xf32>) -> tensor<2x16x32xf32>
  return %o : tensor<2x16x32xf32>
}

func.func @ragged(%a: tensor<3x5xf32>, %b: tensor<5x20xf32>) -> tensor<3x20xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<3x20xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<3x20xf32>) -> tensor<3x20xf32>
  %r = linalg.matmul ins(%a, %b : tensor<3x5xf32>, tensor<5x20xf32>) outs(%f : tensor<3x20xf32>) -> tensor<3x20xf32>
  return %r : tensor<3x20xf32>
}

func.func @gelu(%u: tensor<4x96xf32>) -> tensor<4x96xf32> {
  %c = arith.constant dense<0.70710678> : tensor<4x96xf32>
  %one = arith.constant dense<1.0> : tensor<4x96xf32>
  %half = arith.constant dense<0.5> : tensor<4x96xf32>
  %us = arith.mulf %u, %c : tensor<4x96xf32>
  %erf = math.erf %us : tensor<4x96xf32>
  %e1 = arith.addf %erf, %one : tensor<4x96xf32>
  %uh = arith.mulf %u, %half : tensor<4x96xf32>
  %g = arith.mulf %uh, %e1 : tensor<4x96xf32>
  return %g : tensor<4x96xf32>
}

func.func @threaded(%u: tensor<96x1024xf32>, %x: tensor<40x2048xf32>) -> (tensor<96x1024xf32>, tensor<40x2048xi8>, tensor<40xf32>) {
  %c = arith.constant dense<0.70710678> : tensor<96x1024xf32>
  %one = arith.constant dense<1.0> : tensor<96x1024xf32>
  %half = arith.constant dense<0.5> : tensor<96x1024xf32>
  %us = arith.mulf %u, %c : tensor<96x1024xf32>
  %erf = math.erf %us : tensor<96x1024xf32>
  %e1 = arith.addf %erf, %one : tensor<96x1024xf32>
  %uh = arith.mulf %u, %half : tensor<96x1024xf32>
  %g = arith.mulf %uh, %e1 : tensor<96x1024xf32>
  %q, %s = quant_xform.dynamic_quantize %x scheme<per_token> : (tensor<40x2048xf32>) -> (tensor<40x2048xi8>, tensor<40xf32>)
  return %g, %q, %s : tensor<96x1024xf32>, tensor<40x2048xi8>, tensor<40xf32>
}

func.func @few_rows_linear(%x1: tensor<1x1024xf32>, %x5: tensor<5x1024xf32>, %w: tensor<96x1024xf32>, %xr: tensor<3x300xf32>, %wr: tensor<40x300xf32>) -> (tensor<1x96xf32>, tensor<5x96xf32>, tensor<3x40xf32>) {
  %y1 = quant_xform.linear %x1, %w : (tensor<1x1024xf32>, tensor<96x1024xf32>) -> tensor<1x96xf32>
  %y5 = quant_xform.linear %x5, %w : (tensor<5x1024xf32>, tensor<96x1024xf32>) -> tensor<5x96xf32>
  %yr = quant_xform.linear %xr, %wr : (tensor<3x300xf32>, tensor<40x300xf32>) -> tensor<3x40xf32>
  return %y1, %y5, %yr : tensor<1x96xf32>, tensor<5x96xf32>, tensor<3x40xf32>
}
