//===- ObserverStatistics.h - what calibration observers record ---*- C++
//-*-===//
//
// The statistics of every `quant_xform.observe` op over the calibration
// runs: per-channel ranges, outlier rows, |x| histograms, second moments,
// a reservoir sample of rows and the EMA of per-run maxima. The reference
// evaluator only calls the hook (it treats `observe` as the identity);
// what is recorded, and how, lives here.
//
//===----------------------------------------------------------------------===//

#ifndef QUANT_XFORM_CALIBRATION_OBSERVERSTATISTICS_H
#define QUANT_XFORM_CALIBRATION_OBSERVERSTATISTICS_H

#include "quant-xform/Reference/Evaluator.h"

#include <map>
#include <string>
#include <vector>

namespace mlir::quant_xform::calibration {

/// Statistics an `observe` op records over the calibration runs: per
/// feature (last dimension) over all leading dimensions.
struct ChannelStats {
  std::vector<double> min, max, absMax;
  /// Per channel, the rows with |x| ≥ the outlier threshold.
  std::vector<int64_t> outlierRows;
  /// Σ over rows of x·xᵀ (row-major K × K); empty unless second moments
  /// are collected and K ≤ kMaxSecondMomentSize.
  std::vector<double> secondMoment;
  /// Histogram of |x| over [0, histogramMax] (values above go to the last
  /// bin); empty unless a range was given for this observer.
  std::vector<int64_t> histogram;
  double histogramMax = 0.0;
  /// Number of rows (tokens) seen.
  int64_t rows = 0;
  /// A uniform sample (reservoir) of at most keep-rows rows, row-major
  /// `sampledRows.size() / K` × K; empty unless kept.
  std::vector<double> sampledRows;
  /// Per channel, the exponential moving average of each run's |x| maximum
  /// (the first `warm-up` runs are averaged plainly); empty unless EMAs
  /// are tracked.
  std::vector<double> emaAbsMax;
  /// Observer invocations (runs) seen.
  int64_t runs = 0;
};

/// Bins of the observers' |x| histograms (TensorRT uses 2048).
inline constexpr int64_t kHistogramBins = 2048;

/// The largest feature size for which observers keep a K × K second moment.
inline constexpr int64_t kMaxSecondMomentSize = 4096;

/// Records what every observer sees while an Evaluator runs (install it
/// with `Evaluator::setObserveHook`).
class ObserverStatistics : public reference::ObserveHook {
public:
  /// Counts, per channel, the rows with |x| ≥ `threshold` (LLM.int8()'s
  /// outlier magnitude; 6.0 unless set).
  void setOutlierThreshold(double threshold) { outlierThreshold = threshold; }
  /// Observers named in `ranges` also histogram |x| over [0, range].
  void setHistogramRanges(std::map<std::string, double> ranges) {
    histogramRanges = std::move(ranges);
  }
  /// Observers of inputs with `mask.size()` rows observe only the rows
  /// where `mask` is true (e.g. real tokens, not padding); empty: all rows.
  void setRowMask(std::vector<bool> mask) { rowMask = std::move(mask); }
  /// Keeps a uniform sample of at most `rows` input rows (0: none).
  void setKeepRows(int64_t rows) { keepRows = rows; }
  /// Tracks an exponential moving average of the per-run |x| maximum per
  /// channel: the first `warmup` runs are averaged, then
  /// ema ← decay·ema + (1 − decay)·batch. `decay` in [0, 1).
  void setEma(double decay, int64_t warmup) {
    emaDecay = decay;
    emaWarmup = warmup;
  }
  /// Accumulates the K × K second moment Σ x·xᵀ.
  void setCollectSecondMoment(bool collect) { collectSecondMoment = collect; }

  /// The statistics recorded so far, by observer name.
  const std::map<std::string, ChannelStats> &byObserver() const {
    return observed;
  }

  /// Adds one run of observer `op` on `x` (the hook the evaluator calls).
  LogicalResult observe(ObserveOp op, const io::Tensor &x) override;

private:
  std::map<std::string, ChannelStats> observed;
  double outlierThreshold = 6.0;
  bool collectSecondMoment = false;
  int64_t keepRows = 0;
  std::vector<bool> rowMask;
  double emaDecay = -1.0; // < 0: no EMA.
  int64_t emaWarmup = 0;
  std::map<std::string, double> histogramRanges;
};

} // namespace mlir::quant_xform::calibration

#endif
