//===- WeightQuantization.h - compile-time weight quantization ----*- C++
//-*-===//

#ifndef QUANT_XFORM_LIB_TRANSFORMS_WEIGHTQUANTIZATION_H
#define QUANT_XFORM_LIB_TRANSFORMS_WEIGHTQUANTIZATION_H

#include "mlir/IR/Builders.h"

#include <cstdint>
#include <vector>

namespace mlir::quant_xform {

/// A weight `[N, K]` quantized to symmetric integers.
struct QuantizedWeight {
  std::vector<int8_t> values; ///< `[N, K]`, row-major.
  std::vector<float> scales;  ///< `[N]` or `[N, K/G]`, row-major.
};

/// Symmetric quantization of a row-major `[n, k]` weight with `qmax`:
/// one scale per row (`groupSize == 0`) or per `groupSize` elements of a
/// row; `scale = absmax / qmax` (1 for an all-zero group),
/// `q = clamp(round_half_even(w / scale), -qmax, qmax)`.
QuantizedWeight quantizeWeight(const std::vector<double> &weight, int64_t n,
                               int64_t k, int64_t groupSize, int64_t qmax);

/// quantizeWeight with qmax = 127, materialized as constants at `builder`'s
/// insertion point: `{qw : tensor<NxKxi8>, sw : tensor<Nxf32> or
/// tensor<NxK/Gxf32>}`.
std::pair<Value, Value> buildQuantizedWeight(OpBuilder &builder, Location loc,
                                             const std::vector<double> &weight,
                                             int64_t n, int64_t k,
                                             int64_t groupSize);

} // namespace mlir::quant_xform

#endif
