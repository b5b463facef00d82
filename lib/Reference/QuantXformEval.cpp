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

/// y = x·M for a `K × K` matrix tensor M (row-major), per row of x.
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

LogicalResult EvaluatorImpl::evalLinear(LinearOp l) {
  // y[r, n] = Σ_k x[r, k]·W[n, k] + b[n].
  const Tensor &x = lookup(l.getInput()), &w = lookup(l.getWeight());
  const Tensor *b = opt(l.getBias());
  Rows r = asRows(x);
  int64_t n = w.shape()[0];
  SmallVector<int64_t> shape(x.shape());
  shape.back() = n;
  Tensor y(shape, x.dtype());
  linearRows(x.floats().data(), w.floats().data(),
             b ? b->floats().data() : nullptr, y.floats().data(), r.rows, r.k,
             n);
  bind(l, std::move(y));
  return success();
}

LogicalResult EvaluatorImpl::evalBatchNorm(BatchNormOp bn) {
  // y = γ·(x − mean)/sqrt(var + ε) + β per channel.
  const Tensor &x = lookup(bn.getInput());
  const Tensor &mean = lookup(bn.getMean()), &var = lookup(bn.getVariance()),
               &gamma = lookup(bn.getGamma()), &beta = lookup(bn.getBeta());
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
                 (x.getFloat(row * r.k + j) - mean.getFloat(j)) * scale[j] +
                     beta.getFloat(j));
  bind(bn, std::move(y));
  return success();
}

LogicalResult EvaluatorImpl::evalRotate(RotateOp rot) {
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
        int bits =
            __builtin_popcountll(static_cast<uint64_t>(i & j & (block - 1)));
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
}

LogicalResult EvaluatorImpl::evalAffineOp(AffineOp aff) {
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
}

LogicalResult EvaluatorImpl::evalSmooth(SmoothOp sm) {
  Operation *op = sm.getOperation();
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
}

LogicalResult EvaluatorImpl::evalQuantXformOp(Operation *op, bool &handled) {
  handled = isa_and_nonnull<QuantXformDialect>(op->getDialect());
  if (!handled)
    return success();
  return llvm::TypeSwitch<Operation *, LogicalResult>(op)
      .Case([&](LinearOp l) { return evalLinear(l); })
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
      .Case([&](BatchNormOp bn) { return evalBatchNorm(bn); })
      .Case([&](RotateOp rot) { return evalRotate(rot); })
      .Case([&](AffineOp aff) { return evalAffineOp(aff); })
      .Case([&](SmoothOp sm) { return evalSmooth(sm); })
      .Case([&](QuantizeOp qop) { return evalQuantize(qop); })
      .Case([&](DynamicQuantizeOp dq) { return evalDynamicQuantize(dq); })
      .Case([&](DequantizeOp dq) { return evalDequantize(dq); })
      .Case([&](FakeQuantOp fq) { return evalFakeQuant(fq); })
      .Case([&](QLinearOp ql) { return evalQLinear(ql); })
      .Case([&](AttentionOp a) -> LogicalResult {
        bind(a, attention(lookup(a.getQuery()), lookup(a.getKey()),
                          lookup(a.getValue()), opt(a.getMask()),
                          a.getScale().convertToDouble(), a.getCausal()));
        return success();
      })
      .Case([&](MixedLinearOp ml) { return evalMixedLinear(ml); })
      .Case([&](ObserveOp obs) { return evalObserve(obs); })
      .Default([&](Operation *) {
        return op->emitOpError() << "is not supported by the reference "
                                    "evaluator";
      });
}
