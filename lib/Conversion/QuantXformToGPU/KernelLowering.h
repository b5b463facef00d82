//===- KernelLowering.h - what the GPU kernels take (internal) --*- C++ -*-===//
//-*-===//
//
// The shared parts of convert-quant-xform-qlinear-to-gpu: which ops (and
// casts) the generated kernels fuse and take, the checks that name what
// they do not, the kernel choice of a linear, outlining, and the patterns
// of each op family (QuantizeOpsToGPU.cpp, LinearOpsToGPU.cpp,
// KernelFunctionToGPU.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef QUANT_XFORM_LIB_CONVERSION_QUANTXFORMTOGPU_KERNELLOWERING_H
#define QUANT_XFORM_LIB_CONVERSION_QUANTXFORMTOGPU_KERNELLOWERING_H

#include "GemmKernels.h"
#include "quant-xform/Conversion/QuantXformToGPU/QuantXformToGPU.h"
#include "quant-xform/Dialect/QuantXform/IR/QuantXformOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/SymbolTable.h"

namespace mlir::quant_xform::gpu_lowering {

/// The memref form of a tensor type (identity layout, signless integers).
MemRefType memrefOf(Type t);
/// The run-time rows of the host buffer `buffer` ([M, ...]) when
/// `dynamicM`, else null (a constant M).
Value runtimeRows(OpBuilder &b, Location loc, Value buffer, bool dynamicM);

/// The `arith.extf` to f32 that defines `v`, which a kernel fuses into its
/// loads, or null: of a static rank-2 bf16 / f16 tensor, or of a static
/// rank-4 f16 tensor read only by attentions (as q, or as k and v both
/// widened so).
arith::ExtFOp fusableWiden(Value v);
/// `v` seen through a fusable widening (the value a kernel reads).
Value widenedSource(Value v);
/// The element type a kernel reads for `v` (through a fusable widening).
Type kernelElementType(Value v);
/// The only user of the f32 linear result `r` when it is an `arith.truncf`
/// to bf16 / f16, which the GEMM epilogue fuses into its stores, or null.
arith::TruncFOp fusableNarrow(Value r);
/// The `arith.truncf` to bf16 / f16 that a linear's epilogue stores: the
/// fusableNarrow of the result `r` of a qlinear / mixed_linear, or of its
/// fused activation's result (not a gated pair's), or null.
arith::TruncFOp fusableEpilogueNarrow(Value r);
/// Rewrites each linear result in `f` (after the activation its epilogue
/// applies) that only a per-token quantize kernel reads (directly, or
/// through the online Hadamard rotation that kernel does) as its bf16
/// rounding widened back: the GEMM stores bf16, the quantize kernel loads
/// it (HalfQuantizeInputs.cpp).
void narrowQuantizedLinearOutputs(func::FuncOp f);
/// The `arith.truncf` to f16 that is the only use of `att`'s result, which
/// the attention kernel's stores do, or null.
arith::TruncFOp fusableAttentionNarrow(AttentionOp att);
/// The elementwise op that is the only user of the f32 linear result `r`,
/// which the GEMM epilogue applies before its stores, or null: a
/// `linalg.generic` (identity maps, a body of arith / math ops that does
/// not read its init) such as GELU with `r` its one input, or such a
/// generic or a tensor `arith.addf` / `arith.mulf` of `r` and one other
/// tensor of `r`'s type defined before `r`'s linear, which the epilogue
/// reads (SwiGLU's silu(gate)·up on the up linear, as one generic or as a
/// product with gate's result, whose silu gate's epilogue applied; the
/// residual add behind a layer's last linear, unless a norm's kernel takes
/// that add).
Operation *fusableActivation(Value r);
/// The attribute that marks the generic of a gated pair (GatedPairs.cpp):
/// the half H of the fused GEMM's tile.
constexpr StringLiteral kGatedPairsAttr = "quant_xform.gated_pairs";
/// The rows of one gate (or up) block of a gated pair's interleaved weight.
constexpr int64_t kGatedHalf = 16;
/// H of the gated-pair generic `act`, or 0 for any other op (or null).
int64_t gatedPairsHalf(Operation *act);
/// Rewrites each SwiGLU-shaped pair in `f` (two linears of one input, an
/// activation on one, their product) that the wgmma kernel takes as one
/// GEMM into one qlinear over both weights, interleaved, and a gated-pair
/// generic its epilogue computes (GatedPairs.cpp).
void fuseGatedPairs(func::FuncOp f, const QuantXformToGPUOptions &options);

/// The operands of the fused activation `act` (its generic's inputs, or
/// the add's operands).
SmallVector<Value> activationInputs(Operation *act);
/// The input of the fused activation `act` that is its linear's result
/// (the qlinear whose fusableActivation is `act`), or null.
Value fusedLinearResult(Operation *act);
/// The online Hadamard rotation that `dq` quantizes and that the quantize
/// kernel can do in front (`rotate hadamard`, not inverse, used only by
/// `dq`, K ≤ kMaxResidentK), or null.
RotateOp fusableRotate(DynamicQuantizeOp dq);

/// Checks that `dq` is a symmetric per-token quantize of a static f32
/// [M, K] argument (K a multiple of 4) into s8 values and f32 scales.
/// With `emit` false, says so without diagnostics.
LogicalResult checkQuantize(DynamicQuantizeOp dq, bool emit = true);
/// Checks that `q` (whatever its operands) is a W8A8 linear the GEMM
/// kernels handle. With `emit` false, says so without diagnostics.
LogicalResult checkQLinear(QLinearOp q, bool emit = true);
/// Checks that the fused LLM.int8() kernels take `op` (see
/// KernelFunctionChecks.cpp). With `emit` false, says so without
/// diagnostics.
LogicalResult checkFusedMixed(MixedLinearOp op,
                              const QuantXformToGPUOptions &options,
                              bool emit = true);
/// What the flash attention kernel needs and `op` lacks (empty when it
/// takes `op`).
std::string attentionKernelRefusal(AttentionOp op);
/// Checks that the flash attention kernel takes `op` (static shapes, a
/// head size that is a multiple of 16 up to 128). With `emit` false, says
/// so without diagnostics.
LogicalResult checkAttention(AttentionOp op, bool emit = true);
/// The residual add (`arith.addf` of two tensors of the norm's input type,
/// its other users after the norm) that the norm kernel fuses in front of
/// the layer_norm / rms_norm `norm`, or null.
arith::AddFOp fusableResidual(Operation *norm);
/// A per-token dynamic_quantize of the layer_norm / rms_norm `norm`'s
/// result that the norm kernel (taking `norm`) does behind it (the quantize
/// kernel's checks), or null. The norm's other users read the rows the
/// kernel then also writes.
DynamicQuantizeOp fusableNormQuantize(Operation *norm);
/// Whether `dq` is done by the kernel of the norm in front of it.
bool quantizedByNorm(DynamicQuantizeOp dq);
/// What the norm kernel needs and the layer_norm / rms_norm `op` lacks
/// (empty when it takes `op`).
std::string normKernelRefusal(Operation *op);
/// Whether every op of `f` is one that a kernel function may hold.
bool isKernelFunction(func::FuncOp f, const QuantXformToGPUOptions &options);
/// Checks that `f` is ops the kernels handle on its arguments, returning
/// their results (an error naming the first op that is not).
LogicalResult checkKernelFunction(func::FuncOp f,
                                  const QuantXformToGPUOptions &options);

/// The kernel of one linear: wgmma or mma.sync, its block and its launch.
struct LinearKernelPlan {
  gpu_kernels::GemmShape shape;
  gpu_kernels::WgmmaTile tile;
  gpu_kernels::LaunchShape launch;
  bool wgmma;
};
/// The kernel of `q` (outType not set).
LinearKernelPlan planQLinear(QLinearOp q,
                             const QuantXformToGPUOptions &options);
/// The fused LLM.int8() GEMM of `op` (outType not set).
LinearKernelPlan planMixedLinear(MixedLinearOp op,
                                 const QuantXformToGPUOptions &options);
/// Checks that each linear of the kernel function `f` fits the shared
/// memory of one H100 block (an error on the op naming the wgmma stages
/// otherwise).
LogicalResult checkSharedMemory(func::FuncOp f,
                                const QuantXformToGPUOptions &options);

/// Rewrites the checked kernel function `f` into kernel launches on
/// memrefs (its results become out-parameters), the kernels into
/// `kernels` (created at the module's start when null). With
/// `synchronous`, plain launches where no scratch buffer or copy is needed.
LogicalResult convertKernelFunction(func::FuncOp f, gpu::GPUModuleOp &kernels,
                                    SymbolTable &symbols,
                                    const QuantXformToGPUOptions &options,
                                    bool synchronous = false);

/// In a whole model, moves the f16 rounding of an attention kernel's
/// projected q, k and v into their GEMMs' stores, and rounds its output to
/// f16 where only a per-token quantize reads it (HalfAttention.cpp).
void narrowAttentionBoundaries(func::FuncOp f);

/// Outlines each op of `f` that the kernels handle into a private kernel
/// function (converted at once), called through buffers.
LogicalResult outlineKernels(func::FuncOp f, gpu::GPUModuleOp &kernels,
                             SymbolTable &symbols,
                             const QuantXformToGPUOptions &options);

/// The patterns of dynamic_quantize (with its fused rotate) and of the
/// widening arith.extf.
void populateQuantizeOpPatterns(const TypeConverter &converter,
                                RewritePatternSet &patterns,
                                GPULaunchState &state);
/// The patterns of qlinear, mixed_linear and the narrowing arith.truncf.
void populateLinearOpPatterns(const TypeConverter &converter,
                              RewritePatternSet &patterns,
                              const QuantXformToGPUOptions &options,
                              GPULaunchState &state);

/// The rotary embeddings that `op`'s kernels apply as they load q and k.
struct AttentionRotaries {
  /// q's: the rotary op of [B·S, H, D] rows that q expands, read by
  /// nothing else.
  RotaryOp query;
  /// k's, in a prefill (the half-copy kernel rotates k and stores the f32
  /// result where the function returns it): the rotary op that k expands,
  /// whose other users come after `op` in its block.
  RotaryOp keys;
};
/// The rotary ops that `op`'s kernels take on the options' GPU.
AttentionRotaries fusableRotaries(AttentionOp op,
                                  const QuantXformToGPUOptions &options);
/// The key splits of `op`'s flash kernel on the options' GPU (1: one
/// kernel; more: a second kernel and scratch buffers).
int64_t attentionSplits(AttentionOp op, const QuantXformToGPUOptions &options);
/// The patterns of attention (its flash kernel), of the rotary ops fused
/// into it and of tensor reshapes (views of their source's buffer).
void populateAttentionOpPatterns(const TypeConverter &converter,
                                 RewritePatternSet &patterns,
                                 const QuantXformToGPUOptions &options,
                                 GPULaunchState &state);

/// The patterns of layer_norm and rms_norm (the norm kernel).
void populateNormOpPatterns(const TypeConverter &converter,
                            RewritePatternSet &patterns, GPULaunchState &state);

/// Base of the patterns that share a kernel function's launch state.
template <typename Op>
struct GPULaunchPattern : public OpConversionPattern<Op> {
  GPULaunchPattern(const TypeConverter &converter, MLIRContext *ctx,
                   GPULaunchState &state)
      : OpConversionPattern<Op>(converter, ctx), state(state) {}

protected:
  GPULaunchState &state;
};

} // namespace mlir::quant_xform::gpu_lowering

#endif
