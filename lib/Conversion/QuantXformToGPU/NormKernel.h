//===- NormKernel.h - the LayerNorm / RMSNorm kernel (internal) -*- C++ -*-===//
//
// The kernel builder of `quant_xform.layer_norm` / `rms_norm` in
// convert-quant-xform-qlinear-to-gpu: a row read once into registers by
// one to eight warps, coalesced 16-byte loads, the row's sums reduced by
// warp shuffles (and across the row's warps through shared memory).
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
  /// With `quantize`: the normalized rows are stored too (another op reads
  /// them), as the last argument but the sum.
  bool writeNormalized = false;
  double clip = 1.0;
  int64_t qmin = -127, qmax = 127;
};

/// The largest K the kernel takes: a lane holds at most 32 of a row's
/// 16-byte pieces in registers (8 warps a row).
constexpr int64_t kMaxNormK = 32768;

/// How the kernel spreads rows over threads: `warpsPerRow` warps read one
/// row (1 for K ≤ 512, then up to 8: a lane holds about four 16-byte
/// pieces), `rowsPerBlock` rows a block (4 where a warp takes a row, else
/// 1), `pieces` 16-byte pieces a lane (the last ones masked where K is
/// not a multiple of 128 · warpsPerRow · pieces).
struct NormLayout {
  int64_t warpsPerRow, rowsPerBlock, pieces;
};
NormLayout normLayout(const NormShape &s);

/// Grid (⌈rows / rowsPerBlock⌉ blocks) and block (32 · warpsPerRow ·
/// rowsPerBlock threads) of the kernel.
LaunchShape normLaunch(const NormShape &s);
/// Builds the kernel `gpu.func @name (x, [r], gamma, [beta], y, [sum])`, or
/// with `quantize` `(x, [r], gamma, [beta], q [rows, k] i8, scale [rows],
/// [sum])`, at `b`'s insertion point (inside a gpu.module). K ≤ kMaxNormK.
gpu::GPUFuncOp buildNormKernel(OpBuilder &b, Location loc, StringRef name,
                               const NormShape &s);

} // namespace mlir::quant_xform::gpu_kernels

#endif
