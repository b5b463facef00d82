//===- SignlessIntegers.cpp - integer tensors made signless --------------===//
//
// Asymmetric quantization produces `ui8` tensors; bufferization and the
// LLVM conversions take only signless integers. This dialect conversion
// retypes them (the bits are the same) with a TypeConverter: function
// signatures, calls and returns through upstream's patterns, constants by
// bitcasting their attribute, and any other op by rebuilding it with the
// converted types (its regions moved and their block arguments retyped).
//
//===----------------------------------------------------------------------===//

#include "quant-xform/Conversion/QuantXformToLinalg/QuantXformToLinalg.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Func/Transforms/FuncConversions.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Interfaces/FunctionInterfaces.h"

using namespace mlir;
using namespace mlir::quant_xform;

namespace {

/// `arith.constant` of an unsigned tensor: the same bits, signless.
struct RetypeConstant : OpConversionPattern<arith::ConstantOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(arith::ConstantOp op, OpAdaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Type type = getTypeConverter()->convertType(op.getType());
    auto dense = dyn_cast<DenseIntElementsAttr>(op.getValue());
    if (!type || !dense)
      return failure();
    auto shaped = cast<ShapedType>(type);
    rewriter.replaceOpWithNewOp<arith::ConstantOp>(
        op, type, dense.bitcast(shaped.getElementType()));
    return success();
  }
};

/// `tensor.bitcast` between types that become equal: its source.
struct DropNoOpBitcast : OpConversionPattern<tensor::BitcastOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(tensor::BitcastOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Type type = getTypeConverter()->convertType(op.getType());
    if (!type || adaptor.getSource().getType() != type)
      return failure();
    rewriter.replaceOp(op, adaptor.getSource());
    return success();
  }
};

/// Any other op: rebuilt with converted operand and result types, its
/// regions moved over with their block arguments retyped.
struct RetypeAnyOp : ConversionPattern {
  RetypeAnyOp(const TypeConverter &converter, MLIRContext *ctx)
      : ConversionPattern(converter, MatchAnyOpTypeTag(), /*benefit=*/0, ctx) {}
  LogicalResult
  matchAndRewrite(Operation *op, ArrayRef<Value> operands,
                  ConversionPatternRewriter &rewriter) const override {
    if (isa<FunctionOpInterface, arith::ConstantOp, tensor::BitcastOp>(op))
      return failure();
    SmallVector<Type> results;
    if (failed(getTypeConverter()->convertTypes(op->getResultTypes(), results)))
      return failure();
    OperationState state(op->getLoc(), op->getName(), operands, results,
                         op->getAttrs(), op->getSuccessors());
    for (Region &region : op->getRegions()) {
      Region *moved = state.addRegion();
      rewriter.inlineRegionBefore(region, *moved, moved->end());
      if (failed(rewriter.convertRegionTypes(moved, *getTypeConverter())))
        return failure();
    }
    rewriter.replaceOp(op, rewriter.create(state)->getResults());
    return success();
  }
};

/// Whether every block argument in `op`'s regions has a legal type.
bool regionsLegal(Operation *op, const TypeConverter &converter) {
  for (Region &region : op->getRegions())
    if (!converter.isLegal(&region))
      return false;
  return true;
}

} // namespace

void mlir::quant_xform::populateSignlessIntegerTypeConversions(
    TypeConverter &converter) {
  converter.addConversion([](Type type) { return type; });
  converter.addConversion([](IntegerType type) -> Type {
    return IntegerType::get(type.getContext(), type.getWidth());
  });
  converter.addConversion([&converter](RankedTensorType type) -> Type {
    Type elem = converter.convertType(type.getElementType());
    return elem ? type.clone(elem) : Type();
  });
}

void mlir::quant_xform::populateSignlessIntegerPatterns(
    const TypeConverter &converter, RewritePatternSet &patterns) {
  MLIRContext *ctx = patterns.getContext();
  populateFunctionOpInterfaceTypeConversionPattern<func::FuncOp>(patterns,
                                                                 converter);
  populateCallOpTypeConversionPattern(patterns, converter);
  populateReturnOpTypeConversionPattern(patterns, converter);
  patterns.add<RetypeConstant, DropNoOpBitcast>(converter, ctx);
  patterns.add<RetypeAnyOp>(converter, ctx);
}

void mlir::quant_xform::configureSignlessIntegerTarget(
    ConversionTarget &target, const TypeConverter &converter) {
  target.addDynamicallyLegalOp<func::FuncOp>([&converter](func::FuncOp f) {
    return converter.isSignatureLegal(f.getFunctionType()) &&
           converter.isLegal(&f.getBody());
  });
  target.addDynamicallyLegalOp<tensor::BitcastOp>(
      [&converter](tensor::BitcastOp op) {
        return converter.isLegal(op.getOperation()) &&
               op.getSource().getType() != op.getType();
      });
  target.markUnknownOpDynamicallyLegal([&converter](Operation *op) {
    return converter.isLegal(op) && regionsLegal(op, converter);
  });
}
