//===- RangeChoosers.h - clipping thresholds from a histogram ----*- C++
//-*-===//
//
// Range choosers for static (calibrated) symmetric quantization: given a
// histogram of |x| over [0, max] they return the clipping threshold t, and
// the scale is t / qmax.
//
//   min/max      t = max
//   percentile   the smallest bin edge below which p% of the values lie
//   MSE          the t minimizing the expected squared quantization error
//                (rounding inside [-t, t], clipping outside)
//   KL           TensorRT's entropy calibration: the t minimizing
//                KL(P ‖ Q) between the clipped reference distribution P
//                and its quantized version Q
//   EMA          t = the largest per-channel moving average of the
//                per-run |x| maximum (from the observers, not a
//                histogram)
//
//===----------------------------------------------------------------------===//

#ifndef QUANT_XFORM_CALIBRATION_RANGECHOOSERS_H
#define QUANT_XFORM_CALIBRATION_RANGECHOOSERS_H

#include "mlir/Support/LLVM.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <optional>
#include <string>

namespace mlir::quant_xform::calibration {

/// How to choose the clipping threshold.
enum class RangeMethod { MinMax, Percentile, Mse, Kl, Ema };

/// The option value of `method`: "minmax", "percentile", "mse", "kl" or
/// "ema".
llvm::StringRef rangeMethodName(RangeMethod method);

/// A histogram of |x|: `counts[i]` values fell in
/// [i·max/B, (i+1)·max/B) (the last bin includes max).
struct Histogram {
  std::vector<int64_t> counts;
  double max = 0.0;
  double binWidth() const { return max / static_cast<double>(counts.size()); }
  int64_t total() const;
};

/// Options of the choosers.
struct RangeOptions {
  /// Percentile in (0, 100] for RangeMethod::Percentile.
  double percentile = 99.99;
  /// Number of quantization levels on one side (127 for int8 symmetric).
  int64_t levels = 127;
};

/// The clipping threshold for `hist` with `method`. Errors (never a NaN or
/// zero threshold): an empty histogram, a non-finite or non-positive max, a
/// percentile outside (0, 100].
llvm::Expected<double> chooseThreshold(const Histogram &hist,
                                       RangeMethod method,
                                       const RangeOptions &options = {});

/// KL(P ‖ Q) for two unnormalized distributions of the same size, with the
/// TensorRT conventions: both are normalized, bins where P = 0 contribute
/// nothing, bins where P > 0 and Q = 0 are given a tiny Q.
double klDivergence(llvm::ArrayRef<double> p, llvm::ArrayRef<double> q);

} // namespace mlir::quant_xform::calibration

#endif
