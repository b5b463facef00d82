//===- QuantTypeInterop.cpp - !quant.uniform ↔ quant_xform quantizers -----===//
//
// quant-xform-import-quant-types: `quant.qcast` / `quant.dcast` on tensors of
// `!quant.uniform` (per layer, or per axis 0 of a rank-2 tensor) become
// `quant_xform.quantize` / `quant_xform.dequantize` with constant scales;
// `quant.scast` keeps the quantized-typed values valid for other users.
// quant-xform-export-quant-types does the reverse for quantizers with
// constant scales. Only symmetric narrow-range signed types are mapped
// (storage [-2^(b-1)+1, 2^(b-1)-1], zero point 0), which is what
// quant_xform's symmetric schemes are; anything else is reported.
//
//===----------------------------------------------------------------------===//

#include "quant-xform/Dialect/QuantXform/Transforms/Passes.h"

#include "TransformUtils.h"

#include "mlir/Dialect/Quant/IR/Quant.h"
#include "mlir/Dialect/Quant/IR/QuantTypes.h"

namespace mlir::quant_xform {
#define GEN_PASS_DEF_IMPORTQUANTTYPES
#define GEN_PASS_DEF_EXPORTQUANTTYPES
#include "quant-xform/Dialect/QuantXform/Transforms/Passes.h.inc"
} // namespace mlir::quant_xform

using namespace mlir;
using namespace mlir::quant_xform;

namespace {

/// What a `!quant.uniform` tensor type means in quant_xform terms.
struct QuantParams {
  QuantSchemeAttr scheme;
  std::vector<double> scales;
  SmallVector<int64_t> scaleShape;
  IntegerType storage;
};

/// Maps `type` (a tensor of !quant.uniform) to a symmetric scheme; emits an
/// error at `op` when it has no quant_xform equivalent.
static FailureOr<QuantParams> paramsOf(Operation *op, RankedTensorType type) {
  auto fail = [&](const Twine &why) -> FailureOr<QuantParams> {
    return op->emitError() << "cannot import " << type << ": " << why;
  };
  auto q = dyn_cast<quant::QuantizedType>(type.getElementType());
  if (!q)
    return fail("not a quantized tensor");
  unsigned bits = q.getStorageTypeIntegralWidth();
  int64_t narrow = (int64_t(1) << (bits - 1)) - 1;
  if (!q.isSigned() || q.getStorageTypeMax() != narrow ||
      q.getStorageTypeMin() != -narrow || bits < 2 || bits > 8)
    return fail("only signed narrow-range storage of 2 to 8 bits "
                "([-2^(b-1)+1, 2^(b-1)-1]) maps to a quant_xform scheme");
  if (!q.getExpressedType().isF32())
    return fail("the expressed type must be f32");
  QuantParams p;
  MLIRContext *ctx = op->getContext();
  p.storage = IntegerType::get(ctx, bits);
  if (auto layer = dyn_cast<quant::UniformQuantizedType>(q)) {
    if (layer.getZeroPoint() != 0)
      return fail("a non-zero zero point (asymmetric) is not mapped");
    p.scales = {layer.getScale()};
    p.scheme = QuantSchemeAttr::get(ctx, Granularity::PerTensor, 0, bits, true,
                                    llvm::APFloat(1.0));
    return p;
  }
  if (auto axis = dyn_cast<quant::UniformQuantizedPerAxisType>(q)) {
    if (type.getRank() != 2 || axis.getQuantizedDimension() != 0)
      return fail("per-axis types map only to axis 0 of a rank-2 tensor "
                  "(one scale per row)");
    if (llvm::any_of(axis.getZeroPoints(), [](int64_t z) { return z != 0; }))
      return fail("a non-zero zero point (asymmetric) is not mapped");
    p.scales.assign(axis.getScales().begin(), axis.getScales().end());
    p.scaleShape = {type.getDimSize(0)};
    p.scheme = QuantSchemeAttr::get(ctx, Granularity::PerChannel, 0, bits, true,
                                    llvm::APFloat(1.0));
    return p;
  }
  return fail("unsupported quantized type");
}

struct ImportQuantTypes
    : public quant_xform::impl::ImportQuantTypesBase<ImportQuantTypes> {
  void runOnOperation() override {
    SmallVector<Operation *> casts;
    getOperation().walk([&](Operation *op) {
      if (isa<quant::QuantizeCastOp, quant::DequantizeCastOp>(op))
        casts.push_back(op);
    });
    for (Operation *op : casts)
      if (failed(importCast(op)))
        return signalPassFailure();
  }

  LogicalResult importCast(Operation *op) {
    bool isQuantize = isa<quant::QuantizeCastOp>(op);
    auto quantType = dyn_cast<RankedTensorType>(
        isQuantize ? op->getResult(0).getType() : op->getOperand(0).getType());
    if (!quantType || !quantType.hasStaticShape())
      return op->emitError() << "only statically shaped tensors are imported";
    FailureOr<QuantParams> p = paramsOf(op, quantType);
    if (failed(p))
      return failure();
    OpBuilder b(op);
    Location loc = op->getLoc();
    FailureOr<Value> scale = makeFloatConstant(
        b, loc, RankedTensorType::get(p->scaleShape, b.getF32Type()),
        p->scales);
    if (failed(scale))
      return failure();
    auto intType = RankedTensorType::get(quantType.getShape(), p->storage);
    if (isQuantize) {
      Value q = QuantizeOp::create(b, loc, intType, op->getOperand(0), *scale,
                                   Value(), p->scheme);
      Value typed = quant::StorageCastOp::create(b, loc, quantType, q);
      op->replaceAllUsesWith(ValueRange{typed});
    } else {
      Value raw =
          quant::StorageCastOp::create(b, loc, intType, op->getOperand(0));
      Value x = DequantizeOp::create(b, loc, op->getResult(0).getType(), raw,
                                     *scale, Value(), p->scheme);
      op->replaceAllUsesWith(ValueRange{x});
    }
    op->erase();
    return success();
  }
};

struct ExportQuantTypes
    : public quant_xform::impl::ExportQuantTypesBase<ExportQuantTypes> {
  void runOnOperation() override {
    SmallVector<Operation *> ops;
    getOperation().walk([&](Operation *op) {
      if (isa<QuantizeOp, DequantizeOp>(op))
        ops.push_back(op);
    });
    for (Operation *op : ops)
      exportOp(op);
  }

  /// The `!quant.uniform` tensor type for an integer tensor quantized with
  /// `scheme` and the constant `scale`, or null (with a remark) when there is
  /// none.
  RankedTensorType quantTypeFor(Operation *op, RankedTensorType intType,
                                Value scale, QuantSchemeAttr scheme,
                                Value zeroPoint) {
    std::optional<std::vector<double>> scales = getConstantFloats(scale);
    auto elem = dyn_cast<IntegerType>(intType.getElementType());
    if (!scales || zeroPoint || !scheme.getSymmetric() || !elem ||
        elem.isUnsigned() || scheme.getClipRatio() != 1.0) {
      op->emitRemark() << "not exported: needs constant scales, a symmetric "
                          "scheme without clip and signed storage";
      return {};
    }
    unsigned bits = scheme.getBits();
    int64_t narrow = (int64_t(1) << (bits - 1)) - 1;
    Type f32 = Float32Type::get(&getContext());
    Type q;
    if (scheme.getGranularity() == Granularity::PerTensor) {
      q = quant::UniformQuantizedType::get(quant::QuantizationFlags::Signed,
                                           elem, f32, (*scales)[0], 0, -narrow,
                                           narrow);
    } else if (scheme.getGranularity() == Granularity::PerChannel &&
               intType.getRank() == 2) {
      SmallVector<int64_t> zeros(scales->size(), 0);
      q = quant::UniformQuantizedPerAxisType::get(
          quant::QuantizationFlags::Signed, elem, f32, *scales, zeros, 0,
          -narrow, narrow);
    } else {
      op->emitRemark() << "not exported: only per-tensor and per-row scales "
                          "have a !quant.uniform equivalent";
      return {};
    }
    return RankedTensorType::get(intType.getShape(), q);
  }

  void exportOp(Operation *op) {
    OpBuilder b(op);
    Location loc = op->getLoc();
    if (auto quantize = dyn_cast<QuantizeOp>(op)) {
      RankedTensorType qType =
          quantTypeFor(op, quantize.getType(), quantize.getScale(),
                       quantize.getScheme(), quantize.getZeroPoint());
      if (!qType)
        return;
      Value typed =
          quant::QuantizeCastOp::create(b, loc, qType, quantize.getInput());
      Value raw =
          quant::StorageCastOp::create(b, loc, quantize.getType(), typed);
      quantize.replaceAllUsesWith(raw);
      quantize.erase();
      return;
    }
    auto dequantize = cast<DequantizeOp>(op);
    auto intType = cast<RankedTensorType>(dequantize.getInput().getType());
    RankedTensorType qType =
        quantTypeFor(op, intType, dequantize.getScale(), dequantize.getScheme(),
                     dequantize.getZeroPoint());
    if (!qType)
      return;
    Value typed =
        quant::StorageCastOp::create(b, loc, qType, dequantize.getInput());
    Value x =
        quant::DequantizeCastOp::create(b, loc, dequantize.getType(), typed);
    dequantize.replaceAllUsesWith(x);
    dequantize.erase();
  }
};

} // namespace
