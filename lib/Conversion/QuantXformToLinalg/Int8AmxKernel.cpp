//===- Int8AmxKernel.cpp - int8 GEMM on AMX tiles (tdpbssd) --------------===//
//
// The int8 linear with a constant weight on Intel AMX, through the upstream
// `amx` dialect: `amx.tile_muli` is `tdpbssd` (s8 × s8 → i32, a 16 × 64
// byte tile times a 16 × 64 VNNI-packed tile into a 16 × 16 i32 tile), so
// no u8 shift and no weight compensation are needed. The weight is packed
// at compile time as [panel][k / 4][32 columns][k % 4] (K padded to a
// multiple of 64, zeros), so that the B tile of 16 columns × 64 k is a
// 16-row load with the panel's 128-byte row stride. The activation is read
// in place when M is a multiple of the 32-row block and K of 64; otherwise
// it is first copied into an [M₃₂, K₆₄] zero-padded buffer (vector code).
// An `scf.forall` over (group of 32-row blocks, panel) zeroes the group's
// 2 × 2 C tiles per block in a scratch buffer, then runs K in chunks of 8
// k-tiles (the last one shorter), each chunk over the group's blocks in
// turn, so that the panel's 16 KB chunk of B is read from L1 by all of
// them. A group is up to 8 blocks whose rows fit in 1.5 MB (8 at K = 4096,
// 4 at K = 11008), so it stays in L2 while the panels pass. A block's chunk
// keeps its C tiles in tile registers between a load and a store of the scratch
// (tile values cannot be loop-carried). Then the same dequant + bias epilogue
// as the VNNI kernel.
//
// Using AMX needs the kernel's permission (Linux arch_prctl
// ARCH_REQ_XCOMP_PERM for XTILEDATA): amxUsable() asks for it in the
// calling process, which is the process that runs JIT-compiled code.
//
//===----------------------------------------------------------------------===//

#include "Int8Microkernel.h"
#include "quant-xform/Conversion/QuantXformToLinalg/LinalgBuilders.h"

#include "mlir/Dialect/AMX/AMXDialect.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/TargetParser/Host.h"

#if defined(__linux__) && defined(__x86_64__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

using namespace mlir;
using namespace mlir::quant_xform::lowering;

bool mlir::quant_xform::lowering::amxUsable() {
  static const bool usable = [] {
    llvm::StringMap<bool> features = llvm::sys::getHostCPUFeatures();
    if (!features.lookup("amx-int8") || !features.lookup("amx-tile"))
      return false;
#if defined(__linux__) && defined(__x86_64__)
    // ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA (linux/arch/x86).
    constexpr long kReqXcompPerm = 0x1023, kXtileData = 18;
    return syscall(SYS_arch_prctl, kReqXcompPerm, kXtileData) == 0;
#else
    return false;
#endif
  }();
  return usable;
}

namespace {
constexpr int64_t kTileRows = 16;  // rows of every tile
constexpr int64_t kTileBytes = 64; // bytes per tile row (64 k of int8)
constexpr int64_t kDepth = 4;      // k per i32 lane (VNNI)
constexpr int64_t kLanes = 16;     // i32 lanes of a C tile row
constexpr int64_t kPanel = 32;     // columns per panel: two B tiles
constexpr int64_t kUnroll = 8;     // k-tiles per K chunk
/// Row blocks per group: as many as keep the group's activation rows within
/// kGroupBytes (in the 2 MB L2 with a panel of B), at most kMaxGroupBlocks
/// (their C tiles, 4 KB a block, share L1 with a 16 KB chunk of B).
constexpr int64_t kMaxGroupBlocks = 8;
constexpr int64_t kGroupBytes = 1536 * 1024;

/// The index constant `v`.
Value indexAt(OpBuilder &b, Location loc, int64_t v) {
  return arith::ConstantIndexOp::create(b, loc, v);
}

} // namespace

Value mlir::quant_xform::lowering::buildPaddedInt8Rows(OpBuilder &b,
                                                       Location loc, Value qx,
                                                       int64_t mPadded,
                                                       int64_t kPadded,
                                                       int64_t blockRows) {
  Type i8 = b.getI8Type();
  auto index = [&](OpBuilder &ib, int64_t v) { return indexAt(ib, loc, v); };
  // 64-byte chunks, or 32 where K is padded to a multiple of 32 only.
  const int64_t chunk = kPadded % kTileBytes == 0 ? kTileBytes : 32;
  auto chunkType = VectorType::get({1, chunk}, i8);
  auto forall = scf::ForallOp::create(
      b, loc, ArrayRef<OpFoldResult>{b.getIndexAttr(mPadded / blockRows)},
      ValueRange{empty(b, loc, {mPadded, kPadded}, i8)}, std::nullopt);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(forall.getTerminator());
  Value r0 = arith::MulIOp::create(b, loc, forall.getInductionVar(0),
                                   index(b, blockRows));
  SmallVector<OpFoldResult> offsets = {r0, b.getIndexAttr(0)},
                            sizes = {b.getIndexAttr(blockRows),
                                     b.getIndexAttr(kPadded)},
                            unit = {b.getIndexAttr(1), b.getIndexAttr(1)};
  Value block = tensor::ExtractSliceOp::create(
      b, loc, forall.getRegionOutArgs()[0], offsets, sizes, unit);
  Value zero = arith::ConstantOp::create(b, loc, b.getIntegerAttr(i8, 0));
  auto rowLoop = scf::ForOp::create(
      b, loc, index(b, 0), index(b, blockRows), index(b, 1), ValueRange{block},
      [&](OpBuilder &rb, Location, Value r, ValueRange rowArgs) {
        Value row = arith::AddIOp::create(rb, loc, r0, r);
        auto colLoop = scf::ForOp::create(
            rb, loc, index(rb, 0), index(rb, kPadded), index(rb, chunk),
            rowArgs, [&](OpBuilder &cb, Location, Value c, ValueRange colArgs) {
              Value chunk = vector::TransferReadOp::create(
                  cb, loc, chunkType, qx, ValueRange{row, c}, zero,
                  ArrayRef<bool>{false, false});
              Value written = vector::TransferWriteOp::create(
                                  cb, loc, chunk, colArgs[0], ValueRange{r, c},
                                  ArrayRef<bool>{true, true})
                                  .getResult();
              scf::YieldOp::create(cb, loc, written);
            });
        scf::YieldOp::create(rb, loc, colLoop.getResult(0));
      });
  b.setInsertionPointToEnd(forall.getTerminator().getBody());
  tensor::ParallelInsertSliceOp::create(b, loc, rowLoop.getResult(0),
                                        forall.getRegionOutArgs()[0], offsets,
                                        sizes, unit);
  return forall.getResult(0);
}

void mlir::quant_xform::lowering::accumulateTileProducts(
    OpBuilder &b, Location loc, ArrayRef<Value> as, ArrayRef<Value> bs,
    MutableArrayRef<Value> accs) {
  for (size_t a = 0; a < as.size(); ++a)
    for (size_t t = 0; t < bs.size(); ++t) {
      Value &acc = accs[a * bs.size() + t];
      acc = amx::TileMulIOp::create(b, loc, acc.getType(), as[a], bs[t], acc,
                                    /*isZextLhs=*/false, /*isZextRhs=*/false);
    }
}

Value mlir::quant_xform::lowering::scratchBuffer(OpBuilder &b, Location loc,
                                                 ArrayRef<int64_t> shape,
                                                 Type elem) {
  auto type = RankedTensorType::get(shape, elem);
  Value fresh =
      bufferization::AllocTensorOp::create(b, loc, type, ValueRange{});
  return bufferization::ToBufferOp::create(b, loc, MemRefType::get(shape, elem),
                                           fresh);
}

Value mlir::quant_xform::lowering::storeRowsInto(OpBuilder &b, Location loc,
                                                 Value block, Value tile,
                                                 Value row0, int64_t rows,
                                                 bool fullRows, bool fullCols) {
  auto blockType = cast<MemRefType>(block.getType());
  Type f32 = blockType.getElementType();
  int64_t width = blockType.getDimSize(1);
  auto rowVector = VectorType::get({width}, f32);
  auto rowType = VectorType::get({1, width}, f32);
  Value zero = arith::ConstantOp::create(b, loc, b.getZeroAttr(f32));
  Value c0 = indexAt(b, loc, 0);
  auto loop = scf::ForOp::create(
      b, loc, c0, indexAt(b, loc, rows), indexAt(b, loc, 1), ValueRange{tile},
      [&](OpBuilder &lb, Location ll, Value i, ValueRange args) {
        Value y = vector::TransferReadOp::create(lb, ll, rowVector, block,
                                                 ValueRange{i, c0}, zero,
                                                 ArrayRef<bool>{true});
        Value at = arith::AddIOp::create(lb, ll, row0, i);
        Value written =
            vector::TransferWriteOp::create(
                lb, ll, vector::ShapeCastOp::create(lb, ll, rowType, y),
                args[0], ValueRange{at, c0}, ArrayRef<bool>{fullRows, fullCols})
                .getResult();
        scf::YieldOp::create(lb, ll, written);
      });
  tile = loop.getResult(0);
  return tile;
}

Value mlir::quant_xform::lowering::packAmxWeight(OpBuilder &b, Location loc,
                                                 DenseElementsAttr weight,
                                                 int64_t kPadded) {
  auto type = cast<RankedTensorType>(weight.getType());
  int64_t n = type.getDimSize(0), k = type.getDimSize(1);
  int64_t panels = llvm::divideCeil(n, kPanel), steps = kPadded / kDepth;
  // Compile time: w[n, k] → [panel][k / 4][column in panel][k % 4].
  std::vector<int8_t> w = int8WeightValues(weight);
  std::vector<int8_t> packed(panels * steps * kPanel * kDepth, 0);
  for (int64_t c = 0; c < n; ++c)
    for (int64_t kk = 0; kk < k; ++kk)
      packed[(((c / kPanel) * steps + kk / kDepth) * kPanel + c % kPanel) *
                 kDepth +
             kk % kDepth] = w[c * k + kk];
  auto packedType =
      RankedTensorType::get({panels, steps, kPanel * kDepth}, b.getI8Type());
  return arith::ConstantOp::create(
      b, loc,
      DenseElementsAttr::getFromRawBuffer(
          packedType, ArrayRef<char>(reinterpret_cast<char *>(packed.data()),
                                     packed.size())));
}

namespace {

/// The per-row AMX linear, one method per phase: the forall over (group of
/// row blocks, panel) and its tile, the C tiles zeroed, the K chunks of
/// `tdpbssd`, and the dequant + bias epilogue. Sizes are planned in the
/// constructor; the methods build at `b`'s insertion point.
class AmxInt8Gemm {
public:
  AmxInt8Gemm(OpBuilder &b, Location loc, Value qx, int64_t m, int64_t k,
              DenseElementsAttr weight, Value sx, Value sw, Value bias);
  /// Builds the kernel; returns the f32 [M, N] result.
  Value build();

private:
  Value index(OpBuilder &ib, int64_t v) { return indexAt(ib, loc, v); }
  /// The group's first block, end block, first row and its [rows, panel]
  /// slice of `out`.
  Value openGroupTile(Value group, Value out);
  /// The panel's weight scales and bias as kLanes-wide column vectors.
  void loadColumnVectors();
  /// C tiles of every block of the group, at row (block - firstBlock)·rows.
  SmallVector<Value> cIndices(OpBuilder &ib, Value blockRow, int64_t a,
                              int64_t t);
  Value blockRowOf(OpBuilder &ib, Value block);
  /// Zeroes the group's C tiles in the scratch buffer.
  void zeroAccumulators();
  /// Every block of the group runs `count` k-tiles from `firstKTile`.
  void multiplyChunk(OpBuilder &cb, Value firstKTile, int64_t count);
  /// K in chunks of kUnroll k-tiles and a last, shorter one.
  void multiplyK();
  /// y = sx·(sw·float(acc)) + bias for every block; the group tile.
  Value epilogue(Value groupTile);

  OpBuilder &b;
  Location loc;
  Value qx, sx, sw, bias;
  DenseElementsAttr weight;
  const int64_t m, k, n, aTiles, rows, kPadded, fullChunks, lastChunk, panels,
      blocks, groupBlocks;
  const bool fullRows, fullCols;
  Value panel, n0, firstBlock, blockEnd, g0, wm, am, scratch;
  SmallVector<OpFoldResult> offsets, sizes;
  SmallVector<Value> sws, biases;
};

AmxInt8Gemm::AmxInt8Gemm(OpBuilder &b, Location loc, Value qx, int64_t m,
                         int64_t k, DenseElementsAttr weight, Value sx,
                         Value sw, Value bias)
    : b(b), loc(loc), qx(qx), sx(sx), sw(sw), bias(bias), weight(weight), m(m),
      k(k), n(cast<RankedTensorType>(weight.getType()).getDimSize(0)),
      aTiles(m > kTileRows ? 2 : 1), rows(aTiles * kTileRows),
      // K padded to whole k-tiles, run in chunks of kUnroll k-tiles and a
      // last, shorter chunk of the rest.
      kPadded(llvm::alignTo(k, kTileBytes)),
      fullChunks(kPadded / kTileBytes / kUnroll),
      lastChunk(kPadded / kTileBytes % kUnroll),
      panels(llvm::divideCeil(n, kPanel)), blocks(llvm::divideCeil(m, rows)),
      // Tiles: (group of row blocks, panel), panels inner: a thread keeps
      // its group's activation rows (groupBlocks·32 × K) in L2 across the
      // panels and reads each panel once per group, not once per block.
      groupBlocks(
          std::min(blocks, std::clamp<int64_t>(kGroupBytes / (rows * kPadded),
                                               1, kMaxGroupBlocks))),
      fullRows(m % rows == 0), fullCols(n % kPanel == 0) {}

Value AmxInt8Gemm::openGroupTile(Value group, Value out) {
  firstBlock = arith::MulIOp::create(b, loc, group, index(b, groupBlocks));
  blockEnd = arith::MinSIOp::create(
      b, loc, index(b, blocks),
      arith::AddIOp::create(b, loc, firstBlock, index(b, groupBlocks)));
  g0 = arith::MulIOp::create(b, loc, firstBlock, index(b, rows));
  n0 = arith::MulIOp::create(b, loc, panel, index(b, kPanel));
  Value groupRows = arith::SubIOp::create(
      b, loc,
      arith::MinSIOp::create(
          b, loc, index(b, m),
          arith::MulIOp::create(b, loc, blockEnd, index(b, rows))),
      g0);
  OpFoldResult tileCols = b.getIndexAttr(kPanel);
  if (!fullCols)
    tileCols = OpFoldResult(
        arith::MinSIOp::create(b, loc, index(b, kPanel),
                               arith::SubIOp::create(b, loc, index(b, n), n0)));
  offsets = {g0, n0};
  sizes = {groupRows, tileCols};
  SmallVector<OpFoldResult> unit = {b.getIndexAttr(1), b.getIndexAttr(1)};
  return tensor::ExtractSliceOp::create(b, loc, out, offsets, sizes, unit);
}

void AmxInt8Gemm::loadColumnVectors() {
  auto floatType = VectorType::get({kLanes}, b.getF32Type());
  Value zeroFloat = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0));
  auto columnVector = [&](Value t, Value col) -> Value {
    if (cast<RankedTensorType>(t.getType()).getRank() == 0)
      return vector::BroadcastOp::create(b, loc, floatType,
                                         scalarAt(b, loc, t, Value()));
    return vector::TransferReadOp::create(b, loc, floatType, t, ValueRange{col},
                                          zeroFloat, ArrayRef<bool>{fullCols});
  };
  for (int64_t v = 0; v < kPanel / kLanes; ++v) {
    Value col = arith::AddIOp::create(b, loc, n0, index(b, v * kLanes));
    sws.push_back(columnVector(sw, col));
    if (bias)
      biases.push_back(columnVector(bias, col));
  }
}

SmallVector<Value> AmxInt8Gemm::cIndices(OpBuilder &ib, Value blockRow,
                                         int64_t a, int64_t t) {
  return SmallVector<Value>{
      arith::AddIOp::create(ib, loc, blockRow, index(ib, a * kTileRows)),
      index(ib, t * kLanes)};
}

Value AmxInt8Gemm::blockRowOf(OpBuilder &ib, Value block) {
  return arith::MulIOp::create(
      ib, loc, arith::SubIOp::create(ib, loc, block, firstBlock),
      index(ib, rows));
}

void AmxInt8Gemm::zeroAccumulators() {
  auto cTileType = amx::TileType::get({kTileRows, kLanes}, b.getI32Type());
  scf::ForOp::create(b, loc, firstBlock, blockEnd, index(b, 1), ValueRange{},
                     [&](OpBuilder &sb, Location, Value block, ValueRange) {
                       Value blockRow = blockRowOf(sb, block);
                       for (int64_t a = 0; a < aTiles; ++a)
                         for (int64_t t = 0; t < kPanel / kLanes; ++t)
                           amx::TileStoreOp::create(
                               sb, loc, scratch, cIndices(sb, blockRow, a, t),
                               amx::TileZeroOp::create(sb, loc, cTileType));
                       scf::YieldOp::create(sb, loc);
                     });
}

// Tiles cannot cross loop iterations (their LLVM type does not pass through
// block arguments), so each block's step loads its 2 × 2 C tiles, runs the
// chunk's `count` k-tiles from `firstKTile` on them and stores them.
void AmxInt8Gemm::multiplyChunk(OpBuilder &cb, Value firstKTile,
                                int64_t count) {
  Type i8 = b.getI8Type();
  auto aTileType = amx::TileType::get({kTileRows, kTileBytes}, i8);
  auto cTileType = amx::TileType::get({kTileRows, kLanes}, b.getI32Type());
  const int64_t bTiles = kPanel / kLanes;
  scf::ForOp::create(
      cb, loc, firstBlock, blockEnd, index(cb, 1), ValueRange{},
      [&](OpBuilder &lb, Location ll, Value block, ValueRange) {
        Value m0 = arith::MulIOp::create(lb, ll, block, index(lb, rows));
        Value blockRow = blockRowOf(lb, block);
        SmallVector<Value> accs;
        for (int64_t a = 0; a < aTiles; ++a)
          for (int64_t t = 0; t < bTiles; ++t)
            accs.push_back(amx::TileLoadOp::create(
                lb, ll, cTileType, scratch, cIndices(lb, blockRow, a, t)));
        for (int64_t u = 0; u < count; ++u) {
          Value kt = arith::AddIOp::create(lb, ll, firstKTile, index(lb, u));
          Value k0 = arith::MulIOp::create(lb, ll, kt, index(lb, kTileBytes));
          Value step0 =
              arith::MulIOp::create(lb, ll, kt, index(lb, kTileBytes / kDepth));
          SmallVector<Value> as, bs;
          for (int64_t a = 0; a < aTiles; ++a)
            as.push_back(amx::TileLoadOp::create(
                lb, ll, aTileType, am,
                ValueRange{
                    arith::AddIOp::create(lb, ll, m0, index(lb, a * kTileRows)),
                    k0}));
          for (int64_t t = 0; t < bTiles; ++t)
            bs.push_back(amx::TileLoadOp::create(
                lb, ll, aTileType, wm,
                ValueRange{panel, step0, index(lb, t * kLanes * kDepth)}));
          accumulateTileProducts(lb, ll, as, bs, accs);
        }
        for (int64_t a = 0; a < aTiles; ++a)
          for (int64_t t = 0; t < bTiles; ++t)
            amx::TileStoreOp::create(lb, ll, scratch,
                                     cIndices(lb, blockRow, a, t),
                                     accs[a * bTiles + t]);
        scf::YieldOp::create(lb, ll);
      });
}

// K chunks of kUnroll k-tiles outside, the group's blocks inside: the
// panel's chunk of B (32 × 512 bytes) stays in L1 for all the blocks.
void AmxInt8Gemm::multiplyK() {
  if (fullChunks > 0)
    scf::ForOp::create(
        b, loc, index(b, 0), index(b, fullChunks), index(b, 1), ValueRange{},
        [&](OpBuilder &cb, Location, Value chunk, ValueRange) {
          multiplyChunk(
              cb, arith::MulIOp::create(cb, loc, chunk, index(cb, kUnroll)),
              kUnroll);
          scf::YieldOp::create(cb, loc);
        });
  if (lastChunk > 0)
    multiplyChunk(b, index(b, fullChunks * kUnroll), lastChunk);
}

Value AmxInt8Gemm::epilogue(Value groupTile) {
  Type f32 = b.getF32Type();
  auto floatType = VectorType::get({kLanes}, f32);
  auto accType = VectorType::get({kLanes}, b.getI32Type());
  Value zeroInt = arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(0));
  // The epilogue's f32 block, and the row scales as a buffer (memref loads,
  // which bufferization's analysis does not follow).
  Value block32 = scratchBuffer(b, loc, {rows, kPanel}, f32);
  auto sxType = cast<RankedTensorType>(sx.getType());
  Value sxBuf = bufferization::ToBufferOp::create(
      b, loc, MemRefType::get(sxType.getShape(), f32), sx, /*readOnly=*/true);
  auto scaleAt = [&](OpBuilder &sb, Value row) -> Value {
    if (sxType.getRank() == 0)
      return memref::LoadOp::create(sb, loc, sxBuf, ValueRange{});
    return memref::LoadOp::create(sb, loc, sxBuf, ValueRange{row});
  };
  auto blockLoop = scf::ForOp::create(
      b, loc, firstBlock, blockEnd, index(b, 1), ValueRange{groupTile},
      [&](OpBuilder &sb, Location, Value block, ValueRange blockArgs) {
        Value m0 = arith::MulIOp::create(sb, loc, block, index(sb, rows));
        Value rowBase = arith::SubIOp::create(sb, loc, m0, g0);
        Value blockRow = blockRowOf(sb, block);
        // Epilogue: y = sx·(sw·float(acc)) + bias, the evaluator's order,
        // into an f32 block in memory, then copied row by row into the
        // group's tile at row rowBase (see storeRowsInto).
        // Four rows a step of a loop (32 unrolled rows made the code, and
        // its compile, larger for no speed).
        constexpr int64_t kRowUnroll = 4;
        auto rowLoop = scf::ForOp::create(
            sb, loc, index(sb, 0), index(sb, rows), index(sb, kRowUnroll));
        OpBuilder rb = OpBuilder::atBlockTerminator(rowLoop.getBody());
        for (int64_t u = 0; u < kRowUnroll; ++u) {
          Value i = arith::AddIOp::create(rb, loc, rowLoop.getInductionVar(),
                                          index(rb, u));
          Value row = arith::AddIOp::create(rb, loc, m0, i);
          if (!fullRows)
            row = arith::MinSIOp::create(rb, loc, row, index(rb, m - 1));
          Value sxi =
              vector::BroadcastOp::create(rb, loc, floatType, scaleAt(rb, row));
          Value accRow = arith::AddIOp::create(rb, loc, blockRow, i);
          for (int64_t v = 0; v < kPanel / kLanes; ++v) {
            Value acc = vector::TransferReadOp::create(
                rb, loc, accType, scratch,
                ValueRange{accRow, index(rb, v * kLanes)}, zeroInt,
                ArrayRef<bool>{true});
            Value y = arith::SIToFPOp::create(rb, loc, floatType, acc);
            y = arith::MulFOp::create(rb, loc, sws[v], y);
            y = arith::MulFOp::create(rb, loc, sxi, y);
            if (bias)
              y = arith::AddFOp::create(rb, loc, y, biases[v]);
            vector::TransferWriteOp::create(
                rb, loc, y, block32, ValueRange{i, index(rb, v * kLanes)},
                ArrayRef<bool>{true});
          }
        }
        Value result = storeRowsInto(sb, loc, block32, blockArgs[0], rowBase,
                                     rows, fullRows, fullCols);
        scf::YieldOp::create(sb, loc, result);
      });
  return blockLoop.getResult(0);
}

Value AmxInt8Gemm::build() {
  Type i8 = b.getI8Type(), i32 = b.getI32Type(), f32 = b.getF32Type();
  const int64_t mPadded = blocks * rows;
  Value wp = packAmxWeight(b, loc, weight, kPadded);
  auto packedType = cast<RankedTensorType>(wp.getType());

  // Run time, O(M·K): the activation zero-padded to [M₃₂, K₆₄], copied 64
  // bytes at a time by masked vector reads (zeros past M and K) in parallel
  // over 32-row blocks; or the activation itself when it needs no padding
  // and is not a slice (a strided view: the kernel's buffer must have the
  // identity layout).
  Value padded = qx;
  if (mPadded != m || kPadded != k ||
      qx.getDefiningOp<tensor::ExtractSliceOp>())
    padded = buildPaddedInt8Rows(b, loc, qx, mPadded, kPadded, rows);

  Value init = empty(b, loc, {m, n}, f32);
  const int64_t groups = llvm::divideCeil(blocks, groupBlocks);
  auto forall = scf::ForallOp::create(
      b, loc,
      ArrayRef<OpFoldResult>{b.getIndexAttr(groups), b.getIndexAttr(panels)},
      ValueRange{init}, std::nullopt);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(forall.getTerminator());
  panel = forall.getInductionVar(1);
  Value out = forall.getRegionOutArgs()[0];
  Value groupTile = openGroupTile(forall.getInductionVar(0), out);

  // The tiles read the packed weight and the padded activation as buffers.
  wm = bufferization::ToBufferOp::create(
      b, loc, MemRefType::get(packedType.getShape(), i8), wp,
      /*readOnly=*/true);
  am = bufferization::ToBufferOp::create(
      b, loc, MemRefType::get({mPadded, kPadded}, i8), padded,
      /*readOnly=*/true);
  // The epilogue needs the accumulators in memory: a scratch buffer per
  // tile (bufferization allocates and frees it).
  scratch = scratchBuffer(b, loc, {groupBlocks * rows, kPanel}, i32);
  loadColumnVectors();
  zeroAccumulators();
  multiplyK();
  Value result = epilogue(groupTile);
  b.setInsertionPointToEnd(forall.getTerminator().getBody());
  SmallVector<OpFoldResult> unit = {b.getIndexAttr(1), b.getIndexAttr(1)};
  tensor::ParallelInsertSliceOp::create(b, loc, result, out, offsets, sizes,
                                        unit);
  return forall.getResult(0);
}

} // namespace

Value mlir::quant_xform::lowering::buildAmxInt8Linear(
    OpBuilder &b, Location loc, Value qx, int64_t m, int64_t k,
    DenseElementsAttr weight, Value sx, Value sw, Value bias) {
  return AmxInt8Gemm(b, loc, qx, m, k, weight, sx, sw, bias).build();
}
