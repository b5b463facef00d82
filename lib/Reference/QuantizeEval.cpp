//===- QuantizeEval.cpp - reference semantics of the quantized ops --------===//
//
// quantize, dynamic_quantize, dequantize, fake_quant, qlinear and
// mixed_linear, from the formulas in their ODS descriptions: scales in the
// input's precision, products in exact int64, the rest in float64.
//
//===----------------------------------------------------------------------===//

#include "EvaluatorImpl.h"

#include "quant-xform/Dialect/QuantXform/IR/QuantXformOps.h"

#include <cmath>

using namespace mlir;
using namespace mlir::quant_xform;
using namespace mlir::quant_xform::io;
using namespace mlir::quant_xform::reference;

/// The precision a quantizer computes its scales and divides in: f64 for
/// f64 inputs, else f32 (bf16 / f16 inputs are widened first, as every
/// backend does: scales are f32, and a quotient rounded to bf16 would lose
/// the integer's low bits).
static DType quantizePrecision(DType input) {
  return input == DType::F64 ? DType::F64 : DType::F32;
}

/// Quantizes one value: clamp(round_half_even(x / s) + zp, qmin, qmax), the
/// division done in the precision of `precision` (quantizePrecision).
static int64_t quantizeValue(double x, double s, int64_t zp, int64_t qmin,
                             int64_t qmax, DType precision) {
  double q = precision == DType::F64
                 ? x / s
                 : roundToPrecision(roundToPrecision(x, precision) /
                                        roundToPrecision(s, precision),
                                    precision);
  if (std::isnan(q))
    q = 0.0;
  q = roundHalfEven(q) + static_cast<double>(zp);
  return static_cast<int64_t>(
      std::clamp(q, static_cast<double>(qmin), static_cast<double>(qmax)));
}

/// Index of the scale for flat element `flat` of a `[..., K]` tensor under
/// `scheme` (per_tensor: 0; per_token/channel: the row; per_group: row·G + g).
static int64_t scaleIndex(QuantSchemeAttr scheme, int64_t flat, int64_t k) {
  switch (scheme.getGranularity()) {
  case Granularity::PerTensor:
    return 0;
  case Granularity::PerToken:
  case Granularity::PerChannel:
    return flat / k;
  case Granularity::PerGroup: {
    int64_t groups = k / scheme.getGroupSize();
    return (flat / k) * groups + (flat % k) / scheme.getGroupSize();
  }
  }
  return 0;
}

/// Dynamic scales (and zero points) of `x` under `scheme`.
static void computeDynamicScales(const Tensor &x, QuantSchemeAttr scheme,
                                 std::vector<double> &scales,
                                 std::vector<int64_t> &zeroPoints) {
  int64_t k = x.rank() == 0 ? 1 : x.shape().back();
  int64_t count = 1;
  if (scheme.getGranularity() != Granularity::PerTensor)
    count = k == 0 ? 0 : x.numElements() / k;
  if (scheme.getGranularity() == Granularity::PerGroup)
    count *= k / scheme.getGroupSize();
  std::vector<double> lo(count, 0.0), hi(count, 0.0);
  for (int64_t e = 0, n = x.numElements(); e < n; ++e) {
    int64_t s = scaleIndex(scheme, e, k);
    double v = x.getFloat(e);
    if (std::isnan(v))
      continue;
    lo[s] = std::min(lo[s], v);
    hi[s] = std::max(hi[s], v);
  }
  scales.assign(count, 1.0);
  zeroPoints.assign(count, 0);
  DType precision = quantizePrecision(x.dtype());
  for (int64_t s = 0; s < count; ++s) {
    if (scheme.getSymmetric()) {
      // s = clip · absmax / qmax; a group of zeros gets s = 1.
      double absmax = std::max(-lo[s], hi[s]) * scheme.getClipRatio();
      if (absmax > 0.0 && std::isfinite(absmax))
        scales[s] = roundToPrecision(absmax / scheme.getQMax(), precision);
      continue;
    }
    // The range always includes 0 so that 0 is exactly representable.
    double range = (hi[s] - lo[s]) * scheme.getClipRatio();
    if (range > 0.0 && std::isfinite(range))
      scales[s] = roundToPrecision(range / scheme.getQMax(), precision);
    zeroPoints[s] = static_cast<int64_t>(
        std::clamp(roundHalfEven(-lo[s] * scheme.getClipRatio() / scales[s]),
                   0.0, static_cast<double>(scheme.getQMax())));
  }
}

/// Quantizes `x` with the given scales / zero points.
static Tensor quantizeTensor(const Tensor &x, QuantSchemeAttr scheme,
                             const Tensor &scale, const Tensor *zeroPoint,
                             DType resultType) {
  int64_t k = x.rank() == 0 ? 1 : x.shape().back();
  Tensor q(x.shape(), resultType);
  for (int64_t e = 0, n = x.numElements(); e < n; ++e) {
    int64_t s = scaleIndex(scheme, e, k);
    int64_t zp = zeroPoint ? zeroPoint->getInt(s) : 0;
    q.setInt(e, quantizeValue(x.getFloat(e), scale.getFloat(s), zp,
                              scheme.getQMin(), scheme.getQMax(),
                              quantizePrecision(x.dtype())));
  }
  return q;
}

LogicalResult mlir::quant_xform::reference::checkScales(Operation *op,
                                                        const Tensor &scale,
                                                        StringRef what) {
  for (int64_t e = 0, n = scale.numElements(); e < n; ++e) {
    double s = scale.getFloat(e);
    if (!(s > 0.0) || !std::isfinite(s))
      return op->emitOpError() << what << "[" << e << "] = " << s
                               << " is not a positive finite scale";
  }
  return success();
}

LogicalResult EvaluatorImpl::evalQuantize(QuantizeOp qop) {
  Operation *op = qop.getOperation();
  const Tensor &scale = lookup(qop.getScale());
  if (failed(checkScales(op, scale, "scale")))
    return failure();
  FailureOr<DType> rt = resultDType(op, 0);
  if (failed(rt))
    return failure();
  bind(qop, quantizeTensor(lookup(qop.getInput()), qop.getScheme(), scale,
                           opt(qop.getZeroPoint()), *rt));
  return success();
}

LogicalResult EvaluatorImpl::evalDynamicQuantize(DynamicQuantizeOp dq) {
  Operation *op = dq.getOperation();
  const Tensor &x = lookup(dq.getInput());
  std::vector<double> scales;
  std::vector<int64_t> zps;
  computeDynamicScales(x, dq.getScheme(), scales, zps);
  FailureOr<DType> qt = resultDType(op, 0), st = resultDType(op, 1);
  if (failed(qt) || failed(st))
    return failure();
  auto scaleShape = cast<ShapedType>(dq.getScale().getType()).getShape();
  Tensor scale = Tensor::fromFloats(scaleShape, scales, *st);
  Tensor zp;
  if (dq.getZeroPoint()) {
    FailureOr<DType> zt = resultDType(op, 2);
    if (failed(zt))
      return failure();
    zp = Tensor::fromInts(scaleShape, zps, *zt);
  }
  bind(dq.getResult(), quantizeTensor(x, dq.getScheme(), scale,
                                      dq.getZeroPoint() ? &zp : nullptr, *qt));
  bind(dq.getScale(), std::move(scale));
  if (dq.getZeroPoint())
    bind(dq.getZeroPoint(), std::move(zp));
  return success();
}

LogicalResult EvaluatorImpl::evalDequantize(DequantizeOp dq) {
  Operation *op = dq.getOperation();
  // x = (q − zp)·s.
  const Tensor &q = lookup(dq.getInput()), &scale = lookup(dq.getScale());
  if (failed(checkScales(op, scale, "scale")))
    return failure();
  const Tensor *zp = opt(dq.getZeroPoint());
  FailureOr<DType> rt = resultDType(op, 0);
  if (failed(rt))
    return failure();
  int64_t k = q.rank() == 0 ? 1 : q.shape().back();
  Tensor x(q.shape(), *rt);
  for (int64_t e = 0, n = q.numElements(); e < n; ++e) {
    int64_t s = scaleIndex(dq.getScheme(), e, k);
    x.setFloat(e, static_cast<double>(q.getInt(e) - (zp ? zp->getInt(s) : 0)) *
                      scale.getFloat(s));
  }
  bind(dq, std::move(x));
  return success();
}

LogicalResult EvaluatorImpl::evalFakeQuant(FakeQuantOp fq) {
  Operation *op = fq.getOperation();
  const Tensor &x = lookup(fq.getInput());
  QuantSchemeAttr scheme = fq.getScheme();
  std::vector<double> scales;
  std::vector<int64_t> zps;
  Tensor xc = x;
  if (std::optional<APFloat> clip = fq.getClip()) {
    // PACT: clamp to [−α, α], static scale α / qmax.
    double alpha = clip->convertToDouble();
    for (double &v : xc.floats())
      v = std::clamp(v, -alpha, alpha);
    scheme = QuantSchemeAttr::get(op->getContext(), Granularity::PerTensor, 0,
                                  scheme.getBits(), true, llvm::APFloat(1.0));
    scales.assign(1, alpha / scheme.getQMax());
    zps.assign(1, 0);
  } else {
    computeDynamicScales(xc, scheme, scales, zps);
  }
  int64_t k = x.rank() == 0 ? 1 : x.shape().back();
  Tensor y(x.shape(), x.dtype());
  for (int64_t e = 0, n = x.numElements(); e < n; ++e) {
    int64_t s = scaleIndex(scheme, e, k);
    int64_t q =
        quantizeValue(xc.getFloat(e), scales[s], zps[s], scheme.getQMin(),
                      scheme.getQMax(), quantizePrecision(x.dtype()));
    y.setFloat(e, static_cast<double>(q - zps[s]) * scales[s]);
  }
  bind(fq, std::move(y));
  return success();
}

LogicalResult EvaluatorImpl::evalQLinear(QLinearOp ql) {
  Operation *op = ql.getOperation();
  // y[m, n] = sx[m]·Σ_g sw[n, g]·Σ_{k∈g} (qx[m, k] − zx[m])·qw[n, k] +
  // b[n], or with per-group input scales
  // Σ_g (sx[m, g]·sw[n, g])·Σ_{k∈g} (qx[m, k] − zx[m, g])·qw[n, k] + b[n]
  const Tensor &qx = lookup(ql.getInput()), &sx = lookup(ql.getInputScale());
  const Tensor &qw = lookup(ql.getWeight()), &sw = lookup(ql.getWeightScale());
  const Tensor *zx = opt(ql.getInputZeroPoint());
  const Tensor *b = opt(ql.getBias());
  if (failed(checkScales(op, sx, "input scale")) ||
      failed(checkScales(op, sw, "weight scale")))
    return failure();
  FailureOr<DType> rt = resultDType(op, 0);
  if (failed(rt))
    return failure();
  Rows r = asRows(qx);
  int64_t n = qw.shape()[0];
  // Per-group input scales have the rank of the input; with per-group
  // weight scales the verifier has checked that the groups agree.
  bool groupedInput = sx.rank() != 0 && sx.rank() == qx.rank();
  int64_t groups = groupedInput     ? sx.shape().back()
                   : sw.rank() == 2 ? sw.shape()[1]
                                    : 1;
  int64_t g = r.k / groups;
  auto inputAt = [&](const Tensor &t, int64_t m, int64_t grp) {
    return t.rank() == 0 ? 0 : groupedInput ? m * groups + grp : m;
  };
  SmallVector<int64_t> shape(qx.shape());
  shape.back() = n;
  Tensor y(shape, *rt);
  for (int64_t m = 0; m < r.rows; ++m) {
    for (int64_t o = 0; o < n; ++o) {
      double acc = 0.0;
      for (int64_t grp = 0; grp < groups; ++grp) {
        int64_t z = zx ? zx->getInt(inputAt(*zx, m, grp)) : 0;
        int64_t dot = 0; // exact integer accumulation
        for (int64_t i = grp * g; i < (grp + 1) * g; ++i)
          dot += (qx.getInt(m * r.k + i) - z) * qw.getInt(o * r.k + i);
        double swv = sw.rank() == 0   ? sw.getFloat(0)
                     : sw.rank() == 1 ? sw.getFloat(o)
                                      : sw.getFloat(o * groups + grp);
        if (groupedInput) // (sx·sw)·dot, a product of the group's scales
          swv *= sx.getFloat(inputAt(sx, m, grp));
        acc += swv * static_cast<double>(dot);
      }
      double sxm = groupedInput ? 1.0 : sx.getFloat(inputAt(sx, m, 0));
      y.setFloat(m * n + o, sxm * acc + (b ? b->getFloat(o) : 0.0));
    }
  }
  bind(ql, std::move(y));
  return success();
}

LogicalResult EvaluatorImpl::evalMixedLinear(MixedLinearOp ml) {
  Operation *op = ml.getOperation();
  const Tensor &x = lookup(ml.getInput()), &qw = lookup(ml.getWeight());
  const Tensor &sw = lookup(ml.getWeightScale());
  const Tensor &wo = lookup(ml.getOutlierWeight());
  const Tensor *b = opt(ml.getBias());
  if (failed(checkScales(op, sw, "weight scale")))
    return failure();
  Rows r = asRows(x);
  int64_t n = qw.shape()[0];
  // The outlier set O, and for each outlier column its column in Wo.
  std::vector<int64_t> woColumn(r.k, -1);
  if (std::optional<ArrayRef<int64_t>> cols = ml.getColumns()) {
    for (auto [j, c] : llvm::enumerate(*cols))
      woColumn[c] = j;
  } else {
    double t = ml.getThreshold()->convertToDouble();
    for (int64_t c = 0; c < r.k; ++c)
      for (int64_t m = 0; m < r.rows; ++m)
        if (std::fabs(x.getFloat(m * r.k + c)) >= t) {
          woColumn[c] = c;
          break;
        }
  }
  SmallVector<int64_t> shape(x.shape());
  shape.back() = n;
  Tensor y(shape, x.dtype());
  int64_t woCols = wo.shape()[1];
  DType precision = quantizePrecision(x.dtype());
  for (int64_t m = 0; m < r.rows; ++m) {
    // Per-token absmax over the non-outlier columns.
    double absmax = 0.0;
    for (int64_t c = 0; c < r.k; ++c)
      if (woColumn[c] < 0)
        absmax = std::max(absmax, std::fabs(x.getFloat(m * r.k + c)));
    double sx =
        absmax > 0.0 ? roundToPrecision(absmax / 127.0, precision) : 1.0;
    std::vector<int64_t> qx(r.k, 0);
    for (int64_t c = 0; c < r.k; ++c)
      if (woColumn[c] < 0)
        qx[c] =
            quantizeValue(x.getFloat(m * r.k + c), sx, 0, -127, 127, precision);
    for (int64_t o = 0; o < n; ++o) {
      int64_t dot = 0;
      double outlier = 0.0;
      for (int64_t c = 0; c < r.k; ++c) {
        if (woColumn[c] < 0)
          dot += qx[c] * qw.getInt(o * r.k + c);
        else
          outlier +=
              x.getFloat(m * r.k + c) * wo.getFloat(o * woCols + woColumn[c]);
      }
      y.setFloat(m * n + o, sx * sw.getFloat(o) * static_cast<double>(dot) +
                                outlier + (b ? b->getFloat(o) : 0.0));
    }
  }
  bind(ml, std::move(y));
  return success();
}
