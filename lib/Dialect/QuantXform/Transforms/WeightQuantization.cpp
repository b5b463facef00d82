//===- WeightQuantization.cpp - compile-time weight quantization ---------===//

#include "WeightQuantization.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

#include <algorithm>
#include <cmath>

using namespace mlir;
using namespace mlir::quant_xform;

QuantizedWeight
mlir::quant_xform::quantizeWeight(const std::vector<double> &weight, int64_t n,
                                  int64_t k, int64_t groupSize, int64_t qmax) {
  int64_t g = groupSize == 0 ? k : groupSize;
  int64_t groups = k / g;
  QuantizedWeight out;
  out.values.resize(n * k);
  out.scales.resize(n * groups);
  for (int64_t row = 0; row < n; ++row) {
    for (int64_t grp = 0; grp < groups; ++grp) {
      const double *w = weight.data() + row * k + grp * g;
      double absmax = 0.0;
      for (int64_t j = 0; j < g; ++j)
        absmax = std::max(absmax, std::fabs(w[j]));
      // The scale is stored as f32; quantize against the stored value so
      // that dequantization reproduces exactly what the integers mean.
      float scale = absmax > 0.0 ? static_cast<float>(absmax / qmax) : 1.0f;
      out.scales[row * groups + grp] = scale;
      for (int64_t j = 0; j < g; ++j) {
        double q = std::nearbyint(w[j] / static_cast<double>(scale));
        q = std::clamp(q, static_cast<double>(-qmax),
                       static_cast<double>(qmax));
        out.values[row * k + grp * g + j] = static_cast<int8_t>(q);
      }
    }
  }
  return out;
}

std::pair<Value, Value> mlir::quant_xform::buildQuantizedWeight(
    OpBuilder &builder, Location loc, const std::vector<double> &weight,
    int64_t n, int64_t k, int64_t groupSize) {
  QuantizedWeight qw = quantizeWeight(weight, n, k, groupSize, /*qmax=*/127);
  auto qwType = RankedTensorType::get({n, k}, builder.getI8Type());
  Value q = arith::ConstantOp::create(
      builder, loc,
      DenseElementsAttr::get(qwType, ArrayRef<int8_t>(qw.values)));
  SmallVector<int64_t> swShape = {n};
  if (groupSize != 0)
    swShape.push_back(k / groupSize);
  auto swType = RankedTensorType::get(swShape, builder.getF32Type());
  Value s = arith::ConstantOp::create(
      builder, loc, DenseElementsAttr::get(swType, ArrayRef<float>(qw.scales)));
  return {q, s};
}
