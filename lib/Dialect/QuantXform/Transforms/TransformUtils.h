//===- TransformUtils.h - helpers shared by the quant_xform passes -*- C++
//-*-===//
//
// Constants from float64 values, layer selection by name/role, and access to
// the calibration statistics (`quant_xform.stats`) attached to linears.
//
//===----------------------------------------------------------------------===//

#ifndef QUANT_XFORM_LIB_TRANSFORMS_TRANSFORMUTILS_H
#define QUANT_XFORM_LIB_TRANSFORMS_TRANSFORMUTILS_H

#include "quant-xform/Dialect/QuantXform/IR/QuantXformOps.h"
#include "quant-xform/Support/Matrix.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Regex.h"

#include <optional>
#include <string>
#include <vector>

namespace mlir::quant_xform {

/// An `arith.constant` of `type` (f32 or f64 elements) holding `values`;
/// failure for other element types.
FailureOr<Value> makeFloatConstant(OpBuilder &builder, Location loc,
                                   RankedTensorType type,
                                   ArrayRef<double> values);

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
};

/// The statistics attached to `op`, or nullopt when it has none.
std::optional<LinearStats> getLinearStats(Operation *op);

/// A short, stable way to name a linear in diagnostics and reports: its
/// `quant_xform.layer` when set, else "<unnamed>".
std::string getLayerName(Operation *op);

} // namespace mlir::quant_xform

#endif
