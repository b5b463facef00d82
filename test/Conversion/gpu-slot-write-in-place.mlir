// A decode step's write of its own k, rounded to f16, into slot 16 of a
// writable f16 KV cache argument (quant_xform.llm_ir's `write_slot`): the
// linalg.generic's init is the cache's slot, so bufferization writes the
// rounded values in place, and the copy of the slot onto itself that it
// leaves is erased (cse merges the equal subviews, canonicalize the self
// copy): a loop kernel writing into the argument and one reading it
// back (positions 15 and 16 summed), and no copy.
// RUN: xform-opt %s -quant-xform-lower-to-gpu | FileCheck %s

// CHECK-LABEL: llvm.func @write_slot(
// CHECK-COUNT-2: gpu.launch_func
// CHECK-NOT: gpu.launch_func
// CHECK-NOT: memcpy
// CHECK: return
#id = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
func.func @write_slot(%k: tensor<2x1x2x16xf32>, %cache: tensor<2x17x2x16xf16> {bufferization.writable = true}) -> tensor<2x1x2x16xf32> {
  %slot = tensor.extract_slice %cache[0, 16, 0, 0] [2, 1, 2, 16] [1, 1, 1, 1] : tensor<2x17x2x16xf16> to tensor<2x1x2x16xf16>
  %h = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%k : tensor<2x1x2x16xf32>) outs(%slot : tensor<2x1x2x16xf16>) {
  ^bb0(%a: f32, %out: f16):
    %r = arith.truncf %a : f32 to f16
    linalg.yield %r : f16
  } -> tensor<2x1x2x16xf16>
  %filled = tensor.insert_slice %h into %cache[0, 16, 0, 0] [2, 1, 2, 16] [1, 1, 1, 1] : tensor<2x1x2x16xf16> into tensor<2x17x2x16xf16>
  %back = tensor.extract_slice %filled[0, 15, 0, 0] [2, 2, 2, 16] [1, 1, 1, 1] : tensor<2x17x2x16xf16> to tensor<2x2x2x16xf16>
  %e = tensor.empty() : tensor<2x1x2x16xf32>
  %sum = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4) -> (d0, d4, d2, d3)>, affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%back : tensor<2x2x2x16xf16>) outs(%e : tensor<2x1x2x16xf32>) {
  ^bb0(%a: f16, %out: f32):
    %w = arith.extf %a : f16 to f32
    %t = arith.addf %w, %out : f32
    linalg.yield %t : f32
  } -> tensor<2x1x2x16xf32>
  return %sum : tensor<2x1x2x16xf32>
}
