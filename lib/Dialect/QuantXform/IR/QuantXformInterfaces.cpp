//===- QuantXformInterfaces.cpp - TransformOpInterface ------------------===//
//
// The interface's shared logic and each transform op's `y = x·M + c` form.
//
//===----------------------------------------------------------------------===//

#include "quant-xform/Dialect/QuantXform/IR/QuantXformInterfaces.h"
#include "quant-xform/Dialect/QuantXform/IR/QuantXformOps.h"

#include "mlir/IR/Matchers.h"

using namespace mlir;
using namespace mlir::quant_xform;

#include "quant-xform/Dialect/QuantXform/IR/QuantXformInterfaces.cpp.inc"

/// Two operands denote the same tensor: the same value, or equal constants.
static bool sameOperand(Value a, Value b) {
  if (a == b)
    return true;
  Attribute ca, cb;
  return matchPattern(a, m_Constant(&ca)) && matchPattern(b, m_Constant(&cb)) &&
         ca == cb;
}

bool mlir::quant_xform::detail::areInverseTransforms(Operation *a,
                                                     TransformOpInterface b) {
  Operation *bOp = b.getOperation();
  if (a->getName() != bOp->getName() ||
      a->getNumOperands() != bOp->getNumOperands())
    return false;
  auto aT = cast<TransformOpInterface>(a);
  if (aT.isInverse() == b.isInverse())
    return false;
  // Operand 0 is the transformed input; the rest parameterize the transform.
  for (unsigned i = 1, e = a->getNumOperands(); i < e; ++i)
    if (!sameOperand(a->getOperand(i), bOp->getOperand(i)))
      return false;
  auto withoutInverse = [](Operation *op) {
    NamedAttrList attrs(op->getAttrDictionary());
    attrs.erase("inverse");
    return attrs.getDictionary(op->getContext());
  };
  return withoutInverse(a) == withoutInverse(bOp);
}

FailureOr<Matrix> TransformOpInterface::getWeightSideMatrix() {
  FailureOr<Matrix> m = getAppliedMatrix();
  if (failed(m))
    return failure();
  if (isDiagonal()) {
    // diag(d)⁻ᵀ = diag(1/d): no factorization needed.
    Matrix out(m->rows(), m->cols());
    for (int64_t i = 0; i < m->rows(); ++i)
      out(i, i) = 1.0 / (*m)(i, i);
    return out;
  }
  FailureOr<Matrix> inv = invert(*m);
  if (failed(inv))
    return failure();
  return inv->transpose();
}

/// A `1 × k` zero row.
static Matrix zeroOffset(int64_t k) { return Matrix(1, k); }

/// Reads an optional constant vector operand into a `1 × k` row; a missing
/// operand is zero.
static FailureOr<Matrix> constantRow(Value v, int64_t k) {
  if (!v)
    return zeroOffset(k);
  std::optional<std::vector<double>> values = getConstantFloats(v);
  if (!values || static_cast<int64_t>(values->size()) != k)
    return failure();
  Matrix row(1, k);
  row.data() = std::move(*values);
  return row;
}

//===----------------------------------------------------------------------===//
// RotateOp: y = x·Q, inverse y = x·Qᵀ
//===----------------------------------------------------------------------===//

bool RotateOp::isInverse() { return getInverse(); }

bool RotateOp::isIdentity() {
  switch (getKind()) {
  case RotationKind::Permutation:
    for (auto [i, p] : llvm::enumerate(*getPerm()))
      if (static_cast<int64_t>(i) != p)
        return false;
    return true;
  case RotationKind::Hadamard:
    // H_1 = [1]; a sign of -1 makes it a negation.
    return cast<TransformOpInterface>(getOperation()).getFeatureSize() == 1 &&
           (!getSigns() || (*getSigns())[0] == 1);
  case RotationKind::Dense: {
    std::optional<Matrix> q = getConstantMatrix(getMatrix());
    return q && q->maxAbsDiff(Matrix::identity(q->rows())) == 0.0;
  }
  }
  return false;
}

FailureOr<Matrix> RotateOp::getAppliedMatrix() {
  int64_t k = cast<TransformOpInterface>(getOperation()).getFeatureSize();
  if (ShapedType::isDynamic(k))
    return failure();
  Matrix q;
  switch (getKind()) {
  case RotationKind::Dense: {
    std::optional<Matrix> m = getConstantMatrix(getMatrix());
    if (!m)
      return failure();
    q = std::move(*m);
    break;
  }
  case RotationKind::Hadamard:
    q = Matrix::hadamard(k, getSigns() ? *getSigns() : ArrayRef<int8_t>());
    break;
  case RotationKind::Permutation:
    q = Matrix::permutation(*getPerm());
    break;
  }
  return getInverse() ? q.transpose() : q;
}

FailureOr<Matrix> RotateOp::getAppliedOffset() {
  return zeroOffset(
      cast<TransformOpInterface>(getOperation()).getFeatureSize());
}

//===----------------------------------------------------------------------===//
// AffineOp: y = (x − δ)·A⁻¹, inverse y = x·A + δ
//===----------------------------------------------------------------------===//

bool AffineOp::isInverse() { return getInverse(); }

bool AffineOp::isIdentity() {
  std::optional<Matrix> a = getConstantMatrix(getMatrix());
  if (!a || a->maxAbsDiff(Matrix::identity(a->rows())) != 0.0)
    return false;
  FailureOr<Matrix> shift = constantRow(getShift(), a->rows());
  return succeeded(shift) &&
         llvm::all_of(shift->data(), [](double v) { return v == 0.0; });
}

FailureOr<Matrix> AffineOp::getAppliedMatrix() {
  std::optional<Matrix> a = getConstantMatrix(getMatrix());
  if (!a)
    return failure();
  if (getInverse())
    return *a;
  return invert(*a);
}

FailureOr<Matrix> AffineOp::getAppliedOffset() {
  int64_t k = cast<TransformOpInterface>(getOperation()).getFeatureSize();
  FailureOr<Matrix> shift = constantRow(getShift(), k);
  if (failed(shift) || getInverse())
    return shift;
  // (x − δ)·A⁻¹ = x·A⁻¹ − δ·A⁻¹.
  FailureOr<Matrix> m = getAppliedMatrix();
  if (failed(m))
    return failure();
  Matrix c = shift->matmul(*m);
  for (double &v : c.data())
    v = -v;
  return c;
}

//===----------------------------------------------------------------------===//
// SmoothOp: y = (x − δ)/s, inverse y = x⊙s + δ
//===----------------------------------------------------------------------===//

bool SmoothOp::isInverse() { return getInverse(); }
bool SmoothOp::isDiagonal() { return true; }

bool SmoothOp::isIdentity() {
  std::optional<std::vector<double>> s = getConstantFloats(getScales());
  if (!s || !llvm::all_of(*s, [](double v) { return v == 1.0; }))
    return false;
  FailureOr<Matrix> shift = constantRow(getShift(), s->size());
  return succeeded(shift) &&
         llvm::all_of(shift->data(), [](double v) { return v == 0.0; });
}

FailureOr<Matrix> SmoothOp::getAppliedMatrix() {
  std::optional<std::vector<double>> s = getConstantFloats(getScales());
  if (!s)
    return failure();
  if (!getInverse())
    for (double &v : *s)
      v = 1.0 / v;
  return Matrix::diagonal(*s);
}

FailureOr<Matrix> SmoothOp::getAppliedOffset() {
  int64_t k = cast<TransformOpInterface>(getOperation()).getFeatureSize();
  FailureOr<Matrix> shift = constantRow(getShift(), k);
  if (failed(shift) || getInverse())
    return shift;
  std::optional<std::vector<double>> s = getConstantFloats(getScales());
  if (!s)
    return failure();
  for (int64_t j = 0; j < k; ++j)
    (*shift)(0, j) = -(*shift)(0, j) / (*s)[j];
  return shift;
}
