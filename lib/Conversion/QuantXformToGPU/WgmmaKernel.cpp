//===- WgmmaKernel.cpp - int8 GEMM kernel on Hopper's wgmma ---------------===//
//
// The sm_90a kernel of convert-quant-xform-qlinear-to-gpu. A block of one
// or two warpgroups (128 or 256 threads) computes (64 · warpgroups) × tileN
// outputs:
//
// - K is walked in tiles of 128 bytes. Each tile of A (128 rows) and B
//   (tileN rows) goes to shared memory through 16-byte `cp.async` copies
//   (`nvgpu.device_async_copy`, zero-filled past M, N and K), stored with
//   the 128-byte swizzle that `wgmma` reads without bank conflicts: row r's
//   16-byte chunk c lands at r·128 + 16·(c ⊕ (r mod 8)).
// - `stages` buffers, stages − 2 tiles in flight: at step kt the copies of
//   tile kt + stages − 2 go to the buffer that the wgmmas of step kt − 2 read,
//   which both warpgroups have finished (each waits for all but its latest
//   wgmma group before the block barrier of the next step).
// - Each warpgroup multiplies its 64 rows with 4 `wgmma.mma_async`
//   m64nNk32 (N = tileN) s8·s8 → s32 per tile, both operands K-major from
//   shared memory through matrix descriptors (128-byte swizzle; the K step
//   moves the start address by 32 bytes inside the swizzle atom).
// - After the loop, the dequant + bias epilogue writes the fragments
//   (wgmma's accumulator layout: per warp 16 rows, per register pair two
//   adjacent columns); an LLM.int8() kernel first adds its outlier columns'
//   float product xo·woᵀ to the dequantized values. Whole bf16 / f16 tiles
//   go through a padded tile in the (then free) pipeline buffers and out in
//   16-byte pieces (whole 128-byte lines per warp instead of 8 partial ones).
// - With `tma` (the default), the K tiles come by TMA instead: a producer
//   warp (one warpgroup) or warpgroup (two; `setmaxnreg` moves its
//   registers to the consumers) issues two 2-D tensor copies per K tile
//   (the tensor maps are grid-constant kernel parameters, made by the host
//   before the launch) completing on the stage's "full" mbarrier, and the
//   warpgroups release a stage on its "empty" mbarrier once their wgmmas
//   have read it: stages − 1 tiles in flight, no block barrier per step.
//
// This file has the tile choice, the launch shape and the kernel builder's
// setup, cp.async producer, consumer K loop and persistent tile loop; the
// TMA body is in WgmmaTmaProducer.cpp, the epilogue in WgmmaEpilogue.cpp.
//
//===----------------------------------------------------------------------===//

#include "WgmmaKernel.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <algorithm>
#include <limits>

using namespace mlir;
using namespace mlir::quant_xform;
using namespace mlir::quant_xform::gpu_kernels;
using namespace mlir::quant_xform::gpu_kernels::wgmma;

namespace {

/// Most shared memory the stages take (tuned on the H100, whose blocks may
/// use 227 KB), below the target's maximum.
constexpr int64_t kSharedBudget = 200 * 1024;
constexpr int64_t kMaxStages = 16;
constexpr int64_t kGroupM = 16; // row blocks per raster group
/// A tile's fixed cost in the tile choice's model, in output columns.
constexpr int64_t kTileOverheadColumns = 64;

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

/// The fixed fields of a K-major swizzled wgmma matrix descriptor whose rows
/// are `tileK` bytes (the swizzle width): leading byte offset 1 (unused for
/// this layout), stride byte offset 8 · tileK (between groups of 8 rows),
/// swizzle mode 1 (128 B) or 2 (64 B).
uint64_t descriptorFields(int64_t tileK) {
  return (uint64_t(1) << 16) | (uint64_t(8 * tileK >> 4) << 32) |
         (uint64_t(tileK == 128 ? 1 : 2) << 62);
}

} // namespace

EpilogueLayout wgmma::epilogueLayout(const GemmShape &s, const WgmmaTile &t) {
  EpilogueLayout l;
  auto take = [&](int64_t n) {
    int64_t at = l.floats;
    l.floats += (n + 3) / 4 * 4;
    return at;
  };
  if (!s.perTensorW)
    l.sw = take(t.tileN);
  if (s.bias)
    l.bias = take(t.tileN);
  if (s.outliers && s.outliers <= kMaxStagedOutliers) {
    l.xo = take(t.rows() * s.outliers);
    l.wo = take(t.tileN * s.outliers);
  }
  return l;
}

bool gpu_kernels::wgmmaApplies(const GemmShape &s, const WgmmaOptions &o) {
  return s.k % kChunk == 0 && s.m >= o.minM;
}

/// The modelled time of `s` in tiles of `rows` × `tileN` on `smCount`
/// SMs: waves of one block per SM, each as long as one tile's work, its
/// rows × (columns + kTileOverheadColumns) (the overhead: the K loop's
/// fill and the epilogue's scale loads, which every tile pays).
static int64_t modelledTime(const GemmShape &s, int64_t rows, int64_t tileN,
                            int64_t smCount) {
  int64_t tiles = ceilDiv(s.m, rows) * ceilDiv(s.n, tileN);
  return ceilDiv(tiles, smCount) * rows * (tileN + kTileOverheadColumns);
}

WgmmaTile gpu_kernels::chooseWgmmaTile(const GemmShape &s,
                                       const WgmmaOptions &o,
                                       const GPUTargetFacts &target) {
  // Largest first: a tie keeps the larger tile (fewer B reads per output).
  static constexpr std::pair<int64_t, int64_t> kTiles[] = {
      {2, 256}, {2, 192}, {2, 128}, {1, 192}, {1, 128}, {1, 64}, {1, 32}};
  WgmmaTile t{2, 256, o.tileK ? o.tileK : 128, 0};
  int64_t best = std::numeric_limits<int64_t>::max();
  for (auto [warpgroups, tileN] : kTiles) {
    if ((o.tileM && o.tileM != 64 * warpgroups) ||
        (o.tileN && o.tileN != tileN))
      continue;
    int64_t time = modelledTime(s, 64 * warpgroups, tileN, target.smCount);
    if (time < best) {
      best = time;
      t.warpgroups = warpgroups;
      t.tileN = tileN;
    }
  }
  // Raster groups of kGroupM row blocks (Triton's GROUP_SIZE_M): the
  // blocks in flight (about one per SM) then read a few row blocks of A and a
  // few column blocks of B instead of all of B for 1–3 row blocks, which keeps
  // a wide B (N = 11008: 45 MB at K = 4096) in L2.
  t.groupM = o.groupM ? o.groupM : kGroupM;
  if (!s.dynamicM)
    t.groupM = std::max<int64_t>(1, std::min(t.groupM, ceilDiv(s.m, t.rows())));
  t.tma = o.tma && target.tma;
  const int64_t epilogueBytes = epilogueLayout(s, t).bytes();
  auto stagesFor = [&](int64_t epilogueBuffers) {
    int64_t budget = std::min(
        kSharedBudget, target.maxSharedBytes - kSwizzleAtom -
                           epilogueBuffers * epilogueBytes -
                           (t.tma ? kBarrierBytesPerStage * kMaxStages : 0));
    return o.stages ? o.stages : std::min(kMaxStages, budget / stageBytes(t));
  };
  t.stages = stagesFor(1);
  // Persistent blocks for more than one wave, when the second epilogue
  // buffer costs no stage and fits.
  // (Not for a run-time M: the tile count would be a kernel argument.)
  t.persistent = o.persistent && !t.tma && !s.dynamicM &&
                 tileCount(s, t) > target.smCount && stagesFor(2) == t.stages &&
                 t.stages * stageBytes(t) + kSwizzleAtom + 2 * epilogueBytes <=
                     target.maxSharedBytes;
  if (t.persistent)
    t.persistentBlocks = std::min(tileCount(s, t), target.smCount);
  return t;
}

int64_t gpu_kernels::tileCount(const GemmShape &s, const WgmmaTile &t) {
  return ceilDiv(s.m, t.rows()) * ceilDiv(s.n, t.tileN);
}

LaunchShape gpu_kernels::wgmmaLaunch(const GemmShape &s, const WgmmaTile &t) {
  const int64_t pipelineBytes = t.stages * stageBytes(t) + kSwizzleAtom;
  if (t.persistent)
    return {t.persistentBlocks, 1, 128 * t.warpgroups,
            pipelineBytes + 2 * epilogueLayout(s, t).bytes()};
  if (t.tma)
    return {ceilDiv(s.n, t.tileN),
            ceilDiv(s.m, t.rows()),
            128 * t.warpgroups + producerThreads(t),
            pipelineBytes + epilogueLayout(s, t).bytes() +
                kBarrierBytesPerStage * t.stages,
            /*rowGridDim=*/1,
            t.rows()};
  return {ceilDiv(s.n, t.tileN), ceilDiv(s.m, t.rows()),
          128 * t.warpgroups,    pipelineBytes + epilogueLayout(s, t).bytes(),
          /*rowGridDim=*/1,      t.rows()};
}

Type gpu_kernels::tensorMapType(MLIRContext *ctx) {
  return LLVM::LLVMArrayType::get(IntegerType::get(ctx, 64), 16);
}

gpu::GPUFuncOp gpu_kernels::buildWgmmaKernel(OpBuilder &b, Location loc,
                                             StringRef name, const GemmShape &s,
                                             const WgmmaTile &t) {
  return WgmmaKernelBuilder(b, loc, s, t).build(name);
}

//===----------------------------------------------------------------------===//
// WgmmaKernelBuilder: arithmetic and setup
//===----------------------------------------------------------------------===//

WgmmaKernelBuilder::WgmmaKernelBuilder(OpBuilder &b, Location loc,
                                       const GemmShape &s, const WgmmaTile &t)
    : b(b), loc(loc), ctx(b.getContext()), s(s), t(t),
      layout(epilogueLayout(s, t)) {
  threads = 128 * t.warpgroups;
  blockM = t.rows();
  stages = t.stages;
  prefetch = t.stages - 2;
  tileK = t.tileK;
  tilesK = (s.k + tileK - 1) / tileK;
  // Copy lanes: rows tid/chunksPerRow + rowsPerPass·i, 16-byte chunk tid
  // mod chunksPerRow.
  chunksPerRow = tileK / kChunk;
  rowsPerPass = threads / chunksPerRow;
  // (A run-time M: no rows are known to be past it.)
  zeroRowsFrom = s.dynamicM ? blockM : std::min(s.m, blockM);
  nBlocks = ceilDiv(s.n, t.tileN);
  mBlocks = ceilDiv(s.m, blockM);
  // With staged stores (whole tiles of bf16 / f16, pipeline buffers free
  // after the K loop: not persistent), the dequantized fragments go to a
  // padded tile in the pipeline buffers (rows `pitch` elements apart: 16
  // bytes more than a row, so that a warp's 8 rows × 4 pairs hit distinct
  // banks), and each warpgroup then copies its 64 rows out in 16-byte
  // pieces, a warp writing whole 128-byte lines; direct fragment stores
  // write 8 rows × 16 bytes per warp instruction, 8 partial lines each.
  checked = s.dynamicM || s.m % blockM != 0 || s.n % t.tileN != 0;
  outType = s.outType ? s.outType : b.getF32Type();
  outBytes = outType.getIntOrFloatBitWidth() / 8;
  pitch = t.tileN + kChunk / outBytes;
  // (Only for 2-byte results: an f32 pair store already fills a warp's 8
  // 32-byte sectors, and staging measured 3-9 % slower there.)
  staged = outBytes == 2 && !checked && !t.persistent &&
           blockM * pitch * outBytes <= stages * stageBytes(t);
  // A TMA kernel's consumers copy the epilogue operands themselves (each
  // waits for its copies; a barrier makes all of them visible).
  operandsToWait = t.tma && layout.floats;
}

Value WgmmaKernelBuilder::c(int64_t v) {
  return arith::ConstantIndexOp::create(b, loc, v);
}
Value WgmmaKernelBuilder::i32c(int64_t v) {
  return arith::ConstantIntOp::create(b, loc, b.getI32Type(), v);
}
Value WgmmaKernelBuilder::add(Value x, Value y) {
  return arith::AddIOp::create(b, loc, x, y);
}
Value WgmmaKernelBuilder::mul(Value x, int64_t v) {
  return arith::MulIOp::create(b, loc, x, c(v));
}
Value WgmmaKernelBuilder::div(Value x, int64_t v) {
  return arith::DivUIOp::create(b, loc, x, c(v));
}
Value WgmmaKernelBuilder::rem(Value x, int64_t v) {
  return arith::RemUIOp::create(b, loc, x, c(v));
}
Value WgmmaKernelBuilder::lessThan(Value x, int64_t v) {
  return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, x, c(v));
}
Value WgmmaKernelBuilder::cmp(arith::CmpIPredicate p, Value x, int64_t v) {
  return arith::CmpIOp::create(b, loc, p, x, c(v));
}
Value WgmmaKernelBuilder::rows() {
  return kernelRows(b, loc, fn, s.m, s.dynamicM);
}
Value WgmmaKernelBuilder::rowBlocks() {
  if (!s.dynamicM)
    return c(mBlocks);
  return arith::CeilDivUIOp::create(b, loc, rows(), c(blockM));
}
Value WgmmaKernelBuilder::toI32(Value v) {
  return arith::IndexCastUIOp::create(b, loc, b.getI32Type(), v);
}

void WgmmaKernelBuilder::createFunction(StringRef name) {
  fn = createKernelFunc(b, loc, name, s);
  if (t.tma) // the tensor maps of qx (argument 0) and w (2), before y
    for (auto [source, boxRows] :
         {std::pair<int64_t, int64_t>{0, t.rows()}, {2, t.tileN}}) {
      LogicalResult inserted = fn.insertArgument(
          fn.getNumArguments() - 1, tensorMapType(ctx),
          b.getDictionaryAttr(b.getNamedAttr(
              kTensorMapAttrName,
              b.getDenseI64ArrayAttr({source, boxRows, t.tileK}))),
          loc);
      assert(succeeded(inserted) && "a gpu.func takes new arguments");
      (void)inserted;
    }
  fn->setAttr(fn.getKnownBlockSizeAttrName(),
              b.getDenseI32ArrayAttr(
                  {int32_t(threads + (t.tma ? producerThreads(t) : 0)), 1, 1}));
  qx = fn.getArgument(0);
  w = fn.getArgument(2);
}

TileOrigin WgmmaKernelBuilder::tileAt(Value p) {
  // With raster groups, p walks down groupM row blocks (fewer in the last
  // group) of one column block, then the next column block: group g = p /
  // (groupM · nBlocks), rows from g · groupM.
  if (t.groupM == 1)
    return {mul(div(p, nBlocks), blockM), mul(rem(p, nBlocks), t.tileN)};
  Value group = div(p, t.groupM * nBlocks);
  Value firstM = mul(group, t.groupM);
  Value rowsInGroup = arith::MinUIOp::create(
      b, loc, arith::SubIOp::create(b, loc, rowBlocks(), firstM), c(t.groupM));
  Value within = rem(p, t.groupM * nBlocks);
  Value m = add(firstM, arith::RemUIOp::create(b, loc, within, rowsInGroup));
  Value n = arith::DivUIOp::create(b, loc, within, rowsInGroup);
  return {mul(m, blockM), mul(n, t.tileN)};
}

void WgmmaKernelBuilder::emitSetup() {
  tid = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
  // The first tile: the block's id (row-major over the non-persistent
  // grid's (column block, row block)).
  firstTile =
      t.persistent
          ? Value(gpu::BlockIdOp::create(b, loc, gpu::Dimension::x))
          : add(mul(gpu::BlockIdOp::create(b, loc, gpu::Dimension::y), nBlocks),
                gpu::BlockIdOp::create(b, loc, gpu::Dimension::x));
  first = tileAt(firstTile);

  // Shared memory: stages × [A: blockM rows][B: tileN rows] of 128 bytes,
  // starting at the first 1024-byte boundary (the swizzle is a function of
  // the absolute shared address).
  auto smemType = MemRefType::get(
      {ShapedType::kDynamic}, b.getI8Type(), MemRefLayoutAttrInterface{},
      gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup));
  smem = gpu::DynamicSharedMemoryOp::create(b, loc, smemType);
  base = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, smem);
  pad = rem(
      arith::SubIOp::create(b, loc, c(kSwizzleAtom), rem(base, kSwizzleAtom)),
      kSwizzleAtom);

  // The swizzle XORs the chunk index with address bits 7–9 (128 B: the row
  // mod 8) or 7–8 (64 B: ⌊row/2⌋ mod 4); rowsPerPass keeps them fixed.
  cpRow = div(tid, chunksPerRow);
  Value cpChunk = rem(tid, chunksPerRow);
  Value phase = tileK == 128 ? rem(cpRow, 8) : rem(div(cpRow, 2), 4);
  swizzled = mul(arith::XOrIOp::create(b, loc, cpChunk, phase), kChunk);
  cpK = mul(cpChunk, kChunk);
}

Value WgmmaKernelBuilder::epilogueBuffer(Value parity) {
  // The epilogue's operands, after the pipeline buffers (two buffers,
  // alternating between tiles, for a persistent block): their copies go
  // with the first K tile's, in its cp.async group (complete at the tile's
  // first wait, visible after its barrier).
  if (!layout.floats)
    return Value();
  auto epiType = MemRefType::get(
      {layout.floats}, b.getF32Type(), MemRefLayoutAttrInterface{},
      gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup));
  return memref::ViewOp::create(
      b, loc, epiType, smem,
      add(add(pad, c(stages * stageBytes(t))), mul(parity, layout.bytes())),
      ValueRange{});
}

//===----------------------------------------------------------------------===//
// WgmmaKernelBuilder: the cp.async producer
//===----------------------------------------------------------------------===//

Value WgmmaKernelBuilder::stageOffset(Value stage) {
  return add(pad, mul(stage, stageBytes(t)));
}

void WgmmaKernelBuilder::loadTile(Value kt, Value stage, TileOrigin tile) {
  Value stageBase = stageOffset(stage);
  Value k = add(mul(kt, tileK), cpK);
  bool fullK = s.k % tileK == 0;
  Value kOk = fullK ? Value() : lessThan(k, s.k);
  if (!fullK)
    k = arith::MinSIOp::create(b, loc, k, c(s.k - kChunk));
  struct Operand {
    Value mem, first;
    int64_t rows;
    Value extent;
    bool fullRows;
    int64_t offset;
  } operands[] = {
      {qx, tile.row, blockM, rows(), !s.dynamicM && s.m % blockM == 0, 0},
      {w, tile.col, t.tileN, c(s.n), s.n % t.tileN == 0, blockM * tileK}};
  auto tokenType = nvgpu::DeviceAsyncTokenType::get(ctx);
  for (const Operand &op : operands) {
    for (int64_t i = 0; i < op.rows / rowsPerPass; ++i) {
      if (op.mem == qx && rowsPerPass * i >= zeroRowsFrom)
        continue; // rows past M of the only block row: zeroed once
      Value r = add(cpRow, c(rowsPerPass * i));
      Value global = add(op.first, r);
      Value ok = kOk;
      if (!op.fullRows) {
        Value rowOk = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt,
                                            global, op.extent);
        ok = ok ? Value(arith::AndIOp::create(b, loc, ok, rowOk)) : rowOk;
        global = arith::MinSIOp::create(
            b, loc, global, arith::SubIOp::create(b, loc, op.extent, c(1)));
      }
      Value srcElements =
          ok ? Value(arith::SelectOp::create(b, loc, ok, c(kChunk), c(0)))
             : Value();
      Value dst =
          add(add(stageBase, c(op.offset)), add(mul(r, tileK), swizzled));
      nvgpu::DeviceAsyncCopyOp::create(b, loc, tokenType, smem, ValueRange{dst},
                                       op.mem, ValueRange{global, k},
                                       b.getIndexAttr(kChunk), srcElements,
                                       b.getUnitAttr());
    }
  }
}

void WgmmaKernelBuilder::zeroRowsPastM() {
  // With a single block row (M < blockM), the copy passes whose rows are
  // all past M are not issued: their bytes are zeroed once in every buffer
  // (TMA zero-fills them itself).
  if (zeroRowsFrom >= blockM || t.tma)
    return;
  auto zeros = VectorType::get({kChunk}, b.getI8Type());
  Value zero =
      arith::ConstantOp::create(b, loc, cast<TypedAttr>(b.getZeroAttr(zeros)));
  for (int64_t st = 0; st < stages; ++st)
    for (int64_t i = 0; i < blockM / rowsPerPass; ++i) {
      if (rowsPerPass * i < zeroRowsFrom)
        continue;
      Value r = add(cpRow, c(rowsPerPass * i));
      Value dst =
          add(add(pad, c(st * stageBytes(t))), add(mul(r, tileK), swizzled));
      vector::StoreOp::create(b, loc, zero, smem, ValueRange{dst},
                              /*nontemporal=*/false, llvm::MaybeAlign(16));
    }
}

void WgmmaKernelBuilder::prologue(TileOrigin tile, Value parity) {
  // Empty groups past K, so that the waits count alike.
  if (layout.floats)
    stageEpilogueOperands(epilogueBuffer(parity), tile);
  for (int64_t p = 0; p < prefetch; ++p) {
    if (p < tilesK)
      loadTile(c(p), c(p), tile);
    NVVM::CpAsyncCommitGroupOp::create(b, loc);
  }
}

//===----------------------------------------------------------------------===//
// WgmmaKernelBuilder: the consumer
//===----------------------------------------------------------------------===//

Value WgmmaKernelBuilder::descriptor(Value address) {
  // Bits 0–13: address / 16.
  Type i64 = b.getI64Type();
  Value a = arith::IndexCastUIOp::create(b, loc, i64, address);
  auto k64 = [&](uint64_t v) -> Value {
    return arith::ConstantIntOp::create(b, loc, i64, int64_t(v));
  };
  a = arith::AndIOp::create(b, loc, a, k64(0x3FFFF));
  a = arith::ShRUIOp::create(b, loc, a, k64(4));
  return arith::OrIOp::create(b, loc, a, k64(descriptorFields(tileK)));
}

Value WgmmaKernelBuilder::wgmmaStep(Value acc, Value aAddress, Value bAddress) {
  // The wgmmas of a stage (A rows of this warpgroup at `aAddress`, B at
  // `bAddress`, each K-major and swizzled) between a fence and a commit,
  // then a wait for all but this step's group (the previous step's wgmmas
  // are complete after it).
  auto at = [&](Value address, int64_t offset) {
    return descriptor(arith::AddIOp::create(
        b, loc, address, arith::ConstantIndexOp::create(b, loc, offset)));
  };
  NVVM::WgmmaFenceAlignedOp::create(b, loc);
  auto shape = NVVM::MMAShapeAttr::get(ctx, 64, t.tileN, kWgmmaK);
  for (int64_t kk = 0; kk < t.tileK / kWgmmaK; ++kk)
    acc = NVVM::WgmmaMmaAsyncOp::create(
        b, loc, acc.getType(), acc, at(aAddress, kk * kWgmmaK),
        at(bAddress, kk * kWgmmaK), shape, NVVM::WGMMATypes::s8,
        NVVM::WGMMATypes::s8, NVVM::WGMMATypes::s32, NVVM::WGMMAScaleOut::one,
        NVVM::WGMMAScaleIn::one, NVVM::WGMMAScaleIn::one, NVVM::MMALayout::row,
        NVVM::MMALayout::col, NVVM::MMAIntOverflowAttr());
  NVVM::WgmmaGroupSyncAlignedOp::create(b, loc);
  NVVM::WgmmaWaitGroupSyncOp::create(b, loc, 1);
  return acc;
}

Value WgmmaKernelBuilder::mainLoop(TileOrigin tile) {
  // The K loop of `tile`, whose first `prefetch` K tiles are in flight:
  // its i32 accumulators, all wgmmas complete.
  auto accType = LLVM::LLVMStructType::getLiteral(
      ctx, SmallVector<Type>(t.tileN / 2, b.getI32Type()));
  Value zeroAcc = LLVM::ZeroOp::create(b, loc, accType);
  auto loop =
      scf::ForOp::create(b, loc, c(0), c(tilesK), c(1), ValueRange{zeroAcc});
  {
    OpBuilder::InsertionGuard inLoop(b);
    b.setInsertionPointToStart(loop.getBody());
    Value kt = loop.getInductionVar();
    Value acc = loop.getRegionIterArgs().front();
    // Tile kt has landed (all but the prefetch − 1 latest groups are
    // done); make the generic-proxy writes visible to wgmma's async proxy.
    NVVM::CpAsyncWaitGroupOp::create(b, loc, prefetch - 1);
    NVVM::FenceProxyOp::create(
        b, loc, NVVM::ProxyKind::async_shared,
        NVVM::SharedSpaceAttr::get(ctx, NVVM::SharedSpace::shared_cta));
    gpu::BarrierOp::create(b, loc);
    Value stageAddress =
        add(add(base, pad),
            arith::MulIOp::create(b, loc, rem(kt, stages), c(stageBytes(t))));
    Value aAddress = add(stageAddress, mul(warpgroup, 64 * tileK));
    Value bAddress = add(stageAddress, c(blockM * tileK));
    acc = wgmmaStep(acc, aAddress, bAddress);
    Value next = add(kt, c(prefetch));
    auto ifNext = scf::IfOp::create(b, loc, lessThan(next, tilesK),
                                    /*withElse=*/false);
    {
      OpBuilder::InsertionGuard inIf(b);
      b.setInsertionPointToStart(&ifNext.getThenRegion().front());
      loadTile(next, rem(next, stages), tile);
    }
    NVVM::CpAsyncCommitGroupOp::create(b, loc);
    scf::YieldOp::create(b, loc, acc);
  }
  NVVM::WgmmaWaitGroupSyncOp::create(b, loc, 0);
  return loop.getResult(0);
}

void WgmmaKernelBuilder::persistentLoop() {
  // Tiles p, p + grid, ... The next tile's prologue goes out before this
  // tile's epilogue (its buffers are free once every warpgroup's wgmmas
  // have completed: the barrier), so its first K tiles land while the
  // epilogue stores.
  const int64_t tiles = tileCount(s, t), grid = t.persistentBlocks;
  auto tileLoop = scf::ForOp::create(b, loc, firstTile, c(tiles), c(grid),
                                     ValueRange{c(0)});
  OpBuilder::InsertionGuard inLoop(b);
  b.setInsertionPointToStart(tileLoop.getBody());
  Value tileId = tileLoop.getInductionVar();
  Value parity = tileLoop.getRegionIterArgs().front();
  TileOrigin tile = tileAt(tileId);
  Value acc = mainLoop(tile);
  gpu::BarrierOp::create(b, loc);
  Value nextTile = add(tileId, c(grid));
  Value nextParity = arith::SubIOp::create(b, loc, c(1), parity);
  auto ifNext = scf::IfOp::create(b, loc, lessThan(nextTile, tiles),
                                  /*withElse=*/true);
  {
    OpBuilder::InsertionGuard inIf(b);
    b.setInsertionPointToStart(&ifNext.getThenRegion().front());
    prologue(tileAt(nextTile), nextParity);
    b.setInsertionPointToStart(&ifNext.getElseRegion().front());
    for (int64_t p = 0; p < prefetch; ++p)
      NVVM::CpAsyncCommitGroupOp::create(b, loc);
  }
  epilogue(acc, tile, epilogueBuffer(parity));
  scf::YieldOp::create(b, loc, nextParity);
}

gpu::GPUFuncOp WgmmaKernelBuilder::build(StringRef name) {
  createFunction(name);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&fn.getBody().front());
  emitSetup();
  zeroRowsPastM();
  if (!t.tma)
    prologue(first, c(0));
  warpgroup = div(tid, 128);
  if (t.tma) {
    buildTmaBody();
  } else if (!t.persistent) {
    Value acc = mainLoop(first);
    epilogue(acc, first, epilogueBuffer(c(0)));
  } else {
    persistentLoop();
  }
  gpu::ReturnOp::create(b, loc);
  return fn;
}
