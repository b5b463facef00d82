//===- AttentionToGPU.cpp - quant_xform.attention to its kernel ----------===//
//
// The pattern of convert-quant-xform-qlinear-to-gpu for attention: an
// `attention` of static shape whose head size the kernel takes (a multiple
// of 16 up to 128) becomes one launch of the flash attention kernel
// (AttentionKernel.cpp) writing its out-parameter or a scratch buffer.
// Other attentions stay for convert-quant-xform-to-linalg (loop kernels).
//
//===----------------------------------------------------------------------===//

#include "AttentionKernel.h"
#include "KernelLowering.h"

using namespace mlir;
using namespace mlir::quant_xform;
using namespace mlir::quant_xform::gpu_lowering;

std::string gpu_lowering::attentionKernelRefusal(AttentionOp op) {
  if (!op.getQuery().getType().hasStaticShape() ||
      !op.getKey().getType().hasStaticShape())
    return "static shapes";
  int64_t d = op.getQuery().getType().getDimSize(3);
  if (d % 16 != 0 || d > gpu_kernels::kAttentionMaxHeadDim)
    return ("a head size that is a multiple of 16 up to " +
            Twine(gpu_kernels::kAttentionMaxHeadDim) + " (got " + Twine(d) +
            ")")
        .str();
  if (op.getQuery().getType().getNumElements() == 0 ||
      op.getKey().getType().getDimSize(1) == 0)
    return "non-empty tensors";
  return "";
}

LogicalResult gpu_lowering::checkAttention(AttentionOp op, bool emit) {
  std::string why = attentionKernelRefusal(op);
  if (why.empty())
    return success();
  if (emit)
    op.emitError() << "the GPU attention kernel needs " << why;
  return failure();
}

namespace {

/// `attention` → a launch of its flash attention kernel.
struct AttentionToGPU : public GPULaunchPattern<AttentionOp> {
  using GPULaunchPattern::GPULaunchPattern;

  LogicalResult
  matchAndRewrite(AttentionOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    gpu_kernels::AttentionShape shape = gpu_kernels::attentionShape(op);
    OpBuilder kb = state.kernelBuilder();
    std::string name = state.functionName + "_attention" +
                       std::to_string(state.nextAttention++);
    gpu::GPUFuncOp kernel =
        gpu_kernels::buildAttentionKernel(kb, loc, name, shape);
    SmallVector<Value> operands;
    for (Value v : op->getOperands())
      operands.push_back(state.bufferOf(v));
    Value out = state.resultBuffer(rewriter, loc, op.getResult());
    operands.push_back(out);
    state.token = gpu_kernels::emitLaunch(rewriter, loc, kernel,
                                          gpu_kernels::attentionLaunch(shape),
                                          operands, state.token);
    rewriter.replaceOp(op, out);
    return success();
  }
};

} // namespace

void gpu_lowering::populateAttentionOpPatterns(const TypeConverter &converter,
                                               RewritePatternSet &patterns,
                                               GPULaunchState &state) {
  patterns.add<AttentionToGPU>(converter, patterns.getContext(), state);
}
