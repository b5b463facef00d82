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
//===----------------------------------------------------------------------===//

#include "GemmKernels.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <algorithm>

using namespace mlir;
using namespace mlir::quant_xform;
using namespace mlir::quant_xform::gpu_kernels;

namespace {

constexpr int64_t kWgmmaK = 32;               // wgmma k for s8
constexpr int64_t kSharedBudget = 200 * 1024; // of the H100's 227 KB
constexpr int64_t kMaxStages = 16;
constexpr int64_t kSMs = 132;                 // H100 SXM
constexpr int64_t kChunk = 16;                // bytes per cp.async
constexpr int64_t kSwizzleAtom = 1024;        // 8 rows × 128 bytes
constexpr int64_t kGroupM = 16;               // row blocks per raster group
constexpr int64_t kBarrierBytesPerStage = 16; // TMA: full + empty mbarriers
/// Registers per thread after `setmaxnreg` in a TMA kernel of two
/// warpgroups (CUTLASS's split): 128 × 40 + 256 × 232 ≤ 65536.
constexpr int64_t kProducerRegisters = 40;
constexpr int64_t kConsumerRegisters = 232;

/// Threads of a TMA kernel's producer: a warp after one warpgroup (5 warps
/// keep 255 registers each), a whole warpgroup after two (12 warps, whose
/// registers `setmaxnreg` moves to the consumers: with 9 warps, 3 share one
/// of the 4 register-file quarters, 170 registers each).
int64_t producerThreads(const WgmmaTile &t) {
  return t.warpgroups == 2 ? 128 : 32;
}
/// Suspend-time hint of the mbarrier waits (ns), as upstream's nvgpu uses.
constexpr int64_t kWaitTicks = 10000000;

int64_t stageBytes(const WgmmaTile &t) {
  return (t.rows() + t.tileN) * t.tileK;
}

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

/// The fixed fields of a K-major swizzled wgmma matrix descriptor whose rows
/// are `tileK` bytes (the swizzle width): leading byte offset 1 (unused for
/// this layout), stride byte offset 8 · tileK (between groups of 8 rows),
/// swizzle mode 1 (128 B) or 2 (64 B).
uint64_t descriptorFields(int64_t tileK) {
  return (uint64_t(1) << 16) | (uint64_t(8 * tileK >> 4) << 32) |
         (uint64_t(tileK == 128 ? 1 : 2) << 62);
}

/// Most outlier columns whose xo and Wo rows are staged in shared memory
/// (more are read from global memory in the epilogue).
constexpr int64_t kMaxStagedOutliers = 16;

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

EpilogueLayout epilogueLayout(const GemmShape &s, const WgmmaTile &t) {
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

} // namespace

bool gpu_kernels::wgmmaApplies(const GemmShape &s, const WgmmaOptions &o) {
  return s.k % kChunk == 0 && s.m >= o.minM;
}

WgmmaTile gpu_kernels::chooseWgmmaTile(const GemmShape &s,
                                       const WgmmaOptions &o) {
  static constexpr std::pair<int64_t, int64_t> kTiles[] = {
      {2, 256}, {2, 128}, {1, 128}, {1, 64}, {1, 32}};
  WgmmaTile t{2, 256, o.tileK ? o.tileK : 128, 0};
  for (auto [warpgroups, tileN] : kTiles) {
    if ((o.tileM && o.tileM != 64 * warpgroups) ||
        (o.tileN && o.tileN != tileN))
      continue;
    t.warpgroups = warpgroups;
    t.tileN = tileN;
    // Enough blocks for ~0.9 of the SMs: stop shrinking.
    if (ceilDiv(s.m, t.rows()) * ceilDiv(s.n, t.tileN) >= kSMs * 9 / 10)
      break;
  }
  // Raster groups of kGroupM row blocks (Triton's GROUP_SIZE_M): the
  // ~132 blocks in flight then read a few row blocks of A and a few column
  // blocks of B instead of all of B for 1–3 row blocks, which keeps a wide
  // B (N = 11008: 45 MB at K = 4096) in L2.
  t.groupM = o.groupM ? o.groupM : kGroupM;
  t.groupM = std::max<int64_t>(1, std::min(t.groupM, ceilDiv(s.m, t.rows())));
  t.tma = o.tma;
  const int64_t epilogueBytes = epilogueLayout(s, t).bytes();
  auto stagesFor = [&](int64_t epilogueBuffers) {
    int64_t budget = std::min(
        kSharedBudget, kMaxSharedBytes - kSwizzleAtom -
                           epilogueBuffers * epilogueBytes -
                           (t.tma ? kBarrierBytesPerStage * kMaxStages : 0));
    return o.stages ? o.stages : std::min(kMaxStages, budget / stageBytes(t));
  };
  t.stages = stagesFor(1);
  // Persistent blocks for more than one wave, when the second epilogue
  // buffer costs no stage and fits.
  t.persistent = o.persistent && !t.tma && tileCount(s, t) > kSMs &&
                 stagesFor(2) == t.stages &&
                 t.stages * stageBytes(t) + kSwizzleAtom + 2 * epilogueBytes <=
                     kMaxSharedBytes;
  return t;
}

int64_t gpu_kernels::tileCount(const GemmShape &s, const WgmmaTile &t) {
  return ceilDiv(s.m, t.rows()) * ceilDiv(s.n, t.tileN);
}

LaunchShape gpu_kernels::wgmmaLaunch(const GemmShape &s, const WgmmaTile &t) {
  const int64_t pipelineBytes = t.stages * stageBytes(t) + kSwizzleAtom;
  if (t.persistent)
    return {std::min(tileCount(s, t), kSMs), 1, 128 * t.warpgroups,
            pipelineBytes + 2 * epilogueLayout(s, t).bytes()};
  if (t.tma)
    return {ceilDiv(s.n, t.tileN), ceilDiv(s.m, t.rows()),
            128 * t.warpgroups + producerThreads(t),
            pipelineBytes + epilogueLayout(s, t).bytes() +
                kBarrierBytesPerStage * t.stages};
  return {ceilDiv(s.n, t.tileN), ceilDiv(s.m, t.rows()), 128 * t.warpgroups,
          pipelineBytes + epilogueLayout(s, t).bytes()};
}

/// Issues the `cp.async` copies of the epilogue's operands (`l`) into
/// `epi` (shared memory, f32) for the block at (rowBlock, colBlock): 4-byte
/// copies of the scales and bias, 16-byte ones of xo and Wo rows when O is
/// a multiple of 4 (else 4-byte ones); indices past M and N are clamped.
static void stageEpilogueOperands(OpBuilder &b, Location loc, gpu::GPUFuncOp fn,
                                  const GemmShape &s, const WgmmaTile &t,
                                  const EpilogueLayout &l, Value epi, Value tid,
                                  Value rowBlock, Value colBlock) {
  MLIRContext *ctx = b.getContext();
  const int64_t threads = 128 * t.warpgroups;
  auto c = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  auto tokenType = nvgpu::DeviceAsyncTokenType::get(ctx);
  // Copies element `i` (0 ≤ i < count, `width` floats each) of a table of
  // `rows` × `perRow` copies: row i / perRow of `mem` (first row `first`,
  // clamped to `extent`), `width` floats at column width · (i mod perRow),
  // to epi[offset + width · i].
  auto copyTable = [&](Value mem, Value first, int64_t extent, int64_t rows,
                       int64_t perRow, int64_t width, int64_t offset) {
    int64_t count = rows * perRow;
    for (int64_t pass = 0; pass < int64_t(llvm::divideCeil(count, threads));
         ++pass) {
      OpBuilder::InsertionGuard guard(b);
      Value i = arith::AddIOp::create(b, loc, tid, c(pass * threads));
      if ((pass + 1) * threads > count) {
        Value inTable = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult,
                                              i, c(count));
        auto ifIn = scf::IfOp::create(b, loc, inTable, /*withElse=*/false);
        b.setInsertionPointToStart(&ifIn.getThenRegion().front());
      }
      Value row = arith::MinSIOp::create(
          b, loc,
          arith::AddIOp::create(b, loc, first,
                                arith::DivUIOp::create(b, loc, i, c(perRow))),
          c(extent - 1));
      SmallVector<Value> at = {row};
      if (cast<MemRefType>(mem.getType()).getRank() == 2)
        at.push_back(arith::MulIOp::create(
            b, loc, arith::RemUIOp::create(b, loc, i, c(perRow)), c(width)));
      Value dst = arith::AddIOp::create(
          b, loc, c(offset), arith::MulIOp::create(b, loc, i, c(width)));
      nvgpu::DeviceAsyncCopyOp::create(b, loc, tokenType, epi, ValueRange{dst},
                                       mem, at, b.getIndexAttr(width), Value(),
                                       width * 4 == kChunk ? b.getUnitAttr()
                                                           : UnitAttr());
    }
  };
  if (l.sw >= 0)
    copyTable(fn.getArgument(3), colBlock, s.n, t.tileN, 1, 1, l.sw);
  if (l.bias >= 0)
    copyTable(fn.getArgument(4), colBlock, s.n, t.tileN, 1, 1, l.bias);
  if (l.xo >= 0) {
    int64_t width = s.outliers % 4 == 0 ? 4 : 1;
    int64_t xoArg = s.bias ? 5 : 4;
    copyTable(fn.getArgument(xoArg), rowBlock, s.m, t.rows(),
              s.outliers / width, width, l.xo);
    copyTable(fn.getArgument(xoArg + 1), colBlock, s.n, t.tileN,
              s.outliers / width, width, l.wo);
  }
}

/// The epilogue, one group of 8 columns at a time (a thread's 2 rows × 2
/// columns: few live registers next to the accumulators): the fragments
/// dequantized, sx·(sw·float(acc)) + bias with sw and bias from shared
/// memory; for an LLM.int8() kernel then + Σⱼ xo[row, j]·wo[col, j] in order
/// of j (the CPU lowering's float matmul onto the int8 part), 4 outlier
/// columns per load when O is a multiple of 4, from shared memory (the
/// rows' xo values kept in registers) or, for more than kMaxStagedOutliers,
/// from global memory 16 at a time; then stored (8-byte pairs, or each
/// value where it is in range), or, with `staging`, put at their place in
/// the tile in shared memory (the caller copies the tile out).
static void emitEpilogue(OpBuilder &b, Location loc, gpu::GPUFuncOp fn,
                         const GemmShape &s, const WgmmaTile &t,
                         const EpilogueLayout &l, Value epi,
                         ArrayRef<Value> rows, ArrayRef<Value> localRows,
                         Value colBlock, Value localCol0,
                         llvm::function_ref<Value(int64_t)> accAt, bool checked,
                         Value staging) {
  Type f32 = b.getF32Type();
  auto c = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  auto add = [&](Value x, Value y) -> Value {
    return arith::AddIOp::create(b, loc, x, y);
  };
  auto clamp = [&](Value v, int64_t extent) -> Value {
    return arith::MinSIOp::create(b, loc, v, c(extent - 1));
  };
  EpilogueRow rowScales[2] = {loadRowScale(b, loc, fn, s, rows[0]),
                              loadRowScale(b, loc, fn, s, rows[1])};
  Value tensorScale =
      s.perTensorW ? Value(memref::LoadOp::create(b, loc, fn.getArgument(3),
                                                  ValueRange{}))
                   : Value();
  const int64_t width = s.outliers % 4 == 0 ? 4 : 1;
  // n floats of mem at `at` (`width` per load), as scalars.
  auto loadRange = [&](Value mem, SmallVector<Value> at, int64_t n) {
    SmallVector<Value> out;
    for (int64_t j = 0; j < n; j += width) {
      SmallVector<Value> idx = at;
      idx.back() = add(idx.back(), c(j));
      if (width == 1) {
        out.push_back(memref::LoadOp::create(b, loc, mem, idx));
        continue;
      }
      Value v = vector::LoadOp::create(b, loc, VectorType::get({width}, f32),
                                       mem, idx, /*nontemporal=*/false,
                                       llvm::MaybeAlign(4 * width));
      for (int64_t e = 0; e < width; ++e)
        out.push_back(vector::ExtractOp::create(b, loc, v, e));
    }
    return out;
  };
  Value xo = s.outliers ? fn.getArgument(s.bias ? 5 : 4) : Value();
  Value wo = s.outliers ? fn.getArgument(s.bias ? 6 : 5) : Value();
  const bool staged = l.xo >= 0;
  // Rows for the outlier values read from global memory (not staged).
  Value clampedRows[2];
  if (s.outliers && !staged)
    for (int64_t r = 0; r < 2; ++r)
      clampedRows[r] = clamp(rows[r], s.m);
  SmallVector<Value> stagedXs[2];
  if (staged)
    for (int64_t r = 0; r < 2; ++r)
      stagedXs[r] =
          loadRange(epi,
                    {add(c(l.xo), arith::MulIOp::create(b, loc, localRows[r],
                                                        c(s.outliers)))},
                    s.outliers);
  // Register 4j + 2r + cc: row rows[r], column col0 + 8j + cc.
  for (int64_t j = 0; j < t.tileN / 8; ++j) {
    Value values[2][2], cols[2], localCols[2];
    for (int64_t cc = 0; cc < 2; ++cc) {
      localCols[cc] = add(localCol0, c(8 * j + cc));
      cols[cc] = add(colBlock, localCols[cc]);
      EpilogueColumn colValues;
      colValues.scale = tensorScale
                            ? tensorScale
                            : Value(memref::LoadOp::create(
                                  b, loc, epi, add(c(l.sw), localCols[cc])));
      if (s.bias)
        colValues.bias =
            memref::LoadOp::create(b, loc, epi, add(c(l.bias), localCols[cc]));
      for (int64_t r = 0; r < 2; ++r)
        values[r][cc] = dequantizeValue(b, loc, accAt(4 * j + 2 * r + cc),
                                        rowScales[r], colValues);
    }
    const int64_t chunk = staged ? s.outliers : 16;
    for (int64_t j0 = 0; j0 < s.outliers; j0 += chunk) {
      int64_t n = std::min(chunk, s.outliers - j0);
      SmallVector<Value> xs[2], ws[2];
      for (int64_t r = 0; r < 2; ++r)
        xs[r] =
            staged ? stagedXs[r] : loadRange(xo, {clampedRows[r], c(j0)}, n);
      for (int64_t cc = 0; cc < 2; ++cc)
        ws[cc] =
            staged ? loadRange(epi,
                               {add(c(l.wo),
                                    arith::MulIOp::create(b, loc, localCols[cc],
                                                          c(s.outliers)))},
                               n)
                   : loadRange(wo, {clamp(cols[cc], s.n), c(j0)}, n);
      for (int64_t r = 0; r < 2; ++r)
        for (int64_t cc = 0; cc < 2; ++cc)
          for (int64_t o = 0; o < n; ++o)
            values[r][cc] = arith::AddFOp::create(
                b, loc, values[r][cc],
                arith::MulFOp::create(b, loc, xs[r][o], ws[cc][o]));
    }
    for (int64_t r = 0; r < 2; ++r) {
      if (staging) {
        storeValuePair(b, loc, fn, localRows[r], localCols[0], values[r][0],
                       values[r][1], staging);
        continue;
      }
      if (!checked) {
        storeValuePair(b, loc, fn, rows[r], cols[0], values[r][0],
                       values[r][1]);
        continue;
      }
      for (int64_t cc = 0; cc < 2; ++cc)
        storeValue(b, loc, fn, s, rows[r], cols[cc], values[r][cc],
                   /*checked=*/true);
    }
  }
}

/// One K step of a warpgroup: the wgmmas of a stage (A rows of this
/// warpgroup at `aAddress`, B at `bAddress`, each K-major and swizzled)
/// between a fence and a commit, then a wait for all but this step's group
/// (the previous step's wgmmas are complete after it). Returns the
/// accumulators.
static Value emitWgmmaStep(OpBuilder &b, Location loc, const WgmmaTile &t,
                           Value acc, Value aAddress, Value bAddress,
                           llvm::function_ref<Value(Value)> descriptor) {
  MLIRContext *ctx = b.getContext();
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

/// The body of a TMA kernel after its common setup (`base` + `pad`: the
/// first pipeline buffer, 1024-byte aligned): mbarriers after the epilogue
/// operands (full[stages], then empty[stages]), initialized by thread 0;
/// the producer warp's first thread walks K, waiting for a stage to be
/// empty (parity of the round before: a fresh barrier passes), announcing
/// its bytes on the stage's full barrier and issuing the A and B box copies
/// onto it; each warpgroup waits for its stage to be full, runs its 4
/// wgmmas, and once those of the previous step are complete (wait 1)
/// releases that step's stage (every consumer thread arrives); after the
/// loop the epilogue (whose operands the consumers copy by cp.async here;
/// `epilogue` waits for them).
static void
buildTmaBody(OpBuilder &b, Location loc, gpu::GPUFuncOp fn, const GemmShape &s,
             const WgmmaTile &t, Value tid, Value warpgroup, Value base,
             Value pad, Value rowBlock, Value colBlock, Value epi,
             llvm::function_ref<Value(Value)> descriptor,
             llvm::function_ref<void(Value, Value, Value, Value)> epilogue) {
  MLIRContext *ctx = b.getContext();
  Type i32 = b.getI32Type(), i64 = b.getI64Type();
  auto ptr = LLVM::LLVMPointerType::get(ctx);
  auto sharedPtrType = LLVM::LLVMPointerType::get(ctx, 3);
  const int64_t consumers = 128 * t.warpgroups, stages = t.stages;
  const int64_t blockM = t.rows(), tileK = t.tileK;
  const int64_t tilesK = ceilDiv(s.k, tileK);
  auto c = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  auto i32c = [&](int64_t v) -> Value {
    return arith::ConstantIntOp::create(b, loc, i32, v);
  };
  auto add = [&](Value x, Value y) -> Value {
    return arith::AddIOp::create(b, loc, x, y);
  };
  auto mul = [&](Value x, int64_t v) -> Value {
    return arith::MulIOp::create(b, loc, x, c(v));
  };
  auto toI32 = [&](Value v) -> Value {
    return arith::IndexCastUIOp::create(b, loc, i32, v);
  };
  auto cmp = [&](arith::CmpIPredicate p, Value x, int64_t v) -> Value {
    return arith::CmpIOp::create(b, loc, p, x, c(v));
  };
  // Shared address `base + offset` as a shared-space pointer.
  auto sharedPtr = [&](Value offset) -> Value {
    Value a = arith::IndexCastUIOp::create(b, loc, i64, add(base, offset));
    return LLVM::IntToPtrOp::create(b, loc, sharedPtrType, a);
  };
  Value barriers =
      add(pad, c(stages * stageBytes(t) + epilogueLayout(s, t).bytes()));
  auto full = [&](Value stage) {
    return sharedPtr(add(barriers, mul(stage, 8)));
  };
  auto empty = [&](Value stage) {
    return sharedPtr(add(add(barriers, c(8 * stages)), mul(stage, 8)));
  };
  auto stageOffset = [&](Value stage) {
    return add(pad, mul(stage, stageBytes(t)));
  };
  unsigned args = fn.getNumArguments();
  Value mapA =
      UnrealizedConversionCastOp::create(b, loc, ptr, fn.getArgument(args - 3))
          .getResult(0);
  Value mapB =
      UnrealizedConversionCastOp::create(b, loc, ptr, fn.getArgument(args - 2))
          .getResult(0);

  {
    OpBuilder::InsertionGuard guard(b);
    auto ifFirst =
        scf::IfOp::create(b, loc, cmp(arith::CmpIPredicate::eq, tid, 0),
                          /*withElse=*/false);
    b.setInsertionPointToStart(&ifFirst.getThenRegion().front());
    for (int64_t st = 0; st < stages; ++st) {
      NVVM::MBarrierInitOp::create(b, loc, full(c(st)), i32c(1), Value());
      NVVM::MBarrierInitOp::create(b, loc, empty(c(st)), i32c(consumers),
                                   Value());
    }
    NVVM::FenceMbarrierInitOp::create(b, loc);
  }
  gpu::BarrierOp::create(b, loc);

  auto role =
      scf::IfOp::create(b, loc, cmp(arith::CmpIPredicate::uge, tid, consumers),
                        /*withElse=*/true);
  {
    // The producer: one thread of the last warp(group), which gives its
    // registers to the consumers.
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&role.getThenRegion().front());
    if (producerThreads(t) == 128)
      NVVM::SetMaxRegisterOp::create(b, loc, kProducerRegisters,
                                     NVVM::SetMaxRegisterAction::decrease);
    auto ifLeader =
        scf::IfOp::create(b, loc, cmp(arith::CmpIPredicate::eq, tid, consumers),
                          /*withElse=*/false);
    b.setInsertionPointToStart(&ifLeader.getThenRegion().front());
    auto loop = scf::ForOp::create(b, loc, c(0), c(tilesK), c(1));
    b.setInsertionPointToStart(loop.getBody());
    Value kt = loop.getInductionVar();
    Value stage = arith::RemUIOp::create(b, loc, kt, c(stages));
    Value round = arith::DivUIOp::create(b, loc, kt, c(stages));
    Value parity =
        toI32(arith::RemUIOp::create(b, loc, add(round, c(1)), c(2)));
    NVVM::MBarrierTryWaitParityOp::create(b, loc, empty(stage), parity,
                                          i32c(kWaitTicks));
    Value bar = full(stage);
    NVVM::MBarrierArriveExpectTxOp::create(
        b, loc, Type(), bar, i32c(stageBytes(t)), NVVM::MemScopeKind::CTA,
        /*relaxed=*/false, Value());
    Value k = toI32(mul(kt, tileK));
    struct Box {
      Value map, firstRow;
      int64_t offset;
    } boxes[] = {{mapA, rowBlock, 0}, {mapB, colBlock, blockM * tileK}};
    // The destination as a shared::cluster address (this block's own
    // shared memory: the .shared::cta form needs PTX 8.6).
    auto clusterPtrType = LLVM::LLVMPointerType::get(ctx, 7);
    for (const Box &box : boxes)
      NVVM::CpAsyncBulkTensorGlobalToSharedClusterOp::create(
          b, loc,
          LLVM::AddrSpaceCastOp::create(
              b, loc, clusterPtrType,
              sharedPtr(add(stageOffset(stage), c(box.offset)))),
          box.map, ValueRange{k, toI32(box.firstRow)}, bar, ValueRange{},
          Value(), Value(), NVVM::TMALoadMode::TILE, /*isCTAOnly=*/false,
          NVVM::CTAGroupKindAttr(), Value());
  }

  // The consumers.
  b.setInsertionPointToStart(&role.getElseRegion().front());
  if (producerThreads(t) == 128)
    NVVM::SetMaxRegisterOp::create(b, loc, kConsumerRegisters,
                                   NVVM::SetMaxRegisterAction::increase);
  EpilogueLayout layout = epilogueLayout(s, t);
  if (layout.floats) {
    stageEpilogueOperands(b, loc, fn, s, t, layout, epi, tid, rowBlock,
                          colBlock);
    NVVM::CpAsyncCommitGroupOp::create(b, loc);
  }
  auto accType = LLVM::LLVMStructType::getLiteral(
      ctx, SmallVector<Type>(t.tileN / 2, i32));
  Value zeroAcc = LLVM::ZeroOp::create(b, loc, accType);
  auto loop =
      scf::ForOp::create(b, loc, c(0), c(tilesK), c(1), ValueRange{zeroAcc});
  {
    OpBuilder::InsertionGuard inLoop(b);
    b.setInsertionPointToStart(loop.getBody());
    Value kt = loop.getInductionVar();
    Value acc = loop.getRegionIterArgs().front();
    Value stage = arith::RemUIOp::create(b, loc, kt, c(stages));
    Value parity = toI32(arith::RemUIOp::create(
        b, loc, arith::DivUIOp::create(b, loc, kt, c(stages)), c(2)));
    NVVM::MBarrierTryWaitParityOp::create(b, loc, full(stage), parity,
                                          i32c(kWaitTicks));
    Value stageAddress = add(base, stageOffset(stage));
    Value aAddress = add(stageAddress, mul(warpgroup, 64 * tileK));
    Value bAddress = add(stageAddress, c(blockM * tileK));
    acc = emitWgmmaStep(b, loc, t, acc, aAddress, bAddress, descriptor);
    // The previous step's wgmmas are complete: release its stage.
    auto ifPrevious = scf::IfOp::create(
        b, loc, cmp(arith::CmpIPredicate::ugt, kt, 0), /*withElse=*/false);
    {
      OpBuilder::InsertionGuard inIf(b);
      b.setInsertionPointToStart(&ifPrevious.getThenRegion().front());
      Value previous =
          arith::RemUIOp::create(b, loc, add(kt, c(stages - 1)), c(stages));
      NVVM::MBarrierArriveOp::create(b, loc, Type(), empty(previous), Value());
    }
    scf::YieldOp::create(b, loc, acc);
  }
  NVVM::WgmmaWaitGroupSyncOp::create(b, loc, 0);
  epilogue(loop.getResult(0), rowBlock, colBlock, epi);
  b.setInsertionPointAfter(role);
}

gpu::GPUFuncOp gpu_kernels::buildWgmmaKernel(OpBuilder &b, Location loc,
                                             StringRef name, const GemmShape &s,
                                             const WgmmaTile &t) {
  MLIRContext *ctx = b.getContext();
  gpu::GPUFuncOp fn = createKernelFunc(b, loc, name, s);
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
  const int64_t threads = 128 * t.warpgroups, blockM = t.rows();
  fn->setAttr(fn.getKnownBlockSizeAttrName(),
              b.getDenseI32ArrayAttr(
                  {int32_t(threads + (t.tma ? producerThreads(t) : 0)), 1, 1}));
  const int64_t stages = t.stages, prefetch = t.stages - 2;
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&fn.getBody().front());
  Value qx = fn.getArgument(0), w = fn.getArgument(2);
  Type i8 = b.getI8Type(), i32 = b.getI32Type(), i64 = b.getI64Type();

  auto c = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  auto add = [&](Value x, Value y) -> Value {
    return arith::AddIOp::create(b, loc, x, y);
  };
  auto mul = [&](Value x, int64_t v) -> Value {
    return arith::MulIOp::create(b, loc, x, c(v));
  };
  auto div = [&](Value x, int64_t v) -> Value {
    return arith::DivUIOp::create(b, loc, x, c(v));
  };
  auto rem = [&](Value x, int64_t v) -> Value {
    return arith::RemUIOp::create(b, loc, x, c(v));
  };
  auto lessThan = [&](Value x, int64_t v) -> Value {
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, x, c(v));
  };

  Value tid = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
  const int64_t nBlocks = ceilDiv(s.n, t.tileN), mBlocks = ceilDiv(s.m, blockM);
  // The output tile (rowBlock, colBlock) of linear tile id p. With raster
  // groups, p walks down groupM row blocks (fewer in the last group) of one
  // column block, then the next column block: group g = p / (groupM ·
  // nBlocks), rows from g · groupM.
  auto tileAt = [&](Value p) -> std::pair<Value, Value> {
    if (t.groupM == 1)
      return {mul(div(p, nBlocks), blockM), mul(rem(p, nBlocks), t.tileN)};
    Value group = div(p, t.groupM * nBlocks);
    Value firstM = mul(group, t.groupM);
    Value rowsInGroup = arith::MinUIOp::create(
        b, loc, arith::SubIOp::create(b, loc, c(mBlocks), firstM), c(t.groupM));
    Value within = rem(p, t.groupM * nBlocks);
    Value m = add(firstM, arith::RemUIOp::create(b, loc, within, rowsInGroup));
    Value n = arith::DivUIOp::create(b, loc, within, rowsInGroup);
    return {mul(m, blockM), mul(n, t.tileN)};
  };
  // The first tile: the block's id (row-major over the non-persistent
  // grid's (column block, row block)).
  Value firstTile =
      t.persistent
          ? Value(gpu::BlockIdOp::create(b, loc, gpu::Dimension::x))
          : add(mul(gpu::BlockIdOp::create(b, loc, gpu::Dimension::y), nBlocks),
                gpu::BlockIdOp::create(b, loc, gpu::Dimension::x));
  auto [firstRowBlock, firstColBlock] = tileAt(firstTile);

  // Shared memory: stages × [A: blockM rows][B: tileN rows] of 128 bytes,
  // starting at the first 1024-byte boundary (the swizzle is a function of
  // the absolute shared address).
  auto smemType = MemRefType::get(
      {ShapedType::kDynamic}, i8, MemRefLayoutAttrInterface{},
      gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup));
  Value smem = gpu::DynamicSharedMemoryOp::create(b, loc, smemType);
  Value base = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, smem);
  Value pad = rem(
      arith::SubIOp::create(b, loc, c(kSwizzleAtom), rem(base, kSwizzleAtom)),
      kSwizzleAtom);

  // The epilogue's operands, after the pipeline buffers (two buffers,
  // alternating between tiles, for a persistent block): their copies go
  // with the first K tile's, in its cp.async group (complete at the
  // tile's first wait, visible after its barrier).
  EpilogueLayout layout = epilogueLayout(s, t);
  auto epilogueBuffer = [&](Value parity) -> Value {
    if (!layout.floats)
      return Value();
    auto epiType = MemRefType::get(
        {layout.floats}, b.getF32Type(), MemRefLayoutAttrInterface{},
        gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup));
    return memref::ViewOp::create(
        b, loc, epiType, smem,
        add(add(pad, c(stages * stageBytes(t))), mul(parity, layout.bytes())),
        ValueRange{});
  };

  // This thread's copies: rows tid/chunksPerRow + rowsPerPass·i, 16-byte
  // chunk tid mod chunksPerRow.
  const int64_t tileK = t.tileK, chunksPerRow = tileK / kChunk;
  const int64_t rowsPerPass = threads / chunksPerRow;
  const int64_t zeroRowsFrom = std::min(s.m, blockM);
  // The swizzle XORs the chunk index with address bits 7–9 (128 B: the row
  // mod 8) or 7–8 (64 B: ⌊row/2⌋ mod 4); rowsPerPass keeps them fixed.
  Value cpRow = div(tid, chunksPerRow), cpChunk = rem(tid, chunksPerRow);
  Value phase = tileK == 128 ? rem(cpRow, 8) : rem(div(cpRow, 2), 4);
  Value swizzled = mul(arith::XOrIOp::create(b, loc, cpChunk, phase), kChunk);
  Value cpK = mul(cpChunk, kChunk);
  auto tokenType = nvgpu::DeviceAsyncTokenType::get(ctx);

  // Issues the copies of K tile `kt` of the output tile at (rowBlock,
  // colBlock) into buffer `stage`.
  auto loadTile = [&](Value kt, Value stage, Value rowBlock, Value colBlock) {
    Value stageOffset =
        add(pad, arith::MulIOp::create(b, loc, stage, c(stageBytes(t))));
    Value k = add(mul(kt, tileK), cpK);
    bool fullK = s.k % tileK == 0;
    Value kOk = fullK ? Value() : lessThan(k, s.k);
    if (!fullK)
      k = arith::MinSIOp::create(b, loc, k, c(s.k - kChunk));
    struct Operand {
      Value mem, first;
      int64_t rows, extent, offset;
    } operands[] = {{qx, rowBlock, blockM, s.m, 0},
                    {w, colBlock, t.tileN, s.n, blockM * tileK}};
    for (const Operand &op : operands) {
      bool fullRows = op.extent % op.rows == 0;
      for (int64_t i = 0; i < op.rows / rowsPerPass; ++i) {
        if (op.mem == qx && rowsPerPass * i >= zeroRowsFrom)
          continue; // rows past M of the only block row: zeroed once
        Value r = add(cpRow, c(rowsPerPass * i));
        Value global = add(op.first, r);
        Value ok = kOk;
        if (!fullRows) {
          Value rowOk = lessThan(global, op.extent);
          ok = ok ? Value(arith::AndIOp::create(b, loc, ok, rowOk)) : rowOk;
          global = arith::MinSIOp::create(b, loc, global, c(op.extent - 1));
        }
        Value srcElements =
            ok ? Value(arith::SelectOp::create(b, loc, ok, c(kChunk), c(0)))
               : Value();
        Value dst =
            add(add(stageOffset, c(op.offset)), add(mul(r, tileK), swizzled));
        nvgpu::DeviceAsyncCopyOp::create(
            b, loc, tokenType, smem, ValueRange{dst}, op.mem,
            ValueRange{global, k}, b.getIndexAttr(kChunk), srcElements,
            b.getUnitAttr());
      }
    }
  };

  // With a single block row (M < blockM), the copy passes whose rows are
  // all past M are not issued: their bytes are zeroed once in every buffer
  // (TMA zero-fills them itself).
  if (zeroRowsFrom < blockM && !t.tma) {
    auto zeros = VectorType::get({kChunk}, i8);
    Value zero = arith::ConstantOp::create(
        b, loc, cast<TypedAttr>(b.getZeroAttr(zeros)));
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

  // The descriptor of a K-major 128-byte-swizzled matrix at shared address
  // `address` (bits 0–13: address / 16).
  auto descriptor = [&](Value address) -> Value {
    Value a = arith::IndexCastUIOp::create(b, loc, i64, address);
    auto k64 = [&](uint64_t v) -> Value {
      return arith::ConstantIntOp::create(b, loc, i64, int64_t(v));
    };
    a = arith::AndIOp::create(b, loc, a, k64(0x3FFFF));
    a = arith::ShRUIOp::create(b, loc, a, k64(4));
    return arith::OrIOp::create(b, loc, a, k64(descriptorFields(tileK)));
  };

  // The prologue of an output tile: its epilogue operands (into the
  // buffer of `parity`) and its first `prefetch` K tiles, one cp.async
  // group each (empty groups past K, so that the waits count alike).
  const int64_t tilesK = (s.k + tileK - 1) / tileK;
  auto prologue = [&](Value rowBlock, Value colBlock, Value parity) {
    if (layout.floats)
      stageEpilogueOperands(b, loc, fn, s, t, layout, epilogueBuffer(parity),
                            tid, rowBlock, colBlock);
    for (int64_t p = 0; p < prefetch; ++p) {
      if (p < tilesK)
        loadTile(c(p), c(p), rowBlock, colBlock);
      NVVM::CpAsyncCommitGroupOp::create(b, loc);
    }
  };
  if (!t.tma)
    prologue(firstRowBlock, firstColBlock, c(0));

  Value warpgroup = div(tid, 128);
  auto accType = LLVM::LLVMStructType::getLiteral(
      ctx, SmallVector<Type>(t.tileN / 2, i32));
  // The K loop of the output tile at (rowBlock, colBlock), whose first
  // `prefetch` K tiles are in flight: its i32 accumulators, all wgmmas
  // complete.
  auto mainLoop = [&](Value rowBlock, Value colBlock) -> Value {
    Value zeroAcc = LLVM::ZeroOp::create(b, loc, accType);
    auto loop =
        scf::ForOp::create(b, loc, c(0), c(tilesK), c(1), ValueRange{zeroAcc});
    {
      OpBuilder::InsertionGuard inLoop(b);
      b.setInsertionPointToStart(loop.getBody());
      Value kt = loop.getInductionVar();
      Value acc = loop.getRegionIterArgs().front();
      // Tile kt has landed (all but the prefetch − 1 latest groups are
      // done); make the generic-proxy writes visible to wgmma's async
      // proxy.
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
      acc = emitWgmmaStep(b, loc, t, acc, aAddress, bAddress, descriptor);
      Value next = add(kt, c(prefetch));
      auto ifNext = scf::IfOp::create(b, loc, lessThan(next, tilesK),
                                      /*withElse=*/false);
      {
        OpBuilder::InsertionGuard inIf(b);
        b.setInsertionPointToStart(&ifNext.getThenRegion().front());
        loadTile(next, rem(next, stages), rowBlock, colBlock);
      }
      NVVM::CpAsyncCommitGroupOp::create(b, loc);
      scf::YieldOp::create(b, loc, acc);
    }
    NVVM::WgmmaWaitGroupSyncOp::create(b, loc, 0);
    return loop.getResult(0);
  };

  // Epilogue. Register i of a thread (lane = 4g + q in warp v of its
  // warpgroup): row 16v + g + 8·⌊(i mod 4)/2⌋, column 8⌊i/4⌋ + 2q + i mod 2.
  // With staged stores (whole tiles of bf16 / f16, pipeline buffers free
  // after the K loop: not persistent), the dequantized fragments go to a padded
  // tile in the pipeline buffers (rows `pitch` elements apart: 16 bytes more
  // than a row, so that a warp's 8 rows × 4 pairs hit distinct banks), and each
  // warpgroup then copies its 64 rows out in 16-byte pieces, a warp writing
  // whole 128-byte lines; direct fragment stores write 8 rows × 16 bytes per
  // warp instruction, 8 partial lines each.
  bool checked = s.m % blockM != 0 || s.n % t.tileN != 0;
  Type outType = s.outType ? s.outType : b.getF32Type();
  const int64_t outBytes = outType.getIntOrFloatBitWidth() / 8;
  const int64_t pitch = t.tileN + kChunk / outBytes;
  // (Only for 2-byte results: an f32 pair store already fills a warp's 8
  // 32-byte sectors, and staging measured 3-9 % slower there.)
  const bool staged = outBytes == 2 && !checked && !t.persistent &&
                      blockM * pitch * outBytes <= stages * stageBytes(t);
  // A TMA kernel's consumers copy the epilogue operands themselves (each
  // waits for its copies; a barrier makes all of them visible).
  const bool operandsToWait = t.tma && layout.floats;
  auto epilogue = [&](Value acc, Value rowBlock, Value colBlock, Value epi) {
    if (operandsToWait)
      NVVM::CpAsyncWaitGroupOp::create(b, loc, 0);
    // Barrier 1 over the consumers (a TMA kernel's producer has left): the
    // operands are visible, and (staged) every warpgroup's wgmmas have read
    // the buffers.
    if (operandsToWait || staged)
      NVVM::BarrierOp::create(
          b, loc, Type(), arith::ConstantIntOp::create(b, loc, i32, 1),
          arith::ConstantIntOp::create(b, loc, i32, threads),
          NVVM::BarrierReductionAttr(), Value());
    Value staging;
    if (staged) {
      auto stagingType = MemRefType::get(
          {blockM, pitch}, outType, MemRefLayoutAttrInterface{},
          gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup));
      staging =
          memref::ViewOp::create(b, loc, stagingType, smem, pad, ValueRange{});
    }
    Value inGroup = rem(tid, 128);
    Value lane = rem(inGroup, 32);
    Value row0 = add(add(rowBlock, mul(warpgroup, 64)),
                     add(mul(div(inGroup, 32), 16), div(lane, 4)));
    Value localCol0 = mul(rem(lane, 4), 2);
    Value rows[2] = {row0, add(row0, c(8))};
    Value localRows[2] = {arith::SubIOp::create(b, loc, rows[0], rowBlock),
                          arith::SubIOp::create(b, loc, rows[1], rowBlock)};
    auto accAt = [&](int64_t i) -> Value {
      return LLVM::ExtractValueOp::create(b, loc, acc, ArrayRef<int64_t>{i});
    };
    emitEpilogue(b, loc, fn, s, t, layout, epi, rows, localRows, colBlock,
                 localCol0, accAt, checked, staging);
    if (!staged)
      return;
    // The tile is in place (barrier 1 again: a constant id keeps ptxas
    // from reserving all 16): each warpgroup copies its rows out,
    // rowsPerPass rows of chunksPerRow pieces at a time.
    NVVM::BarrierOp::create(b, loc, Type(),
                            arith::ConstantIntOp::create(b, loc, i32, 1),
                            arith::ConstantIntOp::create(b, loc, i32, threads),
                            NVVM::BarrierReductionAttr(), Value());
    const int64_t perChunk = kChunk / outBytes;
    const int64_t chunksPerRow = t.tileN / perChunk;
    const int64_t rowsPerPass = 128 / chunksPerRow;
    Value localCol = mul(rem(inGroup, chunksPerRow), perChunk);
    Value firstRow = add(mul(warpgroup, 64), div(inGroup, chunksPerRow));
    auto copy = scf::ForOp::create(b, loc, c(0), c(64), c(rowsPerPass));
    {
      OpBuilder::InsertionGuard inCopy(b);
      b.setInsertionPointToStart(copy.getBody());
      Value localRow = add(firstRow, copy.getInductionVar());
      auto chunkType = VectorType::get({perChunk}, outType);
      Value v = vector::LoadOp::create(
          b, loc, chunkType, staging, ValueRange{localRow, localCol},
          /*nontemporal=*/false, llvm::MaybeAlign(kChunk));
      vector::StoreOp::create(
          b, loc, v, fn.getArguments().back(),
          ValueRange{add(rowBlock, localRow), add(colBlock, localCol)},
          /*nontemporal=*/false, llvm::MaybeAlign(kChunk));
    }
  };

  if (t.tma) {
    buildTmaBody(b, loc, fn, s, t, tid, warpgroup, base, pad, firstRowBlock,
                 firstColBlock, epilogueBuffer(c(0)), descriptor, epilogue);
    gpu::ReturnOp::create(b, loc);
    return fn;
  }

  if (!t.persistent) {
    Value acc = mainLoop(firstRowBlock, firstColBlock);
    epilogue(acc, firstRowBlock, firstColBlock, epilogueBuffer(c(0)));
    gpu::ReturnOp::create(b, loc);
    return fn;
  }

  // A persistent block: tiles p, p + grid, ... The next tile's prologue
  // goes out before this tile's epilogue (its buffers are free once every
  // warpgroup's wgmmas have completed: the barrier), so its first K tiles
  // land while the epilogue stores.
  const int64_t tiles = tileCount(s, t), grid = std::min(tiles, kSMs);
  auto tileLoop = scf::ForOp::create(b, loc, firstTile, c(tiles), c(grid),
                                     ValueRange{c(0)});
  {
    OpBuilder::InsertionGuard inLoop(b);
    b.setInsertionPointToStart(tileLoop.getBody());
    Value tile = tileLoop.getInductionVar();
    Value parity = tileLoop.getRegionIterArgs().front();
    auto [rowBlock, colBlock] = tileAt(tile);
    Value acc = mainLoop(rowBlock, colBlock);
    gpu::BarrierOp::create(b, loc);
    Value nextTile = add(tile, c(grid));
    Value nextParity = arith::SubIOp::create(b, loc, c(1), parity);
    auto ifNext = scf::IfOp::create(b, loc, lessThan(nextTile, tiles),
                                    /*withElse=*/true);
    {
      OpBuilder::InsertionGuard inIf(b);
      b.setInsertionPointToStart(&ifNext.getThenRegion().front());
      auto [nextRowBlock, nextColBlock] = tileAt(nextTile);
      prologue(nextRowBlock, nextColBlock, nextParity);
      b.setInsertionPointToStart(&ifNext.getElseRegion().front());
      for (int64_t p = 0; p < prefetch; ++p)
        NVVM::CpAsyncCommitGroupOp::create(b, loc);
    }
    epilogue(acc, rowBlock, colBlock, epilogueBuffer(parity));
    scf::YieldOp::create(b, loc, nextParity);
  }
  gpu::ReturnOp::create(b, loc);
  return fn;
}

Type gpu_kernels::tensorMapType(MLIRContext *ctx) {
  return LLVM::LLVMArrayType::get(IntegerType::get(ctx, 64), 16);
}
