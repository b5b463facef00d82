//===- Evaluator.h - the reference evaluator ----------------------*- C++
//-*-===//
//
// A plain interpreter of quant_xform and of the upstream ops a transformer
// block uses (func, arith, math, tensor, linalg), in float64 and exact
// integers. It is the oracle for every pass and backend: keep it simple,
// direct and independent of the lowering code.
//
//===----------------------------------------------------------------------===//

#ifndef QUANT_XFORM_REFERENCE_EVALUATOR_H
#define QUANT_XFORM_REFERENCE_EVALUATOR_H

#include "quant-xform/Reference/Tensor.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/StringMap.h"

#include <map>

namespace mlir::quant_xform::reference {

/// Statistics an `observe` op records over the calibration runs: per
/// feature (last dimension) over all leading dimensions.
struct ChannelStats {
  std::vector<double> min, max, absMax;
  /// Per channel, the rows with |x| ≥ the evaluator's outlier threshold.
  std::vector<int64_t> outlierRows;
  /// Σ over rows of x·xᵀ (row-major K × K); empty unless the evaluator
  /// collects second moments and K ≤ kMaxSecondMomentSize.
  std::vector<double> secondMoment;
  /// Histogram of |x| over [0, histogramMax] (values above go to the last
  /// bin); empty unless the evaluator was given a range for this observer.
  std::vector<int64_t> histogram;
  double histogramMax = 0.0;
  /// Number of rows (tokens) seen.
  int64_t rows = 0;
  /// A uniform sample (reservoir) of at most the evaluator's keep-rows
  /// rows, row-major `sampledRows.size() / K` × K; empty unless kept.
  std::vector<double> sampledRows;
  /// Per channel, the exponential moving average of each run's |x| maximum
  /// (the first `warm-up` runs are averaged plainly); empty unless the
  /// evaluator tracks EMAs.
  std::vector<double> emaAbsMax;
  /// Observer invocations (runs) seen.
  int64_t runs = 0;
};

/// Bins of the observers' |x| histograms (TensorRT uses 2048).
inline constexpr int64_t kHistogramBins = 2048;

/// The largest feature size for which observers keep a K × K second moment.
inline constexpr int64_t kMaxSecondMomentSize = 4096;

/// Interprets functions of a module on Tensors.
class Evaluator {
public:
  /// Interprets functions of `module`, which must outlive the evaluator.
  explicit Evaluator(ModuleOp module) : module(module) {}

  /// Runs `function` on `args`. Emits a diagnostic (at the offending op) and
  /// fails on unsupported ops, wrong argument counts/shapes/dtypes, or
  /// values the maths cannot take.
  FailureOr<SmallVector<Tensor>> run(StringRef function, ArrayRef<Tensor> args);

  /// Observers count, per channel, the rows with |x| ≥ `threshold`
  /// (LLM.int8()'s outlier magnitude; 6.0 unless set).
  void setOutlierThreshold(double threshold) { outlierThreshold = threshold; }
  double getOutlierThreshold() const { return outlierThreshold; }
  /// Observers named in `ranges` also histogram |x| over [0, range].
  void setHistogramRanges(std::map<std::string, double> ranges) {
    histogramRanges = std::move(ranges);
  }
  /// Observers of inputs with `mask.size()` rows observe only the rows
  /// where `mask` is true (e.g. real tokens, not padding); empty: all rows.
  void setRowMask(std::vector<bool> mask) { rowMask = std::move(mask); }
  /// Observers keep a uniform sample of at most `rows` input rows (0: none).
  void setKeepRows(int64_t rows) { keepRows = rows; }
  /// Observers track an exponential moving average of the per-run |x|
  /// maximum per channel: the first `warmup` runs are averaged, then
  /// ema ← decay·ema + (1 − decay)·batch. `decay` in [0, 1).
  void setEma(double decay, int64_t warmup) {
    emaDecay = decay;
    emaWarmup = warmup;
  }
  /// Whether observers accumulate the K × K second moment Σ x·xᵀ.
  void setCollectSecondMoment(bool collect) { collectSecondMoment = collect; }

  /// Rounds every float result (of ops and of linalg payload steps) to its
  /// declared element type (f32, f16, bf16), as compiled code does, instead
  /// of carrying float64 between ops. Used to compare with backends.
  void setEmulateDeclaredPrecision(bool emulate) { emulatePrecision = emulate; }

  /// Statistics recorded by `quant_xform.observe`, by observer name.
  const std::map<std::string, ChannelStats> &getObserverStats() const {
    return observed;
  }

private:
  ModuleOp module;
  std::map<std::string, ChannelStats> observed;
  double outlierThreshold = 6.0;
  bool collectSecondMoment = false;
  int64_t keepRows = 0;
  std::vector<bool> rowMask;
  double emaDecay = -1.0; // < 0: no EMA.
  int64_t emaWarmup = 0;
  bool emulatePrecision = false;
  std::map<std::string, double> histogramRanges;
  friend class EvaluatorImpl;
};

/// Seeded random arguments for `function` of `module`: floats ~ N(0, 1),
/// integers uniform over their type's range (i8 in [-127, 127]).
FailureOr<SmallVector<Tensor>>
makeRandomArguments(ModuleOp module, StringRef function, uint64_t seed);

} // namespace mlir::quant_xform::reference

#endif
