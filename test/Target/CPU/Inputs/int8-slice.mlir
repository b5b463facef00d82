// A qlinear on a slice of a larger quantized activation (rows 16–47, columns 64–191): the AMX kernel copies the strided view (int8-gemm-amx.test).
func.func @main(%x: tensor<64x256xf32>) -> tensor<32x32xf32> {
  %big, %sb = quant_xform.dynamic_quantize %x scheme<per_token> : (tensor<64x256xf32>) -> (tensor<64x256xi8>, tensor<64xf32>)
  %q = tensor.extract_slice %big[16, 64] [32, 128] [1, 1] : tensor<64x256xi8> to tensor<32x128xi8>
  %s = tensor.extract_slice %sb[16] [32] [1] : tensor<64xf32> to tensor<32xf32>
  %w = arith.constant dense<3> : tensor<32x128xi8>
  %sw = arith.constant dense<0.5> : tensor<32xf32>
  %y = quant_xform.qlinear %q scale %s, %w scale %sw : (tensor<32x128xi8>, tensor<32xf32>, tensor<32x128xi8>, tensor<32xf32>) -> tensor<32x32xf32>
  return %y : tensor<32x32xf32>
}
