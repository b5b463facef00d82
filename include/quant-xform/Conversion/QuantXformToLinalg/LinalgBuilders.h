//===- LinalgBuilders.h - small builders for the linalg lowering -*- C++
//-*-===//
//
// Helpers the quant_xform → linalg patterns share: rows views of [..., K]
// tensors, constants, elementwise/reduction/matmul `linalg.generic`s, and
// the exact quantizer arithmetic of the reference evaluator.
//
//===----------------------------------------------------------------------===//

#ifndef QUANT_XFORM_CONVERSION_QUANTXFORMTOLINALG_LINALGBUILDERS_H
#define QUANT_XFORM_CONVERSION_QUANTXFORMTOLINALG_LINALGBUILDERS_H

#include "quant-xform/Dialect/QuantXform/IR/QuantXformAttrs.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/Builders.h"

#include <optional>

namespace mlir::quant_xform::lowering {

/// A `[..., K]` tensor seen as `[M, K]` rows.
struct Rows {
  Value value;  ///< the collapsed `[M, K]` tensor
  int64_t m, k; ///< static sizes
  SmallVector<int64_t> originalShape;
};

/// Collapses `x: [..., K]` (static shape, rank ≥ 1) to `[M, K]`.
FailureOr<Rows> collapseToRows(OpBuilder &b, Location loc, Value x);
/// Expands `[M, N]` back to the original leading shape with last dim N.
Value expandFromRows(OpBuilder &b, Location loc, Value y,
                     ArrayRef<int64_t> originalShape, int64_t n);
/// Collapses a scale-like tensor `[...]` of per-row values to `[M]`.
Value collapseToVector(OpBuilder &b, Location loc, Value v);

/// `tensor.empty` of `shape` × `elem`.
Value empty(OpBuilder &b, Location loc, ArrayRef<int64_t> shape, Type elem);
/// `tensor.empty` filled with `value`.
Value filled(OpBuilder &b, Location loc, ArrayRef<int64_t> shape, Type elem,
             Attribute value);
/// A scalar constant of `type`.
Value scalar(OpBuilder &b, Location loc, Type type, double value);
/// A dense constant tensor (f32/f64 or integer elements; null for other
/// float types).
Value denseConstant(OpBuilder &b, Location loc, RankedTensorType type,
                    ArrayRef<double> values);

/// Body builder of a linalg.generic: block arguments in, yielded values out.
using BodyFn =
    function_ref<SmallVector<Value>(OpBuilder &, Location, ValueRange)>;

/// A linalg.generic over `numLoops` loops; `maps` lists the inputs' then the
/// outputs' indexing maps; `reduced` loops are reductions.
SmallVector<Value> generic(OpBuilder &b, Location loc, ValueRange inputs,
                           ValueRange outputs, ArrayRef<AffineMap> maps,
                           unsigned numLoops, ArrayRef<unsigned> reduced,
                           BodyFn body);

/// y[i, j] = x[i, src[j]] for `x`: [M, K] and constant column indices
/// `src` (a gather: permutations, outlier columns).
Value gatherColumns(OpBuilder &b, Location loc, Value x, int64_t m,
                    ArrayRef<double> src);

/// The two inputs of an LLM.int8() linear: `inliers` = x with the outlier
/// columns zeroed; `outliers` = the outlier columns (gathered, [M, |O|],
/// for static `columns`; x with the other columns zeroed, [M, K], for a
/// run-time `threshold` on the column maxima of |x|).
struct OutlierSplit {
  Value inliers, outliers;
};
OutlierSplit splitOutlierColumns(OpBuilder &b, Location loc, Value x, int64_t m,
                                 int64_t k,
                                 std::optional<ArrayRef<int64_t>> columns,
                                 double threshold);

/// `acc[m, n] += lhs[m, k] · rhs[n, k]` (float), or `rhs[k, n]` when
/// `rhsKN`.
Value matmulFloat(OpBuilder &b, Location loc, Value lhs, Value rhs, Value acc,
                  bool rhsKN);

/// Per-row reduction of `[M, K]` into `[M]` starting from `init` (a scalar
/// attribute), combining with `combine(acc, element)`.
Value reduceRows(
    OpBuilder &b, Location loc, Value x, Type accType, double init,
    function_ref<Value(OpBuilder &, Location, Value, Value)> combine);

/// Quantizes one f32/f64 value with scale `s` (same type) and an integer
/// zero point `zp` (i64 or null): clamp(round_half_even(x / s) + zp,
/// qmin, qmax), NaN → 0, returned as an integer of `resultType`.
Value quantizeScalar(OpBuilder &b, Location loc, Value x, Value s, Value zp,
                     int64_t qmin, int64_t qmax, IntegerType resultType);

/// Dynamic scales (symmetric: clip·absmax/qmax, 1 for zero rows;
/// asymmetric: range/qmax with zero points) per row of `[M, K]` (or one for
/// the whole tensor when `perTensor`), computed in f64 and rounded to the
/// input's float type. Returns {scales [M] or [], zeroPoints (i64) or null}.
std::pair<Value, Value> dynamicScales(OpBuilder &b, Location loc, Rows x,
                                      QuantSchemeAttr scheme, bool perTensor);

/// Elementwise quantization of `[M, K]` rows with per-row (`[M]`) or
/// per-tensor (`[]`) scales and optional zero points (i64 tensors of the same
/// shape).
Value quantizeRows(OpBuilder &b, Location loc, Rows x, Value scales,
                   Value zeroPoints, QuantSchemeAttr scheme,
                   IntegerType resultType);

} // namespace mlir::quant_xform::lowering

#endif
