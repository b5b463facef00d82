//===- FoldBatchNorms.cpp - fold batch norms into adjacent linears -------===//
//
// quant-xform-fold-batch-norms: an inference-mode batch norm with constant
// parameters is the per-channel map y = x⊙s + t (s = γ/sqrt(var + ε),
// t = β − mean⊙s). It folds into the linear that produces x (output side)
// or into the linears that read y (input side), as the QAT article's "fold
// batch norms into the neighbouring layer" before quantization.
//
//===----------------------------------------------------------------------===//

#include "quant-xform/Dialect/QuantXform/Transforms/Passes.h"

#include "TransformUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/PatternMatch.h"

#include <cmath>

namespace mlir::quant_xform {
#define GEN_PASS_DEF_FOLDBATCHNORMS
#include "quant-xform/Dialect/QuantXform/Transforms/Passes.h.inc"
} // namespace mlir::quant_xform

using namespace mlir;
using namespace mlir::quant_xform;

namespace {

/// The per-channel map y = x⊙s + t of a batch norm with constant parameters.
struct ChannelMap {
  std::vector<double> scale, shift;

  static std::optional<ChannelMap> of(BatchNormOp bn) {
    auto mean = getConstantFloats(bn.getMean());
    auto var = getConstantFloats(bn.getVariance());
    auto gamma = getConstantFloats(bn.getGamma());
    auto beta = getConstantFloats(bn.getBeta());
    if (!mean || !var || !gamma || !beta)
      return std::nullopt;
    double eps = bn.getEpsilon().convertToDouble();
    ChannelMap map;
    for (size_t j = 0; j < mean->size(); ++j) {
      double s = (*gamma)[j] / std::sqrt((*var)[j] + eps);
      map.scale.push_back(s);
      map.shift.push_back((*beta)[j] - (*mean)[j] * s);
    }
    return map;
  }
};

/// A linear's constant weight and bias (a `1 × N` row, zeros when it has
/// none), for updateLinear.
struct LinearParts {
  Matrix weight, bias;

  static std::optional<LinearParts> of(LinearOp linear) {
    // updateLinear rebuilds f32 and f64 constants only.
    Type elem = getElementTypeOrSelf(linear.getWeight().getType());
    if (!elem.isF32() && !elem.isF64())
      return std::nullopt;
    std::optional<Matrix> w = getConstantMatrix(linear.getWeight());
    if (!w)
      return std::nullopt;
    Matrix b(1, w->rows());
    if (linear.getBias()) {
      std::optional<std::vector<double>> constant =
          getConstantFloats(linear.getBias());
      if (!constant)
        return std::nullopt;
      b.data() = std::move(*constant);
    }
    return LinearParts{std::move(*w), std::move(b)};
  }
};

/// bn(linear(x)) with bn the linear's only reader → linear(x; diag(s)·W,
/// s⊙b + t).
struct FoldIntoProducer : OpRewritePattern<BatchNormOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(BatchNormOp bn,
                                PatternRewriter &rewriter) const override {
    auto linear = bn.getInput().getDefiningOp<LinearOp>();
    if (!linear || !linear->hasOneUse())
      return failure();
    std::optional<ChannelMap> map = ChannelMap::of(bn);
    std::optional<LinearParts> parts = LinearParts::of(linear);
    if (!map || !parts)
      return rewriter.notifyMatchFailure(bn, "parameters are not constant");
    for (int64_t n = 0; n < parts->weight.rows(); ++n) {
      for (int64_t k = 0; k < parts->weight.cols(); ++k)
        parts->weight(n, k) *= map->scale[n];
      parts->bias(0, n) = parts->bias(0, n) * map->scale[n] + map->shift[n];
    }
    if (failed(updateLinear(rewriter, linear, linear.getInput(), parts->weight,
                            parts->bias)))
      return rewriter.notifyMatchFailure(bn, "unsupported element type");
    rewriter.replaceOp(bn, linear.getResult());
    return success();
  }
};

/// linearᵢ(bn(x)) for every reader → linearᵢ(x; W·diag(s), b + W·t).
struct FoldIntoReaders : OpRewritePattern<BatchNormOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(BatchNormOp bn,
                                PatternRewriter &rewriter) const override {
    if (bn->use_empty())
      return failure();
    std::optional<ChannelMap> map = ChannelMap::of(bn);
    if (!map)
      return rewriter.notifyMatchFailure(bn, "parameters are not constant");
    SmallVector<std::pair<LinearOp, LinearParts>> readers;
    for (Operation *user : bn->getUsers()) {
      auto linear = dyn_cast<LinearOp>(user);
      std::optional<LinearParts> parts;
      if (linear && linear.getInput() == bn.getResult())
        parts = LinearParts::of(linear);
      if (!parts)
        return rewriter.notifyMatchFailure(
            bn, "a reader is not a linear with constant weights");
      if (!llvm::any_of(readers, [&](auto &r) { return r.first == linear; }))
        readers.emplace_back(linear, std::move(*parts));
    }
    for (auto &reader : readers) {
      LinearOp linear = reader.first;
      LinearParts &parts = reader.second;
      for (int64_t n = 0; n < parts.weight.rows(); ++n)
        for (int64_t k = 0; k < parts.weight.cols(); ++k) {
          parts.bias(0, n) += parts.weight(n, k) * map->shift[k];
          parts.weight(n, k) *= map->scale[k];
        }
      // (updateLinear drops the statistics: the input changes.)
      if (failed(updateLinear(rewriter, linear, bn.getInput(), parts.weight,
                              parts.bias)))
        return rewriter.notifyMatchFailure(bn, "unsupported element type");
    }
    rewriter.eraseOp(bn);
    return success();
  }
};

struct FoldBatchNorms
    : public quant_xform::impl::FoldBatchNormsBase<FoldBatchNorms> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    // Output side first: it leaves the linear's input, and its statistics,
    // as they were.
    patterns.add<FoldIntoProducer>(&getContext(), /*benefit=*/2);
    patterns.add<FoldIntoReaders>(&getContext(), /*benefit=*/1);
    if (failed(
            mlir::applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace
