//===- TransformsToLinalg.cpp - rotations, smoothing, norms to linalg ----===//
//
// The patterns of convert-quant-xform-to-linalg for the equivalence
// transforms and the norms, on `[M, K]` rows: `rotate` (dense matrices as a
// matmul; Hadamards as butterfly stages, cache blocked by row as an
// option; permutations as a gather), `smooth`, `affine`, `batch_norm`, and
// `layer_norm` / `rms_norm` with the evaluator's two-pass variance.
//
//===----------------------------------------------------------------------===//

#include "ToLinalgPatterns.h"
#include "quant-xform/Dialect/QuantXform/IR/QuantXformOps.h"
#include "quant-xform/Support/Matrix.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <cmath>

using namespace mlir;
using namespace mlir::quant_xform;
using namespace mlir::quant_xform::lowering;

namespace {

/// One elementwise generic over rows `x` ([M, K]) and per-channel vectors
/// `channels` ([K] each): `body` gets x[i][j] and then each channel's [j],
/// and returns y[i][j].
static Value
channelwise(OpBuilder &b, Location loc, Rows x, ValueRange channels,
            function_ref<Value(OpBuilder &, Location, ValueRange)> body) {
  MLIRContext *ctx = b.getContext();
  AffineExpr i, j;
  bindDims(ctx, i, j);
  AffineMap row = AffineMap::get(2, 0, {i, j}, ctx);
  SmallVector<Value> ins = {x.value};
  llvm::append_range(ins, channels);
  SmallVector<AffineMap> maps(channels.size() + 2,
                              AffineMap::get(2, 0, {j}, ctx));
  maps.front() = maps.back() = row;
  Type ft = cast<RankedTensorType>(x.value.getType()).getElementType();
  return generic(b, loc, ins, {empty(b, loc, {x.m, x.k}, ft)}, maps, 2, {},
                 [&](OpBuilder &nb, Location nl, ValueRange a) {
                   return SmallVector<Value>{body(nb, nl, a)};
                 })
      .front();
}

/// y = x ⊙ v (v: [K]) for rows.
static Value scaleColumns(OpBuilder &b, Location loc, Rows x, Value v) {
  return channelwise(b, loc, x, {v},
                     [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
                       return arith::MulFOp::create(nb, nl, a[0], a[1]);
                     });
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
      std::vector<double> diag = Matrix::hadamardFactors(
          x->k, op.getSigns().value_or(ArrayRef<int8_t>()));
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
    FailureOr<Rows> x = rowsOf(op, b, op.getInput());
    if (failed(x))
      return failure();
    SmallVector<Value> channels = {op.getScales()};
    if (op.getShift())
      channels.push_back(op.getShift());
    bool inverse = op.getInverse();
    bool shift = op.getShift() != nullptr;
    Value y = channelwise(
        b, op.getLoc(), *x, channels,
        [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
          Value v = a[0];
          if (inverse) {
            v = arith::MulFOp::create(nb, nl, v, a[1]);
            return shift ? arith::AddFOp::create(nb, nl, v, a[2]) : v;
          }
          if (shift)
            v = arith::SubFOp::create(nb, nl, v, a[2]);
          return arith::DivFOp::create(nb, nl, v, a[1]);
        });
    return expandFromRows(b, op.getLoc(), y, x->originalShape, x->k);
  }
};

/// batch_norm → one elementwise generic over rows:
/// (x − mean)·γ/sqrt(var + ε) + β.
struct LowerBatchNorm : LowerOp<BatchNormOp> {
  using LowerOp::LowerOp;
  FailureOr<Value> lower(BatchNormOp op, OpBuilder &b) const override {
    FailureOr<Rows> x = rowsOf(op, b, op.getInput());
    if (failed(x))
      return failure();
    Type ft = cast<RankedTensorType>(x->value.getType()).getElementType();
    double eps = op.getEpsilon().convertToDouble();
    Value y = channelwise(
        b, op.getLoc(), *x,
        {op.getMean(), op.getVariance(), op.getGamma(), op.getBeta()},
        [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
          Value centered = arith::SubFOp::create(nb, nl, a[0], a[1]);
          Value var =
              arith::AddFOp::create(nb, nl, a[2], scalar(nb, nl, ft, eps));
          Value inv = math::RsqrtOp::create(nb, nl, var);
          Value scale = arith::MulFOp::create(nb, nl, a[3], inv);
          Value v = arith::MulFOp::create(nb, nl, centered, scale);
          return arith::AddFOp::create(nb, nl, v, a[4]);
        });
    return expandFromRows(b, op.getLoc(), y, x->originalShape, x->k);
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

} // namespace

void lowering::populateTransformsToLinalgPatterns(RewritePatternSet &patterns,
                                                  bool cacheBlockedRotations) {
  MLIRContext *ctx = patterns.getContext();
  patterns.add<LowerRotate>(ctx, cacheBlockedRotations);
  patterns.add<LowerSmooth, LowerAffine, LowerBatchNorm,
               LowerNorm<LayerNormOp, true>, LowerNorm<RMSNormOp, false>>(ctx);
}
