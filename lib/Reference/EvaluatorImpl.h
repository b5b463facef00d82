//===- EvaluatorImpl.h - reference evaluator internals ------------*- C++
//-*-===//
//
// Shared between the evaluator's files: the per-call environment, scalar
// semantics of arith/math ops (ArithMathEval.cpp) and the quant_xform op
// semantics (QuantXformEval.cpp: dispatch and float ops; QuantizeEval.cpp:
// quantizers and quantized linears). What observers record is
// calibration's (ObserverStatistics), through Evaluator's ObserveHook.
//
//===----------------------------------------------------------------------===//

#ifndef QUANT_XFORM_LIB_REFERENCE_EVALUATORIMPL_H
#define QUANT_XFORM_LIB_REFERENCE_EVALUATORIMPL_H

#include "quant-xform/Dialect/QuantXform/IR/QuantXformOps.h"
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

/// A view of a tensor `[..., K]` as `rows × K`.
struct Rows {
  int64_t rows, k;
};
inline Rows asRows(const Tensor &t) {
  int64_t k = t.rank() == 0 ? 1 : t.shape().back();
  return {k == 0 ? 0 : t.numElements() / k, k};
}

/// Calls `fn(index)` for every multi-index of `shape` in row-major order
/// (Evaluator.cpp).
void forEachIndex(ArrayRef<int64_t> shape,
                  function_ref<void(ArrayRef<int64_t>)> fn);

/// Rejects non-positive or NaN run-time scales with a diagnostic at `op`
/// naming `what` (QuantizeEval.cpp).
LogicalResult checkScales(Operation *op, const Tensor &scale, StringRef what);

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
  /// The tensor bound to an optional operand, or null.
  const Tensor *opt(Value v) const { return v ? &lookup(v) : nullptr; }
  /// The dtype of `op`'s result `i`.
  FailureOr<DType> resultDType(Operation *op, unsigned i) {
    return valueDType(op, op->getResult(i));
  }

  // One quant_xform op each (QuantXformEval.cpp, QuantizeEval.cpp).
  LogicalResult evalLinear(LinearOp l);
  LogicalResult evalBatchNorm(BatchNormOp bn);
  LogicalResult evalRotate(RotateOp rot);
  LogicalResult evalAffineOp(AffineOp aff);
  LogicalResult evalSmooth(SmoothOp sm);
  LogicalResult evalQuantize(QuantizeOp qop);
  LogicalResult evalDynamicQuantize(DynamicQuantizeOp dq);
  LogicalResult evalDequantize(DequantizeOp dq);
  LogicalResult evalFakeQuant(FakeQuantOp fq);
  LogicalResult evalQLinear(QLinearOp ql);
  LogicalResult evalMixedLinear(MixedLinearOp ml);
  LogicalResult evalObserve(ObserveOp obs);

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
