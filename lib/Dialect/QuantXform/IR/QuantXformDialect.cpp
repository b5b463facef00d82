//===- QuantXformDialect.cpp - quant_xform dialect registration ----------===//

#include "quant-xform/Dialect/QuantXform/IR/QuantXformDialect.h"
#include "quant-xform/Dialect/QuantXform/IR/QuantXformAttrNames.h"
#include "quant-xform/Dialect/QuantXform/IR/QuantXformOps.h"
#include "quant-xform/Support/Matrix.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"

#include <cmath>

using namespace mlir;
using namespace mlir::quant_xform;

#include "quant-xform/Dialect/QuantXform/IR/QuantXformDialect.cpp.inc"

void QuantXformDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "quant-xform/Dialect/QuantXform/IR/QuantXformOps.cpp.inc"
      >();
  registerAttributes();
}

//===----------------------------------------------------------------------===//
// Discardable attributes
//===----------------------------------------------------------------------===//

/// Checks `quant_xform.search` on `op`: {transform = "<kind>", sqnr_before,
/// sqnr_after (floats, dB), alpha? in [0, 1]}.
static LogicalResult verifySearch(Operation *op, Attribute attr) {
  auto dict = dyn_cast<DictionaryAttr>(attr);
  auto kind = dict ? dict.getAs<StringAttr>("transform") : StringAttr();
  // A composition ("smooth+hadamard") names each transform in turn.
  SmallVector<StringRef> parts;
  if (kind)
    kind.getValue().split(parts, '+');
  if (!kind || !llvm::all_of(parts, [](StringRef part) {
        return llvm::is_contained(kTransformKindNames, part);
      }))
    return op->emitOpError()
           << "'" << kSearchAttrName << "' needs transform = one of "
           << llvm::join(llvm::ArrayRef(kTransformKindNames), ", ")
           << " (or several joined by '+')";
  for (NamedAttribute entry : dict) {
    StringRef key = entry.getName().strref();
    if (key == "transform")
      continue;
    auto value = dyn_cast<FloatAttr>(entry.getValue());
    if (key != "sqnr_before" && key != "sqnr_after" && key != "alpha")
      return op->emitOpError()
             << "'" << kSearchAttrName << "' has unknown entry '" << key << "'";
    if (!value || std::isnan(value.getValueAsDouble()))
      return op->emitOpError() << "'" << kSearchAttrName << "' entry '" << key
                               << "' must be a float";
    if (key == "alpha" &&
        !(value.getValueAsDouble() >= 0.0 && value.getValueAsDouble() <= 1.0))
      return op->emitOpError()
             << "'" << kSearchAttrName << "' entry 'alpha' must be in [0, 1]";
  }
  return success();
}

/// Checks `quant_xform.stats` on `op`: a dictionary whose per-channel
/// entries match the feature size K of the op's first operand.
static LogicalResult verifyStats(Operation *op, Attribute attr) {
  auto dict = dyn_cast<DictionaryAttr>(attr);
  if (!dict)
    return op->emitOpError()
           << "'" << kStatsAttrName << "' must be a dictionary";
  auto xType = op->getNumOperands() == 0
                   ? RankedTensorType()
                   : dyn_cast<RankedTensorType>(op->getOperand(0).getType());
  if (!xType || xType.getRank() == 0 || xType.isDynamicDim(xType.getRank() - 1))
    return op->emitOpError() << "'" << kStatsAttrName
                             << "' needs a first operand with a static "
                                "feature dimension";
  int64_t k = xType.getShape().back();
  for (NamedAttribute entry : dict) {
    StringRef key = entry.getName().strref();
    if (key == "rows") {
      auto rows = dyn_cast<IntegerAttr>(entry.getValue());
      if (!rows || rows.getInt() <= 0)
        return op->emitOpError() << "'" << kStatsAttrName
                                 << "' entry 'rows' must be a positive integer";
      continue;
    }
    if (key == "histogram") {
      auto h = dyn_cast<DenseIntElementsAttr>(entry.getValue());
      if (!h || h.getType().getRank() != 1 || h.getNumElements() == 0)
        return op->emitOpError() << "'" << kStatsAttrName
                                 << "' entry 'histogram' must be a non-empty "
                                    "1-D integer tensor";
      continue;
    }
    if (key == "outlier_threshold" || key == "histogram_max") {
      auto t = dyn_cast<FloatAttr>(entry.getValue());
      if (!t || !(t.getValueAsDouble() > 0.0))
        return op->emitOpError() << "'" << kStatsAttrName << "' entry '" << key
                                 << "' must be a float > 0";
      continue;
    }
    if (key == "sampled_rows") {
      auto rows = dyn_cast<DenseFPElementsAttr>(entry.getValue());
      if (!rows || rows.getType().getRank() != 2 ||
          rows.getType().getDimSize(0) < 1 || rows.getType().getDimSize(1) != k)
        return op->emitOpError()
               << "'" << kStatsAttrName
               << "' entry 'sampled_rows' must be a float "
                  "tensor of shape [R, K] with R >= 1 and K = "
               << k;
      if (!llvm::all_of(getFloatValues(rows),
                        [](double v) { return std::isfinite(v); }))
        return op->emitOpError() << "'" << kStatsAttrName
                                 << "' entry 'sampled_rows' holds NaN or Inf";
      continue;
    }
    bool perChannel = key == "absmax" || key == "min" || key == "max" ||
                      key == "outlier_rows" || key == "ema_absmax";
    if (!perChannel && key != "second_moment")
      return op->emitOpError()
             << "'" << kStatsAttrName << "' has unknown entry '" << key << "'";
    auto values = dyn_cast<DenseElementsAttr>(entry.getValue());
    SmallVector<int64_t> want = {k};
    if (!perChannel)
      want.push_back(k);
    if (!values || values.getType().getShape() != ArrayRef<int64_t>(want))
      return op->emitOpError()
             << "'" << kStatsAttrName << "' entry '" << key
             << "' must be a dense tensor of shape "
             << (perChannel ? "[K]" : "[K, K]") << " with K = " << k;
    if (auto floats = dyn_cast<DenseFPElementsAttr>(values))
      if (!llvm::all_of(getFloatValues(floats),
                        [](double v) { return std::isfinite(v); }))
        return op->emitOpError() << "'" << kStatsAttrName << "' entry '" << key
                                 << "' holds NaN or Inf";
  }
  if (!dict.get("absmax") || !dict.get("rows"))
    return op->emitOpError()
           << "'" << kStatsAttrName << "' needs at least 'absmax' and 'rows'";
  if (dict.get("histogram") && !dict.get("histogram_max"))
    return op->emitOpError() << "'" << kStatsAttrName
                             << "' entry 'histogram' needs 'histogram_max'";
  if (dict.get("outlier_rows") && !dict.get("outlier_threshold"))
    return op->emitOpError() << "'" << kStatsAttrName
                             << "' entry 'outlier_rows' needs "
                                "'outlier_threshold'";
  return success();
}

LogicalResult
QuantXformDialect::verifyOperationAttribute(Operation *op,
                                            NamedAttribute attribute) {
  StringRef name = attribute.getName().strref();
  Attribute value = attribute.getValue();
  if (name == kLayerAttrName) {
    if (!isa<StringAttr>(value))
      return op->emitOpError() << "'" << name << "' must be a string";
    return success();
  }
  if (name == kRoleAttrName) {
    auto role = dyn_cast<StringAttr>(value);
    if (!role || !llvm::is_contained(kLayerRoles, role.getValue()))
      return op->emitOpError()
             << "'" << name
             << "' must be one of \"attn_in\", \"attn_out\", \"mlp_in\", "
                "\"mlp_down\"";
    return success();
  }
  if (name == kStatsAttrName)
    return verifyStats(op, value);
  if (name == kSearchAttrName)
    return verifySearch(op, value);
  if (name == kPinnedAttrName || name == kOnlineAttrName) {
    if (!isa<UnitAttr>(value))
      return op->emitOpError() << "'" << name << "' must be a unit attribute";
    if (!isa<TransformOpInterface>(op))
      return op->emitOpError()
             << "'" << name << "' applies only to transform ops";
    return success();
  }
  return op->emitOpError() << "has unknown quant_xform attribute '" << name
                           << "'";
}
