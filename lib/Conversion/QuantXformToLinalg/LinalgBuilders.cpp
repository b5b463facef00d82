//===- LinalgBuilders.cpp - small builders for the linalg lowering -------===//

#include "quant-xform/Conversion/QuantXformToLinalg/LinalgBuilders.h"

#include "quant-xform/Support/Matrix.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace mlir::quant_xform;
using namespace mlir::quant_xform::lowering;

FailureOr<Rows> lowering::collapseToRows(OpBuilder &b, Location loc, Value x) {
  auto type = dyn_cast<RankedTensorType>(x.getType());
  if (!type || !type.hasStaticShape() || type.getRank() == 0)
    return failure();
  Rows r;
  r.originalShape.assign(type.getShape().begin(), type.getShape().end());
  r.k = type.getShape().back();
  r.m = 1;
  for (int64_t d : type.getShape().drop_back())
    r.m *= d;
  if (type.getRank() == 2) {
    r.value = x;
    return r;
  }
  SmallVector<ReassociationIndices> groups;
  if (type.getRank() == 1) {
    r.value = tensor::ExpandShapeOp::create(
        b, loc, RankedTensorType::get({1, r.k}, type.getElementType()), x,
        ArrayRef<ReassociationIndices>{{0, 1}});
    return r;
  }
  ReassociationIndices lead;
  for (int64_t i = 0; i + 1 < type.getRank(); ++i)
    lead.push_back(i);
  groups = {lead, {type.getRank() - 1}};
  r.value = tensor::CollapseShapeOp::create(b, loc, x, groups);
  return r;
}

Value lowering::expandFromRows(OpBuilder &b, Location loc, Value y,
                               ArrayRef<int64_t> originalShape, int64_t n) {
  SmallVector<int64_t> shape(originalShape);
  shape.back() = n;
  auto elem = cast<RankedTensorType>(y.getType()).getElementType();
  if (shape.size() == 2)
    return y;
  auto type = RankedTensorType::get(shape, elem);
  if (shape.size() == 1)
    return tensor::CollapseShapeOp::create(
        b, loc, type, y, ArrayRef<ReassociationIndices>{{0, 1}});
  ReassociationIndices lead;
  for (size_t i = 0; i + 1 < shape.size(); ++i)
    lead.push_back(i);
  return tensor::ExpandShapeOp::create(
      b, loc, type, y,
      ArrayRef<ReassociationIndices>{lead, {int64_t(shape.size()) - 1}});
}

Value lowering::collapseToVector(OpBuilder &b, Location loc, Value v) {
  auto type = cast<RankedTensorType>(v.getType());
  if (type.getRank() <= 1)
    return v;
  ReassociationIndices all;
  for (int64_t i = 0; i < type.getRank(); ++i)
    all.push_back(i);
  return tensor::CollapseShapeOp::create(b, loc, v,
                                         ArrayRef<ReassociationIndices>{all});
}

Value lowering::empty(OpBuilder &b, Location loc, ArrayRef<int64_t> shape,
                      Type elem) {
  return tensor::EmptyOp::create(b, loc, shape, elem);
}

Value lowering::filled(OpBuilder &b, Location loc, ArrayRef<int64_t> shape,
                       Type elem, Attribute value) {
  Value c = arith::ConstantOp::create(b, loc, cast<TypedAttr>(value));
  return linalg::FillOp::create(b, loc, c, empty(b, loc, shape, elem))
      .getResult(0);
}

Value lowering::scalar(OpBuilder &b, Location loc, Type type, double value) {
  if (isa<FloatType>(type))
    return arith::ConstantOp::create(b, loc, b.getFloatAttr(type, value));
  return arith::ConstantOp::create(
      b, loc, b.getIntegerAttr(type, static_cast<int64_t>(value)));
}

Value lowering::denseConstant(OpBuilder &b, Location loc, RankedTensorType type,
                              ArrayRef<double> values) {
  Type elem = type.getElementType();
  if (isa<FloatType>(elem)) {
    FailureOr<Value> c = makeFloatConstant(b, loc, type, values);
    return succeeded(c) ? *c : Value();
  }
  auto intType = cast<IntegerType>(elem);
  SmallVector<APInt> ints;
  for (double v : values)
    ints.push_back(APInt(intType.getWidth(), static_cast<int64_t>(v),
                         /*isSigned=*/true));
  return arith::ConstantOp::create(b, loc, DenseElementsAttr::get(type, ints));
}

SmallVector<Value> lowering::generic(OpBuilder &b, Location loc,
                                     ValueRange inputs, ValueRange outputs,
                                     ArrayRef<AffineMap> maps,
                                     unsigned numLoops,
                                     ArrayRef<unsigned> reduced, BodyFn body) {
  SmallVector<utils::IteratorType> iterators(numLoops,
                                             utils::IteratorType::parallel);
  for (unsigned r : reduced)
    iterators[r] = utils::IteratorType::reduction;
  SmallVector<Type> resultTypes;
  for (Value o : outputs)
    resultTypes.push_back(o.getType());
  auto op = linalg::GenericOp::create(
      b, loc, resultTypes, inputs, outputs, maps, iterators,
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        linalg::YieldOp::create(nb, nl, body(nb, nl, args));
      });
  return SmallVector<Value>(op->getResults());
}

Value lowering::matmulFloat(OpBuilder &b, Location loc, Value lhs, Value rhs,
                            Value acc, bool rhsKN) {
  MLIRContext *ctx = b.getContext();
  AffineExpr m, n, k;
  bindDims(ctx, m, n, k);
  auto map = [&](ArrayRef<AffineExpr> e) {
    return AffineMap::get(3, 0, e, ctx);
  };
  return generic(b, loc, {lhs, rhs}, {acc},
                 {map({m, k}), rhsKN ? map({k, n}) : map({n, k}), map({m, n})},
                 3, {2},
                 [](OpBuilder &nb, Location nl, ValueRange a) {
                   Value p = arith::MulFOp::create(nb, nl, a[0], a[1]);
                   return SmallVector<Value>{
                       arith::AddFOp::create(nb, nl, a[2], p)};
                 })
      .front();
}

Value lowering::reduceRows(
    OpBuilder &b, Location loc, Value x, Type accType, double init,
    function_ref<Value(OpBuilder &, Location, Value, Value)> combine) {
  auto type = cast<RankedTensorType>(x.getType());
  int64_t m = type.getDimSize(0);
  MLIRContext *ctx = b.getContext();
  Value acc = filled(b, loc, {m}, accType, b.getFloatAttr(accType, init));
  AffineExpr i, j;
  bindDims(ctx, i, j);
  return generic(b, loc, {x}, {acc},
                 {AffineMap::get(2, 0, {i, j}, ctx),
                  AffineMap::get(2, 0, {i}, ctx)},
                 2, {1},
                 [&](OpBuilder &nb, Location nl, ValueRange a) {
                   return SmallVector<Value>{combine(nb, nl, a[1], a[0])};
                 })
      .front();
}

Value lowering::quantizeScalar(OpBuilder &b, Location loc, Value x, Value s,
                               Value zp, int64_t qmin, int64_t qmax,
                               IntegerType resultType) {
  Type ft = x.getType();
  Value q = arith::DivFOp::create(b, loc, x, s);
  // NaN quantizes to 0 (before the zero point), as in the evaluator.
  Value isNan = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNO, q, q);
  q = arith::SelectOp::create(b, loc, isNan, scalar(b, loc, ft, 0.0), q);
  q = math::RoundEvenOp::create(b, loc, q);
  if (zp)
    q = arith::AddFOp::create(b, loc, q,
                              arith::SIToFPOp::create(b, loc, ft, zp));
  q = arith::MaxNumFOp::create(b, loc, q, scalar(b, loc, ft, double(qmin)));
  q = arith::MinNumFOp::create(b, loc, q, scalar(b, loc, ft, double(qmax)));
  // Signless storage for the arithmetic; unsigned types share the bits.
  Type bits = b.getIntegerType(resultType.getWidth());
  Value asInt = resultType.isUnsigned()
                    ? Value(arith::FPToUIOp::create(b, loc, bits, q))
                    : Value(arith::FPToSIOp::create(b, loc, bits, q));
  return asInt;
}

std::pair<Value, Value> lowering::dynamicScales(OpBuilder &b, Location loc,
                                                Rows x, QuantSchemeAttr scheme,
                                                bool perTensor) {
  MLIRContext *ctx = b.getContext();
  auto xType = cast<RankedTensorType>(x.value.getType());
  Type ft = xType.getElementType();
  Type f64 = b.getF64Type();
  Type i64 = b.getI64Type();
  double clip = scheme.getClipRatio();
  double qmax = static_cast<double>(scheme.getQMax());
  bool sym = scheme.getSymmetric();
  AffineExpr i, j;
  bindDims(ctx, i, j);
  // lo/hi per row (or for the tensor), NaN ignored, 0 included.
  SmallVector<int64_t> accShape;
  if (!perTensor)
    accShape.push_back(x.m);
  AffineMap out = perTensor ? AffineMap::get(2, 0, {}, ctx)
                            : AffineMap::get(2, 0, {i}, ctx);
  Value lo0 = filled(b, loc, accShape, ft, b.getFloatAttr(ft, 0.0));
  Value hi0 = filled(b, loc, accShape, ft, b.getFloatAttr(ft, 0.0));
  SmallVector<unsigned> reduced = {1u};
  if (perTensor)
    reduced = {0u, 1u};
  // Two single-output reductions, not one with two outputs: the CPU
  // vectorizer takes single-output reductions (a two-output one stayed a
  // scalar loop that stored both accumulators every element, and threads
  // sharing their cache line slowed each other down 20×).
  SmallVector<Value> range;
  for (bool isMax : {false, true})
    range.push_back(
        generic(
            b, loc, {x.value}, {isMax ? hi0 : lo0},
            {AffineMap::get(2, 0, {i, j}, ctx), out}, 2, reduced,
            [&](OpBuilder &nb, Location nl, ValueRange a) {
              Value v =
                  isMax
                      ? arith::MaxNumFOp::create(nb, nl, a[1], a[0]).getResult()
                      : arith::MinNumFOp::create(nb, nl, a[1], a[0])
                            .getResult();
              return SmallVector<Value>{v};
            })
            .front());
  // Elementwise over the scales: one loop per row, none per tensor.
  unsigned loops = perTensor ? 0 : 1;
  AffineMap id = perTensor
                     ? AffineMap::get(0, 0, {}, ctx)
                     : AffineMap::get(1, 0, {getAffineDimExpr(0, ctx)}, ctx);
  Value sInit = empty(b, loc, accShape, ft);
  Value zInit = empty(b, loc, accShape, i64);
  SmallVector<Value> outs = {sInit};
  if (!sym)
    outs.push_back(zInit);
  SmallVector<AffineMap> maps = {id, id, id};
  if (!sym)
    maps.push_back(id);
  SmallVector<Value> res = generic(
      b, loc, {range[0], range[1]}, outs, maps, loops, {},
      [&](OpBuilder &nb, Location nl, ValueRange a) {
        Value lo =
            ft.isF64() ? a[0] : Value(arith::ExtFOp::create(nb, nl, f64, a[0]));
        Value hi =
            ft.isF64() ? a[1] : Value(arith::ExtFOp::create(nb, nl, f64, a[1]));
        Value c = scalar(nb, nl, f64, clip);
        Value zero = scalar(nb, nl, f64, 0.0);
        Value inf = scalar(nb, nl, f64, INFINITY);
        Value span = sym ? Value(arith::MaximumFOp::create(
                               nb, nl, arith::NegFOp::create(nb, nl, lo), hi))
                         : Value(arith::SubFOp::create(nb, nl, hi, lo));
        span = arith::MulFOp::create(nb, nl, span, c);
        Value ok = arith::AndIOp::create(
            nb, nl,
            arith::CmpFOp::create(nb, nl, arith::CmpFPredicate::OGT, span,
                                  zero),
            arith::CmpFOp::create(nb, nl, arith::CmpFPredicate::OLT, span,
                                  inf));
        Value s =
            arith::DivFOp::create(nb, nl, span, scalar(nb, nl, f64, qmax));
        Value sF =
            ft.isF64() ? s : Value(arith::TruncFOp::create(nb, nl, ft, s));
        sF = arith::SelectOp::create(nb, nl, ok, sF, scalar(nb, nl, ft, 1.0));
        SmallVector<Value> y = {sF};
        if (!sym) {
          Value s64 =
              ft.isF64() ? sF : Value(arith::ExtFOp::create(nb, nl, f64, sF));
          Value z = arith::DivFOp::create(
              nb, nl,
              arith::MulFOp::create(nb, nl, arith::NegFOp::create(nb, nl, lo),
                                    c),
              s64);
          z = math::RoundEvenOp::create(nb, nl, z);
          z = arith::MaxNumFOp::create(nb, nl, z, zero);
          z = arith::MinNumFOp::create(nb, nl, z, scalar(nb, nl, f64, qmax));
          y.push_back(arith::FPToSIOp::create(nb, nl, nb.getI64Type(), z));
        }
        return y;
      });
  return {res[0], sym ? Value() : res[1]};
}

Value lowering::quantizeRows(OpBuilder &b, Location loc, Rows x, Value scales,
                             Value zeroPoints, QuantSchemeAttr scheme,
                             IntegerType resultType) {
  MLIRContext *ctx = b.getContext();
  AffineExpr i, j;
  bindDims(ctx, i, j);
  auto sType = cast<RankedTensorType>(scales.getType());
  AffineMap sMap = sType.getRank() == 0 ? AffineMap::get(2, 0, {}, ctx)
                                        : AffineMap::get(2, 0, {i}, ctx);
  AffineMap xMap = AffineMap::get(2, 0, {i, j}, ctx);
  Type bits = b.getIntegerType(resultType.getWidth());
  Value init = empty(b, loc, {x.m, x.k}, bits);
  SmallVector<Value> ins = {x.value, scales};
  SmallVector<AffineMap> maps = {xMap, sMap};
  if (zeroPoints) {
    ins.push_back(zeroPoints);
    maps.push_back(sMap);
  }
  maps.push_back(xMap);
  int64_t qmin = scheme.getQMin(), qmax = scheme.getQMax();
  Value q =
      generic(b, loc, ins, {init}, maps, 2, {},
              [&](OpBuilder &nb, Location nl, ValueRange a) {
                Value zp;
                if (zeroPoints) {
                  zp = a[2];
                  if (zp.getType() != nb.getI64Type())
                    zp = arith::ExtUIOp::create(nb, nl, nb.getI64Type(), zp);
                }
                return SmallVector<Value>{quantizeScalar(
                    nb, nl, a[0], a[1], zp, qmin, qmax, resultType)};
              })
          .front();
  if (resultType.isSignless())
    return q;
  return tensor::BitcastOp::create(
      b, loc, RankedTensorType::get({x.m, x.k}, resultType), q);
}

Value lowering::gatherColumns(OpBuilder &b, Location loc, Value x, int64_t m,
                              ArrayRef<double> src) {
  MLIRContext *ctx = b.getContext();
  Type ft = cast<RankedTensorType>(x.getType()).getElementType();
  int64_t n = src.size();
  Value idx =
      denseConstant(b, loc, RankedTensorType::get({n}, b.getI64Type()), src);
  AffineExpr i, j;
  bindDims(ctx, i, j);
  return generic(b, loc, {idx}, {empty(b, loc, {m, n}, ft)},
                 {AffineMap::get(2, 0, {j}, ctx),
                  AffineMap::get(2, 0, {i, j}, ctx)},
                 2, {},
                 [&](OpBuilder &nb, Location nl, ValueRange a) {
                   Value row = linalg::IndexOp::create(nb, nl, 0);
                   Value col = arith::IndexCastOp::create(
                       nb, nl, nb.getIndexType(), a[0]);
                   return SmallVector<Value>{tensor::ExtractOp::create(
                       nb, nl, x, ValueRange{row, col})};
                 })
      .front();
}

OutlierSplit lowering::splitOutlierColumns(
    OpBuilder &b, Location loc, Value x, int64_t m, int64_t k,
    std::optional<ArrayRef<int64_t>> columns, double threshold) {
  MLIRContext *ctx = b.getContext();
  Type ft = cast<RankedTensorType>(x.getType()).getElementType();
  AffineExpr i, j;
  bindDims(ctx, i, j);
  AffineMap elem = AffineMap::get(2, 0, {i, j}, ctx);
  AffineMap col = AffineMap::get(2, 0, {j}, ctx);
  // isOutlier[k] ∈ {0, 1}: static from `columns`, dynamic from column
  // maxima of |x| against the threshold.
  Value isOutlier;
  if (columns) {
    std::vector<double> mask(k, 0.0);
    for (int64_t c : *columns)
      mask[c] = 1.0;
    isOutlier = denseConstant(b, loc, RankedTensorType::get({k}, ft), mask);
  } else {
    Value colMax0 = filled(b, loc, {k}, ft, b.getFloatAttr(ft, 0.0));
    Value colMax = generic(b, loc, {x}, {colMax0}, {elem, col}, 2, {0},
                           [](OpBuilder &nb, Location nl, ValueRange a) {
                             Value abs = math::AbsFOp::create(nb, nl, a[0]);
                             return SmallVector<Value>{
                                 arith::MaxNumFOp::create(nb, nl, a[1], abs)};
                           })
                       .front();
    Value tv = scalar(b, loc, ft, threshold);
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
  // x_in = x with the outlier columns zeroed; with a dynamic threshold
  // also x_out = the outlier columns (static columns are gathered below).
  SmallVector<Value> outs = {empty(b, loc, {m, k}, ft)};
  SmallVector<AffineMap> maps = {elem, col, elem};
  if (!columns) {
    outs.push_back(empty(b, loc, {m, k}, ft));
    maps.push_back(elem);
  }
  SmallVector<Value> split = generic(
      b, loc, {x, isOutlier}, outs, maps, 2, {},
      [&](OpBuilder &nb, Location nl, ValueRange a) {
        Value one = scalar(nb, nl, ft, 1.0);
        Value keep = arith::SubFOp::create(nb, nl, one, a[1]);
        SmallVector<Value> r = {arith::MulFOp::create(nb, nl, a[0], keep)};
        if (!columns)
          r.push_back(arith::MulFOp::create(nb, nl, a[0], a[1]));
        return r;
      });
  if (columns)
    return {split[0], gatherColumns(b, loc, x, m,
                                    std::vector<double>(columns->begin(),
                                                        columns->end()))};
  return {split[0], split[1]};
}
