// The GPU lowering of layer_norm and rms_norm: one launch of the generated
// norm kernel per op. A row is read once into registers in 16-byte pieces
// (a warp reads 128 contiguous elements a piece): up to K = 512 a warp a
// row (4 rows, 128 threads a block), above that up to 8 warps a row (one
// row a block) with their sums combined in shared memory. The sum
// (LayerNorm only) and the sum of squared deviations are each reduced over
// the warp by 5 xor shuffles, then γ⊙(x − μ)·rsqrt(var + ε) + β is stored
// in 16-byte pieces. A ragged K (not a multiple of 128 · warps · pieces)
// masks the pieces past K. In a whole model the norm is outlined like a
// linear; a K the kernel does not take leaves it to the loop kernels, with
// a warning.
// RUN: xform-opt %s -split-input-file -convert-quant-xform-qlinear-to-gpu 2>/dev/null | FileCheck %s
// RUN: xform-opt %s -split-input-file -convert-quant-xform-qlinear-to-gpu -verify-diagnostics -o /dev/null

// K = 384: a warp a row, 3 pieces a lane, no loop and no mask.
// CHECK-LABEL: gpu.func @ln_norm0(
// CHECK-SAME: %[[X:.*]]: memref<10x384xf32>, %{{.*}}: memref<384xf32>, %{{.*}}: memref<384xf32>, %{{.*}}: memref<10x384xf32>) kernel
// CHECK-SAME: known_block_size = array<i32: 128, 1, 1>
// CHECK-NOT: scf.for
// CHECK: scf.if
// CHECK-COUNT-3: vector.load %[[X]]{{.*}} : memref<10x384xf32>, vector<4xf32>
// CHECK-NOT: vector.load %[[X]]
// CHECK-COUNT-5: gpu.shuffle  xor
// CHECK: arith.subf %{{.*}} : vector<4xf32>
// CHECK-COUNT-5: gpu.shuffle  xor
// CHECK: math.rsqrt
// CHECK-COUNT-3: vector.store %{{.*}} : memref<10x384xf32>, vector<4xf32>
// CHECK-LABEL: func.func @ln(
// CHECK: gpu.launch_func async [%{{.*}}] @qx_gpu_kernels::@ln_norm0 blocks in (%c3, %c1{{.*}}, %c1{{.*}}) threads in (%c128,
func.func @ln(%x: tensor<10x384xf32>, %g: tensor<384xf32>, %b: tensor<384xf32>) -> tensor<10x384xf32> {
  %y = quant_xform.layer_norm %x, %g, %b {epsilon = 1.0e-12 : f64} : (tensor<10x384xf32>, tensor<384xf32>, tensor<384xf32>) -> tensor<10x384xf32>
  return %y : tensor<10x384xf32>
}

// -----

// RMSNorm: no mean pass; a ragged K = 200 (two pieces of 128: the second
// one past K for half the lanes, which load at a clamped column, count
// zeros and store nothing).
// CHECK-LABEL: gpu.func @rms_norm0(
// CHECK-SAME: %{{.*}}: memref<4x200xf32>, %{{.*}}: memref<200xf32>, %{{.*}}: memref<4x200xf32>) kernel
// CHECK-NOT: scf.for
// CHECK: %[[IN:.*]] = arith.cmpi slt, %{{.*}}, %c200
// CHECK: arith.minsi %{{.*}}, %c196
// CHECK: arith.select %[[IN]]
// CHECK-COUNT-5: gpu.shuffle  xor
// CHECK-NOT: gpu.shuffle
// CHECK: math.rsqrt
// CHECK: scf.if %[[IN]] {
// CHECK-NEXT: vector.store
func.func @rms(%x: tensor<4x200xf32>, %g: tensor<200xf32>) -> tensor<4x200xf32> {
  %y = quant_xform.rms_norm %x, %g {epsilon = 1.0e-5 : f64} : (tensor<4x200xf32>, tensor<200xf32>) -> tensor<4x200xf32>
  return %y : tensor<4x200xf32>
}

// -----

// CHECK-LABEL: func.func private @model_gpu0(
// CHECK: gpu.launch_func @qx_gpu_kernels::@model_gpu0_norm0
// CHECK-LABEL: func.func @model(
// CHECK: call @model_gpu0(
// CHECK: quant_xform.rms_norm %{{.*}} : (tensor<4x6xf32>, tensor<6xf32>) -> tensor<4x6xf32>
func.func @model(%x: tensor<4x8xf32>, %z: tensor<4x6xf32>) -> (tensor<4x8xf32>, tensor<4x6xf32>) {
  %g = arith.constant dense<2.0> : tensor<8xf32>
  %h = arith.constant dense<2.0> : tensor<6xf32>
  %a = arith.addf %x, %x : tensor<4x8xf32>
  %y = quant_xform.rms_norm %a, %g : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  // expected-warning @+1 {{this norm runs as generic GPU loops: the norm kernel needs K a multiple of 4 (got 6)}}
  %w = quant_xform.rms_norm %z, %h : (tensor<4x6xf32>, tensor<6xf32>) -> tensor<4x6xf32>
  return %y, %w : tensor<4x8xf32>, tensor<4x6xf32>
}

// -----

// A residual add in front of a norm is fused into its kernel: the kernel
// reads both inputs; where the sum is used again (a pre-norm decoder's
// residual stream), the kernel function returns it too and the kernel
// writes it.
// x + r is loaded once.
// CHECK-LABEL: gpu.func @residual_gpu0_norm0(
// CHECK-SAME: %[[X:.*]]: memref<8x64xf32>, %[[R:.*]]: memref<8x64xf32>, %{{.*}}: memref<64xf32>, %{{.*}}: memref<64xf32>, %{{.*}}: memref<8x64xf32>) kernel
// CHECK: %[[X1:.*]] = vector.load %[[X]]
// CHECK-NEXT: %[[R1:.*]] = vector.load %[[R]]
// CHECK-NEXT: arith.addf %[[X1]], %[[R1]] : vector<4xf32>
// CHECK-NOT: vector.load %[[X]]
// CHECK: math.rsqrt
// CHECK-LABEL: gpu.func @residual_gpu1_norm0(
// CHECK-SAME: %{{.*}}: memref<8x64xf32>, %{{.*}}: memref<8x64xf32>, %{{.*}}: memref<64xf32>, %{{.*}}: memref<8x64xf32>, %[[SUM:.*]]: memref<8x64xf32>) kernel
// CHECK: vector.store %{{.*}}, %[[SUM]]
// CHECK-LABEL: func.func private @residual_gpu0(
// CHECK-SAME: %{{.*}}: memref<8x64xf32>, %{{.*}}: memref<8x64xf32>, %{{.*}}: memref<64xf32>, %{{.*}}: memref<64xf32>, %{{.*}}: memref<8x64xf32>) {
// CHECK-LABEL: func.func private @residual_gpu1(
// CHECK-SAME: %{{.*}}: memref<8x64xf32>, %{{.*}}: memref<8x64xf32>, %{{.*}}: memref<64xf32>, %[[N:.*]]: memref<8x64xf32>, %[[S:.*]]: memref<8x64xf32>)
// CHECK: gpu.launch_func @qx_gpu_kernels::@residual_gpu1_norm0 {{.*}} %[[N]] : memref<8x64xf32>, %[[S]] : memref<8x64xf32>)
// CHECK-LABEL: func.func @residual(
// CHECK-NOT: arith.addf %arg
// CHECK: call @residual_gpu0(
// CHECK: call @residual_gpu1(
// CHECK: %[[NT:.*]] = bufferization.to_tensor
// CHECK: %[[ST:.*]] = bufferization.to_tensor
// CHECK: arith.addf %[[ST]], %[[NT]]
func.func @residual(%x: tensor<8x64xf32>, %a: tensor<8x64xf32>, %o: tensor<8x64xf32>) -> tensor<8x64xf32> {
  %g = arith.constant dense<1.5> : tensor<64xf32>
  %b = arith.constant dense<0.5> : tensor<64xf32>
  // Post-norm: the sum feeds the norm only.
  %s1 = arith.addf %x, %a : tensor<8x64xf32>
  %h1 = quant_xform.layer_norm %s1, %g, %b : (tensor<8x64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<8x64xf32>
  // Pre-norm: the sum is the residual stream, used again.
  %s2 = arith.addf %h1, %o : tensor<8x64xf32>
  %n2 = quant_xform.rms_norm %s2, %g : (tensor<8x64xf32>, tensor<64xf32>) -> tensor<8x64xf32>
  %r = arith.addf %s2, %n2 : tensor<8x64xf32>
  return %r : tensor<8x64xf32>
}

// -----

// A per-token dynamic_quantize that is a norm's only user is done by the
// norm kernel: after the sum of squares, the row's maximum |y| is reduced
// from the registers (5 xor shuffles of maxnumf), the first lane stores
// the scale (computed in f64 as the quantize kernel does), and y's int8
// values are stored, four a lane (the reciprocal path or, for
// extreme scales, a division). No quantize kernel is left; the residual
// sum is still written where it is returned. (In a whole model: the mulf
// stays for the loop kernels.)
// CHECK-LABEL: gpu.func @norm_quantize_gpu0_norm0(
// CHECK-SAME: %{{.*}}: memref<8x256xf32>, %{{.*}}: memref<8x256xf32>, %{{.*}}: memref<256xf32>, %[[Q:.*]]: memref<8x256xi8>, %[[S:.*]]: memref<8xf32>, %[[SUM:.*]]: memref<8x256xf32>) kernel
// CHECK: vector.store %{{.*}}, %[[SUM]]
// CHECK-COUNT-5: gpu.shuffle  xor %{{.*}} : f32
// CHECK: arith.maxnumf
// CHECK-COUNT-5: gpu.shuffle  xor
// CHECK: arith.extf %{{.*}} : f32 to f64
// CHECK: memref.store %{{.*}}, %[[S]][%{{.*}}] : memref<8xf32>
// CHECK: scf.if
// CHECK: llvm.intr.fma
// CHECK: vector.store %{{.*}}, %[[Q]][%{{.*}}] {alignment = 4 : i64} : memref<8x256xi8>, vector<4xi8>
// CHECK: } else {
// CHECK: arith.divf %{{.*}} : vector<4xf32>
// CHECK: vector.store %{{.*}}, %[[Q]]
// CHECK-LABEL: func.func @norm_quantize(
// CHECK: call @norm_quantize_gpu0(
// CHECK-NOT: quantize
// CHECK: call @norm_quantize_gpu1(
func.func @norm_quantize(%x: tensor<8x256xf32>, %r: tensor<8x256xf32>, %g: tensor<256xf32>, %w: tensor<64x256xi8>, %sw: tensor<64xf32>) -> (tensor<8x64xf32>, tensor<8x256xf32>) {
  %xx = arith.mulf %x, %x : tensor<8x256xf32>
  %h = arith.addf %xx, %r : tensor<8x256xf32>
  %n = quant_xform.rms_norm %h, %g {epsilon = 1.0e-05 : f64} : (tensor<8x256xf32>, tensor<256xf32>) -> tensor<8x256xf32>
  %q, %s = quant_xform.dynamic_quantize %n scheme<per_token> : (tensor<8x256xf32>) -> (tensor<8x256xi8>, tensor<8xf32>)
  %y = quant_xform.qlinear %q scale %s, %w scale %sw : (tensor<8x256xi8>, tensor<8xf32>, tensor<64x256xi8>, tensor<64xf32>) -> tensor<8x64xf32>
  return %y, %h : tensor<8x64xf32>, tensor<8x256xf32>
}

// -----

// A post-LN block (BERT): the norm's rows are quantized for the next linear
// and are the residual stream too. The norm kernel quantizes them and also
// stores them (its last argument), which the linear's epilogue adds: two
// kernels, no quantize kernel.
// CHECK-LABEL: gpu.func @norm_quantize_residual_norm0(
// CHECK-SAME: %{{.*}}: memref<8x256xf32>, %{{.*}}: memref<256xf32>, %{{.*}}: memref<256xf32>, %[[Q:.*]]: memref<8x256xi8>, %[[S:.*]]: memref<8xf32>, %[[Y:.*]]: memref<8x256xf32>) kernel
// CHECK: vector.store %{{.*}}, %[[Y]]
// CHECK: arith.maxnumf
// CHECK: memref.store %{{.*}}, %[[S]]
// CHECK: vector.store %{{.*}}, %[[Q]]
// CHECK-LABEL: func.func @norm_quantize_residual(
// CHECK: %[[N:.*]], %{{.*}} = gpu.alloc async {{.*}} : memref<8x256xf32>
// CHECK: %[[QB:.*]], %{{.*}} = gpu.alloc async {{.*}} : memref<8x256xi8>
// CHECK: %[[SB:.*]], %{{.*}} = gpu.alloc async {{.*}} : memref<8xf32>
// CHECK: gpu.launch_func {{.*}} @qx_gpu_kernels::@norm_quantize_residual_norm0 {{.*}} args({{.*}}, %[[QB]] : memref<8x256xi8>, %[[SB]] : memref<8xf32>, %[[N]] : memref<8x256xf32>)
// CHECK-NOT: quantize0
// CHECK: gpu.launch_func {{.*}} @qx_gpu_kernels::@norm_quantize_residual_qlinear0 {{.*}} args(%[[QB]] : {{.*}}, %[[N]] : memref<8x256xf32>
func.func @norm_quantize_residual(%x: tensor<8x256xf32>, %g: tensor<256xf32>, %b: tensor<256xf32>, %w: tensor<256x256xi8>, %sw: tensor<256xf32>) -> tensor<8x256xf32> {
  %n = quant_xform.layer_norm %x, %g, %b {epsilon = 1.0e-12 : f64} : (tensor<8x256xf32>, tensor<256xf32>, tensor<256xf32>) -> tensor<8x256xf32>
  %q, %s = quant_xform.dynamic_quantize %n scheme<per_token> : (tensor<8x256xf32>) -> (tensor<8x256xi8>, tensor<8xf32>)
  %y = quant_xform.qlinear %q scale %s, %w scale %sw : (tensor<8x256xi8>, tensor<8xf32>, tensor<256x256xi8>, tensor<256xf32>) -> tensor<8x256xf32>
  %o = arith.addf %y, %n : tensor<8x256xf32>
  return %o : tensor<8x256xf32>
}

// -----

// The same outlined (a loop kernel in front): the norm's kernel function
// has the rows as a third out-parameter beside the int8 values and scales.
// CHECK-LABEL: func.func private @outlined_gpu0(
// CHECK-SAME: %{{.*}}: memref<8x256xi8>, %{{.*}}: memref<8xf32>, %[[Y:.*]]: memref<8x256xf32>)
// CHECK: gpu.launch_func @qx_gpu_kernels::@outlined_gpu0_norm0 {{.*}}, %[[Y]] : memref<8x256xf32>)
// CHECK-LABEL: func.func @outlined(
// CHECK: call @outlined_gpu0(
// CHECK-NOT: quantize
// CHECK: call @outlined_gpu1(
func.func @outlined(%x: tensor<8x256xf32>, %g: tensor<256xf32>, %b: tensor<256xf32>, %w: tensor<256x256xi8>, %sw: tensor<256xf32>) -> tensor<8x256xf32> {
  %xx = arith.mulf %x, %x : tensor<8x256xf32>
  %n = quant_xform.layer_norm %xx, %g, %b {epsilon = 1.0e-12 : f64} : (tensor<8x256xf32>, tensor<256xf32>, tensor<256xf32>) -> tensor<8x256xf32>
  %q, %s = quant_xform.dynamic_quantize %n scheme<per_token> : (tensor<8x256xf32>) -> (tensor<8x256xi8>, tensor<8xf32>)
  %y = quant_xform.qlinear %q scale %s, %w scale %sw : (tensor<8x256xi8>, tensor<8xf32>, tensor<256x256xi8>, tensor<256xf32>) -> tensor<8x256xf32>
  %o = arith.addf %y, %n : tensor<8x256xf32>
  return %o : tensor<8x256xf32>
}

// -----

// K = 4096 (LLaMA-2-7B's hidden size): 8 warps a row, 4 pieces a lane, one
// row a block (256 threads). Each warp's sum goes to shared memory; after
// a barrier every thread adds the 8 in warp order.
// CHECK-LABEL: gpu.func @wide_norm0(
// CHECK-SAME: workgroup(%[[PART:.*]] : memref<24xf32, #gpu.address_space<workgroup>>)
// CHECK-SAME: known_block_size = array<i32: 256, 1, 1>
// CHECK-NOT: scf.for
// CHECK-COUNT-4: vector.load %{{.*}} : memref<64x4096xf32>, vector<4xf32>
// CHECK-COUNT-5: gpu.shuffle  xor
// CHECK: memref.store %{{.*}}, %[[PART]]
// CHECK: gpu.barrier
// CHECK-COUNT-8: memref.load %[[PART]]
// CHECK: math.rsqrt
// CHECK-COUNT-4: vector.store %{{.*}} : memref<64x4096xf32>, vector<4xf32>
// CHECK-LABEL: func.func @wide(
// CHECK: gpu.launch_func async [%{{.*}}] @qx_gpu_kernels::@wide_norm0 blocks in (%c64, %c1{{.*}}, %c1{{.*}}) threads in (%c256,
func.func @wide(%x: tensor<64x4096xf32>, %g: tensor<4096xf32>) -> tensor<64x4096xf32> {
  %y = quant_xform.rms_norm %x, %g {epsilon = 1.0e-5 : f64} : (tensor<64x4096xf32>, tensor<4096xf32>) -> tensor<64x4096xf32>
  return %y : tensor<64x4096xf32>
}

// -----

// A row longer than the registers of 8 warps hold stays for the loop
// kernels.
// CHECK-LABEL: func.func @too_wide(
// CHECK: quant_xform.rms_norm
func.func @too_wide(%x: tensor<2x4xf32>, %z: tensor<1x32772xf32>) -> (tensor<2x4xf32>, tensor<1x32772xf32>) {
  %g = arith.constant dense<2.0> : tensor<4xf32>
  %h = arith.constant dense<2.0> : tensor<32772xf32>
  %y = quant_xform.rms_norm %x, %g : (tensor<2x4xf32>, tensor<4xf32>) -> tensor<2x4xf32>
  // expected-warning @+1 {{this norm runs as generic GPU loops: the norm kernel needs K at most 32768 (got 32772)}}
  %w = quant_xform.rms_norm %z, %h : (tensor<1x32772xf32>, tensor<32772xf32>) -> tensor<1x32772xf32>
  return %y, %w : tensor<2x4xf32>, tensor<1x32772xf32>
}
