//===- SplitOutliers.cpp - LLM.int8() outlier decomposition of linears ----===//
//
// Rewrites selected linears into `quant_xform.mixed_linear`: the outlier
// feature columns stay in float, the rest is int8 (per-token activations,
// per-channel weights).
//
// Static columns follow the LLM.int8() criteria on calibration statistics:
// a feature k is an outlier of a linear when |x[:, k]| ≥ threshold in at
// least min-token-fraction of the rows, and it is kept when it is an outlier
// in at least min-layer-fraction of the selected linears of the same feature
// size (systematic outliers). With mode=dynamic the threshold is checked at
// run time instead, and no statistics are needed.
//
//===----------------------------------------------------------------------===//

#include "quant-xform/Dialect/QuantXform/Transforms/Passes.h"

#include "TransformUtils.h"
#include "WeightQuantization.h"
#include "quant-xform/Dialect/QuantXform/IR/QuantXformAttrNames.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "llvm/ADT/MapVector.h"

#include <algorithm>
#include <cmath>

namespace mlir::quant_xform {
#define GEN_PASS_DEF_SPLITOUTLIERS
#include "quant-xform/Dialect/QuantXform/Transforms/Passes.h.inc"
} // namespace mlir::quant_xform

using namespace mlir;
using namespace mlir::quant_xform;

namespace {

struct SplitOutliers
    : public quant_xform::impl::SplitOutliersBase<SplitOutliers> {
  using SplitOutliersBase::SplitOutliersBase;

  static constexpr StringLiteral kPass = "quant-xform-split-outliers";

  void runOnOperation() override {
    ModuleOp module = getOperation();
    // The option's parser takes static or dynamic only; None comes from C++.
    if (mode == OutlierSplit::None) {
      module.emitError() << kPass << ": mode must be static or dynamic";
      return signalPassFailure();
    }
    if (!(threshold > 0.0) || !std::isfinite(threshold)) {
      module.emitError() << kPass << ": threshold must be a finite value > 0, "
                         << "got " << threshold;
      return signalPassFailure();
    }
    for (auto [name, v] :
         {std::pair<StringRef, double>{"min-token-fraction", minTokenFraction},
          {"min-layer-fraction", minLayerFraction},
          {"max-columns-fraction", maxColumnsFraction}})
      if (!(v >= 0.0 && v <= 1.0)) {
        module.emitError() << kPass << ": " << name
                           << " must be in [0, 1], got " << v;
        return signalPassFailure();
      }
    FailureOr<LayerSelector> selector =
        LayerSelector::create(module, kPass, layers, roles);
    if (failed(selector))
      return signalPassFailure();

    SmallVector<LinearOp> linears;
    WalkResult walk = module.walk([&](LinearOp op) {
      if (!selector->selects(op))
        return WalkResult::advance();
      auto xType = cast<RankedTensorType>(op.getInput().getType());
      if (!getConstantMatrix(op.getWeight()) || !xType.hasStaticShape() ||
          (op.getBias() && !getConstantFloats(op.getBias()))) {
        op.emitWarning() << "linear '" << getLayerName(op)
                         << "' needs constant weights and static shapes for "
                            "the outlier split; left in float";
        return WalkResult::advance();
      }
      linears.push_back(op);
      return WalkResult::advance();
    });
    if (walk.wasInterrupted())
      return signalPassFailure();

    if (mode == OutlierSplit::Dynamic) {
      for (LinearOp op : linears)
        if (failed(rewrite(op, {})))
          return signalPassFailure();
      return;
    }

    // Per linear, the features that are outliers in enough rows.
    llvm::MapVector<Operation *, SmallVector<int64_t>> candidates;
    std::map<int64_t, std::pair<int64_t, std::vector<int64_t>>> votes;
    for (LinearOp op : linears) {
      std::optional<LinearStats> stats = getLinearStats(op);
      if (!stats || stats->outlierRows.empty()) {
        op.emitError() << "linear '" << getLayerName(op)
                       << "' has no outlier statistics; run "
                          "quant-xform-calibrate first (or use mode=dynamic)";
        return signalPassFailure();
      }
      if (stats->outlierThreshold != threshold) {
        op.emitError() << "linear '" << getLayerName(op)
                       << "' was calibrated with outlier threshold "
                       << stats->outlierThreshold << ", not " << threshold
                       << "; recalibrate with outlier-threshold=" << threshold;
        return signalPassFailure();
      }
      int64_t k = stats->outlierRows.size();
      auto &[count, perFeature] = votes[k];
      ++count;
      perFeature.resize(k, 0);
      SmallVector<int64_t> &cols = candidates[op];
      for (int64_t j = 0; j < k; ++j)
        if (stats->outlierRows[j] >=
            minTokenFraction * static_cast<double>(stats->rows)) {
          cols.push_back(j);
          ++perFeature[j];
        }
    }
    for (LinearOp op : linears) {
      SmallVector<int64_t> systematic;
      int64_t k = getLinearStats(op)->outlierRows.size();
      auto &[count, perFeature] = votes[k];
      for (int64_t j : candidates[op])
        if (perFeature[j] >= minLayerFraction * static_cast<double>(count))
          systematic.push_back(j);
      if (systematic.empty())
        continue; // Plain W8A8 serves it.
      auto cap = static_cast<size_t>(
          std::floor(maxColumnsFraction * static_cast<double>(k)));
      if (systematic.size() > cap) {
        // Outliers are meant to be rare; when most features qualify (for
        // instance after a rotation spread them), keep the largest only
        // instead of silently running the layer in float.
        std::optional<LinearStats> stats = getLinearStats(op);
        op.emitWarning() << "linear '" << getLayerName(op)
                         << "': " << systematic.size() << " of " << k
                         << " features are outliers; keeping the " << cap
                         << " largest (max-columns-fraction="
                         << maxColumnsFraction << ")";
        llvm::sort(systematic.begin(), systematic.end(),
                   [&](int64_t a, int64_t c) {
                     return stats->absMax[a] > stats->absMax[c] ||
                            (stats->absMax[a] == stats->absMax[c] && a < c);
                   });
        systematic.resize(cap);
        llvm::sort(systematic);
        if (systematic.empty())
          continue;
      }
      if (failed(rewrite(op, systematic)))
        return signalPassFailure();
    }
  }

  /// linear → mixed_linear with static `columns`, or with the run-time
  /// threshold when `columns` is empty.
  LogicalResult rewrite(LinearOp op, ArrayRef<int64_t> columns) {
    Matrix w = *getConstantMatrix(op.getWeight());
    int64_t n = w.rows(), k = w.cols();
    bool dynamic = columns.empty();
    // The int8 part ignores the outlier columns: zero them before choosing
    // the per-channel scales.
    std::vector<double> inliers = w.data();
    std::vector<double> outliers;
    if (dynamic) {
      outliers = w.data();
    } else {
      outliers.reserve(n * columns.size());
      for (int64_t r = 0; r < n; ++r)
        for (int64_t c : columns) {
          outliers.push_back(w(r, c));
          inliers[r * k + c] = 0.0;
        }
    }
    OpBuilder b(op);
    Location loc = op.getLoc();
    auto wType = cast<RankedTensorType>(op.getWeight().getType());
    auto [qwConst, swConst] =
        buildQuantizedWeight(b, loc, inliers, n, k, /*groupSize=*/0);
    int64_t woCols = dynamic ? k : static_cast<int64_t>(columns.size());
    FailureOr<Value> woConst = makeFloatConstant(
        b, loc, RankedTensorType::get({n, woCols}, wType.getElementType()),
        outliers);
    if (failed(woConst))
      return op.emitError() << "unsupported weight element type";
    auto mixed = MixedLinearOp::create(
        b, loc, op.getType(), op.getInput(), qwConst, swConst, *woConst,
        op.getBias(),
        dynamic ? DenseI64ArrayAttr() : b.getDenseI64ArrayAttr(columns),
        dynamic ? b.getF64FloatAttr(threshold) : FloatAttr());
    copyLayerAttrs(op, mixed);
    op.replaceAllUsesWith(mixed.getResult());
    op.erase();
    return success();
  }
};

} // namespace
