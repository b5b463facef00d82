//===- CalibrationRuns.h - run calibration samples through observers -*- C++
//-*-===//
//
// The one entry point through which the passes reach calibration: run a
// function that holds `quant_xform.observe` ops in the reference evaluator
// on calibration samples (.npy files, stacks of samples, or seeded random
// inputs) and record what the observers see.
//
//===----------------------------------------------------------------------===//

#ifndef QUANT_XFORM_CALIBRATION_CALIBRATIONRUNS_H
#define QUANT_XFORM_CALIBRATION_CALIBRATIONRUNS_H

#include "quant-xform/Calibration/ObserverStatistics.h"

#include "mlir/IR/BuiltinOps.h"

#include <functional>
#include <string>
#include <vector>

namespace mlir::quant_xform::calibration {

/// Where the calibration samples come from and which rows count.
struct CalibrationSamples {
  /// One .npy file per argument of the function. An input whose rank is one
  /// more than its argument's is a stack of samples along its first
  /// dimension (every stacked input must hold the same number). Empty:
  /// `randomSamples` seeded N(0, 1) samples instead.
  std::vector<std::string> npyFiles;
  int64_t randomSamples = 0;
  uint64_t seed = 0;
  /// The 1-D argument whose entries ≠ 0 (= 0 with `rowMaskAdditive`) mark
  /// the rows the observers see (real tokens, not padding); -1: all rows.
  int64_t rowMaskArgument = -1;
  bool rowMaskAdditive = false;
  /// Called with (samples done, total) before each sample and at the end.
  std::function<void(int64_t, int64_t)> progress;
};

/// Runs `function` of `module` (which holds the observers) in the reference
/// evaluator on every sample, recording into `stats`. Fails with a
/// diagnostic at the module that names the problem: an unreadable input,
/// a count of inputs that is not the function's, stacks of different
/// sizes, an empty stack; or at the op the evaluator could not run.
LogicalResult runCalibrationSamples(ModuleOp module, StringRef function,
                                    const CalibrationSamples &samples,
                                    ObserverStatistics &stats);

} // namespace mlir::quant_xform::calibration

#endif
