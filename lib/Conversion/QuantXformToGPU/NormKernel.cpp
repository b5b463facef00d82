//===- NormKernel.cpp - LayerNorm / RMSNorm, a warp per row ---------------===//
//
// The kernel of `quant_xform.layer_norm` and `rms_norm` on x [rows, K] in
// f32: each warp takes one row and reads it in 16-byte pieces (lane l
// reads elements 4l … 4l + 3 of each 128-element chunk, so a warp's loads
// are one contiguous 512 bytes), in three passes as the evaluator computes
// it: the sum (LayerNorm only; μ = sum / K), the sum of (x − μ)², each
// reduced over the warp by xor shuffles, then y = γ⊙(x − μ)·rsqrt(var + ε)
// + β. The row stays in L1 between passes. K must be a multiple of 4
// (a ragged last chunk is masked per piece). A residual add in front
// (x + r) is recomputed by each pass from both inputs, and written once
// (by the last pass) where the sum is used elsewhere. With a per-token
// quantize fused behind, y is not written: one more pass takes the row's
// maximum |y| (reduced over the warp), the scale follows as the quantize
// kernel computes it (QuantizeMath.h), and the last pass stores y's int8
// values, four a lane: the same bits as the quantize kernel after the
// norm kernel.
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
constexpr int64_t kChunk = 128; // elements a warp reads per step
} // namespace

LaunchShape gpu_kernels::normLaunch(const NormShape &s) {
  return {(s.rows + kNormRowsPerBlock - 1) / kNormRowsPerBlock, 1,
          32 * kNormRowsPerBlock, 0};
}

namespace {

/// Builds the norm kernel of one shape; the methods are its passes.
class NormKernelBuilder {
public:
  NormKernelBuilder(OpBuilder &b, Location loc, const NormShape &s)
      : b(b), loc(loc), s(s), f32(b.getF32Type()),
        f32x4(VectorType::get({4}, b.getF32Type())) {}

  gpu::GPUFuncOp build(StringRef name);

private:
  Value c(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value cf(double v) {
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(float(v)));
  }

  /// Σ over the row of `term(x4)` (a vector<4xf32> per piece; zeros for
  /// pieces past K), summed over the warp.
  Value rowSum(function_ref<Value(Value)> term);
  /// The column of this lane's piece at chunk `chunk`.
  Value column(Value chunk);
  /// Runs `body(column)` for each of this lane's pieces inside the row.
  void forEachPiece(function_ref<void(Value)> body);
  /// Folds `step(column, acc)` over this lane's pieces inside the row,
  /// from 0.
  Value laneFold(function_ref<Value(Value col, Value acc)> step);
  /// The sum (or NaN-ignoring maximum) of `v` over the warp.
  Value warpReduce(Value v, bool max);
  /// The NaN-ignoring maximum of |y| over the row (warp-reduced).
  Value rowAbsMax();
  /// y = γ⊙(v − μ)·inv + β at `col` for the inputs `v`.
  Value normalized(Value col, Value v);
  /// The last pass: y (and the sum) stored, or y quantized and stored.
  void storePass();
  Value horizontalSum(Value x4);
  /// The 4 inputs at `col` of the row: x, or x + r.
  Value loadInput(Value col);

  OpBuilder &b;
  Location loc;
  const NormShape &s;
  Type f32;
  VectorType f32x4;
  Value x, residual, gamma, beta, y, q, scale, sum, row, lane;
  Value mean4, inv4;
};

Value NormKernelBuilder::loadInput(Value col) {
  Value v = vector::LoadOp::create(b, loc, f32x4, x, ValueRange{row, col});
  if (!residual)
    return v;
  Value r =
      vector::LoadOp::create(b, loc, f32x4, residual, ValueRange{row, col});
  return arith::AddFOp::create(b, loc, v, r);
}

Value NormKernelBuilder::column(Value chunk) {
  return arith::AddIOp::create(b, loc,
                               arith::MulIOp::create(b, loc, chunk, c(kChunk)),
                               arith::MulIOp::create(b, loc, lane, c(4)));
}

void NormKernelBuilder::forEachPiece(function_ref<void(Value)> body) {
  int64_t chunks = (s.k + kChunk - 1) / kChunk;
  auto loop = scf::ForOp::create(b, loc, c(0), c(chunks), c(1));
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(loop.getBody());
  Value col = column(loop.getInductionVar());
  if (s.k % kChunk == 0) {
    body(col);
    return;
  }
  Value inside =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, col, c(s.k));
  auto ifOp = scf::IfOp::create(b, loc, inside, /*withElseRegion=*/false);
  b.setInsertionPointToStart(ifOp.thenBlock());
  body(col);
}

Value NormKernelBuilder::horizontalSum(Value x4) {
  Value sum = vector::ExtractOp::create(b, loc, x4, ArrayRef<int64_t>{0});
  for (int64_t e = 1; e < 4; ++e)
    sum = arith::AddFOp::create(
        b, loc, sum,
        vector::ExtractOp::create(b, loc, x4, ArrayRef<int64_t>{e}));
  return sum;
}

Value NormKernelBuilder::warpReduce(Value v, bool max) {
  Value width = arith::ConstantIntOp::create(b, loc, b.getI32Type(), 32);
  for (int64_t offset : {16, 8, 4, 2, 1}) {
    Value o = arith::ConstantIntOp::create(b, loc, b.getI32Type(), offset);
    Value other =
        gpu::ShuffleOp::create(b, loc, v, o, width, gpu::ShuffleMode::XOR)
            .getShuffleResult();
    v = max ? Value(arith::MaxNumFOp::create(b, loc, v, other))
            : Value(arith::AddFOp::create(b, loc, v, other));
  }
  return v;
}

Value NormKernelBuilder::normalized(Value col, Value v) {
  Value g = vector::LoadOp::create(b, loc, f32x4, gamma, ValueRange{col});
  Value d = arith::SubFOp::create(b, loc, v, mean4);
  Value t = arith::MulFOp::create(b, loc, d, inv4);
  if (!beta)
    return arith::MulFOp::create(b, loc, g, t);
  // One fma, explicitly: ptxas would choose per pass whether to contract
  // γ·t + β, and the passes of a fused quantize must agree on y.
  return LLVM::FMAOp::create(
      b, loc, g, t,
      vector::LoadOp::create(b, loc, f32x4, beta, ValueRange{col}));
}

Value NormKernelBuilder::rowAbsMax() {
  // |y| as maxnum(y, −y) (no libdevice call), its maximum NaN-ignoring.
  return warpReduce(
      laneFold([&](Value col, Value acc) -> Value {
        Value out = normalized(col, loadInput(col));
        Value abs = arith::MaxNumFOp::create(
            b, loc, out, arith::NegFOp::create(b, loc, out));
        for (int64_t e = 0; e < 4; ++e)
          acc = arith::MaxNumFOp::create(
              b, loc, acc,
              vector::ExtractOp::create(b, loc, abs, ArrayRef<int64_t>{e}));
        return acc;
      }),
      /*max=*/true);
}

void NormKernelBuilder::storePass() {
  auto storeSum = [&](Value col, Value v) {
    if (sum)
      vector::StoreOp::create(b, loc, v, sum, ValueRange{row, col});
  };
  if (!s.quantize) {
    forEachPiece([&](Value col) {
      Value v = loadInput(col);
      storeSum(col, v);
      vector::StoreOp::create(b, loc, normalized(col, v), y,
                              ValueRange{row, col});
    });
    return;
  }
  RowQuantizer rq = rowQuantizer(b, loc, rowAbsMax(), s.clip, s.qmin, s.qmax);
  Value firstLane =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, lane, c(0));
  auto ifFirst = scf::IfOp::create(b, loc, firstLane, /*withElse=*/false);
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
    forEachPiece([&](Value col) {
      Value v = loadInput(col);
      storeSum(col, v);
      Value bytes = sumsToInt8(
          b, loc, quantizedSums(b, loc, normalized(col, v), rq, fast));
      vector::StoreOp::create(b, loc, bytes, q, ValueRange{row, col},
                              /*nontemporal=*/false, llvm::MaybeAlign(4));
    });
  }
}

Value NormKernelBuilder::laneFold(
    function_ref<Value(Value col, Value acc)> step) {
  int64_t chunks = (s.k + kChunk - 1) / kChunk;
  auto loop =
      scf::ForOp::create(b, loc, c(0), c(chunks), c(1), ValueRange{cf(0.0)});
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(loop.getBody());
  Value col = column(loop.getInductionVar());
  Value acc = loop.getRegionIterArgs()[0];
  Value next;
  if (s.k % kChunk == 0) {
    next = step(col, acc);
  } else {
    Value inside =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, col, c(s.k));
    auto ifOp = scf::IfOp::create(b, loc, TypeRange{f32}, inside,
                                  /*withElseRegion=*/true);
    b.setInsertionPointToStart(ifOp.thenBlock());
    scf::YieldOp::create(b, loc, ValueRange{step(col, acc)});
    b.setInsertionPointToStart(ifOp.elseBlock());
    scf::YieldOp::create(b, loc, ValueRange{acc});
    b.setInsertionPointAfter(ifOp);
    next = ifOp.getResult(0);
  }
  scf::YieldOp::create(b, loc, ValueRange{next});
  return loop.getResult(0);
}

Value NormKernelBuilder::rowSum(function_ref<Value(Value)> term) {
  return warpReduce(laneFold([&](Value col, Value acc) -> Value {
                      return arith::AddFOp::create(
                          b, loc, acc, horizontalSum(term(loadInput(col))));
                    }),
                    /*max=*/false);
}

gpu::GPUFuncOp NormKernelBuilder::build(StringRef name) {
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
  } else {
    args.push_back(rows);
  }
  if (s.writeSum)
    args.push_back(rows);
  auto fn =
      gpu::GPUFuncOp::create(b, loc, name, FunctionType::get(ctx, args, {}));
  fn->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), UnitAttr::get(ctx));
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&fn.getBody().front());
  unsigned arg = 0;
  x = fn.getArgument(arg++);
  residual = s.residual ? fn.getArgument(arg++) : Value();
  gamma = fn.getArgument(arg++);
  beta = s.beta ? fn.getArgument(arg++) : Value();
  if (s.quantize) {
    q = fn.getArgument(arg++);
    scale = fn.getArgument(arg++);
  } else {
    y = fn.getArgument(arg++);
  }
  sum = s.writeSum ? fn.getArgument(arg++) : Value();
  Value tid = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
  lane = arith::RemUIOp::create(b, loc, tid, c(32));
  Value warp = arith::DivUIOp::create(b, loc, tid, c(32));
  Value block = gpu::BlockIdOp::create(b, loc, gpu::Dimension::x);
  row = arith::AddIOp::create(
      b, loc, arith::MulIOp::create(b, loc, block, c(kNormRowsPerBlock)), warp);
  Value inside =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, row, c(s.rows));
  auto ifRow = scf::IfOp::create(b, loc, inside, /*withElseRegion=*/false);
  b.setInsertionPointToStart(ifRow.thenBlock());
  Value invK = cf(1.0 / double(s.k));
  mean4 = vector::BroadcastOp::create(b, loc, f32x4, cf(0.0));
  if (s.center) {
    Value mean =
        arith::MulFOp::create(b, loc, rowSum([](Value v) { return v; }), invK);
    mean4 = vector::BroadcastOp::create(b, loc, f32x4, mean);
  }
  Value sq = rowSum([&](Value v) {
    Value d = arith::SubFOp::create(b, loc, v, mean4);
    return Value(arith::MulFOp::create(b, loc, d, d));
  });
  Value var = arith::MulFOp::create(b, loc, sq, invK);
  Value inv = math::RsqrtOp::create(
      b, loc, arith::AddFOp::create(b, loc, var, cf(s.epsilon)));
  inv4 = vector::BroadcastOp::create(b, loc, f32x4, inv);
  storePass();
  b.setInsertionPointAfter(ifRow);
  gpu::ReturnOp::create(b, loc);
  return fn;
}

} // namespace

gpu::GPUFuncOp gpu_kernels::buildNormKernel(OpBuilder &b, Location loc,
                                            StringRef name,
                                            const NormShape &s) {
  return NormKernelBuilder(b, loc, s).build(name);
}
