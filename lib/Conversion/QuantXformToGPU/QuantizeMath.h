//===- QuantizeMath.h - a row's symmetric int8 quantize (internal) -*- C++
//-*-===//
//
// The arithmetic of the per-token quantize that the GPU kernels share
// (the quantize kernel, the norm kernel with its quantize fused): a row's
// scale from its maximum |x| exactly as the reference evaluator computes
// it, and values quantized by the IEEE quotient (see QuantizeKernel.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef QUANT_XFORM_LIB_CONVERSION_QUANTXFORMTOGPU_QUANTIZEMATH_H
#define QUANT_XFORM_LIB_CONVERSION_QUANTXFORMTOGPU_QUANTIZEMATH_H

#include "mlir/IR/Builders.h"

namespace mlir::quant_xform::gpu_kernels {

/// A row's quantizer: its scale s, −s, RN(1/s), whether the row maximum
/// is finite, whether the reciprocal path applies (s in [2^-90, 2^90] and
/// finite), and the bounds.
struct RowQuantizer {
  Value scale, negScale, recip, finite, fast;
  int64_t qmin, qmax;
};

/// The quantizer of a row whose maximum |x| is `absmax` (f32):
/// s = f32(f64(absmax)·clip / qmax), 1 for a zero or non-finite maximum.
RowQuantizer rowQuantizer(OpBuilder &b, Location loc, Value absmax, double clip,
                          int64_t qmin, int64_t qmax);

/// clamp(round_half_even(v / s), qmin, qmax), NaN → 0, of the f32 vector
/// `v`, as f32 sums q + 1.5·2²³ (whose low byte is q as an int8): with
/// `fast`, the quotient by the reciprocal and two fma corrections, else a
/// division per value.
Value quantizedSums(OpBuilder &b, Location loc, Value v, const RowQuantizer &q,
                    bool fast);

/// The int8 values of sums from quantizedSums (their low bytes), for a
/// vector store.
Value sumsToInt8(OpBuilder &b, Location loc, Value sums);

/// The constant 1.5·2²³ of quantizedSums.
Value roundingMagic(OpBuilder &b, Location loc);

} // namespace mlir::quant_xform::gpu_kernels

#endif
