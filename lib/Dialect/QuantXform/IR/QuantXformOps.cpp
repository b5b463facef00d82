//===- QuantXformOps.cpp - quant_xform op verifiers -----------------------===//
//
// Verifiers: every claim an op makes (shapes, element types, positive
// scales, accumulator range) is checked here, with the numbers in the
// message. The O(K³) claims on constant matrices (orthogonal rotations,
// invertible affines) are `verifyConstantMatrix`, which
// quant-xform-check-transform-matrices runs. Folds live in
// QuantXformFolds.cpp, interface methods in QuantXformInterfaces.cpp.
//
//===----------------------------------------------------------------------===//

#include "quant-xform/Dialect/QuantXform/IR/QuantXformOps.h"
#include "QuantXformVerifyUtils.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"
#include "quant-xform/Support/Matrix.h"
#include "llvm/ADT/SmallBitVector.h"
#include "llvm/Support/MathExtras.h"

#include <cmath>

using namespace mlir;
using namespace mlir::quant_xform;

#define GET_OP_CLASSES
#include "quant-xform/Dialect/QuantXform/IR/QuantXformOps.cpp.inc"

static ArrayRef<int64_t> shapeOf(Value v) {
  return cast<ShapedType>(v.getType()).getShape();
}
static Type elementTypeOf(Value v) {
  return cast<ShapedType>(v.getType()).getElementType();
}

/// Checks that an activation has rank >= 1 and returns its K.
static FailureOr<int64_t> getFeatureSize(Operation *op, Value input) {
  ArrayRef<int64_t> shape = shapeOf(input);
  if (shape.empty()) {
    op->emitOpError() << "input must have rank >= 1 (features innermost)";
    return failure();
  }
  return shape.back();
}

/// Checks that the result has exactly the input's type.
static LogicalResult verifySameType(Operation *op, Value input, Value result) {
  if (input.getType() != result.getType())
    return op->emitOpError()
           << "result type " << result.getType()
           << " must equal the input type " << input.getType();
  return success();
}

/// Checks that `value` has the element type `expected`.
static LogicalResult verifyElementType(Operation *op, Value value,
                                       Type expected, StringRef what) {
  if (elementTypeOf(value) != expected)
    return op->emitOpError()
           << what << " element type " << elementTypeOf(value)
           << " does not match the input element type " << expected;
  return success();
}

/// Checks the result shape of a linear-like op: input [..., K] → [..., N].
static LogicalResult verifyLinearResult(Operation *op, Value input,
                                        Value result, int64_t n) {
  SmallVector<int64_t> expected(shapeOf(input));
  expected.back() = n;
  if (!shapesCompatible(shapeOf(result), expected))
    return op->emitOpError() << "result shape " << formatShape(shapeOf(result))
                             << " does not match " << formatShape(expected)
                             << " (input rows × N)";
  return success();
}

/// Checks a weight `[N, K]` against the input's `K`; returns N.
static FailureOr<int64_t> verifyWeight(Operation *op, Value weight, int64_t k) {
  ArrayRef<int64_t> w = shapeOf(weight);
  if (w.size() != 2) {
    op->emitOpError() << "weight must be a matrix [N, K], got "
                      << formatShape(w);
    return failure();
  }
  if (!dimsCompatible(w[1], k)) {
    op->emitOpError() << "weight shape " << formatShape(w)
                      << " does not match the input features K = " << k
                      << " (expected [N, " << k << "])";
    return failure();
  }
  return w[0];
}

//===----------------------------------------------------------------------===//
// LinearOp
//===----------------------------------------------------------------------===//

LogicalResult LinearOp::verify() {
  FailureOr<int64_t> k = getFeatureSize(*this, getInput());
  if (failed(k))
    return failure();
  FailureOr<int64_t> n = verifyWeight(*this, getWeight(), *k);
  if (failed(n))
    return failure();
  Type elementType = elementTypeOf(getInput());
  if (failed(verifyElementType(*this, getWeight(), elementType, "weight")) ||
      failed(verifyElementType(*this, getResult(), elementType, "result")))
    return failure();
  if (failed(verifyConstantValues(*this, getWeight(), "weight", false)))
    return failure();
  if (Value bias = getBias()) {
    if (failed(verifyFeatureVector(*this, bias, *n, "bias")) ||
        failed(verifyElementType(*this, bias, elementType, "bias")) ||
        failed(verifyConstantValues(*this, bias, "bias", false)))
      return failure();
  }
  return verifyLinearResult(*this, getInput(), getResult(), *n);
}

//===----------------------------------------------------------------------===//
// Norms
//===----------------------------------------------------------------------===//

static LogicalResult verifyNorm(Operation *op, Value input, Value gamma,
                                Value beta, Value result, double epsilon) {
  FailureOr<int64_t> k = getFeatureSize(op, input);
  if (failed(k) || failed(verifySameType(op, input, result)) ||
      failed(verifyFeatureVector(op, gamma, *k, "gamma")) ||
      failed(verifyConstantValues(op, gamma, "gamma", false)))
    return failure();
  if (beta && (failed(verifyFeatureVector(op, beta, *k, "beta")) ||
               failed(verifyConstantValues(op, beta, "beta", false))))
    return failure();
  if (!std::isfinite(epsilon) || epsilon <= 0.0)
    return op->emitOpError() << "epsilon = " << epsilon << " must be > 0";
  return success();
}

LogicalResult LayerNormOp::verify() {
  return verifyNorm(*this, getInput(), getGamma(), getBeta(), getResult(),
                    getEpsilon().convertToDouble());
}

LogicalResult RMSNormOp::verify() {
  return verifyNorm(*this, getInput(), getGamma(), getBeta(), getResult(),
                    getEpsilon().convertToDouble());
}

LogicalResult BatchNormOp::verify() {
  FailureOr<int64_t> k = getFeatureSize(*this, getInput());
  if (failed(k) || failed(verifySameType(*this, getInput(), getResult())))
    return failure();
  std::pair<Value, StringRef> vectors[] = {{getMean(), "mean"},
                                           {getVariance(), "variance"},
                                           {getGamma(), "gamma"},
                                           {getBeta(), "beta"}};
  for (auto [value, name] : vectors)
    if (failed(verifyFeatureVector(*this, value, *k, name)) ||
        failed(verifyConstantValues(*this, value, name, false)))
      return failure();
  if (std::optional<std::vector<double>> var = getConstantFloats(getVariance()))
    for (auto [index, v] : llvm::enumerate(*var))
      if (v < 0.0)
        return emitOpError()
               << "variance[" << index << "] = " << v << " is negative";
  double epsilon = getEpsilon().convertToDouble();
  if (!std::isfinite(epsilon) || epsilon <= 0.0)
    return emitOpError() << "epsilon = " << epsilon << " must be > 0";
  return success();
}

//===----------------------------------------------------------------------===//
// RotateOp
//===----------------------------------------------------------------------===//

LogicalResult RotateOp::verifyConstantMatrix() {
  if (getKind() != RotationKind::Dense || !getMatrix())
    return success();
  std::optional<Matrix> m = getConstantMatrix(getMatrix());
  if (!m)
    return success();
  double tol = getTolerance().convertToDouble();
  OrthogonalityReport report = checkOrthogonal(*m);
  if (report.maxError <= tol)
    return success();
  return emitOpError() << "rotation matrix is not orthogonal: max |"
                       << (report.probed ? "Qᵀ(Q·v) - v" : "QQᵀ - I")
                       << "| = " << report.maxError << " > tolerance " << tol;
}

LogicalResult RotateOp::verify() {
  FailureOr<int64_t> k = getFeatureSize(*this, getInput());
  if (failed(k) || failed(verifySameType(*this, getInput(), getResult())))
    return failure();
  double tol = getTolerance().convertToDouble();
  if (!std::isfinite(tol) || tol <= 0.0)
    return emitOpError() << "tolerance = " << tol << " must be > 0";
  StringRef kindName = stringifyRotationKind(getKind());
  if (getKind() != RotationKind::Dense && getMatrix())
    return emitOpError() << "a " << kindName << " rotation takes no matrix";
  if (getKind() != RotationKind::Permutation && getPerm())
    return emitOpError() << "'perm' is only valid on a permutation rotation";
  if (getKind() != RotationKind::Hadamard && getSigns())
    return emitOpError() << "'signs' is only valid on a hadamard rotation";

  switch (getKind()) {
  case RotationKind::Dense: {
    if (!getMatrix())
      return emitOpError() << "a dense rotation needs a matrix operand";
    ArrayRef<int64_t> q = shapeOf(getMatrix());
    if (q.size() != 2 || !dimsCompatible(q[0], *k) || !dimsCompatible(q[1], *k))
      return emitOpError() << "rotation matrix shape " << formatShape(q)
                           << " does not match the input features (expected ["
                           << *k << ", " << *k << "])";
    return success();
  }
  case RotationKind::Hadamard: {
    if (!ShapedType::isDynamic(*k) && *k % 2 != 0)
      return emitOpError() << "a hadamard rotation needs an even feature "
                              "size (blocks of the largest power of two "
                              "dividing K), got K = "
                           << *k;
    if (std::optional<ArrayRef<int8_t>> signs = getSigns()) {
      if (!dimsCompatible(static_cast<int64_t>(signs->size()), *k))
        return emitOpError() << "hadamard signs have " << signs->size()
                             << " entries, expected K = " << *k;
      for (auto [i, s] : llvm::enumerate(*signs))
        if (s != 1 && s != -1)
          return emitOpError() << "hadamard sign[" << i << "] = " << int(s)
                               << " is not +1 or -1";
    }
    return success();
  }
  case RotationKind::Permutation: {
    if (!getPerm())
      return emitOpError() << "a permutation rotation needs 'perm'";
    ArrayRef<int64_t> perm = *getPerm();
    if (!dimsCompatible(static_cast<int64_t>(perm.size()), *k))
      return emitOpError() << "permutation has " << perm.size()
                           << " entries, expected K = " << *k;
    llvm::SmallBitVector seen(perm.size());
    for (auto [i, p] : llvm::enumerate(perm)) {
      if (p < 0 || p >= static_cast<int64_t>(perm.size()))
        return emitOpError() << "permutation entry perm[" << i << "] = " << p
                             << " is out of range [0, " << perm.size() << ")";
      if (seen.test(p))
        return emitOpError() << "permutation entry " << p
                             << " appears twice: not a permutation";
      seen.set(p);
    }
    return success();
  }
  }
  llvm_unreachable("unknown rotation kind");
}

//===----------------------------------------------------------------------===//
// AffineOp and SmoothOp
//===----------------------------------------------------------------------===//

LogicalResult AffineOp::verify() {
  FailureOr<int64_t> k = getFeatureSize(*this, getInput());
  if (failed(k) || failed(verifySameType(*this, getInput(), getResult())))
    return failure();
  double bound = getMaxCondition().convertToDouble();
  if (!(bound >= 1.0))
    return emitOpError() << "max_condition = " << bound << " must be >= 1";
  ArrayRef<int64_t> a = shapeOf(getMatrix());
  if (a.size() != 2 || !dimsCompatible(a[0], *k) || !dimsCompatible(a[1], *k))
    return emitOpError() << "affine matrix shape " << formatShape(a)
                         << " does not match the input features (expected ["
                         << *k << ", " << *k << "])";
  if (Value shift = getShift())
    if (failed(verifyFeatureVector(*this, shift, *k, "shift")) ||
        failed(verifyConstantValues(*this, shift, "shift", false)))
      return failure();
  return verifyConstantValues(*this, getMatrix(), "affine matrix", false);
}

LogicalResult AffineOp::verifyConstantMatrix() {
  std::optional<Matrix> m = getConstantMatrix(getMatrix());
  if (!m || !m->allFinite()) // a non-finite one fails the verifier
    return success();
  double bound = getMaxCondition().convertToDouble();
  InvertibilityReport report = checkInvertible(*m);
  if (report.diagonallyDominant || report.condition <= bound)
    return success();
  int64_t r = report.failingRow;
  return emitOpError() << "affine matrix is not invertible by the documented "
                          "test: row "
                       << r << " is not strictly diagonally dominant (|a_" << r
                       << r << "| = " << report.failingDiag
                       << " <= sum of |off-diagonal| = "
                       << report.failingOffDiagSum
                       << ") and the estimated condition number "
                       << report.condition
                       << " exceeds max_condition = " << bound;
}

LogicalResult SmoothOp::verify() {
  FailureOr<int64_t> k = getFeatureSize(*this, getInput());
  if (failed(k) || failed(verifySameType(*this, getInput(), getResult())) ||
      failed(verifyFeatureVector(*this, getScales(), *k, "smoothing scale")) ||
      failed(verifyConstantValues(*this, getScales(), "smoothing scale",
                                  /*positive=*/true)))
    return failure();
  if (Value shift = getShift())
    if (failed(verifyFeatureVector(*this, shift, *k, "shift")) ||
        failed(verifyConstantValues(*this, shift, "shift", false)))
      return failure();
  return success();
}

//===----------------------------------------------------------------------===//
// Quantization ops
//===----------------------------------------------------------------------===//

/// Shared checks of quantize/dequantize/dynamic_quantize: float and integer
/// sides have one shape, the integer type holds the scheme's range.
static LogicalResult verifyQuantPair(Operation *op, Value floatValue,
                                     Value intValue, QuantSchemeAttr scheme) {
  if (!shapesCompatible(shapeOf(floatValue), shapeOf(intValue)))
    return op->emitOpError()
           << "float shape " << formatShape(shapeOf(floatValue))
           << " and quantized shape " << formatShape(shapeOf(intValue))
           << " differ";
  return verifyQuantizedElementType(op, scheme, elementTypeOf(intValue));
}

LogicalResult QuantizeOp::verify() {
  if (failed(verifyQuantPair(*this, getInput(), getResult(), getScheme())))
    return failure();
  return verifyScales(*this, getScheme(), shapeOf(getInput()), getScale(),
                      getZeroPoint());
}

LogicalResult DequantizeOp::verify() {
  if (failed(verifyQuantPair(*this, getResult(), getInput(), getScheme())))
    return failure();
  return verifyScales(*this, getScheme(), shapeOf(getResult()), getScale(),
                      getZeroPoint());
}

LogicalResult DynamicQuantizeOp::verify() {
  if (failed(verifyQuantPair(*this, getInput(), getResult(), getScheme())))
    return failure();
  return verifyScales(*this, getScheme(), shapeOf(getInput()), getScale(),
                      getZeroPoint());
}

LogicalResult FakeQuantOp::verify() {
  if (failed(verifySameType(*this, getInput(), getResult())))
    return failure();
  if (failed(getScaleShape(*this, getScheme(), shapeOf(getInput()))))
    return failure();
  if (std::optional<APFloat> clip = getClip()) {
    double alpha = clip->convertToDouble();
    if (!std::isfinite(alpha) || alpha <= 0.0)
      return emitOpError() << "PACT clip value " << alpha << " must be > 0";
    if (!getScheme().getSymmetric())
      return emitOpError() << "a PACT clip needs a symmetric scheme";
  }
  return success();
}

//===----------------------------------------------------------------------===//
// QLinearOp and MixedLinearOp
//===----------------------------------------------------------------------===//

/// Checks the per-channel / per-group weight scales of an integer weight.
static LogicalResult verifyWeightScale(Operation *op, Value scale, int64_t n,
                                       int64_t k) {
  ArrayRef<int64_t> s = shapeOf(scale);
  bool ok = s.empty() || (s.size() == 1 && dimsCompatible(s[0], n));
  if (s.size() == 2 && dimsCompatible(s[0], n)) {
    ok = true;
    if (!ShapedType::isDynamic(s[1]) && !ShapedType::isDynamic(k) &&
        (s[1] <= 0 || k % s[1] != 0))
      return op->emitOpError() << "weight scale has " << s[1]
                               << " groups, which do not divide K = " << k;
  }
  if (!ok)
    return op->emitOpError()
           << "weight scale shape " << formatShape(s)
           << " must be [] (per tensor), [" << n << "] (per channel) or [" << n
           << ", K/G] (per group)";
  return verifyConstantValues(op, scale, "weight scale", /*positive=*/true);
}

/// Per-group input scales: `groups` divide K, and per-group weight scales,
/// if any, have the same groups.
static LogicalResult verifyInputGroups(Operation *op, int64_t groups, int64_t k,
                                       ArrayRef<int64_t> sw) {
  if (ShapedType::isDynamic(groups) || ShapedType::isDynamic(k))
    return success();
  if (groups <= 0 || k % groups != 0)
    return op->emitOpError() << "input scale has " << groups
                             << " groups, which do not divide K = " << k;
  if (sw.size() == 2 && !ShapedType::isDynamic(sw[1]) && sw[1] != groups)
    return op->emitOpError()
           << "input scale has " << groups << " groups and weight scale "
           << sw[1] << "; per-group scales of both must have the same groups";
  return success();
}

LogicalResult QLinearOp::verify() {
  FailureOr<int64_t> k = getFeatureSize(*this, getInput());
  if (failed(k))
    return failure();
  FailureOr<int64_t> n = verifyWeight(*this, getWeight(), *k);
  if (failed(n))
    return failure();
  ArrayRef<int64_t> xShape = shapeOf(getInput());
  ArrayRef<int64_t> sx = shapeOf(getInputScale());
  bool perGroup = sx.size() == xShape.size() && !sx.empty() &&
                  shapesCompatible(sx.drop_back(), xShape.drop_back());
  if (!sx.empty() && !perGroup && !shapesCompatible(sx, xShape.drop_back())) {
    std::string rows = formatShape(xShape.drop_back());
    std::string grouped =
        rows.size() > 2 ? rows.substr(0, rows.size() - 1) + ", K/G]" : "[K/G]";
    return emitOpError() << "input scale shape " << formatShape(sx)
                         << " must be [] (per tensor), " << rows
                         << " (per token) or " << grouped << " (per group)";
  }
  if (perGroup && failed(verifyInputGroups(*this, sx.back(), *k,
                                           shapeOf(getWeightScale()))))
    return failure();
  if (failed(verifyConstantValues(*this, getInputScale(), "input scale", true)))
    return failure();
  int64_t maxX = maxMagnitude(elementTypeOf(getInput()));
  if (Value zp = getInputZeroPoint()) {
    if (!shapesCompatible(shapeOf(zp), sx))
      return emitOpError() << "input zero point shape "
                           << formatShape(shapeOf(zp))
                           << " must match the input scale shape "
                           << formatShape(sx);
    if (!cast<IntegerType>(elementTypeOf(getInput())).isUnsigned())
      return emitOpError() << "an input zero point needs unsigned quantized "
                              "input, got "
                           << elementTypeOf(getInput());
  } else if (cast<IntegerType>(elementTypeOf(getInput())).isUnsigned()) {
    return emitOpError() << "unsigned quantized input needs a zero point";
  }
  if (failed(verifyWeightScale(*this, getWeightScale(), *n, *k)))
    return failure();
  if (Value bias = getBias())
    if (failed(verifyFeatureVector(*this, bias, *n, "bias")) ||
        failed(verifyConstantValues(*this, bias, "bias", false)))
      return failure();
  if (failed(verifyAccumulatorBound(*this, *k, maxX,
                                    maxMagnitude(elementTypeOf(getWeight())))))
    return failure();
  return verifyLinearResult(*this, getInput(), getResult(), *n);
}

LogicalResult MixedLinearOp::verify() {
  FailureOr<int64_t> k = getFeatureSize(*this, getInput());
  if (failed(k))
    return failure();
  FailureOr<int64_t> n = verifyWeight(*this, getWeight(), *k);
  if (failed(n))
    return failure();
  if (failed(
          verifyFeatureVector(*this, getWeightScale(), *n, "weight scale")) ||
      failed(
          verifyConstantValues(*this, getWeightScale(), "weight scale", true)))
    return failure();
  std::optional<ArrayRef<int64_t>> columns = getColumns();
  std::optional<APFloat> threshold = getThreshold();
  if (columns.has_value() == threshold.has_value())
    return emitOpError() << "needs exactly one of static 'columns' or a "
                            "dynamic 'threshold'";
  int64_t outlierCols = *k;
  if (threshold) {
    double t = threshold->convertToDouble();
    if (!std::isfinite(t) || t <= 0.0)
      return emitOpError() << "outlier threshold " << t << " must be > 0";
  } else {
    outlierCols = columns->size();
    for (auto [i, c] : llvm::enumerate(*columns)) {
      if (c < 0 || (!ShapedType::isDynamic(*k) && c >= *k))
        return emitOpError() << "outlier column " << c
                             << " is out of range [0, " << *k << ")";
      if (i > 0 && c <= (*columns)[i - 1])
        return emitOpError() << "outlier columns must be strictly increasing";
    }
  }
  ArrayRef<int64_t> wo = shapeOf(getOutlierWeight());
  if (wo.size() != 2 || !dimsCompatible(wo[0], *n) ||
      !dimsCompatible(wo[1], outlierCols))
    return emitOpError() << "outlier weight shape " << formatShape(wo)
                         << " must be [" << *n << ", " << outlierCols << "]"
                         << (threshold ? " (all columns: the set is chosen "
                                         "at run time)"
                                       : " (one column per outlier)");
  if (failed(verifyConstantValues(*this, getOutlierWeight(), "outlier weight",
                                  false)))
    return failure();
  if (Value bias = getBias())
    if (failed(verifyFeatureVector(*this, bias, *n, "bias")))
      return failure();
  // Activations are quantized to int8 (|q| ≤ 127) against the given weights.
  if (failed(verifyAccumulatorBound(*this, *k, 127,
                                    maxMagnitude(elementTypeOf(getWeight())))))
    return failure();
  return verifyLinearResult(*this, getInput(), getResult(), *n);
}

//===----------------------------------------------------------------------===//
// ObserveOp
//===----------------------------------------------------------------------===//

LogicalResult ObserveOp::verify() {
  if (getName().empty())
    return emitOpError() << "observer name must not be empty";
  return success();
}

//===----------------------------------------------------------------------===//
// AttentionOp
//===----------------------------------------------------------------------===//

LogicalResult AttentionOp::verify() {
  ArrayRef<int64_t> q = shapeOf(getQuery()), k = shapeOf(getKey());
  if (!dimsCompatible(q[0], k[0]))
    return emitOpError() << "query batch " << q[0]
                         << " does not match the key batch " << k[0]
                         << " (query " << formatShape(q) << ", key "
                         << formatShape(k) << ")";
  if (!dimsCompatible(q[3], k[3]))
    return emitOpError() << "query head size " << q[3]
                         << " does not match the key head size " << k[3];
  if (!ShapedType::isDynamic(q[2]) && !ShapedType::isDynamic(k[2]) &&
      (k[2] == 0 || q[2] % k[2] != 0))
    return emitOpError() << "the " << k[2]
                         << " key/value heads must divide the " << q[2]
                         << " query heads (grouped-query attention)";
  if (Value mask = getMask()) {
    SmallVector<int64_t> expected = {q[0], k[1]};
    if (!shapesCompatible(shapeOf(mask), expected))
      return emitOpError() << "mask shape " << formatShape(shapeOf(mask))
                           << " must be [batch, keys] = "
                           << formatShape(expected);
  }
  double scale = getScale().convertToDouble();
  if (!std::isfinite(scale) || scale <= 0.0)
    return emitOpError() << "scale = " << scale << " must be finite and > 0";
  if (getCausal() && !ShapedType::isDynamic(q[1]) &&
      !ShapedType::isDynamic(k[1]) && k[1] < q[1])
    return emitOpError() << "causal attention needs at least as many keys ("
                         << k[1] << ") as queries (" << q[1] << ")";
  return success();
}

//===----------------------------------------------------------------------===//
// RotaryOp
//===----------------------------------------------------------------------===//

LogicalResult RotaryOp::verify() {
  ArrayRef<int64_t> x = shapeOf(getInput()), c = shapeOf(getCos());
  if (!ShapedType::isDynamic(x[2]) && x[2] % 2 != 0)
    return emitOpError() << "head size " << x[2]
                         << " must be even (its two halves are rotated)";
  SmallVector<int64_t> expected = {
      x[0], ShapedType::isDynamic(x[2]) ? ShapedType::kDynamic : x[2] / 2};
  if (!shapesCompatible(c, expected))
    return emitOpError() << "cos / sin shape " << formatShape(c)
                         << " must be [tokens, head size / 2] = "
                         << formatShape(expected);
  return success();
}
