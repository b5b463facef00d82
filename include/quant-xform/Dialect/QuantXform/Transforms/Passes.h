//===- Passes.h - quant_xform pass entry points -------------------*- C++
//-*-===//

#ifndef QUANT_XFORM_DIALECT_QUANTXFORM_TRANSFORMS_PASSES_H
#define QUANT_XFORM_DIALECT_QUANTXFORM_TRANSFORMS_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Quant/IR/Quant.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"
#include "quant-xform/Calibration/RangeChoosers.h"
#include "quant-xform/Dialect/QuantXform/IR/QuantXformAttrs.h"
#include "quant-xform/Dialect/QuantXform/IR/QuantXformDialect.h"

namespace mlir::quant_xform {

/// The LLM.int8() outlier split of quant-xform-split-outliers and the
/// `outliers` option of quant-xform-w8a8 (none: no split).
enum class OutlierSplit { None, Static, Dynamic };

/// The transforms of quant-xform-insert-transforms (its `kind` option).
enum class TransformKind {
  Hadamard,
  RandomOrthogonal,
  Permutation,
  Dense,
  Pca,
  Affine,
  Smooth,
  LearnedAffine,
  Auto
};

/// The spelling of `kind` in the pass option and in `quant_xform.search`
/// ("hadamard", "random-orthogonal", ...).
StringRef stringifyTransformKind(TransformKind kind);

#define GEN_PASS_DECL
#include "quant-xform/Dialect/QuantXform/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "quant-xform/Dialect/QuantXform/Transforms/Passes.h.inc"

/// Folds transforms into adjacent linears: `linear(T(x))` into the weight
/// (input side), `T(linear(x))` into weight and bias (output side, when the
/// linear has no other reader). quant-xform-fold-transforms-into-linears.
void populateFoldTransformsIntoLinearsPatterns(RewritePatternSet &patterns);

/// Moves rotations below residual adds and γ-free RMSNorms, where they fold
/// into linears or cancel (quant-xform-sink-rotations; with the fold
/// patterns).
void populateSinkRotationsPatterns(RewritePatternSet &patterns);

/// Runs `verifyConstantMatrix` on every rotate and affine op under `root`
/// (orthogonal / invertible constant matrices); fails after reporting each
/// op that does not hold (quant-xform-check-transform-matrices).
LogicalResult checkTransformMatrices(Operation *root);

/// Registers the `quant-xform-w8a8` named pipeline (float model → W8A8 IR).
void registerW8A8Pipeline();

} // namespace mlir::quant_xform

#endif
