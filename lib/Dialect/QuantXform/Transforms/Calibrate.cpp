//===- Calibrate.cpp - attach input statistics to every linear -----------===//
//
// Runs the function in float through the reference evaluator on calibration
// inputs (.npy files, or seeded N(0, 1) samples) with an observer in front
// of every linear, then attaches what the observers saw to the linears as
// `quant_xform.stats`. The module itself is not otherwise changed.
//
//===----------------------------------------------------------------------===//

#include "quant-xform/Dialect/QuantXform/Transforms/Passes.h"

#include "TransformUtils.h"
#include "quant-xform/Calibration/CalibrationRuns.h"
#include "quant-xform/Dialect/QuantXform/IR/QuantXformAttrNames.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"

#include <cmath>
#include <map>

namespace mlir::quant_xform {
#define GEN_PASS_DEF_CALIBRATE
#include "quant-xform/Dialect/QuantXform/Transforms/Passes.h.inc"
} // namespace mlir::quant_xform

using namespace mlir;
using namespace mlir::quant_xform;

namespace {

/// The observer name for the `index`-th linear.
static std::string observerName(size_t index) {
  return "quant_xform.calibrate.linear" + std::to_string(index);
}

struct Calibrate : public quant_xform::impl::CalibrateBase<Calibrate> {
  using CalibrateBase::CalibrateBase;

  /// Per observer: the |x| histogram and its upper edge (second pass).
  std::map<std::string, std::pair<std::vector<int64_t>, double>> histograms;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (!(outlierThreshold > 0.0) || !std::isfinite(outlierThreshold)) {
      module.emitError() << "quant-xform-calibrate: outlier-threshold must be "
                            "a finite value > 0, got "
                         << outlierThreshold;
      return signalPassFailure();
    }
    if (inputs.empty() && samples <= 0) {
      module.emitError() << "quant-xform-calibrate: samples must be > 0, got "
                         << samples.getValue();
      return signalPassFailure();
    }
    if (keepRows < 0 || keepRows > 65536) {
      module.emitError() << "quant-xform-calibrate: keep-rows must be in "
                            "[0, 65536], got "
                         << keepRows.getValue();
      return signalPassFailure();
    }
    if (ema && (!(emaDecay >= 0.0 && emaDecay < 1.0) || emaWarmup < 1)) {
      module.emitError() << "quant-xform-calibrate: ema-decay must be in "
                            "[0, 1) and ema-warmup >= 1, got "
                         << emaDecay.getValue() << " and "
                         << emaWarmup.getValue();
      return signalPassFailure();
    }
    bool hasLinears = false;
    module.walk([&](LinearOp) { hasLinears = true; });
    if (!hasLinears)
      return; // Nothing to calibrate.
    FailureOr<std::string> function = findEntry(module);
    if (failed(function))
      return signalPassFailure();
    if (rowMask >= 0) {
      auto fn = module.lookupSymbol<func::FuncOp>(*function);
      auto type =
          rowMask < static_cast<int64_t>(fn.getNumArguments())
              ? dyn_cast<RankedTensorType>(fn.getArgumentTypes()[rowMask])
              : RankedTensorType();
      if (!type || type.getRank() != 1) {
        module.emitError() << "quant-xform-calibrate: row-mask="
                           << rowMask.getValue() << " must name a 1-D "
                           << "argument of '" << *function << "'";
        return signalPassFailure();
      }
    }

    // Observe a copy, so that the module keeps no observers.
    OwningOpRef<ModuleOp> observed(cast<ModuleOp>(module->clone()));
    SmallVector<LinearOp> linears, observedLinears;
    module.walk([&](LinearOp op) { linears.push_back(op); });
    observed->walk([&](LinearOp op) { observedLinears.push_back(op); });
    for (auto [index, op] : llvm::enumerate(observedLinears)) {
      OpBuilder b(op);
      auto obs = ObserveOp::create(b, op.getLoc(), op.getInput().getType(),
                                   op.getInput(),
                                   b.getStringAttr(observerName(index)));
      op.getInputMutable().assign(obs.getResult());
    }

    calibration::CalibrationSamples samples = calibrationSamples();
    calibration::ObserverStatistics statistics;
    statistics.setOutlierThreshold(outlierThreshold);
    statistics.setCollectSecondMoment(secondMoment);
    statistics.setKeepRows(keepRows);
    if (ema)
      statistics.setEma(emaDecay, emaWarmup);
    if (failed(calibration::runCalibrationSamples(*observed, *function, samples,
                                                  statistics)))
      return signalPassFailure();
    if (histogram && failed(collectHistograms(*observed, *function, samples,
                                              statistics.byObserver())))
      return signalPassFailure();

    const auto &stats = statistics.byObserver();
    SmallVector<LinearOp> unreached;
    llvm::StringMap<DictionaryAttr> byLayer;
    for (auto [index, op] : llvm::enumerate(linears)) {
      auto it = stats.find(observerName(index));
      if (it == stats.end()) {
        unreached.push_back(op);
        continue;
      }
      FailureOr<DictionaryAttr> attr =
          toAttribute(op, it->second, histograms[it->first]);
      if (failed(attr))
        return signalPassFailure();
      op->setAttr(kStatsAttrName, *attr);
      if (auto layer = op->getAttrOfType<StringAttr>(kLayerAttrName))
        byLayer.try_emplace(layer.getValue(), *attr);
    }
    shareStatsByLayer(unreached, byLayer);
  }

  /// Statistics describe a layer, not one op: a linear that the entry
  /// function does not reach (the same layer in a decode function, say)
  /// takes those of the calibrated linear with its `quant_xform.layer`
  /// name and input width; the rest get a warning.
  static void
  shareStatsByLayer(ArrayRef<LinearOp> unreached,
                    const llvm::StringMap<DictionaryAttr> &byLayer) {
    for (LinearOp op : unreached) {
      auto layer = op->getAttrOfType<StringAttr>(kLayerAttrName);
      auto it = layer ? byLayer.find(layer.getValue()) : byLayer.end();
      if (it != byLayer.end()) {
        auto absmax = it->second.getAs<ElementsAttr>("absmax");
        auto input = cast<ShapedType>(op.getInput().getType());
        if (absmax && absmax.getNumElements() == input.getShape().back()) {
          op->setAttr(kStatsAttrName, it->second);
          continue;
        }
      }
      op.emitWarning() << "linear '" << getLayerName(op)
                       << "' was not reached during calibration; it gets "
                          "no statistics";
    }
  }

  /// The function to run: the `entry` option, else `main`, else the only
  /// function.
  FailureOr<std::string> findEntry(ModuleOp module) {
    SmallVector<func::FuncOp> funcs;
    module.walk([&](func::FuncOp f) {
      if (!f.isExternal())
        funcs.push_back(f);
    });
    if (!entry.empty()) {
      if (!module.lookupSymbol<func::FuncOp>(entry)) {
        module.emitError() << "quant-xform-calibrate: no function named '"
                           << entry << "'";
        return failure();
      }
      return std::string(entry);
    }
    if (module.lookupSymbol<func::FuncOp>("main"))
      return std::string("main");
    if (funcs.size() == 1)
      return funcs.front().getSymName().str();
    module.emitError() << "quant-xform-calibrate: " << funcs.size()
                       << " functions and none named 'main'; choose one "
                          "with entry=<name>";
    return failure();
  }

  /// The samples the options name: the .npy `inputs`, else `samples`
  /// seeded random ones; the `row-mask` argument; progress on stderr.
  calibration::CalibrationSamples calibrationSamples() {
    calibration::CalibrationSamples s;
    s.npyFiles.assign(inputs.begin(), inputs.end());
    s.randomSamples = samples;
    s.seed = seed;
    s.rowMaskArgument = rowMask;
    s.rowMaskAdditive = rowMaskAdditive;
    s.progress = [this](int64_t done, int64_t total) {
      reportProgress(done, total);
    };
    return s;
  }

  /// Second pass: per observer, the histogram of |x| over [0, the tensor's
  /// absmax of the first pass].
  LogicalResult collectHistograms(
      ModuleOp observed, StringRef function,
      const calibration::CalibrationSamples &samples,
      const std::map<std::string, calibration::ChannelStats> &first) {
    std::map<std::string, double> ranges;
    for (const auto &[name, st] : first) {
      double m = 0.0;
      for (double v : st.absMax)
        m = std::max(m, v);
      ranges[name] = m;
    }
    calibration::ObserverStatistics second;
    second.setOutlierThreshold(outlierThreshold);
    second.setHistogramRanges(std::move(ranges));
    if (failed(calibration::runCalibrationSamples(observed, function, samples,
                                                  second)))
      return failure();
    for (const auto &[name, st] : second.byObserver())
      histograms[name] = {st.histogram, st.histogramMax};
    return success();
  }

  /// With `progress`, one line per sample on stderr.
  void reportProgress(int64_t done, int64_t total) {
    if (!progress)
      return;
    llvm::errs() << "quant-xform-calibrate: " << done << "/" << total
                 << " samples\n";
    llvm::errs().flush();
  }

  /// The `quant_xform.stats` dictionary for what one observer saw; an error
  /// at `op` when the statistics are not finite.
  FailureOr<DictionaryAttr>
  toAttribute(LinearOp op, const calibration::ChannelStats &s,
              const std::pair<std::vector<int64_t>, double> &hist) {
    auto bad = [](double v) { return !std::isfinite(v); };
    if (llvm::any_of(s.min, bad) || llvm::any_of(s.max, bad) ||
        llvm::any_of(s.secondMoment, bad) || llvm::any_of(s.sampledRows, bad) ||
        llvm::any_of(s.emaAbsMax, bad))
      return op.emitError() << "calibration saw NaN or Inf in the input of "
                               "linear '"
                            << getLayerName(op) << "'";
    Builder b(op.getContext());
    int64_t k = s.absMax.size();
    Type f32 = b.getF32Type();
    auto vec = RankedTensorType::get({k}, f32);
    auto asF32 = [&](RankedTensorType type, ArrayRef<double> values) {
      SmallVector<float> f(values.begin(), values.end());
      return DenseElementsAttr::get(type, ArrayRef<float>(f));
    };
    SmallVector<NamedAttribute> entries = {
        b.getNamedAttr("absmax", asF32(vec, s.absMax)),
        b.getNamedAttr("min", asF32(vec, s.min)),
        b.getNamedAttr("max", asF32(vec, s.max)),
        b.getNamedAttr("rows", b.getI64IntegerAttr(s.rows)),
        b.getNamedAttr("outlier_threshold",
                       b.getF64FloatAttr(outlierThreshold)),
        b.getNamedAttr(
            "outlier_rows",
            DenseElementsAttr::get(RankedTensorType::get({k}, b.getI64Type()),
                                   ArrayRef<int64_t>(s.outlierRows)))};
    if (!hist.first.empty() && hist.second > 0.0) {
      entries.push_back(b.getNamedAttr(
          "histogram", DenseElementsAttr::get(
                           RankedTensorType::get({int64_t(hist.first.size())},
                                                 b.getI64Type()),
                           ArrayRef<int64_t>(hist.first))));
      entries.push_back(
          b.getNamedAttr("histogram_max", b.getF64FloatAttr(hist.second)));
    }
    if (!s.sampledRows.empty())
      entries.push_back(b.getNamedAttr(
          "sampled_rows",
          asF32(RankedTensorType::get(
                    {static_cast<int64_t>(s.sampledRows.size()) / k, k}, f32),
                s.sampledRows)));
    if (!s.emaAbsMax.empty())
      entries.push_back(b.getNamedAttr("ema_absmax", asF32(vec, s.emaAbsMax)));
    if (!s.secondMoment.empty()) {
      std::vector<double> mean = s.secondMoment;
      for (double &v : mean)
        v /= static_cast<double>(s.rows);
      entries.push_back(b.getNamedAttr(
          "second_moment", asF32(RankedTensorType::get({k, k}, f32), mean)));
    }
    return b.getDictionaryAttr(entries);
  }
};

} // namespace
