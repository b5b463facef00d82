//===- Int8AmxKernel.cpp - int8 GEMM on AMX tiles (tdpbssd) --------------===//
//
// The int8 linear with a constant weight on Intel AMX, through the upstream
// `amx` dialect: `amx.tile_muli` is `tdpbssd` (s8 × s8 → i32, a 16 × 64
// byte tile times a 16 × 64 VNNI-packed tile into a 16 × 16 i32 tile), so
// no u8 shift and no weight compensation are needed. The weight is packed
// at compile time as [panel][k / 4][32 columns][k % 4] (K padded to a
// multiple of 64, zeros), so that the B tile of 16 columns × 64 k is a
// 16-row load with the panel's 128-byte row stride; the activation is
// copied once into an [M₃₂, K₆₄] zero-padded buffer. An `scf.forall` over
// (group of four 32-row blocks, panel) runs the group's blocks in turn;
// each accumulates 2 × 2 C tiles over the whole K, 8
// k-tiles per loop iteration in tile registers between a load and a store
// of the C tiles in a scratch buffer (tile values cannot be loop-carried),
// then applies the same dequant + bias epilogue as the VNNI kernel.
//
// Using AMX needs the kernel's permission (Linux arch_prctl
// ARCH_REQ_XCOMP_PERM for XTILEDATA): amxUsable() asks for it in the
// calling process, which is the process that runs JIT-compiled code.
//
//===----------------------------------------------------------------------===//

#include "Int8Microkernel.h"
#include "LinalgBuilders.h"

#include "mlir/Dialect/AMX/AMXDialect.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
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
constexpr int64_t kTileRows = 16;   // rows of every tile
constexpr int64_t kTileBytes = 64;  // bytes per tile row (64 k of int8)
constexpr int64_t kDepth = 4;       // k per i32 lane (VNNI)
constexpr int64_t kLanes = 16;      // i32 lanes of a C tile row
constexpr int64_t kPanel = 32;      // columns per panel: two B tiles
constexpr int64_t kUnroll = 8;      // k-tiles per loop iteration
constexpr int64_t kGroupBlocks = 4; // 32-row blocks per tile (128 rows)

} // namespace

Value mlir::quant_xform::lowering::buildAmxInt8Linear(
    OpBuilder &b, Location loc, Value qx, int64_t m, int64_t k,
    DenseElementsAttr weight, Value sx, Value sw, Value bias) {
  MLIRContext *ctx = b.getContext();
  int64_t n = cast<RankedTensorType>(weight.getType()).getDimSize(0);
  const int64_t aTiles = m > kTileRows ? 2 : 1;
  const int64_t rows = aTiles * kTileRows;
  // k-tiles per loop iteration; K is padded to a multiple of them.
  const int64_t unroll =
      std::min<int64_t>(kUnroll, llvm::divideCeil(k, kTileBytes));
  const int64_t kPadded =
      llvm::divideCeil(k, kTileBytes * unroll) * kTileBytes * unroll;
  const int64_t steps = kPadded / kDepth, kTiles = kPadded / kTileBytes;
  const int64_t panels = llvm::divideCeil(n, kPanel),
                blocks = llvm::divideCeil(m, rows);
  const int64_t mPadded = blocks * rows;
  Type i8 = b.getI8Type(), i32 = b.getI32Type(), f32 = b.getF32Type();

  // Compile time: w[n, k] → [panel][k / 4][column in panel][k % 4].
  std::vector<int8_t> w = int8WeightValues(weight);
  std::vector<int8_t> packed(panels * steps * kPanel * kDepth, 0);
  for (int64_t c = 0; c < n; ++c)
    for (int64_t kk = 0; kk < k; ++kk)
      packed[(((c / kPanel) * steps + kk / kDepth) * kPanel + c % kPanel) *
                 kDepth +
             kk % kDepth] = w[c * k + kk];
  auto packedType = RankedTensorType::get({panels, steps, kPanel * kDepth}, i8);
  Value wp = arith::ConstantOp::create(
      b, loc,
      DenseElementsAttr::getFromRawBuffer(
          packedType, ArrayRef<char>(reinterpret_cast<char *>(packed.data()),
                                     packed.size())));

  // Run time, O(M·K): the activation zero-padded to [M₃₂, K₆₄].
  AffineMap id = AffineMap::getMultiDimIdentityMap(2, ctx);
  Value padded =
      generic(b, loc, {}, {empty(b, loc, {mPadded, kPadded}, i8)}, {id}, 2, {},
              [&](OpBuilder &nb, Location nl, ValueRange) {
                Value row = linalg::IndexOp::create(nb, nl, 0);
                Value col = linalg::IndexOp::create(nb, nl, 1);
                Value lastRow = arith::ConstantIndexOp::create(nb, nl, m - 1);
                Value lastCol = arith::ConstantIndexOp::create(nb, nl, k - 1);
                Value inside = arith::AndIOp::create(
                    nb, nl,
                    arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::sle,
                                          row, lastRow),
                    arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::sle,
                                          col, lastCol));
                Value v = tensor::ExtractOp::create(
                    nb, nl, qx,
                    ValueRange{arith::MinSIOp::create(nb, nl, row, lastRow),
                               arith::MinSIOp::create(nb, nl, col, lastCol)});
                Value zero =
                    arith::ConstantOp::create(nb, nl, nb.getIntegerAttr(i8, 0));
                return SmallVector<Value>{
                    arith::SelectOp::create(nb, nl, inside, v, zero)};
              })
          .front();

  auto index = [&](OpBuilder &ib, int64_t v) -> Value {
    return arith::ConstantIndexOp::create(ib, loc, v);
  };
  bool fullRows = m % rows == 0, fullCols = n % kPanel == 0;
  Value init = empty(b, loc, {m, n}, f32);
  // Tiles: (group of row blocks, panel), panels inner: a thread keeps its
  // group's activation rows (kGroupBlocks·32 × K) in L2 across the panels
  // and reads each panel once per group, not once per block.
  const int64_t groups = llvm::divideCeil(blocks, kGroupBlocks);
  auto forall = scf::ForallOp::create(
      b, loc,
      ArrayRef<OpFoldResult>{b.getIndexAttr(groups), b.getIndexAttr(panels)},
      ValueRange{init}, std::nullopt);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(forall.getTerminator());
  Value group = forall.getInductionVar(0), panel = forall.getInductionVar(1);
  Value out = forall.getRegionOutArgs()[0];
  Value firstBlock =
      arith::MulIOp::create(b, loc, group, index(b, kGroupBlocks));
  Value blockEnd = arith::MinSIOp::create(
      b, loc, index(b, blocks),
      arith::AddIOp::create(b, loc, firstBlock, index(b, kGroupBlocks)));
  Value g0 = arith::MulIOp::create(b, loc, firstBlock, index(b, rows));
  Value n0 = arith::MulIOp::create(b, loc, panel, index(b, kPanel));
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
  SmallVector<OpFoldResult> offsets = {g0, n0}, sizes = {groupRows, tileCols},
                            unit = {b.getIndexAttr(1), b.getIndexAttr(1)};
  Value groupTile =
      tensor::ExtractSliceOp::create(b, loc, out, offsets, sizes, unit);

  // The tiles read the packed weight and the padded activation as buffers.
  auto wType = MemRefType::get(packedType.getShape(), i8);
  auto aType = MemRefType::get({mPadded, kPadded}, i8);
  Value wm = bufferization::ToBufferOp::create(b, loc, wType, wp,
                                               /*readOnly=*/true);
  Value am = bufferization::ToBufferOp::create(b, loc, aType, padded,
                                               /*readOnly=*/true);
  auto aTileType = amx::TileType::get({kTileRows, kTileBytes}, i8);
  auto cTileType = amx::TileType::get({kTileRows, kLanes}, i32);
  const int64_t bTiles = kPanel / kLanes;
  // The epilogue needs the accumulators in memory: a scratch buffer per
  // tile (bufferization allocates and frees it).
  Value scratch = bufferization::ToBufferOp::create(
      b, loc, MemRefType::get({rows, kPanel}, i32),
      empty(b, loc, {rows, kPanel}, i32));

  // The panel's scales and bias, for the epilogue.
  auto floatType = VectorType::get({kLanes}, f32);
  auto accType = VectorType::get({kLanes}, i32);
  Value zeroFloat = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0));
  Value zeroInt = arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(0));
  auto columnVector = [&](Value t, Value col) -> Value {
    if (cast<RankedTensorType>(t.getType()).getRank() == 0)
      return vector::BroadcastOp::create(b, loc, floatType,
                                         scalarAt(b, loc, t, Value()));
    return vector::TransferReadOp::create(b, loc, floatType, t, ValueRange{col},
                                          zeroFloat, ArrayRef<bool>{fullCols});
  };
  SmallVector<Value> sws, biases;
  for (int64_t v = 0; v < bTiles; ++v) {
    Value col = arith::AddIOp::create(b, loc, n0, index(b, v * kLanes));
    sws.push_back(columnVector(sw, col));
    if (bias)
      biases.push_back(columnVector(bias, col));
  }

  auto blockLoop = scf::ForOp::create(
      b, loc, firstBlock, blockEnd, index(b, 1), ValueRange{groupTile},
      [&](OpBuilder &sb, Location, Value block, ValueRange blockArgs) {
        Value m0 = arith::MulIOp::create(sb, loc, block, index(sb, rows));
        Value rowBase = arith::SubIOp::create(sb, loc, m0, g0);
        // Accumulate in the scratch: tiles cannot cross loop iterations
        // (their LLVM type does not pass through block arguments), so each
        // iteration loads the 2 × 2 C tiles, runs kUnroll k-tiles on them
        // and stores them.
        auto cIndices = [&](OpBuilder &ib, int64_t a, int64_t t) {
          return SmallVector<Value>{index(ib, a * kTileRows),
                                    index(ib, t * kLanes)};
        };
        for (int64_t a = 0; a < aTiles; ++a)
          for (int64_t t = 0; t < bTiles; ++t)
            amx::TileStoreOp::create(
                sb, loc, scratch, cIndices(sb, a, t),
                amx::TileZeroOp::create(sb, loc, cTileType));
        scf::ForOp::create(
            sb, loc, index(sb, 0), index(sb, kTiles / unroll), index(sb, 1),
            ValueRange{},
            [&](OpBuilder &lb, Location ll, Value it, ValueRange) {
              SmallVector<Value> accs;
              for (int64_t a = 0; a < aTiles; ++a)
                for (int64_t t = 0; t < bTiles; ++t)
                  accs.push_back(amx::TileLoadOp::create(
                      lb, ll, cTileType, scratch, cIndices(lb, a, t)));
              for (int64_t u = 0; u < unroll; ++u) {
                Value kt = arith::AddIOp::create(
                    lb, ll,
                    arith::MulIOp::create(lb, ll, it, index(lb, unroll)),
                    index(lb, u));
                Value k0 =
                    arith::MulIOp::create(lb, ll, kt, index(lb, kTileBytes));
                Value step0 = arith::MulIOp::create(
                    lb, ll, kt, index(lb, kTileBytes / kDepth));
                SmallVector<Value> as, bs;
                for (int64_t a = 0; a < aTiles; ++a)
                  as.push_back(amx::TileLoadOp::create(
                      lb, ll, aTileType, am,
                      ValueRange{arith::AddIOp::create(
                                     lb, ll, m0, index(lb, a * kTileRows)),
                                 k0}));
                for (int64_t t = 0; t < bTiles; ++t)
                  bs.push_back(amx::TileLoadOp::create(
                      lb, ll, aTileType, wm,
                      ValueRange{panel, step0,
                                 index(lb, t * kLanes * kDepth)}));
                for (int64_t a = 0; a < aTiles; ++a)
                  for (int64_t t = 0; t < bTiles; ++t)
                    accs[a * bTiles + t] = amx::TileMulIOp::create(
                        lb, ll, cTileType, as[a], bs[t], accs[a * bTiles + t],
                        /*isZextLhs=*/false, /*isZextRhs=*/false);
              }
              for (int64_t a = 0; a < aTiles; ++a)
                for (int64_t t = 0; t < bTiles; ++t)
                  amx::TileStoreOp::create(lb, ll, scratch, cIndices(lb, a, t),
                                           accs[a * bTiles + t]);
              scf::YieldOp::create(lb, ll);
            });

        // Epilogue: y = sx·(sw·float(acc)) + bias, the evaluator's order,
        // into the group's tile at row rowBase + i. Each row is written as a
        // 1 × 16 vector whose row dimension is masked, so rows past M are
        // not stored without a branch per row (32 scf.if in a loop made
        // bufferization's analysis blow up).
        auto rowType = VectorType::get({1, kLanes}, f32);
        Value result = blockArgs[0];
        for (int64_t i = 0; i < rows; ++i) {
          Value row = arith::AddIOp::create(sb, loc, m0, index(sb, i));
          if (!fullRows)
            row = arith::MinSIOp::create(sb, loc, row, index(sb, m - 1));
          Value sxi = vector::BroadcastOp::create(sb, loc, floatType,
                                                  scalarAt(sb, loc, sx, row));
          Value outRow = arith::AddIOp::create(sb, loc, rowBase, index(sb, i));
          for (int64_t v = 0; v < bTiles; ++v) {
            Value acc = vector::TransferReadOp::create(
                sb, loc, accType, scratch,
                ValueRange{index(sb, i), index(sb, v * kLanes)}, zeroInt,
                ArrayRef<bool>{true});
            Value y = arith::SIToFPOp::create(sb, loc, floatType, acc);
            y = arith::MulFOp::create(sb, loc, sws[v], y);
            y = arith::MulFOp::create(sb, loc, sxi, y);
            if (bias)
              y = arith::AddFOp::create(sb, loc, y, biases[v]);
            result =
                vector::TransferWriteOp::create(
                    sb, loc, vector::ShapeCastOp::create(sb, loc, rowType, y),
                    result, ValueRange{outRow, index(sb, v * kLanes)},
                    ArrayRef<bool>{fullRows, fullCols})
                    .getResult();
          }
        }
        scf::YieldOp::create(sb, loc, result);
      });
  Value result = blockLoop.getResult(0);
  b.setInsertionPointToEnd(forall.getTerminator().getBody());
  tensor::ParallelInsertSliceOp::create(b, loc, result, out, offsets, sizes,
                                        unit);
  return forall.getResult(0);
}
