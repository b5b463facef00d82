//===- QuantXformToGPU.h - quant_xform ops to GPU kernels -------*- C++ -*-===//
//
// The conversion behind convert-quant-xform-qlinear-to-gpu, as patterns: a
// function of `qlinear` / per-token `dynamic_quantize` (with a fused online
// `rotate`) / LLM.int8() `mixed_linear` ops and the `arith.extf` /
// `arith.truncf` casts fused into their kernels becomes a host function on
// device memrefs that launches one generated kernel per op on one stream.
// The type converter maps tensors to memrefs; the conversion target says
// that none of those ops (and no tensor cast, no tensor signature, no
// returned value) is left; the patterns (one per op) share the function's
// launch state.
//
//===----------------------------------------------------------------------===//

#ifndef QUANT_XFORM_CONVERSION_QUANTXFORMTOGPU_QUANTXFORMTOGPU_H
#define QUANT_XFORM_CONVERSION_QUANTXFORMTOGPU_QUANTXFORMTOGPU_H

#include "quant-xform/Conversion/QuantXformToGPU/GPUTargetFacts.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Transforms/DialectConversion.h"
#include "llvm/ADT/DenseMap.h"

#include <string>

namespace mlir::quant_xform {

/// Options of the warpgroup (wgmma) kernel.
struct WgmmaOptions {
  /// Rows per block: 64 (one warpgroup) or 128 (two); 0 chooses.
  int64_t tileM = 0;
  /// Output columns per block: 32, 64, 128 or 256; 0 chooses.
  int64_t tileN = 0;
  /// Bytes of K per stage, the swizzle width: 64 or 128; 0 chooses (128).
  int64_t tileK = 0;
  /// Shared-memory buffers (≥ 3); 0 chooses (as many as fit in ~200 KB).
  int64_t stages = 0;
  /// Row blocks per raster group (1: row by row); 0 chooses.
  int64_t groupM = 0;
  /// Persistent blocks (one per SM, walking the tiles) where there is more
  /// than one wave (measured no faster than the plain grid on the H100).
  bool persistent = false;
  /// K tiles loaded by TMA (a producer warp, mbarriers) instead of
  /// cp.async by every thread; not with `persistent`.
  bool tma = false;
  /// Smallest M that takes the wgmma kernel.
  int64_t minM = 1;
};

/// What the kernel lowering may use: the pass options.
struct QuantXformToGPUOptions {
  /// The sm_90a wgmma kernel where the shape allows it (else mma.sync).
  bool wgmma = false;
  /// Its block, pipeline and raster choices.
  WgmmaOptions wgmmaOptions;
  /// The GPU the kernels are planned for (SM count, shared memory).
  GPUTargetFacts target = GPUTargetFacts::forChip("sm_90a");
  /// The rows that kernels of a run-time M (`tensor<?xK>`) are planned for:
  /// their kernel (wgmma or mma.sync) and tile; any M runs.
  int64_t plannedM = 1024;
  /// Attention on the flash attention kernel (else loop kernels).
  bool attentionKernel = true;
  /// A linear's result stored in bf16 where only a per-token quantize
  /// kernel reads it (narrowQuantizedLinearOutputs).
  bool halfQuantizeInputs = false;
};

/// The host side of one kernel function under conversion, shared by its
/// patterns: where the kernels go, the stream that orders the launches,
/// and the device buffer of each value.
struct GPULaunchState {
  /// The `gpu.module` that receives the kernels.
  gpu::GPUModuleOp kernels;
  /// The function's name, the prefix of its kernels' names.
  std::string functionName;
  /// Plain launches without a stream of their own (a function to be
  /// inlined into a caller whose GPU ops gpu-async-region chains).
  bool synchronous = false;
  /// The stream's latest token (null when synchronous).
  Value token;
  /// The device buffer of each value of the original function: its
  /// arguments, and op results that are returned (their out-parameter) or
  /// kept in scratch buffers.
  DenseMap<Value, Value> bufferFor;
  /// The out-parameters, in the order of the original results.
  SmallVector<Value> outs;
  /// Scratch buffers, freed before the return.
  SmallVector<Value> scratch;
  /// The activation fused into the GEMM of each linear result, found
  /// before the conversion changes the operands it is judged by.
  DenseMap<Value, Operation *> fusedActivation;
  /// The rotary embeddings (`quant_xform.rotary`) that each attention's
  /// kernels apply to q and to k as they load them (either may be null),
  /// found before the conversion.
  DenseMap<Operation *, std::pair<Operation *, Operation *>> fusedRotaries;
  /// The dynamic_quantize that each norm's kernel does behind it.
  DenseMap<Operation *, Operation *> fusedNormQuantize;
  /// Counters naming the quantize, GEMM, attention and norm kernels.
  unsigned nextQuantize = 0, nextGemm = 0, nextAttention = 0, nextNorm = 0;

  /// The buffer of `v` (`v` itself when it has none: an argument).
  Value bufferOf(Value v) const;
  /// A device buffer for an intermediate, allocated on the stream at `b`
  /// and freed at the exit; `dynamicSizes` are its dynamic dimensions.
  Value allocScratch(OpBuilder &b, Location loc, MemRefType type,
                     ValueRange dynamicSizes = {});
  /// The buffer of the op result `r`: its out-parameter where returned,
  /// else a scratch buffer allocated at `b` (kept for later readers).
  Value resultBuffer(OpBuilder &b, Location loc, Value r,
                     ValueRange dynamicSizes = {});
  /// A builder at the end of the kernel module.
  OpBuilder kernelBuilder();
};

/// Tensors become memrefs of the same shape (identity layout, signless
/// integers); other types stay.
void populateQuantXformToGPUTypeConversions(TypeConverter &converter);

/// What is legal once a kernel function is converted: no qlinear,
/// dynamic_quantize, rotate, mixed_linear, attention, rotary or norm op, no
/// tensor extf / truncf / reshape, a signature of memrefs without results, a
/// return without operands.
void configureQuantXformToGPUTarget(ConversionTarget &target,
                                    const TypeConverter &converter);

/// The patterns converting a kernel function (checked by the pass): the
/// signature and the return (launch plumbing), one pattern per op.
void populateQuantXformToGPUPatterns(const TypeConverter &converter,
                                     RewritePatternSet &patterns,
                                     const QuantXformToGPUOptions &options,
                                     GPULaunchState &state);

} // namespace mlir::quant_xform

#endif
