//===- HalfAttention.cpp - f16 at an attention kernel's boundaries --------===//
//
// In a whole model, the attention kernel multiplies on f16 tensor cores:
// it rounds q, k and v to f16 as it loads them (k and v through a
// half-copy kernel in a prefill). Where q, k and v are projections (a
// qlinear's f32 result, reshaped to [B, S, heads, D] and read by nothing
// else), that rounding moves into the projections' GEMM epilogues
// (`arith.truncf` to f16, reshaped, `arith.extf` in front of the
// attention, which its kernel loads as f16): the same values, half the
// bytes written and read, and no half-copy kernel. Where the attention's
// result only feeds, reshaped to rows, a per-token dynamic_quantize (the
// output projection's), it is rounded to f16 by the kernel's stores and
// widened by the quantize kernel's loads: the one new rounding (2⁻¹¹
// relative at most), well inside the kernel's own f16 error.
//
//===----------------------------------------------------------------------===//

#include "KernelLowering.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace mlir::quant_xform;
using namespace mlir::quant_xform::gpu_lowering;

/// `t` with f16 elements.
static RankedTensorType halfOf(Type t) {
  return cast<RankedTensorType>(t).clone(Float16Type::get(t.getContext()));
}

/// Whether `v` is a static f32 tensor.
static bool isStaticF32(Value v) {
  auto t = dyn_cast<RankedTensorType>(v.getType());
  return t && t.hasStaticShape() && t.getElementType().isF32();
}

/// The reshape of a qlinear's result that is `x` (an attention operand)
/// when the reshape and the result have no other reader, or null.
static tensor::ExpandShapeOp projectedOperand(Value x) {
  auto expand = x.getDefiningOp<tensor::ExpandShapeOp>();
  if (!expand || !expand->hasOneUse() || !isStaticF32(x))
    return {};
  Value r = expand.getSrc();
  if (!r.getDefiningOp<QLinearOp>() || !r.hasOneUse() || !isStaticF32(r))
    return {};
  return expand;
}

/// Rewrites `reshape` (of a projection's result, or of an attention's) as
/// the same reshape of its f16 rounding, widened back: the producer's
/// kernel stores f16, the reader's kernel loads it.
template <typename Reshape> static void narrowThrough(Reshape reshape) {
  OpBuilder b(reshape);
  Location loc = reshape.getLoc();
  Value src = reshape.getSrc();
  Value half = arith::TruncFOp::create(b, loc, halfOf(src.getType()), src);
  Value reshaped = Reshape::create(b, loc, halfOf(reshape.getType()), half,
                                   reshape.getReassociationIndices());
  Value wide =
      arith::ExtFOp::create(b, loc, reshape.getType(), reshaped).getResult();
  reshape.getResult().replaceAllUsesWith(wide);
  reshape.erase();
}

/// The collapse of `att`'s result to rows that only a dynamic_quantize
/// reads (and nothing else reads the result), or null.
static tensor::CollapseShapeOp quantizedResult(AttentionOp att) {
  Value y = att.getResult();
  if (!y.hasOneUse() || !isStaticF32(y))
    return {};
  auto collapse = dyn_cast<tensor::CollapseShapeOp>(*y.getUsers().begin());
  if (!collapse || !collapse->hasOneUse() ||
      cast<RankedTensorType>(collapse.getType()).getRank() != 2 ||
      !isa<DynamicQuantizeOp>(*collapse->getUsers().begin()))
    return {};
  return collapse;
}

void gpu_lowering::narrowAttentionBoundaries(func::FuncOp f) {
  SmallVector<AttentionOp> attentions(f.getOps<AttentionOp>());
  for (AttentionOp att : attentions) {
    if (!attentionKernelRefusal(att).empty())
      continue;
    if (tensor::ExpandShapeOp q = projectedOperand(att.getQuery()))
      narrowThrough(q);
    // The kernel reads k and v as one type: both f16 or neither.
    tensor::ExpandShapeOp k = projectedOperand(att.getKey());
    tensor::ExpandShapeOp v = projectedOperand(att.getValue());
    if (k && v && k != v) {
      narrowThrough(k);
      narrowThrough(v);
    }
    if (tensor::CollapseShapeOp rows = quantizedResult(att))
      narrowThrough(rows);
  }
}
