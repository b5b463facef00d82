//===- Int8AmxGroupedKernel.cpp - per-group int8 GEMM on AMX tiles --------===//
//
// The packed linear with per-group input scales, y = bias + Σ_g (sx[m, g]·
// sw[n, g])·Σ_{k∈g} qx·w, on Intel AMX through the upstream `amx` dialect.
// A group of G inputs (a multiple of 32) is G/64 tdpbssd per C tile, or one
// on half-width tiles where G is an odd multiple of 32: A tiles of 16 rows
// × 64 (32) bytes, B tiles of 16 (8) k-steps × 16 columns × 4 bytes, read
// from the per-token AMX kernel's packed weight. A 32 × 32 block's 2 × 2 C
// tiles start from zero each group; after the group they are stored to an
// i32 scratch, and vector code adds (sx·sw)·float(c) to the block's f32
// sums in a second scratch. That is the VNNI kernel's arithmetic in its
// order (the bias first, then group by group), so both kernels give the
// same bits. Tiles are (column panel, 32-row block) with blocks inner, as
// in the VNNI kernel: a thread keeps a panel of the weight in cache while
// it sweeps the rows.
//
//===----------------------------------------------------------------------===//

#include "Int8Microkernel.h"
#include "quant-xform/Conversion/QuantXformToLinalg/LinalgBuilders.h"

#include "mlir/Dialect/AMX/AMXDialect.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "llvm/Support/MathExtras.h"

using namespace mlir;
using namespace mlir::quant_xform::lowering;

namespace {
constexpr int64_t kTileRows = 16; // rows of every tile
constexpr int64_t kLanes = 16;    // i32 lanes of a C tile row
constexpr int64_t kPanel = 32;    // columns per panel: two B tiles
constexpr int64_t kDepth = 4;     // k per i32 lane (VNNI packing)
constexpr int64_t kBTiles = kPanel / kLanes;
constexpr int64_t kRowUnroll = 4; // rows a step of the vector loops

/// Builds the grouped AMX linear: one method per phase of a tile.
class AmxGroupedInt8Gemm {
public:
  AmxGroupedInt8Gemm(OpBuilder &b, Location loc, const PackedInt8Operands &ops,
                     Value swByGroup)
      : b(b), loc(loc), ops(ops), sw(swByGroup ? swByGroup : ops.sw),
        n(cast<RankedTensorType>(ops.weight.getType()).getDimSize(0)),
        aTiles(ops.m > kTileRows ? 2 : 1), rows(aTiles * kTileRows),
        groupK(ops.k / ops.groups), kTile(groupK % 64 == 0 ? 64 : 32),
        panels(llvm::divideCeil(n, kPanel)),
        blocks(llvm::divideCeil(ops.m, rows)) {}

  /// The [M, N] f32 result.
  Value build();

private:
  Value index(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  /// The scratch buffers and the f32 sums set to the bias (or zero).
  void initAccumulators();
  /// Group `g`'s tdpbssd into zeroed C tiles, stored to the i32 scratch at
  /// row `slot` (0 or `rows`: two slots, so that a group's sums are added
  /// while the next group's tiles run).
  void multiplyGroup(Value g, Value slot);
  /// f32 sums += (sx[m, g]·sw[n, g])·float(c) with c at row `slot` of the
  /// i32 scratch, the VNNI kernel's order.
  void addGroup(Value g, Value slot);
  /// The scratch row of group `g`'s sums: (g mod 2)·rows.
  Value slotOf(Value g);
  /// `body(i)` for the block's rows i, in a loop of `unroll` rows a step
  /// (unrolled 32 rows made the kernel's code, and its compile, 4× larger).
  void forEachRow(int64_t unroll, llvm::function_ref<void(Value)> body);
  /// The row of the scales for block row `i` (M − 1 past M).
  Value scaleRow(Value i);
  /// 16 columns from `col` of a rank-0, [N] or [G, N] tensor.
  Value columnVector(Value t, Value col, Value g = Value());

  OpBuilder &b;
  Location loc;
  const PackedInt8Operands &ops;
  Value sw;
  const int64_t n, aTiles, rows, groupK, kTile, panels, blocks;
  bool fullRows = false, fullCols = false;
  // Inside the tile loop.
  Value weightBuf, rowsBuf, sxBuf, accInt, accFloat, panel, m0, n0;
};

} // namespace

Value AmxGroupedInt8Gemm::columnVector(Value t, Value col, Value g) {
  return scaleColumns(b, loc, t, col, g, fullCols);
}

void AmxGroupedInt8Gemm::initAccumulators() {
  accInt = scratchBuffer(b, loc, {2 * rows, kPanel}, b.getI32Type());
  accFloat = scratchBuffer(b, loc, {rows, kPanel}, b.getF32Type());
  SmallVector<Value> inits =
      biasColumns(b, loc, ops.bias, n0, kBTiles, fullCols);
  forEachRow(kRowUnroll, [&](Value i) {
    for (int64_t v = 0; v < kBTiles; ++v)
      vector::TransferWriteOp::create(b, loc, inits[v], accFloat,
                                      ValueRange{i, index(v * kLanes)},
                                      ArrayRef<bool>{true});
  });
}

void AmxGroupedInt8Gemm::forEachRow(int64_t unroll,
                                    llvm::function_ref<void(Value)> body) {
  auto loop = scf::ForOp::create(b, loc, index(0), index(rows), index(unroll));
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(loop.getBody()->getTerminator());
  for (int64_t u = 0; u < unroll; ++u)
    body(arith::AddIOp::create(b, loc, loop.getInductionVar(), index(u)));
}

Value AmxGroupedInt8Gemm::scaleRow(Value i) {
  // Rows past M (last block) read row M − 1's scales and are never stored.
  Value r = arith::AddIOp::create(b, loc, m0, i);
  if (!fullRows)
    r = arith::MinSIOp::create(b, loc, r, index(ops.m - 1));
  return r;
}

Value AmxGroupedInt8Gemm::slotOf(Value g) {
  Value parity = arith::AndIOp::create(b, loc, g, index(1));
  return arith::MulIOp::create(b, loc, parity, index(rows));
}

void AmxGroupedInt8Gemm::multiplyGroup(Value g, Value slot) {
  Type i8 = b.getI8Type();
  auto aTileType = amx::TileType::get({kTileRows, kTile}, i8);
  auto bTileType = amx::TileType::get({kTile / kDepth, kLanes * kDepth}, i8);
  auto cTileType = amx::TileType::get({kTileRows, kLanes}, b.getI32Type());
  SmallVector<Value> accs;
  for (int64_t t = 0; t < aTiles * kBTiles; ++t)
    accs.push_back(amx::TileZeroOp::create(b, loc, cTileType));
  Value groupStart = arith::MulIOp::create(b, loc, g, index(groupK));
  for (int64_t u = 0; u < groupK / kTile; ++u) {
    Value k0 = arith::AddIOp::create(b, loc, groupStart, index(u * kTile));
    Value step0 = arith::DivUIOp::create(b, loc, k0, index(kDepth));
    SmallVector<Value> as, bs;
    for (int64_t a = 0; a < aTiles; ++a)
      as.push_back(amx::TileLoadOp::create(
          b, loc, aTileType, rowsBuf,
          ValueRange{arith::AddIOp::create(b, loc, m0, index(a * kTileRows)),
                     k0}));
    for (int64_t t = 0; t < kBTiles; ++t)
      bs.push_back(amx::TileLoadOp::create(
          b, loc, bTileType, weightBuf,
          ValueRange{panel, step0, index(t * kLanes * kDepth)}));
    accumulateTileProducts(b, loc, as, bs, accs);
  }
  for (int64_t a = 0; a < aTiles; ++a)
    for (int64_t t = 0; t < kBTiles; ++t)
      amx::TileStoreOp::create(
          b, loc, accInt,
          ValueRange{arith::AddIOp::create(b, loc, slot, index(a * kTileRows)),
                     index(t * kLanes)},
          accs[a * kBTiles + t]);
}

void AmxGroupedInt8Gemm::addGroup(Value g, Value slot) {
  auto accType = VectorType::get({kLanes}, b.getI32Type());
  auto floatType = VectorType::get({kLanes}, b.getF32Type());
  Value zeroInt = arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(0));
  Value zeroFloat = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0));
  SmallVector<Value> sws;
  for (int64_t v = 0; v < kBTiles; ++v)
    sws.push_back(columnVector(
        sw, arith::AddIOp::create(b, loc, n0, index(v * kLanes)), g));
  forEachRow(kRowUnroll, [&](Value i) {
    Value sxi = vector::BroadcastOp::create(
        b, loc, floatType,
        memref::LoadOp::create(b, loc, sxBuf, ValueRange{scaleRow(i), g}));
    for (int64_t v = 0; v < kBTiles; ++v) {
      SmallVector<Value> where = {i, index(v * kLanes)};
      SmallVector<Value> at = {arith::AddIOp::create(b, loc, slot, i),
                               where[1]};
      Value acc = vector::TransferReadOp::create(b, loc, accType, accInt, at,
                                                 zeroInt, ArrayRef<bool>{true});
      Value d = arith::SIToFPOp::create(b, loc, floatType, acc);
      Value scale = arith::MulFOp::create(b, loc, sxi, sws[v]);
      Value p = arith::MulFOp::create(b, loc, scale, d);
      Value y = vector::TransferReadOp::create(
          b, loc, floatType, accFloat, where, zeroFloat, ArrayRef<bool>{true});
      vector::TransferWriteOp::create(b, loc,
                                      arith::AddFOp::create(b, loc, y, p),
                                      accFloat, where, ArrayRef<bool>{true});
    }
  });
}

Value AmxGroupedInt8Gemm::build() {
  const int64_t m = ops.m, k = ops.k, mPadded = blocks * rows;
  Type i8 = b.getI8Type();
  // K is a multiple of the 32-input groups: only M is padded (or a slice,
  // a strided view, copied: the tile loads need the identity layout).
  Value wp = packAmxWeight(b, loc, ops.weight, k);
  Value padded = ops.qx;
  if (mPadded != m || ops.qx.getDefiningOp<tensor::ExtractSliceOp>())
    padded = buildPaddedInt8Rows(b, loc, ops.qx, mPadded, k, rows);
  fullRows = m % rows == 0;
  fullCols = n % kPanel == 0;

  auto forall = scf::ForallOp::create(
      b, loc,
      ArrayRef<OpFoldResult>{b.getIndexAttr(panels), b.getIndexAttr(blocks)},
      ValueRange{empty(b, loc, {m, n}, b.getF32Type())}, std::nullopt);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(forall.getTerminator());
  panel = forall.getInductionVar(0);
  m0 = arith::MulIOp::create(b, loc, forall.getInductionVar(1), index(rows));
  n0 = arith::MulIOp::create(b, loc, panel, index(kPanel));
  OpFoldResult tileRows = b.getIndexAttr(rows),
               tileCols = b.getIndexAttr(kPanel);
  if (!fullRows)
    tileRows = OpFoldResult(arith::MinSIOp::create(
        b, loc, index(rows), arith::SubIOp::create(b, loc, index(m), m0)));
  if (!fullCols)
    tileCols = OpFoldResult(arith::MinSIOp::create(
        b, loc, index(kPanel), arith::SubIOp::create(b, loc, index(n), n0)));
  SmallVector<OpFoldResult> offsets = {m0, n0}, sizes = {tileRows, tileCols},
                            unit = {b.getIndexAttr(1), b.getIndexAttr(1)};
  Value out = forall.getRegionOutArgs()[0];
  Value tile =
      tensor::ExtractSliceOp::create(b, loc, out, offsets, sizes, unit);
  auto packedType = cast<RankedTensorType>(wp.getType());
  weightBuf = bufferization::ToBufferOp::create(
      b, loc, MemRefType::get(packedType.getShape(), i8), wp,
      /*readOnly=*/true);
  rowsBuf = bufferization::ToBufferOp::create(
      b, loc, MemRefType::get({mPadded, k}, i8), padded, /*readOnly=*/true);
  // The scales as a buffer: memref loads, which bufferization's analysis
  // does not follow, where 32 tensor.extract per group made it slow.
  auto sxType = cast<RankedTensorType>(ops.sx.getType());
  sxBuf = bufferization::ToBufferOp::create(
      b, loc, MemRefType::get(sxType.getShape(), sxType.getElementType()),
      ops.sx, /*readOnly=*/true);
  initAccumulators();
  // Software-pipelined: group g's tiles run before group g − 1's sums are
  // added, which then read tile stores that have long completed (a vector
  // load right behind an AMX store of the same bytes waits for it).
  multiplyGroup(index(0), index(0));
  auto groupLoop =
      scf::ForOp::create(b, loc, index(1), index(ops.groups), index(1));
  {
    OpBuilder::InsertionGuard inLoop(b);
    b.setInsertionPoint(groupLoop.getBody()->getTerminator());
    Value g = groupLoop.getInductionVar();
    multiplyGroup(g, slotOf(g));
    Value previous = arith::SubIOp::create(b, loc, g, index(1));
    addGroup(previous, slotOf(previous));
  }
  addGroup(index(ops.groups - 1), index(((ops.groups - 1) % 2) * rows));
  tile =
      storeRowsInto(b, loc, accFloat, tile, index(0), rows, fullRows, fullCols);
  b.setInsertionPointToEnd(forall.getTerminator().getBody());
  tensor::ParallelInsertSliceOp::create(b, loc, tile, out, offsets, sizes,
                                        unit);
  return forall.getResult(0);
}

Value mlir::quant_xform::lowering::buildAmxGroupedInt8Linear(
    OpBuilder &b, Location loc, const PackedInt8Operands &ops,
    Value swByGroup) {
  return AmxGroupedInt8Gemm(b, loc, ops, swByGroup).build();
}
