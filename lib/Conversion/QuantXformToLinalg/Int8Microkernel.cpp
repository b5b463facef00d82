//===- Int8Microkernel.cpp - packed, register-blocked int8 GEMM ----------===//
//
// Upstream has no pattern that produces AVX-512 VNNI code: x86vector's
// `avx.dot.i8` is `vpdpbssd` (AVX-VNNI-INT8, s8 × s8, 256-bit), which
// Sapphire Rapids-class CPUs lack, and the linalg vectorizer turns an int8
// contraction into widening multiplies. This file emits the tiled loop nest
// itself, on tensors (so that one-shot bufferization and the upstream
// lowering take it from there), with `vpdpbusd` as the pure
// `qx_cpu.dot_u8s8` (an `llvm.call_intrinsic` after bufferization).
//
//===----------------------------------------------------------------------===//

#include "Int8Microkernel.h"
#include "LinalgBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "quant-xform/Dialect/QuantXformCPU/IR/QuantXformCPU.h"
#include "llvm/TargetParser/Host.h"

#include <array>
#include <cstring>

using namespace mlir;
using namespace mlir::quant_xform::lowering;

FailureOr<Int8Kernel>
mlir::quant_xform::lowering::parseInt8Kernel(StringRef name) {
  if (name == "loops")
    return Int8Kernel::Loops;
  if (name == "vector")
    return Int8Kernel::Vector;
  if (name == "avx512-vnni")
    return Int8Kernel::Avx512Vnni;
  if (name == "auto")
    return llvm::sys::getHostCPUFeatures().lookup("avx512vnni")
               ? Int8Kernel::Avx512Vnni
               : Int8Kernel::Vector;
  return failure();
}

namespace {

constexpr int64_t kLanes = 16; // i32 lanes of a 512-bit vector
constexpr int64_t kDepth = 4;  // int8 products per i32 lane and step
/// K blocking, for K > 4·kBlockedAboveSteps: k steps per chunk (2048 bytes
/// of an activation row), rows and panels per tile.
constexpr int64_t kBlockedAboveSteps = 1024;
constexpr int64_t kChunkSteps = 512;
constexpr int64_t kGroupRows = 256;
constexpr int64_t kGroupPanels = 8;

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

/// The weight in row-major order as int8 values.
std::vector<int8_t> weightValues(DenseElementsAttr weight) {
  int64_t count = weight.getNumElements();
  std::vector<int8_t> w(count);
  if (weight.isSplat()) {
    std::fill(
        w.begin(), w.end(),
        static_cast<int8_t>(weight.getSplatValue<APInt>().getSExtValue()));
    return w;
  }
  ArrayRef<char> raw = weight.getRawData();
  std::memcpy(w.data(), raw.data(), count);
  return w;
}

/// acc[j] += Σ_l a[4j + l] · w[4j + l] with `a` unsigned and `w` signed
/// bytes (`vpdpbusd` semantics, wrapping i32 sums).
Value dot4(OpBuilder &b, Location loc, Int8Kernel kernel, Value acc, Value a,
           Value w) {
  if (kernel == Int8Kernel::Avx512Vnni)
    return quant_xform::cpu_isa::DotU8S8Op::create(b, loc, acc.getType(), acc,
                                                   a, w);
  auto wide = cast<VectorType>(acc.getType());
  for (int64_t l = 0; l < kDepth; ++l) {
    SmallVector<int64_t> lanes;
    for (int64_t j = 0; j < kLanes; ++j)
      lanes.push_back(kDepth * j + l);
    Value al = vector::ShuffleOp::create(b, loc, a, a, lanes);
    Value wl = vector::ShuffleOp::create(b, loc, w, w, lanes);
    Value p =
        arith::MulIOp::create(b, loc, arith::ExtUIOp::create(b, loc, wide, al),
                              arith::ExtSIOp::create(b, loc, wide, wl));
    acc = arith::AddIOp::create(b, loc, acc, p);
  }
  return acc;
}

/// One f32 value of a rank-0 tensor, or element `i` of a rank-1 one.
Value scalarAt(OpBuilder &b, Location loc, Value t, Value i) {
  if (cast<RankedTensorType>(t.getType()).getRank() == 0)
    return tensor::ExtractOp::create(b, loc, t, ValueRange{});
  return tensor::ExtractOp::create(b, loc, t, ValueRange{i});
}

} // namespace

Value mlir::quant_xform::lowering::buildPackedInt8Linear(
    OpBuilder &b, Location loc, Value qx, int64_t m, int64_t k,
    DenseElementsAttr weight, Value sx, Value sw, Value bias, Int8Kernel kernel,
    MicrokernelShape shape) {
  MLIRContext *ctx = b.getContext();
  int64_t n = cast<RankedTensorType>(weight.getType()).getDimSize(0);
  // Fewer rows than the block: a shorter block (no wasted dot products).
  const int64_t vecs = shape.vectors, rows = std::min(shape.rows, m);
  const int64_t panelWidth = kLanes * vecs;
  const int64_t panels = ceilDiv(n, panelWidth), blocks = ceilDiv(m, rows);
  const int64_t steps = ceilDiv(k, kDepth), kPadded = steps * kDepth;
  Type i8 = b.getI8Type(), i32 = b.getI32Type(), f32 = b.getF32Type();

  // Compile time: pack w[n, k] as [panel][k / 4][column in panel][k % 4]
  // (zero padded) and compensate the u8 shift: Σ (a + 128)·w − 128·Σ w.
  std::vector<int8_t> w = weightValues(weight);
  std::vector<int8_t> packed(panels * steps * panelWidth * kDepth, 0);
  std::vector<int32_t> compensation(panels * panelWidth, 0);
  for (int64_t c = 0; c < n; ++c) {
    int64_t panel = c / panelWidth, j = c % panelWidth;
    int32_t sum = 0;
    for (int64_t kk = 0; kk < k; ++kk) {
      int8_t v = w[c * k + kk];
      packed[((panel * steps + kk / kDepth) * panelWidth + j) * kDepth +
             kk % kDepth] = v;
      sum += v;
    }
    compensation[c] = -128 * sum;
  }
  auto packedType =
      RankedTensorType::get({panels, steps, panelWidth * kDepth}, i8);
  Value wp = arith::ConstantOp::create(
      b, loc,
      DenseElementsAttr::getFromRawBuffer(
          packedType, ArrayRef<char>(reinterpret_cast<char *>(packed.data()),
                                     packed.size())));
  Value comp = arith::ConstantOp::create(
      b, loc,
      DenseElementsAttr::get(RankedTensorType::get({panels * panelWidth}, i32),
                             ArrayRef<int32_t>(compensation)));

  // Run time, O(M·K): a + 128 as u8 (xor of the sign bit), K padded to a
  // multiple of 4 with zeros (read as a gather: no copy into a slice).
  AffineMap id = AffineMap::getMultiDimIdentityMap(2, ctx);
  auto shift = [&](OpBuilder &nb, Location nl, Value v) -> Value {
    Value bit = arith::ConstantOp::create(nb, nl, nb.getIntegerAttr(i8, -128));
    return arith::XOrIOp::create(nb, nl, v, bit);
  };
  Value au;
  if (kPadded == k) {
    au = generic(b, loc, {qx}, {empty(b, loc, {m, k}, i8)}, {id, id}, 2, {},
                 [&](OpBuilder &nb, Location nl, ValueRange a) {
                   return SmallVector<Value>{shift(nb, nl, a[0])};
                 })
             .front();
  } else {
    au = generic(
             b, loc, {}, {empty(b, loc, {m, kPadded}, i8)}, {id}, 2, {},
             [&](OpBuilder &nb, Location nl, ValueRange) {
               Value row = linalg::IndexOp::create(nb, nl, 0);
               Value col = linalg::IndexOp::create(nb, nl, 1);
               Value last = arith::ConstantIndexOp::create(nb, nl, k - 1);
               Value inside = arith::CmpIOp::create(
                   nb, nl, arith::CmpIPredicate::sle, col, last);
               Value v = tensor::ExtractOp::create(
                   nb, nl, qx,
                   ValueRange{row, arith::MinSIOp::create(nb, nl, col, last)});
               Value zero =
                   arith::ConstantOp::create(nb, nl, nb.getIntegerAttr(i8, 0));
               return SmallVector<Value>{arith::SelectOp::create(
                   nb, nl, inside, shift(nb, nl, v), zero)};
             })
             .front();
  }

  auto index = [&](OpBuilder &ib, int64_t v) -> Value {
    return arith::ConstantIndexOp::create(ib, loc, v);
  };
  bool fullRows = m % rows == 0, fullCols = n % panelWidth == 0;
  auto accType = VectorType::get({kLanes}, i32);
  auto bytesType = VectorType::get({kLanes * kDepth}, i8);
  auto floatType = VectorType::get({kLanes}, f32);

  // The rows of the block starting at m0; rows past M (last block) read
  // row M − 1 and are never stored.
  auto blockRows = [&](OpBuilder &ib, Value m0) {
    SmallVector<Value> rowIndex;
    for (int64_t i = 0; i < rows; ++i) {
      Value r = arith::AddIOp::create(ib, loc, m0, index(ib, i));
      if (!fullRows)
        r = arith::MinSIOp::create(ib, loc, r, index(ib, m - 1));
      rowIndex.push_back(r);
    }
    return rowIndex;
  };

  // The register block: `inits` (rows × vecs accumulators) plus the dot
  // products of k steps [lo, hi) of `panel`.
  auto accumulate = [&](OpBuilder &ib, Value panel, ArrayRef<Value> rowIndex,
                        ValueRange inits, Value lo, Value hi) {
    auto kLoop = scf::ForOp::create(
        ib, loc, lo, hi, index(ib, 1), inits,
        [&](OpBuilder &lb, Location ll, Value step, ValueRange accs) {
          Value zeroByte =
              arith::ConstantOp::create(lb, ll, lb.getIntegerAttr(i8, 0));
          SmallVector<Value> ws;
          for (int64_t v = 0; v < vecs; ++v)
            ws.push_back(vector::TransferReadOp::create(
                lb, ll, bytesType, wp,
                ValueRange{panel, step,
                           arith::ConstantIndexOp::create(lb, ll,
                                                          v * kLanes * kDepth)},
                zeroByte, ArrayRef<bool>{true}));
          Value kOffset = arith::MulIOp::create(
              lb, ll, step, arith::ConstantIndexOp::create(lb, ll, kDepth));
          SmallVector<Value> next;
          for (int64_t i = 0; i < rows; ++i) {
            Value four = vector::TransferReadOp::create(
                lb, ll, VectorType::get({kDepth}, i8), au,
                ValueRange{rowIndex[i], kOffset}, zeroByte,
                ArrayRef<bool>{true});
            Value word = vector::ExtractOp::create(
                lb, ll,
                vector::BitCastOp::create(lb, ll, VectorType::get({1}, i32),
                                          four),
                ArrayRef<int64_t>{0});
            Value a = vector::BitCastOp::create(
                lb, ll, bytesType,
                vector::BroadcastOp::create(lb, ll, accType, word));
            for (int64_t v = 0; v < vecs; ++v)
              next.push_back(
                  dot4(lb, ll, kernel, accs[i * vecs + v], a, ws[v]));
          }
          scf::YieldOp::create(lb, ll, next);
        });
    return SmallVector<Value>(kLoop.getResults());
  };

  // Epilogue into `tile` at (rowBase, colBase), the block's rows × the
  // panel's columns, which start at column n0 of the output:
  // y = sx·(sw·float(acc + comp)) + bias, the evaluator's order. Rows past
  // `tileRows` are not stored.
  auto storeTile = [&](OpBuilder &ib, Value tile, ValueRange accs, Value n0,
                       ArrayRef<Value> rowIndex, OpFoldResult tileRows,
                       Value rowBase, Value colBase) {
    Value zeroFloat =
        arith::ConstantOp::create(ib, loc, ib.getF32FloatAttr(0.0));
    auto columnVector = [&](Value t, Value col, bool inBounds) -> Value {
      if (cast<RankedTensorType>(t.getType()).getRank() == 0)
        return vector::BroadcastOp::create(ib, loc, floatType,
                                           scalarAt(ib, loc, t, Value()));
      return vector::TransferReadOp::create(ib, loc, floatType, t,
                                            ValueRange{col}, zeroFloat,
                                            ArrayRef<bool>{inBounds});
    };
    SmallVector<Value> comps, sws, biases;
    for (int64_t v = 0; v < vecs; ++v) {
      Value col = arith::AddIOp::create(ib, loc, n0, index(ib, v * kLanes));
      comps.push_back(vector::TransferReadOp::create(
          ib, loc, accType, comp, ValueRange{col},
          arith::ConstantOp::create(ib, loc, ib.getI32IntegerAttr(0)),
          ArrayRef<bool>{true}));
      sws.push_back(columnVector(sw, col, fullCols));
      if (bias)
        biases.push_back(columnVector(bias, col, fullCols));
    }
    for (int64_t i = 0; i < rows; ++i) {
      Value sxi = vector::BroadcastOp::create(
          ib, loc, floatType, scalarAt(ib, loc, sx, rowIndex[i]));
      auto storeRow = [&](OpBuilder &rb, Location rl, Value into) -> Value {
        for (int64_t v = 0; v < vecs; ++v) {
          Value dot =
              arith::AddIOp::create(rb, rl, accs[i * vecs + v], comps[v]);
          Value y = arith::SIToFPOp::create(rb, rl, floatType, dot);
          y = arith::MulFOp::create(rb, rl, sws[v], y);
          y = arith::MulFOp::create(rb, rl, sxi, y);
          if (bias)
            y = arith::AddFOp::create(rb, rl, y, biases[v]);
          into = vector::TransferWriteOp::create(
                     rb, rl, y, into,
                     ValueRange{
                         arith::AddIOp::create(
                             rb, rl, rowBase,
                             arith::ConstantIndexOp::create(rb, rl, i)),
                         arith::AddIOp::create(
                             rb, rl, colBase,
                             arith::ConstantIndexOp::create(rb, rl,
                                                            v * kLanes))},
                     ArrayRef<bool>{fullCols})
                     .getResult();
        }
        return into;
      };
      if (fullRows || i == 0) {
        tile = storeRow(ib, loc, tile);
        continue;
      }
      Value inside = arith::CmpIOp::create(
          ib, loc, arith::CmpIPredicate::slt, index(ib, i),
          getValueOrCreateConstantIndexOp(ib, loc, tileRows));
      auto ifOp = scf::IfOp::create(
          ib, loc, inside,
          [&](OpBuilder &tb, Location tl) {
            scf::YieldOp::create(tb, tl, storeRow(tb, tl, tile));
          },
          [&](OpBuilder &eb, Location el) {
            scf::YieldOp::create(eb, el, tile);
          });
      tile = ifOp.getResult(0);
    }
    return tile;
  };

  // The output slice of the block at row m0 and the panel at column n0:
  // offsets, (clamped) sizes and unit strides.
  auto microTile = [&](OpBuilder &ib, Value m0, Value n0) {
    OpFoldResult tileRows = ib.getIndexAttr(rows),
                 tileCols = ib.getIndexAttr(panelWidth);
    if (!fullRows)
      tileRows = OpFoldResult(arith::MinSIOp::create(
          ib, loc, index(ib, rows),
          arith::SubIOp::create(ib, loc, index(ib, m), m0)));
    if (!fullCols)
      tileCols = OpFoldResult(arith::MinSIOp::create(
          ib, loc, index(ib, panelWidth),
          arith::SubIOp::create(ib, loc, index(ib, n), n0)));
    return std::array<SmallVector<OpFoldResult>, 3>{
        SmallVector<OpFoldResult>{m0, n0},
        SmallVector<OpFoldResult>{tileRows, tileCols},
        SmallVector<OpFoldResult>{ib.getIndexAttr(1), ib.getIndexAttr(1)}};
  };

  Value zeroAcc = arith::ConstantOp::create(
      b, loc, cast<TypedAttr>(b.getZeroAttr(accType)));
  Value init = empty(b, loc, {m, n}, f32);
  OpBuilder::InsertionGuard guard(b);

  if (steps <= kBlockedAboveSteps) {
    // Tiles: (column panel, row block); row blocks inner so that one
    // thread's panels stay in its cache while it sweeps the rows. The
    // register block accumulates over the whole K.
    auto forall = scf::ForallOp::create(
        b, loc,
        ArrayRef<OpFoldResult>{b.getIndexAttr(panels), b.getIndexAttr(blocks)},
        ValueRange{init}, std::nullopt);
    b.setInsertionPoint(forall.getTerminator());
    Value panel = forall.getInductionVar(0), block = forall.getInductionVar(1);
    Value out = forall.getRegionOutArgs()[0];
    Value m0 = arith::MulIOp::create(b, loc, block, index(b, rows));
    Value n0 = arith::MulIOp::create(b, loc, panel, index(b, panelWidth));
    auto [offsets, sizes, unit] = microTile(b, m0, n0);
    Value tile =
        tensor::ExtractSliceOp::create(b, loc, out, offsets, sizes, unit);
    SmallVector<Value> rowIndex = blockRows(b, m0);
    SmallVector<Value> accs =
        accumulate(b, panel, rowIndex, SmallVector<Value>(rows * vecs, zeroAcc),
                   index(b, 0), index(b, steps));
    tile = storeTile(b, tile, accs, n0, rowIndex, sizes[0], index(b, 0),
                     index(b, 0));
    b.setInsertionPointToEnd(forall.getTerminator().getBody());
    tensor::ParallelInsertSliceOp::create(b, loc, tile, out, offsets, sizes,
                                          unit);
    return forall.getResult(0);
  }

  // Large K: GotoBLAS-style blocking. Tiles are (group of row blocks,
  // group of panels); inside, K goes in chunks, and for each chunk every
  // panel of the group sweeps every row block of the group, so the
  // group's activation chunk (kGroupBlocks·R rows × kChunkSteps·4 bytes)
  // stays in L2 across the panels and each panel chunk in L2 across the
  // row blocks. Partial sums wait in an i32 scratch tile between chunks;
  // the last chunk applies the epilogue.
  const int64_t groupBlocks = std::max<int64_t>(1, kGroupRows / rows);
  const int64_t rowGroups = ceilDiv(blocks, groupBlocks);
  const int64_t panelGroups = ceilDiv(panels, kGroupPanels);
  const int64_t chunks = ceilDiv(steps, kChunkSteps);
  auto forall = scf::ForallOp::create(
      b, loc,
      ArrayRef<OpFoldResult>{b.getIndexAttr(rowGroups),
                             b.getIndexAttr(panelGroups)},
      ValueRange{init}, std::nullopt);
  b.setInsertionPoint(forall.getTerminator());
  Value rowGroup = forall.getInductionVar(0);
  Value panelGroup = forall.getInductionVar(1);
  Value out = forall.getRegionOutArgs()[0];
  Value firstBlock = arith::MulIOp::create(b, loc, rowGroup, index(b, groupBlocks));
  Value firstPanel =
      arith::MulIOp::create(b, loc, panelGroup, index(b, kGroupPanels));
  Value blockEnd = arith::MinSIOp::create(
      b, loc, index(b, blocks),
      arith::AddIOp::create(b, loc, firstBlock, index(b, groupBlocks)));
  Value panelEnd = arith::MinSIOp::create(
      b, loc, index(b, panels),
      arith::AddIOp::create(b, loc, firstPanel, index(b, kGroupPanels)));
  // This tile's part of the output: whole row blocks × whole panels,
  // clamped to M × N.
  Value r0 = arith::MulIOp::create(b, loc, firstBlock, index(b, rows));
  Value c0 = arith::MulIOp::create(b, loc, firstPanel, index(b, panelWidth));
  Value groupRows = arith::SubIOp::create(
      b, loc,
      arith::MinSIOp::create(
          b, loc, index(b, m),
          arith::MulIOp::create(b, loc, blockEnd, index(b, rows))),
      r0);
  Value groupCols = arith::SubIOp::create(
      b, loc,
      arith::MinSIOp::create(
          b, loc, index(b, n),
          arith::MulIOp::create(b, loc, panelEnd, index(b, panelWidth))),
      c0);
  SmallVector<OpFoldResult> groupOffsets = {r0, c0},
                            groupSizes = {groupRows, groupCols},
                            unit = {b.getIndexAttr(1), b.getIndexAttr(1)};
  Value groupTile = tensor::ExtractSliceOp::create(b, loc, out, groupOffsets,
                                                   groupSizes, unit);
  Value scratch =
      empty(b, loc, {groupBlocks * rows, kGroupPanels * panelWidth}, i32);
  auto chunkLoop = scf::ForOp::create(
      b, loc, index(b, 0), index(b, chunks), index(b, 1),
      ValueRange{groupTile, scratch},
      [&](OpBuilder &cb, Location, Value chunk, ValueRange chunkArgs) {
        Value lo = arith::MulIOp::create(cb, loc, chunk, index(cb, kChunkSteps));
        Value hi = arith::MinSIOp::create(
            cb, loc, index(cb, steps),
            arith::AddIOp::create(cb, loc, lo, index(cb, kChunkSteps)));
        Value first = arith::CmpIOp::create(cb, loc, arith::CmpIPredicate::eq,
                                            chunk, index(cb, 0));
        Value last = arith::CmpIOp::create(cb, loc, arith::CmpIPredicate::eq,
                                           chunk, index(cb, chunks - 1));
        auto panelLoop = scf::ForOp::create(
            cb, loc, firstPanel, panelEnd, index(cb, 1), chunkArgs,
            [&](OpBuilder &pb, Location, Value panel, ValueRange panelArgs) {
              Value n0 =
                  arith::MulIOp::create(pb, loc, panel, index(pb, panelWidth));
              Value sc0 = arith::SubIOp::create(pb, loc, n0, c0);
              auto blockLoop = scf::ForOp::create(
                  pb, loc, firstBlock, blockEnd, index(pb, 1), panelArgs,
                  [&](OpBuilder &bb, Location, Value block,
                      ValueRange blockArgs) {
                    Value m0 =
                        arith::MulIOp::create(bb, loc, block, index(bb, rows));
                    Value sr0 = arith::SubIOp::create(bb, loc, m0, r0);
                    SmallVector<Value> rowIndex = blockRows(bb, m0);
                    // Start from zero (first chunk) or the partial sums.
                    auto initIf = scf::IfOp::create(
                        bb, loc, first,
                        [&](OpBuilder &tb, Location tl) {
                          scf::YieldOp::create(
                              tb, tl, SmallVector<Value>(rows * vecs, zeroAcc));
                        },
                        [&](OpBuilder &eb, Location el) {
                          Value zero = arith::ConstantOp::create(
                              eb, el, eb.getI32IntegerAttr(0));
                          SmallVector<Value> loaded;
                          for (int64_t i = 0; i < rows; ++i)
                            for (int64_t v = 0; v < vecs; ++v)
                              loaded.push_back(vector::TransferReadOp::create(
                                  eb, el, accType, blockArgs[1],
                                  ValueRange{arith::AddIOp::create(
                                                 eb, el, sr0, index(eb, i)),
                                             arith::AddIOp::create(
                                                 eb, el, sc0,
                                                 index(eb, v * kLanes))},
                                  zero, ArrayRef<bool>{true}));
                          scf::YieldOp::create(eb, el, loaded);
                        });
                    SmallVector<Value> accs =
                        accumulate(bb, panel, rowIndex, initIf.getResults(),
                                   lo, hi);
                    // Last chunk: the epilogue into the output; otherwise
                    // keep the partial sums.
                    auto storeIf = scf::IfOp::create(
                        bb, loc, last,
                        [&](OpBuilder &tb, Location tl) {
                          // Straight into the group's tile (a slice of the
                          // block would be copied by bufferization).
                          auto sizes = microTile(tb, m0, n0)[1];
                          Value updated =
                              storeTile(tb, blockArgs[0], accs, n0, rowIndex,
                                        sizes[0], sr0, sc0);
                          scf::YieldOp::create(
                              tb, tl, ValueRange{updated, blockArgs[1]});
                        },
                        [&](OpBuilder &eb, Location el) {
                          Value s = blockArgs[1];
                          for (int64_t i = 0; i < rows; ++i)
                            for (int64_t v = 0; v < vecs; ++v)
                              s = vector::TransferWriteOp::create(
                                      eb, el, accs[i * vecs + v], s,
                                      ValueRange{
                                          arith::AddIOp::create(eb, el, sr0,
                                                                index(eb, i)),
                                          arith::AddIOp::create(
                                              eb, el, sc0,
                                              index(eb, v * kLanes))},
                                      ArrayRef<bool>{true})
                                      .getResult();
                          scf::YieldOp::create(eb, el,
                                               ValueRange{blockArgs[0], s});
                        });
                    scf::YieldOp::create(bb, loc, storeIf.getResults());
                  });
              scf::YieldOp::create(pb, loc, blockLoop.getResults());
            });
        scf::YieldOp::create(cb, loc, panelLoop.getResults());
      });
  b.setInsertionPointToEnd(forall.getTerminator().getBody());
  tensor::ParallelInsertSliceOp::create(b, loc, chunkLoop.getResult(0), out,
                                        groupOffsets, groupSizes, unit);
  return forall.getResult(0);
}
