// A CUDA toolkit path that does not exist is an error naming it, not a
// kernel left with unresolved libdevice functions.
// RUN: not xform-opt %s -quant-xform-lower-to-gpu="cuda-path=%t.missing format=isa" -o %t.out 2>&1 | FileCheck %s
// CHECK: error: CUDA path: {{.*}}.missing does not exist or is not a directory

func.func @main(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %y = math.erf %x : tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
