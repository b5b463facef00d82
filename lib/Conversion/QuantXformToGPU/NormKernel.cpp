//===- NormKernel.cpp - LayerNorm / RMSNorm, a row in registers -----------===//
//
// The kernel of `quant_xform.layer_norm` and `rms_norm` on x [rows, K] in
// f32. One to eight warps take a row (NormLayout) and read it once, in
// 16-byte pieces held in registers: piece p of warp w covers the
// 128-element chunk p · W + w, lane l its elements 4l … 4l + 3, so a
// warp's load is one contiguous 512 bytes. Pieces past K (K not a
// multiple of 128 · W · pieces) load a valid address and count as zeros.
// From the registers, as the evaluator computes it: the sum (LayerNorm
// only; μ = sum / K), the sum of (x − μ)², each summed over the lane's
// pieces, over the warp by xor shuffles and over the row's warps through
// shared memory (in warp order, so every thread holds the same total),
// then y = γ⊙(x − μ)·rsqrt(var + ε) + β. A residual add in front (x + r)
// is loaded from both inputs and, where the sum is used elsewhere,
// written. With a per-token quantize fused behind, y is not written: the
// row's maximum |y| is reduced the same way, the scale follows as the
// quantize kernel computes it (QuantizeMath.h), and y's int8 values are
// stored, four a lane: the same bits as the quantize kernel after this
// kernel's y.
//
//===----------------------------------------------------------------------===//

#include "NormKernel.h"
#include "QuantizeMath.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::quant_xform;
using namespace mlir::quant_xform::gpu_kernels;

namespace {
constexpr int64_t kChunk = 128; // elements a warp reads per piece
constexpr int64_t kMaxWarpsPerRow = 8;
constexpr int64_t kPiecesPerLane = 4; // the target before warps run out
/// Shared-memory slots of the cross-warp sums: mean, squares, maximum.
enum ReductionSlot { kMeanSlot, kSquaresSlot, kMaxSlot, kSlots };
int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }
} // namespace

NormLayout gpu_kernels::normLayout(const NormShape &s) {
  int64_t chunks = ceilDiv(s.k, kChunk);
  int64_t warps = std::min(kMaxWarpsPerRow, ceilDiv(chunks, kPiecesPerLane));
  return {warps, warps == 1 ? 4 : 1, ceilDiv(chunks, warps)};
}

LaunchShape gpu_kernels::normLaunch(const NormShape &s) {
  NormLayout l = normLayout(s);
  return {ceilDiv(s.rows, l.rowsPerBlock), 1,
          32 * l.warpsPerRow * l.rowsPerBlock, 0};
}

namespace {

/// One of a lane's pieces of the row: its column (clamped inside the row
/// where the piece lies past K), whether it lies inside (null: always), and
/// the inputs there (x or x + r; zeros past K).
struct RowPiece {
  Value col, inside, v;
};

/// Builds the norm kernel of one shape; the methods are its phases.
class NormKernelBuilder {
public:
  NormKernelBuilder(OpBuilder &b, Location loc, const NormShape &s)
      : b(b), loc(loc), s(s), layout(normLayout(s)), f32(b.getF32Type()),
        f32x4(VectorType::get({4}, b.getF32Type())) {}

  gpu::GPUFuncOp build(StringRef name);

private:
  Value c(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value cf(double v) {
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(float(v)));
  }

  gpu::GPUFuncOp createFunction(StringRef name);
  /// tid, lane, the row and this warp's place in it.
  void emitSetup();
  /// Loads this lane's pieces of the row (and writes the residual sum).
  void loadRow();
  /// Σ (or the NaN-ignoring maximum, `max`) over the row of `term(i)`, a
  /// scalar for piece i (zero past K): all threads of the row get it.
  Value rowReduce(function_ref<Value(unsigned)> term, bool max,
                  ReductionSlot slot);
  Value warpReduce(Value v, bool max);
  /// a + b, or the NaN-ignoring maximum of a and b (`max`).
  Value combine(Value a, Value other, bool max);
  /// The sum (or maximum) of the 4 elements of `x4`, in order.
  Value horizontal(Value x4, bool max);
  /// y = γ⊙(v − μ)·inv + β of a piece.
  Value normalized(const RowPiece &p);
  /// Stores `value` at the piece's place of `dest` where it lies inside.
  void storePiece(const RowPiece &p, Value value, Value dest,
                  llvm::MaybeAlign align = {});
  /// The last phase: y stored, or y quantized and stored.
  void storeRow();

  OpBuilder &b;
  Location loc;
  const NormShape &s;
  NormLayout layout;
  Type f32;
  VectorType f32x4;
  Value x, residual, gamma, beta, y, q, scale, sum, partial;
  Value lane, warpInRow, row, mean4, inv4;
  SmallVector<RowPiece> pieces;
  SmallVector<Value> outputs; // y of each piece
};

gpu::GPUFuncOp NormKernelBuilder::createFunction(StringRef name) {
  MLIRContext *ctx = b.getContext();
  auto rows = MemRefType::get({s.rows, s.k}, f32);
  auto vec = MemRefType::get({s.k}, f32);
  SmallVector<Type> args = {rows};
  if (s.residual)
    args.push_back(rows);
  args.push_back(vec);
  if (s.beta)
    args.push_back(vec);
  if (s.quantize) {
    args.push_back(MemRefType::get({s.rows, s.k}, b.getI8Type()));
    args.push_back(MemRefType::get({s.rows}, f32));
  }
  if (!s.quantize || s.writeNormalized)
    args.push_back(rows);
  if (s.writeSum)
    args.push_back(rows);
  auto fn =
      gpu::GPUFuncOp::create(b, loc, name, FunctionType::get(ctx, args, {}));
  fn->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), UnitAttr::get(ctx));
  LaunchShape launch = normLaunch(s);
  fn->setAttr(fn.getKnownBlockSizeAttrName(),
              b.getDenseI32ArrayAttr({int32_t(launch.threads), 1, 1}));
  unsigned arg = 0;
  x = fn.getArgument(arg++);
  residual = s.residual ? fn.getArgument(arg++) : Value();
  gamma = fn.getArgument(arg++);
  beta = s.beta ? fn.getArgument(arg++) : Value();
  if (s.quantize) {
    q = fn.getArgument(arg++);
    scale = fn.getArgument(arg++);
  }
  if (!s.quantize || s.writeNormalized)
    y = fn.getArgument(arg++);
  sum = s.writeSum ? fn.getArgument(arg++) : Value();
  if (layout.warpsPerRow > 1) {
    auto workgroup =
        gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
    partial = fn.addWorkgroupAttribution(
        MemRefType::get({kSlots * layout.warpsPerRow}, f32,
                        MemRefLayoutAttrInterface{}, workgroup),
        loc);
  }
  return fn;
}

void NormKernelBuilder::emitSetup() {
  Value tid = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
  lane = arith::RemUIOp::create(b, loc, tid, c(32));
  Value warp = arith::DivUIOp::create(b, loc, tid, c(32));
  Value block = gpu::BlockIdOp::create(b, loc, gpu::Dimension::x);
  // Several warps a row: one row a block; one warp a row: 4 rows a block.
  warpInRow = layout.warpsPerRow > 1 ? warp : c(0);
  Value rowInBlock = layout.warpsPerRow > 1 ? c(0) : warp;
  row = arith::AddIOp::create(
      b, loc, arith::MulIOp::create(b, loc, block, c(layout.rowsPerBlock)),
      rowInBlock);
}

void NormKernelBuilder::loadRow() {
  int64_t w = layout.warpsPerRow;
  bool ragged = s.k != kChunk * w * layout.pieces;
  Value zeros = vector::BroadcastOp::create(b, loc, f32x4, cf(0.0));
  Value laneCol = arith::MulIOp::create(b, loc, lane, c(4));
  for (int64_t p = 0; p < layout.pieces; ++p) {
    Value chunk = arith::AddIOp::create(b, loc, warpInRow, c(p * w));
    Value col = arith::AddIOp::create(
        b, loc, arith::MulIOp::create(b, loc, chunk, c(kChunk)), laneCol);
    RowPiece piece{col, Value(), Value()};
    if (ragged) {
      piece.inside =
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, col, c(s.k));
      piece.col = arith::MinSIOp::create(b, loc, col, c(s.k - 4));
    }
    Value v =
        vector::LoadOp::create(b, loc, f32x4, x, ValueRange{row, piece.col});
    if (residual)
      v = arith::AddFOp::create(
          b, loc, v,
          vector::LoadOp::create(b, loc, f32x4, residual,
                                 ValueRange{row, piece.col}));
    piece.v =
        piece.inside
            ? Value(arith::SelectOp::create(b, loc, piece.inside, v, zeros))
            : v;
    pieces.push_back(piece);
  }
  if (sum)
    for (const RowPiece &p : pieces)
      storePiece(p, p.v, sum);
}

Value NormKernelBuilder::combine(Value a, Value other, bool max) {
  return max ? Value(arith::MaxNumFOp::create(b, loc, a, other))
             : Value(arith::AddFOp::create(b, loc, a, other));
}

Value NormKernelBuilder::horizontal(Value x4, bool max) {
  Value total = vector::ExtractOp::create(b, loc, x4, ArrayRef<int64_t>{0});
  for (int64_t e = 1; e < 4; ++e)
    total = combine(total,
                    vector::ExtractOp::create(b, loc, x4, ArrayRef<int64_t>{e}),
                    max);
  return total;
}

Value NormKernelBuilder::warpReduce(Value v, bool max) {
  Value width = arith::ConstantIntOp::create(b, loc, b.getI32Type(), 32);
  for (int64_t offset : {16, 8, 4, 2, 1}) {
    Value o = arith::ConstantIntOp::create(b, loc, b.getI32Type(), offset);
    Value other =
        gpu::ShuffleOp::create(b, loc, v, o, width, gpu::ShuffleMode::XOR)
            .getShuffleResult();
    v = combine(v, other, max);
  }
  return v;
}

Value NormKernelBuilder::rowReduce(function_ref<Value(unsigned)> term, bool max,
                                   ReductionSlot slot) {
  Value acc;
  for (auto [i, p] : llvm::enumerate(pieces)) {
    Value t = term(i);
    if (p.inside) // zero past K: neutral for sums and for maxima of |y|
      t = arith::SelectOp::create(b, loc, p.inside, t, cf(0.0));
    acc = acc ? combine(acc, t, max) : t;
  }
  acc = warpReduce(acc, max);
  int64_t w = layout.warpsPerRow;
  if (w == 1)
    return acc;
  // Lane 0 of each warp leaves its total; every thread combines them in
  // warp order. One slot per reduction: no barrier before the next one.
  Value first =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, lane, c(0));
  auto ifFirst = scf::IfOp::create(b, loc, first, /*withElse=*/false);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifFirst.thenBlock());
    Value at = arith::AddIOp::create(b, loc, warpInRow, c(slot * w));
    memref::StoreOp::create(b, loc, acc, partial, ValueRange{at});
  }
  gpu::BarrierOp::create(b, loc);
  Value total;
  for (int64_t i = 0; i < w; ++i) {
    Value t =
        memref::LoadOp::create(b, loc, partial, ValueRange{c(slot * w + i)});
    total = total ? combine(total, t, max) : t;
  }
  return total;
}

Value NormKernelBuilder::normalized(const RowPiece &p) {
  Value g = vector::LoadOp::create(b, loc, f32x4, gamma, ValueRange{p.col});
  Value d = arith::SubFOp::create(b, loc, p.v, mean4);
  Value t = arith::MulFOp::create(b, loc, d, inv4);
  if (!beta)
    return arith::MulFOp::create(b, loc, g, t);
  // One fma, explicitly: ptxas would otherwise choose whether to contract
  // γ·t + β, and the unfused quantize must see the same y.
  return LLVM::FMAOp::create(
      b, loc, g, t,
      vector::LoadOp::create(b, loc, f32x4, beta, ValueRange{p.col}));
}

void NormKernelBuilder::storePiece(const RowPiece &p, Value value, Value dest,
                                   llvm::MaybeAlign align) {
  OpBuilder::InsertionGuard guard(b);
  if (p.inside) {
    auto ifInside = scf::IfOp::create(b, loc, p.inside, /*withElse=*/false);
    b.setInsertionPointToStart(ifInside.thenBlock());
  }
  vector::StoreOp::create(b, loc, value, dest, ValueRange{row, p.col},
                          /*nontemporal=*/false, align);
}

void NormKernelBuilder::storeRow() {
  for (const RowPiece &p : pieces)
    outputs.push_back(normalized(p));
  if (y)
    for (auto [p, out] : llvm::zip(pieces, outputs))
      storePiece(p, out, y);
  if (!s.quantize)
    return;
  // |y| as maxnum(y, −y) (no libdevice call), its maximum NaN-ignoring.
  Value absmax = rowReduce(
      [&](unsigned i) -> Value {
        Value out = outputs[i];
        return horizontal(arith::MaxNumFOp::create(
                              b, loc, out, arith::NegFOp::create(b, loc, out)),
                          /*max=*/true);
      },
      /*max=*/true, kMaxSlot);
  RowQuantizer rq = rowQuantizer(b, loc, absmax, s.clip, s.qmin, s.qmax);
  Value firstThread = arith::CmpIOp::create(
      b, loc, arith::CmpIPredicate::eq,
      arith::AddIOp::create(b, loc, lane, warpInRow), c(0));
  auto ifFirst = scf::IfOp::create(b, loc, firstThread, /*withElse=*/false);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifFirst.thenBlock());
    memref::StoreOp::create(b, loc, rq.scale, scale, ValueRange{row});
  }
  // The quotient by the reciprocal where the scale allows (QuantizeMath.h).
  auto ifFast = scf::IfOp::create(b, loc, rq.fast, /*withElse=*/true);
  OpBuilder::InsertionGuard guard(b);
  for (bool fast : {true, false}) {
    b.setInsertionPointToStart(fast ? ifFast.thenBlock() : ifFast.elseBlock());
    for (auto [p, out] : llvm::zip(pieces, outputs))
      storePiece(p, sumsToInt8(b, loc, quantizedSums(b, loc, out, rq, fast)), q,
                 llvm::MaybeAlign(4));
  }
}

gpu::GPUFuncOp NormKernelBuilder::build(StringRef name) {
  gpu::GPUFuncOp fn = createFunction(name);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&fn.getBody().front());
  emitSetup();
  // Several warps a row: the grid has exactly one block a row, and every
  // thread must reach the barriers. One warp a row: the last block's
  // extra warps skip.
  if (layout.warpsPerRow == 1) {
    Value inside = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, row,
                                         c(s.rows));
    auto ifRow = scf::IfOp::create(b, loc, inside, /*withElseRegion=*/false);
    b.setInsertionPointToStart(ifRow.thenBlock());
  }
  loadRow();
  Value invK = cf(1.0 / double(s.k));
  mean4 = vector::BroadcastOp::create(b, loc, f32x4, cf(0.0));
  if (s.center) {
    Value total = rowReduce(
        [&](unsigned i) { return horizontal(pieces[i].v, /*max=*/false); },
        /*max=*/false, kMeanSlot);
    mean4 = vector::BroadcastOp::create(
        b, loc, f32x4, arith::MulFOp::create(b, loc, total, invK));
  }
  Value squares = rowReduce(
      [&](unsigned i) {
        Value d = arith::SubFOp::create(b, loc, pieces[i].v, mean4);
        return horizontal(arith::MulFOp::create(b, loc, d, d), /*max=*/false);
      },
      /*max=*/false, kSquaresSlot);
  Value var = arith::MulFOp::create(b, loc, squares, invK);
  Value inv = math::RsqrtOp::create(
      b, loc, arith::AddFOp::create(b, loc, var, cf(s.epsilon)));
  inv4 = vector::BroadcastOp::create(b, loc, f32x4, inv);
  storeRow();
  b.setInsertionPointToEnd(&fn.getBody().front());
  gpu::ReturnOp::create(b, loc);
  return fn;
}

} // namespace

gpu::GPUFuncOp gpu_kernels::buildNormKernel(OpBuilder &b, Location loc,
                                            StringRef name,
                                            const NormShape &s) {
  return NormKernelBuilder(b, loc, s).build(name);
}
