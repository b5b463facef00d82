// quant-xform-quantize-linears on a bf16 linear: the activations are
// quantized in f32 (arith.extf in front, exact), the qlinear computes and
// returns f32 with an f32 bias, and one arith.truncf rounds the result back
// to bf16 — the form every backend takes (the GPU fuses both casts into its
// kernels). Then numbers through the evaluator against the float bf16
// linear, and the same on the CPU backend.
// RUN: xform-opt %s -quant-xform-quantize-linears | FileCheck %s
// RUN: xform-opt %s -quant-xform-quantize-linears -o %t.int8.mlir
// RUN: xform-run --reference %s --seed 3 --no-print --compare %t.int8.mlir | FileCheck %s --check-prefix=NUM
// RUN: xform-run --target=cpu %t.int8.mlir --seed 3 --no-print --compare-reference --max-rel-err 1e-2 | FileCheck %s --check-prefix=CPU
// A Hadamard pair needs no constant (it stays online, in f32 inside the
// CPU lowering); smoothing scales would have to be folded into bf16
// weights, which the pass refuses with a diagnostic.
// RUN: xform-opt %s -quant-xform-w8a8="rotation=hadamard" | xform-run --target=cpu - --seed 3 --no-print --compare-reference | FileCheck %s --check-prefix=CPU
// RUN: xform-opt %s -quant-xform-w8a8="smooth-alpha=0.5" -verify-diagnostics

// CHECK-LABEL: func.func @main
// CHECK-SAME: (%[[X:.*]]: tensor<2x8xbf16>) -> tensor<2x3xbf16>
// CHECK-NOT: xbf16>
// CHECK: %[[QW:.*]] = arith.constant dense<{{.*}}> : tensor<3x8xi8>
// CHECK: %[[XF:.*]] = arith.extf %[[X]] : tensor<2x8xbf16> to tensor<2x8xf32>
// CHECK: %[[B:.*]] = arith.constant dense<{{.*}}> : tensor<3xf32>
// CHECK: %[[Q:.*]], %[[S:.*]] = quant_xform.dynamic_quantize %[[XF]] scheme<per_token> : (tensor<2x8xf32>) -> (tensor<2x8xi8>, tensor<2xf32>)
// CHECK: %[[Y:.*]] = quant_xform.qlinear %[[Q]] scale %[[S]], %[[QW]] scale %{{.*}}, bias %[[B]] : {{.*}} -> tensor<2x3xf32>
// CHECK: %[[YB:.*]] = arith.truncf %[[Y]] : tensor<2x3xf32> to tensor<2x3xbf16>
// CHECK: return %[[YB]]

// The W8A8 bf16 output stays within 2% of the bf16 float linear.
// NUM: model
// NUM-NEXT: int8.mlir{{ +0 +[0-9.e+-]+ +([0-9]\.[0-9]+e-0[3-9]|1\.[0-9]+e-02) }}

// CPU: model
// CPU-NEXT: reference 0

func.func @main(%x: tensor<2x8xbf16>) -> tensor<2x3xbf16> {
  %w = arith.constant dense<[[0.5, -1.0, 0.25, 2.0, -0.75, 0.1, 0.3, -0.2],
                              [1.5, 0.2, -0.4, 0.0, 0.9, -1.1, 0.05, 0.6],
                              [-0.3, 0.7, 1.2, -0.8, 0.4, 0.0, -1.3, 0.2]]> : tensor<3x8xbf16>
  %b = arith.constant dense<[0.1, -0.2, 0.3]> : tensor<3xbf16>
  // With smooth-alpha=0.5 (the -verify-diagnostics run):
  // expected-error @+1 {{linear '<unnamed>': transforms with a matrix or scales are inserted on f32 or f64 activations only, got 'bf16' (convert the model to f32 first)}}
  %y = quant_xform.linear %x, %w, %b : (tensor<2x8xbf16>, tensor<3x8xbf16>, tensor<3xbf16>) -> tensor<2x3xbf16>
  return %y : tensor<2x3xbf16>
}
