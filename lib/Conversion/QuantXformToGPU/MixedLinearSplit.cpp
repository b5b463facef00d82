//===- MixedLinearSplit.cpp - LLM.int8() linears for the GPU kernels ------===//
//
// Rewrites a `mixed_linear` (LLM.int8(): outlier columns in float, the rest
// int8) into ops the GPU lowering has kernels for, in the order the CPU
// lowering computes it: the outlier column mask (static `columns`, or the
// column maxima of |x| against `threshold`), x_in = x with the outlier
// columns zeroed, a per-token `dynamic_quantize` of x_in and a `qlinear`
// with the int8 weight (the generated tensor-core kernels), then
// + x_out·Woᵀ in float (loop kernels: the gathered outlier columns against
// the compact Wo, or x with the other columns zeroed against all of Wo).
//
//===----------------------------------------------------------------------===//

#include "../QuantXformToLinalg/LinalgBuilders.h"
#include "GemmKernels.h"
#include "quant-xform/Dialect/QuantXform/IR/QuantXformOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"

using namespace mlir;
using namespace mlir::quant_xform;
using namespace mlir::quant_xform::lowering;

bool gpu_kernels::splitMixedLinear(MixedLinearOp op) {
  auto x = cast<RankedTensorType>(op.getInput().getType());
  auto w = cast<RankedTensorType>(op.getWeight().getType());
  auto y = cast<RankedTensorType>(op.getType());
  auto wi = dyn_cast<IntegerType>(w.getElementType());
  if (x.getRank() != 2 || !x.hasStaticShape() || !x.getElementType().isF32() ||
      !y.getElementType().isF32() || !wi || wi.getWidth() != 8 ||
      wi.isUnsigned() || x.getDimSize(1) % 4 != 0 ||
      cast<RankedTensorType>(op.getWeightScale().getType()).getRank() > 1 ||
      !cast<RankedTensorType>(op.getWeightScale().getType())
           .getElementType()
           .isF32() ||
      !cast<RankedTensorType>(op.getOutlierWeight().getType())
           .getElementType()
           .isF32())
    return false;
  OpBuilder b(op);
  Location loc = op.getLoc();
  MLIRContext *ctx = b.getContext();
  Type ft = x.getElementType();
  int64_t m = x.getDimSize(0), k = x.getDimSize(1);
  AffineExpr i, j;
  bindDims(ctx, i, j);
  AffineMap elem = AffineMap::get(2, 0, {i, j}, ctx);
  AffineMap col = AffineMap::get(2, 0, {j}, ctx);
  Value input = op.getInput();
  // isOutlier[k] ∈ {0, 1}.
  Value isOutlier;
  std::optional<ArrayRef<int64_t>> cols = op.getColumns();
  if (cols) {
    std::vector<double> mask(k, 0.0);
    for (int64_t c : *cols)
      mask[c] = 1.0;
    isOutlier = denseConstant(b, loc, RankedTensorType::get({k}, ft), mask);
  } else {
    double t = op.getThreshold()->convertToDouble();
    Value colMax0 = filled(b, loc, {k}, ft, b.getFloatAttr(ft, 0.0));
    Value colMax = generic(b, loc, {input}, {colMax0}, {elem, col}, 2, {0},
                           [](OpBuilder &nb, Location nl, ValueRange a) {
                             Value abs = math::AbsFOp::create(nb, nl, a[0]);
                             return SmallVector<Value>{
                                 arith::MaxNumFOp::create(nb, nl, a[1], abs)};
                           })
                       .front();
    Value tv = scalar(b, loc, ft, t);
    AffineMap id1 = AffineMap::get(1, 0, {getAffineDimExpr(0, ctx)}, ctx);
    isOutlier =
        generic(b, loc, {colMax}, {empty(b, loc, {k}, ft)}, {id1, id1}, 1, {},
                [&](OpBuilder &nb, Location nl, ValueRange a) {
                  Value ge = arith::CmpFOp::create(
                      nb, nl, arith::CmpFPredicate::OGE, a[0], tv);
                  return SmallVector<Value>{arith::SelectOp::create(
                      nb, nl, ge, scalar(nb, nl, ft, 1.0),
                      scalar(nb, nl, ft, 0.0))};
                })
            .front();
  }
  // x_in (outlier columns zeroed) and, with a threshold, x_out.
  SmallVector<Value> outs = {empty(b, loc, {m, k}, ft)};
  SmallVector<AffineMap> maps = {elem, col, elem};
  if (!cols) {
    outs.push_back(empty(b, loc, {m, k}, ft));
    maps.push_back(elem);
  }
  SmallVector<Value> split = generic(
      b, loc, {input, isOutlier}, outs, maps, 2, {},
      [&](OpBuilder &nb, Location nl, ValueRange a) {
        Value one = scalar(nb, nl, ft, 1.0);
        Value keep = arith::SubFOp::create(nb, nl, one, a[1]);
        SmallVector<Value> r = {arith::MulFOp::create(nb, nl, a[0], keep)};
        if (!cols)
          r.push_back(arith::MulFOp::create(nb, nl, a[0], a[1]));
        return r;
      });
  // The int8 part: the GPU quantize and GEMM kernels.
  auto scheme = QuantSchemeAttr::get(ctx, Granularity::PerToken, 0, 8, true,
                                     llvm::APFloat(1.0));
  auto dq = DynamicQuantizeOp::create(
      b, loc, RankedTensorType::get({m, k}, w.getElementType()),
      RankedTensorType::get({m}, ft), Type(), split[0], scheme);
  Value result =
      QLinearOp::create(b, loc, y, dq.getResult(), dq.getScale(), Value(),
                        op.getWeight(), op.getWeightScale(), op.getBias());
  // + x_out·Woᵀ in float.
  Value xo =
      cols ? gatherColumns(b, loc, input, m,
                           std::vector<double>(cols->begin(), cols->end()))
           : split[1];
  result = matmulFloat(b, loc, xo, op.getOutlierWeight(), result,
                       /*rhsKN=*/false);
  op.getResult().replaceAllUsesWith(result);
  op.erase();
  return true;
}
