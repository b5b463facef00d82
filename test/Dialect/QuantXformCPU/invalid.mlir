// RUN: xform-opt %s -split-input-file -verify-diagnostics

func.func @narrow_acc(%acc: vector<8xi32>, %a: vector<64xi8>, %b: vector<64xi8>) -> vector<8xi32> {
  // expected-error @+1 {{operand #0 must be vector of 32-bit signless integer values of length 16}}
  %r = qx_cpu.dot_u8s8 %acc, %a, %b : vector<64xi8> -> vector<8xi32>
  return %r : vector<8xi32>
}

// -----

func.func @wrong_bytes(%acc: vector<16xi32>, %a: vector<32xi8>, %b: vector<32xi8>) -> vector<16xi32> {
  // expected-error @+1 {{operand #1 must be vector of 8-bit signless integer values of length 64}}
  %r = qx_cpu.dot_u8s8 %acc, %a, %b : vector<32xi8> -> vector<16xi32>
  return %r : vector<16xi32>
}
