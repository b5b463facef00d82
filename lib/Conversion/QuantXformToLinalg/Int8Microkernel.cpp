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
#include "mlir/IR/Matchers.h"
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

namespace {

/// The packed VNNI GEMM of one linear, built phase by phase: the compile-
/// time packing of the weight, the u8 shift of the activation, the tile
/// loop over (column panel, row block), the k loop of `dot4` steps, and the
/// dequant epilogue. With per-group scales (`groups` > 1) the k loop runs
/// group by group and each group's i32 sums are scaled and added in f32.
class PackedInt8Gemm {
public:
  PackedInt8Gemm(OpBuilder &b, Location loc, const PackedInt8Operands &ops,
                 Int8Kernel kernel, MicrokernelShape shape)
      : b(b), loc(loc), ops(ops), kernel(kernel),
        n(cast<RankedTensorType>(ops.weight.getType()).getDimSize(0)),
        vecs(shape.vectors), rows(std::min(shape.rows, ops.m)),
        panelWidth(kLanes * shape.vectors),
        panels(llvm::divideCeil(n, panelWidth)),
        blocks(llvm::divideCeil(ops.m, rows)),
        steps(llvm::divideCeil(ops.k, kDepth)),
        stepsPerGroup(steps / ops.groups) {}

  /// The [M, N] f32 result.
  Value build();

private:
  void packWeight();
  Value shiftActivation();
  /// i32 sums of steps [lo, hi) for every row and vector of the tile.
  ValueRange accumulate(Value lo, Value hi);
  /// Per-column vectors of the tile: `t` [N] (or [] broadcast), or row `g`
  /// of `t` [G, N].
  Value columnVector(Value t, Value col, Value g = Value());
  /// sx·(sw·float(acc + comp)) + bias for one scale per row and column.
  SmallVector<Value> scaleWhole(ValueRange accs);
  /// Σ_g (sx[m, g]·sw[n, g])·float(acc_g + comp_g), starting from the bias.
  SmallVector<Value> scaleByGroup();
  Value storeTile(Value tile, ArrayRef<Value> ys, OpFoldResult tileRows);
  Value index(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }

  OpBuilder &b;
  Location loc;
  const PackedInt8Operands &ops;
  Int8Kernel kernel;
  const int64_t n, vecs, rows, panelWidth, panels, blocks, steps, stepsPerGroup;
  Value wp, comp, au, swByGroup;
  // Inside the tile loop.
  Value panel, n0;
  SmallVector<Value> rowIndex;
  bool fullRows = false, fullCols = false;
};

} // namespace

void PackedInt8Gemm::packWeight() {
  // Compile time: pack w[n, k] as [panel][k / 4][column in panel][k % 4]
  // (zero padded) and compensate the u8 shift per group:
  // Σ (a + 128)·w − 128·Σ w.
  int64_t k = ops.k, groups = ops.groups, groupK = k / groups;
  std::vector<int8_t> w = int8WeightValues(ops.weight);
  std::vector<int8_t> packed(panels * steps * panelWidth * kDepth, 0);
  std::vector<int32_t> compensation(groups * panels * panelWidth, 0);
  for (int64_t c = 0; c < n; ++c) {
    int64_t p = c / panelWidth, j = c % panelWidth;
    for (int64_t kk = 0; kk < k; ++kk) {
      int8_t v = w[c * k + kk];
      packed[((p * steps + kk / kDepth) * panelWidth + j) * kDepth +
             kk % kDepth] = v;
      compensation[(kk / groupK) * panels * panelWidth + c] -= 128 * v;
    }
  }
  auto packedType = RankedTensorType::get({panels, steps, panelWidth * kDepth},
                                          b.getI8Type());
  wp = arith::ConstantOp::create(
      b, loc,
      DenseElementsAttr::getFromRawBuffer(
          packedType, ArrayRef<char>(reinterpret_cast<char *>(packed.data()),
                                     packed.size())));
  SmallVector<int64_t> compShape = {panels * panelWidth};
  if (groups > 1)
    compShape.insert(compShape.begin(), groups);
  comp = arith::ConstantOp::create(
      b, loc,
      DenseElementsAttr::get(RankedTensorType::get(compShape, b.getI32Type()),
                             ArrayRef<int32_t>(compensation)));
}

Value PackedInt8Gemm::shiftActivation() {
  // Run time, O(M·K): a + 128 as u8 (xor of the sign bit), K padded to a
  // multiple of 4 with zeros (read as a gather: no copy into a slice).
  int64_t m = ops.m, k = ops.k, kPadded = steps * kDepth;
  Type i8 = b.getI8Type();
  AffineMap id = AffineMap::getMultiDimIdentityMap(2, b.getContext());
  auto shift = [&](OpBuilder &nb, Location nl, Value v) -> Value {
    Value bit = arith::ConstantOp::create(nb, nl, nb.getIntegerAttr(i8, -128));
    return arith::XOrIOp::create(nb, nl, v, bit);
  };
  if (kPadded == k)
    return generic(b, loc, {ops.qx}, {empty(b, loc, {m, k}, i8)}, {id, id}, 2,
                   {},
                   [&](OpBuilder &nb, Location nl, ValueRange a) {
                     return SmallVector<Value>{shift(nb, nl, a[0])};
                   })
        .front();
  return generic(
             b, loc, {}, {empty(b, loc, {m, kPadded}, i8)}, {id}, 2, {},
             [&](OpBuilder &nb, Location nl, ValueRange) {
               Value row = linalg::IndexOp::create(nb, nl, 0);
               Value col = linalg::IndexOp::create(nb, nl, 1);
               Value last = arith::ConstantIndexOp::create(nb, nl, k - 1);
               Value inside = arith::CmpIOp::create(
                   nb, nl, arith::CmpIPredicate::sle, col, last);
               Value v = tensor::ExtractOp::create(
                   nb, nl, ops.qx,
                   ValueRange{row, arith::MinSIOp::create(nb, nl, col, last)});
               Value zero =
                   arith::ConstantOp::create(nb, nl, nb.getIntegerAttr(i8, 0));
               return SmallVector<Value>{arith::SelectOp::create(
                   nb, nl, inside, shift(nb, nl, v), zero)};
             })
      .front();
}

ValueRange PackedInt8Gemm::accumulate(Value lo, Value hi) {
  Type i8 = b.getI8Type();
  auto accType = VectorType::get({kLanes}, b.getI32Type());
  auto bytesType = VectorType::get({kLanes * kDepth}, i8);
  Value zeroAcc = arith::ConstantOp::create(
      b, loc, cast<TypedAttr>(b.getZeroAttr(accType)));
  Value zeroByte = arith::ConstantOp::create(b, loc, b.getIntegerAttr(i8, 0));
  SmallVector<Value> inits(rows * vecs, zeroAcc);
  auto kLoop = scf::ForOp::create(
      b, loc, lo, hi, index(1), inits,
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
              vector::BitCastOp::create(
                  lb, ll, VectorType::get({1}, b.getI32Type()), four),
              ArrayRef<int64_t>{0});
          Value a = vector::BitCastOp::create(
              lb, ll, bytesType,
              vector::BroadcastOp::create(lb, ll, accType, word));
          for (int64_t v = 0; v < vecs; ++v)
            next.push_back(dot4(lb, ll, kernel, accs[i * vecs + v], a, ws[v]));
        }
        scf::YieldOp::create(lb, ll, next);
      });
  return kLoop.getResults();
}

Value mlir::quant_xform::lowering::scaleColumns(OpBuilder &b, Location loc,
                                                Value t, Value col, Value g,
                                                bool inBounds) {
  auto floatType = VectorType::get({16}, b.getF32Type());
  auto type = cast<RankedTensorType>(t.getType());
  if (type.getRank() == 0)
    return vector::BroadcastOp::create(b, loc, floatType,
                                       scalarAt(b, loc, t, Value()));
  Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0));
  SmallVector<Value> at = {col};
  if (type.getRank() == 2)
    at.insert(at.begin(), g);
  return vector::TransferReadOp::create(b, loc, floatType, t, at, zero,
                                        ArrayRef<bool>{inBounds});
}

SmallVector<Value>
mlir::quant_xform::lowering::biasColumns(OpBuilder &b, Location loc, Value bias,
                                         Value n0, int64_t vectors,
                                         bool inBounds) {
  auto floatType = VectorType::get({16}, b.getF32Type());
  SmallVector<Value> out;
  for (int64_t v = 0; v < vectors; ++v) {
    Value col = arith::AddIOp::create(
        b, loc, n0, arith::ConstantIndexOp::create(b, loc, v * 16));
    out.push_back(bias
                      ? scaleColumns(b, loc, bias, col, Value(), inBounds)
                      : arith::ConstantOp::create(
                            b, loc, cast<TypedAttr>(b.getZeroAttr(floatType))));
  }
  return out;
}

Value PackedInt8Gemm::columnVector(Value t, Value col, Value g) {
  return scaleColumns(b, loc, t, col, g, fullCols);
}

SmallVector<Value> PackedInt8Gemm::scaleWhole(ValueRange accs) {
  // y = sx·(sw·float(acc + comp)) + bias, the evaluator's order.
  auto accType = VectorType::get({kLanes}, b.getI32Type());
  auto floatType = VectorType::get({kLanes}, b.getF32Type());
  Value zeroInt = arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(0));
  SmallVector<Value> comps, sws, biases, ys;
  for (int64_t v = 0; v < vecs; ++v) {
    Value col = arith::AddIOp::create(b, loc, n0, index(v * kLanes));
    comps.push_back(vector::TransferReadOp::create(
        b, loc, accType, comp, ValueRange{col}, zeroInt, ArrayRef<bool>{true}));
    sws.push_back(columnVector(ops.sw, col));
    if (ops.bias)
      biases.push_back(columnVector(ops.bias, col));
  }
  for (int64_t i = 0; i < rows; ++i) {
    Value sxi = vector::BroadcastOp::create(
        b, loc, floatType, scalarAt(b, loc, ops.sx, rowIndex[i]));
    for (int64_t v = 0; v < vecs; ++v) {
      Value dot = arith::AddIOp::create(b, loc, accs[i * vecs + v], comps[v]);
      Value y = arith::SIToFPOp::create(b, loc, floatType, dot);
      y = arith::MulFOp::create(b, loc, sws[v], y);
      y = arith::MulFOp::create(b, loc, sxi, y);
      if (ops.bias)
        y = arith::AddFOp::create(b, loc, y, biases[v]);
      ys.push_back(y);
    }
  }
  return ys;
}

SmallVector<Value> PackedInt8Gemm::scaleByGroup() {
  // The loop linalg lowering's order: start from the bias, then per group
  // y += (sx·sw)·float(acc + comp).
  auto accType = VectorType::get({kLanes}, b.getI32Type());
  auto floatType = VectorType::get({kLanes}, b.getF32Type());
  SmallVector<Value> inits = biasColumns(b, loc, ops.bias, n0, vecs, fullCols);
  SmallVector<Value> rowInits;
  for (int64_t i = 0; i < rows; ++i)
    rowInits.append(inits);
  Value sw = swByGroup ? swByGroup : ops.sw;
  auto groupLoop = scf::ForOp::create(
      b, loc, index(0), index(ops.groups), index(1), rowInits,
      [&](OpBuilder &body, Location, Value g, ValueRange ys) {
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPoint(body.getInsertionBlock(), body.getInsertionPoint());
        Value lo = arith::MulIOp::create(b, loc, g, index(stepsPerGroup));
        Value hi = arith::AddIOp::create(b, loc, lo, index(stepsPerGroup));
        ValueRange accs = accumulate(lo, hi);
        Value zeroInt =
            arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(0));
        SmallVector<Value> comps, sws, next;
        for (int64_t v = 0; v < vecs; ++v) {
          Value col = arith::AddIOp::create(b, loc, n0, index(v * kLanes));
          comps.push_back(vector::TransferReadOp::create(
              b, loc, accType, comp, ValueRange{g, col}, zeroInt,
              ArrayRef<bool>{true}));
          sws.push_back(columnVector(sw, col, g));
        }
        for (int64_t i = 0; i < rows; ++i) {
          Value sxi = vector::BroadcastOp::create(
              b, loc, floatType,
              tensor::ExtractOp::create(b, loc, ops.sx,
                                        ValueRange{rowIndex[i], g}));
          for (int64_t v = 0; v < vecs; ++v) {
            Value dot =
                arith::AddIOp::create(b, loc, accs[i * vecs + v], comps[v]);
            Value d = arith::SIToFPOp::create(b, loc, floatType, dot);
            Value scale = arith::MulFOp::create(b, loc, sxi, sws[v]);
            Value p = arith::MulFOp::create(b, loc, scale, d);
            next.push_back(arith::AddFOp::create(b, loc, ys[i * vecs + v], p));
          }
        }
        scf::YieldOp::create(b, loc, next);
      });
  return SmallVector<Value>(groupLoop.getResults());
}

Value PackedInt8Gemm::storeTile(Value tile, ArrayRef<Value> ys,
                                OpFoldResult tileRows) {
  for (int64_t i = 0; i < rows; ++i) {
    auto storeRow = [&](OpBuilder &rb, Location rl, Value into) -> Value {
      for (int64_t v = 0; v < vecs; ++v)
        into =
            vector::TransferWriteOp::create(
                rb, rl, ys[i * vecs + v], into,
                ValueRange{arith::ConstantIndexOp::create(rb, rl, i),
                           arith::ConstantIndexOp::create(rb, rl, v * kLanes)},
                ArrayRef<bool>{fullCols})
                .getResult();
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
  return tile;
}

/// The transpose of a constant [R, C] f32 tensor as a new constant, or null
/// when `t` is not a constant.
static Value transposedConstant(OpBuilder &b, Location loc, Value t) {
  DenseElementsAttr attr;
  if (!matchPattern(t, m_Constant(&attr)))
    return Value();
  auto type = cast<RankedTensorType>(t.getType());
  int64_t r = type.getDimSize(0), c = type.getDimSize(1);
  SmallVector<float> values(attr.getValues<float>());
  SmallVector<float> transposed(r * c);
  for (int64_t i = 0; i < r; ++i)
    for (int64_t j = 0; j < c; ++j)
      transposed[j * r + i] = values[attr.isSplat() ? 0 : i * c + j];
  return arith::ConstantOp::create(
      b, loc,
      DenseElementsAttr::get(RankedTensorType::get({c, r}, b.getF32Type()),
                             ArrayRef<float>(transposed)));
}

Value mlir::quant_xform::lowering::groupMajorScales(OpBuilder &b, Location loc,
                                                    Value sw) {
  // At compile time for a constant sw (always, after quantize-linears).
  if (Value t = transposedConstant(b, loc, sw))
    return t;
  auto type = cast<RankedTensorType>(sw.getType());
  Value init =
      empty(b, loc, {type.getDimSize(1), type.getDimSize(0)}, b.getF32Type());
  return linalg::TransposeOp::create(b, loc, sw, init, ArrayRef<int64_t>{1, 0})
      .getResult()
      .front();
}

Value PackedInt8Gemm::build() {
  int64_t m = ops.m;
  packWeight();
  au = shiftActivation();
  if (ops.groups > 1 && cast<RankedTensorType>(ops.sw.getType()).getRank() == 2)
    swByGroup = groupMajorScales(b, loc, ops.sw);
  // Tiles: (column panel, row block); row blocks inner so that one
  // thread's panels stay in its cache while it sweeps the rows.
  Value init = empty(b, loc, {m, n}, b.getF32Type());
  auto forall = scf::ForallOp::create(
      b, loc,
      ArrayRef<OpFoldResult>{b.getIndexAttr(panels), b.getIndexAttr(blocks)},
      ValueRange{init}, std::nullopt);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(forall.getTerminator());
  panel = forall.getInductionVar(0);
  Value block = forall.getInductionVar(1);
  Value out = forall.getRegionOutArgs()[0];
  Value m0 = arith::MulIOp::create(b, loc, block, index(rows));
  n0 = arith::MulIOp::create(b, loc, panel, index(panelWidth));
  fullRows = m % rows == 0;
  fullCols = n % panelWidth == 0;
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
  for (int64_t i = 0; i < rows; ++i) {
    Value r = arith::AddIOp::create(b, loc, m0, index(i));
    if (!fullRows)
      r = arith::MinSIOp::create(b, loc, r, index(m - 1));
    rowIndex.push_back(r);
  }
  SmallVector<Value> ys = ops.groups > 1
                              ? scaleByGroup()
                              : scaleWhole(accumulate(index(0), index(steps)));
  tile = storeTile(tile, ys, tileRows);
  b.setInsertionPointToEnd(forall.getTerminator().getBody());
  tensor::ParallelInsertSliceOp::create(b, loc, tile, out, tileOffsets,
                                        tileSizes, unit);
  return forall.getResult(0);
}

Value mlir::quant_xform::lowering::buildPackedInt8Linear(
    OpBuilder &b, Location loc, const PackedInt8Operands &ops,
    Int8Kernel kernel, MicrokernelShape shape) {
  // AMX tiles have 16 rows: fewer rows stay on the VNNI kernel, and so do
  // groups of other than a multiple of 32 inputs (a tile row of k).
  if (kernel == Int8Kernel::Amx && ops.m >= 16 && ops.groups == 1)
    return buildAmxInt8Linear(b, loc, ops.qx, ops.m, ops.k, ops.weight, ops.sx,
                              ops.sw, ops.bias);
  if (kernel == Int8Kernel::Amx && ops.m >= 16 &&
      (ops.k / ops.groups) % 32 == 0) {
    auto swType = cast<RankedTensorType>(ops.sw.getType());
    Value swByGroup =
        swType.getRank() == 2 ? groupMajorScales(b, loc, ops.sw) : Value();
    return buildAmxGroupedInt8Linear(b, loc, ops, swByGroup);
  }
  if (kernel == Int8Kernel::Amx)
    kernel = Int8Kernel::Avx512Vnni;
  // Per-group sums keep an f32 accumulator beside each i32 one: a smaller
  // block fits the 32 vector registers.
  if (ops.groups > 1)
    shape = {std::min<int64_t>(shape.rows, 4), shape.vectors};
  return PackedInt8Gemm(b, loc, ops, kernel, shape).build();
}
