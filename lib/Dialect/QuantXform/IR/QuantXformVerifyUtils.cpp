//===- QuantXformVerifyUtils.cpp - shared verifier checks -----------------===//

#include "QuantXformVerifyUtils.h"

#include "quant-xform/Support/Matrix.h"

#include "mlir/IR/Matchers.h"

#include <cmath>

using namespace mlir;
using namespace mlir::quant_xform;

bool mlir::quant_xform::dimsCompatible(int64_t a, int64_t b) {
  return ShapedType::isDynamic(a) || ShapedType::isDynamic(b) || a == b;
}

bool mlir::quant_xform::shapesCompatible(ArrayRef<int64_t> a,
                                         ArrayRef<int64_t> b) {
  if (a.size() != b.size())
    return false;
  for (auto [x, y] : llvm::zip_equal(a, b))
    if (!dimsCompatible(x, y))
      return false;
  return true;
}

std::string mlir::quant_xform::formatShape(ArrayRef<int64_t> shape) {
  std::string out = "[";
  llvm::raw_string_ostream os(out);
  llvm::interleaveComma(shape, os, [&](int64_t d) {
    if (ShapedType::isDynamic(d))
      os << "?";
    else
      os << d;
  });
  os << "]";
  return out;
}

LogicalResult mlir::quant_xform::verifyFeatureVector(Operation *op, Value value,
                                                     int64_t k,
                                                     StringRef what) {
  auto type = cast<ShapedType>(value.getType());
  if (type.getRank() != 1 || !dimsCompatible(type.getDimSize(0), k))
    return op->emitOpError()
           << what << " must have shape [" << k << "] (one per feature), got "
           << formatShape(type.getShape());
  return success();
}

FailureOr<SmallVector<int64_t>>
mlir::quant_xform::getScaleShape(Operation *op, QuantSchemeAttr scheme,
                                 ArrayRef<int64_t> inputShape) {
  SmallVector<int64_t> shape;
  if (scheme.getGranularity() == Granularity::PerTensor)
    return shape;
  if (inputShape.empty()) {
    op->emitOpError() << "granularity "
                      << stringifyGranularity(scheme.getGranularity())
                      << " needs an input of rank >= 1";
    return failure();
  }
  shape.assign(inputShape.begin(), inputShape.end() - 1);
  if (scheme.getGranularity() == Granularity::PerGroup) {
    int64_t k = inputShape.back();
    int64_t g = scheme.getGroupSize();
    if (ShapedType::isDynamic(k)) {
      shape.push_back(ShapedType::kDynamic);
    } else if (k % g != 0) {
      op->emitOpError() << "group size " << g << " does not divide K = " << k;
      return failure();
    } else {
      shape.push_back(k / g);
    }
  }
  return shape;
}

LogicalResult mlir::quant_xform::verifyScales(Operation *op,
                                              QuantSchemeAttr scheme,
                                              ArrayRef<int64_t> inputShape,
                                              Value scale, Value zeroPoint,
                                              StringRef what) {
  FailureOr<SmallVector<int64_t>> expected =
      getScaleShape(op, scheme, inputShape);
  if (failed(expected))
    return failure();
  auto scaleType = cast<ShapedType>(scale.getType());
  if (!shapesCompatible(scaleType.getShape(), *expected))
    return op->emitOpError()
           << what << " shape " << formatShape(scaleType.getShape())
           << " does not match "
           << stringifyGranularity(scheme.getGranularity())
           << " quantization of an input of shape " << formatShape(inputShape)
           << " (expected " << formatShape(*expected) << ")";
  if (failed(verifyConstantValues(op, scale, what, /*positive=*/true)))
    return failure();

  if (scheme.getSymmetric() && zeroPoint)
    return op->emitOpError() << "a symmetric scheme takes no zero point";
  if (!scheme.getSymmetric() && !zeroPoint)
    return op->emitOpError() << "an asymmetric scheme needs a zero point";
  if (!zeroPoint)
    return success();
  auto zpType = cast<ShapedType>(zeroPoint.getType());
  if (!shapesCompatible(zpType.getShape(), *expected))
    return op->emitOpError()
           << "zero point shape " << formatShape(zpType.getShape())
           << " does not match the scale shape " << formatShape(*expected);
  Attribute attr;
  if (matchPattern(zeroPoint, m_Constant(&attr)))
    if (auto ints = dyn_cast<DenseIntElementsAttr>(attr)) {
      int64_t index = 0;
      for (APInt v : ints.getValues<APInt>()) {
        int64_t zp = v.getZExtValue();
        if (zp < scheme.getQMin() || zp > scheme.getQMax())
          return op->emitOpError()
                 << "zero point[" << index << "] = " << zp
                 << " is outside the quantized range [" << scheme.getQMin()
                 << ", " << scheme.getQMax() << "]";
        ++index;
      }
    }
  return success();
}

LogicalResult mlir::quant_xform::verifyQuantizedElementType(
    Operation *op, QuantSchemeAttr scheme, Type elementType) {
  auto intType = dyn_cast<IntegerType>(elementType);
  if (!intType)
    return op->emitOpError()
           << "quantized element type must be an integer, got " << elementType;
  if (scheme.getSymmetric() && intType.isUnsigned())
    return op->emitOpError()
           << "symmetric quantization needs a signed or signless integer "
              "type, got "
           << elementType;
  if (!scheme.getSymmetric() && !intType.isUnsigned())
    return op->emitOpError()
           << "asymmetric quantization needs an unsigned integer type, got "
           << elementType;
  if (intType.getWidth() < scheme.getBits())
    return op->emitOpError()
           << "element type " << elementType << " cannot hold "
           << scheme.getBits() << "-bit quantized values";
  return success();
}

LogicalResult mlir::quant_xform::verifyConstantValues(Operation *op,
                                                      Value value,
                                                      StringRef what,
                                                      bool positive) {
  std::optional<std::vector<double>> values = getConstantFloats(value);
  if (!values)
    return success();
  for (auto [index, v] : llvm::enumerate(*values)) {
    if (std::isnan(v))
      return op->emitOpError() << what << "[" << index << "] is NaN";
    if (std::isinf(v))
      return op->emitOpError() << what << "[" << index << "] is infinite";
    if (positive && v <= 0.0)
      return op->emitOpError()
             << what << "[" << index << "] = " << v << " is not positive";
  }
  return success();
}

LogicalResult mlir::quant_xform::verifyAccumulatorBound(Operation *op,
                                                        int64_t k, int64_t maxA,
                                                        int64_t maxB) {
  if (ShapedType::isDynamic(k))
    return success();
  // |Σ_k a_k·b_k| ≤ K·max|a|·max|b| must fit a signed 32-bit accumulator.
  constexpr int64_t int32Max = 2147483647;
  __int128 bound = static_cast<__int128>(k) * maxA * maxB;
  if (bound > int32Max)
    return op->emitOpError()
           << "int32 accumulator can overflow: K = " << k << " × " << maxA
           << " × " << maxB << " = " << static_cast<int64_t>(bound)
           << " > 2147483647; split K into chunks of at most "
           << int32Max / (maxA * maxB);
  return success();
}

int64_t mlir::quant_xform::maxMagnitude(Type intType) {
  auto type = cast<IntegerType>(intType);
  unsigned width = std::min(type.getWidth(), 62u);
  return type.isUnsigned() ? (int64_t(1) << width) - 1
                           : int64_t(1) << (width - 1);
}
