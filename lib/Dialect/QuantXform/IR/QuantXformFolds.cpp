//===- QuantXformFolds.cpp - quant_xform folders --------------------------===//
//
// Folds that -canonicalize applies:
//   T(x) where T = I            → x
//   T⁻¹(T(x))                   → x   (any TransformOpInterface op; not
//                                      when T is quant_xform.pinned)
//   quantize(dequantize(q, s))  → q   (same scale, zero point and scheme)
//
//===----------------------------------------------------------------------===//

#include "quant-xform/Dialect/QuantXform/IR/QuantXformAttrNames.h"
#include "quant-xform/Dialect/QuantXform/IR/QuantXformOps.h"

using namespace mlir;
using namespace mlir::quant_xform;

/// Folds an identity transform and a transform applied right after its
/// inverse. Written once against the interface for every transform op.
static OpFoldResult foldTransform(TransformOpInterface op) {
  Value input = op.getTransformInput();
  if (input.getType() != op->getResult(0).getType())
    return {};
  // A pinned transform's output is what a quantizer must see: its inverse
  // is there to be folded into weights, not to cancel it.
  if (auto producer = input.getDefiningOp<TransformOpInterface>())
    if (!producer->hasAttr(kPinnedAttrName) && producer.isInverseOf(op) &&
        producer.getTransformInput().getType() == op->getResult(0).getType())
      return producer.getTransformInput();
  if (op.isIdentity())
    return input;
  return {};
}

OpFoldResult RotateOp::fold(FoldAdaptor) {
  return foldTransform(cast<TransformOpInterface>(getOperation()));
}

OpFoldResult AffineOp::fold(FoldAdaptor) {
  return foldTransform(cast<TransformOpInterface>(getOperation()));
}

OpFoldResult SmoothOp::fold(FoldAdaptor) {
  return foldTransform(cast<TransformOpInterface>(getOperation()));
}

OpFoldResult QuantizeOp::fold(FoldAdaptor) {
  // round((q − zp)·s / s) + zp = q for every q in the scheme's range, so
  // re-quantizing a dequantized tensor with the same parameters is a no-op.
  auto dequant = getInput().getDefiningOp<DequantizeOp>();
  if (!dequant || dequant.getScale() != getScale() ||
      dequant.getZeroPoint() != getZeroPoint() ||
      dequant.getScheme() != getScheme() ||
      dequant.getInput().getType() != getType())
    return {};
  return dequant.getInput();
}
