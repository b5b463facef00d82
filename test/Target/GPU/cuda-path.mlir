// A CUDA toolkit path that does not exist, or has no libdevice, is an
// error naming it (exit 1), not a kernel left with unresolved libdevice
// functions.
// RUN: not xform-opt %s -quant-xform-lower-to-gpu="cuda-path=%t.missing format=isa" -o %t.out 2>&1 | FileCheck %s
// RUN: rm -rf %t.empty && mkdir -p %t.empty
// RUN: not xform-opt %s -quant-xform-lower-to-gpu="cuda-path=%t.empty format=isa" -o %t.out 2>&1 | FileCheck %s --check-prefix=NOLIB
// NOLIB: error: CUDA path: {{.*}}.empty has no {{.*}}libdevice.10.bc
// CHECK: error: CUDA path: {{.*}}.missing does not exist or is not a directory
// CHECK-NOT: error

func.func @main(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %y = math.erf %x : tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
