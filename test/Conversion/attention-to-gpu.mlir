// The GPU lowering of quant_xform.attention: one launch of the generated
// flash attention kernel per op, a block of 4 warps per 64 query rows of
// one (sequence, head): grid ⌈S/64⌉ × heads × batch, 128 threads. The
// kernel keeps k and v tiles of 64 keys ([key, d]) in dynamic shared
// memory as f16, two stages of each, rows padded by 8 halves; per key tile
// it multiplies q·kᵀ (8 n-tiles × D/16 k-steps of mma.sync m16n8k16 f16
// with f32 accumulators, k's B fragments of two k-steps from one
// ldmatrix.x4), reduces the row maximum and (after the loop) the row sum
// over the quad of lanes with two xor shuffles each, exponentiates with
// exp2 (scores scaled by log₂ e), and p·v (D/8 n-tiles × 4 k-steps, the B
// fragments of two n-tiles from one ldmatrix.x4.trans). With more than one
// block of query rows (a prefill) a first kernel rounds k and v to f16
// scratch and the attention copies the next tile with cp.async while it
// computes on this one. The keys walk in two loops: the tiles that hold no
// hidden key, then those that may (past the end, or causal past a row's
// position), the only ones that compare. A causal kernel stops at the
// block's last visible key tile; grouped-query heads read head / (H / G).
// In a whole model the op is outlined like a linear; a head size the
// kernel does not take leaves it to the loop kernels, with a warning
// saying why.
// RUN: xform-opt %s -split-input-file -convert-quant-xform-qlinear-to-gpu 2>/dev/null | FileCheck %s
// RUN: xform-opt %s -split-input-file -convert-quant-xform-qlinear-to-gpu -verify-diagnostics -o /dev/null
// With attention-kernel=false, a whole model keeps its attention for the
// f32 loop kernels of its linalg form:
// RUN: xform-opt %s -split-input-file -convert-quant-xform-qlinear-to-gpu="attention-kernel=false" 2>&1 | FileCheck %s --check-prefix=LOOPS
// LOOPS-LABEL: func.func @model(
// LOOPS-NOT: call
// LOOPS: quant_xform.attention %{{.*}} : tensor<1x8x2x32xf32>, tensor<1x8x2x32xf32>
// LOOPS: quant_xform.attention %{{.*}} : tensor<1x8x2x24xf32>, tensor<1x8x2x24xf32>

// CHECK-LABEL: gpu.func @minilm_attention0(
// CHECK-SAME: %{{.*}}: memref<2x128x12x32xf32>, %{{.*}}: memref<2x128x12x32xf16>, %{{.*}}: memref<2x128x12x32xf16>, %{{.*}}: memref<2x128xf32>, %{{.*}}: memref<2x128x12x32xf32>) kernel
// CHECK: arith.divui %block_id_y, %c1
// CHECK: %[[SMEM:.*]] = gpu.dynamic_shared_memory
// CHECK: %[[KS:.*]] = memref.view %[[SMEM]][%{{.*}}][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<2x64x40xf16, #gpu.address_space<workgroup>>
// CHECK: %[[VS:.*]] = memref.view %[[SMEM]][%c10240][] : {{.*}} to memref<2x64x40xf16, #gpu.address_space<workgroup>>
// The first tile into stage 0: 64 keys × 4 chunks of 8 halves, 2 a thread.
// CHECK-COUNT-2: nvgpu.device_async_copy %{{.*}}, %[[KS]][%c0{{.*}}, %{{.*}}, %{{.*}}], 8 {bypassL1}
// CHECK: nvvm.cp.async.commit.group
// CHECK: %[[OPEN:.*]]:8 = scf.for %{{.*}} = %c0{{.*}} to %[[SPLIT:.*]] step
// CHECK: nvvm.cp.async.wait.group 0
// CHECK-NEXT: gpu.barrier
// CHECK: scf.if
// CHECK-COUNT-2: nvgpu.device_async_copy
// CHECK: nvvm.cp.async.commit.group
// CHECK: nvgpu.ldmatrix %[[KS]][{{.*}}] {numTiles = 4 : i32, transpose = false} : memref<2x64x40xf16, #gpu.address_space<workgroup>> -> vector<4x2xf16>
// CHECK-COUNT-2: nvgpu.mma.sync({{.*}}) {mmaShape = [16, 8, 16]} : (vector<4x2xf16>, vector<2x2xf16>, vector<2x2xf32>) -> vector<2x2xf32>
// CHECK: gpu.shuffle  xor %{{.*}}, %c1_i32
// CHECK: gpu.shuffle  xor %{{.*}}, %c2_i32
// CHECK: math.exp2
// CHECK: nvgpu.ldmatrix %[[VS]][{{.*}}] {numTiles = 4 : i32, transpose = true} : memref<2x64x40xf16, #gpu.address_space<workgroup>> -> vector<4x2xf16>
// CHECK-COUNT-2: nvgpu.mma.sync
// CHECK: nvgpu.ldmatrix
// CHECK-COUNT-14: nvgpu.mma.sync
// CHECK-NOT: nvgpu.mma.sync
// CHECK: scf.yield
// CHECK: scf.for %{{.*}} = %[[SPLIT]] to %c2{{.*}} iter_args(%{{.*}} = %[[OPEN]]#0,
// CHECK: arith.cmpi sge
// CHECK: scf.yield
// CHECK: gpu.shuffle  xor
// CHECK: scf.if
// CHECK: vector.store
// The half copy: four elements a thread, rounded to f16.
// CHECK-LABEL: gpu.func @minilm_attention0_keys(
// CHECK-SAME: %{{.*}}: memref<2x128x12x32xf32>, %{{.*}}: memref<2x128x12x32xf32>, %{{.*}}: memref<2x128x12x32xf16>, %{{.*}}: memref<2x128x12x32xf16>) kernel
// CHECK: vector.load %{{.*}} {alignment = 16 : i64} : memref<98304xf32>, vector<4xf32>
// CHECK: arith.truncf %{{.*}} : vector<4xf32> to vector<4xf16>
// CHECK-LABEL: func.func @minilm(
// CHECK: gpu.launch_func async [%{{.*}}] @qx_gpu_kernels::@minilm_attention0_keys blocks in (%c96, %c1, %c1{{.*}}) threads in (%c256,
// CHECK: gpu.launch_func async [%{{.*}}] @qx_gpu_kernels::@minilm_attention0 blocks in (%c2, %c12, %c2{{.*}}) threads in (%c128, {{.*}} dynamic_shared_memory_size %c20480_i32
func.func @minilm(%q: tensor<2x128x12x32xf32>, %k: tensor<2x128x12x32xf32>, %v: tensor<2x128x12x32xf32>, %m: tensor<2x128xf32>) -> tensor<2x128x12x32xf32> {
  %y = quant_xform.attention %q, %k, %v mask(%m : tensor<2x128xf32>) {scale = 0.17677669529663687 : f64} : tensor<2x128x12x32xf32>, tensor<2x128x12x32xf32>
  return %y : tensor<2x128x12x32xf32>
}

// -----

// Causal, 9 query heads on 3 key/value heads, 16 queries after 84 cached
// keys: the loop ends at min(⌈(last row + 84 + 1) / 64⌉, 2); one block of
// query rows, so k and v stay f32 (copied through registers). Tile 0 is
// inside the keys and visible to row 0 (⌊(0 + 84 + 1) / 64⌋ = 1): the
// first loop takes it without comparisons.
// CHECK-LABEL: gpu.func @gqa_attention0(
// CHECK-SAME: %{{.*}}: memref<1x16x9x64xf32>, %{{.*}}: memref<1x100x3x64xf32>, %{{.*}}: memref<1x100x3x64xf32>, %{{.*}}: memref<1x16x9x64xf32>) kernel
// CHECK: arith.divui %block_id_y, %c3
// CHECK: %[[LAST:.*]] = arith.divui %{{.*}}, %c64
// CHECK: %[[NEEDED:.*]] = arith.addi %[[LAST]], %c1
// CHECK: %[[END:.*]] = arith.minsi %[[NEEDED]], %c2
// CHECK: %[[VISIBLE:.*]] = arith.floordivsi %{{.*}}, %c64
// CHECK: %[[UNCHECKED:.*]] = arith.minsi %c1{{.*}}, %[[VISIBLE]]
// CHECK: %[[UPTO:.*]] = arith.minsi %[[UNCHECKED]], %[[END]]
// CHECK: %[[SPLIT:.*]] = arith.maxsi %c0{{.*}}, %[[UPTO]]
// CHECK: vector.load {{.*}} : memref<1x100x3x64xf32>, vector<4xf32>
// CHECK: scf.for %{{.*}} = %c0{{.*}} to %[[SPLIT]] step
// CHECK-NOT: nvvm.cp.async
// CHECK-NOT: arith.cmpi sgt
// CHECK-COUNT-32: nvgpu.mma.sync
// CHECK: scf.yield
// CHECK: scf.for %{{.*}} = %[[SPLIT]] to %[[END]] step
// CHECK-COUNT-32: nvgpu.mma.sync
// CHECK: arith.cmpi sgt
// CHECK-COUNT-32: nvgpu.mma.sync
// CHECK-NOT: nvgpu.mma.sync
// CHECK-LABEL: func.func @gqa(
// CHECK: gpu.launch_func async [%{{.*}}] @qx_gpu_kernels::@gqa_attention0 blocks in (%c1, %c9, %c1{{.*}}) threads in (%c128, {{.*}} dynamic_shared_memory_size %c36864_i32
func.func @gqa(%q: tensor<1x16x9x64xf32>, %k: tensor<1x100x3x64xf32>, %v: tensor<1x100x3x64xf32>) -> tensor<1x16x9x64xf32> {
  %y = quant_xform.attention %q, %k, %v {scale = 0.125 : f64, causal} : tensor<1x16x9x64xf32>, tensor<1x100x3x64xf32>
  return %y : tensor<1x16x9x64xf32>
}

// -----

// A decode step (flash-decoding): 3 query rows (the query heads of a KV
// head) on each of 3 KV heads against 513 cached keys is a grid of 3 blocks
// on 132 SMs, so the 9 key tiles split 9 ways: block x = query block · 9 +
// split walks tile `split`, storing its unnormalized rows and their
// (maximum, sum) into scratch; a second kernel (one thread per element of
// a row) combines them with weights 2^(m_i − M). A row with no visible key
// so far counts its maximum as 0 in the exponentials.
// CHECK-LABEL: gpu.func @decode_attention0(
// CHECK-SAME: %{{.*}}: memref<1x513xf32>, %{{.*}}: memref<9x1x3x3x64xf32>, %{{.*}}: memref<9x1x3x3x2xf32>)
// CHECK: %[[QB:.*]] = arith.divui %block_id_x, %c9
// CHECK: %[[SPLIT:.*]] = arith.remui %block_id_x, %c9
// CHECK: %[[BEGIN:.*]] = arith.muli %[[SPLIT]], %c1
// CHECK: %[[NEXT:.*]] = arith.addi %[[BEGIN]], %c1
// CHECK: %[[END:.*]] = arith.minsi %[[NEXT]], %c9
// CHECK: %[[UPTO:.*]] = arith.minsi %c8{{.*}}, %[[END]]
// CHECK: %[[CHECKED:.*]] = arith.maxsi %[[BEGIN]], %[[UPTO]]
// CHECK: scf.for %{{.*}} = %[[BEGIN]] to %[[CHECKED]] step
// CHECK: arith.cmpf oeq, %{{.*}}, %cst
// CHECK: arith.select
// CHECK: math.exp2
// CHECK: scf.yield
// CHECK: scf.for %{{.*}} = %[[CHECKED]] to %[[END]] step
// CHECK: arith.cmpi sge
// CHECK: scf.yield
// CHECK: vector.store %{{.*}}, %{{.*}}[%[[SPLIT]], %block_id_z, %{{.*}}, %block_id_y, %{{.*}}] : memref<9x1x3x3x64xf32>, vector<2xf32>
// CHECK: memref.store %{{.*}}, %{{.*}}[%[[SPLIT]], %block_id_z, %{{.*}}, %block_id_y, %c0{{.*}}] : memref<9x1x3x3x2xf32>
// CHECK: memref.store %{{.*}}, %{{.*}}[%[[SPLIT]], %block_id_z, %{{.*}}, %block_id_y, %c1{{.*}}] : memref<9x1x3x3x2xf32>
// CHECK-LABEL: gpu.func @decode_attention0_combine(
// CHECK-SAME: %{{.*}}: memref<9x1x3x3x64xf32>, %{{.*}}: memref<9x1x3x3x2xf32>, %{{.*}}: memref<1x3x3x64xf32>) kernel
// CHECK: scf.for
// CHECK: arith.maximumf
// CHECK: scf.for
// CHECK: math.exp2
// CHECK: arith.divf
// CHECK-LABEL: func.func @decode(
// CHECK: gpu.alloc async {{.*}} () : memref<9x1x3x3x64xf32>
// CHECK: gpu.alloc async {{.*}} () : memref<9x1x3x3x2xf32>
// CHECK: gpu.launch_func async [%{{.*}}] @qx_gpu_kernels::@decode_attention0 blocks in (%c9, %c3, %c1{{.*}}) threads in (%c128,
// CHECK: gpu.launch_func async [%{{.*}}] @qx_gpu_kernels::@decode_attention0_combine blocks in (%c3{{.*}}, %c3{{.*}}, %c1{{.*}}) threads in (%c64,
func.func @decode(%q: tensor<1x3x3x64xf32>, %k: tensor<1x513x3x64xf32>, %v: tensor<1x513x3x64xf32>, %m: tensor<1x513xf32>) -> tensor<1x3x3x64xf32> {
  %y = quant_xform.attention %q, %k, %v mask(%m : tensor<1x513xf32>) {scale = 0.125 : f64} : tensor<1x3x3x64xf32>, tensor<1x513x3x64xf32>
  return %y : tensor<1x3x3x64xf32>
}

// -----

// CHECK-LABEL: func.func private @model_gpu0(
// CHECK-SAME: %[[A:.*]]: memref<1x8x2x32xf32>, %[[Y:.*]]: memref<1x8x2x32xf32>)
// CHECK: gpu.launch_func @qx_gpu_kernels::@model_gpu0_attention0 {{.*}} args(%[[A]] : memref<1x8x2x32xf32>, %[[A]] : memref<1x8x2x32xf32>, %[[A]] : memref<1x8x2x32xf32>, %[[Y]] : memref<1x8x2x32xf32>)
// CHECK-LABEL: func.func @model(
// CHECK: call @model_gpu0(
// CHECK: quant_xform.attention %{{.*}} : tensor<1x8x2x24xf32>, tensor<1x8x2x24xf32>
func.func @model(%x: tensor<1x8x2x32xf32>, %z: tensor<1x8x2x24xf32>) -> (tensor<1x8x2x32xf32>, tensor<1x8x2x24xf32>) {
  %a = arith.addf %x, %x : tensor<1x8x2x32xf32>
  %y = quant_xform.attention %a, %a, %a {scale = 0.125 : f64} : tensor<1x8x2x32xf32>, tensor<1x8x2x32xf32>
  // expected-warning @+1 {{attention runs as generic GPU loops: the attention kernel needs a head size that is a multiple of 16 up to 128 (got 24)}}
  %w = quant_xform.attention %z, %z, %z {scale = 0.125 : f64} : tensor<1x8x2x24xf32>, tensor<1x8x2x24xf32>
  return %y, %w : tensor<1x8x2x32xf32>, tensor<1x8x2x24xf32>
}


// -----

// A prefill inside a whole model: its outlined function runs without a
// stream of its own (gpu-async-region chains it later), so the f16 copies
// of k and v are synchronous allocations, freed at its return.
// CHECK-LABEL: func.func private @prefill_gpu0(
// CHECK: %[[KH:.*]] = gpu.alloc () : memref<1x128x2x32xf16>
// CHECK: %[[VH:.*]] = gpu.alloc () : memref<1x128x2x32xf16>
// CHECK: gpu.launch_func @qx_gpu_kernels::@prefill_gpu0_attention0_keys {{.*}} args(%{{.*}} : memref<1x128x2x32xf32>, %{{.*}} : memref<1x128x2x32xf32>, %[[KH]] : memref<1x128x2x32xf16>, %[[VH]] : memref<1x128x2x32xf16>)
// CHECK: gpu.launch_func @qx_gpu_kernels::@prefill_gpu0_attention0 {{.*}} dynamic_shared_memory_size %c20480_i32 args(%{{.*}} : memref<1x128x2x32xf32>, %[[KH]] : memref<1x128x2x32xf16>, %[[VH]] : memref<1x128x2x32xf16>,
// CHECK: gpu.dealloc %[[KH]]
// CHECK: gpu.dealloc %[[VH]]
// CHECK-NEXT: return
func.func @prefill(%x: tensor<1x128x2x32xf32>) -> tensor<1x128x2x32xf32> {
  %a = arith.addf %x, %x : tensor<1x128x2x32xf32>
  %y = quant_xform.attention %a, %a, %a {scale = 0.125 : f64, causal} : tensor<1x128x2x32xf32>, tensor<1x128x2x32xf32>
  return %y : tensor<1x128x2x32xf32>
}

// -----

// A prefill with rotary embeddings (as quant_xform.llm_ir emits it for the
// GPU): the rotary ops of q and k join the attention's kernel function and
// launch nothing of their own. The half-copy kernel rotates k (its cos and
// sin after v), stores the rotated f32 k into the function's second result
// (the KV cache, a view of it as [1, 128, 2, 32]) and rounds it to f16;
// the attention takes q unrotated with its cos and sin after k and v.
// CHECK-LABEL: gpu.func @rope_gpu0_attention0(
// CHECK-SAME: %{{.*}}: memref<1x128x4x32xf32>, %{{.*}}: memref<1x128x2x32xf16>, %{{.*}}: memref<1x128x2x32xf16>, %[[QCOS:.*]]: memref<128x16xf32>, %[[QSIN:.*]]: memref<128x16xf32>, %{{.*}}: memref<1x128x4x32xf32>) kernel
// The first pair of the low half (d = 2t) with its partner d + 16:
// CHECK: %[[D:.*]] = arith.addi %{{.*}}, %c0
// CHECK: %[[P:.*]] = arith.addi %[[D]], %c16
// CHECK: vector.load %[[QCOS]]
// CHECK: vector.load %[[QSIN]]
// CHECK: arith.subf %{{.*}} : vector<2xf32>
// CHECK: arith.truncf %{{.*}} : vector<2xf32> to vector<2xf16>
// CHECK-LABEL: gpu.func @rope_gpu0_attention0_keys(
// CHECK-SAME: %[[K:.*]]: memref<1x128x2x32xf32>, %{{.*}}: memref<1x128x2x32xf32>, %[[COS:.*]]: memref<128x16xf32>, %[[SIN:.*]]: memref<128x16xf32>, %{{.*}}: memref<1x128x2x32xf16>, %{{.*}}: memref<1x128x2x32xf16>, %[[KR:.*]]: memref<1x128x2x32xf32>) kernel
// CHECK: %[[TOKEN:.*]] = arith.divui %{{.*}}, %c64
// CHECK: %[[LOW:.*]] = arith.cmpi ult, %{{.*}}, %c16
// CHECK: vector.load %[[COS]][%[[TOKEN]], %{{.*}}] {{.*}} : memref<128x16xf32>, vector<4xf32>
// CHECK: vector.load %[[SIN]][%[[TOKEN]], %{{.*}}] {{.*}} : memref<128x16xf32>, vector<4xf32>
// CHECK: %[[DIFF:.*]] = arith.subf
// CHECK: %[[SUM:.*]] = arith.addf
// CHECK: %[[ROT:.*]] = arith.select %[[LOW]], %[[DIFF]], %[[SUM]] : vector<4xf32>
// CHECK: vector.store %[[ROT]], %{{.*}} {{.*}} : memref<8192xf32>, vector<4xf32>
// CHECK: arith.truncf %[[ROT]] : vector<4xf32> to vector<4xf16>
// CHECK-LABEL: func.func private @rope_gpu0(
// CHECK-SAME: %[[XQ:.*]]: memref<128x4x32xf32>, %[[C:.*]]: memref<128x16xf32>, %[[S:.*]]: memref<128x16xf32>, %[[XK:.*]]: memref<128x2x32xf32>, %[[V:.*]]: memref<1x128x2x32xf32>, %[[Y:.*]]: memref<1x128x4x32xf32>, %[[KOUT:.*]]: memref<128x2x32xf32>)
// CHECK: %[[Q4:.*]] = memref.expand_shape %[[XQ]] {{\[\[}}0, 1], [2], [3]]
// CHECK: %[[K4:.*]] = memref.expand_shape %[[XK]] {{\[\[}}0, 1], [2], [3]]
// CHECK: %[[KOUT4:.*]] = memref.expand_shape %[[KOUT]] {{\[\[}}0, 1], [2], [3]]
// CHECK: gpu.launch_func @qx_gpu_kernels::@rope_gpu0_attention0_keys {{.*}} args(%[[K4]] : memref<1x128x2x32xf32>, %[[V]] : memref<1x128x2x32xf32>, %[[C]] : memref<128x16xf32>, %[[S]] : memref<128x16xf32>, %{{.*}} : memref<1x128x2x32xf16>, %{{.*}} : memref<1x128x2x32xf16>, %[[KOUT4]] : memref<1x128x2x32xf32>)
// CHECK: gpu.launch_func @qx_gpu_kernels::@rope_gpu0_attention0 {{.*}} args(%[[Q4]] : memref<1x128x4x32xf32>, %{{.*}} : memref<1x128x2x32xf16>, %{{.*}} : memref<1x128x2x32xf16>, %[[C]] : memref<128x16xf32>, %[[S]] : memref<128x16xf32>, %[[Y]] : memref<1x128x4x32xf32>)
// CHECK-NOT: gpu.memcpy
// CHECK-LABEL: func.func @rope(
// CHECK-NOT: quant_xform.rotary
// CHECK: call @rope_gpu0(
// CHECK-NOT: quant_xform.rotary
// CHECK: return %{{.*}}, %{{.*}} : tensor<1x128x4x32xf32>, tensor<128x2x32xf32>
func.func @rope(%x: tensor<128x128xf32>, %cos: tensor<128x16xf32>, %sin: tensor<128x16xf32>, %vin: tensor<1x128x2x32xf32>) -> (tensor<1x128x4x32xf32>, tensor<128x2x32xf32>) {
  %a = arith.addf %x, %x : tensor<128x128xf32>
  %q = tensor.expand_shape %a [[0], [1, 2]] output_shape [128, 4, 32] : tensor<128x128xf32> into tensor<128x4x32xf32>
  %k0 = tensor.extract_slice %a[0, 0] [128, 64] [1, 1] : tensor<128x128xf32> to tensor<128x64xf32>
  %k = tensor.expand_shape %k0 [[0], [1, 2]] output_shape [128, 2, 32] : tensor<128x64xf32> into tensor<128x2x32xf32>
  %qr = quant_xform.rotary %q, %cos, %sin : tensor<128x4x32xf32>, tensor<128x16xf32>
  %kr = quant_xform.rotary %k, %cos, %sin : tensor<128x2x32xf32>, tensor<128x16xf32>
  %q4 = tensor.expand_shape %qr [[0, 1], [2], [3]] output_shape [1, 128, 4, 32] : tensor<128x4x32xf32> into tensor<1x128x4x32xf32>
  %k4 = tensor.expand_shape %kr [[0, 1], [2], [3]] output_shape [1, 128, 2, 32] : tensor<128x2x32xf32> into tensor<1x128x2x32xf32>
  %y = quant_xform.attention %q4, %k4, %vin {scale = 0.125 : f64, causal} : tensor<1x128x4x32xf32>, tensor<1x128x2x32xf32>
  return %y, %kr : tensor<1x128x4x32xf32>, tensor<128x2x32xf32>
}

// -----

// k's rotary result read before the attention (here by an add): the
// half-copy cannot be its only writer, so k's rotary stays (loop kernels
// later) while q's joins the attention.
// CHECK-LABEL: func.func private @rope_early_gpu0(
// CHECK-SAME: %{{.*}}: memref<128x4x32xf32>, %{{.*}}: memref<128x16xf32>, %{{.*}}: memref<128x16xf32>, %{{.*}}: memref<1x128x2x32xf32>, %{{.*}}: memref<1x128x2x32xf32>, %{{.*}}: memref<1x128x4x32xf32>)
// CHECK: gpu.launch_func @qx_gpu_kernels::@rope_early_gpu0_attention0_keys {{.*}} args(%{{.*}} : memref<1x128x2x32xf32>, %{{.*}} : memref<1x128x2x32xf32>, %{{.*}} : memref<1x128x2x32xf16>, %{{.*}} : memref<1x128x2x32xf16>)
// CHECK-LABEL: func.func @rope_early(
// CHECK: %[[KR:.*]] = quant_xform.rotary
// CHECK-NOT: quant_xform.rotary
// CHECK: call @rope_early_gpu0(
func.func @rope_early(%q: tensor<128x4x32xf32>, %k: tensor<128x2x32xf32>, %cos: tensor<128x16xf32>, %sin: tensor<128x16xf32>, %vin: tensor<1x128x2x32xf32>) -> (tensor<1x128x4x32xf32>, tensor<128x2x32xf32>) {
  %qr = quant_xform.rotary %q, %cos, %sin : tensor<128x4x32xf32>, tensor<128x16xf32>
  %kr = quant_xform.rotary %k, %cos, %sin : tensor<128x2x32xf32>, tensor<128x16xf32>
  %kk = arith.addf %kr, %kr : tensor<128x2x32xf32>
  %q4 = tensor.expand_shape %qr [[0, 1], [2], [3]] output_shape [1, 128, 4, 32] : tensor<128x4x32xf32> into tensor<1x128x4x32xf32>
  %k4 = tensor.expand_shape %kr [[0, 1], [2], [3]] output_shape [1, 128, 2, 32] : tensor<128x2x32xf32> into tensor<1x128x2x32xf32>
  %y = quant_xform.attention %q4, %k4, %vin {scale = 0.125 : f64, causal} : tensor<1x128x4x32xf32>, tensor<1x128x2x32xf32>
  return %y, %kk : tensor<1x128x4x32xf32>, tensor<128x2x32xf32>
}
