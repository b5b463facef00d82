//===- EvaluatorImpl.h - reference evaluator internals ------------*- C++
//-*-===//
//
// Shared between the evaluator's files: the per-call environment, scalar
// semantics of arith/math ops (ArithMathEval.cpp) and the quant_xform op
// semantics (QuantXformEval.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef QUANT_XFORM_LIB_REFERENCE_EVALUATORIMPL_H
#define QUANT_XFORM_LIB_REFERENCE_EVALUATORIMPL_H

#include "quant-xform/Reference/Evaluator.h"

#include "mlir/IR/Operation.h"
#include "llvm/ADT/DenseMap.h"

namespace mlir::quant_xform::reference {

/// One element: `f` for float dtypes, `i` for integer dtypes.
struct Scalar {
  double f = 0.0;
  int64_t i = 0;
};

/// Reads element `flat` of `t` as a Scalar.
inline Scalar scalarAt(const Tensor &t, int64_t flat) {
  Scalar s;
  if (t.isFloat())
    s.f = t.getFloat(flat);
  else
    s.i = t.getInt(flat);
  return s;
}
/// Writes a Scalar into element `flat` of `t`.
inline void setScalar(Tensor &t, int64_t flat, Scalar s) {
  if (t.isFloat())
    t.setFloat(flat, s.f);
  else
    t.setInt(flat, s.i);
}

/// The dtype of a value's type (its element type for shaped types); emits
/// an error at `op` when the evaluator does not model it.
FailureOr<DType> valueDType(Operation *op, Value v);

/// True for the arith/math ops the evaluator applies element by element.
bool isElementwiseScalarOp(Operation *op);

/// Applies one arith/math op to scalars. `operandTypes` and `resultType`
/// are the element dtypes. Fails (with a diagnostic at `op`) on unsupported
/// ops or predicates.
FailureOr<Scalar> evalScalarOp(Operation *op, ArrayRef<Scalar> operands,
                               ArrayRef<DType> operandTypes, DType resultType);

/// Rounds half to even (the rounding of every quantizer here).
double roundHalfEven(double v);

/// The interpreter proper; one instance per Evaluator::run call.
class EvaluatorImpl {
public:
  explicit EvaluatorImpl(Evaluator &parent) : parent(parent) {}

  /// Runs a function with the given arguments.
  FailureOr<SmallVector<Tensor>> call(Operation *func, ArrayRef<Tensor> args,
                                      unsigned depth);

  /// Evaluates one op in the current frame.
  LogicalResult evalOp(Operation *op);

  /// The value bound to `v` in the current frame (must be bound).
  const Tensor &lookup(Value v) const;
  /// Binds `v` in the current frame.
  void bind(Value v, Tensor t) {
    if (parent.emulatePrecision && t.isFloat() && t.dtype() != DType::F64)
      for (double &x : t.floats())
        x = roundToPrecision(x, t.dtype());
    frames.back()[v] = std::move(t);
  }

  /// quant_xform ops (QuantXformEval.cpp); `handled` is false for other ops.
  LogicalResult evalQuantXformOp(Operation *op, bool &handled);

  Evaluator &parent;

private:
  LogicalResult evalConstant(Operation *op);
  LogicalResult evalElementwise(Operation *op);
  LogicalResult evalTensorOp(Operation *op, bool &handled);
  LogicalResult evalLinalgStructured(Operation *op);
  LogicalResult evalSoftmax(Operation *op);

  SmallVector<llvm::DenseMap<Value, Tensor>> frames;
  unsigned callDepth = 0;
};

} // namespace mlir::quant_xform::reference

#endif
