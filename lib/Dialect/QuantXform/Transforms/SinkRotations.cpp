//===- SinkRotations.cpp - rotations through residual adds and norms -----===//
//
// quant-xform-sink-rotations moves a rotation `T(x) = x·Q` (orthogonal Q)
// down the residual stream until it folds into linears or cancels:
//
//   rms_norm(T(x); γ = 1, no β) = T(rms_norm(x))        ‖x·Q‖ = ‖x‖
//   T(a) + b                    = T(a + T⁻¹(b))
//   linear(T(x), W, b)          = linear(x, W·Q, b)     (input side)
//   T⁻¹(linear(x, W, b))        = linear(x, Q·W, b·Qᵀ)  (output side)
//   T(T⁻¹(x))                   = x
//
// An add is crossed only where `T⁻¹(b)` vanishes: `b` comes from a linear
// read only by the add (T⁻¹ folds into it) or from the same rotation T (it
// cancels). This is QuaRot's residual-stream rotation: a front end that
// passes a rotated residual stream puts `T⁻¹` on the argument and `T` on the
// result; both end up in the weights.
//
//===----------------------------------------------------------------------===//

#include "quant-xform/Dialect/QuantXform/Transforms/Passes.h"

#include "TransformUtils.h"
#include "quant-xform/Dialect/QuantXform/IR/QuantXformAttrNames.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::quant_xform {
#define GEN_PASS_DEF_SINKROTATIONS
#include "quant-xform/Dialect/QuantXform/Transforms/Passes.h.inc"
} // namespace mlir::quant_xform

using namespace mlir;
using namespace mlir::quant_xform;

namespace {

/// A rotation the passes may move: not pinned (the quantizer must see a
/// pinned one where it is).
static RotateOp movableRotation(Value v) {
  auto rotate = v.getDefiningOp<RotateOp>();
  if (!rotate || rotate->hasAttr(kPinnedAttrName))
    return nullptr;
  return rotate;
}

/// True when `a` and `b` apply the same matrix in the same direction.
static bool sameRotation(RotateOp a, RotateOp b) {
  return a.getKind() == b.getKind() && a.getMatrix() == b.getMatrix() &&
         a.getPermAttr() == b.getPermAttr() &&
         a.getSignsAttr() == b.getSignsAttr() &&
         a.getInverse() == b.getInverse();
}

/// `rotate` applied to `input` (same kind, matrix and direction).
static Value cloneRotation(PatternRewriter &rewriter, RotateOp rotate,
                           Value input) {
  Operation *copy = rewriter.clone(*rotate.getOperation());
  copy->setOperand(0, input);
  return copy->getResult(0);
}

/// rms_norm(T(x); γ = 1, no β) → T(rms_norm(x)).
struct SinkRotationThroughNorm : OpRewritePattern<RMSNormOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(RMSNormOp norm,
                                PatternRewriter &rewriter) const override {
    RotateOp rotate = movableRotation(norm.getInput());
    if (!rotate || norm.getBeta())
      return failure();
    std::optional<std::vector<double>> gamma =
        getConstantFloats(norm.getGamma());
    if (!gamma || !llvm::all_of(*gamma, [](double g) { return g == 1.0; }))
      return rewriter.notifyMatchFailure(norm, "the norm has a γ ≠ 1 (fold "
                                               "it into the readers first)");
    auto newNorm = RMSNormOp::create(
        rewriter, norm.getLoc(), rotate.getInput().getType(), rotate.getInput(),
        norm.getGamma(), Value(), norm.getEpsilonAttr());
    rewriter.replaceOp(norm, cloneRotation(rewriter, rotate, newNorm));
    return success();
  }
};

/// T(a) + b → T(a + T⁻¹(b)) where T⁻¹(b) folds into b's linear or cancels.
struct SinkRotationThroughAdd : OpRewritePattern<arith::AddFOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(arith::AddFOp add,
                                PatternRewriter &rewriter) const override {
    Type type = add.getType();
    if (add.getLhs().getType() != type || add.getRhs().getType() != type)
      return failure();
    for (int side = 0; side < 2; ++side) {
      Value rotated = side == 0 ? add.getLhs() : add.getRhs();
      Value other = side == 0 ? add.getRhs() : add.getLhs();
      RotateOp rotate = movableRotation(rotated);
      if (!rotate)
        continue;
      FailureOr<Value> unrotated = unrotate(rewriter, rotate, other);
      if (failed(unrotated))
        continue;
      Value a = rotate.getInput();
      rewriter.setInsertionPoint(add);
      Value sum =
          side == 0
              ? arith::AddFOp::create(rewriter, add.getLoc(), a, *unrotated)
              : arith::AddFOp::create(rewriter, add.getLoc(), *unrotated, a);
      rewriter.replaceOp(add, cloneRotation(rewriter, rotate, sum));
      return success();
    }
    return rewriter.notifyMatchFailure(add, "no operand to rotate back");
  }

  /// T⁻¹(b) without a new rotation: b's own input when b = T(c), b's linear
  /// with T⁻¹ folded into its output when only the add reads it.
  static FailureOr<Value> unrotate(PatternRewriter &rewriter, RotateOp rotate,
                                   Value b) {
    if (RotateOp producer = movableRotation(b);
        producer && sameRotation(producer, rotate))
      return producer.getInput();
    auto linear = b.getDefiningOp<LinearOp>();
    if (!linear || !linear->hasOneUse())
      return failure();
    auto transform = cast<TransformOpInterface>(rotate.getOperation());
    FailureOr<Matrix> m = transform.getAppliedMatrix();
    if (failed(m))
      return failure();
    // T⁻¹ applies Qᵀ; an orthogonal rotation has no offset.
    if (failed(foldIntoLinearOutput(rewriter, linear, m->transpose(),
                                    Matrix(1, m->rows()))))
      return failure();
    return b;
  }
};

struct SinkRotations
    : public quant_xform::impl::SinkRotationsBase<SinkRotations> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateSinkRotationsPatterns(patterns);
    if (failed(
            mlir::applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace

void mlir::quant_xform::populateSinkRotationsPatterns(
    RewritePatternSet &patterns) {
  patterns.add<SinkRotationThroughNorm, SinkRotationThroughAdd>(
      patterns.getContext());
  populateFoldTransformsIntoLinearsPatterns(patterns);
  RotateOp::getCanonicalizationPatterns(patterns, patterns.getContext());
}
