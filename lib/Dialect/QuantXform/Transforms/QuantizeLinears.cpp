//===- QuantizeLinears.cpp - linear → dynamic_quantize + qlinear ----------===//
//
// W8A8 rewrite: weights quantized at compile time (per channel or per
// group), activations quantized at run time (per token or per tensor).
//
//===----------------------------------------------------------------------===//

#include "quant-xform/Dialect/QuantXform/Transforms/Passes.h"

#include "TransformUtils.h"
#include "WeightQuantization.h"
#include "quant-xform/Calibration/RangeChoosers.h"
#include "quant-xform/Dialect/QuantXform/IR/QuantXformAttrNames.h"
#include "quant-xform/Dialect/QuantXform/IR/QuantXformOps.h"
#include "quant-xform/Support/Matrix.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"

#include <cmath>

namespace mlir::quant_xform {
#define GEN_PASS_DEF_QUANTIZELINEARS
#include "quant-xform/Dialect/QuantXform/Transforms/Passes.h.inc"
} // namespace mlir::quant_xform

using namespace mlir;
using namespace mlir::quant_xform;

namespace {
struct QuantizeLinears
    : public quant_xform::impl::QuantizeLinearsBase<QuantizeLinears> {
  using QuantizeLinearsBase::QuantizeLinearsBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    // The options' values are checked by their parsers (clEnumValN).
    Granularity actGran = activationGranularity;
    Granularity weightGran = weightGranularity;
    bool grouped =
        weightGran == Granularity::PerGroup || actGran == Granularity::PerGroup;
    if (grouped && groupSize <= 0) {
      module.emitError() << "quant-xform-quantize-linears: group-size must "
                            "be > 0, got "
                         << groupSize.getValue();
      return signalPassFailure();
    }

    if (staticActivations && actGran != Granularity::PerTensor) {
      module.emitError() << "quant-xform-quantize-linears: "
                            "static-activations needs "
                            "activation-granularity=per_tensor";
      return signalPassFailure();
    }
    rangeMethod = range;
    if (rangeMethod != calibration::RangeMethod::MinMax &&
        (!staticActivations || asymmetric)) {
      module.emitError() << "quant-xform-quantize-linears: range="
                         << calibration::rangeMethodName(range)
                         << " needs static-activations and a symmetric "
                            "scheme";
      return signalPassFailure();
    }
    if (!(percentile > 0.0 && percentile <= 100.0)) {
      module.emitError() << "quant-xform-quantize-linears: percentile must "
                            "be in (0, 100], got "
                         << percentile.getValue();
      return signalPassFailure();
    }
    FailureOr<LayerSelector> selector = LayerSelector::create(
        module, "quant-xform-quantize-linears", layers, roles);
    if (failed(selector))
      return signalPassFailure();

    SmallVector<LinearOp> linears;
    module.walk([&](LinearOp op) {
      if (selector->selects(op))
        linears.push_back(op);
    });
    for (LinearOp op : linears)
      if (failed(rewrite(op, actGran, weightGran)))
        return signalPassFailure();
  }

  calibration::RangeMethod rangeMethod = calibration::RangeMethod::MinMax;

  /// The static per-tensor scale (and zero point) of a linear's input from
  /// its calibration statistics (min/max range).
  FailureOr<std::pair<float, int64_t>> staticRange(LinearOp op) {
    std::optional<LinearStats> stats = getLinearStats(op);
    auto dict = op->getAttrOfType<DictionaryAttr>(kStatsAttrName);
    if (!stats || !dict || !dict.get("min") || !dict.get("max"))
      return op.emitError() << "linear '" << getLayerName(op)
                            << "' has no calibration statistics for static "
                               "activation scales; run quant-xform-calibrate "
                               "first";
    double absMax = *llvm::max_element(stats->absMax);
    if (rangeMethod == calibration::RangeMethod::Ema) {
      if (stats->emaAbsMax.empty())
        return op.emitError() << "linear '" << getLayerName(op)
                              << "' has no EMA statistics for range=ema; run "
                                 "quant-xform-calibrate with ema=true";
      double t = *llvm::max_element(stats->emaAbsMax);
      if (!(t > 0.0) || !std::isfinite(t))
        return op.emitError()
               << "linear '" << getLayerName(op) << "': the EMA range is " << t
               << " (all-zero or non-finite calibration data)";
      return std::make_pair(static_cast<float>(t / 127.0), int64_t(0));
    }
    if (rangeMethod != calibration::RangeMethod::MinMax) {
      auto hist = dict.getAs<DenseIntElementsAttr>("histogram");
      auto histMax = dict.getAs<FloatAttr>("histogram_max");
      if (!hist || !histMax)
        return op.emitError() << "linear '" << getLayerName(op)
                              << "' has no calibration histogram for range="
                              << calibration::rangeMethodName(rangeMethod)
                              << "; run quant-xform-calibrate with "
                                 "histogram=true";
      calibration::Histogram h;
      for (APInt v : hist.getValues<APInt>())
        h.counts.push_back(v.getSExtValue());
      h.max = histMax.getValueAsDouble();
      calibration::RangeOptions options;
      options.percentile = percentile;
      llvm::Expected<double> t =
          calibration::chooseThreshold(h, rangeMethod, options);
      if (!t)
        return op.emitError() << "linear '" << getLayerName(op)
                              << "': " << llvm::toString(t.takeError());
      return std::make_pair(static_cast<float>(*t / 127.0), int64_t(0));
    }
    if (!asymmetric) {
      float scale = absMax > 0.0 ? static_cast<float>(absMax / 127.0) : 1.0f;
      return std::make_pair(scale, int64_t(0));
    }
    double lo = 0.0, hi = 0.0;
    for (APFloat v :
         dict.getAs<DenseFPElementsAttr>("min").getValues<APFloat>())
      lo = std::min(lo, v.convertToDouble());
    for (APFloat v :
         dict.getAs<DenseFPElementsAttr>("max").getValues<APFloat>())
      hi = std::max(hi, v.convertToDouble());
    float scale = hi > lo ? static_cast<float>((hi - lo) / 255.0) : 1.0f;
    int64_t zp = std::clamp<int64_t>(
        static_cast<int64_t>(std::nearbyint(-lo / static_cast<double>(scale))),
        0, 255);
    return std::make_pair(scale, zp);
  }

  /// Rewrites one linear; leaves it (with a warning) when its weight is not
  /// a constant, fails when the weight cannot be quantized as asked.
  LogicalResult rewrite(LinearOp op, Granularity actGran,
                        Granularity weightGran) {
    // QAT import: read through fake-quantizers.
    // Points `operand` past its 8-bit fake-quantizer, if any; returns the
    // fake-quantizer's clip.
    auto readThrough =
        [](OpOperand &operand) -> FailureOr<std::optional<double>> {
      auto fq = operand.get().getDefiningOp<FakeQuantOp>();
      if (!fq)
        return std::optional<double>();
      if (fq.getScheme().getBits() != 8)
        return fq.emitOpError() << "is a " << fq.getScheme().getBits()
                                << "-bit fake-quantizer; only 8-bit ones "
                                   "can become W8A8";
      std::optional<double> clip;
      if (std::optional<APFloat> c = fq.getClip())
        clip = c->convertToDouble();
      operand.set(fq.getInput());
      if (fq->use_empty())
        fq->erase();
      return clip;
    };
    FailureOr<std::optional<double>> inputClip =
        readThrough(op.getInputMutable());
    if (failed(inputClip) || failed(readThrough(op.getWeightMutable())))
      return failure();
    std::optional<double> pactClip = *inputClip;
    std::optional<std::vector<double>> weight =
        getConstantFloats(op.getWeight());
    if (!weight) {
      op.emitWarning() << "weight is not a constant; linear left in float";
      return success();
    }
    auto wType = cast<RankedTensorType>(op.getWeight().getType());
    auto xType = cast<RankedTensorType>(op.getInput().getType());
    if (!wType.hasStaticShape() || !xType.hasStaticShape()) {
      op.emitWarning() << "dynamic shapes are not quantized yet; linear left "
                          "in float";
      return success();
    }
    int64_t n = wType.getDimSize(0), k = wType.getDimSize(1);
    int64_t group = weightGran == Granularity::PerGroup ? groupSize : 0;
    int64_t actGroup = actGran == Granularity::PerGroup ? groupSize : 0;
    if (int64_t g = std::max(group, actGroup); g != 0 && k % g != 0)
      return op.emitError()
             << "group size " << g << " does not divide K = " << k
             << " of linear '" << getLayerName(op) << "'";

    OpBuilder b(op);
    MLIRContext *ctx = op.getContext();
    Location loc = op.getLoc();
    Type i8 = b.getIntegerType(8);
    Type f32 = b.getF32Type();

    auto [qwConst, swConst] =
        buildQuantizedWeight(b, loc, *weight, n, k, group);

    auto scheme = QuantSchemeAttr::get(ctx, actGran, actGroup, 8, !asymmetric,
                                       llvm::APFloat(1.0));
    auto qxType = RankedTensorType::get(
        xType.getShape(),
        asymmetric ? IntegerType::get(ctx, 8, IntegerType::Unsigned) : i8);
    // bf16 / f16 activations are quantized in f32 and the result comes back
    // in their type: x → extf → quantize → qlinear (f32) → truncf. The casts
    // are exact resp. one rounding, and every backend takes this form (the
    // GPU fuses them into its kernels' loads and stores).
    Value input = op.getInput(), bias = op.getBias();
    Type resultType = op.getType();
    const bool narrow = xType.getElementType().getIntOrFloatBitWidth() < 32;
    if (narrow) {
      input = arith::ExtFOp::create(b, loc, xType.clone(f32), input);
      if (bias) {
        auto biasType = cast<RankedTensorType>(bias.getType()).clone(f32);
        std::optional<std::vector<double>> values = getConstantFloats(bias);
        bias = values ? *makeFloatConstant(b, loc, biasType, *values)
                      : Value(arith::ExtFOp::create(b, loc, biasType, bias));
      }
      resultType = cast<RankedTensorType>(resultType).clone(f32);
    }
    Value qx, sx, zp;
    if (pactClip) {
      // The QAT range: clamp to ±α is what saturation at ±127 does.
      auto scalar = RankedTensorType::get({}, f32);
      sx = arith::ConstantOp::create(
          b, loc,
          DenseElementsAttr::get(scalar,
                                 static_cast<float>(*pactClip / 127.0)));
      auto pactScheme = QuantSchemeAttr::get(ctx, Granularity::PerTensor, 0, 8,
                                             true, llvm::APFloat(1.0));
      qx = QuantizeOp::create(b, loc,
                              RankedTensorType::get(xType.getShape(), i8),
                              input, sx, Value(), pactScheme);
    } else if (staticActivations) {
      FailureOr<std::pair<float, int64_t>> range = staticRange(op);
      if (failed(range))
        return failure();
      auto scalar = RankedTensorType::get({}, f32);
      sx = arith::ConstantOp::create(
          b, loc, DenseElementsAttr::get(scalar, range->first));
      if (asymmetric)
        zp = arith::ConstantOp::create(
            b, loc,
            DenseElementsAttr::get(
                RankedTensorType::get({}, qxType.getElementType()),
                APInt(8, range->second)));
      qx = QuantizeOp::create(b, loc, qxType, input, sx, zp, scheme);
    } else {
      SmallVector<int64_t> sxShape;
      if (actGran != Granularity::PerTensor)
        sxShape.assign(xType.getShape().begin(), xType.getShape().end() - 1);
      if (actGran == Granularity::PerGroup)
        sxShape.push_back(k / actGroup);
      auto sxType = RankedTensorType::get(sxShape, f32);
      SmallVector<Type> types = {qxType, sxType};
      if (asymmetric)
        types.push_back(
            RankedTensorType::get(sxShape, qxType.getElementType()));
      auto dq = DynamicQuantizeOp::create(b, loc, types, input, scheme);
      qx = dq.getResult();
      sx = dq.getScale();
      zp = dq.getZeroPoint();
    }
    auto q = QLinearOp::create(b, loc, resultType, qx, sx, zp, qwConst, swConst,
                               bias);
    copyLayerAttrs(op, q);
    Value result = q.getResult();
    if (narrow)
      result = arith::TruncFOp::create(b, loc, op.getType(), result);
    Operation *floatWeight = op.getWeight().getDefiningOp();
    Operation *narrowBias =
        narrow && op.getBias() ? op.getBias().getDefiningOp() : nullptr;
    op.replaceAllUsesWith(result);
    op.erase();
    // The float weight (and a bf16 / f16 bias now read as f32) is dead once
    // its only reader is quantized.
    for (Operation *dead : {floatWeight, narrowBias})
      if (dead && dead->use_empty())
        dead->erase();
    return success();
  }
};
} // namespace
