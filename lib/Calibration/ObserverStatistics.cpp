//===- ObserverStatistics.cpp - what calibration observers record ---------===//
//
// Per-channel ranges, outlier rows, |x| histograms, second moments, a
// reservoir sample of rows and the EMA of per-run maxima, updated each
// time the evaluator passes an `observe` op.
//
//===----------------------------------------------------------------------===//

#include "quant-xform/Calibration/ObserverStatistics.h"

#include "quant-xform/Dialect/QuantXform/IR/QuantXformOps.h"

#include <algorithm>
#include <cmath>

using namespace mlir;
using namespace mlir::quant_xform;
using namespace mlir::quant_xform::calibration;
using io::Tensor;

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

/// The rows of `x` where `keep` is true, as a `[kept, K]` tensor.
static Tensor keptRows(const Tensor &x, const std::vector<bool> &keep) {
  Rows in = asRows(x);
  int64_t kept = llvm::count(keep, true);
  Tensor compacted({kept, in.k}, x.dtype());
  for (int64_t m = 0, o = 0; m < in.rows; ++m) {
    if (!keep[m])
      continue;
    for (int64_t c = 0; c < in.k; ++c)
      compacted.setFloat(o * in.k + c, x.getFloat(m * in.k + c));
    ++o;
  }
  return compacted;
}

/// Per-channel min, max, |x| max and the count of rows at or above
/// `threshold`.
static void updateRanges(ChannelStats &stats, const Tensor &x, Rows r,
                         double threshold) {
  for (int64_t m = 0; m < r.rows; ++m)
    for (int64_t c = 0; c < r.k; ++c) {
      double v = x.getFloat(m * r.k + c);
      stats.min[c] = std::min(stats.min[c], v);
      stats.max[c] = std::max(stats.max[c], v);
      stats.absMax[c] = std::max(stats.absMax[c], std::fabs(v));
      if (std::fabs(v) >= threshold)
        ++stats.outlierRows[c];
    }
}

/// Adds |x| to a histogram of kHistogramBins bins over [0, `range`] (the
/// range of the first run that had one); NaN is not counted.
static void updateHistogram(ChannelStats &stats, const Tensor &x, Rows r,
                            double range) {
  if (stats.histogram.empty()) {
    stats.histogram.assign(kHistogramBins, 0);
    stats.histogramMax = range;
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

/// Σ x·xᵀ over the rows of `x`.
static void updateSecondMoment(ChannelStats &stats, const Tensor &x, Rows r) {
  for (int64_t m = 0; m < r.rows; ++m)
    for (int64_t i = 0; i < r.k; ++i) {
      double xi = x.getFloat(m * r.k + i);
      for (int64_t j = 0; j < r.k; ++j)
        stats.secondMoment[i * r.k + j] += xi * x.getFloat(m * r.k + j);
    }
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

LogicalResult ObserverStatistics::observe(ObserveOp op, const Tensor &input) {
  // With a row mask of as many rows as the input, only the kept rows
  // (real tokens, not padding) are observed.
  bool masked = !rowMask.empty() &&
                asRows(input).rows == static_cast<int64_t>(rowMask.size());
  Tensor compacted;
  if (masked) {
    compacted = keptRows(input, rowMask);
    if (compacted.numElements() == 0)
      return success();
  }
  const Tensor &x = masked ? compacted : input;
  Rows r = asRows(x);
  ChannelStats &stats = observed[op.getName().str()];
  if (stats.min.empty()) {
    stats.min.assign(r.k, INFINITY);
    stats.max.assign(r.k, -INFINITY);
    stats.absMax.assign(r.k, 0.0);
    stats.outlierRows.assign(r.k, 0);
    if (collectSecondMoment && r.k <= kMaxSecondMomentSize)
      stats.secondMoment.assign(r.k * r.k, 0.0);
  }
  if (static_cast<int64_t>(stats.min.size()) != r.k)
    return op.emitOpError()
           << "observer '" << op.getName() << "' saw feature sizes "
           << stats.min.size() << " and " << r.k;
  updateRanges(stats, x, r, outlierThreshold);
  if (auto it = histogramRanges.find(op.getName().str());
      it != histogramRanges.end() && it->second > 0.0)
    updateHistogram(stats, x, r, it->second);
  if (!stats.secondMoment.empty())
    updateSecondMoment(stats, x, r);
  if (keepRows > 0)
    keepSampledRows(stats, x, r, keepRows);
  if (emaDecay >= 0.0)
    updateEma(stats, x, r, emaDecay, emaWarmup);
  stats.rows += r.rows;
  ++stats.runs;
  return success();
}
