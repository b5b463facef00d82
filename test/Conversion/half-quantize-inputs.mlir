// A linear result that only a per-token quantize kernel reads, after the
// GELU its GEMM's epilogue applies (an encoder MLP's up projection in front
// of the down projection's quantize): with half-quantize-inputs=true the
// GEMM stores it in bf16 and the quantize kernel loads the
// bf16 values (an arith.truncf fused into the epilogue, an arith.extf into
// the quantize's loads; no cast kernel and no f32 buffer between them);
// by default, f32.
// RUN: xform-opt %s -split-input-file -convert-quant-xform-qlinear-to-gpu="wgmma=true half-quantize-inputs=true" | FileCheck %s
// RUN: xform-opt %s -split-input-file -convert-quant-xform-qlinear-to-gpu="wgmma=true" | FileCheck %s --check-prefix=F32

// CHECK-LABEL: gpu.func @mlp_gpu1_qlinear0(
// CHECK-SAME: %{{.*}}: memref<256x512xbf16>) kernel
// CHECK: math.erf
// CHECK: arith.truncf {{.*}} : vector<2xf32> to vector<2xbf16>
// CHECK: vector.store {{.*}} : memref<256x512xbf16>, vector<8xbf16>
// CHECK-LABEL: gpu.func @mlp_gpu2_quantize0(
// CHECK-SAME: %{{.*}}: memref<256x512xbf16>, %{{.*}}: memref<256x512xi8>
// CHECK: arith.extf {{.*}} : vector<8xbf16> to vector<8xf32>
// CHECK-LABEL: func.func @mlp(
// CHECK: call @mlp_gpu1({{.*}}) : ({{.*}}, memref<256x512xbf16>) -> ()
// CHECK: call @mlp_gpu2({{.*}}) : (memref<256x512xbf16>,
// CHECK-NOT: linalg.generic
// CHECK: return

// F32-LABEL: gpu.func @mlp_gpu1_qlinear0(
// F32-SAME: %{{.*}}: memref<256x512xf32>) kernel
// F32-LABEL: func.func @mlp(
// F32-NOT: bf16
// F32: return

#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @mlp(%x: tensor<256x128xf32>, %w: tensor<512x128xi8>, %sw: tensor<512xf32>, %w2: tensor<128x512xi8>, %sw2: tensor<128xf32>) -> tensor<256x128xf32> {
  %q, %s = quant_xform.dynamic_quantize %x scheme<per_token> : (tensor<256x128xf32>) -> (tensor<256x128xi8>, tensor<256xf32>)
  %u = quant_xform.qlinear %q scale %s, %w scale %sw : (tensor<256x128xi8>, tensor<256xf32>, tensor<512x128xi8>, tensor<512xf32>) -> tensor<256x512xf32>
  %init = tensor.empty() : tensor<256x512xf32>
  %g = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%u : tensor<256x512xf32>) outs(%init : tensor<256x512xf32>) {
  ^bb0(%a: f32, %o: f32):
    %c = arith.constant 0.707106769 : f32
    %half = arith.constant 5.000000e-01 : f32
    %one = arith.constant 1.000000e+00 : f32
    %t = arith.mulf %a, %c : f32
    %e = math.erf %t : f32
    %p = arith.addf %e, %one : f32
    %h = arith.mulf %a, %half : f32
    %r = arith.mulf %h, %p : f32
    linalg.yield %r : f32
  } -> tensor<256x512xf32>
  %q2, %s2 = quant_xform.dynamic_quantize %g scheme<per_token> : (tensor<256x512xf32>) -> (tensor<256x512xi8>, tensor<256xf32>)
  %y = quant_xform.qlinear %q2 scale %s2, %w2 scale %sw2 : (tensor<256x512xi8>, tensor<256xf32>, tensor<128x512xi8>, tensor<128xf32>) -> tensor<256x128xf32>
  return %y : tensor<256x128xf32>
}
