//===- WgmmaEpilogue.cpp - the wgmma kernel's dequant + bias epilogue -----===//
//
// The epilogue of the wgmma kernel: the epilogue operands (weight scales,
// bias, LLM.int8() outlier rows) staged in shared memory by cp.async, and
// the accumulator fragments dequantized, sx·(sw·float(acc)) + bias (the
// evaluator's order), plus the outlier columns' float product, then stored
// directly or, for whole 2-byte tiles, through a padded tile in the
// pipeline buffers and out in 16-byte pieces.
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

using namespace mlir;
using namespace mlir::quant_xform;
using namespace mlir::quant_xform::gpu_kernels;
using namespace mlir::quant_xform::gpu_kernels::wgmma;

//===----------------------------------------------------------------------===//
// The epilogue operands in shared memory
//===----------------------------------------------------------------------===//

void WgmmaKernelBuilder::copyTable(Value epi, const OperandTable &table) {
  auto tokenType = nvgpu::DeviceAsyncTokenType::get(ctx);
  const int64_t count = table.rows * table.perRow;
  for (int64_t pass = 0; pass < int64_t(llvm::divideCeil(count, threads));
       ++pass) {
    OpBuilder::InsertionGuard guard(b);
    Value i = add(tid, c(pass * threads));
    if ((pass + 1) * threads > count) {
      Value inTable =
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, i, c(count));
      auto ifIn = scf::IfOp::create(b, loc, inTable, /*withElse=*/false);
      b.setInsertionPointToStart(&ifIn.getThenRegion().front());
    }
    Value row = arith::MinSIOp::create(
        b, loc, add(table.first, div(i, table.perRow)),
        arith::SubIOp::create(b, loc, table.extent, c(1)));
    SmallVector<Value> at = {row};
    if (cast<MemRefType>(table.mem.getType()).getRank() == 2)
      at.push_back(mul(rem(i, table.perRow), table.width));
    Value dst = add(c(table.offset), mul(i, table.width));
    nvgpu::DeviceAsyncCopyOp::create(
        b, loc, tokenType, epi, ValueRange{dst}, table.mem, at,
        b.getIndexAttr(table.width), Value(),
        table.width * 4 == kChunk ? b.getUnitAttr() : UnitAttr());
  }
}

void WgmmaKernelBuilder::stageEpilogueOperands(Value epi, TileOrigin tile) {
  // 4-byte copies of the scales and bias, 16-byte ones of xo and Wo rows
  // when O is a multiple of 4 (else 4-byte ones); indices past M and N are
  // clamped.
  if (layout.sw >= 0)
    copyTable(epi,
              {fn.getArgument(3), tile.col, c(s.n), t.tileN, 1, 1, layout.sw});
  if (layout.bias >= 0)
    copyTable(
        epi, {fn.getArgument(4), tile.col, c(s.n), t.tileN, 1, 1, layout.bias});
  if (layout.xo >= 0) {
    int64_t width = s.outliers % 4 == 0 ? 4 : 1;
    unsigned xoArg = s.bias ? 5 : 4;
    copyTable(epi, {fn.getArgument(xoArg), tile.row, rows(), t.rows(),
                    s.outliers / width, width, layout.xo});
    copyTable(epi, {fn.getArgument(xoArg + 1), tile.col, c(s.n), t.tileN,
                    s.outliers / width, width, layout.wo});
  }
}

//===----------------------------------------------------------------------===//
// The fragments
//===----------------------------------------------------------------------===//

SmallVector<Value>
WgmmaKernelBuilder::loadFloats(Value mem, SmallVector<Value> at, int64_t n) {
  const int64_t width = s.outliers % 4 == 0 ? 4 : 1;
  SmallVector<Value> out;
  for (int64_t j = 0; j < n; j += width) {
    SmallVector<Value> idx = at;
    idx.back() = add(idx.back(), c(j));
    if (width == 1) {
      out.push_back(memref::LoadOp::create(b, loc, mem, idx));
      continue;
    }
    Value v = vector::LoadOp::create(
        b, loc, VectorType::get({width}, b.getF32Type()), mem, idx,
        /*nontemporal=*/false, llvm::MaybeAlign(4 * width));
    for (int64_t e = 0; e < width; ++e)
      out.push_back(vector::ExtractOp::create(b, loc, v, e));
  }
  return out;
}

EpilogueInputs
WgmmaKernelBuilder::loadEpilogueInputs(const FragmentPlace &place) {
  EpilogueInputs in;
  in.rowScales[0] = loadRowScale(site(), place.rows[0]);
  in.rowScales[1] = loadRowScale(site(), place.rows[1]);
  if (s.perTensorW)
    in.tensorScale =
        memref::LoadOp::create(b, loc, fn.getArgument(3), ValueRange{});
  if (s.outliers) {
    in.xo = fn.getArgument(s.bias ? 5 : 4);
    in.wo = fn.getArgument(s.bias ? 6 : 5);
  }
  // Rows for the outlier values read from global memory (not staged).
  if (s.outliers && layout.xo < 0)
    for (int64_t r = 0; r < 2; ++r)
      in.clampedRows[r] = arith::MinSIOp::create(
          b, loc, place.rows[r], arith::SubIOp::create(b, loc, rows(), c(1)));
  if (layout.xo >= 0)
    for (int64_t r = 0; r < 2; ++r)
      in.stagedXs[r] = loadFloats(
          place.epi,
          {add(c(layout.xo), arith::MulIOp::create(b, loc, place.localRows[r],
                                                   c(s.outliers)))},
          s.outliers);
  return in;
}

void WgmmaKernelBuilder::addOutliers(const FragmentPlace &place,
                                     const EpilogueInputs &in,
                                     ArrayRef<Value> cols,
                                     ArrayRef<Value> localCols,
                                     Value (&values)[2][2]) {
  // + Σⱼ xo[row, j]·wo[col, j] in order of j (the CPU lowering's float
  // matmul onto the int8 part), from shared memory (the rows' xo values
  // kept in registers) or, for more than kMaxStagedOutliers, from global
  // memory 16 at a time.
  const bool outliersStaged = layout.xo >= 0;
  const int64_t chunk = outliersStaged ? s.outliers : 16;
  for (int64_t j0 = 0; j0 < s.outliers; j0 += chunk) {
    int64_t n = std::min(chunk, s.outliers - j0);
    SmallVector<Value> xs[2], ws[2];
    for (int64_t r = 0; r < 2; ++r)
      xs[r] = outliersStaged ? in.stagedXs[r]
                             : loadFloats(in.xo, {in.clampedRows[r], c(j0)}, n);
    for (int64_t cc = 0; cc < 2; ++cc)
      ws[cc] =
          outliersStaged
              ? loadFloats(place.epi,
                           {add(c(layout.wo),
                                arith::MulIOp::create(b, loc, localCols[cc],
                                                      c(s.outliers)))},
                           n)
              : loadFloats(
                    in.wo,
                    {arith::MinSIOp::create(b, loc, cols[cc], c(s.n - 1)),
                     c(j0)},
                    n);
    for (int64_t r = 0; r < 2; ++r)
      for (int64_t cc = 0; cc < 2; ++cc)
        for (int64_t o = 0; o < n; ++o)
          values[r][cc] = arith::AddFOp::create(
              b, loc, values[r][cc],
              arith::MulFOp::create(b, loc, xs[r][o], ws[cc][o]));
  }
}

void WgmmaKernelBuilder::dequantizeGroup(const FragmentPlace &place,
                                         const EpilogueInputs &in, int64_t j,
                                         Value (&values)[2][2],
                                         Value (&cols)[2],
                                         Value (&localCols)[2]) {
  // Register 4j + 2r + cc: row rows[r], column col0 + 8j + cc.
  for (int64_t cc = 0; cc < 2; ++cc) {
    localCols[cc] = add(place.localCol0, c(8 * j + cc));
    cols[cc] = add(place.colBlock, localCols[cc]);
    EpilogueColumn colValues;
    colValues.scale =
        in.tensorScale
            ? in.tensorScale
            : Value(memref::LoadOp::create(b, loc, place.epi,
                                           add(c(layout.sw), localCols[cc])));
    if (s.bias)
      colValues.bias = memref::LoadOp::create(
          b, loc, place.epi, add(c(layout.bias), localCols[cc]));
    for (int64_t r = 0; r < 2; ++r) {
      Value acc = LLVM::ExtractValueOp::create(
          b, loc, place.acc, ArrayRef<int64_t>{4 * j + 2 * r + cc});
      values[r][cc] = dequantizeValue(b, loc, acc, in.rowScales[r], colValues);
    }
  }
  addOutliers(place, in, cols, localCols, values);
}

void WgmmaKernelBuilder::emitColumnGroup(const FragmentPlace &place,
                                         const EpilogueInputs &in, int64_t j,
                                         ArrayRef<Value> operandPairs) {
  Value values[2][2], cols[2], localCols[2];
  dequantizeGroup(place, in, j, values, cols, localCols);
  for (int64_t r = 0; r < 2; ++r) {
    if (place.staging) {
      storeValuePair(site(), {place.localRows[r], localCols[0]}, values[r][0],
                     values[r][1], place.staging);
      continue;
    }
    if (!checked) {
      storeValuePair(site(), {place.rows[r], cols[0]}, values[r][0],
                     values[r][1], Value(),
                     operandPairs.empty() ? Value() : operandPairs[r]);
      continue;
    }
    for (int64_t cc = 0; cc < 2; ++cc)
      storeValue(site(), {place.rows[r], cols[cc]}, values[r][cc],
                 /*checked=*/true);
  }
}

void WgmmaKernelBuilder::emitGatedGroups(const FragmentPlace &place,
                                         const EpilogueInputs &in) {
  assert(!place.staging && !checked && !s.outliers && !s.activationOperand &&
         t.tileN % (2 * s.gatedHalf) == 0 && s.gatedHalf % 8 == 0 &&
         outType.isF32() && "a gated pair: whole f32 tiles of both halves");
  // Output column (of y [M, N / 2]) of group g of block `pair`: the tile's
  // first / 2, H a block before, 8 a group.
  const int64_t half = s.gatedHalf / 8; // groups of 8 columns a half
  Value outCol0 = add(div(place.colBlock, 2), place.localCol0);
  for (int64_t g = 0; g < t.tileN / 16; ++g) {
    int64_t pair = g / half, j = g % half;
    Value gate[2][2], up[2][2], cols[2], localCols[2];
    dequantizeGroup(place, in, 2 * half * pair + j, gate, cols, localCols);
    dequantizeGroup(place, in, 2 * half * pair + half + j, up, cols, localCols);
    for (int64_t r = 0; r < 2; ++r) {
      Value v[2];
      for (int64_t cc = 0; cc < 2; ++cc)
        v[cc] = applyActivation(b, loc, s.activation, gate[r][cc], up[r][cc],
                                /*activationInput=*/0);
      Value pair = vector::FromElementsOp::create(
          b, loc, VectorType::get({2}, b.getF32Type()), ValueRange{v[0], v[1]});
      vector::StoreOp::create(b, loc, pair, fn.getArguments().back(),
                              ValueRange{place.rows[r], add(outCol0, c(8 * g))},
                              /*nontemporal=*/false, llvm::MaybeAlign(8));
    }
  }
}

void WgmmaKernelBuilder::emitFragments(const FragmentPlace &place) {
  // One group of 8 columns at a time (a thread's 2 rows × 2 columns: few
  // live registers next to the accumulators).
  EpilogueInputs in = loadEpilogueInputs(place);
  if (s.gatedHalf) {
    emitGatedGroups(place, in);
    return;
  }
  // A second tensor read by the activation (SwiGLU's gate): the pairs of
  // kOperandGroups groups are loaded together ahead of their stores, whose
  // possible aliasing would otherwise keep each load behind the store
  // before it (one memory latency per pair).
  constexpr int64_t kOperandGroups = 8;
  bool ahead = s.activationOperand && !place.staging && !checked;
  int64_t groups = t.tileN / 8, batch = ahead ? kOperandGroups : 1;
  for (int64_t j0 = 0; j0 < groups; j0 += batch) {
    int64_t n = std::min(batch, groups - j0);
    SmallVector<SmallVector<Value, 2>> pairs(n);
    for (int64_t j = 0; ahead && j < n; ++j)
      for (int64_t r = 0; r < 2; ++r)
        pairs[j].push_back(loadActivationOperandPair(
            site(),
            {place.rows[r],
             add(place.colBlock, add(place.localCol0, c(8 * (j0 + j))))}));
    for (int64_t j = 0; j < n; ++j)
      emitColumnGroup(place, in, j0 + j, pairs[j]);
  }
}

//===----------------------------------------------------------------------===//
// The epilogue
//===----------------------------------------------------------------------===//

void WgmmaKernelBuilder::consumerBarrier() {
  // Barrier 1 over the consumers (a TMA kernel's producer has left; a
  // constant id keeps ptxas from reserving all 16).
  NVVM::BarrierOp::create(b, loc, Type(), i32c(1), i32c(threads),
                          NVVM::BarrierReductionAttr(), Value());
}

void WgmmaKernelBuilder::copyStagedTileOut(Value staging, TileOrigin tile,
                                           Value inGroup) {
  // Each warpgroup copies its 64 rows out as 64 · piecesPerRow 16-byte
  // pieces, row-major, 128 at a time (whole rows each time where
  // piecesPerRow divides 128; a 192-column f16 tile has 24 a row).
  const int64_t perChunk = kChunk / outBytes;
  const int64_t piecesPerRow = t.tileN / perChunk;
  const int64_t pieces = 64 * piecesPerRow;
  assert(pieces % 128 == 0 && "whole rounds of 128 pieces");
  auto copy = scf::ForOp::create(b, loc, c(0), c(pieces), c(128));
  OpBuilder::InsertionGuard inCopy(b);
  b.setInsertionPointToStart(copy.getBody());
  Value piece = add(inGroup, copy.getInductionVar());
  Value localRow = add(mul(warpgroup, 64), div(piece, piecesPerRow));
  Value localCol = mul(rem(piece, piecesPerRow), perChunk);
  auto chunkType = VectorType::get({perChunk}, outType);
  Value v = vector::LoadOp::create(
      b, loc, chunkType, staging, ValueRange{localRow, localCol},
      /*nontemporal=*/false, llvm::MaybeAlign(kChunk));
  vector::StoreOp::create(
      b, loc, v, fn.getArguments().back(),
      ValueRange{add(tile.row, localRow), add(tile.col, localCol)},
      /*nontemporal=*/false, llvm::MaybeAlign(kChunk));
}

void WgmmaKernelBuilder::epilogue(Value acc, TileOrigin tile, Value epi) {
  if (operandsToWait)
    NVVM::CpAsyncWaitGroupOp::create(b, loc, 0);
  // The operands are visible, and (staged) every warpgroup's wgmmas have
  // read the buffers.
  if (operandsToWait || staged)
    consumerBarrier();
  FragmentPlace place;
  place.acc = acc;
  place.epi = epi;
  place.colBlock = tile.col;
  if (staged) {
    auto stagingType = MemRefType::get(
        {blockM, pitch}, outType, MemRefLayoutAttrInterface{},
        gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup));
    place.staging =
        memref::ViewOp::create(b, loc, stagingType, smem, pad, ValueRange{});
  }
  // Register i of a thread (lane = 4g + q in warp v of its warpgroup): row
  // 16v + g + 8·⌊(i mod 4)/2⌋, column 8⌊i/4⌋ + 2q + i mod 2.
  Value inGroup = rem(tid, 128);
  Value lane = rem(inGroup, 32);
  Value row0 = add(add(tile.row, mul(warpgroup, 64)),
                   add(mul(div(inGroup, 32), 16), div(lane, 4)));
  place.localCol0 = mul(rem(lane, 4), 2);
  place.rows[0] = row0;
  place.rows[1] = add(row0, c(8));
  place.localRows[0] = arith::SubIOp::create(b, loc, place.rows[0], tile.row);
  place.localRows[1] = arith::SubIOp::create(b, loc, place.rows[1], tile.row);
  emitFragments(place);
  if (!staged)
    return;
  // The tile is in place.
  consumerBarrier();
  copyStagedTileOut(place.staging, tile, inGroup);
}
