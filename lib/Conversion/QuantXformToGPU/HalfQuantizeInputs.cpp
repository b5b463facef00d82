//===- HalfQuantizeInputs.cpp - bf16 between a GEMM and a quantize --------===//
//
// In a whole model a linear's f32 result, after the activation its GEMM's
// epilogue applies (GELU in an encoder's MLP), is often read by nothing
// but the next linear's per-token quantize: MiniLM's up projection writes
// 4096 × 1536 floats that the quantize kernel reads once. Where that is so,
// the result is rounded to bf16 (`arith.truncf`, which the epilogue fuses
// into its stores) and widened back (`arith.extf`, which the quantize
// kernel fuses into its loads): half the bytes written and read, at the
// cost of one rounding of at most 2⁻⁹ relative in front of the int8 one
// (a step of 1/127 of the row's largest value). bf16, not f16: f32's
// range, so no value becomes inf. Only with `half-quantize-inputs=true`:
// on the H100 MiniLM was no faster (the GEMM's bf16 epilogue took what
// the quantize kernel saved) and 2 % further from the evaluator.
//
//===----------------------------------------------------------------------===//

#include "KernelLowering.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"

using namespace mlir;
using namespace mlir::quant_xform;
using namespace mlir::quant_xform::gpu_lowering;

/// The value the epilogue of `q` stores: its fused activation's result
/// (not a gated pair's, whose epilogue stores f32), or its own.
static Value epilogueResult(QLinearOp q) {
  Operation *act = fusableActivation(q.getResult());
  if (!act)
    return q.getResult();
  return gatedPairsHalf(act) ? Value() : act->getResult(0);
}

/// The per-token quantize that is the only reader of `y` and whose kernel
/// loads `y` (directly, or in front of the Hadamard rotation it fuses),
/// and the operand that reads `y`; null when there is none.
static OpOperand *quantizeKernelUse(Value y) {
  if (!y.hasOneUse())
    return nullptr;
  OpOperand &use = *y.use_begin();
  Operation *user = use.getOwner();
  auto rot = dyn_cast<RotateOp>(user);
  if (rot && rot->hasOneUse())
    user = *rot->getUsers().begin();
  auto dq = dyn_cast<DynamicQuantizeOp>(user);
  if (!dq || (rot && fusableRotate(dq) != rot) || quantizedByNorm(dq) ||
      failed(checkQuantize(dq, /*emit=*/false)))
    return nullptr;
  return &use;
}

void gpu_lowering::narrowQuantizedLinearOutputs(func::FuncOp f) {
  SmallVector<QLinearOp> linears(f.getOps<QLinearOp>());
  for (QLinearOp q : linears) {
    if (failed(checkQLinear(q, /*emit=*/false)))
      continue;
    Value y = epilogueResult(q);
    auto type = y ? dyn_cast<RankedTensorType>(y.getType()) : nullptr;
    if (!type || type.getRank() != 2 || !type.hasStaticShape() ||
        !type.getElementType().isF32())
      continue;
    OpOperand *use = quantizeKernelUse(y);
    if (!use)
      continue;
    OpBuilder b(use->getOwner());
    Location loc = y.getLoc();
    Value half = arith::TruncFOp::create(
        b, loc, type.clone(BFloat16Type::get(f.getContext())), y);
    use->set(arith::ExtFOp::create(b, loc, type, half));
  }
}
