// The GPU attention kernel with the rotary embeddings of q and k applied as
// it loads them (a prefill: k rotated by the half-copy kernel), 2
// sequences of 77 tokens (the tables' rows are b · 77 + s), grouped-query
// heads, causal. The tables are the cosine and sine of the angles %theta
// (a loop kernel), as real ones: cos² + sin² = 1. Run by
// scripts/gpu-build-blocks.sh (test/Target/GPU/device-blocks.test).
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @main(%xq: tensor<154x4x64xf32>, %xk: tensor<154x2x64xf32>, %v: tensor<2x77x2x64xf32>, %theta: tensor<154x32xf32>) -> tensor<2x77x4x64xf32> {
  %init = tensor.empty() : tensor<154x32xf32>
  %cos, %sin = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%theta : tensor<154x32xf32>) outs(%init, %init : tensor<154x32xf32>, tensor<154x32xf32>) {
  ^bb0(%t: f32, %o0: f32, %o1: f32):
    %c = math.cos %t : f32
    %s = math.sin %t : f32
    linalg.yield %c, %s : f32, f32
  } -> (tensor<154x32xf32>, tensor<154x32xf32>)
  %qr = quant_xform.rotary %xq, %cos, %sin : tensor<154x4x64xf32>, tensor<154x32xf32>
  %kr = quant_xform.rotary %xk, %cos, %sin : tensor<154x2x64xf32>, tensor<154x32xf32>
  %q = tensor.expand_shape %qr [[0, 1], [2], [3]] output_shape [2, 77, 4, 64] : tensor<154x4x64xf32> into tensor<2x77x4x64xf32>
  %k = tensor.expand_shape %kr [[0, 1], [2], [3]] output_shape [2, 77, 2, 64] : tensor<154x2x64xf32> into tensor<2x77x2x64xf32>
  %y = quant_xform.attention %q, %k, %v {scale = 0.125 : f64, causal} : tensor<2x77x4x64xf32>, tensor<2x77x2x64xf32>
  return %y : tensor<2x77x4x64xf32>
}
