//===- QuantizeMath.cpp - a row's symmetric int8 quantize ----------------===//
//
// See QuantizeMath.h and, for why each step is exact, QuantizeKernel.cpp.
// No math-dialect ops (they would become libdevice calls).
//
//===----------------------------------------------------------------------===//

#include "QuantizeMath.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <cmath>

using namespace mlir;
using namespace mlir::quant_xform;
using namespace mlir::quant_xform::gpu_kernels;

namespace {
/// Scales s in [2^-kFastScaleExp, 2^kFastScaleExp] take the reciprocal
/// path: every residual that matters stays normal.
constexpr int kFastScaleExp = 90;

Value f32Constant(OpBuilder &b, Location loc, double v) {
  return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(float(v)));
}
Value f64Constant(OpBuilder &b, Location loc, APFloat v) {
  return arith::ConstantOp::create(b, loc, b.getFloatAttr(b.getF64Type(), v));
}
} // namespace

Value gpu_kernels::roundingMagic(OpBuilder &b, Location loc) {
  return f32Constant(b, loc, 12582912.0);
}

RowQuantizer gpu_kernels::rowQuantizer(OpBuilder &b, Location loc, Value absmax,
                                       double clip, int64_t qmin,
                                       int64_t qmax) {
  RowQuantizer q;
  q.qmin = qmin;
  q.qmax = qmax;
  Type f32 = b.getF32Type(), f64 = b.getF64Type();
  Value wide = arith::ExtFOp::create(b, loc, f64, absmax);
  wide =
      arith::MulFOp::create(b, loc, wide, f64Constant(b, loc, APFloat(clip)));
  Value positive =
      arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, wide,
                            f64Constant(b, loc, APFloat(0.0)));
  q.finite = arith::CmpFOp::create( // wide ≥ 0 and never NaN
      b, loc, arith::CmpFPredicate::OLT, wide,
      f64Constant(b, loc, APFloat::getInf(APFloat::IEEEdouble())));
  Value s64 = arith::DivFOp::create(b, loc, wide,
                                    f64Constant(b, loc, APFloat(double(qmax))));
  q.scale = arith::SelectOp::create(
      b, loc, arith::AndIOp::create(b, loc, positive, q.finite),
      arith::TruncFOp::create(b, loc, f32, s64), f32Constant(b, loc, 1.0));
  q.negScale = arith::NegFOp::create(b, loc, q.scale);
  q.recip = arith::DivFOp::create(b, loc, f32Constant(b, loc, 1.0), q.scale);
  auto inRange = [&](arith::CmpFPredicate p, int exp) {
    return arith::CmpFOp::create(b, loc, p, q.scale,
                                 f32Constant(b, loc, std::ldexp(1.0, exp)));
  };
  q.fast = arith::AndIOp::create(
      b, loc, q.finite,
      arith::AndIOp::create(b, loc,
                            inRange(arith::CmpFPredicate::OGE, -kFastScaleExp),
                            inRange(arith::CmpFPredicate::OLE, kFastScaleExp)));
  return q;
}

Value gpu_kernels::quantizedSums(OpBuilder &b, Location loc, Value v,
                                 const RowQuantizer &q, bool fast) {
  auto type = cast<VectorType>(v.getType());
  auto splat = [&](Value scalar) -> Value {
    return vector::BroadcastOp::create(b, loc, type, scalar);
  };
  auto splatF = [&](double c) { return splat(f32Constant(b, loc, c)); };
  Value r;
  if (fast) {
    Value recip = splat(q.recip), negS = splat(q.negScale);
    r = arith::MulFOp::create(b, loc, v, recip);
    for (int step = 0; step < 2; ++step) {
      Value residual = LLVM::FMAOp::create(b, loc, negS, r, v);
      r = LLVM::FMAOp::create(b, loc, residual, recip, r);
    }
  } else {
    r = arith::DivFOp::create(b, loc, v, splat(q.scale));
  }
  Value isNan = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNO, r, r);
  r = arith::SelectOp::create(b, loc, isNan, splatF(0.0), r);
  r = arith::MinNumFOp::create(
      b, loc, arith::MaxNumFOp::create(b, loc, r, splatF(double(q.qmin))),
      splatF(double(q.qmax)));
  return arith::AddFOp::create(b, loc, r, splat(roundingMagic(b, loc)));
}

Value gpu_kernels::sumsToInt8(OpBuilder &b, Location loc, Value sums) {
  int64_t n = cast<VectorType>(sums.getType()).getNumElements();
  Value whole = arith::BitcastOp::create(
      b, loc, VectorType::get({n}, b.getI32Type()), sums);
  return arith::TruncIOp::create(b, loc, VectorType::get({n}, b.getI8Type()),
                                 whole);
}
