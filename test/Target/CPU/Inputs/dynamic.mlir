func.func @main(%x: tensor<?x4xf32>) -> tensor<?x4xf32> {
  return %x : tensor<?x4xf32>
}

func.func @make() -> tensor<2x4xf32> {
  %c = arith.constant dense<1.5> : tensor<2x4xf32>
  return %c : tensor<2x4xf32>
}
