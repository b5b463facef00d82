//===- AttentionToLinalg.cpp - quant_xform.attention as linalg ------------===//
//
// `quant_xform.attention` of q [B, S, H, D] and k, v [B, T, G, D] as linalg
// on tensors, in the form the front end emitted before the op existed:
// heads transposed to [B·H, ·, ·] (grouped-query heads gathered by a
// generic), `linalg.batch_matmul` for q·kᵀ, one generic for the scale,
// the mask and the causal −∞, `linalg.softmax` over the keys, a second
// batch matmul with v, and the transpose back to [B, S, H, D]. And
// `quant_xform.rotary` as one elementwise generic over [T, H, 2, D/2].
//
//===----------------------------------------------------------------------===//

#include "quant-xform/Conversion/QuantXformToLinalg/AttentionToLinalg.h"
#include "quant-xform/Conversion/QuantXformToLinalg/LinalgBuilders.h"
#include "quant-xform/Dialect/QuantXform/IR/QuantXformOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/DialectConversion.h"
#include "llvm/Support/MathExtras.h"

#include <algorithm>

#include <limits>

using namespace mlir;
using namespace mlir::quant_xform;
using namespace mlir::quant_xform::lowering;

namespace {

/// Builds the linalg form of one static-shaped attention op.
class AttentionDecomposition {
public:
  AttentionDecomposition(OpBuilder &b, AttentionOp op)
      : b(b), loc(op.getLoc()), op(op), f32(b.getF32Type()) {
    ArrayRef<int64_t> q = op.getQuery().getType().getShape();
    nb = q[0], s = q[1], h = q[2], d = q[3];
    t = op.getKey().getType().getDimSize(1);
    g = op.getKey().getType().getDimSize(2);
    offset = t - s;
  }

  /// The op's result. A causal attention with keys for every query (t ≥ s)
  /// runs in chunks of queries, each over the keys up to its last query:
  /// the key blocks wholly in the future are not computed (at 2 chunks,
  /// 75 % of the full product). Their scores would be −∞ and add exact
  /// zeros, so each row equals the full product's up to the order of its
  /// sums (lit: within 1e-5 of the evaluator). The heads are transposed
  /// once; each chunk reads slices of them.
  Value build() {
    Value qh = heads(op.getQuery(), s, d, /*keysLast=*/false);
    Value kh = heads(op.getKey(), t, d, /*keysLast=*/true);
    Value vh = heads(op.getValue(), t, d, /*keysLast=*/false);
    const int64_t chunks = std::min<int64_t>(kMaxChunks, s / kMinChunkRows);
    Value ctx;
    if (!op.getCausal() || offset < 0 || chunks < 2) {
      ctx = attend(qh, kh, vh, op.getMask());
    } else {
      const int64_t rows = llvm::divideCeil(s, chunks);
      ctx = empty(b, loc, {nb * h, s, d}, f32);
      const int64_t fullS = s, fullT = t, fullOffset = offset;
      for (int64_t r0 = 0; r0 < fullS; r0 += rows) {
        s = std::min(rows, fullS - r0);
        t = r0 + s + fullOffset; // keys up to the chunk's last query
        offset = r0 + fullOffset;
        Value mask =
            op.getMask() ? slice(op.getMask(), {0, 0}, {nb, t}) : Value();
        Value y = attend(slice(qh, {0, r0, 0}, {nb * h, s, d}),
                         slice(kh, {0, 0, 0}, {nb * h, d, t}),
                         slice(vh, {0, 0, 0}, {nb * h, t, d}), mask);
        ctx = tensor::InsertSliceOp::create(b, loc, y, ctx, indices({0, r0, 0}),
                                            indices({nb * h, s, d}),
                                            indices({1, 1, 1}));
      }
      s = fullS, t = fullT, offset = fullOffset;
    }
    Value init = empty(b, loc, {nb, s, h, d}, f32);
    return linalg::TransposeOp::create(b, loc, expand(ctx, {nb, h, s, d}), init,
                                       ArrayRef<int64_t>{0, 2, 1, 3})
        ->getResult(0);
  }

private:
  /// Query chunks of causal attention: at most kMaxChunks, of at least
  /// kMinChunkRows queries. SmolLM2's 512 × 512 attention on 2 threads:
  /// 7.3 ms whole, 5.1 ms in 2 chunks, 4.5 ms in 4 (but twice the compile
  /// time of 2), 7.5 ms in 8 (each chunk's parallel loops too short).
  static constexpr int64_t kMaxChunks = 2, kMinChunkRows = 64;

  /// Attention of the heads qh [B·H, s, D] over kh [B·H, D, t] and vh
  /// [B·H, t, D] (mask [B, t]): the context [B·H, s, D].
  Value attend(Value qh, Value kh, Value vh, Value mask) {
    Value scores = batchMatmul(qh, kh, {nb * h, s, t});
    Value probs = softmax(maskedScores(expand(scores, {nb, h, s, t}), mask));
    return batchMatmul(collapse(probs), vh, {nb * h, s, d});
  }

  /// The slice of x at `offsets` of `sizes` (unit strides).
  Value slice(Value x, ArrayRef<int64_t> offsets, ArrayRef<int64_t> sizes) {
    return tensor::ExtractSliceOp::create(
        b, loc, RankedTensorType::get(sizes, f32), x, indices(offsets),
        indices(sizes), indices(SmallVector<int64_t>(sizes.size(), 1)));
  }
  SmallVector<OpFoldResult> indices(ArrayRef<int64_t> values) {
    SmallVector<OpFoldResult> out;
    for (int64_t v : values)
      out.push_back(b.getIndexAttr(v));
    return out;
  }

  /// x [B, L, heads, D] as [B·H, L, D] (or [B·H, D, L] with `keysLast`),
  /// each query head reading its key/value head.
  Value heads(Value x, int64_t len, int64_t dim, bool keysLast) {
    SmallVector<int64_t> shape = {nb, h, keysLast ? dim : len,
                                  keysLast ? len : dim};
    Value init = empty(b, loc, shape, f32);
    Value perHead;
    if (cast<ShapedType>(x.getType()).getDimSize(2) == h) {
      SmallVector<int64_t> perm = keysLast ? SmallVector<int64_t>{0, 2, 3, 1}
                                           : SmallVector<int64_t>{0, 2, 1, 3};
      perHead =
          linalg::TransposeOp::create(b, loc, x, init, perm)->getResult(0);
    } else {
      perHead = gatherGroups(x, init, keysLast);
    }
    return collapse(perHead);
  }

  /// y[b, hi, ·, ·] = x[b, ·, hi / (H / G), ·] (grouped-query heads).
  Value gatherGroups(Value x, Value init, bool keysLast) {
    MLIRContext *ctx = b.getContext();
    AffineExpr bi, hi, i, j;
    bindDims(ctx, bi, hi, i, j);
    AffineExpr group = hi.floorDiv(h / g);
    // keysLast: (b, h, d, t) reads x[b, t, g, d]; else (b, h, t, d).
    AffineMap in =
        AffineMap::get(4, 0,
                       keysLast ? ArrayRef<AffineExpr>{bi, j, group, i}
                                : ArrayRef<AffineExpr>{bi, i, group, j},
                       ctx);
    return generic(b, loc, {x}, {init},
                   {in, AffineMap::getMultiDimIdentityMap(4, ctx)}, 4, {},
                   [](OpBuilder &, Location, ValueRange a) {
                     return SmallVector<Value>{a[0]};
                   })
        .front();
  }

  Value batchMatmul(Value lhs, Value rhs, ArrayRef<int64_t> shape) {
    Value acc = filled(b, loc, shape, f32, b.getF32FloatAttr(0.0f));
    return linalg::BatchMatmulOp::create(b, loc, ValueRange{lhs, rhs},
                                         ValueRange{acc})
        ->getResult(0);
  }

  /// s·scale + mask[b, t], and −∞ for a causal key past the query.
  Value maskedScores(Value scores, Value mask) {
    MLIRContext *ctx = b.getContext();
    AffineMap all = AffineMap::getMultiDimIdentityMap(4, ctx);
    SmallVector<Value> inputs = {scores};
    SmallVector<AffineMap> maps = {all};
    if (mask) {
      inputs.push_back(mask);
      maps.push_back(AffineMap::get(
          4, 0, {getAffineDimExpr(0, ctx), getAffineDimExpr(3, ctx)}, ctx));
    }
    maps.push_back(all);
    double scale = op.getScale().convertToDouble();
    bool causal = op.getCausal();
    return generic(b, loc, inputs, {empty(b, loc, {nb, h, s, t}, f32)}, maps, 4,
                   {},
                   [&](OpBuilder &pb, Location pl, ValueRange a) {
                     Value v = arith::MulFOp::create(
                         pb, pl, a[0], lowering::scalar(pb, pl, f32, scale));
                     if (inputs.size() == 2)
                       v = arith::AddFOp::create(pb, pl, v, a[1]);
                     if (causal)
                       v = causalMask(pb, pl, v, offset);
                     return SmallVector<Value>{v};
                   })
        .front();
  }

  /// −∞ where the key (loop 3) is past the query (loop 2) + `offset`.
  Value causalMask(OpBuilder &pb, Location pl, Value v, int64_t offset) {
    Value i = linalg::IndexOp::create(pb, pl, 2);
    Value j = linalg::IndexOp::create(pb, pl, 3);
    Value last = arith::AddIOp::create(
        pb, pl, i, arith::ConstantIndexOp::create(pb, pl, offset));
    Value future =
        arith::CmpIOp::create(pb, pl, arith::CmpIPredicate::sgt, j, last);
    Value neg =
        lowering::scalar(pb, pl, f32, -std::numeric_limits<double>::infinity());
    return arith::SelectOp::create(pb, pl, future, neg, v);
  }

  Value softmax(Value x) {
    auto type = cast<RankedTensorType>(x.getType());
    return linalg::SoftmaxOp::create(b, loc, type, x,
                                     empty(b, loc, type.getShape(), f32), 3)
        ->getResult(0);
  }

  /// [B, H, ·, ·] ↔ [B·H, ·, ·].
  Value collapse(Value x) {
    return tensor::CollapseShapeOp::create(
        b, loc, x, ArrayRef<ReassociationIndices>{{0, 1}, {2}, {3}});
  }
  Value expand(Value x, ArrayRef<int64_t> shape) {
    return tensor::ExpandShapeOp::create(
        b, loc, RankedTensorType::get(shape, f32), x,
        ArrayRef<ReassociationIndices>{{0, 1}, {2}, {3}});
  }

  OpBuilder &b;
  Location loc;
  AttentionOp op;
  Type f32;
  int64_t nb, s, h, d, t, g;
  int64_t offset; // the first query's last visible key (causal)
};

/// `quant_xform.attention` → linalg (static shapes only).
struct LowerAttention : OpConversionPattern<AttentionOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(AttentionOp op, OpAdaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (!op.getQuery().getType().hasStaticShape() ||
        !op.getKey().getType().hasStaticShape())
      return rewriter.notifyMatchFailure(op, "needs static shapes");
    rewriter.replaceOp(op, AttentionDecomposition(rewriter, op).build());
    return success();
  }
};

/// `quant_xform.rotary` of x [T, H, D] → one generic over x expanded to
/// [T, H, 2, D/2]: each output half reads both halves and the token's
/// cos / sin, in RotaryOp's order of products and sums.
struct LowerRotary : OpConversionPattern<RotaryOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(RotaryOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    RankedTensorType type = op.getInput().getType();
    if (!type.hasStaticShape())
      return rewriter.notifyMatchFailure(op, "needs static shapes");
    Location loc = op.getLoc();
    ArrayRef<int64_t> x = type.getShape();
    SmallVector<int64_t> split = {x[0], x[1], 2, x[2] / 2};
    SmallVector<ReassociationIndices> groups = {{0}, {1}, {2, 3}};
    auto splitType = RankedTensorType::get(split, type.getElementType());
    Value x4 = tensor::ExpandShapeOp::create(rewriter, loc, splitType,
                                             adaptor.getInput(), groups);
    MLIRContext *ctx = rewriter.getContext();
    AffineExpr d0, d1, d2, d3;
    bindDims(ctx, d0, d1, d2, d3);
    auto map = [&](ArrayRef<AffineExpr> e) {
      return AffineMap::get(4, 0, e, ctx);
    };
    AffineExpr zero = getAffineConstantExpr(0, ctx);
    AffineExpr one = getAffineConstantExpr(1, ctx);
    SmallVector<AffineMap> maps = {map({d0, d1, zero, d3}),
                                   map({d0, d1, one, d3}), map({d0, d3}),
                                   map({d0, d3}), map({d0, d1, d2, d3})};
    Value y4 =
        generic(rewriter, loc, {x4, x4, adaptor.getCos(), adaptor.getSin()},
                {empty(rewriter, loc, split, type.getElementType())}, maps, 4,
                {},
                [](OpBuilder &b, Location l, ValueRange a) {
                  Value lo = arith::SubFOp::create(
                      b, l, arith::MulFOp::create(b, l, a[0], a[2]),
                      arith::MulFOp::create(b, l, a[1], a[3]));
                  Value hi = arith::AddFOp::create(
                      b, l, arith::MulFOp::create(b, l, a[1], a[2]),
                      arith::MulFOp::create(b, l, a[0], a[3]));
                  Value first = arith::CmpIOp::create(
                      b, l, arith::CmpIPredicate::eq,
                      linalg::IndexOp::create(b, l, 2),
                      arith::ConstantIndexOp::create(b, l, 0));
                  return SmallVector<Value>{
                      arith::SelectOp::create(b, l, first, lo, hi)};
                })
            .front();
    rewriter.replaceOpWithNewOp<tensor::CollapseShapeOp>(op, type, y4, groups);
    return success();
  }
};

} // namespace

void mlir::quant_xform::populateAttentionToLinalgPatterns(
    RewritePatternSet &patterns) {
  patterns.add<LowerAttention, LowerRotary>(patterns.getContext());
}
