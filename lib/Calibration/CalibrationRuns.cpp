//===- CalibrationRuns.cpp - run calibration samples through observers ----===//
//
// Reads the calibration inputs (.npy files or stacks of samples) or makes
// seeded random ones, and runs them one sample at a time through the
// reference evaluator with an ObserverStatistics hook.
//
//===----------------------------------------------------------------------===//

#include "quant-xform/Calibration/CalibrationRuns.h"

#include "quant-xform/IO/Npy.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

using namespace mlir;
using namespace mlir::quant_xform;
using namespace mlir::quant_xform::calibration;
using io::Tensor;

/// Tells `stats` this sample's row mask: the rows where the row-mask
/// argument is ≠ 0 (= 0 when additive).
static void setRowMask(ObserverStatistics &stats,
                       const CalibrationSamples &samples,
                       ArrayRef<Tensor> args) {
  int64_t index = samples.rowMaskArgument;
  if (index < 0 || index >= static_cast<int64_t>(args.size()))
    return;
  const Tensor &m = args[index];
  std::vector<bool> keep(m.numElements());
  for (int64_t i = 0, e = m.numElements(); i < e; ++i)
    keep[i] = (m.isFloat() ? m.getFloat(i) != 0.0 : m.getInt(i) != 0) !=
              samples.rowMaskAdditive;
  stats.setRowMask(std::move(keep));
}

/// Reports (done, total) when a progress callback is set.
static void report(const CalibrationSamples &samples, int64_t done,
                   int64_t total) {
  if (samples.progress)
    samples.progress(done, total);
}

/// Runs `function` on seeded random arguments, `randomSamples` times.
static LogicalResult runRandomSamples(ModuleOp module, StringRef function,
                                      const CalibrationSamples &samples,
                                      reference::Evaluator &evaluator,
                                      ObserverStatistics &stats) {
  for (int64_t s = 0; s < samples.randomSamples; ++s) {
    report(samples, s, samples.randomSamples);
    FailureOr<SmallVector<Tensor>> args =
        reference::makeRandomArguments(module, function, samples.seed + s);
    if (failed(args))
      return failure();
    setRowMask(stats, samples, *args);
    if (failed(evaluator.run(function, *args)))
      return failure();
  }
  report(samples, samples.randomSamples, samples.randomSamples);
  return success();
}

/// Reads the .npy inputs of `fn`; `stacked` becomes the number of samples
/// of the stacked ones (-1 when none is stacked).
static FailureOr<SmallVector<Tensor>> readInputs(ModuleOp module,
                                                 func::FuncOp fn,
                                                 ArrayRef<std::string> paths,
                                                 int64_t &stacked) {
  SmallVector<Tensor> files;
  stacked = -1;
  for (auto [i, path] : llvm::enumerate(paths)) {
    llvm::Expected<Tensor> t = io::readNpy(path);
    if (!t)
      return module.emitError()
             << "quant-xform-calibrate: cannot read calibration input '" << path
             << "': " << llvm::toString(t.takeError());
    auto type = dyn_cast<RankedTensorType>(fn.getArgumentTypes()[i]);
    if (type && t->rank() == type.getRank() + 1) {
      if (stacked >= 0 && stacked != t->shape()[0])
        return module.emitError()
               << "quant-xform-calibrate: stacked calibration inputs hold "
               << stacked << " and " << t->shape()[0] << " samples";
      stacked = t->shape()[0];
      if (stacked == 0)
        return module.emitError()
               << "quant-xform-calibrate: '" << path << "' holds no samples";
    }
    files.push_back(std::move(*t));
  }
  return files;
}

/// Sample `s` of a stack of samples along the first dimension.
static Tensor sampleOf(const Tensor &stack, int64_t s) {
  Tensor sample(stack.shape().drop_front(), stack.dtype());
  int64_t n = sample.numElements();
  for (int64_t e = 0; e < n; ++e) {
    if (stack.isFloat())
      sample.setFloat(e, stack.getFloat(s * n + e));
    else
      sample.setInt(e, stack.getInt(s * n + e));
  }
  return sample;
}

LogicalResult
calibration::runCalibrationSamples(ModuleOp module, StringRef function,
                                   const CalibrationSamples &samples,
                                   ObserverStatistics &stats) {
  reference::Evaluator evaluator(module);
  evaluator.setObserveHook(&stats);
  if (samples.npyFiles.empty())
    return runRandomSamples(module, function, samples, evaluator, stats);
  auto fn = module.lookupSymbol<func::FuncOp>(function);
  if (fn.getNumArguments() != samples.npyFiles.size())
    return module.emitError()
           << "quant-xform-calibrate: '" << function << "' takes "
           << fn.getNumArguments() << " arguments but "
           << samples.npyFiles.size() << " calibration inputs were given";
  int64_t stacked;
  FailureOr<SmallVector<Tensor>> files =
      readInputs(module, fn, samples.npyFiles, stacked);
  if (failed(files))
    return failure();
  int64_t count = std::max<int64_t>(stacked, 1);
  for (int64_t s = 0; s < count; ++s) {
    report(samples, s, count);
    SmallVector<Tensor> args;
    for (auto [i, file] : llvm::enumerate(*files)) {
      auto type = dyn_cast<RankedTensorType>(fn.getArgumentTypes()[i]);
      bool isStack = type && file.rank() == type.getRank() + 1;
      args.push_back(isStack ? sampleOf(file, s) : file);
    }
    setRowMask(stats, samples, args);
    if (failed(evaluator.run(function, args)))
      return failure();
  }
  report(samples, count, count);
  return success();
}
