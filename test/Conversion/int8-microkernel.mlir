// The packed int8 kernel of convert-quant-xform-to-linalg: the constant
// weight is packed at compile time (one 48-column panel × 2 steps of 4 k,
// zero padded), the compensation is −128·Σ_k w = −128·6·3 = −2304 for the
// 20 real columns and 0 for the padding, K = 6 is padded to 8, and the
// 3 × 48 block accumulates with qx_cpu.dot_u8s8 (VNNI) or plain vector
// ops. The default keeps the linalg.generic contraction.
// RUN: xform-opt %s --convert-quant-xform-to-linalg=int8-kernel=avx512-vnni | FileCheck %s --check-prefix=VNNI
// RUN: xform-opt %s --convert-quant-xform-to-linalg=int8-kernel=vector | FileCheck %s --check-prefix=VEC
// RUN: xform-opt %s --convert-quant-xform-to-linalg | FileCheck %s --check-prefix=LOOPS
// RUN: not xform-opt %s --convert-quant-xform-to-linalg=int8-kernel=sse 2>&1 | FileCheck %s --check-prefix=BAD

// VNNI-LABEL: func.func @constant_weight
// VNNI: arith.constant dense<"0x0303{{.*}}"> : tensor<1x2x192xi8>
// VNNI: arith.constant dense<[-2304, -2304, -2304, -2304, -2304, -2304, -2304, -2304, -2304, -2304, -2304, -2304, -2304, -2304, -2304, -2304, -2304, -2304, -2304, -2304, 0, {{.*}}]> : tensor<48xi32>
// VNNI: arith.xori {{.*}} : i8
// VNNI: -> tensor<3x8xi8>
// VNNI: scf.forall (%{{.*}}, %{{.*}}) in (1, 1)
// VNNI: scf.for {{.*}} -> (vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>)
// VNNI-COUNT-9: qx_cpu.dot_u8s8
// VNNI: arith.sitofp {{.*}} : vector<16xi32> to vector<16xf32>
// VNNI: vector.transfer_write
// VNNI: tensor.parallel_insert_slice

// VEC-LABEL: func.func @constant_weight
// VEC-NOT: qx_cpu.dot_u8s8
// VEC: scf.forall
// VEC: vector.shuffle
// VEC: arith.extui {{.*}} : vector<16xi8> to vector<16xi32>
// VEC: arith.extsi {{.*}} : vector<16xi8> to vector<16xi32>

// LOOPS-LABEL: func.func @constant_weight
// LOOPS-NOT: scf.forall
// LOOPS: linalg.generic

// A weight that is not a constant keeps the generic contraction.
// VNNI-LABEL: func.func @weight_argument
// VNNI-NOT: scf.forall
// VNNI: linalg.generic

// Per-group input scales (2 groups of 4 k): the compensation is per group
// (−128·4·3 = −1536), sw [N, G] is transposed to [G, N], and the k loop runs
// inside a loop over groups that carries one f32 sum per accumulator, at
// most 4 rows a block.
// VNNI-LABEL: func.func @grouped_scales
// VNNI: arith.constant dense<{{\[\[}}-1536, {{.*}}]]> : tensor<2x48xi32>
// VNNI: linalg.transpose ins(%{{.*}} : tensor<20x2xf32>) outs(%{{.*}} : tensor<2x20xf32>) permutation = [1, 0]
// VNNI: scf.forall
// VNNI: scf.for {{.*}} -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// VNNI: scf.for {{.*}} -> (vector<16xi32>,
// VNNI-COUNT-9: qx_cpu.dot_u8s8
// VNNI: vector.transfer_read %{{.*}}[%{{.*}}, %{{.*}}]{{.*}} : tensor<2x48xi32>, vector<16xi32>
// VNNI: tensor.extract %{{.*}}[%{{.*}}, %{{.*}}] : tensor<3x2xf32>
// VNNI: arith.sitofp
// VNNI: arith.mulf
// VNNI: arith.mulf
// VNNI: arith.addf
// VNNI: tensor.parallel_insert_slice

// BAD: for the --int8-kernel option: Cannot find option named 'sse'!

func.func @constant_weight(%q: tensor<3x6xi8>, %s: tensor<3xf32>, %sw: tensor<20xf32>) -> tensor<3x20xf32> {
  %w = arith.constant dense<3> : tensor<20x6xi8>
  %y = quant_xform.qlinear %q scale %s, %w scale %sw : (tensor<3x6xi8>, tensor<3xf32>, tensor<20x6xi8>, tensor<20xf32>) -> tensor<3x20xf32>
  return %y : tensor<3x20xf32>
}

func.func @weight_argument(%q: tensor<3x6xi8>, %s: tensor<3xf32>, %w: tensor<20x6xi8>, %sw: tensor<20xf32>) -> tensor<3x20xf32> {
  %y = quant_xform.qlinear %q scale %s, %w scale %sw : (tensor<3x6xi8>, tensor<3xf32>, tensor<20x6xi8>, tensor<20xf32>) -> tensor<3x20xf32>
  return %y : tensor<3x20xf32>
}

func.func @grouped_scales(%q: tensor<3x8xi8>, %s: tensor<3x2xf32>, %sw: tensor<20x2xf32>) -> tensor<3x20xf32> {
  %w = arith.constant dense<3> : tensor<20x8xi8>
  %y = quant_xform.qlinear %q scale %s, %w scale %sw : (tensor<3x8xi8>, tensor<3x2xf32>, tensor<20x8xi8>, tensor<20x2xf32>) -> tensor<3x20xf32>
  return %y : tensor<3x20xf32>
}
