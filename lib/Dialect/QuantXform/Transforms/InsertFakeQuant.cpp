//===- InsertFakeQuant.cpp - QAT export: fake-quantize linears -----------===//
//
// Wraps the input and the constant weight of every selected linear in an
// 8-bit symmetric `quant_xform.fake_quant`, so the float model computes the
// W8A8 model's outputs and a quantization-aware trainer can fine-tune it.
// With `pact`, the input gets a per-tensor PACT clip from calibration.
// quant-xform-quantize-linears reads the graph back (QAT import).
//
//===----------------------------------------------------------------------===//

#include "quant-xform/Dialect/QuantXform/Transforms/Passes.h"

#include "TransformUtils.h"

#include "llvm/ADT/STLExtras.h"

namespace mlir::quant_xform {
#define GEN_PASS_DEF_INSERTFAKEQUANT
#include "quant-xform/Dialect/QuantXform/Transforms/Passes.h.inc"
} // namespace mlir::quant_xform

using namespace mlir;
using namespace mlir::quant_xform;

namespace {

struct InsertFakeQuant
    : public quant_xform::impl::InsertFakeQuantBase<InsertFakeQuant> {
  using InsertFakeQuantBase::InsertFakeQuantBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    FailureOr<LayerSelector> selector = LayerSelector::create(
        module, "quant-xform-insert-fake-quant", layers, roles);
    if (failed(selector))
      return signalPassFailure();
    SmallVector<LinearOp> linears;
    module.walk([&](LinearOp op) {
      if (selector->selects(op))
        linears.push_back(op);
    });
    for (LinearOp op : linears)
      if (failed(rewrite(op)))
        return signalPassFailure();
  }

  LogicalResult rewrite(LinearOp op) {
    MLIRContext *ctx = op.getContext();
    OpBuilder b(op);
    Location loc = op.getLoc();
    auto scheme = [&](Granularity g) {
      return QuantSchemeAttr::get(ctx, g, 0, 8, true, llvm::APFloat(1.0));
    };
    if (!op.getInput().getDefiningOp<FakeQuantOp>()) {
      FloatAttr clip;
      if (pact) {
        std::optional<LinearStats> stats = getLinearStats(op);
        if (!stats)
          return op.emitError() << "linear '" << getLayerName(op)
                                << "' has no calibration statistics for the "
                                   "PACT clip; run quant-xform-calibrate "
                                   "first";
        double alpha = *llvm::max_element(stats->absMax);
        if (!(alpha > 0.0) || !std::isfinite(alpha))
          return op.emitError() << "linear '" << getLayerName(op)
                                << "': the calibrated range is " << alpha
                                << " (all-zero or non-finite calibration "
                                   "data); no PACT clip can start there";
        clip = b.getF64FloatAttr(alpha);
      }
      auto fx = FakeQuantOp::create(
          b, loc, op.getInput().getType(), op.getInput(),
          scheme(pact ? Granularity::PerTensor : Granularity::PerToken), clip);
      op.getInputMutable().assign(fx.getResult());
    }
    if (!op.getWeight().getDefiningOp<FakeQuantOp>()) {
      if (!getConstantFloats(op.getWeight())) {
        op.emitWarning() << "linear '" << getLayerName(op)
                         << "' has a non-constant weight; only its input is "
                            "fake-quantized";
        return success();
      }
      auto fw =
          FakeQuantOp::create(b, loc, op.getWeight().getType(), op.getWeight(),
                              scheme(Granularity::PerChannel), FloatAttr());
      op.getWeightMutable().assign(fw.getResult());
    }
    return success();
  }
};

} // namespace
