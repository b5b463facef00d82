//===- AttentionCombineKernel.cpp - the splits of an attention, combined --===//
//
// The second kernel of a split attention (flash-decoding): one thread per
// element of a head's row. Each split i left its unnormalized output O_i
// and its row's maximum m_i (of scores in units of log₂ e) and sum l_i;
// with M = max_i m_i (0 where every m_i is −∞, as in the split kernel),
//   out = Σ_i 2^(m_i − M)·O_i / Σ_i 2^(m_i − M)·l_i.
//
//===----------------------------------------------------------------------===//

#include "AttentionKernel.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

#include <limits>

using namespace mlir;
using namespace mlir::quant_xform;
using namespace mlir::quant_xform::gpu_kernels;

gpu::GPUFuncOp gpu_kernels::buildAttentionCombineKernel(
    OpBuilder &b, Location loc, StringRef name, const AttentionShape &s) {
  MLIRContext *ctx = b.getContext();
  Type f32 = b.getF32Type();
  auto outType = MemRefType::get({s.batch, s.queries, s.heads, s.headDim},
                                 s.halfOutput ? b.getF16Type() : f32);
  SmallVector<Type> args = {attentionPartsType(b, s), attentionStatsType(b, s),
                            outType};
  auto fn =
      gpu::GPUFuncOp::create(b, loc, name, FunctionType::get(ctx, args, {}));
  fn->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), UnitAttr::get(ctx));
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&fn.getBody().front());
  Value parts = fn.getArgument(0), stats = fn.getArgument(1),
        out = fn.getArgument(2);
  auto c = [&](int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); };
  auto cf = [&](double v) {
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(float(v)));
  };
  Value d = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
  Value row = gpu::BlockIdOp::create(b, loc, gpu::Dimension::x);
  Value head = gpu::BlockIdOp::create(b, loc, gpu::Dimension::y);
  Value batch = gpu::BlockIdOp::create(b, loc, gpu::Dimension::z);
  Value negInf = cf(-std::numeric_limits<double>::infinity());
  auto stat = [&](OpBuilder &nb, Value split, int64_t which) -> Value {
    return memref::LoadOp::create(
        nb, loc, stats, ValueRange{split, batch, row, head, c(which)});
  };
  // The maximum over the splits (0 where all are −∞).
  auto maxLoop = scf::ForOp::create(
      b, loc, c(0), c(s.splits), c(1), ValueRange{negInf},
      [&](OpBuilder &nb, Location, Value i, ValueRange acc) {
        Value m = arith::MaximumFOp::create(nb, loc, acc[0], stat(nb, i, 0));
        scf::YieldOp::create(nb, loc, m);
      });
  Value isInf = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ,
                                      maxLoop.getResult(0), negInf);
  Value top =
      arith::SelectOp::create(b, loc, isInf, cf(0.0), maxLoop.getResult(0));
  // The weighted sums of the outputs and of the row sums.
  auto sumLoop = scf::ForOp::create(
      b, loc, c(0), c(s.splits), c(1), ValueRange{cf(0.0), cf(0.0)},
      [&](OpBuilder &nb, Location, Value i, ValueRange acc) {
        Value w = math::Exp2Op::create(
            nb, loc, arith::SubFOp::create(nb, loc, stat(nb, i, 0), top));
        Value l = arith::AddFOp::create(
            nb, loc, acc[0], arith::MulFOp::create(nb, loc, w, stat(nb, i, 1)));
        Value o = memref::LoadOp::create(nb, loc, parts,
                                         ValueRange{i, batch, row, head, d});
        Value sum = arith::AddFOp::create(nb, loc, acc[1],
                                          arith::MulFOp::create(nb, loc, w, o));
        scf::YieldOp::create(nb, loc, ValueRange{l, sum});
      });
  Value y =
      arith::DivFOp::create(b, loc, sumLoop.getResult(1), sumLoop.getResult(0));
  if (s.halfOutput)
    y = arith::TruncFOp::create(b, loc, b.getF16Type(), y);
  memref::StoreOp::create(b, loc, y, out, ValueRange{batch, row, head, d});
  gpu::ReturnOp::create(b, loc);
  return fn;
}
