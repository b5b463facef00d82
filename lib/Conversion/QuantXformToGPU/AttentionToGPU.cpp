//===- AttentionToGPU.cpp - quant_xform.attention to its kernel ----------===//
//
// The pattern of convert-quant-xform-qlinear-to-gpu for attention: an
// `attention` of static shape whose head size the kernel takes (a multiple
// of 16 up to 128) becomes one launch of the flash attention kernel
// (AttentionKernel.cpp) writing its out-parameter or a scratch buffer; in a
// prefill, after a launch rounding k and v to f16 scratch
// (AttentionHalfCopyKernel.cpp), which the attention then loads ahead of
// use with cp.async. Where its grid would leave most SMs idle (a decode
// step), two launches:
// the kernel over splits of the keys, into scratch, and their combination
// (AttentionCombineKernel.cpp). Other attentions stay for
// convert-quant-xform-to-linalg (loop kernels).
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

int64_t gpu_lowering::attentionSplits(AttentionOp op,
                                      const QuantXformToGPUOptions &options) {
  return gpu_kernels::chooseAttentionSplits(gpu_kernels::attentionShape(op),
                                            options.target.smCount);
}

namespace {

/// `attention` → a launch of its flash attention kernel (with split keys:
/// the kernel into scratch, then the combine).
struct AttentionToGPU : public GPULaunchPattern<AttentionOp> {
  AttentionToGPU(const TypeConverter &converter, MLIRContext *ctx,
                 GPULaunchState &state, const QuantXformToGPUOptions &options)
      : GPULaunchPattern(converter, ctx, state), options(options) {}

  LogicalResult
  matchAndRewrite(AttentionOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    gpu_kernels::AttentionShape shape = gpu_kernels::attentionShape(op);
    shape.splits = attentionSplits(op, options);
    shape.halfKeys = gpu_kernels::attentionWantsHalfKeys(shape);
    OpBuilder kb = state.kernelBuilder();
    std::string name = state.functionName + "_attention" +
                       std::to_string(state.nextAttention++);
    gpu::GPUFuncOp kernel =
        gpu_kernels::buildAttentionKernel(kb, loc, name, shape);
    SmallVector<Value> operands;
    for (Value v : op->getOperands())
      operands.push_back(state.bufferOf(v));
    if (shape.halfKeys)
      roundKeysToHalf(rewriter, loc, kb, name, shape, operands);
    Value out = state.resultBuffer(rewriter, loc, op.getResult());
    Value parts, stats;
    if (shape.splits == 1) {
      operands.push_back(out);
    } else {
      parts = state.allocScratch(
          rewriter, loc, gpu_kernels::attentionPartsType(rewriter, shape));
      stats = state.allocScratch(
          rewriter, loc, gpu_kernels::attentionStatsType(rewriter, shape));
      operands.append({parts, stats});
    }
    state.token = gpu_kernels::emitLaunch(rewriter, loc, kernel,
                                          gpu_kernels::attentionLaunch(shape),
                                          operands, state.token);
    if (shape.splits > 1) {
      gpu::GPUFuncOp combine = gpu_kernels::buildAttentionCombineKernel(
          kb, loc, name + "_combine", shape);
      state.token = gpu_kernels::emitLaunch(
          rewriter, loc, combine, gpu_kernels::attentionCombineLaunch(shape),
          {parts, stats, out}, state.token);
    }
    rewriter.replaceOp(op, out);
    return success();
  }

private:
  /// Launches the half-copy of k and v (operands 1 and 2) into f16
  /// scratch, which replaces them in `operands`.
  void roundKeysToHalf(ConversionPatternRewriter &rewriter, Location loc,
                       OpBuilder &kb, StringRef name,
                       const gpu_kernels::AttentionShape &shape,
                       SmallVector<Value> &operands) const {
    auto type = cast<MemRefType>(operands[1].getType());
    MemRefType halfType = gpu_kernels::attentionHalfKeysType(rewriter, shape);
    Value kHalf = state.allocScratch(rewriter, loc, halfType);
    Value vHalf = state.allocScratch(rewriter, loc, halfType);
    gpu::GPUFuncOp copy = gpu_kernels::buildHalfCopyKernel(
        kb, loc, (name + "_keys").str(),
        MemRefType::get(type.getShape(), type.getElementType()));
    state.token = gpu_kernels::emitLaunch(
        rewriter, loc, copy, gpu_kernels::halfCopyLaunch(halfType),
        {operands[1], operands[2], kHalf, vHalf}, state.token);
    operands[1] = kHalf;
    operands[2] = vHalf;
  }

  const QuantXformToGPUOptions &options;
};

} // namespace

void gpu_lowering::populateAttentionOpPatterns(
    const TypeConverter &converter, RewritePatternSet &patterns,
    const QuantXformToGPUOptions &options, GPULaunchState &state) {
  patterns.add<AttentionToGPU>(converter, patterns.getContext(), state,
                               options);
}
