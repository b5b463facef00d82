//===- QuantXformCanonicalize.cpp - compose chains of transforms ---------===//
//
// Canonicalization patterns that compose two adjacent transforms of the
// same family into one (the inner one read only by the outer one):
//   permutation ∘ permutation → permutation
//   dense ∘ dense (or dense ∘ permutation) → dense
//   smooth ∘ smooth → smooth (scales multiply, shifts combine)
// Hadamards are not composed with anything: two butterflies are cheaper
// online than the dense matrix their product is. The result is pinned when
// the outer transform was (its output is what a quantizer sees). A pinned
// inner transform is never composed: it is the visible half of an inserted
// pair whose other half waits to be folded into weights.
//
//===----------------------------------------------------------------------===//

#include "quant-xform/Dialect/QuantXform/IR/QuantXformAttrNames.h"
#include "quant-xform/Dialect/QuantXform/IR/QuantXformOps.h"
#include "quant-xform/Support/Matrix.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/PatternMatch.h"

using namespace mlir;
using namespace mlir::quant_xform;

/// The f32/f64 constant tensor of `type` holding `values` (callers have
/// checked the element type).
static Value makeConstant(PatternRewriter &rewriter, Location loc,
                          RankedTensorType type, ArrayRef<double> values) {
  return *makeFloatConstant(rewriter, loc, type, values);
}

/// Keeps the outer transform's pinned/online markers on the replacement.
static void copyMarkers(Operation *from, Operation *to) {
  for (StringRef name : {kPinnedAttrName.data(), kOnlineAttrName.data()})
    if (from->hasAttr(name))
      to->setAttr(name, from->getAttr(name));
}

namespace {

/// rotate(rotate(x)) → one rotation, unless a Hadamard is involved.
struct ComposeRotations : OpRewritePattern<RotateOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(RotateOp outer,
                                PatternRewriter &rewriter) const override {
    auto inner = outer.getInput().getDefiningOp<RotateOp>();
    if (!inner || !inner->hasOneUse() || inner->hasAttr(kPinnedAttrName) ||
        inner.getKind() == RotationKind::Hadamard ||
        outer.getKind() == RotationKind::Hadamard)
      return failure();
    auto type = dyn_cast<RankedTensorType>(outer.getType());
    if (!type || type != inner.getInput().getType() ||
        (!type.getElementType().isF32() && !type.getElementType().isF64()))
      return failure();
    auto i = cast<TransformOpInterface>(inner.getOperation());
    auto o = cast<TransformOpInterface>(outer.getOperation());
    FailureOr<Matrix> m1 = i.getAppliedMatrix();
    FailureOr<Matrix> m2 = o.getAppliedMatrix();
    if (failed(m1) || failed(m2))
      return failure();
    Matrix m = m1->matmul(*m2);
    MLIRContext *ctx = getContext();
    RotateOp composed;
    if (inner.getKind() == RotationKind::Permutation &&
        outer.getKind() == RotationKind::Permutation) {
      // (x·P)[j] = x[perm[j]] with P[perm[j]][j] = 1.
      SmallVector<int64_t> perm(m.cols(), 0);
      for (int64_t r = 0; r < m.rows(); ++r)
        for (int64_t c = 0; c < m.cols(); ++c)
          if (m(r, c) == 1.0)
            perm[c] = r;
      composed = RotateOp::create(
          rewriter, outer.getLoc(), type,
          RotationKindAttr::get(ctx, RotationKind::Permutation),
          inner.getInput(), Value(), rewriter.getDenseI64ArrayAttr(perm),
          DenseI8ArrayAttr(), UnitAttr(), outer.getToleranceAttr());
    } else {
      int64_t k = m.rows();
      Value q = makeConstant(
          rewriter, outer.getLoc(),
          RankedTensorType::get({k, k}, type.getElementType()), m.data());
      composed = RotateOp::create(
          rewriter, outer.getLoc(), type,
          RotationKindAttr::get(ctx, RotationKind::Dense), inner.getInput(), q,
          DenseI64ArrayAttr(), DenseI8ArrayAttr(), UnitAttr(),
          outer.getToleranceAttr());
    }
    copyMarkers(outer, composed);
    rewriter.replaceOp(outer, composed.getResult());
    rewriter.eraseOp(inner);
    return success();
  }
};

/// smooth(smooth(x)) → one smooth: x·diag(d) + c with d = d1·d2,
/// c = c1·d2 + c2, written back as (x − δ)/s with s = 1/d, δ = −c·s.
struct ComposeSmooths : OpRewritePattern<SmoothOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(SmoothOp outer,
                                PatternRewriter &rewriter) const override {
    auto inner = outer.getInput().getDefiningOp<SmoothOp>();
    if (!inner || !inner->hasOneUse() || inner->hasAttr(kPinnedAttrName))
      return failure();
    auto type = dyn_cast<RankedTensorType>(outer.getType());
    if (!type || type != inner.getInput().getType() ||
        (!type.getElementType().isF32() && !type.getElementType().isF64()))
      return failure();
    auto i = cast<TransformOpInterface>(inner.getOperation());
    auto o = cast<TransformOpInterface>(outer.getOperation());
    FailureOr<Matrix> m1 = i.getAppliedMatrix(), m2 = o.getAppliedMatrix();
    FailureOr<Matrix> c1 = i.getAppliedOffset(), c2 = o.getAppliedOffset();
    if (failed(m1) || failed(m2) || failed(c1) || failed(c2))
      return failure();
    int64_t k = m1->rows();
    std::vector<double> s(k), delta(k);
    bool anyShift = false;
    for (int64_t j = 0; j < k; ++j) {
      double d = (*m1)(j, j) * (*m2)(j, j);
      double c = (*c1)(0, j) * (*m2)(j, j) + (*c2)(0, j);
      s[j] = 1.0 / d;
      delta[j] = -c * s[j];
      anyShift |= delta[j] != 0.0;
    }
    auto vec = RankedTensorType::get({k}, type.getElementType());
    Value scales = makeConstant(rewriter, outer.getLoc(), vec, s);
    Value shift =
        anyShift ? makeConstant(rewriter, outer.getLoc(), vec, delta) : Value();
    auto composed =
        SmoothOp::create(rewriter, outer.getLoc(), type, inner.getInput(),
                         scales, shift, UnitAttr());
    copyMarkers(outer, composed);
    rewriter.replaceOp(outer, composed.getResult());
    rewriter.eraseOp(inner);
    return success();
  }
};

} // namespace

void RotateOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                           MLIRContext *context) {
  results.add<ComposeRotations>(context);
}

void SmoothOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                           MLIRContext *context) {
  results.add<ComposeSmooths>(context);
}
