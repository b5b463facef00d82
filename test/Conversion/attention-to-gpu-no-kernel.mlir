// With attention-kernel=false, attention runs as loop kernels: a function
// of kernel ops only (without `outline`) cannot hold it.
// RUN: xform-opt %s -convert-quant-xform-qlinear-to-gpu="outline=false attention-kernel=false" -verify-diagnostics -o /dev/null

func.func @attention(%q: tensor<1x8x2x32xf32>) -> tensor<1x8x2x32xf32> {
  // expected-error @+1 {{with attention-kernel=false, attention runs as loop kernels, which only a whole model (outline) can hold}}
  %y = quant_xform.attention %q, %q, %q {scale = 0.125 : f64} : tensor<1x8x2x32xf32>, tensor<1x8x2x32xf32>
  return %y : tensor<1x8x2x32xf32>
}
