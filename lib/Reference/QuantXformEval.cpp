//===- QuantXformEval.cpp - reference semantics of quant_xform ops --------===//
//
// Each op is computed straight from the formula in its ODS description, in
// float64 (quantizer divisions in the input's precision) and exact int64.
// Nothing here is shared with the lowering code.
//
//===----------------------------------------------------------------------===//

#include "EvaluatorImpl.h"

#include "quant-xform/Dialect/QuantXform/IR/QuantXformOps.h"

#include "llvm/ADT/TypeSwitch.h"

#include <cmath>

using namespace mlir;
using namespace mlir::quant_xform;
using namespace mlir::quant_xform::reference;

namespace {
/// A view of a tensor `[..., K]` as `rows × K`.
struct Rows {
  int64_t rows, k;
};
} // namespace

static Rows asRows(const Tensor &t) {
  int64_t k = t.rank() == 0 ? 1 : t.shape().back();
  return {k == 0 ? 0 : t.numElements() / k, k};
}

/// Reservoir sampling (Algorithm R) of the rows of `x` into
/// `stats.sampledRows`, keeping at most `keep`; the replacement index comes
/// from a hash of the row's global number, so the sample is deterministic.
static void keepSampledRows(ChannelStats &stats, const Tensor &x, Rows r,
                            int64_t keep) {
  for (int64_t m = 0; m < r.rows; ++m) {
    uint64_t seen = static_cast<uint64_t>(stats.rows + m);
    int64_t slot;
    if (static_cast<int64_t>(seen) < keep) {
      slot = static_cast<int64_t>(seen);
      stats.sampledRows.resize((slot + 1) * r.k);
    } else {
      uint64_t h = (seen + 1) * 0x9E3779B97F4A7C15ull; // splitmix64
      h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9ull;
      h = (h ^ (h >> 27)) * 0x94D049BB133111EBull;
      h ^= h >> 31;
      uint64_t j = h % (seen + 1);
      if (j >= static_cast<uint64_t>(keep))
        continue;
      slot = static_cast<int64_t>(j);
    }
    for (int64_t c = 0; c < r.k; ++c)
      stats.sampledRows[slot * r.k + c] = x.getFloat(m * r.k + c);
  }
}

/// Updates the per-channel EMA of the per-run |x| maximum: a plain average
/// over the first `warmup` runs, then ema ← decay·ema + (1 − decay)·batch.
static void updateEma(ChannelStats &stats, const Tensor &x, Rows r,
                      double decay, int64_t warmup) {
  std::vector<double> batch(r.k, 0.0);
  for (int64_t m = 0; m < r.rows; ++m)
    for (int64_t c = 0; c < r.k; ++c)
      batch[c] = std::max(batch[c], std::fabs(x.getFloat(m * r.k + c)));
  if (stats.emaAbsMax.empty()) {
    stats.emaAbsMax = std::move(batch);
    return;
  }
  int64_t run = stats.runs + 1; // This run's number, from 1.
  for (int64_t c = 0; c < r.k; ++c) {
    double &e = stats.emaAbsMax[c];
    if (run <= std::max<int64_t>(warmup, 1))
      e += (batch[c] - e) / static_cast<double>(run);
    else
      e = decay * e + (1.0 - decay) * batch[c];
  }
}

/// y = x·M for a `K × K` matrix tensor M (row-major), per row of x.
/// y[r, o] = b[o] + Σ_i x[r, i]·w[o, i] for `rows` rows of `k` inputs and `n`
/// outputs: each sum in double, in the order of i (the evaluator's
/// definition). Four outputs run as four independent chains that share the
/// loads of x: the same sums, without waiting on one addition at a time.
static void linearRows(const double *x, const double *w, const double *b,
                       double *y, int64_t rows, int64_t k, int64_t n) {
  for (int64_t row = 0; row < rows; ++row) {
    const double *xr = x + row * k;
    int64_t o = 0;
    for (; o + 4 <= n; o += 4) {
      const double *w0 = w + o * k, *w1 = w0 + k, *w2 = w1 + k, *w3 = w2 + k;
      double a0 = b ? b[o] : 0.0, a1 = b ? b[o + 1] : 0.0;
      double a2 = b ? b[o + 2] : 0.0, a3 = b ? b[o + 3] : 0.0;
      for (int64_t i = 0; i < k; ++i) {
        double xi = xr[i];
        a0 += xi * w0[i];
        a1 += xi * w1[i];
        a2 += xi * w2[i];
        a3 += xi * w3[i];
      }
      y[row * n + o] = a0;
      y[row * n + o + 1] = a1;
      y[row * n + o + 2] = a2;
      y[row * n + o + 3] = a3;
    }
    for (; o < n; ++o) {
      double acc = b ? b[o] : 0.0;
      for (int64_t i = 0; i < k; ++i)
        acc += xr[i] * w[o * k + i];
      y[row * n + o] = acc;
    }
  }
}

static Tensor rightMultiply(const Tensor &x, const std::vector<double> &m,
                            int64_t k) {
  Rows r = asRows(x);
  Tensor y(x.shape(), x.dtype());
  for (int64_t row = 0; row < r.rows; ++row)
    for (int64_t j = 0; j < k; ++j) {
      double acc = 0.0;
      for (int64_t i = 0; i < k; ++i)
        acc += x.getFloat(row * k + i) * m[i * k + j];
      y.setFloat(row * k + j, acc);
    }
  return y;
}

/// The transpose of a row-major `K × K` matrix.
static std::vector<double> transposed(const std::vector<double> &m, int64_t k) {
  std::vector<double> t(m.size());
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j < k; ++j)
      t[j * k + i] = m[i * k + j];
  return t;
}

/// Gauss–Jordan inverse with partial pivoting; failure when singular.
static FailureOr<std::vector<double>> inverse(std::vector<double> a,
                                              int64_t k) {
  std::vector<double> inv(k * k, 0.0);
  for (int64_t i = 0; i < k; ++i)
    inv[i * k + i] = 1.0;
  for (int64_t col = 0; col < k; ++col) {
    int64_t pivot = col;
    for (int64_t r = col + 1; r < k; ++r)
      if (std::fabs(a[r * k + col]) > std::fabs(a[pivot * k + col]))
        pivot = r;
    if (a[pivot * k + col] == 0.0)
      return failure();
    for (int64_t c = 0; c < k; ++c) {
      std::swap(a[col * k + c], a[pivot * k + c]);
      std::swap(inv[col * k + c], inv[pivot * k + c]);
    }
    double p = a[col * k + col];
    for (int64_t c = 0; c < k; ++c) {
      a[col * k + c] /= p;
      inv[col * k + c] /= p;
    }
    for (int64_t r = 0; r < k; ++r) {
      if (r == col)
        continue;
      double f = a[r * k + col];
      for (int64_t c = 0; c < k; ++c) {
        a[r * k + c] -= f * a[col * k + c];
        inv[r * k + c] -= f * inv[col * k + c];
      }
    }
  }
  return inv;
}

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

/// Rejects non-positive or NaN run-time scales with a diagnostic.
static LogicalResult checkScales(Operation *op, const Tensor &scale,
                                 StringRef what) {
  for (int64_t e = 0, n = scale.numElements(); e < n; ++e) {
    double s = scale.getFloat(e);
    if (!(s > 0.0) || !std::isfinite(s))
      return op->emitOpError() << what << "[" << e << "] = " << s
                               << " is not a positive finite scale";
  }
  return success();
}

/// Scaled dot-product attention (AttentionOp's description), in float64:
/// q [B, S, H, D], k and v [B, T, G, D], mask [B, T] or null.
static Tensor attention(const Tensor &q, const Tensor &k, const Tensor &v,
                        const Tensor *mask, double scale, bool causal) {
  int64_t nb = q.shape()[0], s = q.shape()[1], h = q.shape()[2];
  int64_t d = q.shape()[3], t = k.shape()[1], g = k.shape()[2];
  Tensor y(q.shape(), q.dtype());
  std::vector<double> w(t);
  for (int64_t b = 0; b < nb; ++b)
    for (int64_t hi = 0; hi < h; ++hi) {
      int64_t gi = hi / (h / g);
      for (int64_t i = 0; i < s; ++i) {
        const int64_t qRow = ((b * s + i) * h + hi) * d;
        double m = -INFINITY;
        for (int64_t j = 0; j < t; ++j) {
          const int64_t kRow = ((b * t + j) * g + gi) * d;
          double dot = 0.0;
          for (int64_t x = 0; x < d; ++x)
            dot += q.getFloat(qRow + x) * k.getFloat(kRow + x);
          w[j] = scale * dot + (mask ? mask->getFloat(b * t + j) : 0.0);
          if (causal && j > i + t - s)
            w[j] = -INFINITY;
          m = std::max(m, w[j]);
        }
        double sum = 0.0;
        for (int64_t j = 0; j < t; ++j)
          sum += (w[j] = std::exp(w[j] - m));
        for (int64_t x = 0; x < d; ++x) {
          double acc = 0.0;
          for (int64_t j = 0; j < t; ++j)
            acc += w[j] * v.getFloat(((b * t + j) * g + gi) * d + x);
          y.setFloat(qRow + x, acc / sum);
        }
      }
    }
  return y;
}

/// Normalizes rows: layer norm (centered) or RMS norm, then γ and β.
static Tensor normalize(const Tensor &x, const Tensor &gamma,
                        const Tensor *beta, double eps, bool center) {
  Rows r = asRows(x);
  Tensor y(x.shape(), x.dtype());
  for (int64_t row = 0; row < r.rows; ++row) {
    const int64_t base = row * r.k;
    double mean = 0.0;
    if (center) {
      for (int64_t j = 0; j < r.k; ++j)
        mean += x.getFloat(base + j);
      mean /= r.k;
    }
    double var = 0.0;
    for (int64_t j = 0; j < r.k; ++j) {
      double d = x.getFloat(base + j) - mean;
      var += d * d;
    }
    var /= r.k;
    double inv = 1.0 / std::sqrt(var + eps);
    for (int64_t j = 0; j < r.k; ++j)
      y.setFloat(base + j,
                 gamma.getFloat(j) * (x.getFloat(base + j) - mean) * inv +
                     (beta ? beta->getFloat(j) : 0.0));
  }
  return y;
}

LogicalResult EvaluatorImpl::evalQuantXformOp(Operation *op, bool &handled) {
  handled = isa_and_nonnull<QuantXformDialect>(op->getDialect());
  if (!handled)
    return success();
  auto opt = [&](Value v) -> const Tensor * {
    return v ? &lookup(v) : nullptr;
  };
  auto resultDType = [&](unsigned i) {
    return valueDType(op, op->getResult(i));
  };

  return llvm::TypeSwitch<Operation *, LogicalResult>(op)
      .Case([&](LinearOp l) -> LogicalResult {
        // y[r, n] = Σ_k x[r, k]·W[n, k] + b[n].
        const Tensor &x = lookup(l.getInput()), &w = lookup(l.getWeight());
        const Tensor *b = opt(l.getBias());
        Rows r = asRows(x);
        int64_t n = w.shape()[0];
        SmallVector<int64_t> shape(x.shape());
        shape.back() = n;
        Tensor y(shape, x.dtype());
        linearRows(x.floats().data(), w.floats().data(),
                   b ? b->floats().data() : nullptr, y.floats().data(), r.rows,
                   r.k, n);
        bind(l, std::move(y));
        return success();
      })
      .Case([&](LayerNormOp ln) -> LogicalResult {
        bind(ln, normalize(lookup(ln.getInput()), lookup(ln.getGamma()),
                           opt(ln.getBeta()), ln.getEpsilon().convertToDouble(),
                           true));
        return success();
      })
      .Case([&](RMSNormOp rn) -> LogicalResult {
        bind(rn, normalize(lookup(rn.getInput()), lookup(rn.getGamma()),
                           opt(rn.getBeta()), rn.getEpsilon().convertToDouble(),
                           false));
        return success();
      })
      .Case([&](BatchNormOp bn) -> LogicalResult {
        // y = γ·(x − mean)/sqrt(var + ε) + β per channel.
        const Tensor &x = lookup(bn.getInput());
        const Tensor &mean = lookup(bn.getMean()),
                     &var = lookup(bn.getVariance()),
                     &gamma = lookup(bn.getGamma()),
                     &beta = lookup(bn.getBeta());
        Rows r = asRows(x);
        double eps = bn.getEpsilon().convertToDouble();
        std::vector<double> scale(r.k);
        for (int64_t j = 0; j < r.k; ++j) {
          double v = var.getFloat(j);
          if (!(v >= 0.0))
            return bn.emitOpError()
                   << "variance[" << j << "] = " << v << " is not >= 0";
          scale[j] = gamma.getFloat(j) / std::sqrt(v + eps);
        }
        Tensor y(x.shape(), x.dtype());
        for (int64_t row = 0; row < r.rows; ++row)
          for (int64_t j = 0; j < r.k; ++j)
            y.setFloat(row * r.k + j,
                       (x.getFloat(row * r.k + j) - mean.getFloat(j)) *
                               scale[j] +
                           beta.getFloat(j));
        bind(bn, std::move(y));
        return success();
      })
      .Case([&](RotateOp rot) -> LogicalResult {
        const Tensor &x = lookup(rot.getInput());
        int64_t k = x.shape().back();
        std::vector<double> q(k * k, 0.0);
        switch (rot.getKind()) {
        case RotationKind::Dense:
          q = lookup(rot.getMatrix()).floats();
          break;
        case RotationKind::Hadamard: {
          // Q = diag(signs)·H, H block-diagonal with blocks of B = K & −K:
          // H[i][j] = (−1)^popcount(i & j & (B−1)) / sqrt(B) in a block.
          int64_t block = k & -k;
          double norm = 1.0 / std::sqrt(static_cast<double>(block));
          for (int64_t i = 0; i < k; ++i) {
            double sign = rot.getSigns() ? (*rot.getSigns())[i] : 1;
            for (int64_t j = i - i % block; j < i - i % block + block; ++j) {
              int bits = __builtin_popcountll(
                  static_cast<uint64_t>(i & j & (block - 1)));
              q[i * k + j] = sign * ((bits & 1) ? -norm : norm);
            }
          }
          break;
        }
        case RotationKind::Permutation:
          // y[j] = x[perm[j]]  ⇔  Q[perm[j]][j] = 1.
          for (auto [j, p] : llvm::enumerate(*rot.getPerm()))
            q[p * k + j] = 1.0;
          break;
        }
        bind(rot, rightMultiply(x, rot.getInverse() ? transposed(q, k) : q, k));
        return success();
      })
      .Case([&](AffineOp aff) -> LogicalResult {
        // forward: y = (x − δ)·A⁻¹; inverse: y = x·A + δ.
        Tensor x = lookup(aff.getInput());
        int64_t k = x.shape().back();
        const Tensor *shift = opt(aff.getShift());
        const std::vector<double> &a = lookup(aff.getMatrix()).floats();
        if (aff.getInverse()) {
          Tensor y = rightMultiply(x, a, k);
          if (shift)
            for (int64_t e = 0, n = y.numElements(); e < n; ++e)
              y.setFloat(e, y.getFloat(e) + shift->getFloat(e % k));
          bind(aff, std::move(y));
          return success();
        }
        FailureOr<std::vector<double>> inv = inverse(a, k);
        if (failed(inv))
          return aff.emitOpError() << "affine matrix is singular";
        if (shift)
          for (int64_t e = 0, n = x.numElements(); e < n; ++e)
            x.setFloat(e, x.getFloat(e) - shift->getFloat(e % k));
        bind(aff, rightMultiply(x, *inv, k));
        return success();
      })
      .Case([&](SmoothOp sm) -> LogicalResult {
        // forward: y = (x − δ) / s; inverse: y = x ⊙ s + δ.
        const Tensor &x = lookup(sm.getInput()), &s = lookup(sm.getScales());
        if (failed(checkScales(op, s, "smoothing scale")))
          return failure();
        const Tensor *shift = opt(sm.getShift());
        int64_t k = x.shape().back();
        Tensor y(x.shape(), x.dtype());
        for (int64_t e = 0, n = x.numElements(); e < n; ++e) {
          double d = shift ? shift->getFloat(e % k) : 0.0;
          double v = sm.getInverse() ? x.getFloat(e) * s.getFloat(e % k) + d
                                     : (x.getFloat(e) - d) / s.getFloat(e % k);
          y.setFloat(e, v);
        }
        bind(sm, std::move(y));
        return success();
      })
      .Case([&](QuantizeOp qop) -> LogicalResult {
        const Tensor &scale = lookup(qop.getScale());
        if (failed(checkScales(op, scale, "scale")))
          return failure();
        FailureOr<DType> rt = resultDType(0);
        if (failed(rt))
          return failure();
        bind(qop, quantizeTensor(lookup(qop.getInput()), qop.getScheme(), scale,
                                 opt(qop.getZeroPoint()), *rt));
        return success();
      })
      .Case([&](DynamicQuantizeOp dq) -> LogicalResult {
        const Tensor &x = lookup(dq.getInput());
        std::vector<double> scales;
        std::vector<int64_t> zps;
        computeDynamicScales(x, dq.getScheme(), scales, zps);
        FailureOr<DType> qt = resultDType(0), st = resultDType(1);
        if (failed(qt) || failed(st))
          return failure();
        auto scaleShape = cast<ShapedType>(dq.getScale().getType()).getShape();
        Tensor scale = Tensor::fromFloats(scaleShape, scales, *st);
        Tensor zp;
        if (dq.getZeroPoint()) {
          FailureOr<DType> zt = resultDType(2);
          if (failed(zt))
            return failure();
          zp = Tensor::fromInts(scaleShape, zps, *zt);
        }
        bind(dq.getResult(),
             quantizeTensor(x, dq.getScheme(), scale,
                            dq.getZeroPoint() ? &zp : nullptr, *qt));
        bind(dq.getScale(), std::move(scale));
        if (dq.getZeroPoint())
          bind(dq.getZeroPoint(), std::move(zp));
        return success();
      })
      .Case([&](DequantizeOp dq) -> LogicalResult {
        // x = (q − zp)·s.
        const Tensor &q = lookup(dq.getInput()), &scale = lookup(dq.getScale());
        if (failed(checkScales(op, scale, "scale")))
          return failure();
        const Tensor *zp = opt(dq.getZeroPoint());
        FailureOr<DType> rt = resultDType(0);
        if (failed(rt))
          return failure();
        int64_t k = q.rank() == 0 ? 1 : q.shape().back();
        Tensor x(q.shape(), *rt);
        for (int64_t e = 0, n = q.numElements(); e < n; ++e) {
          int64_t s = scaleIndex(dq.getScheme(), e, k);
          x.setFloat(
              e, static_cast<double>(q.getInt(e) - (zp ? zp->getInt(s) : 0)) *
                     scale.getFloat(s));
        }
        bind(dq, std::move(x));
        return success();
      })
      .Case([&](FakeQuantOp fq) -> LogicalResult {
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
          scheme =
              QuantSchemeAttr::get(op->getContext(), Granularity::PerTensor, 0,
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
      })
      .Case([&](QLinearOp ql) -> LogicalResult {
        // y[m, n] = sx[m]·Σ_g sw[n, g]·Σ_{k∈g} (qx[m, k] − zx[m])·qw[n, k] +
        // b[n]
        const Tensor &qx = lookup(ql.getInput()),
                     &sx = lookup(ql.getInputScale());
        const Tensor &qw = lookup(ql.getWeight()),
                     &sw = lookup(ql.getWeightScale());
        const Tensor *zx = opt(ql.getInputZeroPoint());
        const Tensor *b = opt(ql.getBias());
        if (failed(checkScales(op, sx, "input scale")) ||
            failed(checkScales(op, sw, "weight scale")))
          return failure();
        FailureOr<DType> rt = resultDType(0);
        if (failed(rt))
          return failure();
        Rows r = asRows(qx);
        int64_t n = qw.shape()[0];
        int64_t groups = sw.rank() == 2 ? sw.shape()[1] : 1;
        int64_t g = r.k / groups;
        SmallVector<int64_t> shape(qx.shape());
        shape.back() = n;
        Tensor y(shape, *rt);
        for (int64_t m = 0; m < r.rows; ++m) {
          int64_t z = zx ? zx->getInt(zx->rank() == 0 ? 0 : m) : 0;
          double sxm = sx.getFloat(sx.rank() == 0 ? 0 : m);
          for (int64_t o = 0; o < n; ++o) {
            double acc = 0.0;
            for (int64_t grp = 0; grp < groups; ++grp) {
              int64_t dot = 0; // exact integer accumulation
              for (int64_t i = grp * g; i < (grp + 1) * g; ++i)
                dot += (qx.getInt(m * r.k + i) - z) * qw.getInt(o * r.k + i);
              double swv = sw.rank() == 0   ? sw.getFloat(0)
                           : sw.rank() == 1 ? sw.getFloat(o)
                                            : sw.getFloat(o * groups + grp);
              acc += swv * static_cast<double>(dot);
            }
            y.setFloat(m * n + o, sxm * acc + (b ? b->getFloat(o) : 0.0));
          }
        }
        bind(ql, std::move(y));
        return success();
      })
      .Case([&](AttentionOp a) -> LogicalResult {
        bind(a, attention(lookup(a.getQuery()), lookup(a.getKey()),
                          lookup(a.getValue()), opt(a.getMask()),
                          a.getScale().convertToDouble(), a.getCausal()));
        return success();
      })
      .Case([&](MixedLinearOp ml) -> LogicalResult {
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
              qx[c] = quantizeValue(x.getFloat(m * r.k + c), sx, 0, -127, 127,
                                    precision);
          for (int64_t o = 0; o < n; ++o) {
            int64_t dot = 0;
            double outlier = 0.0;
            for (int64_t c = 0; c < r.k; ++c) {
              if (woColumn[c] < 0)
                dot += qx[c] * qw.getInt(o * r.k + c);
              else
                outlier += x.getFloat(m * r.k + c) *
                           wo.getFloat(o * woCols + woColumn[c]);
            }
            y.setFloat(m * n + o,
                       sx * sw.getFloat(o) * static_cast<double>(dot) +
                           outlier + (b ? b->getFloat(o) : 0.0));
          }
        }
        bind(ml, std::move(y));
        return success();
      })
      .Case([&](ObserveOp obs) -> LogicalResult {
        const Tensor &input = lookup(obs.getInput());
        // With a row mask of as many rows as the input, only the kept rows
        // (real tokens, not padding) are observed.
        Tensor compacted;
        const std::vector<bool> &keep = parent.rowMask;
        bool masked = !keep.empty() &&
                      asRows(input).rows == static_cast<int64_t>(keep.size());
        if (masked) {
          Rows in = asRows(input);
          int64_t kept = llvm::count(keep, true);
          compacted = Tensor({kept, in.k}, input.dtype());
          for (int64_t m = 0, o = 0; m < in.rows; ++m) {
            if (!keep[m])
              continue;
            for (int64_t c = 0; c < in.k; ++c)
              compacted.setFloat(o * in.k + c, input.getFloat(m * in.k + c));
            ++o;
          }
          if (kept == 0) {
            bind(obs, input);
            return success();
          }
        }
        const Tensor &x = masked ? compacted : input;
        Rows r = asRows(x);
        ChannelStats &stats = parent.observed[obs.getName().str()];
        if (stats.min.empty()) {
          stats.min.assign(r.k, INFINITY);
          stats.max.assign(r.k, -INFINITY);
          stats.absMax.assign(r.k, 0.0);
          stats.outlierRows.assign(r.k, 0);
          if (parent.collectSecondMoment && r.k <= kMaxSecondMomentSize)
            stats.secondMoment.assign(r.k * r.k, 0.0);
        }
        if (static_cast<int64_t>(stats.min.size()) != r.k)
          return obs.emitOpError()
                 << "observer '" << obs.getName() << "' saw feature sizes "
                 << stats.min.size() << " and " << r.k;
        for (int64_t m = 0; m < r.rows; ++m)
          for (int64_t c = 0; c < r.k; ++c) {
            double v = x.getFloat(m * r.k + c);
            stats.min[c] = std::min(stats.min[c], v);
            stats.max[c] = std::max(stats.max[c], v);
            stats.absMax[c] = std::max(stats.absMax[c], std::fabs(v));
            if (std::fabs(v) >= parent.outlierThreshold)
              ++stats.outlierRows[c];
          }
        if (auto it = parent.histogramRanges.find(obs.getName().str());
            it != parent.histogramRanges.end() && it->second > 0.0) {
          if (stats.histogram.empty()) {
            stats.histogram.assign(kHistogramBins, 0);
            stats.histogramMax = it->second;
          }
          double perBin = kHistogramBins / stats.histogramMax;
          for (int64_t e = 0, n = r.rows * r.k; e < n; ++e) {
            double a = std::fabs(x.getFloat(e));
            if (std::isnan(a))
              continue;
            auto bin = static_cast<int64_t>(
                std::min(a * perBin, static_cast<double>(kHistogramBins - 1)));
            ++stats.histogram[bin];
          }
        }
        if (!stats.secondMoment.empty())
          for (int64_t m = 0; m < r.rows; ++m)
            for (int64_t i = 0; i < r.k; ++i) {
              double xi = x.getFloat(m * r.k + i);
              for (int64_t j = 0; j < r.k; ++j)
                stats.secondMoment[i * r.k + j] += xi * x.getFloat(m * r.k + j);
            }
        if (parent.keepRows > 0)
          keepSampledRows(stats, x, r, parent.keepRows);
        if (parent.emaDecay >= 0.0)
          updateEma(stats, x, r, parent.emaDecay, parent.emaWarmup);
        stats.rows += r.rows;
        ++stats.runs;
        bind(obs, input);
        return success();
      })
      .Default([&](Operation *) {
        return op->emitOpError() << "is not supported by the reference "
                                    "evaluator";
      });
}
