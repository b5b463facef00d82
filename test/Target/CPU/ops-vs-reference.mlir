// Differential test of the CPU backend: every quant_xform op, lowered
// (convert-quant-xform-to-linalg → LLVM), JIT-compiled and run on seeded
// inputs, against the reference evaluator: integer results bit-exact, float
// results within 1e-5 relative (xform-run exits non-zero otherwise). Shapes
// are ragged on purpose (M = 1, K = 7, 9, 13), and rank-3 inputs.
// Generated once by hand-written Python (weights are arbitrary constants).
// RUN: xform-run --target=cpu %s --entry linear_ragged --seed 1 --no-print --compare-reference --exact-ints --max-rel-err 1e-5 | FileCheck %s --check-prefix=CHECK
// RUN: xform-run --target=cpu %s --entry linear_rank3 --seed 2 --no-print --compare-reference --exact-ints --max-rel-err 1e-5 | FileCheck %s --check-prefix=CHECK
// RUN: xform-run --target=cpu %s --entry dynamic_quantize_token --seed 3 --no-print --compare-reference --exact-ints --max-rel-err 1e-5 | FileCheck %s --check-prefix=CHECK
// RUN: xform-run --target=cpu %s --entry dynamic_quantize_tensor_asym --seed 4 --no-print --compare-reference --exact-ints --max-rel-err 1e-5 | FileCheck %s --check-prefix=CHECK
// RUN: xform-run --target=cpu %s --entry quantize_dequantize_channel --seed 5 --no-print --compare-reference --exact-ints --max-rel-err 1e-5 | FileCheck %s --check-prefix=CHECK
// RUN: xform-run --target=cpu %s --entry quantize_tensor_asym --seed 6 --no-print --compare-reference --exact-ints --max-rel-err 1e-5 | FileCheck %s --check-prefix=CHECK
// RUN: xform-run --target=cpu %s --entry qlinear_channel --seed 7 --no-print --compare-reference --exact-ints --max-rel-err 1e-5 | FileCheck %s --check-prefix=CHECK
// RUN: xform-run --target=cpu %s --entry qlinear_group_asym --seed 8 --no-print --compare-reference --exact-ints --max-rel-err 1e-5 | FileCheck %s --check-prefix=CHECK
// RUN: xform-run --target=cpu %s --entry hadamard --seed 9 --no-print --compare-reference --exact-ints --max-rel-err 1e-5 | FileCheck %s --check-prefix=CHECK
// RUN: xform-run --target=cpu %s --entry hadamard_blocks --seed 14 --no-print --compare-reference --exact-ints --max-rel-err 1e-5 | FileCheck %s --check-prefix=CHECK
// RUN: xform-run --target=cpu %s --entry hadamard_row_blocks --seed 15 --no-print --compare-reference --exact-ints --max-rel-err 1e-5 | FileCheck %s --check-prefix=CHECK
// RUN: xform-run --target=cpu --cpu-threads=2 %s --entry hadamard_row_blocks --seed 15 --no-print --compare-reference --exact-ints --max-rel-err 1e-5 | FileCheck %s --check-prefix=CHECK
// RUN: xform-run --target=cpu %s --entry permutation_dense --seed 10 --no-print --compare-reference --exact-ints --max-rel-err 1e-5 | FileCheck %s --check-prefix=CHECK
// RUN: xform-run --target=cpu %s --entry smooth_affine --seed 11 --no-print --compare-reference --exact-ints --max-rel-err 1e-5 | FileCheck %s --check-prefix=CHECK
// RUN: xform-run --target=cpu %s --entry norms --seed 12 --no-print --compare-reference --exact-ints --max-rel-err 1e-5 | FileCheck %s --check-prefix=CHECK
// RUN: xform-run --target=cpu %s --entry mixed_linear --seed 13 --no-print --compare-reference --exact-ints --max-rel-err 1e-5 | FileCheck %s --check-prefix=CHECK
// RUN: xform-run --target=cpu %s --entry attention_mask --seed 16 --no-print --compare-reference --exact-ints --max-rel-err 1e-5 | FileCheck %s --check-prefix=CHECK
// RUN: xform-run --target=cpu %s --entry attention_gqa_causal_cache --seed 17 --no-print --compare-reference --exact-ints --max-rel-err 1e-5 | FileCheck %s --check-prefix=CHECK
// RUN: xform-run --target=cpu %s --entry attention_causal_chunks --seed 19 --no-print --compare-reference --exact-ints --max-rel-err 1e-5 | FileCheck %s --check-prefix=CHECK
// RUN: xform-run --target=cpu --cpu-threads=2 %s --entry attention_causal_chunks --seed 19 --no-print --compare-reference --exact-ints --max-rel-err 1e-5 | FileCheck %s --check-prefix=CHECK
// RUN: xform-run --target=cpu %s --entry attention_odd_keys --seed 20 --no-print --compare-reference --exact-ints --max-rel-err 1e-5 | FileCheck %s --check-prefix=CHECK
// RUN: xform-run --target=cpu %s --entry rotary --seed 18 --no-print --compare-reference --exact-ints --max-rel-err 0 | FileCheck %s --check-prefix=CHECK
// CHECK: reference 0

func.func @linear_ragged(%x: tensor<1x7xf32>) -> tensor<1x5xf32> {
  %w = arith.constant dense<[[-1.1788, -1.1482, 0.6695, -2.2939, -0.1434, -2.2561, 1.1010], [0.2029, 1.3563, -0.5042, 0.3982, -0.2859, -0.7383, 0.1453], [-1.2572, -0.3547, 0.6966, 0.0575, -0.4103, 2.1895, 0.0582], [-0.5868, 0.1596, -0.5228, -0.3851, -0.3502, 2.0253, 0.0226], [0.1756, 0.6742, 2.0169, -0.2237, -0.6239, 2.4746, -1.4596]]> : tensor<5x7xf32>
  %b = arith.constant dense<[-0.3672, 0.6669, 2.2836, -0.9499, -2.4277]> : tensor<5xf32>
  %y = quant_xform.linear %x, %w, %b : (tensor<1x7xf32>, tensor<5x7xf32>, tensor<5xf32>) -> tensor<1x5xf32>
  return %y : tensor<1x5xf32>
}

func.func @linear_rank3(%x: tensor<2x3x8xf32>) -> tensor<2x3x4xf32> {
  %w = arith.constant dense<[[0.6616, -0.5217, -0.3875, 0.4613, 0.2237, 0.2910, -0.4311, 1.2893], [1.5050, 0.0320, -0.4519, 0.7333, 0.4778, -1.0404, -0.4602, 1.0492], [-0.0963, -0.3288, 0.2125, -0.0335, -0.0025, -1.9306, 1.7493, 0.1994], [-0.8766, 0.9795, 0.3089, 0.0176, 1.0480, 2.2609, 0.5536, 1.5851]]> : tensor<4x8xf32>
  %y = quant_xform.linear %x, %w : (tensor<2x3x8xf32>, tensor<4x8xf32>) -> tensor<2x3x4xf32>
  return %y : tensor<2x3x4xf32>
}

func.func @dynamic_quantize_token(%x: tensor<3x13xf32>) -> (tensor<3x13xi8>, tensor<3xf32>) {
  %q, %s = quant_xform.dynamic_quantize %x scheme<per_token> : (tensor<3x13xf32>) -> (tensor<3x13xi8>, tensor<3xf32>)
  return %q, %s : tensor<3x13xi8>, tensor<3xf32>
}

func.func @dynamic_quantize_tensor_asym(%x: tensor<2x2x5xf32>) -> (tensor<2x2x5xui8>, tensor<f32>, tensor<ui8>) {
  %q, %s, %z = quant_xform.dynamic_quantize %x scheme<per_tensor, asymmetric, clip = 0.9> : (tensor<2x2x5xf32>) -> (tensor<2x2x5xui8>, tensor<f32>, tensor<ui8>)
  return %q, %s, %z : tensor<2x2x5xui8>, tensor<f32>, tensor<ui8>
}

func.func @quantize_dequantize_channel(%x: tensor<4x6xf32>) -> (tensor<4x6xi8>, tensor<4x6xf32>) {
  %s = arith.constant dense<[0.0266, 0.0152, 0.0102, 0.0128]> : tensor<4xf32>
  %q = quant_xform.quantize %x, %s scheme<per_channel> : (tensor<4x6xf32>, tensor<4xf32>) -> tensor<4x6xi8>
  %y = quant_xform.dequantize %q, %s scheme<per_channel> : (tensor<4x6xi8>, tensor<4xf32>) -> tensor<4x6xf32>
  return %q, %y : tensor<4x6xi8>, tensor<4x6xf32>
}

func.func @quantize_tensor_asym(%x: tensor<3x5xf32>) -> (tensor<3x5xui8>, tensor<3x5xf32>) {
  %s = arith.constant dense<0.02> : tensor<f32>
  %z = arith.constant dense<120> : tensor<ui8>
  %q = quant_xform.quantize %x, %s zero_point %z scheme<per_tensor, asymmetric> : (tensor<3x5xf32>, tensor<f32>, tensor<ui8>) -> tensor<3x5xui8>
  %y = quant_xform.dequantize %q, %s zero_point %z scheme<per_tensor, asymmetric> : (tensor<3x5xui8>, tensor<f32>, tensor<ui8>) -> tensor<3x5xf32>
  return %q, %y : tensor<3x5xui8>, tensor<3x5xf32>
}

func.func @qlinear_channel(%x: tensor<5x9xf32>) -> tensor<5x3xf32> {
  %w = arith.constant dense<[[7, -63, 71, -9, -100, 23, 64, 72, 77], [-33, 93, -52, -118, -17, 115, 123, -104, -74], [-40, 4, 29, -35, 108, -90, -40, -57, 109]]> : tensor<3x9xi8>
  %sw = arith.constant dense<[0.0033, 0.0062, 0.0053]> : tensor<3xf32>
  %b = arith.constant dense<[-0.7867, 0.4236, -1.3386]> : tensor<3xf32>
  %q, %s = quant_xform.dynamic_quantize %x scheme<per_token> : (tensor<5x9xf32>) -> (tensor<5x9xi8>, tensor<5xf32>)
  %y = quant_xform.qlinear %q scale %s, %w scale %sw, bias %b : (tensor<5x9xi8>, tensor<5xf32>, tensor<3x9xi8>, tensor<3xf32>, tensor<3xf32>) -> tensor<5x3xf32>
  return %y : tensor<5x3xf32>
}

func.func @qlinear_group_asym(%x: tensor<1x8xf32>) -> tensor<1x3xf32> {
  %w = arith.constant dense<[[57, 49, -48, -4, -86, 57, -115, -107], [125, 26, 9, 109, -24, -119, -67, 62], [25, -39, 84, -63, -11, 39, -20, -90]]> : tensor<3x8xi8>
  %sw = arith.constant dense<[[0.0209, 0.0076], [0.0114, 0.0024], [0.0028, 0.0045]]> : tensor<3x2xf32>
  %q, %s, %z = quant_xform.dynamic_quantize %x scheme<per_token, asymmetric> : (tensor<1x8xf32>) -> (tensor<1x8xui8>, tensor<1xf32>, tensor<1xui8>)
  %y = quant_xform.qlinear %q scale %s zero_point %z, %w scale %sw : (tensor<1x8xui8>, tensor<1xf32>, tensor<1xui8>, tensor<3x8xi8>, tensor<3x2xf32>) -> tensor<1x3xf32>
  return %y : tensor<1x3xf32>
}

// K = 12: a block-diagonal Hadamard with blocks of 4 (the largest power of
// two dividing 12).
func.func @hadamard_blocks(%x: tensor<3x12xf32>) -> (tensor<3x12xf32>, tensor<3x12xf32>) {
  %r = quant_xform.rotate hadamard %x signs [1, -1, 1, 1, -1, -1, 1, -1, 1, 1, 1, -1] : (tensor<3x12xf32>) -> tensor<3x12xf32>
  %i = quant_xform.rotate hadamard %x signs [1, -1, 1, 1, -1, -1, 1, -1, 1, 1, 1, -1] inverse : (tensor<3x12xf32>) -> tensor<3x12xf32>
  return %r, %i : tensor<3x12xf32>, tensor<3x12xf32>
}

// Row blocks of the CPU pipeline's cache-blocked Hadamard: K = 4096 →
// two rows per block, three blocks (forward and inverse); K = 3072 (blocks
// of 1024) → one row per block, five blocks.
func.func @hadamard_row_blocks(%x: tensor<2x3x4096xf32>, %z: tensor<5x3072xf32>) -> (tensor<2x3x4096xf32>, tensor<2x3x4096xf32>, tensor<5x3072xf32>) {
  %r = quant_xform.rotate hadamard %x : (tensor<2x3x4096xf32>) -> tensor<2x3x4096xf32>
  %i = quant_xform.rotate hadamard %x inverse : (tensor<2x3x4096xf32>) -> tensor<2x3x4096xf32>
  %s = quant_xform.rotate hadamard %z : (tensor<5x3072xf32>) -> tensor<5x3072xf32>
  return %r, %i, %s : tensor<2x3x4096xf32>, tensor<2x3x4096xf32>, tensor<5x3072xf32>
}

func.func @hadamard(%x: tensor<3x16xf32>) -> (tensor<3x16xf32>, tensor<3x16xf32>) {
  %r = quant_xform.rotate hadamard %x signs [1, -1, 1, 1, -1, -1, 1, -1, 1, 1, 1, -1, -1, 1, -1, 1] : (tensor<3x16xf32>) -> tensor<3x16xf32>
  %i = quant_xform.rotate hadamard %x signs [1, -1, 1, 1, -1, -1, 1, -1, 1, 1, 1, -1, -1, 1, -1, 1] inverse : (tensor<3x16xf32>) -> tensor<3x16xf32>
  return %r, %i : tensor<3x16xf32>, tensor<3x16xf32>
}

func.func @permutation_dense(%x: tensor<2x4xf32>) -> (tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>) {
  %q = arith.constant dense<[[0.5, 0.5, 0.5, 0.5], [0.5, -0.5, 0.5, -0.5], [0.5, 0.5, -0.5, -0.5], [0.5, -0.5, -0.5, 0.5]]> : tensor<4x4xf32>
  %p = quant_xform.rotate permutation %x perm [2, 0, 3, 1] : (tensor<2x4xf32>) -> tensor<2x4xf32>
  %pi = quant_xform.rotate permutation %x perm [2, 0, 3, 1] inverse : (tensor<2x4xf32>) -> tensor<2x4xf32>
  %d = quant_xform.rotate dense %x by %q inverse : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32>
  return %p, %pi, %d : tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>
}

func.func @smooth_affine(%x: tensor<3x2xf32>) -> (tensor<3x2xf32>, tensor<3x2xf32>, tensor<3x2xf32>) {
  %s = arith.constant dense<[2.0, 0.5]> : tensor<2xf32>
  %d = arith.constant dense<[0.25, -1.0]> : tensor<2xf32>
  %a = arith.constant dense<[[2.0, 0.5], [0.25, 1.5]]> : tensor<2x2xf32>
  %0 = quant_xform.smooth %x by %s shift %d : (tensor<3x2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<3x2xf32>
  %1 = quant_xform.affine %x by %a shift %d : (tensor<3x2xf32>, tensor<2x2xf32>, tensor<2xf32>) -> tensor<3x2xf32>
  %2 = quant_xform.affine %x by %a inverse : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32>
  return %0, %1, %2 : tensor<3x2xf32>, tensor<3x2xf32>, tensor<3x2xf32>
}

func.func @norms(%x: tensor<2x3x6xf32>) -> (tensor<2x3x6xf32>, tensor<2x3x6xf32>) {
  %g = arith.constant dense<[-0.2812, -2.4299, -1.2025, -1.2870, 0.8370, 0.6631]> : tensor<6xf32>
  %b = arith.constant dense<[1.1419, 1.5561, -0.3053, 1.0555, 1.9556, -0.0086]> : tensor<6xf32>
  %0 = quant_xform.layer_norm %x, %g, %b : (tensor<2x3x6xf32>, tensor<6xf32>, tensor<6xf32>) -> tensor<2x3x6xf32>
  %1 = quant_xform.rms_norm %x, %g {epsilon = 1.0e-3 : f64} : (tensor<2x3x6xf32>, tensor<6xf32>) -> tensor<2x3x6xf32>
  return %0, %1 : tensor<2x3x6xf32>, tensor<2x3x6xf32>
}

func.func @mixed_linear(%x: tensor<4x6xf32>) -> (tensor<4x3xf32>, tensor<4x3xf32>) {
  %w = arith.constant dense<[[122, 6, -11, 118, -3, 49], [59, -46, -5, -57, -53, -7], [-24, 103, -90, -99, -31, 83]]> : tensor<3x6xi8>
  %sw = arith.constant dense<[0.0273, 0.0038, 0.0102]> : tensor<3xf32>
  %wo = arith.constant dense<[[-0.8419, -0.2280], [0.3670, -0.2439], [1.7284, 0.6368]]> : tensor<3x2xf32>
  %wf = arith.constant dense<[[-0.7009, 0.3875, -1.6829, -0.5038, -1.3884, 0.0575], [-0.9487, -0.2291, -0.7790, -1.7069, 0.1539, -0.3028], [-0.7773, 1.3645, -0.4859, -0.1334, -0.0741, -0.7269]]> : tensor<3x6xf32>
  %b = arith.constant dense<[-0.2211, -0.5271, -0.9826]> : tensor<3xf32>
  %0 = quant_xform.mixed_linear %x, %w scale %sw, outliers %wo columns [1, 4], bias %b : (tensor<4x6xf32>, tensor<3x6xi8>, tensor<3xf32>, tensor<3x2xf32>, tensor<3xf32>) -> tensor<4x3xf32>
  %1 = quant_xform.mixed_linear %x, %w scale %sw, outliers %wf threshold 1.5 : (tensor<4x6xf32>, tensor<3x6xi8>, tensor<3xf32>, tensor<3x6xf32>) -> tensor<4x3xf32>
  return %0, %1 : tensor<4x3xf32>, tensor<4x3xf32>
}

// Attention with a padding mask: 2 sequences, 5 tokens, 2 heads of 3.
func.func @attention_mask(%q: tensor<2x5x2x3xf32>, %k: tensor<2x5x2x3xf32>, %v: tensor<2x5x2x3xf32>, %m: tensor<2x5xf32>) -> tensor<2x5x2x3xf32> {
  %y = quant_xform.attention %q, %k, %v mask(%m : tensor<2x5xf32>) {scale = 0.57735026918962584 : f64} : tensor<2x5x2x3xf32>, tensor<2x5x2x3xf32>
  return %y : tensor<2x5x2x3xf32>
}

// Causal grouped-query attention over a cache: 3 new tokens after 4
// cached ones, 4 query heads reading 2 key/value heads.
func.func @attention_gqa_causal_cache(%q: tensor<2x3x4x4xf32>, %k: tensor<2x7x2x4xf32>, %v: tensor<2x7x2x4xf32>) -> tensor<2x3x4x4xf32> {
  %y = quant_xform.attention %q, %k, %v {scale = 0.5 : f64, causal} : tensor<2x3x4x4xf32>, tensor<2x7x2x4xf32>
  return %y : tensor<2x3x4x4xf32>
}

// Causal attention long enough to run in query chunks (200 queries: 3
// chunks of at most 67, each over the keys up to its last query), after 8
// cached keys, grouped-query heads, a padding mask.
func.func @attention_causal_chunks(%q: tensor<2x200x4x8xf32>, %k: tensor<2x208x2x8xf32>, %v: tensor<2x208x2x8xf32>, %m: tensor<2x208xf32>) -> tensor<2x200x4x8xf32> {
  %y = quant_xform.attention %q, %k, %v mask(%m : tensor<2x208xf32>) {scale = 0.35355339059327379 : f64, causal} : tensor<2x200x4x8xf32>, tensor<2x208x2x8xf32>
  return %y : tensor<2x200x4x8xf32>
}

// 127 keys, 8 sequences of 4 heads: the batch matmuls' odd tiles lower
// through stack temporaries, which overflowed the stack while they were
// allocated inside the loops (now hoisted out of them).
func.func @attention_odd_keys(%q: tensor<8x127x4x8xf32>, %k: tensor<8x127x2x8xf32>, %v: tensor<8x127x2x8xf32>) -> tensor<8x127x4x8xf32> {
  %y = quant_xform.attention %q, %k, %v {scale = 0.35355339059327379 : f64, causal} : tensor<8x127x4x8xf32>, tensor<8x127x2x8xf32>
  return %y : tensor<8x127x4x8xf32>
}

// The rotary embedding: f32 products and sums in the evaluator's order,
// so bit-exact (max-rel-err 0).
func.func @rotary(%x: tensor<7x3x6xf32>, %c: tensor<7x3xf32>, %s: tensor<7x3xf32>) -> tensor<7x3x6xf32> {
  %y = quant_xform.rotary %x, %c, %s : tensor<7x3x6xf32>, tensor<7x3xf32>
  return %y : tensor<7x3x6xf32>
}
