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
#include "quant-xform/Conversion/QuantXformToLinalg/LinalgBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "quant-xform/Dialect/QuantXformCPU/IR/QuantXformCPU.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/TargetParser/Host.h"

#include "llvm/ADT/StringSwitch.h"

#include <cstring>

using namespace mlir;
using namespace mlir::quant_xform::lowering;

std::optional<mlir::quant_xform::Int8KernelChoice>
mlir::quant_xform::parseInt8KernelChoice(StringRef name) {
  return llvm::StringSwitch<std::optional<Int8KernelChoice>>(name)
      .Case("loops", Int8KernelChoice::Loops)
      .Case("vector", Int8KernelChoice::Vector)
      .Case("avx512-vnni", Int8KernelChoice::Avx512Vnni)
      .Case("amx", Int8KernelChoice::Amx)
      .Case("auto", Int8KernelChoice::Auto)
      .Default(std::nullopt);
}

FailureOr<Int8Kernel>
mlir::quant_xform::resolveInt8Kernel(Int8KernelChoice choice, bool allowAmx) {
  switch (choice) {
  case Int8KernelChoice::Loops:
    return Int8Kernel::Loops;
  case Int8KernelChoice::Vector:
    return Int8Kernel::Vector;
  case Int8KernelChoice::Avx512Vnni:
    return Int8Kernel::Avx512Vnni;
  case Int8KernelChoice::Amx:
    if (!amxUsable())
      return failure();
    return Int8Kernel::Amx;
  case Int8KernelChoice::Auto:
    break;
  }
  if (allowAmx && amxUsable())
    return Int8Kernel::Amx;
  return llvm::sys::getHostCPUFeatures().lookup("avx512vnni")
             ? Int8Kernel::Avx512Vnni
             : Int8Kernel::Vector;
}

namespace {

constexpr int64_t kLanes = 16; // i32 lanes of a 512-bit vector
constexpr int64_t kDepth = 4;  // int8 products per i32 lane and step

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

} // namespace

/// The weight in row-major order as int8 values.
std::vector<int8_t>
mlir::quant_xform::lowering::int8WeightValues(DenseElementsAttr weight) {
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

/// One f32 value of a rank-0 tensor, or element `i` of a rank-1 one.
Value mlir::quant_xform::lowering::scalarAt(OpBuilder &b, Location loc, Value t,
                                            Value i) {
  if (cast<RankedTensorType>(t.getType()).getRank() == 0)
    return tensor::ExtractOp::create(b, loc, t, ValueRange{});
  return tensor::ExtractOp::create(b, loc, t, ValueRange{i});
}

Value mlir::quant_xform::lowering::buildPackedInt8Linear(
    OpBuilder &b, Location loc, Value qx, int64_t m, int64_t k,
    DenseElementsAttr weight, Value sx, Value sw, Value bias, Int8Kernel kernel,
    MicrokernelShape shape) {
  // AMX tiles have 16 rows: fewer rows stay on the VNNI kernel.
  if (kernel == Int8Kernel::Amx && m >= 16)
    return buildAmxInt8Linear(b, loc, qx, m, k, weight, sx, sw, bias);
  if (kernel == Int8Kernel::Amx)
    kernel = Int8Kernel::Avx512Vnni;
  MLIRContext *ctx = b.getContext();
  int64_t n = cast<RankedTensorType>(weight.getType()).getDimSize(0);
  // Fewer rows than the block: a shorter block (no wasted dot products).
  const int64_t vecs = shape.vectors, rows = std::min(shape.rows, m);
  const int64_t panelWidth = kLanes * vecs;
  const int64_t panels = llvm::divideCeil(n, panelWidth),
                blocks = llvm::divideCeil(m, rows);
  const int64_t steps = llvm::divideCeil(k, kDepth), kPadded = steps * kDepth;
  Type i8 = b.getI8Type(), i32 = b.getI32Type(), f32 = b.getF32Type();

  // Compile time: pack w[n, k] as [panel][k / 4][column in panel][k % 4]
  // (zero padded) and compensate the u8 shift: Σ (a + 128)·w − 128·Σ w.
  std::vector<int8_t> w = int8WeightValues(weight);
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

  // Tiles: (column panel, row block); row blocks inner so that one
  // thread's panels stay in its cache while it sweeps the rows.
  Value init = empty(b, loc, {m, n}, f32);
  auto forall = scf::ForallOp::create(
      b, loc,
      ArrayRef<OpFoldResult>{b.getIndexAttr(panels), b.getIndexAttr(blocks)},
      ValueRange{init}, std::nullopt);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(forall.getTerminator());
  auto index = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  Value panel = forall.getInductionVar(0), block = forall.getInductionVar(1);
  Value out = forall.getRegionOutArgs()[0];
  Value m0 = arith::MulIOp::create(b, loc, block, index(rows));
  Value n0 = arith::MulIOp::create(b, loc, panel, index(panelWidth));
  bool fullRows = m % rows == 0, fullCols = n % panelWidth == 0;
  OpFoldResult tileRows = b.getIndexAttr(rows),
               tileCols = b.getIndexAttr(panelWidth);
  if (!fullRows)
    tileRows = OpFoldResult(arith::MinSIOp::create(
        b, loc, index(rows), arith::SubIOp::create(b, loc, index(m), m0)));
  if (!fullCols)
    tileCols = OpFoldResult(
        arith::MinSIOp::create(b, loc, index(panelWidth),
                               arith::SubIOp::create(b, loc, index(n), n0)));
  SmallVector<OpFoldResult> tileOffsets = {m0, n0},
                            tileSizes = {tileRows, tileCols},
                            unit = {b.getIndexAttr(1), b.getIndexAttr(1)};
  Value tile =
      tensor::ExtractSliceOp::create(b, loc, out, tileOffsets, tileSizes, unit);
  // Rows past M (last block) read row M − 1 and are never stored.
  SmallVector<Value> rowIndex;
  for (int64_t i = 0; i < rows; ++i) {
    Value r = arith::AddIOp::create(b, loc, m0, index(i));
    if (!fullRows)
      r = arith::MinSIOp::create(b, loc, r, index(m - 1));
    rowIndex.push_back(r);
  }

  auto accType = VectorType::get({kLanes}, i32);
  auto bytesType = VectorType::get({kLanes * kDepth}, i8);
  Value zeroAcc = arith::ConstantOp::create(
      b, loc, cast<TypedAttr>(b.getZeroAttr(accType)));
  Value zeroByte = arith::ConstantOp::create(b, loc, b.getIntegerAttr(i8, 0));
  SmallVector<Value> inits(rows * vecs, zeroAcc);
  auto kLoop = scf::ForOp::create(
      b, loc, index(0), index(steps), index(1), inits,
      [&](OpBuilder &lb, Location ll, Value step, ValueRange accs) {
        SmallVector<Value> ws;
        for (int64_t v = 0; v < vecs; ++v)
          ws.push_back(vector::TransferReadOp::create(
              lb, ll, bytesType, wp,
              ValueRange{
                  panel, step,
                  arith::ConstantIndexOp::create(lb, ll, v * kLanes * kDepth)},
              zeroByte, ArrayRef<bool>{true}));
        Value kOffset = arith::MulIOp::create(
            lb, ll, step, arith::ConstantIndexOp::create(lb, ll, kDepth));
        SmallVector<Value> next;
        for (int64_t i = 0; i < rows; ++i) {
          Value four = vector::TransferReadOp::create(
              lb, ll, VectorType::get({kDepth}, i8), au,
              ValueRange{rowIndex[i], kOffset}, zeroByte, ArrayRef<bool>{true});
          Value word = vector::ExtractOp::create(
              lb, ll,
              vector::BitCastOp::create(lb, ll, VectorType::get({1}, i32),
                                        four),
              ArrayRef<int64_t>{0});
          Value a = vector::BitCastOp::create(
              lb, ll, bytesType,
              vector::BroadcastOp::create(lb, ll, accType, word));
          for (int64_t v = 0; v < vecs; ++v)
            next.push_back(dot4(lb, ll, kernel, accs[i * vecs + v], a, ws[v]));
        }
        scf::YieldOp::create(lb, ll, next);
      });

  // Epilogue: y = sx·(sw·float(acc + comp)) + bias, the evaluator's order.
  auto floatType = VectorType::get({kLanes}, f32);
  Value zeroFloat = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0));
  auto columnVector = [&](Value t, Value col, bool padded) -> Value {
    if (cast<RankedTensorType>(t.getType()).getRank() == 0)
      return vector::BroadcastOp::create(b, loc, floatType,
                                         scalarAt(b, loc, t, Value()));
    return vector::TransferReadOp::create(b, loc, floatType, t, ValueRange{col},
                                          zeroFloat, ArrayRef<bool>{padded});
  };
  SmallVector<Value> comps, sws, biases;
  for (int64_t v = 0; v < vecs; ++v) {
    Value col = arith::AddIOp::create(b, loc, n0, index(v * kLanes));
    comps.push_back(vector::TransferReadOp::create(
        b, loc, accType, comp, ValueRange{col},
        arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(0)),
        ArrayRef<bool>{true}));
    sws.push_back(columnVector(sw, col, fullCols));
    if (bias)
      biases.push_back(columnVector(bias, col, fullCols));
  }
  for (int64_t i = 0; i < rows; ++i) {
    Value sxi = vector::BroadcastOp::create(b, loc, floatType,
                                            scalarAt(b, loc, sx, rowIndex[i]));
    auto storeRow = [&](OpBuilder &rb, Location rl, Value into) -> Value {
      for (int64_t v = 0; v < vecs; ++v) {
        Value dot = arith::AddIOp::create(rb, rl, kLoop.getResult(i * vecs + v),
                                          comps[v]);
        Value y = arith::SIToFPOp::create(rb, rl, floatType, dot);
        y = arith::MulFOp::create(rb, rl, sws[v], y);
        y = arith::MulFOp::create(rb, rl, sxi, y);
        if (bias)
          y = arith::AddFOp::create(rb, rl, y, biases[v]);
        into =
            vector::TransferWriteOp::create(
                rb, rl, y, into,
                ValueRange{arith::ConstantIndexOp::create(rb, rl, i),
                           arith::ConstantIndexOp::create(rb, rl, v * kLanes)},
                ArrayRef<bool>{fullCols})
                .getResult();
      }
      return into;
    };
    if (fullRows || i == 0) {
      tile = storeRow(b, loc, tile);
      continue;
    }
    Value inside = arith::CmpIOp::create(
        b, loc, arith::CmpIPredicate::slt, index(i),
        getValueOrCreateConstantIndexOp(b, loc, tileRows));
    auto ifOp = scf::IfOp::create(
        b, loc, inside,
        [&](OpBuilder &tb, Location tl) {
          scf::YieldOp::create(tb, tl, storeRow(tb, tl, tile));
        },
        [&](OpBuilder &eb, Location el) {
          scf::YieldOp::create(eb, el, tile);
        });
    tile = ifOp.getResult(0);
  }
  b.setInsertionPointToEnd(forall.getTerminator().getBody());
  tensor::ParallelInsertSliceOp::create(b, loc, tile, out, tileOffsets,
                                        tileSizes, unit);
  return forall.getResult(0);
}
