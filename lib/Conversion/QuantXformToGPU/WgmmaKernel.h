//===- WgmmaKernel.h - the wgmma kernel builder (internal) ------*- C++ -*-===//
//
// The class that generates the sm_90a int8 GEMM kernel (see WgmmaKernel.cpp
// for the algorithm), one method per phase: the setup (tile of the block,
// shared memory), the cp.async producer (K tile copies, prologue), the
// consumer (wgmma steps, K loop), the TMA producer and consumer
// (WgmmaTmaProducer.cpp) and the dequant + bias epilogue
// (WgmmaEpilogue.cpp). Modelled on upstream NVGPUToNVVM's WarpgroupGemm.
//
//===----------------------------------------------------------------------===//

#ifndef QUANT_XFORM_LIB_CONVERSION_QUANTXFORMTOGPU_WGMMAKERNEL_H
#define QUANT_XFORM_LIB_CONVERSION_QUANTXFORMTOGPU_WGMMAKERNEL_H

#include "GemmKernels.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

namespace mlir::quant_xform::gpu_kernels {

namespace wgmma {
constexpr int64_t kWgmmaK = 32;               // wgmma k for s8
constexpr int64_t kChunk = 16;                // bytes per cp.async
constexpr int64_t kSwizzleAtom = 1024;        // 8 rows × 128 bytes
constexpr int64_t kBarrierBytesPerStage = 16; // TMA: full + empty mbarriers
/// Most outlier columns whose xo and Wo rows are staged in shared memory
/// (more are read from global memory in the epilogue).
constexpr int64_t kMaxStagedOutliers = 16;

/// Bytes of one pipeline stage: the A and B tiles of one K tile.
inline int64_t stageBytes(const WgmmaTile &t) {
  return (t.rows() + t.tileN) * t.tileK;
}

/// Threads of a TMA kernel's producer: a warp after one warpgroup (5 warps
/// keep 255 registers each), a whole warpgroup after two (12 warps, whose
/// registers `setmaxnreg` moves to the consumers: with 9 warps, 3 share one
/// of the 4 register-file quarters, 170 registers each).
inline int64_t producerThreads(const WgmmaTile &t) {
  return t.warpgroups == 2 ? 128 : 32;
}

/// The f32 operands of the epilogue, staged in shared memory after the
/// pipeline buffers by `cp.async` at the start of the kernel: the block's
/// per-channel weight scales and bias, and (up to kMaxStagedOutliers outlier
/// columns) its xo rows and Wo rows. Offsets in floats (multiples of 4),
/// −1 where not staged.
struct EpilogueLayout {
  int64_t sw = -1, bias = -1, xo = -1, wo = -1;
  int64_t floats = 0;
  int64_t bytes() const { return 4 * floats; }
};

/// The epilogue layout of `s` with tile `t`.
EpilogueLayout epilogueLayout(const GemmShape &s, const WgmmaTile &t);
} // namespace wgmma

/// The top-left output element (row, column) of a block's output tile.
struct TileOrigin {
  Value row, col;
};

/// A table of epilogue operands to copy into shared memory: `rows` ×
/// `perRow` copies of `width` floats each; copy i reads row i / perRow of
/// `mem` (first row `first`, clamped below `extent`, an index) at column
/// width · (i mod perRow) and writes epi[offset + width · i].
struct OperandTable {
  Value mem, first, extent;
  int64_t rows, perRow, width, offset;
};

/// Where one thread's accumulator fragments go in the epilogue: its two
/// rows (global and within the tile), the tile's first column and its
/// first column within the tile, the shared-memory epilogue operands and,
/// for staged stores, the padded output tile in shared memory.
struct FragmentPlace {
  Value rows[2], localRows[2];
  Value colBlock, localCol0;
  Value acc, epi, staging;
};

/// Values loaded once per thread before the epilogue's column groups: the
/// row scales, the per-tensor weight scale (or null), and the outlier
/// inputs (the argument memrefs, clamped rows for global reads, the rows'
/// staged xo values).
struct EpilogueInputs {
  EpilogueRow rowScales[2];
  Value tensorScale, xo, wo;
  Value clampedRows[2];
  SmallVector<Value> stagedXs[2];
};

/// Generates the wgmma kernel of one GEMM shape and tile. The builder, the
/// location, the shape, the tile and the kernel's common values (thread id,
/// shared memory, copy lanes) are members; each method emits one phase at
/// the builder's insertion point.
class WgmmaKernelBuilder {
public:
  WgmmaKernelBuilder(OpBuilder &b, Location loc, const GemmShape &s,
                     const WgmmaTile &t);

  /// Builds `gpu.func @name` (at the builder's insertion point).
  gpu::GPUFuncOp build(StringRef name);

private:
  // Index arithmetic at the insertion point.
  Value c(int64_t v);
  Value i32c(int64_t v);
  Value add(Value x, Value y);
  Value mul(Value x, int64_t v);
  Value div(Value x, int64_t v);
  Value rem(Value x, int64_t v);
  Value lessThan(Value x, int64_t v);
  Value cmp(arith::CmpIPredicate p, Value x, int64_t v);
  Value toI32(Value v);
  /// M: a constant, or the run-time rows of a `dynamicM` kernel.
  Value rows();
  /// The row blocks ⌈M / blockM⌉ (at run time for a `dynamicM` kernel).
  Value rowBlocks();
  /// The kernel as the shared epilogue helpers take it.
  KernelSite site() { return {b, loc, fn, s}; }

  // Setup (WgmmaKernel.cpp).
  /// Creates the function (with a TMA kernel's tensor-map arguments).
  void createFunction(StringRef name);
  /// The thread id, the first tile, the shared memory and its 1024-byte
  /// alignment pad, and this thread's copy lane.
  void emitSetup();
  /// The output tile of linear tile id `p` (raster groups of groupM).
  TileOrigin tileAt(Value p);
  /// The epilogue operands' buffer of `parity` (null when none).
  Value epilogueBuffer(Value parity);

  // The cp.async producer (WgmmaKernel.cpp).
  /// Issues the copies of K tile `kt` of `tile` into buffer `stage`.
  void loadTile(Value kt, Value stage, TileOrigin tile);
  /// With a single block row, zeroes the rows past M in every buffer.
  void zeroRowsPastM();
  /// The offset of pipeline buffer `stage` in the shared memory.
  Value stageOffset(Value stage);
  /// The epilogue operands of `tile` (into the buffer of `parity`) and its
  /// first K tiles, one cp.async group each.
  void prologue(TileOrigin tile, Value parity);

  // The consumer (WgmmaKernel.cpp).
  /// The matrix descriptor of a K-major swizzled matrix at `address`.
  Value descriptor(Value address);
  /// One K step of a warpgroup; returns the accumulators.
  Value wgmmaStep(Value acc, Value aAddress, Value bAddress);
  /// The cp.async K loop of `tile`; returns its accumulators.
  Value mainLoop(TileOrigin tile);
  /// A persistent block's loop over its output tiles.
  void persistentLoop();

  // TMA (WgmmaTmaProducer.cpp).
  /// The producer / consumer body of a TMA kernel.
  void buildTmaBody();
  Value sharedPtr(Value offset);
  Value fullBarrier(Value stage);
  Value emptyBarrier(Value stage);
  /// Thread 0 initializes the mbarriers; a block barrier follows.
  void initBarriers();
  /// The producer thread's K loop of TMA copies through the tensor maps
  /// `mapA` and `mapB`.
  void tmaProducer(Value mapA, Value mapB);
  /// The consumers' K loop on the mbarriers; returns the accumulators.
  Value tmaConsumerLoop();

  // Epilogue (WgmmaEpilogue.cpp).
  /// cp.async copies of the epilogue operands of `tile` into `epi`.
  void stageEpilogueOperands(Value epi, TileOrigin tile);
  /// Issues the copies of one table of epilogue operands into `epi`.
  void copyTable(Value epi, const OperandTable &table);
  /// The epilogue of `acc` for `tile` with operands in `epi`.
  void epilogue(Value acc, TileOrigin tile, Value epi);
  /// The fragments' dequantize (+ outliers) and stores.
  void emitFragments(const FragmentPlace &place);
  /// The loads before the column groups.
  EpilogueInputs loadEpilogueInputs(const FragmentPlace &place);
  /// One group of 8 columns: dequantize, outliers, store; `operandPairs`:
  /// the activation operand's pairs of its two rows, loaded ahead (or
  /// empty).
  void emitColumnGroup(const FragmentPlace &place, const EpilogueInputs &in,
                       int64_t j, ArrayRef<Value> operandPairs);
  /// The dequantized values (+ outliers) of group j: values[r][cc] at row
  /// rows[r], column col0 + 8j + cc; the columns in `cols` / `localCols`.
  void dequantizeGroup(const FragmentPlace &place, const EpilogueInputs &in,
                       int64_t j, Value (&values)[2][2], Value (&cols)[2],
                       Value (&localCols)[2]);
  /// A gated pair's epilogue (GemmShape::gatedHalf = H): in each block of
  /// 2H columns, group j with group j + H / 8 (the up half of the same
  /// outputs), through the activation, stored at the block's output
  /// columns.
  void emitGatedGroups(const FragmentPlace &place, const EpilogueInputs &in);
  /// Adds the outlier products to `values` (2 rows × 2 columns).
  void addOutliers(const FragmentPlace &place, const EpilogueInputs &in,
                   ArrayRef<Value> cols, ArrayRef<Value> localCols,
                   Value (&values)[2][2]);
  /// `n` floats of `mem` at `at` (4 per load where O allows), as scalars.
  SmallVector<Value> loadFloats(Value mem, SmallVector<Value> at, int64_t n);
  /// Copies a warpgroup's rows of the staged tile out in 16-byte pieces
  /// (`inGroup`: the thread's index in its warpgroup).
  void copyStagedTileOut(Value staging, TileOrigin tile, Value inGroup);
  /// `bar.sync 1, consumers`.
  void consumerBarrier();

  OpBuilder &b;
  Location loc;
  MLIRContext *ctx;
  const GemmShape &s;
  const WgmmaTile &t;
  wgmma::EpilogueLayout layout;

  // Derived sizes.
  int64_t threads, blockM, stages, prefetch, tileK, tilesK;
  int64_t chunksPerRow, rowsPerPass, zeroRowsFrom, nBlocks, mBlocks;
  Type outType;
  int64_t outBytes, pitch;
  /// Output tiles partly past M or N (masked stores).
  bool checked;
  /// Whole 2-byte tiles go out through shared memory.
  bool staged;
  /// A TMA kernel's consumers wait for their epilogue-operand copies.
  bool operandsToWait;

  // The kernel's common values.
  gpu::GPUFuncOp fn;
  Value qx, w, tid, warpgroup, firstTile;
  TileOrigin first;
  Value smem, base, pad;
  /// A TMA kernel's mbarriers (offset in the shared memory).
  Value barriers;
  Value cpRow, swizzled, cpK;
};

} // namespace mlir::quant_xform::gpu_kernels

#endif
