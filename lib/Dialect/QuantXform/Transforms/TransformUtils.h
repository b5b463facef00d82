//===- TransformUtils.h - helpers shared by the quant_xform passes -*- C++
//-*-===//
//
// Layer selection by name/role, copying layer names, running a pattern set,
// and access to the calibration statistics (`quant_xform.stats`) attached to
// linears.
//
//===----------------------------------------------------------------------===//

#ifndef QUANT_XFORM_LIB_TRANSFORMS_TRANSFORMUTILS_H
#define QUANT_XFORM_LIB_TRANSFORMS_TRANSFORMUTILS_H

#include "quant-xform/Dialect/QuantXform/IR/QuantXformOps.h"
#include "quant-xform/Support/Matrix.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/Support/Regex.h"

#include <optional>
#include <string>
#include <vector>

namespace mlir::quant_xform {

/// Keeps a linear's `quant_xform.layer`, `quant_xform.role` and
/// `quant_xform.search` on the op that replaces it.
void copyLayerAttrs(Operation *from, Operation *to);

/// Applies `Patterns` greedily to `op` (the body of the pattern passes).
template <typename... Patterns>
LogicalResult applyPatternsGreedily(Operation *op) {
  RewritePatternSet set(op->getContext());
  set.add<Patterns...>(op->getContext());
  return mlir::applyPatternsGreedily(op, std::move(set));
}

/// Which linears a pass applies to: all of them, or those whose
/// `quant_xform.layer` fully matches a regex and/or whose `quant_xform.role`
/// is in a list.
class LayerSelector {
public:
  /// Builds a selector; emits an error at `module` and fails when the regex
  /// or a role is invalid. `passName` prefixes the diagnostics.
  static FailureOr<LayerSelector> create(ModuleOp module, StringRef passName,
                                         StringRef layerRegex,
                                         ArrayRef<std::string> roles);
  /// True when `op` is selected.
  bool selects(Operation *op) const;

private:
  std::optional<llvm::Regex> regex;
  std::vector<std::string> roles;
};

/// Calibration statistics of a linear's input, read from `quant_xform.stats`.
struct LinearStats {
  std::vector<double> absMax;
  int64_t rows = 0;
  /// Rows with |x| ≥ outlierThreshold per channel (empty when not recorded).
  std::vector<int64_t> outlierRows;
  double outlierThreshold = 0.0;
  /// Σ x·xᵀ / rows (K × K), when recorded.
  std::optional<Matrix> secondMoment;
  /// A uniform sample of input rows (R × K), when recorded (`keep-rows`).
  std::optional<Matrix> sampledRows;
  /// Per channel, the EMA of the per-run |x| maximum, when recorded.
  std::vector<double> emaAbsMax;
};

/// Gives the linear `op` the input, weight and bias (a `1 × N` row) as new
/// constants; keeps its other attributes (layer name, role). Statistics are
/// dropped when the input changes. Fails, changing nothing, for weight
/// element types other than f32 and f64.
LogicalResult updateLinear(PatternRewriter &rewriter, LinearOp op, Value input,
                           const Matrix &weight, const Matrix &bias);

/// Folds `T(y) = y·M + c` into the output of the linear producing `y`:
/// `W' = Mᵀ·W`, `b' = b·M + c`. Fails, changing nothing, when its weight or
/// bias is not a constant.
LogicalResult foldIntoLinearOutput(PatternRewriter &rewriter, LinearOp linear,
                                   const Matrix &m, const Matrix &c);

/// The statistics attached to `op`, or nullopt when it has none.
std::optional<LinearStats> getLinearStats(Operation *op);

/// A short, stable way to name a linear in diagnostics and reports: its
/// `quant_xform.layer` when set, else "<unnamed>".
std::string getLayerName(Operation *op);

} // namespace mlir::quant_xform

#endif
