//===- QuantXformEval.cpp - reference semantics of quant_xform ops --------===//
//
// Each op is computed straight from the formula in its ODS description, in
// float64 (quantizer divisions in the input's precision) and exact int64.
// Nothing here is shared with the lowering code.
//
//===----------------------------------------------------------------------===//

#include "EvaluatorImpl.h"

#include "quant-xform/Dialect/QuantXform/IR/QuantXformOps.h"
#include "quant-xform/Support/Matrix.h"

#include "llvm/ADT/TypeSwitch.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

using namespace mlir;
using namespace mlir::quant_xform;
using namespace mlir::quant_xform::io;
using namespace mlir::quant_xform::reference;

// The AVX2 copy of the row kernel passes vectors between inlined functions;
// no vector crosses a call, so GCC's note about the AVX calling convention
// does not apply.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

namespace {
typedef double Vec2 __attribute__((vector_size(16)));
typedef double Vec4 __attribute__((vector_size(32)));

/// The loops of `accumulateRows` on vectors `V` of doubles: tiles of 4
/// rows × 2 vectors of outputs whose sums stay in registers while i walks
/// m. Each sum is its own chain in the order of i with a separate multiply
/// and add (no fused multiply-add, no reassociation), so every vector width
/// gives the bits of a plain scalar loop; the edges run one sum at a time in
/// the same order. Always inlined, so that the AVX2 caller compiles it with
/// AVX2.
template <typename V> struct RowKernel {
  static constexpr int64_t kLanes = sizeof(V) / sizeof(double);
  static constexpr int64_t kRows = 4, kVecs = 2, kOutputs = kVecs * kLanes;

  [[gnu::always_inline]] static inline V load(const double *p) {
    V v;
    std::memcpy(&v, p, sizeof(V));
    return v;
  }
  [[gnu::always_inline]] static inline void store(double *p, V v) {
    std::memcpy(p, &v, sizeof(V));
  }
  [[gnu::always_inline]] static inline V splat(double x) {
    V v;
    for (int64_t l = 0; l < kLanes; ++l)
      v[l] = x;
    return v;
  }

  [[gnu::always_inline]] static inline void tile(const double *x,
                                                 const double *m,
                                                 const double *b, double *y,
                                                 int64_t k, int64_t n) {
    V acc[kRows][kVecs];
    for (int64_t r = 0; r < kRows; ++r)
      for (int64_t v = 0; v < kVecs; ++v)
        acc[r][v] = b ? load(b + v * kLanes) : splat(0.0);
    for (int64_t i = 0; i < k; ++i) {
      V mi[kVecs];
      for (int64_t v = 0; v < kVecs; ++v)
        mi[v] = load(m + i * n + v * kLanes);
      for (int64_t r = 0; r < kRows; ++r) {
        const V xi = splat(x[r * k + i]);
        for (int64_t v = 0; v < kVecs; ++v) {
          const V product = xi * mi[v];
          acc[r][v] = acc[r][v] + product;
        }
      }
    }
    for (int64_t r = 0; r < kRows; ++r)
      for (int64_t v = 0; v < kVecs; ++v)
        store(y + r * n + v * kLanes, acc[r][v]);
  }

  [[gnu::always_inline]] static inline void
  run(const double *x, const double *m, const double *b, double *y,
      int64_t rows, int64_t k, int64_t n) {
    const int64_t fullRows = rows - rows % kRows, fullOut = n - n % kOutputs;
    // Outputs outermost: the strip of m a tile reads (K × kOutputs) stays
    // cached while every block of rows passes over it.
    for (int64_t o = 0; o < fullOut; o += kOutputs)
      for (int64_t r = 0; r < fullRows; r += kRows)
        tile(x + r * k, m + o, b ? b + o : nullptr, y + r * n + o, k, n);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t o = r < fullRows ? fullOut : 0; o < n; ++o) {
        double acc = b ? b[o] : 0.0;
        for (int64_t i = 0; i < k; ++i) {
          const double product = x[r * k + i] * m[i * n + o];
          acc = acc + product;
        }
        y[r * n + o] = acc;
      }
  }
};
} // namespace

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
/// The same loops compiled for AVX2 (without FMA: the same bits).
__attribute__((target("avx2"))) static void
accumulateRowsAvx2(const double *x, const double *m, const double *b, double *y,
                   int64_t rows, int64_t k, int64_t n) {
  RowKernel<Vec4>::run(x, m, b, y, rows, k, n);
}
#define QX_EVAL_HAS_AVX2 1
#endif

/// y[r, o] = b[o] + Σ_i x[r, i]·m[i, o] (b[o] = 0 without a bias) for
/// `rows` rows of `k` inputs and `n` outputs, m row-major `K × N`: each sum
/// in double, in the order of i (the evaluator's definition).
static void accumulateRows(const double *x, const double *m, const double *b,
                           double *y, int64_t rows, int64_t k, int64_t n) {
#ifdef QX_EVAL_HAS_AVX2
  static const bool avx2 = __builtin_cpu_supports("avx2");
  if (avx2)
    return accumulateRowsAvx2(x, m, b, y, rows, k, n);
#endif
  RowKernel<Vec2>::run(x, m, b, y, rows, k, n);
}

/// y[r, o] = b[o] + Σ_i x[r, i]·w[o, i] for a row-major `N × K` weight.
static void linearRows(const double *x, const double *w, const double *b,
                       double *y, int64_t rows, int64_t k, int64_t n) {
  constexpr int64_t kTile = 32; // both sides of the transpose stay cached
  std::vector<double> wt(static_cast<size_t>(k * n)); // wt[i, o] = w[o, i]
  for (int64_t o0 = 0; o0 < n; o0 += kTile)
    for (int64_t i0 = 0; i0 < k; i0 += kTile)
      for (int64_t o = o0; o < std::min(o0 + kTile, n); ++o)
        for (int64_t i = i0; i < std::min(i0 + kTile, k); ++i)
          wt[i * n + o] = w[o * k + i];
  accumulateRows(x, wt.data(), b, y, rows, k, n);
}

/// y = x·M for a `K × K` matrix tensor M (row-major), per row of x.
static Tensor rightMultiply(const Tensor &x, const std::vector<double> &m,
                            int64_t k) {
  Rows r = asRows(x);
  Tensor y(x.shape(), x.dtype());
  accumulateRows(x.floats().data(), m.data(), nullptr, y.floats().data(),
                 r.rows, k, k);
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

/// The rotary embedding (RotaryOp's description), in f32 as the kernels:
/// x [T, H, D], cos and sin [T, D/2].
static Tensor rotary(const Tensor &x, const Tensor &cos, const Tensor &sin) {
  int64_t t = x.shape()[0], h = x.shape()[1], d = x.shape()[2], half = d / 2;
  Tensor y(x.shape(), x.dtype());
  for (int64_t ti = 0; ti < t; ++ti)
    for (int64_t hi = 0; hi < h; ++hi)
      for (int64_t i = 0; i < half; ++i) {
        const int64_t lo = (ti * h + hi) * d + i;
        float x1 = x.getFloat(lo), x2 = x.getFloat(lo + half);
        float c = cos.getFloat(ti * half + i), s = sin.getFloat(ti * half + i);
        float p = x1 * c, q = x2 * s, r = x2 * c, u = x1 * s;
        y.setFloat(lo, p - q);
        y.setFloat(lo + half, r + u);
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
  case RotationKind::Hadamard:
    // Q = diag(signs)·H, H block-diagonal with blocks of B = K & −K:
    // H[i][j] = (−1)^popcount(i & j & (B−1)) / sqrt(B) in a block (the
    // definition in Support, which the lowerings' factors come from too).
    q = Matrix::hadamard(k, rot.getSigns().value_or(ArrayRef<int8_t>())).data();
    break;
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

/// The identity; the hook, when there is one, sees the value.
LogicalResult EvaluatorImpl::evalObserve(ObserveOp obs) {
  const Tensor &x = lookup(obs.getInput());
  if (parent.observeHook && failed(parent.observeHook->observe(obs, x)))
    return failure();
  bind(obs, x);
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
      .Case([&](RotaryOp r) -> LogicalResult {
        bind(r, rotary(lookup(r.getInput()), lookup(r.getCos()),
                       lookup(r.getSin())));
        return success();
      })
      .Case([&](MixedLinearOp ml) { return evalMixedLinear(ml); })
      .Case([&](ObserveOp obs) { return evalObserve(obs); })
      .Default([&](Operation *) {
        return op->emitOpError() << "is not supported by the reference "
                                    "evaluator";
      });
}
