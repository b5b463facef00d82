// A bf16 linear through the W8A8 pipeline and the GPU lowering: the pass
// quantizes bf16 activations in f32 (arith.extf → dynamic_quantize →
// qlinear in f32 → arith.truncf), and the GPU lowering fuses both casts
// into its two kernels: the quantize kernel reads the bf16 activations,
// the GEMM's epilogue writes bf16 results; no cast kernel is left.
// RUN: xform-opt %s -quant-xform-w8a8 | xform-opt -convert-quant-xform-qlinear-to-gpu=wgmma=true | FileCheck %s
// RUN: xform-opt %s -quant-xform-w8a8 | xform-opt -quant-xform-lower-to-gpu=format=isa | FileCheck %s --check-prefix=PTX

// CHECK-LABEL: func.func private @main_gpu0(
// CHECK-SAME: memref<64x256xbf16>
// CHECK: gpu.launch_func @qx_gpu_kernels::@main_gpu0_quantize0 {{.*}} args(%{{.*}} : memref<64x256xbf16>,
// CHECK-LABEL: func.func private @main_gpu1(
// CHECK-SAME: %[[Y:[a-z0-9]+]]: memref<64x128xbf16>)
// CHECK: gpu.launch_func @qx_gpu_kernels::@main_gpu1_qlinear0 {{.*}} %[[Y]] : memref<64x128xbf16>)
// CHECK-LABEL: func.func @main(
// CHECK-NOT: arith.extf
// CHECK-NOT: arith.truncf
// CHECK: call @main_gpu0(
// CHECK-NOT: arith.
// CHECK: call @main_gpu1(
// CHECK-NOT: arith.extf
// CHECK-NOT: arith.truncf
// CHECK: return

// PTX: .visible .entry main_gpu0_quantize0(
// PTX: cvt.f32.bf16
// PTX: .visible .entry main_gpu1_qlinear0(
// PTX: cvt.rn.bf16x2.f32
// PTX-NOT: .entry

func.func @main(%x: tensor<64x256xbf16>) -> tensor<64x128xbf16> {
  %w = arith.constant dense<0.25> : tensor<128x256xbf16>
  %b = arith.constant dense<-0.5> : tensor<128xbf16>
  %y = quant_xform.linear %x, %w, %b : (tensor<64x256xbf16>, tensor<128x256xbf16>, tensor<128xbf16>) -> tensor<64x128xbf16>
  return %y : tensor<64x128xbf16>
}
