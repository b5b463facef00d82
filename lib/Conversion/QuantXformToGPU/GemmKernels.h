//===- GemmKernels.h - generated int8 GEMM kernels (internal) ---*- C++ -*-===//
//
// The kernel builders of convert-quant-xform-qlinear-to-gpu: each builds a
// `gpu.func` computing one W8A8 linear y = sx·(sw·(qx·wᵀ)) + bias on device
// memrefs, and says how to launch it.
//
//===----------------------------------------------------------------------===//

#ifndef QUANT_XFORM_LIB_CONVERSION_QUANTXFORMTOGPU_GEMMKERNELS_H
#define QUANT_XFORM_LIB_CONVERSION_QUANTXFORMTOGPU_GEMMKERNELS_H

#include "quant-xform/Conversion/QuantXformToGPU/QuantXformToGPU.h"
#include "quant-xform/Dialect/QuantXform/IR/QuantXformOps.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/Builders.h"

#include <vector>

namespace mlir::quant_xform::gpu_kernels {

/// Shapes and options of one generated kernel.
struct GemmShape {
  /// M is the rows the kernel is planned for; with `dynamicM`, the rows
  /// are a run-time value (the memrefs' first dimension) and `m` only
  /// chooses the kernel and its tile.
  int64_t m, n, k;
  bool perTensorX, perTensorW, bias;
  /// LLM.int8() outlier columns added in the epilogue (wgmma kernel only):
  /// y += xo·woᵀ with xo [M, outliers] and wo [N, outliers] in f32; 0 for
  /// none.
  int64_t outliers = 0;
  /// Element type of y: f32 (also when null), bf16 or f16; the epilogue
  /// computes in f32 and rounds to nearest even on the store (an
  /// `arith.truncf` of the f32 result fused into the kernel).
  Type outType = {};
  /// M known only at run time (see `m`).
  bool dynamicM = false;
  /// An elementwise `linalg.generic` (one f32 in, f32 out, a body of
  /// arith / math ops: an activation such as GELU) applied to each value
  /// in the epilogue before its store; null for none.
  Operation *activation = nullptr;
  /// The activation's input that is the linear's value (0 or 1), and
  /// whether it has a second one: an [M, N] f32 operand of the kernel
  /// (after the outlier operands, before y) read at each value's place.
  unsigned activationInput = 0;
  bool activationOperand = false;
  /// A gated pair (GatedPairs.cpp): the weight rows come in blocks of
  /// `gatedHalf` gate rows and then the `gatedHalf` up rows of the same
  /// outputs (a tile N a multiple of 2·gatedHalf); the epilogue stores
  /// activation(gate, up) into y [M, N / 2] (f32, whole tiles). 0: none.
  int64_t gatedHalf = 0;
};

/// The kernel argument of GemmShape::activationOperand.
unsigned activationOperandArgument(const GemmShape &s);

/// The memref dimension of M for a kernel planned for `m` rows: `m`, or
/// dynamic with `dynamicM`.
inline int64_t memrefRows(int64_t m, bool dynamicM) {
  return dynamicM ? ShapedType::kDynamic : m;
}

/// The rows of a kernel function `fn` whose argument 0 is [M, ...]: the
/// constant `m`, or with `dynamicM` the argument's first dimension.
Value kernelRows(OpBuilder &b, Location loc, gpu::GPUFuncOp fn, int64_t m,
                 bool dynamicM);

/// Most outlier columns the fused LLM.int8() path takes (the quantize
/// kernel gathers them, the GEMM epilogue adds them); more go through
/// splitMixedLinear().
constexpr int64_t kMaxFusedOutliers = 64;

/// Grid, block and dynamic shared memory of a launch.
struct LaunchShape {
  int64_t gridX, gridY, threads, sharedBytes;
  /// The grid dimension that walks the rows (0: x, 1: y) and the rows of
  /// one step along it: with a run-time M, that dimension of the grid is
  /// ⌈M / rowsPerBlock⌉, computed on the host.
  int rowGridDim = 1;
  int64_t rowsPerBlock = 1;
  /// The grid's third dimension (the batch of the attention kernel).
  int64_t gridZ = 1;
};

/// Emits an asynchronous `gpu.launch_func` of `kernel` with `launch`'s grid,
/// block and dynamic shared memory (none when 0) at `b`'s insertion point,
/// after `token` (on its stream); returns the launch's token. With a null
/// `token`, a synchronous launch (for `gpu-async-region` to chain later)
/// and a null result. With `rows` (a run-time M, an index on the host),
/// the grid's row dimension is ⌈rows / launch.rowsPerBlock⌉.
Value emitLaunch(OpBuilder &b, Location loc, gpu::GPUFuncOp kernel,
                 const LaunchShape &launch, ValueRange operands, Value token,
                 Value rows = Value());

/// The kernel's arguments: `(qx [M,K] s8, sx, w [N,K] s8, sw, [bias],
/// [xo [M,O] f32, wo [N,O] f32], y [M,N] outType)`.
SmallVector<Type> kernelArgumentTypes(OpBuilder &b, const GemmShape &s);

/// Creates `gpu.func @name` (a kernel) with the arguments above.
gpu::GPUFuncOp createKernelFunc(OpBuilder &b, Location loc, StringRef name,
                                const GemmShape &s);

/// Where a GEMM kernel's epilogue emits: the builder (at its insertion
/// point), the location, the kernel and its shape; passed by value.
struct KernelSite {
  OpBuilder &b;
  Location loc;
  gpu::GPUFuncOp fn;
  const GemmShape &s;
};

/// The row and column of an output element (of the first of a pair).
struct OutputIndex {
  Value row, col;
};

/// The epilogue's per-row value: sx[row].
struct EpilogueRow {
  Value scale;
};
/// The epilogue's per-column values: sw[col] and bias[col] (null without).
struct EpilogueColumn {
  Value scale, bias;
};

/// Loads sx[min(row, M − 1)] (or the per-tensor scale).
EpilogueRow loadRowScale(KernelSite k, Value row);
/// Loads sw and bias at min(col, N − 1).
EpilogueColumn loadColumnScales(KernelSite k, Value col);

/// `sx·(sw·float(acc)) + bias` (the evaluator's order) in f32.
Value dequantizeValue(OpBuilder &b, Location loc, Value acc,
                      const EpilogueRow &rowValues,
                      const EpilogueColumn &colValues);

/// `activation`'s body (GemmShape::activation) applied to `v` (and to
/// `other`, its second input's value, where it has one), or `v`.
Value applyActivation(OpBuilder &b, Location loc, Operation *activation,
                      Value v, Value other = Value(), unsigned linearInput = 0);

/// Stores the f32 `v` to y[at] (rounded to y's element type); with
/// `checked`, only where row < M and col < N.
void storeValue(KernelSite k, OutputIndex at, Value v, bool checked);

/// Stores the f32 pair (v0, v1) to y[row, col], y[row, col + 1] (rounded to
/// y's element type) in one store of two elements: no masking (both in
/// range), col even and N even. With `dest`, to that 2-D memref of y's
/// element type instead (a staging buffer in shared memory; not with an
/// activation operand, which is read at `at`).
/// `operandPair`: the activation operand's two values at `at`, loaded
/// ahead by loadActivationOperandPair (else loaded here).
void storeValuePair(KernelSite k, OutputIndex at, Value v0, Value v1,
                    Value dest = Value(), Value operandPair = Value());
/// The activation operand's two values at `at` (a vector<2xf32>; `at` in
/// range, col even), for a store of a pair.
Value loadActivationOperandPair(KernelSite k, OutputIndex at);

/// Stores `sx·(sw·float(acc)) + bias` (the evaluator's order) to y[at];
/// with `checked`, only where row < M and col < N.
void storeDequantized(KernelSite k, OutputIndex at, Value acc,
                      const EpilogueRow &rowValues,
                      const EpilogueColumn &colValues, bool checked);

/// `mma.sync` m16n8k32 kernel (sm_80+): operands straight from global
/// memory; any M, N; K a multiple of 4.
gpu::GPUFuncOp buildMmaSyncKernel(OpBuilder &b, Location loc, StringRef name,
                                  const GemmShape &s);
LaunchShape mmaSyncLaunch(const GemmShape &s);

/// A resolved wgmma block shape.
struct WgmmaTile {
  int64_t warpgroups; ///< 1 or 2 (64 rows each)
  int64_t tileN;      ///< columns per block (wgmma n)
  int64_t tileK;      ///< bytes of K per stage (64 or 128)
  int64_t stages;     ///< shared-memory buffers (≥ 3)
  /// Row blocks per raster group: consecutive blocks walk down groupM row
  /// blocks of one column block before the next column block, so that the
  /// blocks in flight share their A and B tiles in L2 (1: row by row).
  int64_t groupM = 1;
  /// One block per SM (at most) walks the tiles p, p + grid, ...: the
  /// first K tiles of its next output tile are copied while it runs the
  /// epilogue of the current one (the epilogue operands double-buffered).
  bool persistent = false;
  /// A producer warp after the warpgroups loads each K tile with two TMA
  /// copies (A and B boxes, swizzled, zero past the edges) that complete on
  /// the stage's "full" mbarrier; the warpgroups release a stage on its
  /// "empty" mbarrier once their wgmmas have read it. The kernel then takes
  /// two tensor maps (tensorMapType()) before y.
  bool tma = false;
  /// A persistent grid's blocks: one per SM, at most one per tile.
  int64_t persistentBlocks = 0;
  int64_t rows() const { return 64 * warpgroups; }
};

/// Whether the wgmma kernel handles `s` (K a multiple of 16 for the 16-byte
/// cp.async, M at least `minM`).
bool wgmmaApplies(const GemmShape &s, const WgmmaOptions &o);

/// The block shape for `s`: the given one, or of 128 × 256, 128 × 192,
/// 128 × 128, 64 × 192, 64 × 128, 64 × 64 and 64 × 32 the one whose waves
/// of one block per SM of `target` take the least modelled time (waves ×
/// rows × (columns + a fixed overhead); the larger tile on a tie); as many
/// stages as fit in ~200 KB and the target's shared memory per block
/// (≤ 16).
WgmmaTile chooseWgmmaTile(const GemmShape &s, const WgmmaOptions &o,
                          const GPUTargetFacts &target);

/// sm_90a kernel: 1 or 2 warpgroups × 64 rows per block, tiles of 128
/// bytes of K staged in shared memory by `cp.async` (multistage, 128-byte
/// swizzle), `wgmma.mma_async` s8 reading them through matrix descriptors.
gpu::GPUFuncOp buildWgmmaKernel(OpBuilder &b, Location loc, StringRef name,
                                const GemmShape &s, const WgmmaTile &t);
LaunchShape wgmmaLaunch(const GemmShape &s, const WgmmaTile &t);
/// Output tiles (blocks of the non-persistent grid) of `t` on `s`.
int64_t tileCount(const GemmShape &s, const WgmmaTile &t);

/// The host-side value of a CUtensorMap, passed by value to a TMA kernel:
/// `!llvm.array<16 x i64>` (128 bytes). In the kernel, the argument is
/// turned into its address by an `unrealized_conversion_cast` to
/// `!llvm.ptr` that quant-xform-gpu-tensor-map-args resolves after
/// convert-gpu-to-nvvm (a byval, 64-byte aligned, grid-constant
/// parameter).
Type tensorMapType(MLIRContext *ctx);

/// The argument attribute of a TMA kernel's tensor-map argument: [source,
/// box rows, box bytes], where `source` is the kernel argument (an int8
/// matrix) that the map describes. Launches pass a placeholder
/// (`llvm.mlir.poison`) for it; quant-xform-gpu-tensor-maps replaces that
/// by the map made on the host right before the launch (after
/// gpu-async-region, to which the runtime call would be a host-side
/// effect that synchronizes the stream).
constexpr StringLiteral kTensorMapAttrName = "quant_xform.tensor_map";

/// The global of a gpu.module whose kernels wait for the grids they depend
/// on (quant-xform-gpu-dependent-launch): the runtime launches them with
/// programmatic stream serialization when it finds it.
constexpr StringLiteral kDependentLaunchMarker = "qx_dependent_launch";

/// A symmetric per-token dynamic quantize of an f32 [M, K] input.
struct QuantizeShape {
  int64_t m = 0, k = 0;
  double clip = 1.0;
  int64_t qmin = -127, qmax = 127;
  /// With an online Hadamard rotation in front (`rotate hadamard`, not
  /// inverse): its block B (K & −K) and the column factors sign_k/√B in
  /// f32; 0 and empty for none.
  int64_t hadamardBlock = 0;
  std::vector<float> hadamardScale;
  /// LLM.int8() static outlier columns (strictly increasing; at most
  /// kMaxFusedOutliers): quantized as zeros, and gathered into a fourth
  /// argument xo [M, |columns|] f32 in this order. Empty for none.
  std::vector<int64_t> outlierColumns;
  /// Element type of x: f32 (also when null), bf16 or f16, widened to f32
  /// exactly on load (an `arith.extf` in front of the quantize fused into
  /// the kernel); everything after the load is the f32 kernel.
  Type inputType = {};
  /// M known only at run time (the grid is one block per row).
  bool dynamicM = false;
};

/// Most K the quantize kernel keeps in registers (16 groups of 4 floats
/// per thread); a Hadamard rotation in front needs that.
constexpr int64_t kMaxResidentK = 16 * 1024;

/// `gpu.func @name(x [M,K] inputType, q [M,K] s8, s [M] f32[, xo [M,O]
/// f32])`:
/// one block per row (QuantizeKernel.cpp); K a multiple of 4. With a
/// Hadamard rotation, its column factors go to a `memref.global` next to
/// the kernel; with outlier columns, the keep mask and the column indices
/// do.
gpu::GPUFuncOp buildQuantizeKernel(OpBuilder &b, Location loc, StringRef name,
                                   const QuantizeShape &s);
LaunchShape quantizeLaunch(const QuantizeShape &s);

/// Rewrites the LLM.int8() linear `op` (rank-2 static f32 input, K a
/// multiple of 4, signed 8-bit weight, per-channel or per-tensor f32
/// scales) into the outlier mask, a per-token dynamic_quantize + qlinear
/// for the int8 part and a float matmul for the outlier part
/// (MixedLinearSplit.cpp); false (nothing changed) for other shapes.
bool splitMixedLinear(MixedLinearOp op);

} // namespace mlir::quant_xform::gpu_kernels

#endif
