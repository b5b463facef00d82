//===- QuantXformVerifyUtils.h - shared verifier checks -----------*- C++
//-*-===//
//
// Checks that several quant_xform verifiers share: shapes of feature vectors
// and scale tensors, constant-operand value checks.
//
//===----------------------------------------------------------------------===//

#ifndef QUANT_XFORM_LIB_DIALECT_QUANTXFORM_IR_VERIFYUTILS_H
#define QUANT_XFORM_LIB_DIALECT_QUANTXFORM_IR_VERIFYUTILS_H

#include "quant-xform/Dialect/QuantXform/IR/QuantXformOps.h"

namespace mlir::quant_xform {

/// Two static sizes agree when either is dynamic or they are equal.
bool dimsCompatible(int64_t a, int64_t b);
/// Two shapes agree dimension by dimension (dynamic sizes match anything).
bool shapesCompatible(ArrayRef<int64_t> a, ArrayRef<int64_t> b);
/// Formats a shape as `[2, 3]` for messages (`?` for dynamic sizes).
std::string formatShape(ArrayRef<int64_t> shape);

/// Checks that `value` (named `what` in messages) is a rank-1 tensor of `k`
/// elements.
LogicalResult verifyFeatureVector(Operation *op, Value value, int64_t k,
                                  StringRef what);

/// The shape of the scale tensor that `scheme` gives an input of
/// `inputShape` (see #quant_xform.scheme); emits an error and fails when the
/// group size does not divide K.
FailureOr<SmallVector<int64_t>> getScaleShape(Operation *op,
                                              QuantSchemeAttr scheme,
                                              ArrayRef<int64_t> inputShape);

/// Checks `scale` (and `zeroPoint` when given) against `scheme` for an input
/// of `inputShape`: shapes, presence of the zero point, and for constants:
/// positive finite scales and zero points within the scheme's range.
LogicalResult verifyScales(Operation *op, QuantSchemeAttr scheme,
                           ArrayRef<int64_t> inputShape, Value scale,
                           Value zeroPoint, StringRef what = "scale");

/// Checks that an integer element type can hold `scheme`'s range.
LogicalResult verifyQuantizedElementType(Operation *op, QuantSchemeAttr scheme,
                                         Type elementType);

/// When `value` is a constant, checks that every element is finite (and, if
/// `positive`, > 0); names the first offending element in the error.
LogicalResult verifyConstantValues(Operation *op, Value value, StringRef what,
                                   bool positive);

/// Checks that an int32 accumulator cannot overflow for a dot product of
/// length `k` between operands of magnitude at most `maxA` and `maxB`.
LogicalResult verifyAccumulatorBound(Operation *op, int64_t k, int64_t maxA,
                                     int64_t maxB);

/// Largest magnitude an integer element type holds (2^(w-1) signless/signed,
/// 2^w - 1 unsigned).
int64_t maxMagnitude(Type intType);

} // namespace mlir::quant_xform

#endif
