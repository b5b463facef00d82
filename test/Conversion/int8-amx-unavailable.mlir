// Asking for the AMX kernel where the CPU has no AMX-INT8 is an error
// (auto then picks VNNI or vector code).
// UNSUPPORTED: amx
// RUN: not xform-opt %s --convert-quant-xform-to-linalg=int8-kernel=amx 2>&1 | FileCheck %s
// CHECK: error: int8-kernel=amx needs a CPU with AMX-INT8 and the OS's permission to use its tiles
func.func @f(%q: tensor<20x64xi8>, %s: tensor<20xf32>) -> tensor<20x16xf32> {
  %w = arith.constant dense<1> : tensor<16x64xi8>
  %sw = arith.constant dense<0.5> : tensor<16xf32>
  %y = quant_xform.qlinear %q scale %s, %w scale %sw : (tensor<20x64xi8>, tensor<20xf32>, tensor<16x64xi8>, tensor<16xf32>) -> tensor<20x16xf32>
  return %y : tensor<20x16xf32>
}
