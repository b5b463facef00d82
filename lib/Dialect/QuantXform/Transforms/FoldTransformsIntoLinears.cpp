//===- FoldTransformsIntoLinears.cpp - transforms → linear weights --------===//
//
// Input side:  linear(x·M + c, W, b)   = x·(W·Mᵀ)ᵀ + (b + c·Wᵀ)
// Output side: (x·Wᵀ + b)·M + c       = x·(Mᵀ·W)ᵀ + (b·M + c)
//
//===----------------------------------------------------------------------===//

#include "quant-xform/Dialect/QuantXform/Transforms/Passes.h"

#include "TransformUtils.h"
#include "quant-xform/Dialect/QuantXform/IR/QuantXformAttrNames.h"
#include "quant-xform/Dialect/QuantXform/IR/QuantXformOps.h"
#include "quant-xform/Support/Matrix.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::quant_xform {
#define GEN_PASS_DEF_FOLDTRANSFORMSINTOLINEARS
#include "quant-xform/Dialect/QuantXform/Transforms/Passes.h.inc"
} // namespace mlir::quant_xform

using namespace mlir;
using namespace mlir::quant_xform;

namespace {

/// The linear's bias as a `1 × n` row (zeros when it has none); failure when
/// the bias is not a constant.
static FailureOr<Matrix> biasRow(LinearOp op, int64_t n) {
  Matrix row(1, n);
  if (!op.getBias())
    return row;
  std::optional<std::vector<double>> b = getConstantFloats(op.getBias());
  if (!b)
    return failure();
  row.data() = std::move(*b);
  return row;
}

/// linear(T(x), W, b) → linear(x, W·Mᵀ, b + c·Wᵀ).
struct FoldInputTransform : OpRewritePattern<LinearOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(LinearOp op,
                                PatternRewriter &rewriter) const override {
    auto transform = op.getInput().getDefiningOp<TransformOpInterface>();
    if (!transform)
      return failure();
    // The quantizer must see a pinned transform's output.
    if (transform->hasAttr(kPinnedAttrName))
      return rewriter.notifyMatchFailure(op, "transform is pinned");
    std::optional<Matrix> w = getConstantMatrix(op.getWeight());
    if (!w)
      return rewriter.notifyMatchFailure(op, "weight is not a constant");
    FailureOr<Matrix> b = biasRow(op, w->rows());
    FailureOr<Matrix> m = transform.getAppliedMatrix();
    FailureOr<Matrix> c = transform.getAppliedOffset();
    if (failed(b) || failed(m) || failed(c))
      return rewriter.notifyMatchFailure(op, "transform not known");
    Matrix newW = w->matmulTransposed(*m);
    if (llvm::any_of(c->data(), [](double v) { return v != 0.0; })) {
      Matrix cw = c->matmulTransposed(*w); // c·Wᵀ
      for (int64_t j = 0; j < b->cols(); ++j)
        (*b)(0, j) += cw(0, j);
    }
    return updateLinear(rewriter, op, transform.getTransformInput(), newW, *b);
  }
};

/// T(linear(x, W, b)) → linear(x, Mᵀ·W, b·M + c).
struct FoldOutputTransform : OpInterfaceRewritePattern<TransformOpInterface> {
  using OpInterfaceRewritePattern::OpInterfaceRewritePattern;
  LogicalResult matchAndRewrite(TransformOpInterface transform,
                                PatternRewriter &rewriter) const override {
    auto linear = transform.getTransformInput().getDefiningOp<LinearOp>();
    if (!linear || !linear->hasOneUse())
      return failure();
    FailureOr<Matrix> m = transform.getAppliedMatrix();
    FailureOr<Matrix> c = transform.getAppliedOffset();
    if (failed(m) || failed(c) ||
        failed(foldIntoLinearOutput(rewriter, linear, *m, *c)))
      return failure();
    rewriter.replaceOp(transform, transform.getTransformInput());
    return success();
  }
};

} // namespace

LogicalResult mlir::quant_xform::foldIntoLinearOutput(PatternRewriter &rewriter,
                                                      LinearOp linear,
                                                      const Matrix &m,
                                                      const Matrix &c) {
  std::optional<Matrix> w = getConstantMatrix(linear.getWeight());
  if (!w)
    return failure();
  FailureOr<Matrix> b = biasRow(linear, w->rows());
  if (failed(b))
    return failure();
  Matrix newW = m.transpose().matmul(*w);
  Matrix newB = b->matmul(m);
  for (int64_t j = 0; j < newB.cols(); ++j)
    newB(0, j) += c(0, j);
  return updateLinear(rewriter, linear, linear.getInput(), newW, newB);
}

void mlir::quant_xform::populateFoldTransformsIntoLinearsPatterns(
    RewritePatternSet &patterns) {
  patterns.add<FoldInputTransform, FoldOutputTransform>(patterns.getContext());
}

namespace {

struct FoldTransformsIntoLinears
    : public quant_xform::impl::FoldTransformsIntoLinearsBase<
          FoldTransformsIntoLinears> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateFoldTransformsIntoLinearsPatterns(patterns);
    if (failed(
            mlir::applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace
