//===- AttentionKernel.h - the flash attention kernel (internal) -*- C++
//-*-===//
//
// The kernel builder of `quant_xform.attention` in
// convert-quant-xform-qlinear-to-gpu: one `gpu.func` computing softmax
// attention in one pass over the keys (online softmax), q·kᵀ and p·v on
// f16 tensor cores with f32 accumulators.
//
//===----------------------------------------------------------------------===//

#ifndef QUANT_XFORM_LIB_CONVERSION_QUANTXFORMTOGPU_ATTENTIONKERNEL_H
#define QUANT_XFORM_LIB_CONVERSION_QUANTXFORMTOGPU_ATTENTIONKERNEL_H

#include "GemmKernels.h"

namespace mlir::quant_xform::gpu_kernels {

/// One attention: q [batch, queries, heads, headDim] and k, v [batch,
/// keys, kvHeads, headDim] in f32, an optional additive mask [batch, keys].
struct AttentionShape {
  int64_t batch, queries, heads, headDim, keys, kvHeads;
  double scale;
  bool causal, mask;
};

/// Query rows of one block (4 warps of 16 rows) and keys of one step.
constexpr int64_t kAttentionBlockRows = 64;
constexpr int64_t kAttentionKeyTile = 64;
/// The head sizes the kernel takes: multiples of 16 up to this (the
/// output accumulators live in registers).
constexpr int64_t kAttentionMaxHeadDim = 128;

/// The shape of the attention `op` (static shapes, checked by the caller).
AttentionShape attentionShape(AttentionOp op);
/// Grid (query blocks × heads × batch) and block of the kernel.
LaunchShape attentionLaunch(const AttentionShape &s);
/// Builds the kernel `gpu.func @name (q, k, v, [mask], out)` at `b`'s
/// insertion point (inside a gpu.module).
gpu::GPUFuncOp buildAttentionKernel(OpBuilder &b, Location loc, StringRef name,
                                    const AttentionShape &s);

} // namespace mlir::quant_xform::gpu_kernels

#endif
