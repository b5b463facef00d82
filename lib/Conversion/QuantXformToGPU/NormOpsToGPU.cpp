//===- NormOpsToGPU.cpp - layer_norm / rms_norm to their kernel ----------===//
//
// The patterns of convert-quant-xform-qlinear-to-gpu for the norms: a
// `layer_norm` or `rms_norm` of a static f32 [M, K] tensor (K a multiple
// of 4, at most 32768) becomes one launch of the norm kernel
// (NormKernel.cpp), one to eight warps a row, writing its out-parameter or a
// scratch buffer; an `arith.addf` in front of it (a residual add) is fused into
// its loads, and the sum is written too where it is returned; a per-token
// dynamic_quantize behind the norm is done by the same kernel (which then
// also writes the normalized rows where another op reads them),
// which then writes the int8 values and scales instead of the normalized rows.
// Other norms stay for convert-quant-xform-to-linalg (loop kernels).
//
//===----------------------------------------------------------------------===//

#include "KernelLowering.h"
#include "NormKernel.h"

using namespace mlir;
using namespace mlir::quant_xform;
using namespace mlir::quant_xform::gpu_lowering;

std::string gpu_lowering::normKernelRefusal(Operation *op) {
  auto x = cast<RankedTensorType>(op->getOperand(0).getType());
  if (x.getRank() != 2 || !x.hasStaticShape())
    return "a static [M, K] input";
  if (x.getDimSize(1) % 4 != 0 || x.getNumElements() == 0)
    return "K a multiple of 4 (got " + std::to_string(x.getDimSize(1)) + ")";
  if (x.getDimSize(1) > gpu_kernels::kMaxNormK)
    return "K at most " + std::to_string(gpu_kernels::kMaxNormK) + " (got " +
           std::to_string(x.getDimSize(1)) + ")";
  for (Value v : op->getOperands())
    if (!cast<RankedTensorType>(v.getType()).getElementType().isF32())
      return "f32 operands";
  return "";
}

arith::AddFOp gpu_lowering::fusableResidual(Operation *norm) {
  auto add = norm->getOperand(0).getDefiningOp<arith::AddFOp>();
  if (!add || add.getType() != norm->getOperand(0).getType() ||
      add->getBlock() != norm->getBlock())
    return {};
  // Its other users must follow the norm (the kernel writes the sum).
  for (Operation *user : add->getUsers())
    if (user != norm &&
        (user->getBlock() != norm->getBlock() || !norm->isBeforeInBlock(user)))
      return {};
  return add;
}

DynamicQuantizeOp gpu_lowering::fusableNormQuantize(Operation *norm) {
  Value y = norm->getResult(0);
  if (!normKernelRefusal(norm).empty() ||
      !cast<RankedTensorType>(y.getType()).hasStaticShape())
    return {};
  for (Operation *user : y.getUsers()) {
    auto dq = dyn_cast<DynamicQuantizeOp>(user);
    if (dq && dq.getInput() == y && dq->getBlock() == norm->getBlock() &&
        succeeded(checkQuantize(dq, /*emit=*/false)))
      return dq;
  }
  return {};
}

bool gpu_lowering::quantizedByNorm(DynamicQuantizeOp dq) {
  Operation *norm = dq.getInput().getDefiningOp();
  return isa_and_nonnull<LayerNormOp, RMSNormOp>(norm) &&
         fusableNormQuantize(norm) == dq;
}

namespace {

/// `layer_norm` / `rms_norm` → a launch of the norm kernel.
template <typename NormOp, bool Center>
struct NormToGPU : public GPULaunchPattern<NormOp> {
  using GPULaunchPattern<NormOp>::GPULaunchPattern;

  LogicalResult
  matchAndRewrite(NormOp op, typename NormOp::Adaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    GPULaunchState &state = this->state;
    Location loc = op.getLoc();
    auto x = cast<RankedTensorType>(op.getInput().getType());
    gpu_kernels::NormShape shape{x.getDimSize(0), x.getDimSize(1),
                                 op.getEpsilon().convertToDouble(), Center,
                                 bool(op.getBeta())};
    arith::AddFOp add = fusableResidual(op);
    Value sum = add ? state.bufferFor.lookup(add.getResult()) : Value();
    shape.residual = bool(add);
    shape.writeSum = bool(sum);
    auto dq = dyn_cast_or_null<DynamicQuantizeOp>(
        state.fusedNormQuantize.lookup(op.getOperation()));
    if (dq) {
      QuantSchemeAttr scheme = dq.getScheme();
      shape.quantize = true;
      shape.writeNormalized = !op.getResult().hasOneUse();
      shape.clip = scheme.getClipRatio();
      shape.qmin = scheme.getQMin();
      shape.qmax = scheme.getQMax();
    }
    OpBuilder kb = state.kernelBuilder();
    std::string name =
        state.functionName + "_norm" + std::to_string(state.nextNorm++);
    gpu::GPUFuncOp kernel = gpu_kernels::buildNormKernel(kb, loc, name, shape);
    SmallVector<Value> operands;
    if (add)
      operands = {state.bufferOf(add.getLhs()), state.bufferOf(add.getRhs())};
    for (Value v : op->getOperands().drop_front(add ? 1 : 0))
      operands.push_back(state.bufferOf(v));
    // The normalized rows, or with the quantize the int8 values and scales,
    // and the rows too where another op reads them (else the norm's result
    // stands for its input, read by nothing).
    Value out = dq && !shape.writeNormalized
                    ? operands.front()
                    : state.resultBuffer(rewriter, loc, op.getResult());
    if (dq) {
      operands.push_back(state.resultBuffer(rewriter, loc, dq.getResult()));
      operands.push_back(state.resultBuffer(rewriter, loc, dq.getScale()));
    }
    if (!dq || shape.writeNormalized)
      operands.push_back(out);
    if (sum)
      operands.push_back(sum);
    state.token = gpu_kernels::emitLaunch(rewriter, loc, kernel,
                                          gpu_kernels::normLaunch(shape),
                                          operands, state.token);
    rewriter.replaceOp(op, out);
    return success();
  }
};

/// The residual add in front of a norm: done by its kernel (its result is
/// the sum's out-parameter where returned, else the first input's buffer,
/// unused).
struct FusedResidualToGPU : public GPULaunchPattern<arith::AddFOp> {
  using GPULaunchPattern::GPULaunchPattern;

  LogicalResult
  matchAndRewrite(arith::AddFOp add, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (!isa<TensorType>(add.getType()))
      return failure();
    Value sum = state.bufferFor.lookup(add.getResult());
    rewriter.replaceOp(add, sum ? sum : state.bufferOf(add.getLhs()));
    return success();
  }
};

} // namespace

void gpu_lowering::populateNormOpPatterns(const TypeConverter &converter,
                                          RewritePatternSet &patterns,
                                          GPULaunchState &state) {
  patterns.add<NormToGPU<LayerNormOp, true>, NormToGPU<RMSNormOp, false>,
               FusedResidualToGPU>(converter, patterns.getContext(), state);
}
