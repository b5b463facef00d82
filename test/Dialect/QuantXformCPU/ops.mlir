// qx_cpu.dot_u8s8 round-trips, and convert-quant-xform-cpu-to-llvm turns it
// into the vpdpbusd intrinsic call.
// RUN: xform-opt %s | xform-opt | FileCheck %s --check-prefix=ROUND
// RUN: xform-opt %s --convert-quant-xform-cpu-to-llvm | FileCheck %s --check-prefix=LLVM

// ROUND-LABEL: func.func @dot
// ROUND: qx_cpu.dot_u8s8 %{{.*}}, %{{.*}}, %{{.*}} : vector<64xi8> -> vector<16xi32>
// LLVM-LABEL: func.func @dot
// LLVM-NOT: qx_cpu
// LLVM: llvm.call_intrinsic "llvm.x86.avx512.vpdpbusd.512"(%{{.*}}, %{{.*}}, %{{.*}}) : (vector<16xi32>, vector<64xi8>, vector<64xi8>) -> vector<16xi32>
func.func @dot(%acc: vector<16xi32>, %a: vector<64xi8>, %b: vector<64xi8>) -> vector<16xi32> {
  %r = qx_cpu.dot_u8s8 %acc, %a, %b : vector<64xi8> -> vector<16xi32>
  return %r : vector<16xi32>
}
