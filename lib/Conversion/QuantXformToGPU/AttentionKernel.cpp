//===- AttentionKernel.cpp - flash attention on mma.sync f16 -------------===//
//
// The kernel of `quant_xform.attention`, in the manner of FlashAttention-2:
// a block of 4 warps takes 64 query rows of one (sequence, head), each warp
// 16 of them, and walks the keys in tiles of 64. The tiles of k and v (as
// [key, d], rows padded by 8 halves against bank conflicts) sit in shared
// memory as f16 in two stages: while the warps compute on one, the next is
// copied into the other — with `cp.async` where k and v arrive in f16 (a
// prefill: AttentionHalfCopyKernel.cpp rounds them first), else through
// registers. Each warp computes its scores with `nvgpu.mma.sync` m16n8k16
// (q in registers as f16 A fragments, loaded once; k's B fragments through
// `ldmatrix`, two k-steps a load), scales them to units of log₂ e, masks
// them, keeps a running row maximum and sum (online softmax with exp2:
// the quad of lanes sharing a row reduce with shuffles) and multiplies the
// probabilities, which sit in the accumulator layout that is also the A
// operand's, by v into f32 output accumulators (v's B fragments through
// `ldmatrix.trans`, four 8 × 8 matrices a load). A causal block stops at
// its last visible key tile; only the tiles that hold a hidden key (past
// the end or, causal, past a row's position) pay for the comparisons.
// Rows past the end read the last row and are not stored; keys past the
// end are −∞. A row whose keys so far are all −∞ keeps a zero sum and
// output (its maximum counts as 0 in the exponentials, as in
// FlashAttention). A q that arrives before its rotary embedding is rotated
// as the fragments are loaded (each pair with its partner half and the
// token's cos / sin, in f32, then rounded).
//
// Where the grid would leave most SMs idle (a decode step: a few query rows
// per head against a long cache), the keys are split as in
// flash-decoding: block (split, rows, head, sequence) walks its split's
// tiles and stores its unnormalized output and its rows' maximum and sum;
// a second kernel combines the splits.
//
//===----------------------------------------------------------------------===//

#include "AttentionKernel.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <limits>

using namespace mlir;
using namespace mlir::quant_xform;
using namespace mlir::quant_xform::gpu_kernels;

namespace {
constexpr int64_t kWarps = kAttentionBlockRows / 16;
constexpr int64_t kThreads = 32 * kWarps;
constexpr int64_t kPad = 8; // f16 per shared row past its data (banks)
} // namespace

AttentionShape gpu_kernels::attentionShape(AttentionOp op) {
  ArrayRef<int64_t> q = op.getQuery().getType().getShape();
  ArrayRef<int64_t> k = op.getKey().getType().getShape();
  return {q[0],
          q[1],
          q[2],
          q[3],
          k[1],
          k[2],
          op.getScale().convertToDouble(),
          op.getCausal(),
          bool(op.getMask())};
}

namespace {
int64_t keyTiles(const AttentionShape &s) {
  return (s.keys + kAttentionKeyTile - 1) / kAttentionKeyTile;
}
int64_t queryBlocks(const AttentionShape &s) {
  return (s.queries + kAttentionBlockRows - 1) / kAttentionBlockRows;
}
} // namespace

int64_t gpu_kernels::chooseAttentionSplits(const AttentionShape &s,
                                           int64_t smCount) {
  int64_t blocks = queryBlocks(s) * s.heads * s.batch;
  // A split costs a second launch: worth it for a few blocks over many
  // keys (4 tiles or more), as a decode step's.
  if (s.causal || smCount <= 0 || 2 * blocks > smCount || keyTiles(s) < 4)
    return 1;
  int64_t wanted = std::max<int64_t>(1, smCount / blocks);
  int64_t perSplit = (keyTiles(s) + wanted - 1) / wanted;
  return (keyTiles(s) + perSplit - 1) / perSplit;
}

int64_t gpu_kernels::attentionTilesPerSplit(const AttentionShape &s) {
  return (keyTiles(s) + s.splits - 1) / s.splits;
}

namespace {
/// One stage of k or v tiles in shared memory.
int64_t stageBytes(const AttentionShape &s) {
  return kAttentionKeyTile * (s.headDim + kPad) * 2;
}
} // namespace

LaunchShape gpu_kernels::attentionLaunch(const AttentionShape &s) {
  LaunchShape l{queryBlocks(s) * s.splits, s.heads, kThreads,
                4 * stageBytes(s)};
  l.gridZ = s.batch;
  return l;
}

MemRefType gpu_kernels::attentionPartsType(OpBuilder &b,
                                           const AttentionShape &s) {
  return MemRefType::get({s.splits, s.batch, s.queries, s.heads, s.headDim},
                         b.getF32Type());
}

MemRefType gpu_kernels::attentionStatsType(OpBuilder &b,
                                           const AttentionShape &s) {
  return MemRefType::get({s.splits, s.batch, s.queries, s.heads, 2},
                         b.getF32Type());
}

LaunchShape gpu_kernels::attentionCombineLaunch(const AttentionShape &s) {
  LaunchShape l{s.queries, s.heads, s.headDim, 0};
  l.gridZ = s.batch;
  return l;
}

namespace {

/// Builds the kernel of one attention shape; the methods are its phases.
class AttentionKernelBuilder {
public:
  AttentionKernelBuilder(OpBuilder &b, Location loc, const AttentionShape &s)
      : b(b), loc(loc), s(s), f16(b.getF16Type()), f32(b.getF32Type()),
        dTiles(s.headDim / 8), dSteps(s.headDim / 16) {}

  gpu::GPUFuncOp build(StringRef name);

private:
  Value c(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value cf(double v) {
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(float(v)));
  }
  Value add(Value x, Value y) { return arith::AddIOp::create(b, loc, x, y); }
  Value add(Value x, int64_t v) { return add(x, c(v)); }
  Value mul(Value x, int64_t v) {
    return arith::MulIOp::create(b, loc, x, c(v));
  }
  Value minTo(Value x, int64_t v) {
    return arith::MinSIOp::create(b, loc, x, c(v));
  }
  Value zero(Type t) {
    return arith::ConstantOp::create(b, loc, cast<TypedAttr>(b.getZeroAttr(t)));
  }

  gpu::GPUFuncOp createFunc(StringRef name);
  /// The thread's lane, quad, rows, head and sequence.
  void emitSetup();
  /// The two stages of k and v tiles: views of dynamic shared memory.
  void emitSharedStages();
  /// The q A fragments (f16) of this warp's rows, one per 16 of D.
  void loadQuery();
  /// Two f32 of q at row `r`, `d` (and d + 1) as f16, rotated by the
  /// token's angles with the rotary embedding.
  Value loadRotatedQueryPair(int64_t r, Value d, int64_t dStatic);
  /// Two f32 of `mem` at `idx` (innermost last) as f16.
  Value loadHalf2(Value mem, ValueRange idx);
  /// Copies key tile `tile` of k and v into shared memory stage `stage`
  /// (f16): started with cp.async (one group) or done through registers.
  void copyKeyTile(Value tile, Value stage);
  /// The tiles the block walks: [first, end), of which those from
  /// `checkedFrom` on may hold hidden keys.
  void emitTileRange();
  /// The loop over key tiles [begin, end) from `init` (m0, m1, l0, l1,
  /// O…); `checked`: its scores are compared against the hidden keys.
  scf::ForOp keyLoop(Value begin, Value end, ValueRange init, bool checked);
  void keyLoopStep(Value tile, ValueRange carried, bool checked);
  /// B fragment `h` (matrices 2h and 2h + 1) of an ldmatrix result.
  Value bFragment(Value frags, int64_t h);
  /// The scores (8 n-tiles of 8 keys) of tile stage `stage`: q·kᵀ.
  SmallVector<Value> tileScores(Value stage);
  /// The scaled, masked scores of n-tile `j` (row r, column c).
  Value maskedScore(Value acc, Value tile, int64_t j, int64_t r, int64_t cc,
                    bool checked);
  /// The maximum (or sum) over the quad of lanes that share a row.
  Value quadReduce(Value v, bool max);
  /// `m`, or 0 where it is −∞ (a row with no visible key yet).
  Value finiteMax(Value m);
  /// Stores row `r`'s unnormalized output of this split, and its maximum
  /// and (quad-reduced) `sum` from the first lane of its quad.
  void storeSplit(ValueRange results, int64_t r, Value sum);
  /// Divides by the row sums and stores the rows inside the output; with
  /// splits, stores the unnormalized rows and their maximum and sum.
  void epilogue(ValueRange results);

  OpBuilder &b;
  Location loc;
  const AttentionShape &s;
  Type f16, f32;
  int64_t dTiles, dSteps;

  gpu::GPUFuncOp fn;
  Value q, k, v, mask, cosQ, sinQ, out, stats, kS, vS;
  Value tid, group, inGroup, head, kvHead, batch, row[2], rowClamped[2];
  Value queryBlock, split;
  Value firstTile, endTile, checkedFrom;
  Value ldKey, ldD; // this lane's row of v's ldmatrix.x4 (key, d offsets)
  Value ldKeyK, ldDK, ldDK2; // of k's ldmatrix.x4 (d of .x2: ldDK2)
  SmallVector<Value> qA;
};

gpu::GPUFuncOp AttentionKernelBuilder::createFunc(StringRef name) {
  MLIRContext *ctx = b.getContext();
  auto qType = MemRefType::get({s.batch, s.queries, s.heads, s.headDim},
                               s.halfQuery ? f16 : f32);
  auto outType = MemRefType::get({s.batch, s.queries, s.heads, s.headDim},
                                 s.halfOutput ? f16 : f32);
  auto kType = MemRefType::get({s.batch, s.keys, s.kvHeads, s.headDim},
                               s.halfKeys ? f16 : f32);
  SmallVector<Type> args = {qType, kType, kType};
  if (s.mask)
    args.push_back(MemRefType::get({s.batch, s.keys}, f32));
  if (s.rotaryQuery)
    args.append(2, rotaryTableType(b, s.batch * s.queries, s.headDim));
  if (s.splits > 1) {
    args.push_back(attentionPartsType(b, s));
    args.push_back(attentionStatsType(b, s));
  } else {
    args.push_back(outType);
  }
  auto f =
      gpu::GPUFuncOp::create(b, loc, name, FunctionType::get(ctx, args, {}));
  f->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), UnitAttr::get(ctx));
  return f;
}

void AttentionKernelBuilder::emitSetup() {
  tid = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
  Value lane = arith::RemUIOp::create(b, loc, tid, c(32));
  Value warp = arith::DivUIOp::create(b, loc, tid, c(32));
  group = arith::DivUIOp::create(b, loc, lane, c(4));
  inGroup = arith::RemUIOp::create(b, loc, lane, c(4));
  // ldmatrix.x4: lane l gives row l % 8 of matrix l / 8; matrix m holds
  // keys + 8·(m % 2) and d + 8·(m / 2).
  Value matrix = arith::DivUIOp::create(b, loc, lane, c(8));
  ldKey = add(arith::RemUIOp::create(b, loc, lane, c(8)),
              mul(arith::RemUIOp::create(b, loc, matrix, c(2)), 8));
  ldD = mul(arith::DivUIOp::create(b, loc, matrix, c(2)), 8);
  // k's: matrix m holds keys + 0…7 and d + 8·m (two k-steps); of .x2,
  // d + 8·(m % 2).
  ldKeyK = arith::RemUIOp::create(b, loc, lane, c(8));
  ldDK = mul(matrix, 8);
  ldDK2 = mul(arith::RemUIOp::create(b, loc, matrix, c(2)), 8);
  Value block = gpu::BlockIdOp::create(b, loc, gpu::Dimension::x);
  queryBlock = block;
  split = c(0);
  if (s.splits > 1) {
    queryBlock = arith::DivUIOp::create(b, loc, block, c(s.splits));
    split = arith::RemUIOp::create(b, loc, block, c(s.splits));
  }
  head = gpu::BlockIdOp::create(b, loc, gpu::Dimension::y);
  batch = gpu::BlockIdOp::create(b, loc, gpu::Dimension::z);
  kvHead = arith::DivUIOp::create(b, loc, head, c(s.heads / s.kvHeads));
  row[0] = add(add(mul(queryBlock, kAttentionBlockRows), mul(warp, 16)), group);
  row[1] = add(row[0], 8);
  for (int r = 0; r < 2; ++r)
    rowClamped[r] = minTo(row[r], s.queries - 1);
}

void AttentionKernelBuilder::emitSharedStages() {
  auto workgroup =
      gpu::AddressSpaceAttr::get(b.getContext(), gpu::AddressSpace::Workgroup);
  auto bytes = MemRefType::get({ShapedType::kDynamic}, b.getI8Type(),
                               MemRefLayoutAttrInterface(), workgroup);
  auto stages = MemRefType::get({2, kAttentionKeyTile, s.headDim + kPad}, f16,
                                MemRefLayoutAttrInterface(), workgroup);
  Value dynamic = gpu::DynamicSharedMemoryOp::create(b, loc, bytes);
  kS = memref::ViewOp::create(b, loc, stages, dynamic, c(0), ValueRange{});
  vS = memref::ViewOp::create(b, loc, stages, dynamic, c(2 * stageBytes(s)),
                              ValueRange{});
}

Value AttentionKernelBuilder::loadHalf2(Value mem, ValueRange idx) {
  if (cast<MemRefType>(mem.getType()).getElementType().isF16())
    return vector::LoadOp::create(b, loc, VectorType::get({2}, f16), mem, idx);
  Value x = vector::LoadOp::create(b, loc, VectorType::get({2}, f32), mem, idx);
  return arith::TruncFOp::create(b, loc, VectorType::get({2}, f16), x);
}

void AttentionKernelBuilder::loadQuery() {
  // A fragment (16 × 16): rows g and g + 8, columns 2t, 2t + 1 and + 8.
  Value col = mul(inGroup, 2);
  for (int64_t ks = 0; ks < dSteps; ++ks) {
    Value a = zero(VectorType::get({4, 2}, f16));
    for (int64_t p = 0; p < 4; ++p) {
      Value d = add(col, 16 * ks + 8 * (p / 2));
      Value part = s.rotaryQuery
                       ? loadRotatedQueryPair(p % 2, d, 16 * ks + 8 * (p / 2))
                       : loadHalf2(q, {batch, rowClamped[p % 2], head, d});
      a = vector::InsertOp::create(b, loc, part, a, ArrayRef<int64_t>{p});
    }
    qA.push_back(a);
  }
}

Value AttentionKernelBuilder::loadRotatedQueryPair(int64_t r, Value d,
                                                   int64_t dStatic) {
  // The pair lies in one half (d even, the half a multiple of 8); which
  // one is known here: dStatic is d without the lane's 0…6.
  int64_t half = s.headDim / 2;
  bool low = dStatic < half;
  auto pair = VectorType::get({2}, f32);
  Value partner = add(d, low ? half : -half);
  Value i = low ? d : add(d, -half);
  Value token = add(mul(batch, s.queries), rowClamped[r]);
  auto load = [&](Value mem, ValueRange idx) -> Value {
    auto type = cast<MemRefType>(mem.getType());
    if (!type.getElementType().isF16())
      return vector::LoadOp::create(b, loc, pair, mem, idx);
    Value half =
        vector::LoadOp::create(b, loc, VectorType::get({2}, f16), mem, idx);
    return arith::ExtFOp::create(b, loc, pair, half);
  };
  Value x = load(q, {batch, rowClamped[r], head, d});
  Value xp = load(q, {batch, rowClamped[r], head, partner});
  Value cs = load(cosQ, {token, i}), sn = load(sinQ, {token, i});
  // low: x1·c − x2·s; high: x2·c + x1·s (RotaryOp's order).
  Value xc = arith::MulFOp::create(b, loc, x, cs);
  Value ps = arith::MulFOp::create(b, loc, xp, sn);
  Value y = low ? Value(arith::SubFOp::create(b, loc, xc, ps))
                : Value(arith::AddFOp::create(b, loc, xc, ps));
  return arith::TruncFOp::create(b, loc, VectorType::get({2}, f16), y);
}

void AttentionKernelBuilder::copyKeyTile(Value tile, Value stage) {
  Value first = mul(tile, kAttentionKeyTile);
  if (s.halfKeys) {
    // 16 bytes (8 halves) a copy, past L1; keys past the end read the
    // last key (hidden later).
    auto token = nvgpu::DeviceAsyncTokenType::get(b.getContext());
    int64_t chunks = s.headDim / 8;
    for (int64_t step = 0; step < kAttentionKeyTile * chunks / kThreads;
         ++step) {
      Value idx = add(tid, step * kThreads);
      Value keyInTile = arith::DivUIOp::create(b, loc, idx, c(chunks));
      Value d = mul(arith::RemUIOp::create(b, loc, idx, c(chunks)), 8);
      Value key = minTo(add(first, keyInTile), s.keys - 1);
      for (auto [from, to] : {std::pair(k, kS), std::pair(v, vS)})
        nvgpu::DeviceAsyncCopyOp::create(
            b, loc, token, to, ValueRange{stage, keyInTile, d}, from,
            ValueRange{batch, key, kvHead, d}, b.getIndexAttr(8), Value(),
            b.getUnitAttr());
    }
    NVVM::CpAsyncCommitGroupOp::create(b, loc);
    return;
  }
  // 64 keys × D, four f32 per thread and step: k and v as [key, d].
  int64_t quads = s.headDim / 4;
  auto f32x4 = VectorType::get({4}, f32);
  auto f16x4 = VectorType::get({4}, f16);
  for (int64_t step = 0; step < kAttentionKeyTile * quads / kThreads; ++step) {
    Value idx = add(tid, step * kThreads);
    Value keyInTile = arith::DivUIOp::create(b, loc, idx, c(quads));
    Value d = mul(arith::RemUIOp::create(b, loc, idx, c(quads)), 4);
    Value key = minTo(add(first, keyInTile), s.keys - 1);
    for (auto [from, to] : {std::pair(k, kS), std::pair(v, vS)}) {
      Value x = vector::LoadOp::create(b, loc, f32x4, from,
                                       ValueRange{batch, key, kvHead, d});
      vector::StoreOp::create(b, loc, arith::TruncFOp::create(b, loc, f16x4, x),
                              to, ValueRange{stage, keyInTile, d});
    }
  }
}

Value AttentionKernelBuilder::quadReduce(Value x, bool max) {
  Value width = arith::ConstantIntOp::create(b, loc, b.getI32Type(), 32);
  for (int64_t offset : {1, 2}) {
    Value o = arith::ConstantIntOp::create(b, loc, b.getI32Type(), offset);
    Value other =
        gpu::ShuffleOp::create(b, loc, x, o, width, gpu::ShuffleMode::XOR)
            .getShuffleResult();
    x = max ? Value(arith::MaximumFOp::create(b, loc, x, other))
            : Value(arith::AddFOp::create(b, loc, x, other));
  }
  return x;
}

Value AttentionKernelBuilder::finiteMax(Value m) {
  Value isInf =
      arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, m,
                            cf(-std::numeric_limits<double>::infinity()));
  return arith::SelectOp::create(b, loc, isInf, cf(0.0), m);
}

Value AttentionKernelBuilder::maskedScore(Value acc, Value tile, int64_t j,
                                          int64_t r, int64_t cc, bool checked) {
  // In units of log₂ e: softmax(x) = 2^(x·log₂ e − max) / Σ.
  const double log2e = 1.4426950408889634;
  Value x = vector::ExtractOp::create(b, loc, acc, ArrayRef<int64_t>{r, cc});
  x = arith::MulFOp::create(b, loc, x, cf(s.scale * log2e));
  Value key =
      add(add(mul(tile, kAttentionKeyTile), mul(inGroup, 2)), 8 * j + cc);
  if (s.mask) {
    Value m = memref::LoadOp::create(b, loc, mask,
                                     ValueRange{batch, minTo(key, s.keys - 1)});
    x = arith::AddFOp::create(b, loc, x,
                              arith::MulFOp::create(b, loc, m, cf(log2e)));
  }
  if (!checked)
    return x;
  Value hidden =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge, key, c(s.keys));
  if (s.causal) {
    Value last = add(row[r], s.keys - s.queries);
    Value future =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sgt, key, last);
    hidden = arith::OrIOp::create(b, loc, hidden, future);
  }
  return arith::SelectOp::create(
      b, loc, hidden, cf(-std::numeric_limits<double>::infinity()), x);
}

Value AttentionKernelBuilder::bFragment(Value frags, int64_t h) {
  Value bf = zero(VectorType::get({2, 2}, f16));
  for (int64_t p = 0; p < 2; ++p)
    bf = vector::InsertOp::create(
        b, loc,
        vector::ExtractOp::create(b, loc, frags, ArrayRef<int64_t>{2 * h + p}),
        bf, ArrayRef<int64_t>{p});
  return bf;
}

SmallVector<Value> AttentionKernelBuilder::tileScores(Value stage) {
  // 8 n-tiles of 8 keys; B[d][key] = k[key][d] from [key, d]: one
  // ldmatrix.x4 gives the B fragments of two k-steps (.x2 for a last odd
  // one).
  auto accType = VectorType::get({2, 2}, f32);
  SmallVector<Value> sc;
  for (int64_t j = 0; j < kAttentionKeyTile / 8; ++j) {
    Value acc = zero(accType);
    Value key = add(ldKeyK, 8 * j);
    for (int64_t ks = 0; ks < dSteps; ks += 2) {
      int64_t steps = std::min<int64_t>(2, dSteps - ks);
      Value frags = nvgpu::LdMatrixOp::create(
          b, loc, VectorType::get({2 * steps, 2}, f16), kS,
          ValueRange{stage, key, add(steps == 2 ? ldDK : ldDK2, 16 * ks)},
          /*transpose=*/false, /*numTiles=*/2 * steps);
      for (int64_t h = 0; h < steps; ++h) {
        acc = nvgpu::MmaSyncOp::create(b, loc, qA[ks + h], bFragment(frags, h),
                                       acc, ArrayRef<int64_t>{16, 8, 16});
      }
    }
    sc.push_back(acc);
  }
  return sc;
}

void AttentionKernelBuilder::keyLoopStep(Value tile, ValueRange carried,
                                         bool checked) {
  // Tile `tile` is in stage (tile − first) mod 2; once every warp is past
  // the previous tile, the next one goes into the other stage.
  Value stage = arith::RemUIOp::create(
      b, loc, arith::SubIOp::create(b, loc, tile, firstTile), c(2));
  if (s.halfKeys)
    NVVM::CpAsyncWaitGroupOp::create(b, loc, 0);
  gpu::BarrierOp::create(b, loc);
  {
    Value next = add(tile, 1);
    Value more =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, next, endTile);
    auto ifMore = scf::IfOp::create(b, loc, more, /*withElseRegion=*/false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifMore.thenBlock());
    copyKeyTile(next, arith::SubIOp::create(b, loc, c(1), stage));
  }
  auto accType = VectorType::get({2, 2}, f32);
  SmallVector<Value> sc = tileScores(stage);
  // Online softmax per row r: the new maximum, the rescale of the old
  // sum and output, the probabilities.
  SmallVector<Value> score[2], next(4);
  Value alpha[2];
  for (int64_t r = 0; r < 2; ++r) {
    Value tileMax = cf(-std::numeric_limits<double>::infinity());
    for (int64_t j = 0; j < kAttentionKeyTile / 8; ++j)
      for (int64_t cc = 0; cc < 2; ++cc) {
        score[r].push_back(maskedScore(sc[j], tile, j, r, cc, checked));
        tileMax = arith::MaximumFOp::create(b, loc, tileMax, score[r].back());
      }
    Value m = arith::MaximumFOp::create(b, loc, carried[r],
                                        quadReduce(tileMax, /*max=*/true));
    Value mExp = finiteMax(m);
    alpha[r] = math::Exp2Op::create(
        b, loc, arith::SubFOp::create(b, loc, carried[r], mExp));
    Value sum = cf(0.0);
    for (Value &x : score[r]) {
      x = math::Exp2Op::create(b, loc, arith::SubFOp::create(b, loc, x, mExp));
      sum = arith::AddFOp::create(b, loc, sum, x);
    }
    next[r] = m;
    next[2 + r] = arith::AddFOp::create(
        b, loc, arith::MulFOp::create(b, loc, carried[2 + r], alpha[r]), sum);
  }
  // P as A fragments: 16 keys each, from n-tiles 2kk and 2kk + 1.
  SmallVector<Value> pA;
  auto f32x2 = VectorType::get({2}, f32);
  for (int64_t kk = 0; kk < kAttentionKeyTile / 16; ++kk) {
    Value a = zero(VectorType::get({4, 2}, f16));
    for (int64_t p = 0; p < 4; ++p) {
      int64_t j = 2 * kk + p / 2, r = p % 2;
      Value pair = vector::FromElementsOp::create(
          b, loc, f32x2, ValueRange{score[r][2 * j], score[r][2 * j + 1]});
      a = vector::InsertOp::create(
          b, loc,
          arith::TruncFOp::create(b, loc, VectorType::get({2}, f16), pair), a,
          ArrayRef<int64_t>{p});
    }
    pA.push_back(a);
  }
  Value rescale = vector::FromElementsOp::create(
      b, loc, accType, ValueRange{alpha[0], alpha[0], alpha[1], alpha[1]});
  // Two n-tiles of 8 d at a time: one ldmatrix.x4.trans gives the B
  // fragments (keys 16kk…+15) of both.
  auto fragsType = VectorType::get({4, 2}, f16);
  for (int64_t jp = 0; jp < dTiles / 2; ++jp) {
    Value o[2];
    for (int64_t h = 0; h < 2; ++h)
      o[h] = arith::MulFOp::create(b, loc, carried[4 + 2 * jp + h], rescale);
    for (int64_t kk = 0; kk < kAttentionKeyTile / 16; ++kk) {
      Value frags = nvgpu::LdMatrixOp::create(
          b, loc, fragsType, vS,
          ValueRange{stage, add(ldKey, 16 * kk), add(ldD, 16 * jp)},
          /*transpose=*/true, /*numTiles=*/4);
      for (int64_t h = 0; h < 2; ++h) {
        o[h] = nvgpu::MmaSyncOp::create(b, loc, pA[kk], bFragment(frags, h),
                                        o[h], ArrayRef<int64_t>{16, 8, 16});
      }
    }
    next.append({o[0], o[1]});
  }
  scf::YieldOp::create(b, loc, next);
}

void AttentionKernelBuilder::emitTileRange() {
  int64_t tiles = keyTiles(s);
  firstTile = c(0);
  endTile = c(tiles);
  if (s.splits > 1) {
    int64_t perSplit = attentionTilesPerSplit(s);
    firstTile = mul(split, perSplit);
    endTile = minTo(add(firstTile, perSplit), tiles);
  }
  // Tiles wholly inside the keys, and (causal) wholly visible to the
  // block's first row, which sees keys up to row + T − S.
  Value unchecked = c(s.keys / kAttentionKeyTile);
  if (s.causal) {
    Value firstRow = mul(queryBlock, kAttentionBlockRows);
    Value lastRow =
        minTo(add(firstRow, kAttentionBlockRows - 1), s.queries - 1);
    Value lastKey = add(lastRow, s.keys - s.queries);
    Value needed =
        add(arith::DivUIOp::create(b, loc, lastKey, c(kAttentionKeyTile)), 1);
    endTile = minTo(needed, tiles);
    Value visible = arith::FloorDivSIOp::create(
        b, loc, add(firstRow, s.keys - s.queries + 1), c(kAttentionKeyTile));
    unchecked = arith::MinSIOp::create(b, loc, unchecked, visible);
  }
  checkedFrom = arith::MaxSIOp::create(
      b, loc, firstTile, arith::MinSIOp::create(b, loc, unchecked, endTile));
}

scf::ForOp AttentionKernelBuilder::keyLoop(Value begin, Value end,
                                           ValueRange init, bool checked) {
  auto loop = scf::ForOp::create(b, loc, begin, end, c(1), init);
  OpBuilder::InsertionGuard inLoop(b);
  b.setInsertionPointToStart(loop.getBody());
  keyLoopStep(loop.getInductionVar(), loop.getRegionIterArgs(), checked);
  return loop;
}

void AttentionKernelBuilder::epilogue(ValueRange results) {
  Value col = mul(inGroup, 2);
  for (int64_t r = 0; r < 2; ++r) {
    Value sum = quadReduce(results[2 + r], /*max=*/false);
    Value inside = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt,
                                         row[r], c(s.queries));
    auto ifOp = scf::IfOp::create(b, loc, inside, /*withElseRegion=*/false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    if (s.splits > 1) {
      storeSplit(results, r, sum);
      continue;
    }
    Value inv = arith::DivFOp::create(b, loc, cf(1.0), sum);
    Value invPair =
        vector::BroadcastOp::create(b, loc, VectorType::get({2}, f32), inv);
    for (int64_t jd = 0; jd < dTiles; ++jd) {
      Value pair = vector::ExtractOp::create(b, loc, results[4 + jd],
                                             ArrayRef<int64_t>{r});
      Value y = arith::MulFOp::create(b, loc, pair, invPair);
      if (s.halfOutput)
        y = arith::TruncFOp::create(b, loc, VectorType::get({2}, f16), y);
      vector::StoreOp::create(
          b, loc, y, out, ValueRange{batch, row[r], head, add(col, 8 * jd)});
    }
  }
}

void AttentionKernelBuilder::storeSplit(ValueRange results, int64_t r,
                                        Value sum) {
  Value col = mul(inGroup, 2);
  for (int64_t jd = 0; jd < dTiles; ++jd) {
    Value pair = vector::ExtractOp::create(b, loc, results[4 + jd],
                                           ArrayRef<int64_t>{r});
    vector::StoreOp::create(
        b, loc, pair, out,
        ValueRange{split, batch, row[r], head, add(col, 8 * jd)});
  }
  Value first =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, inGroup, c(0));
  auto ifFirst = scf::IfOp::create(b, loc, first, /*withElseRegion=*/false);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(ifFirst.thenBlock());
  memref::StoreOp::create(b, loc, results[r], stats,
                          ValueRange{split, batch, row[r], head, c(0)});
  memref::StoreOp::create(b, loc, sum, stats,
                          ValueRange{split, batch, row[r], head, c(1)});
}

gpu::GPUFuncOp AttentionKernelBuilder::build(StringRef name) {
  fn = createFunc(name);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&fn.getBody().front());
  unsigned arg = 0;
  q = fn.getArgument(arg++);
  k = fn.getArgument(arg++);
  v = fn.getArgument(arg++);
  mask = s.mask ? fn.getArgument(arg++) : Value();
  if (s.rotaryQuery) {
    cosQ = fn.getArgument(arg++);
    sinQ = fn.getArgument(arg++);
  }
  out = fn.getArgument(arg++);
  stats = s.splits > 1 ? fn.getArgument(arg++) : Value();
  emitSetup();
  emitSharedStages();
  loadQuery();
  emitTileRange();
  Value negInf = cf(-std::numeric_limits<double>::infinity());
  SmallVector<Value> init = {negInf, negInf, cf(0.0), cf(0.0)};
  init.append(dTiles, zero(VectorType::get({2, 2}, f32)));
  copyKeyTile(firstTile, c(0));
  scf::ForOp open = keyLoop(firstTile, checkedFrom, init, /*checked=*/false);
  scf::ForOp tail =
      keyLoop(checkedFrom, endTile, open.getResults(), /*checked=*/true);
  epilogue(tail.getResults());
  gpu::ReturnOp::create(b, loc);
  return fn;
}

} // namespace

gpu::GPUFuncOp gpu_kernels::buildAttentionKernel(OpBuilder &b, Location loc,
                                                 StringRef name,
                                                 const AttentionShape &s) {
  return AttentionKernelBuilder(b, loc, s).build(name);
}
