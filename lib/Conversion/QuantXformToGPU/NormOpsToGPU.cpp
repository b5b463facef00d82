//===- NormOpsToGPU.cpp - layer_norm / rms_norm to their kernel ----------===//
//
// The patterns of convert-quant-xform-qlinear-to-gpu for the norms: a
// `layer_norm` or `rms_norm` of a static f32 [M, K] tensor (K a multiple
// of 4) becomes one launch of the norm kernel (NormKernel.cpp), a warp per
// row, writing its out-parameter or a scratch buffer. Other norms stay for
// convert-quant-xform-to-linalg (loop kernels).
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
  for (Value v : op->getOperands())
    if (!cast<RankedTensorType>(v.getType()).getElementType().isF32())
      return "f32 operands";
  return "";
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
    OpBuilder kb = state.kernelBuilder();
    std::string name =
        state.functionName + "_norm" + std::to_string(state.nextNorm++);
    gpu::GPUFuncOp kernel = gpu_kernels::buildNormKernel(kb, loc, name, shape);
    SmallVector<Value> operands;
    for (Value v : op->getOperands())
      operands.push_back(state.bufferOf(v));
    Value r = op.getResult();
    if (!state.bufferFor.count(r))
      state.bufferFor[r] =
          state.allocScratch(rewriter, loc, memrefOf(r.getType()));
    operands.push_back(state.bufferFor[r]);
    state.token = gpu_kernels::emitLaunch(rewriter, loc, kernel,
                                          gpu_kernels::normLaunch(shape),
                                          operands, state.token);
    rewriter.replaceOp(op, state.bufferFor[r]);
    return success();
  }
};

} // namespace

void gpu_lowering::populateNormOpPatterns(const TypeConverter &converter,
                                          RewritePatternSet &patterns,
                                          GPULaunchState &state) {
  patterns.add<NormToGPU<LayerNormOp, true>, NormToGPU<RMSNormOp, false>>(
      converter, patterns.getContext(), state);
}
