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
/// keys, kvHeads, headDim] in f32 (or f16 where the flags say), an optional
/// additive mask [batch, keys].
struct AttentionShape {
  int64_t batch, queries, heads, headDim, keys, kvHeads;
  double scale;
  bool causal, mask;
  /// Parts the keys are split into (flash-decoding): each block walks one
  /// part and writes its unnormalized output with its row maximum and sum;
  /// a second kernel combines the parts. 1: one pass, one kernel.
  int64_t splits = 1;
  /// k and v arrive in f16 (copied from f32 by the half-copy kernel first,
  /// or f16 already: the op reads an `arith.extf` of f16 k and v), so that
  /// the kernel loads each key tile with `cp.async` while it computes on
  /// the one before.
  bool halfKeys = false;
  /// q arrives in f16 (the op reads an `arith.extf` of f16 q): loaded as
  /// the f16 A fragments it becomes anyway (exact).
  bool halfQuery = false;
  /// The output is stored in f16 (the op's result is only rounded to f16
  /// by an `arith.truncf`, nearest even, which the stores do), by the
  /// kernel or, with splits, by the combine kernel.
  bool halfOutput = false;
  /// q arrives before its rotary embedding (`quant_xform.rotary` of q as
  /// [batch · queries, heads, headDim] rows): the kernel takes cos and sin
  /// [batch · queries, headDim / 2] after the mask and rotates q as it
  /// loads it.
  bool rotaryQuery = false;
};

/// Query rows of one block (4 warps of 16 rows) and keys of one step.
constexpr int64_t kAttentionBlockRows = 64;
constexpr int64_t kAttentionKeyTile = 64;
/// The head sizes the kernel takes: multiples of 16 up to this (the
/// output accumulators live in registers).
constexpr int64_t kAttentionMaxHeadDim = 128;

/// The shape of the attention `op` (static shapes, checked by the caller).
AttentionShape attentionShape(AttentionOp op);
/// The key splits for `s` on a GPU of `smCount` SMs: more than one where
/// the grid of query blocks × heads × batch fills less than half of the
/// SMs and the keys span 4 tiles or more (a decode step against a cache);
/// never for a causal attention.
int64_t chooseAttentionSplits(const AttentionShape &s, int64_t smCount);
/// Whether `s` copies k and v to f16 first (AttentionShape::halfKeys):
/// where each key tile is read by more than one block of query rows (a
/// prefill), never with splits (a decode step: the copy would read the
/// whole cache once more).
bool attentionWantsHalfKeys(const AttentionShape &s);
/// The type of the f16 copies of k and v.
MemRefType attentionHalfKeysType(OpBuilder &b, const AttentionShape &s);
/// What the half-copy kernel does to k besides rounding it.
enum class HalfCopyRotary {
  /// k is copied as it is.
  None,
  /// k arrives before its rotary embedding: the kernel takes cos and sin
  /// [batch · keys, headDim / 2] after v and rotates k (f32, RotaryOp's
  /// order) before rounding it.
  Rotate,
  /// As Rotate, and the rotated f32 k is also stored into a last argument
  /// of k's shape (the rotary op's result, which the function returns).
  RotateAndStore,
};
/// Builds `gpu.func @name (k, v, [cos, sin], kHalf, vHalf, [kRotated])`: k
/// and v (f32, `type`'s shape [batch, keys, kvHeads, headDim]) rounded to
/// f16, four elements a thread.
gpu::GPUFuncOp
buildHalfCopyKernel(OpBuilder &b, Location loc, StringRef name, MemRefType type,
                    HalfCopyRotary rotary = HalfCopyRotary::None);
/// The cos / sin tables of a rotary embedding of `rows` tokens of head size
/// `headDim`.
MemRefType rotaryTableType(OpBuilder &b, int64_t rows, int64_t headDim);
/// Grid and block of the half-copy kernel of `type`.
LaunchShape halfCopyLaunch(MemRefType type);
/// Key tiles of one split.
int64_t attentionTilesPerSplit(const AttentionShape &s);
/// Grid ((query blocks · splits) × heads × batch), block and dynamic shared
/// memory (two stages of k and v tiles) of the kernel.
LaunchShape attentionLaunch(const AttentionShape &s);
/// Builds the kernel at `b`'s insertion point (inside a gpu.module):
/// `gpu.func @name (q, k, v, [mask], [cos, sin], out)`, or with splits
/// `(q, k, v, [mask], [cos, sin], parts [splits, B, S, H, D], stats
/// [splits, B, S, H, 2])`: each split's unnormalized output and its rows'
/// (maximum, sum); the maximum is of the scores times log₂ e (the kernel
/// exponentiates with exp2).
gpu::GPUFuncOp buildAttentionKernel(OpBuilder &b, Location loc, StringRef name,
                                    const AttentionShape &s);
/// The types of the split kernel's parts and stats buffers.
MemRefType attentionPartsType(OpBuilder &b, const AttentionShape &s);
MemRefType attentionStatsType(OpBuilder &b, const AttentionShape &s);
/// Builds the kernel combining the splits, `gpu.func @name (parts, stats,
/// out)`: out = Σ_i e^(m_i − M)·O_i / Σ_i e^(m_i − M)·l_i per row.
gpu::GPUFuncOp buildAttentionCombineKernel(OpBuilder &b, Location loc,
                                           StringRef name,
                                           const AttentionShape &s);
/// Grid (queries × heads × batch) and block (D threads) of the combine.
LaunchShape attentionCombineLaunch(const AttentionShape &s);

} // namespace mlir::quant_xform::gpu_kernels

#endif
