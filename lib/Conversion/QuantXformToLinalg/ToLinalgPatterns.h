//===- ToLinalgPatterns.h - shared parts of the CPU lowering ----*- C++ -*-===//
//
// What the pattern files of convert-quant-xform-to-linalg share (internal):
// the base of the patterns that lower one op to a value, the rows of an
// input, and the pattern sets kept in their own files.
//
//===----------------------------------------------------------------------===//

#ifndef QUANT_XFORM_LIB_CONVERSION_QUANTXFORMTOLINALG_TOLINALGPATTERNS_H
#define QUANT_XFORM_LIB_CONVERSION_QUANTXFORMTOLINALG_TOLINALGPATTERNS_H

#include "quant-xform/Conversion/QuantXformToLinalg/LinalgBuilders.h"

#include "mlir/Transforms/DialectConversion.h"

namespace mlir::quant_xform::lowering {

/// Base for the patterns: a failure to lower is an error at the op.
template <typename Op> struct LowerOp : OpConversionPattern<Op> {
  using OpConversionPattern<Op>::OpConversionPattern;
  using OpAdaptor = typename Op::Adaptor;
  LogicalResult
  matchAndRewrite(Op op, OpAdaptor,
                  ConversionPatternRewriter &rewriter) const override {
    FailureOr<Value> result = lower(op, rewriter);
    if (failed(result))
      return failure();
    rewriter.replaceOp(op, *result);
    return success();
  }
  virtual FailureOr<Value> lower(Op op, OpBuilder &b) const = 0;
};

/// `x` as `[M, K]` rows; an error at `op` when its shape is not static.
FailureOr<Rows> rowsOf(Operation *op, OpBuilder &b, Value x);

/// `[M, N]` initialized with a broadcast bias `[N]`, or zeros.
Value biasInit(OpBuilder &b, Location loc, Value bias, int64_t m, int64_t n,
               Type elem);

/// A tensor of unsigned integers viewed as signless (arith works on those).
Value signless(OpBuilder &b, Location loc, Value v);

/// The reverse of `signless`: reinterpret `v` as `type`.
Value reinterpret(OpBuilder &b, Location loc, Value v, RankedTensorType type);

/// Reshapes `[M]` (or `[]`) per-row values to `type` (the op's declared
/// scale / zero-point type).
Value reshapeTo(OpBuilder &b, Location loc, Value v, RankedTensorType type);

/// The patterns of dynamic_quantize, quantize and dequantize
/// (QuantizersToLinalg.cpp).
void populateQuantizersToLinalgPatterns(RewritePatternSet &patterns);

/// The patterns of the transforms (rotate, smooth, affine, batch_norm)
/// and of the norms (TransformsToLinalg.cpp); `cacheBlockedRotations`
/// blocks the Hadamard butterflies by row.
void populateTransformsToLinalgPatterns(RewritePatternSet &patterns,
                                        bool cacheBlockedRotations);

} // namespace mlir::quant_xform::lowering

#endif
