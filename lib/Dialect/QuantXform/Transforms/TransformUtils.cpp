//===- TransformUtils.cpp - helpers shared by the quant_xform passes ------===//

#include "TransformUtils.h"

#include "quant-xform/Dialect/QuantXform/IR/QuantXformAttrNames.h"

using namespace mlir;
using namespace mlir::quant_xform;

FailureOr<LayerSelector> LayerSelector::create(ModuleOp module,
                                               StringRef passName,
                                               StringRef layerRegex,
                                               ArrayRef<std::string> roles) {
  LayerSelector selector;
  if (!layerRegex.empty()) {
    // Anchor the pattern: "attn" must not select "blk0.attn.q".
    llvm::Regex regex(("^(" + layerRegex + ")$").str());
    std::string error;
    if (!regex.isValid(error)) {
      module.emitError() << passName << ": invalid layers regex '" << layerRegex
                         << "': " << error;
      return failure();
    }
    selector.regex = std::move(regex);
  }
  for (const std::string &role : roles) {
    if (!llvm::is_contained(kLayerRoles, StringRef(role))) {
      module.emitError() << passName << ": unknown role '" << role
                         << "' (expected attn_in, attn_out, mlp_in or "
                            "mlp_down)";
      return failure();
    }
    selector.roles.push_back(role);
  }
  return selector;
}

bool LayerSelector::selects(Operation *op) const {
  if (regex) {
    auto name = op->getAttrOfType<StringAttr>(kLayerAttrName);
    if (!name || !regex->match(name.getValue()))
      return false;
  }
  if (!roles.empty()) {
    auto role = op->getAttrOfType<StringAttr>(kRoleAttrName);
    if (!role || !llvm::is_contained(roles, role.getValue().str()))
      return false;
  }
  return true;
}

/// The float64 values of a dense float attribute.
static std::vector<double> toDoubles(DenseElementsAttr attr) {
  if (auto floats = dyn_cast<DenseFPElementsAttr>(attr))
    return getFloatValues(floats);
  return {};
}

std::optional<LinearStats> mlir::quant_xform::getLinearStats(Operation *op) {
  auto dict = op->getAttrOfType<DictionaryAttr>(kStatsAttrName);
  if (!dict)
    return std::nullopt;
  LinearStats stats;
  if (auto absMax = dict.getAs<DenseElementsAttr>("absmax"))
    stats.absMax = toDoubles(absMax);
  if (auto rows = dict.getAs<IntegerAttr>("rows"))
    stats.rows = rows.getInt();
  if (auto outliers = dict.getAs<DenseIntElementsAttr>("outlier_rows"))
    for (APInt v : outliers.getValues<APInt>())
      stats.outlierRows.push_back(v.getSExtValue());
  if (auto threshold = dict.getAs<FloatAttr>("outlier_threshold"))
    stats.outlierThreshold = threshold.getValueAsDouble();
  if (auto moment = dict.getAs<DenseElementsAttr>("second_moment")) {
    int64_t k = moment.getType().getDimSize(0);
    Matrix m(k, k);
    m.data() = toDoubles(moment);
    if (static_cast<int64_t>(m.data().size()) == k * k)
      stats.secondMoment = std::move(m);
  }
  if (auto sampled = dict.getAs<DenseElementsAttr>("sampled_rows")) {
    auto type = sampled.getType();
    if (type.getRank() == 2) {
      Matrix m(type.getDimSize(0), type.getDimSize(1));
      m.data() = toDoubles(sampled);
      if (static_cast<int64_t>(m.data().size()) == m.rows() * m.cols())
        stats.sampledRows = std::move(m);
    }
  }
  if (auto ema = dict.getAs<DenseElementsAttr>("ema_absmax"))
    stats.emaAbsMax = toDoubles(ema);
  if (stats.absMax.empty() || stats.rows <= 0)
    return std::nullopt;
  return stats;
}

void mlir::quant_xform::copyLayerAttrs(Operation *from, Operation *to) {
  for (StringRef name :
       {kLayerAttrName.data(), kRoleAttrName.data(), kSearchAttrName.data()})
    if (Attribute a = from->getAttr(name))
      to->setAttr(name, a);
}

std::string mlir::quant_xform::getLayerName(Operation *op) {
  if (auto name = op->getAttrOfType<StringAttr>(kLayerAttrName))
    return name.getValue().str();
  return "<unnamed>";
}

/// Gives `op` the input, weight and bias; keeps its other attributes (layer
/// name, role). Statistics are dropped when the input changes.
LogicalResult mlir::quant_xform::updateLinear(PatternRewriter &rewriter,
                                              LinearOp op, Value input,
                                              const Matrix &weight,
                                              const Matrix &bias) {
  auto wType = cast<RankedTensorType>(op.getWeight().getType());
  auto bType = RankedTensorType::get({weight.rows()}, wType.getElementType());
  rewriter.setInsertionPoint(op);
  FailureOr<Value> w =
      makeFloatConstant(rewriter, op.getLoc(), wType, weight.data());
  FailureOr<Value> b =
      makeFloatConstant(rewriter, op.getLoc(), bType, bias.data());
  if (failed(w) || failed(b))
    return rewriter.notifyMatchFailure(op, "unsupported weight element type");
  rewriter.modifyOpInPlace(op, [&] {
    if (op.getInput() != input) {
      op.getInputMutable().assign(input);
      op->removeAttr(kStatsAttrName);
    }
    op.getWeightMutable().assign(*w);
    op.getBiasMutable().assign(*b);
  });
  return success();
}
