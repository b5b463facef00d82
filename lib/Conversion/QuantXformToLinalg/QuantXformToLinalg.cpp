//===- QuantXformToLinalg.cpp - quant_xform → linalg on tensors ----------===//
//
// One pattern per quant_xform op. Everything works on `[M, K]` rows (inputs
// of higher rank are collapsed and the results expanded back), with the
// arithmetic of the reference evaluator so that integer results are
// bit-exact and float results agree to rounding.
//
//===----------------------------------------------------------------------===//

#include "quant-xform/Conversion/QuantXformToLinalg/Passes.h"

#include "Int8Microkernel.h"
#include "ToLinalgPatterns.h"
#include "quant-xform/Conversion/QuantXformToLinalg/AttentionToLinalg.h"
#include "quant-xform/Conversion/QuantXformToLinalg/LinalgBuilders.h"
#include "quant-xform/Conversion/QuantXformToLinalg/QuantXformToLinalg.h"
#include "quant-xform/Dialect/QuantXform/IR/QuantXformOps.h"
#include "quant-xform/Support/Matrix.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Transforms/DialectConversion.h"
#include "mlir/Transforms/WalkPatternRewriteDriver.h"
#include "llvm/ADT/bit.h"

#include <cmath>

namespace mlir::quant_xform {
#define GEN_PASS_DEF_CONVERTQUANTXFORMTOLINALG
#include "quant-xform/Conversion/QuantXformToLinalg/Passes.h.inc"
} // namespace mlir::quant_xform

using namespace mlir;
using namespace mlir::quant_xform;
using namespace mlir::quant_xform::lowering;

/// `x` as `[M, K]` rows; an error at `op` when its shape is not static.
FailureOr<Rows> lowering::rowsOf(Operation *op, OpBuilder &b, Value x) {
  FailureOr<Rows> rows = collapseToRows(b, op->getLoc(), x);
  if (failed(rows))
    return op->emitError() << "needs a statically shaped input";
  return rows;
}

/// `[M, N]` initialized with a broadcast bias `[N]`, or zeros.
Value lowering::biasInit(OpBuilder &b, Location loc, Value bias, int64_t m,
                         int64_t n, Type elem) {
  if (!bias)
    return filled(b, loc, {m, n}, elem, b.getFloatAttr(elem, 0.0));
  MLIRContext *ctx = b.getContext();
  AffineExpr i, j;
  bindDims(ctx, i, j);
  return generic(b, loc, {bias}, {empty(b, loc, {m, n}, elem)},
                 {AffineMap::get(2, 0, {j}, ctx),
                  AffineMap::get(2, 0, {i, j}, ctx)},
                 2, {},
                 [](OpBuilder &, Location, ValueRange a) {
                   return SmallVector<Value>{a[0]};
                 })
      .front();
}

/// A tensor of unsigned integers viewed as signless (arith works on those).
Value lowering::signless(OpBuilder &b, Location loc, Value v) {
  auto type = cast<RankedTensorType>(v.getType());
  auto elem = dyn_cast<IntegerType>(type.getElementType());
  if (!elem || elem.isSignless())
    return v;
  return tensor::BitcastOp::create(
      b, loc, type.clone(b.getIntegerType(elem.getWidth())), v);
}

/// The reverse of `signless`: reinterpret as `type`.
Value lowering::reinterpret(OpBuilder &b, Location loc, Value v,
                            RankedTensorType type) {
  if (v.getType() == type)
    return v;
  return tensor::BitcastOp::create(b, loc, type, v);
}

/// Reshapes `[M]` (or `[]`) per-row values to `type` (the op's declared
/// scale / zero-point type).
Value lowering::reshapeTo(OpBuilder &b, Location loc, Value v,
                          RankedTensorType type) {
  auto vt = cast<RankedTensorType>(v.getType());
  if (vt.getShape() == type.getShape())
    return v;
  ReassociationIndices all;
  for (int64_t i = 0; i < type.getRank(); ++i)
    all.push_back(i);
  return tensor::ExpandShapeOp::create(b, loc, type.clone(vt.getElementType()),
                                       v, ArrayRef<ReassociationIndices>{all});
}

namespace {

//===----------------------------------------------------------------------===//
// Linear layers
//===----------------------------------------------------------------------===//

struct LowerLinear : LowerOp<LinearOp> {
  using LowerOp::LowerOp;
  FailureOr<Value> lower(LinearOp op, OpBuilder &b) const override {
    Location loc = op.getLoc();
    FailureOr<Rows> x = rowsOf(op, b, op.getInput());
    if (failed(x))
      return failure();
    auto wType = cast<RankedTensorType>(op.getWeight().getType());
    int64_t n = wType.getDimSize(0);
    Type elem = wType.getElementType();
    Value init = biasInit(b, loc, op.getBias(), x->m, n, elem);
    Value y = matmulFloat(b, loc, x->value, op.getWeight(), init, false);
    return expandFromRows(b, loc, y, x->originalShape, n);
  }
};

/// Σ_k (qx[m, k] − zx[m])·qw[n, k] in i32, per group when `groups` > 1
/// (then `[M, N, G]`).
static Value intGemm(OpBuilder &b, Location loc, Value qx, bool qxUnsigned,
                     Value zx, Value qw, int64_t m, int64_t n, int64_t k,
                     int64_t groups) {
  MLIRContext *ctx = b.getContext();
  Type i32 = b.getI32Type();
  int64_t g = k / groups;
  auto body = [&](OpBuilder &nb, Location nl, ValueRange a) {
    Value xv = qxUnsigned ? Value(arith::ExtUIOp::create(nb, nl, i32, a[0]))
                          : Value(arith::ExtSIOp::create(nb, nl, i32, a[0]));
    Value wv = arith::ExtSIOp::create(nb, nl, i32, a[1]);
    unsigned next = 2;
    if (zx) {
      Value z = arith::ExtUIOp::create(nb, nl, i32, a[2]);
      xv = arith::SubIOp::create(nb, nl, xv, z);
      next = 3;
    }
    Value p = arith::MulIOp::create(nb, nl, xv, wv);
    return SmallVector<Value>{arith::AddIOp::create(nb, nl, a[next], p)};
  };
  // zx: [] (per tensor), [M] (per token) or [M, G] (per group).
  auto zMap = [&](unsigned loops, AffineExpr row, AffineExpr group = {}) {
    auto zt = cast<RankedTensorType>(zx.getType());
    if (zt.getRank() == 2)
      return AffineMap::get(loops, 0, {row, group}, ctx);
    return zt.getRank() == 0 ? AffineMap::get(loops, 0, {}, ctx)
                             : AffineMap::get(loops, 0, {row}, ctx);
  };
  if (groups == 1) {
    AffineExpr mi, ni, ki;
    bindDims(ctx, mi, ni, ki);
    Value acc = filled(b, loc, {m, n}, i32, b.getI32IntegerAttr(0));
    SmallVector<Value> ins = {qx, qw};
    SmallVector<AffineMap> maps = {AffineMap::get(3, 0, {mi, ki}, ctx),
                                   AffineMap::get(3, 0, {ni, ki}, ctx)};
    if (zx) {
      ins.push_back(zx);
      maps.push_back(zMap(3, mi));
    }
    maps.push_back(AffineMap::get(3, 0, {mi, ni}, ctx));
    return generic(b, loc, ins, {acc}, maps, 3, {2}, body).front();
  }
  AffineExpr mi, ni, gi, ki;
  bindDims(ctx, mi, ni, gi, ki);
  auto i8x = cast<RankedTensorType>(qx.getType()).getElementType();
  auto i8w = cast<RankedTensorType>(qw.getType()).getElementType();
  Value qx3 = tensor::ExpandShapeOp::create(
      b, loc, RankedTensorType::get({m, groups, g}, i8x), qx,
      ArrayRef<ReassociationIndices>{{0}, {1, 2}});
  Value qw3 = tensor::ExpandShapeOp::create(
      b, loc, RankedTensorType::get({n, groups, g}, i8w), qw,
      ArrayRef<ReassociationIndices>{{0}, {1, 2}});
  Value acc = filled(b, loc, {m, n, groups}, i32, b.getI32IntegerAttr(0));
  SmallVector<Value> ins = {qx3, qw3};
  SmallVector<AffineMap> maps = {AffineMap::get(4, 0, {mi, gi, ki}, ctx),
                                 AffineMap::get(4, 0, {ni, gi, ki}, ctx)};
  if (zx) {
    ins.push_back(zx);
    maps.push_back(zMap(4, mi, gi));
  }
  maps.push_back(AffineMap::get(4, 0, {mi, ni, gi}, ctx));
  return generic(b, loc, ins, {acc}, maps, 4, {3}, body).front();
}

/// y[m, n] = sx[m]·Σ_g sw[n, g]·acc[m, n, g] + b[n], in the result type.
static Value dequantEpilogue(OpBuilder &b, Location loc, Value acc, Value sx,
                             Value sw, Value bias, int64_t m, int64_t n,
                             int64_t groups, Type ft) {
  MLIRContext *ctx = b.getContext();
  auto rowMap = [&](Value v, unsigned loops, AffineExpr e) {
    return cast<RankedTensorType>(v.getType()).getRank() == 0
               ? AffineMap::get(loops, 0, {}, ctx)
               : AffineMap::get(loops, 0, {e}, ctx);
  };
  Value sum = acc;
  if (groups > 1) {
    AffineExpr mi, ni, gi;
    bindDims(ctx, mi, ni, gi);
    Value zero = filled(b, loc, {m, n}, ft, b.getFloatAttr(ft, 0.0));
    sum = generic(b, loc, {acc, sw}, {zero},
                  {AffineMap::get(3, 0, {mi, ni, gi}, ctx),
                   AffineMap::get(3, 0, {ni, gi}, ctx),
                   AffineMap::get(3, 0, {mi, ni}, ctx)},
                  3, {2},
                  [&](OpBuilder &nb, Location nl, ValueRange a) {
                    Value d = arith::SIToFPOp::create(nb, nl, ft, a[0]);
                    Value p = arith::MulFOp::create(nb, nl, a[1], d);
                    return SmallVector<Value>{
                        arith::AddFOp::create(nb, nl, a[2], p)};
                  })
              .front();
  }
  AffineExpr mi, ni;
  bindDims(ctx, mi, ni);
  SmallVector<Value> ins = {sum, sx};
  SmallVector<AffineMap> maps = {AffineMap::get(2, 0, {mi, ni}, ctx),
                                 rowMap(sx, 2, mi)};
  if (groups == 1) {
    ins.push_back(sw);
    maps.push_back(rowMap(sw, 2, ni));
  }
  if (bias) {
    ins.push_back(bias);
    maps.push_back(AffineMap::get(2, 0, {ni}, ctx));
  }
  maps.push_back(AffineMap::get(2, 0, {mi, ni}, ctx));
  return generic(b, loc, ins, {empty(b, loc, {m, n}, ft)}, maps, 2, {},
                 [&](OpBuilder &nb, Location nl, ValueRange a) {
                   unsigned i = 2;
                   Value v = a[0];
                   if (groups == 1) {
                     // sx·(sw·dot), the evaluator's order.
                     Value d = arith::SIToFPOp::create(nb, nl, ft, v);
                     v = arith::MulFOp::create(nb, nl, a[i++], d);
                   }
                   v = arith::MulFOp::create(nb, nl, a[1], v);
                   if (bias)
                     v = arith::AddFOp::create(nb, nl, v, a[i++]);
                   return SmallVector<Value>{v};
                 })
      .front();
}

/// y[m, n] = Σ_g (sx[m, g]·sw[n, g])·acc[m, n, g] + b[n] for per-group
/// input scales `sx`: [M, G] (`sw` may be [N, G], [N] or []).
static Value groupedDequantEpilogue(OpBuilder &b, Location loc, Value acc,
                                    Value sx, Value sw, Value bias, int64_t m,
                                    int64_t n, Type ft) {
  MLIRContext *ctx = b.getContext();
  AffineExpr mi, ni, gi;
  bindDims(ctx, mi, ni, gi);
  int64_t swRank = cast<RankedTensorType>(sw.getType()).getRank();
  AffineMap swMap = swRank == 2   ? AffineMap::get(3, 0, {ni, gi}, ctx)
                    : swRank == 1 ? AffineMap::get(3, 0, {ni}, ctx)
                                  : AffineMap::get(3, 0, {}, ctx);
  Value init = biasInit(b, loc, bias, m, n, ft);
  return generic(b, loc, {acc, sx, sw}, {init},
                 {AffineMap::get(3, 0, {mi, ni, gi}, ctx),
                  AffineMap::get(3, 0, {mi, gi}, ctx), swMap,
                  AffineMap::get(3, 0, {mi, ni}, ctx)},
                 3, {2},
                 [&](OpBuilder &nb, Location nl, ValueRange a) {
                   Value d = arith::SIToFPOp::create(nb, nl, ft, a[0]);
                   Value s = arith::MulFOp::create(nb, nl, a[1], a[2]);
                   Value p = arith::MulFOp::create(nb, nl, s, d);
                   return SmallVector<Value>{
                       arith::AddFOp::create(nb, nl, a[3], p)};
                 })
      .front();
}

/// The constant int8 weight when the packed microkernel can take a GEMM:
/// a kernel other than `loops`, a constant 8-bit `weight`, and f32 for
/// every value in `floats` (null entries are skipped).
static DenseElementsAttr packableInt8Weight(Int8Kernel kernel, Value weight,
                                            ArrayRef<Value> floats) {
  DenseElementsAttr w;
  if (kernel == Int8Kernel::Loops ||
      llvm::any_of(
          floats,
          [](Value v) {
            return v && !cast<ShapedType>(v.getType()).getElementType().isF32();
          }) ||
      !matchPattern(weight, m_Constant(&w)) ||
      w.getElementType().getIntOrFloatBitWidth() != 8)
    return {};
  return w;
}

struct LowerQLinear : LowerOp<QLinearOp> {
  LowerQLinear(MLIRContext *ctx, Int8Kernel kernel)
      : LowerOp(ctx), kernel(kernel) {}
  Int8Kernel kernel;

  /// The packed microkernel applies to symmetric s8 activations, per-row or
  /// per-tensor weight scales (or groups of a multiple of 4 inputs with
  /// per-group input scales), a constant int8 weight and f32 throughout.
  DenseElementsAttr packableWeight(QLinearOp op, IntegerType qxElem,
                                   int64_t groups, int64_t k,
                                   bool groupedInput) const {
    if ((groups != 1 && (!groupedInput || (k / groups) % 4 != 0)) ||
        qxElem.isUnsigned() || qxElem.getWidth() != 8 || op.getInputZeroPoint())
      return {};
    return packableInt8Weight(kernel, op.getWeight(),
                              {op.getResult(), op.getInputScale(),
                               op.getWeightScale(), op.getBias()});
  }

  FailureOr<Value> lower(QLinearOp op, OpBuilder &b) const override {
    Location loc = op.getLoc();
    FailureOr<Rows> x = rowsOf(op, b, op.getInput());
    if (failed(x))
      return failure();
    auto qxElem = cast<IntegerType>(
        cast<RankedTensorType>(op.getInput().getType()).getElementType());
    Value qx = signless(b, loc, x->value);
    Value qw = signless(b, loc, op.getWeight());
    auto wType = cast<RankedTensorType>(qw.getType());
    int64_t n = wType.getDimSize(0);
    auto swType = cast<RankedTensorType>(op.getWeightScale().getType());
    auto sxType = cast<RankedTensorType>(op.getInputScale().getType());
    // Per-group input scales: [..., G] with the input's rank, read as [M, G]
    // (one group is per token).
    int64_t inputGroups =
        sxType.getRank() == static_cast<int64_t>(x->originalShape.size())
            ? sxType.getShape().back()
            : 1;
    int64_t groups = inputGroups > 1         ? inputGroups
                     : swType.getRank() == 2 ? swType.getDimSize(1)
                                             : 1;
    auto inputScaleRows = [&](Value v) -> Value {
      if (inputGroups > 1)
        return collapseToRows(b, loc, v)->value;
      return collapseToVector(b, loc, v);
    };
    Value sx = inputScaleRows(op.getInputScale());
    Value zx = op.getInputZeroPoint()
                   ? signless(b, loc, inputScaleRows(op.getInputZeroPoint()))
                   : Value();
    // One group of weight scales ([N, 1]) is per channel.
    Value sw = groups == 1 ? collapseToVector(b, loc, op.getWeightScale())
                           : op.getWeightScale();
    Type ft = cast<RankedTensorType>(op.getType()).getElementType();
    if (inputGroups > 1) {
      if (DenseElementsAttr w =
              packableWeight(op, qxElem, groups, x->k, true)) {
        PackedInt8Operands packed{qx, x->m, x->k, w, sx, sw, op.getBias()};
        packed.groups = groups;
        return expandFromRows(b, loc,
                              buildPackedInt8Linear(b, loc, packed, kernel),
                              x->originalShape, n);
      }
      Value acc = intGemm(b, loc, qx, qxElem.isUnsigned(), zx, qw, x->m, n,
                          x->k, groups);
      Value y = groupedDequantEpilogue(b, loc, acc, sx, sw, op.getBias(), x->m,
                                       n, ft);
      return expandFromRows(b, loc, y, x->originalShape, n);
    }
    if (DenseElementsAttr w = packableWeight(op, qxElem, groups, x->k, false)) {
      PackedInt8Operands packed{qx, x->m, x->k, w, sx, sw, op.getBias()};
      Value y = buildPackedInt8Linear(b, loc, packed, kernel);
      return expandFromRows(b, loc, y, x->originalShape, n);
    }
    Value acc =
        intGemm(b, loc, qx, qxElem.isUnsigned(), zx, qw, x->m, n, x->k, groups);
    Value y =
        dequantEpilogue(b, loc, acc, sx, sw, op.getBias(), x->m, n, groups, ft);
    return expandFromRows(b, loc, y, x->originalShape, n);
  }
};

//===----------------------------------------------------------------------===//
// LLM.int8() mixed linear, observers
//===----------------------------------------------------------------------===//

struct LowerMixedLinear : LowerOp<MixedLinearOp> {
  LowerMixedLinear(MLIRContext *ctx, Int8Kernel kernel)
      : LowerOp(ctx), kernel(kernel) {}
  Int8Kernel kernel;

  /// The int8 weight when the packed microkernel can take the int8 part:
  /// a constant 8-bit weight, per-channel or per-tensor f32 scales, f32
  /// input, bias and result.
  DenseElementsAttr packableWeight(MixedLinearOp op) const {
    if (cast<RankedTensorType>(op.getWeightScale().getType()).getRank() > 1)
      return {};
    return packableInt8Weight(
        kernel, op.getWeight(),
        {op.getResult(), op.getInput(), op.getWeightScale(), op.getBias()});
  }

  FailureOr<Value> lower(MixedLinearOp op, OpBuilder &b) const override {
    Location loc = op.getLoc();
    FailureOr<Rows> x = rowsOf(op, b, op.getInput());
    if (failed(x))
      return failure();
    MLIRContext *ctx = b.getContext();
    Type ft = cast<RankedTensorType>(x->value.getType()).getElementType();
    int64_t n = cast<RankedTensorType>(op.getWeight().getType()).getDimSize(0);
    std::optional<ArrayRef<int64_t>> cols = op.getColumns();
    OutlierSplit split =
        splitOutlierColumns(b, loc, x->value, x->m, x->k, cols,
                            cols ? 0.0 : op.getThreshold()->convertToDouble());
    Rows inl = *x;
    inl.value = split.inliers;
    auto scheme = QuantSchemeAttr::get(ctx, Granularity::PerToken, 0, 8, true,
                                       llvm::APFloat(1.0));
    auto [sx, zp] = dynamicScales(b, loc, inl, scheme, /*perTensor=*/false);
    (void)zp;
    Value qx =
        quantizeRows(b, loc, inl, sx, Value(), scheme, b.getIntegerType(8));
    Value y;
    if (DenseElementsAttr w = packableWeight(op)) {
      PackedInt8Operands packed{
          qx, x->m, x->k, w, sx, op.getWeightScale(), op.getBias()};
      y = buildPackedInt8Linear(b, loc, packed, kernel);
    } else {
      Value acc = intGemm(b, loc, qx, false, Value(),
                          signless(b, loc, op.getWeight()), x->m, n, x->k, 1);
      y = dequantEpilogue(b, loc, acc, sx, op.getWeightScale(), op.getBias(),
                          x->m, n, 1, ft);
    }
    // + x_out·Woᵀ (float). Static columns: only the |O| outlier columns of
    // x (gathered) against the compact Wo [N, |O|]; dynamic: all of K.
    y = matmulFloat(b, loc, split.outliers, op.getOutlierWeight(), y,
                    /*rhsKN=*/false);
    return expandFromRows(b, loc, y, x->originalShape, n);
  }
};

struct LowerObserve : OpConversionPattern<ObserveOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ObserveOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    rewriter.replaceOp(op, op.getInput());
    return success();
  }
};

/// `type` with f32 elements when it is a tensor of bf16 / f16, else null.
static Type widenedType(Type type) {
  auto t = dyn_cast<RankedTensorType>(type);
  if (!t || !isa<FloatType>(t.getElementType()) ||
      t.getElementType().getIntOrFloatBitWidth() >= 32)
    return Type();
  return t.clone(Float32Type::get(type.getContext()));
}

/// `op` rebuilt on f32: its half-float operands extended (constants stay
/// constants: weights and matrices the lowering reads at compile time),
/// the same op with f32 results in its place, each half-float result
/// rounded back once.
static void widenHalfFloatOp(Operation *op) {
  OpBuilder b(op);
  Location loc = op->getLoc();
  SmallVector<Value> operands;
  for (Value v : op->getOperands()) {
    Type wide = widenedType(v.getType());
    if (!wide)
      operands.push_back(v);
    else if (std::optional<std::vector<double>> values = getConstantFloats(v))
      operands.push_back(
          *makeFloatConstant(b, loc, cast<RankedTensorType>(wide), *values));
    else
      operands.push_back(arith::ExtFOp::create(b, loc, wide, v));
  }
  SmallVector<Type> resultTypes;
  for (Type t : op->getResultTypes())
    resultTypes.push_back(widenedType(t) ? widenedType(t) : t);
  // quant_xform ops have no regions; their inherent attributes are
  // properties.
  OperationState state(loc, op->getName(), operands, resultTypes,
                       op->getDiscardableAttrDictionary().getValue());
  state.propertiesAttr = op->getPropertiesAsAttribute();
  Operation *wideOp = b.create(state);
  SmallVector<Value> results;
  for (auto [old, now] : llvm::zip(op->getResults(), wideOp->getResults()))
    results.push_back(
        old.getType() == now.getType()
            ? Value(now)
            : Value(arith::TruncFOp::create(b, loc, old.getType(), now)));
  op->replaceAllUsesWith(results);
  op->erase();
}

/// Rewrites every quant_xform op on bf16 / f16 tensors as the same op on
/// f32: its half-float operands extended (exact), its half-float results
/// rounded back once (arith.truncf, nearest even). This is the evaluator's
/// semantics (each op computed wide, its result rounded to its type), and
/// it keeps reductions, butterflies and GEMM accumulations out of bf16.
static void widenHalfFloatOps(Operation *root) {
  SmallVector<Operation *> ops;
  root->walk([&](Operation *op) {
    if (!isa<QuantXformDialect>(op->getDialect()))
      return;
    auto narrow = [](Type t) { return bool(widenedType(t)); };
    if (llvm::any_of(op->getOperandTypes(), narrow) ||
        llvm::any_of(op->getResultTypes(), narrow))
      ops.push_back(op);
  });
  for (Operation *op : ops)
    widenHalfFloatOp(op);
}

/// Decomposes every `linalg.softmax` under `root`; an error at one that
/// does not decompose.
static LogicalResult decomposeSoftmaxes(Operation *root) {
  RewritePatternSet patterns(root->getContext());
  populateDecomposeSoftmaxPatterns(patterns);
  walkAndApplyPatterns(root, std::move(patterns));
  WalkResult left = root->walk([](linalg::SoftmaxOp op) {
    op.emitError() << "cannot decompose linalg.softmax";
    return WalkResult::interrupt();
  });
  return failure(left.wasInterrupted());
}

/// Retypes unsigned integer tensors under `root` as signless ones.
static LogicalResult makeIntegersSignless(Operation *root) {
  MLIRContext *ctx = root->getContext();
  TypeConverter converter;
  populateSignlessIntegerTypeConversions(converter);
  ConversionTarget target(*ctx);
  configureSignlessIntegerTarget(target, converter);
  RewritePatternSet patterns(ctx);
  populateSignlessIntegerPatterns(converter, patterns);
  return applyPartialConversion(root, target, std::move(patterns));
}

struct ConvertQuantXformToLinalg
    : public quant_xform::impl::ConvertQuantXformToLinalgBase<
          ConvertQuantXformToLinalg> {
  using ConvertQuantXformToLinalgBase::ConvertQuantXformToLinalgBase;
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    ConversionTarget target(*ctx);
    target.addIllegalDialect<QuantXformDialect>();
    target.addLegalDialect<arith::ArithDialect, linalg::LinalgDialect,
                           math::MathDialect, tensor::TensorDialect>();
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    RewritePatternSet patterns(ctx);
    FailureOr<Int8Kernel> kernel = resolveInt8Kernel(int8Kernel, allowAmx);
    if (failed(kernel)) {
      getOperation().emitError()
          << "int8-kernel=amx needs a CPU with AMX-INT8 and the OS's "
             "permission to use its tiles";
      return signalPassFailure();
    }
    widenHalfFloatOps(getOperation());
    populateQuantXformToLinalgPatterns(patterns, *kernel,
                                       cacheBlockedRotations);
    if (failed(applyPartialConversion(getOperation(), target,
                                      std::move(patterns))))
      return signalPassFailure();
    if (failed(decomposeSoftmaxes(getOperation())) ||
        failed(makeIntegersSignless(getOperation())))
      return signalPassFailure();
  }
};

} // namespace

namespace {
/// `linalg.softmax` as the generics of its decomposition.
struct DecomposeSoftmax : OpRewritePattern<linalg::SoftmaxOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(linalg::SoftmaxOp op,
                                PatternRewriter &rewriter) const override {
    rewriter.setInsertionPoint(op);
    FailureOr<SmallVector<Value>> parts =
        cast<linalg::AggregatedOpInterface>(op.getOperation())
            .decomposeOperation(rewriter);
    if (failed(parts))
      return rewriter.notifyMatchFailure(op, "cannot decompose");
    rewriter.replaceOp(op, *parts);
    return success();
  }
};
} // namespace

void mlir::quant_xform::populateQuantXformToLinalgPatterns(
    RewritePatternSet &patterns, Int8Kernel kernel,
    bool cacheBlockedRotations) {
  MLIRContext *ctx = patterns.getContext();
  patterns.add<LowerQLinear, LowerMixedLinear>(ctx, kernel);
  lowering::populateTransformsToLinalgPatterns(patterns, cacheBlockedRotations);
  lowering::populateQuantizersToLinalgPatterns(patterns);
  patterns.add<LowerLinear, LowerObserve>(ctx);
  populateAttentionToLinalgPatterns(patterns);
}

void mlir::quant_xform::populateDecomposeSoftmaxPatterns(
    RewritePatternSet &patterns) {
  patterns.add<DecomposeSoftmax>(patterns.getContext());
}
