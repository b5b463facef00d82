//===- TransformSearch.cpp - choose transforms by measured W8A8 error ----===//
//
// The maths is in TransformSearch.h. Eigen does the products and the LU.
//
//===----------------------------------------------------------------------===//

#include "quant-xform/Calibration/TransformSearch.h"

#include <Eigen/Dense>

#include <algorithm>
#include <cmath>
#include <string>

using namespace mlir::quant_xform;
using namespace mlir::quant_xform::calibration;

namespace {

using Dense = Eigen::MatrixXd;
using RowMajor =
    Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

llvm::Error makeError(const std::string &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
}

Dense toEigen(const Matrix &m) {
  return Eigen::Map<const RowMajor>(m.data().data(), m.rows(), m.cols());
}

Matrix fromEigen(const Dense &d) {
  Matrix m(d.rows(), d.cols());
  Eigen::Map<RowMajor>(m.data().data(), d.rows(), d.cols()) = d;
  return m;
}

/// Symmetric per-row int8 quantization (127 levels, ties to even): the
/// integer levels, held in float where they are exact, and each row's scale.
struct QuantizedRows {
  Eigen::MatrixXf levels;
  Eigen::VectorXd scales;

  /// The dequantized rows, levels · scale.
  Dense dequantized() const {
    return scales.asDiagonal() * levels.cast<double>();
  }
};

QuantizedRows quantizeRows(const Dense &x) {
  QuantizedRows q{Eigen::MatrixXf(x.rows(), x.cols()),
                  Eigen::VectorXd::Zero(x.rows())};
  for (Eigen::Index r = 0; r < x.rows(); ++r) {
    double m = x.row(r).cwiseAbs().maxCoeff();
    if (!(m > 0.0)) {
      q.levels.row(r).setZero();
      continue;
    }
    double s = m / 127.0;
    q.scales(r) = s;
    for (Eigen::Index c = 0; c < x.cols(); ++c)
      q.levels(r, c) = static_cast<float>(
          std::clamp(std::nearbyint(x(r, c) / s), -127.0, 127.0));
  }
  return q;
}

/// The product of two quantized matrices, x · wᵀ. The levels multiply in
/// float: products of integers up to 127 add up exactly while K · 127² <
/// 2²⁴ (K ≤ 1040), and within float rounding (about 1e-7 relative) beyond.
/// Single precision doubles the SIMD width of the search's largest GEMM.
Dense quantizedProduct(const QuantizedRows &x, const QuantizedRows &w) {
  Eigen::MatrixXf p = x.levels * w.levels.transpose();
  return x.scales.asDiagonal() * p.cast<double>() * w.scales.asDiagonal();
}

/// The data of one activation in Eigen form, with the float outputs.
struct Problem {
  Dense x;
  std::vector<Dense> w, y;
  double count = 0.0, signal = 0.0;

  explicit Problem(const ActivationSamples &data) : x(toEigen(*data.rows)) {
    for (const Matrix *m : data.weights) {
      w.push_back(toEigen(*m));
      y.push_back(x * w.back().transpose());
      count += static_cast<double>(y.back().size());
      signal += y.back().squaredNorm();
    }
  }

  /// The error for transformed activations `xt` and weights `wt(i)`.
  template <typename WeightFn>
  TransformError score(const Dense &xt, WeightFn wt) const {
    QuantizedRows qx = quantizeRows(xt);
    double noise = 0.0;
    for (size_t i = 0; i < w.size(); ++i)
      noise += (quantizedProduct(qx, quantizeRows(wt(i))) - y[i]).squaredNorm();
    return toError(noise);
  }

  TransformError toError(double noise) const {
    TransformError e;
    e.mse = noise / count;
    e.sqnrDb = noise > 0.0 ? 10.0 * std::log10(signal / noise)
                           : std::numeric_limits<double>::infinity();
    return e;
  }
};

/// The error of smoothing scales `s` (activations divided, weights
/// multiplied) on the problem `p`.
TransformError scoreSmooth(const Problem &p, const Eigen::VectorXd &s) {
  Dense xt = p.x * s.cwiseInverse().asDiagonal();
  return p.score(xt,
                 [&](size_t i) -> Dense { return p.w[i] * s.asDiagonal(); });
}

} // namespace

llvm::Error calibration::validateSamples(const ActivationSamples &data) {
  if (!data.rows || data.rows->rows() == 0)
    return makeError("no calibration rows were sampled (run "
                     "quant-xform-calibrate with keep-rows > 0 on at least "
                     "one sample)");
  int64_t k = data.rows->cols();
  if (data.weights.empty())
    return makeError("the activation has no readers");
  for (const Matrix *w : data.weights)
    if (w->cols() != k)
      return makeError("a reader's weight has " + std::to_string(w->cols()) +
                       " input channels, the samples have " +
                       std::to_string(k));
  if (!data.rows->allFinite())
    return makeError("the sampled rows hold NaN or Inf");
  for (const Matrix *w : data.weights)
    if (!w->allFinite())
      return makeError("a reader's weight holds NaN or Inf");
  if (llvm::all_of(data.rows->data(), [](double v) { return v == 0.0; }))
    return makeError("every sampled row is zero (degenerate calibration "
                     "data)");
  return llvm::Error::success();
}

llvm::Expected<TransformError>
calibration::measureIdentity(const ActivationSamples &data) {
  if (llvm::Error e = validateSamples(data))
    return std::move(e);
  Problem p(data);
  return p.score(p.x, [&](size_t i) -> const Dense & { return p.w[i]; });
}

llvm::Expected<TransformError>
calibration::measureTransform(const ActivationSamples &data, const Matrix &f,
                              const Matrix &g) {
  if (llvm::Error e = validateSamples(data))
    return std::move(e);
  int64_t k = data.rows->cols();
  if (f.rows() != k || f.cols() != k || g.rows() != k || g.cols() != k)
    return makeError("the transform is not " + std::to_string(k) + " x " +
                     std::to_string(k));
  Problem p(data);
  Dense fe = toEigen(f), ge = toEigen(g);
  return p.score(p.x * fe, [&](size_t i) -> Dense { return p.w[i] * ge; });
}

llvm::Expected<TransformError>
calibration::measureSmooth(const ActivationSamples &data,
                           llvm::ArrayRef<double> scales) {
  if (llvm::Error e = validateSamples(data))
    return std::move(e);
  if (static_cast<int64_t>(scales.size()) != data.rows->cols())
    return makeError("there are " + std::to_string(scales.size()) +
                     " scales for " + std::to_string(data.rows->cols()) +
                     " channels");
  Eigen::VectorXd s(scales.size());
  for (size_t j = 0; j < scales.size(); ++j) {
    if (!(scales[j] > 0.0) || !std::isfinite(scales[j]))
      return makeError("smoothing scale " + std::to_string(j) + " is " +
                       std::to_string(scales[j]) + " (must be > 0)");
    s[j] = scales[j];
  }
  return scoreSmooth(Problem(data), s);
}

std::vector<double>
calibration::smoothQuantScales(llvm::ArrayRef<double> absMax,
                               llvm::ArrayRef<double> wMax, double alpha) {
  std::vector<double> s(absMax.size(), 1.0);
  for (size_t j = 0; j < absMax.size() && j < wMax.size(); ++j) {
    if (!(absMax[j] > 0.0) || !(wMax[j] > 0.0))
      continue;
    double v = std::pow(absMax[j], alpha) / std::pow(wMax[j], 1.0 - alpha);
    s[j] = std::clamp(v, 1e-5, 1e5);
  }
  return s;
}

std::vector<double>
calibration::weightColumnMax(llvm::ArrayRef<const Matrix *> weights) {
  std::vector<double> m(weights.empty() ? 0 : weights.front()->cols(), 0.0);
  for (const Matrix *w : weights)
    for (int64_t r = 0; r < w->rows(); ++r)
      for (int64_t j = 0; j < w->cols() && j < int64_t(m.size()); ++j)
        m[j] = std::max(m[j], std::fabs((*w)(r, j)));
  return m;
}

llvm::Expected<SmoothSearchResult>
calibration::searchSmoothAlpha(const ActivationSamples &data,
                               llvm::ArrayRef<double> absMax,
                               llvm::ArrayRef<double> grid) {
  if (grid.empty())
    return makeError("the alpha grid is empty");
  for (double a : grid)
    if (!(a >= 0.0 && a <= 1.0))
      return makeError("alpha " + std::to_string(a) + " is outside [0, 1]");
  if (llvm::Error e = validateSamples(data))
    return std::move(e);
  if (static_cast<int64_t>(absMax.size()) != data.rows->cols())
    return makeError("the statistics have " + std::to_string(absMax.size()) +
                     " channels, the samples " +
                     std::to_string(data.rows->cols()));
  if (llvm::any_of(absMax, [](double v) { return !std::isfinite(v); }))
    return makeError("the calibrated maxima hold NaN or Inf");
  std::vector<double> wMax = weightColumnMax(data.weights);
  Problem p(data); // One product x · wᵀ for the whole grid.
  SmoothSearchResult best;
  bool found = false;
  for (double a : grid) {
    std::vector<double> s = smoothQuantScales(absMax, wMax, a);
    // smoothQuantScales keeps every scale in [1e-5, 1e5]: no check needed.
    TransformError err =
        scoreSmooth(p, Eigen::Map<const Eigen::VectorXd>(s.data(), s.size()));
    best.tried.push_back({a, err});
    bool better = !found || err.mse < best.error.mse ||
                  (err.mse == best.error.mse && a < best.alpha);
    if (better) {
      best.alpha = a;
      best.scales = std::move(s);
      best.error = err;
      found = true;
    }
  }
  return best;
}

llvm::Expected<AffineResult> calibration::learnAffine(
    const ActivationSamples &data, llvm::ArrayRef<double> init,
    const AffineOptions &options,
    const std::function<void(int64_t, int64_t, double)> &progress) {
  if (llvm::Error e = validateSamples(data))
    return std::move(e);
  const int64_t k = data.rows->cols();
  if (static_cast<int64_t>(init.size()) != k)
    return makeError("the initial diagonal has " + std::to_string(init.size()) +
                     " entries for " + std::to_string(k) + " channels");
  for (double v : init)
    if (!(v > 0.0) || !std::isfinite(v))
      return makeError("the initial diagonal holds " + std::to_string(v) +
                       " (entries must be finite and > 0)");
  if (options.epochs < 1 || options.stepsPerEpoch < 1)
    return makeError("epochs and steps must be >= 1");
  if (!(options.stepSize > 0.0) || !std::isfinite(options.stepSize))
    return makeError("the step size must be > 0");
  if (!(options.stability >= 0.0 && options.stability <= 1.0))
    return makeError("the stability factor must be in [0, 1]");

  Problem p(data);
  const int64_t maxBand =
      options.maxBand < 0 ? k - 1 : std::min(options.maxBand, k - 1);

  // The error of A, and (with `grad`) its straight-through gradient. No
  // inverse is formed: X·A⁻¹ and the gradient's A⁻ᵀ products are LU solves,
  // and the gradient through B = A⁻¹ is -(XB)ᵀ·(dXB·Bᵀ), O(R·K²) for R
  // sampled rows instead of O(K³).
  // The weights' products with A and the gradient's R × N × K products run
  // in single precision (twice the SIMD width); the error, the LU solves
  // and A itself stay in double.
  std::vector<Eigen::MatrixXf> wf;
  for (const Dense &w : p.w)
    wf.push_back(w.cast<float>());
  auto evaluate = [&](const Dense &a, Dense *grad) -> std::optional<double> {
    Eigen::PartialPivLU<Dense> luT(a.transpose());
    Dense xa = luT.solve(p.x.transpose()).transpose(); // X·A⁻¹
    if (!xa.allFinite())
      return std::nullopt;
    QuantizedRows qx = quantizeRows(xa);
    Eigen::MatrixXf at = a.transpose().cast<float>();
    double noise = 0.0;
    Eigen::MatrixXf dxa, gw;
    if (grad) {
      dxa = Eigen::MatrixXf::Zero(xa.rows(), k);
      gw = Eigen::MatrixXf::Zero(xa.rows(), k);
    }
    for (size_t i = 0; i < p.w.size(); ++i) {
      Eigen::MatrixXf wa = wf[i] * at;
      QuantizedRows qw = quantizeRows(wa.cast<double>());
      Dense e = quantizedProduct(qx, qw) - p.y[i];
      noise += e.squaredNorm();
      if (grad) {
        Eigen::MatrixXf g = ((2.0 / p.count) * e).cast<float>();
        // g · qw = (g · diag(scales)) · levels.
        dxa.noalias() +=
            (g * qw.scales.cast<float>().asDiagonal()) * qw.levels; // R × K
        gw.noalias() += g * wf[i];                                  // R × K
      }
    }
    if (grad) {
      // dL/dA = qxᵀ·Σ gᵢWᵢ (weight side) - xaᵀ·(dxa·A⁻ᵀ) (activation side).
      Eigen::PartialPivLU<Dense> lu(a);
      Dense dxaB = lu.solve(dxa.cast<double>().transpose()).transpose();
      Dense dA = qx.dequantized().transpose() * gw.cast<double>();
      dA.noalias() -= xa.transpose() * dxaB;
      *grad = std::move(dA);
    }
    return noise / p.count;
  };
  // The reported errors: x·A⁻¹ and W·Aᵀ in double, as measureTransform.
  auto exactError = [&](const Dense &a) {
    Eigen::PartialPivLU<Dense> luT(a.transpose());
    Dense xa = luT.solve(p.x.transpose()).transpose();
    return p.score(xa,
                   [&](size_t i) -> Dense { return p.w[i] * a.transpose(); });
  };
  auto dominant = [&](const Dense &a) {
    for (int64_t i = 0; i < k; ++i) {
      double off = a.row(i).cwiseAbs().sum() - std::fabs(a(i, i));
      if (!(std::fabs(a(i, i)) > off))
        return false;
    }
    return true;
  };

  Dense a = Dense::Zero(k, k);
  for (int64_t j = 0; j < k; ++j)
    a(j, j) = init[j];
  AffineResult result;
  std::optional<double> loss = evaluate(a, nullptr);
  if (!loss || !std::isfinite(*loss))
    return makeError("the initial transform gives a non-finite error");
  result.initial = exactError(a);
  result.history.push_back(*loss);

  double step = -1.0; // Set from the first gradient.
  for (int64_t epoch = 0; epoch < options.epochs; ++epoch) {
    // The gradual mask: the band grows linearly to maxBand.
    int64_t band =
        (maxBand * (epoch + 1) + options.epochs - 1) / options.epochs;
    if (options.epochs > 1 && epoch == 0)
      band = 0; // The first epoch frees the diagonal only.
    for (int64_t s = 0; s < options.stepsPerEpoch; ++s) {
      Dense grad;
      if (!evaluate(a, &grad))
        break;
      for (int64_t i = 0; i < k; ++i)
        for (int64_t j = 0; j < k; ++j) {
          int64_t d = std::abs(i - j);
          if (d > band)
            grad(i, j) = 0.0;
          else if (d > 0)
            grad(i, j) *= options.stability;
        }
      double gnorm = grad.norm();
      if (!(gnorm > 0.0) || !std::isfinite(gnorm))
        break;
      if (step < 0.0)
        step = options.stepSize * a.norm() / gnorm;
      // Backtracking: accept only a lower error that keeps A dominant.
      bool accepted = false;
      for (int tries = 0; tries < 8 && !accepted; ++tries) {
        Dense next = a - step * grad;
        if (dominant(next)) {
          std::optional<double> l = evaluate(next, nullptr);
          if (l && *l < *loss) {
            a = std::move(next);
            loss = l;
            accepted = true;
            break;
          }
        }
        step *= 0.5;
      }
      if (!accepted)
        break; // No progress at this band; widen it.
      ++result.accepted;
      result.history.push_back(*loss);
      step *= 1.5;
    }
    if (progress)
      progress(epoch + 1, options.epochs, *loss);
  }
  result.a = fromEigen(a);
  result.final = exactError(a);
  return result;
}
