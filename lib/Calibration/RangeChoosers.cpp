//===- RangeChoosers.cpp - clipping thresholds from a histogram ----------===//

#include "quant-xform/Calibration/RangeChoosers.h"

#include "llvm/Support/ErrorHandling.h"

#include <cmath>
#include <limits>
#include <numeric>

using namespace mlir::quant_xform::calibration;

llvm::StringRef
mlir::quant_xform::calibration::rangeMethodName(RangeMethod method) {
  switch (method) {
  case RangeMethod::MinMax:
    return "minmax";
  case RangeMethod::Percentile:
    return "percentile";
  case RangeMethod::Mse:
    return "mse";
  case RangeMethod::Kl:
    return "kl";
  case RangeMethod::Ema:
    return "ema";
  }
  llvm_unreachable("a range method");
}

int64_t Histogram::total() const {
  return std::accumulate(counts.begin(), counts.end(), int64_t(0));
}

double mlir::quant_xform::calibration::klDivergence(llvm::ArrayRef<double> p,
                                                    llvm::ArrayRef<double> q) {
  double sp = 0, sq = 0;
  for (double v : p)
    sp += v;
  for (double v : q)
    sq += v;
  if (sp <= 0 || sq <= 0)
    return std::numeric_limits<double>::infinity();
  double kl = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] <= 0)
      continue;
    double pi = p[i] / sp;
    double qi = std::max(q[i] / sq, 1e-12);
    kl += pi * std::log(pi / qi);
  }
  return kl;
}

/// Expected squared error of quantizing the histogram's mass with clip `t`:
/// each bin's values sit at its center; inside [0, t] the error of rounding
/// to a grid of step t/levels is step²/12, outside it is (x − t)².
static double quantizationMse(const Histogram &h, double t, int64_t levels) {
  double step = t / static_cast<double>(levels);
  double w = h.binWidth(), err = 0;
  for (size_t i = 0; i < h.counts.size(); ++i) {
    if (!h.counts[i])
      continue;
    double x = (static_cast<double>(i) + 0.5) * w;
    double e = x <= t ? step * step / 12.0 : (x - t) * (x - t);
    err += static_cast<double>(h.counts[i]) * e;
  }
  return err;
}

/// TensorRT's entropy calibration: for every candidate number of bins
/// i ∈ [levels+1, B], P = counts[0, i) with the tail mass added to bin
/// i−1; Q = P merged into `levels + 1` groups and spread back uniformly
/// over each group's non-empty bins; the threshold is the upper edge of the
/// best i.
static double klThreshold(const Histogram &h, int64_t levels) {
  int64_t bins = h.counts.size();
  int64_t target = levels + 1; // TensorRT uses 128 for int8.
  if (bins <= target)
    return h.max;
  double best = std::numeric_limits<double>::infinity();
  int64_t bestI = bins;
  std::vector<double> p, q;
  for (int64_t i = target; i <= bins; ++i) {
    p.assign(h.counts.begin(), h.counts.begin() + i);
    double tail = 0;
    for (int64_t j = i; j < bins; ++j)
      tail += static_cast<double>(h.counts[j]);
    p[i - 1] += tail;
    // Q: merge the (unclipped) first i bins into `target` groups.
    q.assign(i, 0.0);
    double perGroup = static_cast<double>(i) / static_cast<double>(target);
    for (int64_t g = 0; g < target; ++g) {
      auto start = static_cast<int64_t>(std::floor(g * perGroup));
      auto stop = g + 1 == target
                      ? i
                      : static_cast<int64_t>(std::floor((g + 1) * perGroup));
      double sum = 0;
      int64_t nonzero = 0;
      for (int64_t j = start; j < stop; ++j) {
        sum += static_cast<double>(h.counts[j]);
        nonzero += h.counts[j] != 0;
      }
      if (!nonzero)
        continue;
      for (int64_t j = start; j < stop; ++j)
        if (h.counts[j] != 0)
          q[j] = sum / static_cast<double>(nonzero);
    }
    double kl = klDivergence(p, q);
    if (kl < best) {
      best = kl;
      bestI = i;
    }
  }
  return static_cast<double>(bestI) * h.binWidth();
}

llvm::Expected<double> mlir::quant_xform::calibration::chooseThreshold(
    const Histogram &hist, RangeMethod method, const RangeOptions &options) {
  auto error = [](const llvm::Twine &msg) {
    return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
  };
  if (hist.counts.empty() || hist.total() <= 0)
    return error("the histogram is empty (no calibration samples)");
  if (!std::isfinite(hist.max) || hist.max <= 0.0)
    return error("the histogram's range is not a positive finite number "
                 "(all-zero or NaN calibration data)");
  if (options.levels < 1)
    return error("the number of quantization levels must be >= 1");
  switch (method) {
  case RangeMethod::Ema:
    return error("the EMA range comes from the observers' moving averages, "
                 "not from a histogram");
  case RangeMethod::MinMax:
    return hist.max;
  case RangeMethod::Percentile: {
    double p = options.percentile;
    if (!(p > 0.0 && p <= 100.0))
      return error("percentile must be in (0, 100], got " +
                   llvm::Twine(std::to_string(p)));
    double want = p / 100.0 * static_cast<double>(hist.total());
    double seen = 0;
    for (size_t i = 0; i < hist.counts.size(); ++i) {
      seen += static_cast<double>(hist.counts[i]);
      if (seen >= want)
        return static_cast<double>(i + 1) * hist.binWidth();
    }
    return hist.max;
  }
  case RangeMethod::Mse: {
    double best = std::numeric_limits<double>::infinity(), bestT = hist.max;
    for (size_t i = 1; i <= hist.counts.size(); ++i) {
      double t = static_cast<double>(i) * hist.binWidth();
      double e = quantizationMse(hist, t, options.levels);
      if (e < best) {
        best = e;
        bestT = t;
      }
    }
    return bestT;
  }
  case RangeMethod::Kl:
    return klThreshold(hist, options.levels);
  }
  return hist.max;
}
