//===- QuantizersToLinalg.cpp - quantize ops → linalg on tensors ---------===//
//
// dynamic_quantize, quantize and dequantize on `[M, K]` rows, with the
// evaluator's rounding. A per-group scheme quantizes each group of G inputs
// as a row of its own.
//
//===----------------------------------------------------------------------===//

#include "ToLinalgPatterns.h"
#include "quant-xform/Conversion/QuantXformToLinalg/LinalgBuilders.h"
#include "quant-xform/Dialect/QuantXform/IR/QuantXformOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace mlir::quant_xform;
using namespace mlir::quant_xform::lowering;

namespace {

/// A per-group scheme quantizes each group of G inputs as a row: `[..., K]`
/// is viewed as `[..., K/G, G]` (other schemes keep `x`).
static Value splitGroups(OpBuilder &b, Location loc, Value x,
                         QuantSchemeAttr scheme) {
  auto type = cast<RankedTensorType>(x.getType());
  if (scheme.getGranularity() != Granularity::PerGroup ||
      !type.hasStaticShape())
    return x;
  int64_t g = scheme.getGroupSize(), rank = type.getRank();
  SmallVector<int64_t> shape(type.getShape().drop_back());
  shape.append({type.getShape().back() / g, g});
  SmallVector<ReassociationIndices> groups;
  for (int64_t i = 0; i + 1 < rank; ++i)
    groups.push_back({i});
  groups.push_back({rank - 1, rank});
  return tensor::ExpandShapeOp::create(b, loc, type.clone(shape), x, groups);
}

/// The inverse of splitGroups: `[..., K/G, G]` back to `[..., K]`.
static Value mergeGroups(OpBuilder &b, Location loc, Value y,
                         QuantSchemeAttr scheme) {
  if (scheme.getGranularity() != Granularity::PerGroup)
    return y;
  int64_t rank = cast<RankedTensorType>(y.getType()).getRank();
  SmallVector<ReassociationIndices> groups;
  for (int64_t i = 0; i + 2 < rank; ++i)
    groups.push_back({i});
  groups.push_back({rank - 2, rank - 1});
  return tensor::CollapseShapeOp::create(b, loc, y, groups);
}

struct LowerDynamicQuantize : OpConversionPattern<DynamicQuantizeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(DynamicQuantizeOp op, OpAdaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    OpBuilder &b = rewriter;
    FailureOr<Rows> x =
        rowsOf(op, b, splitGroups(b, loc, op.getInput(), op.getScheme()));
    if (failed(x))
      return failure();
    bool perTensor = op.getScheme().getGranularity() == Granularity::PerTensor;
    auto [scales, zeroPoints] =
        dynamicScales(b, loc, *x, op.getScheme(), perTensor);
    auto qType = cast<RankedTensorType>(op.getResult().getType());
    Value q = quantizeRows(b, loc, *x, scales, zeroPoints, op.getScheme(),
                           cast<IntegerType>(qType.getElementType()));
    q = mergeGroups(b, loc, expandFromRows(b, loc, q, x->originalShape, x->k),
                    op.getScheme());
    auto sType = cast<RankedTensorType>(op.getScale().getType());
    SmallVector<Value> results = {q, reshapeTo(b, loc, scales, sType)};
    if (Value zp = op.getZeroPoint()) {
      auto zType = cast<RankedTensorType>(zp.getType());
      auto bits = b.getIntegerType(
          cast<IntegerType>(zType.getElementType()).getWidth());
      auto zpShape = cast<RankedTensorType>(zeroPoints.getType());
      unsigned loops = zpShape.getRank();
      MLIRContext *ctx = b.getContext();
      AffineMap id = AffineMap::getMultiDimIdentityMap(loops, ctx);
      Value narrow = generic(b, loc, {zeroPoints},
                             {empty(b, loc, zpShape.getShape(), bits)},
                             {id, id}, loops, {},
                             [&](OpBuilder &nb, Location nl, ValueRange a) {
                               return SmallVector<Value>{
                                   arith::TruncIOp::create(nb, nl, bits, a[0])};
                             })
                         .front();
      narrow =
          reinterpret(b, loc, narrow, zpShape.clone(zType.getElementType()));
      results.push_back(reshapeTo(b, loc, narrow, zType));
    }
    rewriter.replaceOp(op, results);
    return success();
  }
};

/// The rows of a quantize or dequantize input (groups of a per-group scheme
/// as rows) with its scales and zero points as vectors over them.
struct ScaledRows {
  Rows x;
  Value scales, zeroPoints;
};

template <typename Op>
static FailureOr<ScaledRows> scaledRows(Op op, OpBuilder &b) {
  Location loc = op.getLoc();
  FailureOr<Rows> x =
      rowsOf(op, b, splitGroups(b, loc, op.getInput(), op.getScheme()));
  if (failed(x))
    return failure();
  ScaledRows r{*x, collapseToVector(b, loc, op.getScale()), Value()};
  if (op.getZeroPoint())
    r.zeroPoints =
        signless(b, loc, collapseToVector(b, loc, op.getZeroPoint()));
  return r;
}

struct LowerQuantize : LowerOp<QuantizeOp> {
  using LowerOp::LowerOp;
  FailureOr<Value> lower(QuantizeOp op, OpBuilder &b) const override {
    Location loc = op.getLoc();
    FailureOr<ScaledRows> r = scaledRows(op, b);
    if (failed(r))
      return failure();
    auto qType = cast<RankedTensorType>(op.getType());
    Value q =
        quantizeRows(b, loc, r->x, r->scales, r->zeroPoints, op.getScheme(),
                     cast<IntegerType>(qType.getElementType()));
    return mergeGroups(b, loc,
                       expandFromRows(b, loc, q, r->x.originalShape, r->x.k),
                       op.getScheme());
  }
};

struct LowerDequantize : LowerOp<DequantizeOp> {
  using LowerOp::LowerOp;
  FailureOr<Value> lower(DequantizeOp op, OpBuilder &b) const override {
    Location loc = op.getLoc();
    FailureOr<ScaledRows> r = scaledRows(op, b);
    if (failed(r))
      return failure();
    Rows *q = &r->x;
    bool isUnsigned =
        cast<IntegerType>(
            cast<RankedTensorType>(op.getInput().getType()).getElementType())
            .isUnsigned();
    Value qv = signless(b, loc, q->value);
    Value s = r->scales, zp = r->zeroPoints;
    Type ft = cast<RankedTensorType>(op.getType()).getElementType();
    MLIRContext *ctx = b.getContext();
    AffineExpr i, j;
    bindDims(ctx, i, j);
    AffineMap sMap = cast<RankedTensorType>(s.getType()).getRank() == 0
                         ? AffineMap::get(2, 0, {}, ctx)
                         : AffineMap::get(2, 0, {i}, ctx);
    SmallVector<Value> ins = {qv, s};
    SmallVector<AffineMap> maps = {AffineMap::get(2, 0, {i, j}, ctx), sMap};
    if (zp) {
      ins.push_back(zp);
      maps.push_back(sMap);
    }
    maps.push_back(AffineMap::get(2, 0, {i, j}, ctx));
    Type i32 = b.getI32Type();
    Value y =
        generic(
            b, loc, ins, {empty(b, loc, {q->m, q->k}, ft)}, maps, 2, {},
            [&](OpBuilder &nb, Location nl, ValueRange a) {
              Value v = isUnsigned
                            ? Value(arith::ExtUIOp::create(nb, nl, i32, a[0]))
                            : Value(arith::ExtSIOp::create(nb, nl, i32, a[0]));
              if (zp)
                v = arith::SubIOp::create(
                    nb, nl, v, arith::ExtUIOp::create(nb, nl, i32, a[2]));
              Value f = arith::SIToFPOp::create(nb, nl, ft, v);
              return SmallVector<Value>{arith::MulFOp::create(nb, nl, f, a[1])};
            })
            .front();
    return mergeGroups(b, loc,
                       expandFromRows(b, loc, y, q->originalShape, q->k),
                       op.getScheme());
  }
};

} // namespace

void lowering::populateQuantizersToLinalgPatterns(RewritePatternSet &patterns) {
  patterns.add<LowerDynamicQuantize, LowerQuantize, LowerDequantize>(
      patterns.getContext());
}
