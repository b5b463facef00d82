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
// (by the last pass) where the sum is used elsewhere.
//
//===----------------------------------------------------------------------===//

#include "NormKernel.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
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
  Value warpSum(Value x);
  Value horizontalSum(Value x4);
  /// The 4 inputs at `col` of the row: x, or x + r.
  Value loadInput(Value col);

  OpBuilder &b;
  Location loc;
  const NormShape &s;
  Type f32;
  VectorType f32x4;
  Value x, residual, gamma, beta, y, sum, row, lane;
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

Value NormKernelBuilder::warpSum(Value v) {
  Value width = arith::ConstantIntOp::create(b, loc, b.getI32Type(), 32);
  for (int64_t offset : {16, 8, 4, 2, 1}) {
    Value o = arith::ConstantIntOp::create(b, loc, b.getI32Type(), offset);
    Value other =
        gpu::ShuffleOp::create(b, loc, v, o, width, gpu::ShuffleMode::XOR)
            .getShuffleResult();
    v = arith::AddFOp::create(b, loc, v, other);
  }
  return v;
}

Value NormKernelBuilder::rowSum(function_ref<Value(Value)> term) {
  int64_t chunks = (s.k + kChunk - 1) / kChunk;
  auto loop =
      scf::ForOp::create(b, loc, c(0), c(chunks), c(1), ValueRange{cf(0.0)});
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value col = column(loop.getInductionVar());
    Value acc = loop.getRegionIterArgs()[0];
    Value next;
    if (s.k % kChunk == 0) {
      next = arith::AddFOp::create(b, loc, acc,
                                   horizontalSum(term(loadInput(col))));
    } else {
      Value inside =
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, col, c(s.k));
      auto ifOp = scf::IfOp::create(b, loc, TypeRange{f32}, inside,
                                    /*withElseRegion=*/true);
      b.setInsertionPointToStart(ifOp.thenBlock());
      Value v = loadInput(col);
      scf::YieldOp::create(b, loc,
                           ValueRange{arith::AddFOp::create(
                               b, loc, acc, horizontalSum(term(v)))});
      b.setInsertionPointToStart(ifOp.elseBlock());
      scf::YieldOp::create(b, loc, ValueRange{acc});
      b.setInsertionPointAfter(ifOp);
      next = ifOp.getResult(0);
    }
    scf::YieldOp::create(b, loc, ValueRange{next});
  }
  return warpSum(loop.getResult(0));
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
  args.push_back(rows);
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
  y = fn.getArgument(arg++);
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
  Value mean4 = vector::BroadcastOp::create(b, loc, f32x4, cf(0.0));
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
  Value inv4 = vector::BroadcastOp::create(b, loc, f32x4, inv);
  forEachPiece([&](Value col) {
    Value v = loadInput(col);
    if (sum)
      vector::StoreOp::create(b, loc, v, sum, ValueRange{row, col});
    Value g = vector::LoadOp::create(b, loc, f32x4, gamma, ValueRange{col});
    Value d = arith::SubFOp::create(b, loc, v, mean4);
    Value out = arith::MulFOp::create(b, loc, g,
                                      arith::MulFOp::create(b, loc, d, inv4));
    if (beta)
      out = arith::AddFOp::create(
          b, loc, out,
          vector::LoadOp::create(b, loc, f32x4, beta, ValueRange{col}));
    vector::StoreOp::create(b, loc, out, y, ValueRange{row, col});
  });
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
