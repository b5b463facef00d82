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

/// Symmetric per-row int8 quantize-dequantize (127 levels, ties to even).
Dense quantizeRows(const Dense &x) {
  Dense q(x.rows(), x.cols());
  for (Eigen::Index r = 0; r < x.rows(); ++r) {
    double m = x.row(r).cwiseAbs().maxCoeff();
    if (!(m > 0.0)) {
      q.row(r).setZero();
      continue;
    }
    double s = m / 127.0;
    for (Eigen::Index c = 0; c < x.cols(); ++c)
      q(r, c) = std::clamp(std::nearbyint(x(r, c) / s), -127.0, 127.0) * s;
  }
  return q;
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
    Dense qx = quantizeRows(xt);
    double noise = 0.0;
    for (size_t i = 0; i < w.size(); ++i)
      noise += (qx * quantizeRows(wt(i)).transpose() - y[i]).squaredNorm();
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
  Problem p(data);
  Dense xt = p.x * s.cwiseInverse().asDiagonal();
  return p.score(xt,
                 [&](size_t i) -> Dense { return p.w[i] * s.asDiagonal(); });
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
  SmoothSearchResult best;
  bool found = false;
  for (double a : grid) {
    std::vector<double> s = smoothQuantScales(absMax, wMax, a);
    llvm::Expected<TransformError> err = measureSmooth(data, s);
    if (!err)
      return err.takeError();
    best.tried.push_back({a, *err});
    bool better = !found || err->mse < best.error.mse ||
                  (err->mse == best.error.mse && a < best.alpha);
    if (better) {
      best.alpha = a;
      best.scales = std::move(s);
      best.error = *err;
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

  // The error of A, and (with `grad`) its straight-through gradient.
  auto evaluate = [&](const Dense &a, Dense *grad) -> std::optional<double> {
    Eigen::PartialPivLU<Dense> lu(a);
    Dense b = lu.inverse();
    if (!b.allFinite())
      return std::nullopt;
    Dense xa = p.x * b;
    Dense qx = quantizeRows(xa);
    double noise = 0.0;
    Dense dxa, dA;
    if (grad) {
      dxa = Dense::Zero(xa.rows(), k);
      dA = Dense::Zero(k, k);
    }
    for (size_t i = 0; i < p.w.size(); ++i) {
      Dense wa = p.w[i] * a.transpose();
      Dense qw = quantizeRows(wa);
      Dense e = qx * qw.transpose() - p.y[i];
      noise += e.squaredNorm();
      if (grad) {
        Dense g = (2.0 / p.count) * e;
        dxa.noalias() += g * qw;                                   // R × K
        dA.noalias() += (g.transpose() * qx).transpose() * p.w[i]; // K × K
      }
    }
    if (grad) {
      Dense db = p.x.transpose() * dxa; // dL/dB, B = A⁻¹
      dA.noalias() -= b.transpose() * db * b.transpose();
      *grad = std::move(dA);
    }
    return noise / p.count;
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
  result.initial = p.toError(*loss * p.count);
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
  result.final = p.toError(*loss * p.count);
  return result;
}
