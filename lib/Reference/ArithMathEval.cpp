//===- ArithMathEval.cpp - scalar semantics of arith and math ops --------===//
//
// Floats are computed in float64 (truncf/extf round to the target type's
// precision); integers exactly, wrapped to their width.
//
//===----------------------------------------------------------------------===//

#include "EvaluatorImpl.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>

using namespace mlir;
using namespace mlir::quant_xform::io;
using namespace mlir::quant_xform::reference;

double mlir::quant_xform::reference::roundHalfEven(double v) {
  // std::nearbyint rounds half to even in the default rounding mode.
  return std::nearbyint(v);
}

FailureOr<DType> mlir::quant_xform::reference::valueDType(Operation *op,
                                                          Value v) {
  Type t = v.getType();
  if (auto shaped = dyn_cast<ShapedType>(t))
    t = shaped.getElementType();
  FailureOr<DType> d = dtypeOf(t);
  if (failed(d))
    op->emitOpError() << "reference evaluator does not model element type "
                      << t;
  return d;
}

bool mlir::quant_xform::reference::isElementwiseScalarOp(Operation *op) {
  StringRef ns = op->getDialect() ? op->getDialect()->getNamespace() : "";
  return (ns == "arith" && !isa<arith::ConstantOp>(op)) || ns == "math";
}

/// Unsigned view of a canonical integer of dtype `t`.
static uint64_t asUnsigned(int64_t v, DType t) {
  unsigned w = intWidth(t);
  if (w == 64)
    return static_cast<uint64_t>(v);
  return static_cast<uint64_t>(v) & ((uint64_t(1) << w) - 1);
}

static bool compareFloat(arith::CmpFPredicate p, double a, double b) {
  bool unordered = std::isnan(a) || std::isnan(b);
  using P = arith::CmpFPredicate;
  switch (p) {
  case P::AlwaysFalse:
    return false;
  case P::AlwaysTrue:
    return true;
  case P::OEQ:
    return !unordered && a == b;
  case P::OGT:
    return !unordered && a > b;
  case P::OGE:
    return !unordered && a >= b;
  case P::OLT:
    return !unordered && a < b;
  case P::OLE:
    return !unordered && a <= b;
  case P::ONE:
    return !unordered && a != b;
  case P::ORD:
    return !unordered;
  case P::UEQ:
    return unordered || a == b;
  case P::UGT:
    return unordered || a > b;
  case P::UGE:
    return unordered || a >= b;
  case P::ULT:
    return unordered || a < b;
  case P::ULE:
    return unordered || a <= b;
  case P::UNE:
    return unordered || a != b;
  case P::UNO:
    return unordered;
  }
  return false;
}

static bool compareInt(arith::CmpIPredicate p, int64_t a, int64_t b, DType t) {
  using P = arith::CmpIPredicate;
  uint64_t ua = asUnsigned(a, t), ub = asUnsigned(b, t);
  switch (p) {
  case P::eq:
    return a == b;
  case P::ne:
    return a != b;
  case P::slt:
    return a < b;
  case P::sle:
    return a <= b;
  case P::sgt:
    return a > b;
  case P::sge:
    return a >= b;
  case P::ult:
    return ua < ub;
  case P::ule:
    return ua <= ub;
  case P::ugt:
    return ua > ub;
  case P::uge:
    return ua >= ub;
  }
  return false;
}

/// Float to integer conversion toward zero, saturating out-of-range values
/// and mapping NaN to 0 (arith leaves those poison; a fixed answer keeps the
/// oracle deterministic).
static int64_t floatToInt(double v, DType t, bool isUnsigned) {
  if (std::isnan(v))
    return 0;
  unsigned w = intWidth(t);
  double lo = isUnsigned ? 0.0 : -std::ldexp(1.0, w - 1);
  double hi = isUnsigned ? std::ldexp(1.0, w) - 1 : std::ldexp(1.0, w - 1) - 1;
  return wrapInt(static_cast<int64_t>(std::clamp(std::trunc(v), lo, hi)), t);
}

FailureOr<Scalar>
mlir::quant_xform::reference::evalScalarOp(Operation *op, ArrayRef<Scalar> x,
                                           ArrayRef<DType> types, DType rt) {
  // Floats stay in float64 between ops; only conversions round.
  auto f = [](double v) {
    Scalar s;
    s.f = v;
    return s;
  };
  auto i = [&](int64_t v) {
    Scalar s;
    s.i = wrapInt(v, rt);
    return s;
  };
  auto ub = [&](int k) { return asUnsigned(x[k].i, types[k]); };

  std::optional<Scalar> result =
      llvm::TypeSwitch<Operation *, std::optional<Scalar>>(op)
          // Float arithmetic.
          .Case([&](arith::AddFOp) { return f(x[0].f + x[1].f); })
          .Case([&](arith::SubFOp) { return f(x[0].f - x[1].f); })
          .Case([&](arith::MulFOp) { return f(x[0].f * x[1].f); })
          .Case([&](arith::DivFOp) { return f(x[0].f / x[1].f); })
          .Case([&](arith::RemFOp) { return f(std::fmod(x[0].f, x[1].f)); })
          .Case([&](arith::NegFOp) { return f(-x[0].f); })
          .Case([&](arith::MaximumFOp) {
            return f(std::isnan(x[0].f) || std::isnan(x[1].f)
                         ? NAN
                         : std::max(x[0].f, x[1].f));
          })
          .Case([&](arith::MinimumFOp) {
            return f(std::isnan(x[0].f) || std::isnan(x[1].f)
                         ? NAN
                         : std::min(x[0].f, x[1].f));
          })
          .Case([&](arith::MaxNumFOp) { return f(std::fmax(x[0].f, x[1].f)); })
          .Case([&](arith::MinNumFOp) { return f(std::fmin(x[0].f, x[1].f)); })
          .Case([&](arith::CmpFOp c) {
            return i(compareFloat(c.getPredicate(), x[0].f, x[1].f));
          })
          // Integer arithmetic.
          .Case([&](arith::AddIOp) { return i(x[0].i + x[1].i); })
          .Case([&](arith::SubIOp) { return i(x[0].i - x[1].i); })
          .Case([&](arith::MulIOp) {
            return i(static_cast<int64_t>(static_cast<uint64_t>(x[0].i) *
                                          static_cast<uint64_t>(x[1].i)));
          })
          .Case([&](arith::DivSIOp) -> std::optional<Scalar> {
            if (x[1].i == 0)
              return std::nullopt;
            return i(x[0].i / x[1].i);
          })
          .Case([&](arith::RemSIOp) -> std::optional<Scalar> {
            if (x[1].i == 0)
              return std::nullopt;
            return i(x[0].i % x[1].i);
          })
          .Case([&](arith::DivUIOp) -> std::optional<Scalar> {
            if (ub(1) == 0)
              return std::nullopt;
            return i(static_cast<int64_t>(ub(0) / ub(1)));
          })
          .Case([&](arith::RemUIOp) -> std::optional<Scalar> {
            if (ub(1) == 0)
              return std::nullopt;
            return i(static_cast<int64_t>(ub(0) % ub(1)));
          })
          .Case([&](arith::MaxSIOp) { return i(std::max(x[0].i, x[1].i)); })
          .Case([&](arith::MinSIOp) { return i(std::min(x[0].i, x[1].i)); })
          .Case([&](arith::MaxUIOp) {
            return i(static_cast<int64_t>(std::max(ub(0), ub(1))));
          })
          .Case([&](arith::MinUIOp) {
            return i(static_cast<int64_t>(std::min(ub(0), ub(1))));
          })
          .Case([&](arith::AndIOp) { return i(x[0].i & x[1].i); })
          .Case([&](arith::OrIOp) { return i(x[0].i | x[1].i); })
          .Case([&](arith::XOrIOp) { return i(x[0].i ^ x[1].i); })
          .Case([&](arith::ShLIOp) { return i(x[0].i << (x[1].i & 63)); })
          .Case([&](arith::ShRSIOp) { return i(x[0].i >> (x[1].i & 63)); })
          .Case([&](arith::ShRUIOp) {
            return i(static_cast<int64_t>(ub(0) >> (x[1].i & 63)));
          })
          .Case([&](arith::CmpIOp c) {
            return i(compareInt(c.getPredicate(), x[0].i, x[1].i, types[0]));
          })
          .Case([&](arith::SelectOp) { return x[0].i ? x[1] : x[2]; })
          // Conversions.
          .Case([&](arith::ExtFOp) { return f(x[0].f); })
          .Case(
              [&](arith::TruncFOp) { return f(roundToPrecision(x[0].f, rt)); })
          .Case([&](arith::SIToFPOp) {
            return f(roundToPrecision(static_cast<double>(x[0].i), rt));
          })
          .Case([&](arith::UIToFPOp) {
            return f(roundToPrecision(static_cast<double>(ub(0)), rt));
          })
          .Case([&](arith::FPToSIOp) {
            Scalar s;
            s.i = floatToInt(x[0].f, rt, false);
            return s;
          })
          .Case([&](arith::FPToUIOp) {
            Scalar s;
            s.i = floatToInt(x[0].f, rt, true);
            return s;
          })
          .Case([&](arith::ExtSIOp) { return i(x[0].i); })
          .Case([&](arith::ExtUIOp) { return i(static_cast<int64_t>(ub(0))); })
          .Case([&](arith::TruncIOp) { return i(x[0].i); })
          .Case([&](arith::IndexCastOp) { return i(x[0].i); })
          // math.
          .Case([&](math::ExpOp) { return f(std::exp(x[0].f)); })
          .Case([&](math::Exp2Op) { return f(std::exp2(x[0].f)); })
          .Case([&](math::LogOp) { return f(std::log(x[0].f)); })
          .Case([&](math::Log2Op) { return f(std::log2(x[0].f)); })
          .Case([&](math::SqrtOp) { return f(std::sqrt(x[0].f)); })
          .Case([&](math::RsqrtOp) { return f(1.0 / std::sqrt(x[0].f)); })
          .Case([&](math::TanhOp) { return f(std::tanh(x[0].f)); })
          .Case([&](math::ErfOp) { return f(std::erf(x[0].f)); })
          .Case([&](math::AbsFOp) { return f(std::fabs(x[0].f)); })
          .Case([&](math::AbsIOp) { return i(std::llabs(x[0].i)); })
          .Case([&](math::PowFOp) { return f(std::pow(x[0].f, x[1].f)); })
          .Case([&](math::SinOp) { return f(std::sin(x[0].f)); })
          .Case([&](math::CosOp) { return f(std::cos(x[0].f)); })
          .Case([&](math::FloorOp) { return f(std::floor(x[0].f)); })
          .Case([&](math::CeilOp) { return f(std::ceil(x[0].f)); })
          .Case([&](math::RoundOp) { return f(std::round(x[0].f)); })
          .Case([&](math::RoundEvenOp) { return f(roundHalfEven(x[0].f)); })
          .Case([&](math::FmaOp) { return f(x[0].f * x[1].f + x[2].f); })
          .Default([&](Operation *) { return std::nullopt; });
  if (!result) {
    if (isa<arith::DivSIOp, arith::RemSIOp, arith::DivUIOp, arith::RemUIOp>(op))
      return op->emitOpError() << "integer division by zero";
    return op->emitOpError() << "is not supported by the reference evaluator";
  }
  return *result;
}
