//===- ObserveEval.cpp - calibration statistics of quant_xform.observe ----===//
//
// What an observer records when the evaluator runs calibration inputs:
// per-channel ranges, outlier rows, |x| histograms, second moments, a
// reservoir sample of rows and the EMA of per-run maxima.
//
//===----------------------------------------------------------------------===//

#include "EvaluatorImpl.h"

#include "quant-xform/Dialect/QuantXform/IR/QuantXformOps.h"

#include <cmath>

using namespace mlir;
using namespace mlir::quant_xform;
using namespace mlir::quant_xform::reference;

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

LogicalResult EvaluatorImpl::evalObserve(ObserveOp obs) {
  const Tensor &input = lookup(obs.getInput());
  // With a row mask of as many rows as the input, only the kept rows
  // (real tokens, not padding) are observed.
  Tensor compacted;
  const std::vector<bool> &keep = parent.rowMask;
  bool masked =
      !keep.empty() && asRows(input).rows == static_cast<int64_t>(keep.size());
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
}
