//===- FoldNorms.cpp - fold norm scales and diagonal transforms ----------===//
//
// Two passes around LayerNorm/RMSNorm `y = γ⊙n(x) + β`:
//
// - quant-xform-fold-norm-scales-into-linears: when every reader of y is a
//   linear, `linear(y, W, b) = linear(n(x), W·diag(γ), b + β·Wᵀ)`, and the
//   norm keeps γ = 1, no β.
// - quant-xform-fold-diagonals-into-norms: a diagonal transform
//   `T(y) = y·diag(d) + c` right after the norm (its only reader) becomes
//   the norm's `γ' = γ⊙d`, `β' = β⊙d + c`.
//
//===----------------------------------------------------------------------===//

#include "quant-xform/Dialect/QuantXform/Transforms/Passes.h"

#include "TransformUtils.h"
#include "quant-xform/Dialect/QuantXform/IR/QuantXformAttrNames.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::quant_xform {
#define GEN_PASS_DEF_FOLDNORMSCALESINTOLINEARS
#define GEN_PASS_DEF_FOLDDIAGONALSINTONORMS
#define GEN_PASS_DEF_HOISTROTATIONSTHROUGHNORMS
#include "quant-xform/Dialect/QuantXform/Transforms/Passes.h.inc"
} // namespace mlir::quant_xform

using namespace mlir;
using namespace mlir::quant_xform;

namespace {

/// γ, β and ε of a LayerNorm or RMSNorm, with a way to rebuild it.
struct NormParts {
  Operation *op = nullptr;
  Value input, gamma, beta;
  FloatAttr epsilon;
  bool isLayerNorm = false;

  static std::optional<NormParts> match(Operation *op) {
    if (auto ln = dyn_cast_or_null<LayerNormOp>(op))
      return NormParts{op,           ln.getInput(),       ln.getGamma(),
                       ln.getBeta(), ln.getEpsilonAttr(), true};
    if (auto rms = dyn_cast_or_null<RMSNormOp>(op))
      return NormParts{op,
                       rms.getInput(),
                       rms.getGamma(),
                       rms.getBeta(),
                       rms.getEpsilonAttr(),
                       false};
    return std::nullopt;
  }

  /// The same norm with new γ and (optional) β, replacing `replaced`.
  Value rebuild(PatternRewriter &rewriter, Operation *replaced, Value newGamma,
                Value newBeta) const {
    Type type = op->getResult(0).getType();
    Operation *norm =
        isLayerNorm ? LayerNormOp::create(rewriter, op->getLoc(), type, input,
                                          newGamma, newBeta, epsilon)
                          .getOperation()
                    : RMSNormOp::create(rewriter, op->getLoc(), type, input,
                                        newGamma, newBeta, epsilon)
                          .getOperation();
    rewriter.replaceOp(replaced, norm->getResults());
    return norm->getResult(0);
  }
};

/// Reads a constant vector of `n` floats; zeros when `value` is null.
static std::optional<std::vector<double>> vectorOrZeros(Value value,
                                                        int64_t n) {
  if (!value)
    return std::vector<double>(n, 0.0);
  return getConstantFloats(value);
}

/// norm(x; γ, β) read only by linears → norm(x; 1) and W·diag(γ), b + β·Wᵀ.
struct FoldNormScalesIntoReaders : RewritePattern {
  FoldNormScalesIntoReaders(MLIRContext *ctx)
      : RewritePattern(MatchAnyOpTypeTag(), /*benefit=*/1, ctx) {}

  LogicalResult matchAndRewrite(Operation *op,
                                PatternRewriter &rewriter) const override {
    std::optional<NormParts> norm = NormParts::match(op);
    if (!norm || op->use_empty())
      return failure();
    auto type = cast<RankedTensorType>(norm->gamma.getType());
    int64_t k = type.getDimSize(0);
    std::optional<std::vector<double>> gamma = getConstantFloats(norm->gamma);
    std::optional<std::vector<double>> beta = vectorOrZeros(norm->beta, k);
    if (!gamma || !beta)
      return rewriter.notifyMatchFailure(op, "γ or β is not a constant");
    if (!norm->beta && llvm::all_of(*gamma, [](double g) { return g == 1.0; }))
      return failure(); // Nothing left to fold.
    SmallVector<LinearOp> readers;
    for (Operation *user : op->getUsers()) {
      auto linear = dyn_cast<LinearOp>(user);
      if (!linear || linear.getInput() != op->getResult(0) ||
          !getConstantMatrix(linear.getWeight()) ||
          (linear.getBias() && !getConstantFloats(linear.getBias())))
        return rewriter.notifyMatchFailure(
            op, "a reader is not a linear with constant weights");
      readers.push_back(linear);
    }
    for (LinearOp linear : llvm::make_early_inc_range(readers)) {
      if (!llvm::is_contained(readers, linear))
        continue;
      Matrix w = *getConstantMatrix(linear.getWeight());
      std::vector<double> bias(w.rows(), 0.0);
      if (linear.getBias())
        bias = *getConstantFloats(linear.getBias());
      for (int64_t r = 0; r < w.rows(); ++r)
        for (int64_t j = 0; j < k; ++j) {
          bias[r] += (*beta)[j] * w(r, j);
          w(r, j) *= (*gamma)[j];
        }
      rewriter.setInsertionPoint(linear);
      auto wType = cast<RankedTensorType>(linear.getWeight().getType());
      FailureOr<Value> newW =
          makeFloatConstant(rewriter, linear.getLoc(), wType, w.data());
      FailureOr<Value> newB = makeFloatConstant(
          rewriter, linear.getLoc(),
          RankedTensorType::get({w.rows()}, wType.getElementType()), bias);
      if (failed(newW) || failed(newB))
        return rewriter.notifyMatchFailure(op, "unsupported element type");
      rewriter.modifyOpInPlace(linear, [&] {
        linear.getWeightMutable().assign(*newW);
        linear.getBiasMutable().assign(*newB);
        // Its input is no longer what calibration saw.
        linear->removeAttr(kStatsAttrName);
      });
    }
    rewriter.setInsertionPoint(op);
    FailureOr<Value> ones = makeFloatConstant(rewriter, op->getLoc(), type,
                                              std::vector<double>(k, 1.0));
    if (failed(ones))
      return rewriter.notifyMatchFailure(op, "unsupported element type");
    norm->rebuild(rewriter, op, *ones, Value());
    return success();
  }
};

/// T(norm(x; γ, β)) with T diagonal → norm(x; γ⊙d, β⊙d + c).
struct FoldDiagonalIntoNorm : OpInterfaceRewritePattern<TransformOpInterface> {
  using OpInterfaceRewritePattern::OpInterfaceRewritePattern;

  LogicalResult matchAndRewrite(TransformOpInterface transform,
                                PatternRewriter &rewriter) const override {
    Value input = transform.getTransformInput();
    std::optional<NormParts> norm = NormParts::match(input.getDefiningOp());
    if (!norm || !input.hasOneUse())
      return failure();
    FailureOr<Matrix> m = transform.getAppliedMatrix();
    FailureOr<Matrix> c = transform.getAppliedOffset();
    if (failed(m) || failed(c))
      return rewriter.notifyMatchFailure(transform, "transform not known");
    int64_t k = m->rows();
    for (int64_t i = 0; i < k; ++i)
      for (int64_t j = 0; j < k; ++j)
        if (i != j && (*m)(i, j) != 0.0)
          return rewriter.notifyMatchFailure(transform, "not diagonal");
    std::optional<std::vector<double>> gamma = getConstantFloats(norm->gamma);
    std::optional<std::vector<double>> beta = vectorOrZeros(norm->beta, k);
    if (!gamma || !beta)
      return rewriter.notifyMatchFailure(transform, "γ or β not constant");
    bool needBeta = norm->beta != nullptr;
    for (int64_t j = 0; j < k; ++j) {
      (*gamma)[j] *= (*m)(j, j);
      (*beta)[j] = (*beta)[j] * (*m)(j, j) + (*c)(0, j);
      needBeta |= (*c)(0, j) != 0.0;
    }
    auto type = cast<RankedTensorType>(norm->gamma.getType());
    rewriter.setInsertionPoint(norm->op);
    FailureOr<Value> newGamma =
        makeFloatConstant(rewriter, transform.getLoc(), type, *gamma);
    FailureOr<Value> newBeta =
        needBeta ? makeFloatConstant(rewriter, transform.getLoc(), type, *beta)
                 : FailureOr<Value>(Value());
    if (failed(newGamma) || failed(newBeta))
      return rewriter.notifyMatchFailure(transform, "unsupported type");
    rewriter.setInsertionPoint(transform);
    norm->rebuild(rewriter, transform, *newGamma, *newBeta);
    rewriter.eraseOp(norm->op);
    return success();
  }
};

/// rotate(rms_norm(x; γ = 1, no β)) → rms_norm(rotate(x)): ‖x·Q‖ = ‖x‖, so
/// the norm's divisor is the same and the rotation commutes with it.
struct HoistRotationThroughNorm : OpRewritePattern<RotateOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(RotateOp rotate,
                                PatternRewriter &rewriter) const override {
    auto norm = rotate.getInput().getDefiningOp<RMSNormOp>();
    if (!norm || !norm->hasOneUse() || norm.getBeta())
      return failure();
    std::optional<std::vector<double>> gamma =
        getConstantFloats(norm.getGamma());
    if (!gamma || !llvm::all_of(*gamma, [](double g) { return g == 1.0; }))
      return rewriter.notifyMatchFailure(rotate, "the norm has a γ ≠ 1 "
                                                 "(fold it into the readers "
                                                 "first)");
    rewriter.setInsertionPoint(norm);
    Operation *moved = rewriter.clone(*rotate.getOperation());
    moved->setOperand(0, norm.getInput());
    auto newNorm = RMSNormOp::create(rewriter, norm.getLoc(), rotate.getType(),
                                     moved->getResult(0), norm.getGamma(),
                                     Value(), norm.getEpsilonAttr());
    rewriter.replaceOp(rotate, newNorm.getResult());
    rewriter.eraseOp(norm);
    return success();
  }
};

struct HoistRotationsThroughNorms
    : public quant_xform::impl::HoistRotationsThroughNormsBase<
          HoistRotationsThroughNorms> {
  void runOnOperation() override {
    if (failed(applyPatternsGreedily<HoistRotationThroughNorm>(getOperation())))
      return signalPassFailure();
  }
};

struct FoldNormScalesIntoLinears
    : public quant_xform::impl::FoldNormScalesIntoLinearsBase<
          FoldNormScalesIntoLinears> {
  void runOnOperation() override {
    if (failed(
            applyPatternsGreedily<FoldNormScalesIntoReaders>(getOperation())))
      return signalPassFailure();
  }
};

struct FoldDiagonalsIntoNorms
    : public quant_xform::impl::FoldDiagonalsIntoNormsBase<
          FoldDiagonalsIntoNorms> {
  void runOnOperation() override {
    if (failed(applyPatternsGreedily<FoldDiagonalIntoNorm>(getOperation())))
      return signalPassFailure();
  }
};

} // namespace
