// The GPU attention kernel with split keys (flash-decoding): a decode step's
// shape, 4 query rows (the query heads of a KV head) on each of 2 KV heads
// of 2 sequences against 600 cache slots, non-causal: 4 blocks on the SMs,
// so the 10 key tiles split 10 ways and a second kernel combines them.
// Sequence b has 100 + 300·b filled slots (the rest −∞ in the mask): the
// splits past them see no key at all. Run by scripts/gpu-build-blocks.sh
// (test/Target/GPU/device-blocks.test).
func.func @main(%q: tensor<2x4x2x64xf32>, %k: tensor<2x600x2x64xf32>, %v: tensor<2x600x2x64xf32>, %m: tensor<2x600xf32>) -> tensor<2x4x2x64xf32> {
  %e = tensor.empty() : tensor<2x600xf32>
  %mask = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%m : tensor<2x600xf32>) outs(%e : tensor<2x600xf32>) {
  ^bb0(%x: f32, %o: f32):
    %b = linalg.index 0 : index
    %t = linalg.index 1 : index
    %c100 = arith.constant 100 : index
    %c300 = arith.constant 300 : index
    %n = arith.muli %b, %c300 : index
    %len = arith.addi %n, %c100 : index
    %hidden = arith.cmpi sge, %t, %len : index
    %ninf = arith.constant 0xFF800000 : f32
    %y = arith.select %hidden, %ninf, %x : f32
    linalg.yield %y : f32
  } -> tensor<2x600xf32>
  %y = quant_xform.attention %q, %k, %v mask(%mask : tensor<2x600xf32>) {scale = 0.125 : f64} : tensor<2x4x2x64xf32>, tensor<2x600x2x64xf32>
  return %y : tensor<2x4x2x64xf32>
}
