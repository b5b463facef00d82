//===- QuantXformToLinalg.cpp - quant_xform → linalg on tensors ----------===//
//
// One pattern per quant_xform op. Everything works on `[M, K]` rows (inputs
// of higher rank are collapsed and the results expanded back), with the
// arithmetic of the reference evaluator so that integer results are
// bit-exact and float results agree to rounding.
//
//===----------------------------------------------------------------------===//

#include "quant-xform/Conversion/Passes.h"

#include "Int8Microkernel.h"
#include "LinalgBuilders.h"
#include "quant-xform/Conversion/QuantXformToLinalg/AttentionToLinalg.h"
#include "quant-xform/Dialect/QuantXform/IR/QuantXformOps.h"
#include "quant-xform/Support/Matrix.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Transforms/DialectConversion.h"
#include "llvm/ADT/bit.h"

#include <cmath>

namespace mlir::quant_xform {
#define GEN_PASS_DEF_CONVERTQUANTXFORMTOLINALG
#include "quant-xform/Conversion/Passes.h.inc"
} // namespace mlir::quant_xform

using namespace mlir;
using namespace mlir::quant_xform;
using namespace mlir::quant_xform::lowering;

namespace {

/// A tensor of unsigned integers viewed as signless (arith works on those).
static Value signless(OpBuilder &b, Location loc, Value v) {
  auto type = cast<RankedTensorType>(v.getType());
  auto elem = dyn_cast<IntegerType>(type.getElementType());
  if (!elem || elem.isSignless())
    return v;
  return tensor::BitcastOp::create(
      b, loc, type.clone(b.getIntegerType(elem.getWidth())), v);
}

/// The reverse of `signless`: reinterpret as `type`.
static Value reinterpret(OpBuilder &b, Location loc, Value v,
                         RankedTensorType type) {
  if (v.getType() == type)
    return v;
  return tensor::BitcastOp::create(b, loc, type, v);
}

/// Reshapes `[M]` (or `[]`) per-row values to `type` (the op's declared
/// scale / zero-point type).
static Value reshapeTo(OpBuilder &b, Location loc, Value v,
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

/// `[M, N]` initialized with a broadcast bias `[N]`, or zeros.
static Value biasInit(OpBuilder &b, Location loc, Value bias, int64_t m,
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

/// `x` as `[M, K]` rows; an error at `op` when its shape is not static.
static FailureOr<Rows> rowsOf(Operation *op, OpBuilder &b, Value x) {
  FailureOr<Rows> rows = collapseToRows(b, op->getLoc(), x);
  if (failed(rows))
    return op->emitError() << "needs a statically shaped input";
  return rows;
}

/// Base for the patterns: a failure to lower is an error at the op.
template <typename Op> struct LowerOp : OpConversionPattern<Op> {
  using OpConversionPattern<Op>::OpConversionPattern;
  using OpAdaptor = typename Op::Adaptor;
  LogicalResult
  matchAndRewrite(Op op, OpAdaptor,
                  ConversionPatternRewriter &rewriter) const override {
    FailureOr<Value> result = lower(op, rewriter);
    if (failed(result))
      return failure();
    rewriter.replaceOp(op, *result);
    return success();
  }
  virtual FailureOr<Value> lower(Op op, OpBuilder &b) const = 0;
};

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
  auto zMap = [&](unsigned loops, AffineExpr row) {
    auto zt = cast<RankedTensorType>(zx.getType());
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
    maps.push_back(zMap(4, mi));
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
  /// per-tensor weight scales, a constant int8 weight and f32 throughout.
  DenseElementsAttr packableWeight(QLinearOp op, IntegerType qxElem,
                                   int64_t groups) const {
    if (groups != 1 || qxElem.isUnsigned() || qxElem.getWidth() != 8 ||
        op.getInputZeroPoint())
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
    int64_t groups = swType.getRank() == 2 ? swType.getDimSize(1) : 1;
    Value sx = collapseToVector(b, loc, op.getInputScale());
    Value zx =
        op.getInputZeroPoint()
            ? signless(b, loc, collapseToVector(b, loc, op.getInputZeroPoint()))
            : Value();
    if (DenseElementsAttr w = packableWeight(op, qxElem, groups)) {
      Value y =
          buildPackedInt8Linear(b, loc, qx, x->m, x->k, w, sx,
                                op.getWeightScale(), op.getBias(), kernel);
      return expandFromRows(b, loc, y, x->originalShape, n);
    }
    Value acc =
        intGemm(b, loc, qx, qxElem.isUnsigned(), zx, qw, x->m, n, x->k, groups);
    Type ft = cast<RankedTensorType>(op.getType()).getElementType();
    Value y = dequantEpilogue(b, loc, acc, sx, op.getWeightScale(),
                              op.getBias(), x->m, n, groups, ft);
    return expandFromRows(b, loc, y, x->originalShape, n);
  }
};

//===----------------------------------------------------------------------===//
// Quantizers
//===----------------------------------------------------------------------===//

/// Rejects schemes the CPU lowering does not handle yet.
static LogicalResult checkRowScheme(Operation *op, QuantSchemeAttr scheme) {
  if (scheme.getGranularity() == Granularity::PerGroup)
    return op->emitError() << "per_group activation scales are not lowered "
                              "to the CPU yet";
  return success();
}

struct LowerDynamicQuantize : OpConversionPattern<DynamicQuantizeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(DynamicQuantizeOp op, OpAdaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (failed(checkRowScheme(op, op.getScheme())))
      return failure();
    Location loc = op.getLoc();
    OpBuilder &b = rewriter;
    FailureOr<Rows> x = rowsOf(op, b, op.getInput());
    if (failed(x))
      return failure();
    bool perTensor = op.getScheme().getGranularity() == Granularity::PerTensor;
    auto [scales, zeroPoints] =
        dynamicScales(b, loc, *x, op.getScheme(), perTensor);
    auto qType = cast<RankedTensorType>(op.getResult().getType());
    Value q = quantizeRows(b, loc, *x, scales, zeroPoints, op.getScheme(),
                           cast<IntegerType>(qType.getElementType()));
    q = expandFromRows(b, loc, q, x->originalShape, x->k);
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

struct LowerQuantize : LowerOp<QuantizeOp> {
  using LowerOp::LowerOp;
  FailureOr<Value> lower(QuantizeOp op, OpBuilder &b) const override {
    if (failed(checkRowScheme(op, op.getScheme())))
      return failure();
    Location loc = op.getLoc();
    FailureOr<Rows> x = rowsOf(op, b, op.getInput());
    if (failed(x))
      return failure();
    Value scales = collapseToVector(b, loc, op.getScale());
    Value zp;
    if (op.getZeroPoint())
      zp = signless(b, loc, collapseToVector(b, loc, op.getZeroPoint()));
    auto qType = cast<RankedTensorType>(op.getType());
    Value q = quantizeRows(b, loc, *x, scales, zp, op.getScheme(),
                           cast<IntegerType>(qType.getElementType()));
    return expandFromRows(b, loc, q, x->originalShape, x->k);
  }
};

struct LowerDequantize : LowerOp<DequantizeOp> {
  using LowerOp::LowerOp;
  FailureOr<Value> lower(DequantizeOp op, OpBuilder &b) const override {
    if (failed(checkRowScheme(op, op.getScheme())))
      return failure();
    Location loc = op.getLoc();
    FailureOr<Rows> q = rowsOf(op, b, op.getInput());
    if (failed(q))
      return failure();
    bool isUnsigned =
        cast<IntegerType>(
            cast<RankedTensorType>(op.getInput().getType()).getElementType())
            .isUnsigned();
    Value qv = signless(b, loc, q->value);
    Value s = collapseToVector(b, loc, op.getScale());
    Value zp =
        op.getZeroPoint()
            ? signless(b, loc, collapseToVector(b, loc, op.getZeroPoint()))
            : Value();
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
    return expandFromRows(b, loc, y, q->originalShape, q->k);
  }
};

//===----------------------------------------------------------------------===//
// Transforms
//===----------------------------------------------------------------------===//

/// y = x ⊙ v (v: [K]) for rows.
static Value scaleColumns(OpBuilder &b, Location loc, Rows x, Value v) {
  MLIRContext *ctx = b.getContext();
  AffineExpr i, j;
  bindDims(ctx, i, j);
  Type ft = cast<RankedTensorType>(x.value.getType()).getElementType();
  return generic(b, loc, {x.value, v}, {empty(b, loc, {x.m, x.k}, ft)},
                 {AffineMap::get(2, 0, {i, j}, ctx),
                  AffineMap::get(2, 0, {j}, ctx),
                  AffineMap::get(2, 0, {i, j}, ctx)},
                 2, {},
                 [](OpBuilder &nb, Location nl, ValueRange a) {
                   return SmallVector<Value>{
                       arith::MulFOp::create(nb, nl, a[0], a[1])};
                 })
      .front();
}

/// Radix of the first Hadamard stages, done as one small matmul.
constexpr int64_t kHadamardRadix = 16;

/// The unnormalized (block) Walsh–Hadamard transform of each row, `x·H`
/// with H[i][j] = (−1)^popcount(i & j & (B−1)) within blocks of
/// B = K & −K: log2(B) butterfly stages on a `[M, K/(2h), 2, h]` view
/// (stage h pairs i with i ^ h, which stays inside a block for h < B).
static Value butterfly(OpBuilder &b, Location loc, Value x, int64_t m,
                       int64_t k) {
  MLIRContext *ctx = b.getContext();
  Type ft = cast<RankedTensorType>(x.getType()).getElementType();
  int64_t block = k & -k;
  int64_t h = 1;
  if (block >= kHadamardRadix) {
    // The first log2(16) stages are x·(I ⊗ H16) on contiguous groups of 16:
    // one [M·K/16, 16] × [16, 16] matmul (vector code), instead of four
    // passes over x with 1-, 2-, 4- and 8-wide butterflies.
    const int64_t r = kHadamardRadix, groups = k / r;
    std::vector<double> h16(r * r);
    for (int64_t i = 0; i < r; ++i)
      for (int64_t j = 0; j < r; ++j)
        h16[i * r + j] = (llvm::popcount(uint64_t(i & j)) & 1) ? -1.0 : 1.0;
    Value hm = denseConstant(b, loc, RankedTensorType::get({r, r}, ft), h16);
    auto t3 = RankedTensorType::get({m, groups, r}, ft);
    auto t2 = RankedTensorType::get({m * groups, r}, ft);
    Value x3 = tensor::ExpandShapeOp::create(
        b, loc, t3, x, ArrayRef<ReassociationIndices>{{0}, {1, 2}});
    Value x2 = tensor::CollapseShapeOp::create(
        b, loc, t2, x3, ArrayRef<ReassociationIndices>{{0, 1}, {2}});
    Value y2 = matmulFloat(
        b, loc, x2, hm,
        filled(b, loc, {m * groups, r}, ft, b.getFloatAttr(ft, 0.0)),
        /*rhsKN=*/true);
    Value y3 = tensor::ExpandShapeOp::create(
        b, loc, t3, y2, ArrayRef<ReassociationIndices>{{0, 1}, {2}});
    x = tensor::CollapseShapeOp::create(
        b, loc, RankedTensorType::get({m, k}, ft), y3,
        ArrayRef<ReassociationIndices>{{0}, {1, 2}});
    h = r;
  }
  for (; h < block; h *= 2) {
    int64_t blocks = k / (2 * h);
    auto t4 = RankedTensorType::get({m, blocks, 2, h}, ft);
    Value v = tensor::ExpandShapeOp::create(
        b, loc, t4, x, ArrayRef<ReassociationIndices>{{0}, {1, 2, 3}});
    // out[i, blk, s, e] = v[i, blk, 0, e] ± v[i, blk, 1, e] (s = 0: +).
    // The two halves are rank-reduced slices, so that every indexing map
    // is a projected permutation (which the vectorizer takes).
    auto half = [&](int64_t s) -> Value {
      auto t3 = RankedTensorType::get({m, blocks, h}, ft);
      SmallVector<OpFoldResult> offsets = {b.getIndexAttr(0), b.getIndexAttr(0),
                                           b.getIndexAttr(s),
                                           b.getIndexAttr(0)};
      SmallVector<OpFoldResult> sizes = {b.getIndexAttr(m),
                                         b.getIndexAttr(blocks),
                                         b.getIndexAttr(1), b.getIndexAttr(h)};
      SmallVector<OpFoldResult> strides(4, b.getIndexAttr(1));
      return tensor::ExtractSliceOp::create(b, loc, t3, v, offsets, sizes,
                                            strides);
    };
    Value v0 = half(0), v1 = half(1);
    Value init = empty(b, loc, {m, blocks, 2, h}, ft);
    AffineExpr d0, d1, d2, d3;
    bindDims(ctx, d0, d1, d2, d3);
    Value outV =
        generic(b, loc, {v0, v1}, {init},
                {AffineMap::get(4, 0, {d0, d1, d3}, ctx),
                 AffineMap::get(4, 0, {d0, d1, d3}, ctx),
                 AffineMap::get(4, 0, {d0, d1, d2, d3}, ctx)},
                4, {},
                [&](OpBuilder &nb, Location nl, ValueRange a) {
                  Value idx = linalg::IndexOp::create(nb, nl, 2);
                  Value isFirst = arith::CmpIOp::create(
                      nb, nl, arith::CmpIPredicate::eq, idx,
                      arith::ConstantIndexOp::create(nb, nl, 0));
                  Value sum = arith::AddFOp::create(nb, nl, a[0], a[1]);
                  Value diff = arith::SubFOp::create(nb, nl, a[0], a[1]);
                  return SmallVector<Value>{
                      arith::SelectOp::create(nb, nl, isFirst, sum, diff)};
                })
            .front();
    x = tensor::CollapseShapeOp::create(
        b, loc, RankedTensorType::get({m, k}, ft), outV,
        ArrayRef<ReassociationIndices>{{0}, {1, 2, 3}});
  }
  return x;
}

/// Floats per row block of a cache-blocked Hadamard (32 KB of f32).
constexpr int64_t kHadamardBlockElements = 8192;

/// The Hadamard rotation of `x` ([M, K] rows): x·Q = (x⊙d)·H, or x·Qᵀ =
/// (x·H)⊙d with `inverse` (d the column scales: signs / √B). With
/// `cacheBlocked`, an `scf.forall` over blocks of rows (≤ 32 KB each, a
/// divisor of M) runs every stage of a block before the next block, so the
/// block stays in L1 instead of each stage streaming all of x through
/// memory; the arithmetic is the same, element for element.
static Value hadamardRows(OpBuilder &b, Location loc, const Rows &x, Value d,
                          bool inverse, bool cacheBlocked) {
  auto rotate = [&](OpBuilder &rb, Rows r) -> Value {
    if (!inverse) {
      r.value = scaleColumns(rb, loc, r, d);
      return butterfly(rb, loc, r.value, r.m, r.k);
    }
    r.value = butterfly(rb, loc, r.value, r.m, r.k);
    return scaleColumns(rb, loc, r, d);
  };
  int64_t rows = std::clamp<int64_t>(kHadamardBlockElements / x.k, 1, x.m);
  while (x.m % rows != 0)
    --rows;
  if (!cacheBlocked || rows == x.m)
    return rotate(b, x);
  Type ft = cast<RankedTensorType>(x.value.getType()).getElementType();
  auto forall = scf::ForallOp::create(
      b, loc, ArrayRef<OpFoldResult>{b.getIndexAttr(x.m / rows)},
      ValueRange{empty(b, loc, {x.m, x.k}, ft)}, std::nullopt);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(forall.getTerminator());
  Value r0 =
      arith::MulIOp::create(b, loc, forall.getInductionVar(0),
                            arith::ConstantIndexOp::create(b, loc, rows));
  SmallVector<OpFoldResult> offsets = {r0, b.getIndexAttr(0)},
                            sizes = {b.getIndexAttr(rows), b.getIndexAttr(x.k)},
                            unit = {b.getIndexAttr(1), b.getIndexAttr(1)};
  Rows block = x;
  block.m = rows;
  block.value =
      tensor::ExtractSliceOp::create(b, loc, x.value, offsets, sizes, unit);
  Value y = rotate(b, block);
  b.setInsertionPointToEnd(forall.getTerminator().getBody());
  tensor::ParallelInsertSliceOp::create(b, loc, y, forall.getRegionOutArgs()[0],
                                        offsets, sizes, unit);
  return forall.getResult(0);
}

struct LowerRotate : LowerOp<RotateOp> {
  LowerRotate(MLIRContext *ctx, bool cacheBlocked)
      : LowerOp(ctx), cacheBlocked(cacheBlocked) {}
  bool cacheBlocked;

  FailureOr<Value> lower(RotateOp op, OpBuilder &b) const override {
    Location loc = op.getLoc();
    FailureOr<Rows> x = rowsOf(op, b, op.getInput());
    if (failed(x))
      return failure();
    Type ft = cast<RankedTensorType>(x->value.getType()).getElementType();
    Value y;
    switch (op.getKind()) {
    case RotationKind::Hadamard: {
      // x·Q with Q = diag(signs)·H/√B; x·Qᵀ = (x·H/√B)⊙signs (B = K & −K,
      // the block size).
      std::vector<double> diag(x->k, 1.0 / std::sqrt(double(x->k & -x->k)));
      if (std::optional<ArrayRef<int8_t>> signs = op.getSigns())
        for (int64_t j = 0; j < x->k; ++j)
          diag[j] *= (*signs)[j];
      Value d = denseConstant(b, loc, RankedTensorType::get({x->k}, ft), diag);
      y = hadamardRows(b, loc, *x, d, op.getInverse(), cacheBlocked);
      break;
    }
    case RotationKind::Permutation: {
      // Forward: y[:, j] = x[:, perm[j]]; inverse: y[:, perm[j]] = x[:, j].
      ArrayRef<int64_t> perm = *op.getPerm();
      std::vector<double> src(x->k);
      for (int64_t j = 0; j < x->k; ++j) {
        if (op.getInverse())
          src[perm[j]] = static_cast<double>(j);
        else
          src[j] = static_cast<double>(perm[j]);
      }
      y = gatherColumns(b, loc, x->value, x->m, src);
      break;
    }
    case RotationKind::Dense: {
      Value zero = filled(b, loc, {x->m, x->k}, ft, b.getFloatAttr(ft, 0.0));
      // x·Q reads Q[k][n]; x·Qᵀ reads Q[n][k].
      y = matmulFloat(b, loc, x->value, op.getMatrix(), zero,
                      /*rhsKN=*/!op.getInverse());
      break;
    }
    }
    return expandFromRows(b, loc, y, x->originalShape, x->k);
  }
};

struct LowerSmooth : LowerOp<SmoothOp> {
  using LowerOp::LowerOp;
  FailureOr<Value> lower(SmoothOp op, OpBuilder &b) const override {
    Location loc = op.getLoc();
    FailureOr<Rows> x = rowsOf(op, b, op.getInput());
    if (failed(x))
      return failure();
    Type ft = cast<RankedTensorType>(x->value.getType()).getElementType();
    MLIRContext *ctx = b.getContext();
    AffineExpr i, j;
    bindDims(ctx, i, j);
    SmallVector<Value> ins = {x->value, op.getScales()};
    SmallVector<AffineMap> maps = {AffineMap::get(2, 0, {i, j}, ctx),
                                   AffineMap::get(2, 0, {j}, ctx)};
    if (op.getShift()) {
      ins.push_back(op.getShift());
      maps.push_back(AffineMap::get(2, 0, {j}, ctx));
    }
    maps.push_back(AffineMap::get(2, 0, {i, j}, ctx));
    bool inverse = op.getInverse();
    bool shift = op.getShift() != nullptr;
    Value y =
        generic(b, loc, ins, {empty(b, loc, {x->m, x->k}, ft)}, maps, 2, {},
                [&](OpBuilder &nb, Location nl, ValueRange a) {
                  Value v = a[0];
                  if (inverse) {
                    v = arith::MulFOp::create(nb, nl, v, a[1]);
                    if (shift)
                      v = arith::AddFOp::create(nb, nl, v, a[2]);
                  } else {
                    if (shift)
                      v = arith::SubFOp::create(nb, nl, v, a[2]);
                    v = arith::DivFOp::create(nb, nl, v, a[1]);
                  }
                  return SmallVector<Value>{v};
                })
            .front();
    return expandFromRows(b, loc, y, x->originalShape, x->k);
  }
};

/// batch_norm → one elementwise generic over rows:
/// (x − mean)·γ/sqrt(var + ε) + β.
struct LowerBatchNorm : LowerOp<BatchNormOp> {
  using LowerOp::LowerOp;
  FailureOr<Value> lower(BatchNormOp op, OpBuilder &b) const override {
    Location loc = op.getLoc();
    FailureOr<Rows> x = rowsOf(op, b, op.getInput());
    if (failed(x))
      return failure();
    Type ft = cast<RankedTensorType>(x->value.getType()).getElementType();
    MLIRContext *ctx = b.getContext();
    AffineExpr i, j;
    bindDims(ctx, i, j);
    AffineMap row = AffineMap::get(2, 0, {i, j}, ctx);
    AffineMap channel = AffineMap::get(2, 0, {j}, ctx);
    double eps = op.getEpsilon().convertToDouble();
    Value y =
        generic(
            b, loc,
            {x->value, op.getMean(), op.getVariance(), op.getGamma(),
             op.getBeta()},
            {empty(b, loc, {x->m, x->k}, ft)},
            {row, channel, channel, channel, channel, row}, 2, {},
            [&](OpBuilder &nb, Location nl, ValueRange a) {
              Value centered = arith::SubFOp::create(nb, nl, a[0], a[1]);
              Value var =
                  arith::AddFOp::create(nb, nl, a[2], scalar(nb, nl, ft, eps));
              Value inv = math::RsqrtOp::create(nb, nl, var);
              Value scale = arith::MulFOp::create(nb, nl, a[3], inv);
              Value v = arith::MulFOp::create(nb, nl, centered, scale);
              return SmallVector<Value>{arith::AddFOp::create(nb, nl, v, a[4])};
            })
            .front();
    return expandFromRows(b, loc, y, x->originalShape, x->k);
  }
};

struct LowerAffine : LowerOp<AffineOp> {
  using LowerOp::LowerOp;
  FailureOr<Value> lower(AffineOp op, OpBuilder &b) const override {
    Location loc = op.getLoc();
    auto t = cast<TransformOpInterface>(op.getOperation());
    FailureOr<Matrix> m = t.getAppliedMatrix();
    FailureOr<Matrix> c = t.getAppliedOffset();
    if (failed(m) || failed(c))
      return op.emitError() << "the CPU lowering needs a constant affine "
                               "matrix (and shift)";
    FailureOr<Rows> x = rowsOf(op, b, op.getInput());
    if (failed(x))
      return failure();
    Type ft = cast<RankedTensorType>(x->value.getType()).getElementType();
    // y = x·M + c: M is [K, K] read as rhs[k][n].
    Value mConst = denseConstant(
        b, loc, RankedTensorType::get({x->k, x->k}, ft), m->data());
    Value cConst =
        denseConstant(b, loc, RankedTensorType::get({x->k}, ft), c->data());
    Value init = biasInit(b, loc, cConst, x->m, x->k, ft);
    Value y = matmulFloat(b, loc, x->value, mConst, init, /*rhsKN=*/true);
    return expandFromRows(b, loc, y, x->originalShape, x->k);
  }
};

//===----------------------------------------------------------------------===//
// Norms
//===----------------------------------------------------------------------===//

/// γ⊙(x − μ)/√(var + ε) + β per row; μ = 0 for RMSNorm.
static Value normalizeRows(OpBuilder &b, Location loc, Rows x, Value gamma,
                           Value beta, double eps, bool center) {
  MLIRContext *ctx = b.getContext();
  Type ft = cast<RankedTensorType>(x.value.getType()).getElementType();
  AffineExpr i, j;
  bindDims(ctx, i, j);
  AffineMap rowMap = AffineMap::get(2, 0, {i}, ctx);
  AffineMap elemMap = AffineMap::get(2, 0, {i, j}, ctx);
  AffineMap colMap = AffineMap::get(2, 0, {j}, ctx);
  Value invK = scalar(b, loc, ft, 1.0 / static_cast<double>(x.k));
  Value mean;
  if (center) {
    Value sum =
        reduceRows(b, loc, x.value, ft, 0.0,
                   [](OpBuilder &nb, Location nl, Value acc, Value v) {
                     return Value(arith::AddFOp::create(nb, nl, acc, v));
                   });
    mean = generic(b, loc, {sum}, {empty(b, loc, {x.m}, ft)},
                   {AffineMap::get(1, 0, {getAffineDimExpr(0, ctx)}, ctx),
                    AffineMap::get(1, 0, {getAffineDimExpr(0, ctx)}, ctx)},
                   1, {},
                   [&](OpBuilder &nb, Location nl, ValueRange a) {
                     return SmallVector<Value>{
                         arith::MulFOp::create(nb, nl, a[0], invK)};
                   })
               .front();
  } else {
    mean = filled(b, loc, {x.m}, ft, b.getFloatAttr(ft, 0.0));
  }
  Value sq0 = filled(b, loc, {x.m}, ft, b.getFloatAttr(ft, 0.0));
  Value sq =
      generic(b, loc, {x.value, mean}, {sq0}, {elemMap, rowMap, rowMap}, 2, {1},
              [](OpBuilder &nb, Location nl, ValueRange a) {
                Value d = arith::SubFOp::create(nb, nl, a[0], a[1]);
                Value p = arith::MulFOp::create(nb, nl, d, d);
                return SmallVector<Value>{
                    arith::AddFOp::create(nb, nl, a[2], p)};
              })
          .front();
  Value epsV = scalar(b, loc, ft, eps);
  Value inv =
      generic(b, loc, {sq}, {empty(b, loc, {x.m}, ft)},
              {AffineMap::get(1, 0, {getAffineDimExpr(0, ctx)}, ctx),
               AffineMap::get(1, 0, {getAffineDimExpr(0, ctx)}, ctx)},
              1, {},
              [&](OpBuilder &nb, Location nl, ValueRange a) {
                Value var = arith::MulFOp::create(nb, nl, a[0], invK);
                Value v = arith::AddFOp::create(nb, nl, var, epsV);
                return SmallVector<Value>{math::RsqrtOp::create(nb, nl, v)};
              })
          .front();
  SmallVector<Value> ins = {x.value, mean, inv, gamma};
  SmallVector<AffineMap> maps = {elemMap, rowMap, rowMap, colMap};
  if (beta) {
    ins.push_back(beta);
    maps.push_back(colMap);
  }
  maps.push_back(elemMap);
  return generic(b, loc, ins, {empty(b, loc, {x.m, x.k}, ft)}, maps, 2, {},
                 [&](OpBuilder &nb, Location nl, ValueRange a) {
                   Value d = arith::SubFOp::create(nb, nl, a[0], a[1]);
                   Value v = arith::MulFOp::create(nb, nl, d, a[2]);
                   v = arith::MulFOp::create(nb, nl, a[3], v);
                   if (beta)
                     v = arith::AddFOp::create(nb, nl, v, a[4]);
                   return SmallVector<Value>{v};
                 })
      .front();
}

template <typename NormOp, bool Center> struct LowerNorm : LowerOp<NormOp> {
  using LowerOp<NormOp>::LowerOp;
  FailureOr<Value> lower(NormOp op, OpBuilder &b) const override {
    Location loc = op.getLoc();
    FailureOr<Rows> x = rowsOf(op, b, op.getInput());
    if (failed(x))
      return failure();
    Value y = normalizeRows(b, loc, *x, op.getGamma(), op.getBeta(),
                            op.getEpsilon().convertToDouble(), Center);
    return expandFromRows(b, loc, y, x->originalShape, x->k);
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
      y = buildPackedInt8Linear(b, loc, qx, x->m, x->k, w, sx,
                                op.getWeightScale(), op.getBias(), kernel);
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

/// `type` with unsigned integer elements made signless (same width).
static Type eraseSignedness(Type type) {
  auto shaped = dyn_cast<RankedTensorType>(type);
  Type elem = shaped ? shaped.getElementType() : type;
  auto intType = dyn_cast<IntegerType>(elem);
  if (!intType || intType.isSignless())
    return type;
  Type signless = IntegerType::get(type.getContext(), intType.getWidth());
  return shaped ? Type(shaped.clone(signless)) : signless;
}

/// Rewrites unsigned integer tensors to signless ones with the same bits
/// (function signatures, block arguments, results, constants), and drops the
/// tensor.bitcast ops that become no-ops. Upstream bufferization and the
/// LLVM conversions only handle signless integers; the bits are unchanged.
static void eraseUnsignedTypes(ModuleOp module) {
  module.walk([&](func::FuncOp f) {
    SmallVector<Type> in, out;
    for (Type t : f.getArgumentTypes())
      in.push_back(eraseSignedness(t));
    for (Type t : f.getResultTypes())
      out.push_back(eraseSignedness(t));
    f.setType(FunctionType::get(f.getContext(), in, out));
    for (BlockArgument arg : f.getArguments())
      arg.setType(eraseSignedness(arg.getType()));
  });
  module.walk([&](Operation *op) {
    for (OpResult r : op->getResults())
      r.setType(eraseSignedness(r.getType()));
    for (Region &region : op->getRegions())
      for (Block &block : region)
        for (BlockArgument arg : block.getArguments())
          arg.setType(eraseSignedness(arg.getType()));
    if (auto c = dyn_cast<arith::ConstantOp>(op))
      if (auto dense = dyn_cast<DenseIntElementsAttr>(c.getValue()))
        if (!dense.getElementType().isSignlessInteger())
          c.setValueAttr(
              dense.bitcast(eraseSignedness(dense.getElementType())));
  });
  SmallVector<tensor::BitcastOp> casts;
  module.walk([&](tensor::BitcastOp op) {
    if (op.getSource().getType() == op.getType())
      casts.push_back(op);
  });
  for (tensor::BitcastOp op : casts) {
    op.getResult().replaceAllUsesWith(op.getSource());
    op.erase();
  }
}

/// `type` with f32 elements when it is a tensor of bf16 / f16, else null.
static Type widenedType(Type type) {
  auto t = dyn_cast<RankedTensorType>(type);
  if (!t || !isa<FloatType>(t.getElementType()) ||
      t.getElementType().getIntOrFloatBitWidth() >= 32)
    return Type();
  return t.clone(Float32Type::get(type.getContext()));
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
  for (Operation *op : ops) {
    OpBuilder b(op);
    Location loc = op->getLoc();
    for (OpOperand &operand : op->getOpOperands()) {
      Type wide = widenedType(operand.get().getType());
      if (!wide)
        continue;
      // Constants (weights, matrices the lowering reads at compile time)
      // stay constants.
      if (std::optional<std::vector<double>> values =
              getConstantFloats(operand.get()))
        operand.set(*makeFloatConstant(b, loc, cast<RankedTensorType>(wide),
                                       *values));
      else
        operand.set(arith::ExtFOp::create(b, loc, wide, operand.get()));
    }
    b.setInsertionPointAfter(op);
    for (OpResult result : op->getResults()) {
      Type narrowType = result.getType();
      Type wide = widenedType(narrowType);
      if (!wide)
        continue;
      result.setType(wide);
      auto back = arith::TruncFOp::create(b, loc, narrowType, result);
      result.replaceAllUsesExcept(back.getResult(), back);
    }
  }
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
    FailureOr<Int8Kernel> kernel = parseInt8Kernel(int8Kernel, allowAmx);
    if (failed(kernel)) {
      if (int8Kernel == "amx")
        getOperation().emitError()
            << "int8-kernel=amx needs a CPU with AMX-INT8 and the OS's "
               "permission to use its tiles";
      else
        getOperation().emitError()
            << "invalid int8-kernel '" << int8Kernel
            << "' (expected loops, vector, avx512-vnni, amx or auto)";
      return signalPassFailure();
    }
    widenHalfFloatOps(getOperation());
    patterns.add<LowerQLinear, LowerMixedLinear>(ctx, *kernel);
    patterns.add<LowerRotate>(ctx, cacheBlockedRotations);
    patterns.add<LowerLinear, LowerDynamicQuantize, LowerQuantize,
                 LowerDequantize, LowerSmooth, LowerAffine, LowerBatchNorm,
                 LowerNorm<LayerNormOp, true>, LowerNorm<RMSNormOp, false>,
                 LowerObserve>(ctx);
    populateAttentionToLinalgPatterns(patterns);
    if (failed(applyPartialConversion(getOperation(), target,
                                      std::move(patterns))))
      return signalPassFailure();
    // linalg.softmax (an aggregated op) is not lowered to loops upstream by
    // any pass: decompose it into generics here.
    SmallVector<linalg::SoftmaxOp> softmaxes;
    getOperation().walk([&](linalg::SoftmaxOp op) { softmaxes.push_back(op); });
    for (linalg::SoftmaxOp op : softmaxes) {
      OpBuilder b(op);
      FailureOr<SmallVector<Value>> parts =
          cast<linalg::AggregatedOpInterface>(op.getOperation())
              .decomposeOperation(b);
      if (failed(parts)) {
        op.emitError() << "cannot decompose linalg.softmax";
        return signalPassFailure();
      }
      op->replaceAllUsesWith(*parts);
      op->erase();
    }
    eraseUnsignedTypes(getOperation());
  }
};

} // namespace
