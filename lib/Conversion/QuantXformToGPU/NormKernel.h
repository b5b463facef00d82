//===- NormKernel.h - the LayerNorm / RMSNorm kernel (internal) -*- C++ -*-===//
//
// The kernel builder of `quant_xform.layer_norm` / `rms_norm` in
// convert-quant-xform-qlinear-to-gpu: one warp per row, coalesced 16-byte
// loads, the row's sums reduced by warp shuffles.
//
//===----------------------------------------------------------------------===//

#ifndef QUANT_XFORM_LIB_CONVERSION_QUANTXFORMTOGPU_NORMKERNEL_H
#define QUANT_XFORM_LIB_CONVERSION_QUANTXFORMTOGPU_NORMKERNEL_H

#include "GemmKernels.h"

namespace mlir::quant_xform::gpu_kernels {

/// One norm of x [rows, k] (f32; k a multiple of 4): LayerNorm (`center`)
/// or RMSNorm, with γ [k] and an optional β [k]. With `residual`, the norm
/// of x + r (a residual add fused in front), and with `writeSum` that sum
/// written too. With `quantize`, the normalized rows are not written but
/// quantized per token (symmetric, `clip`, [qmin, qmax]) into int8 values
/// and a scale per row, as the quantize kernel does (a dynamic_quantize
/// fused behind the norm).
struct NormShape {
  int64_t rows, k;
  double epsilon;
  bool center, beta;
  bool residual = false, writeSum = false;
  bool quantize = false;
  double clip = 1.0;
  int64_t qmin = -127, qmax = 127;
};

/// Rows of one block (a warp each).
constexpr int64_t kNormRowsPerBlock = 4;

/// Grid (⌈rows / 4⌉ blocks) and block (4 warps) of the kernel.
LaunchShape normLaunch(const NormShape &s);
/// Builds the kernel `gpu.func @name (x, [r], gamma, [beta], y, [sum])`, or
/// with `quantize` `(x, [r], gamma, [beta], q [rows, k] i8, scale [rows],
/// [sum])`, at `b`'s insertion point (inside a gpu.module).
gpu::GPUFuncOp buildNormKernel(OpBuilder &b, Location loc, StringRef name,
                               const NormShape &s);

} // namespace mlir::quant_xform::gpu_kernels

#endif
