//===- Evaluator.h - the reference evaluator ----------------------*- C++
//-*-===//
//
// A plain interpreter of quant_xform and of the upstream ops a transformer
// block uses (func, arith, math, tensor, linalg), in float64 and exact
// integers. It is the oracle for every pass and backend: keep it simple,
// direct and independent of the lowering code.
//
//===----------------------------------------------------------------------===//

#ifndef QUANT_XFORM_REFERENCE_EVALUATOR_H
#define QUANT_XFORM_REFERENCE_EVALUATOR_H

#include "quant-xform/IO/Tensor.h"

#include "mlir/IR/BuiltinOps.h"

namespace mlir::quant_xform {
class ObserveOp;
} // namespace mlir::quant_xform

namespace mlir::quant_xform::reference {

/// The evaluator's values are IO's dense host tensors.
using io::DType;
using io::Tensor;

/// What the evaluator calls at every `quant_xform.observe` it runs (the op
/// itself is the identity). Calibration's ObserverStatistics records what
/// the observers see; the evaluator keeps no statistics.
class ObserveHook {
public:
  virtual ~ObserveHook();
  /// Called with the observed value; a failure (with a diagnostic at `op`)
  /// stops the run.
  virtual LogicalResult observe(ObserveOp op, const Tensor &x) = 0;
};

/// Interprets functions of a module on Tensors.
class Evaluator {
public:
  /// Interprets functions of `module`, which must outlive the evaluator.
  explicit Evaluator(ModuleOp module) : module(module) {}

  /// Runs `function` on `args`. Emits a diagnostic (at the offending op) and
  /// fails on unsupported ops, wrong argument counts/shapes/dtypes, or
  /// values the maths cannot take.
  FailureOr<SmallVector<Tensor>> run(StringRef function, ArrayRef<Tensor> args);

  /// Calls `hook` at every `quant_xform.observe` (null: none). The hook
  /// must outlive the runs.
  void setObserveHook(ObserveHook *hook) { observeHook = hook; }

  /// Rounds every float result (of ops and of linalg payload steps) to its
  /// declared element type (f32, f16, bf16), as compiled code does, instead
  /// of carrying float64 between ops. Used to compare with backends.
  void setEmulateDeclaredPrecision(bool emulate) { emulatePrecision = emulate; }

private:
  ModuleOp module;
  ObserveHook *observeHook = nullptr;
  bool emulatePrecision = false;
  friend class EvaluatorImpl;
};

/// Seeded random arguments for `function` of `module`: floats ~ N(0, 1),
/// integers uniform over their type's range (i8 in [-127, 127]).
FailureOr<SmallVector<Tensor>>
makeRandomArguments(ModuleOp module, StringRef function, uint64_t seed);

} // namespace mlir::quant_xform::reference

#endif
