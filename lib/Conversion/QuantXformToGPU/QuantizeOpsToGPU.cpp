//===- QuantizeOpsToGPU.cpp - dynamic_quantize to the quantize kernel -----===//
//
// The patterns of convert-quant-xform-qlinear-to-gpu for the quantizers:
// each symmetric per-token `dynamic_quantize` gets a quantize kernel
// (QuantizeKernel.cpp) writing its out-parameters or scratch buffers, with
// an online Hadamard `rotate` in front of it done in the same kernel and an
// `arith.extf` of a bf16 / f16 argument fused into its loads; the rotate
// and the widening then vanish (their only users are the kernels).
//
//===----------------------------------------------------------------------===//

#include "KernelLowering.h"
#include "quant-xform/Support/Matrix.h"

#include <cmath>

using namespace mlir;
using namespace mlir::quant_xform;
using namespace mlir::quant_xform::gpu_lowering;

namespace {

/// The quantize kernel's shape for `dq`, with its fused rotation: the
/// column factors sign_k/√B of x·diag(signs)·H/√B, rounded as the CPU
/// lowering rounds them.
gpu_kernels::QuantizeShape quantizeShape(DynamicQuantizeOp dq) {
  auto x = cast<ShapedType>(dq.getInput().getType());
  QuantSchemeAttr scheme = dq.getScheme();
  gpu_kernels::QuantizeShape qs;
  // A run-time M: one block per row still; the planned rows do not matter.
  qs.dynamicM = x.isDynamicDim(0);
  qs.m = qs.dynamicM ? 1 : x.getDimSize(0);
  qs.k = x.getDimSize(1);
  qs.clip = scheme.getClipRatio();
  qs.qmin = scheme.getQMin();
  qs.qmax = scheme.getQMax();
  Value input = dq.getInput();
  if (RotateOp rot = fusableRotate(dq)) {
    input = rot.getInput();
    qs.hadamardBlock = Matrix::hadamardBlock(qs.k);
    for (double factor : Matrix::hadamardFactors(
             qs.k, rot.getSigns().value_or(ArrayRef<int8_t>())))
      qs.hadamardScale.push_back(float(factor));
  }
  qs.inputType = kernelElementType(input);
  return qs;
}

/// `dynamic_quantize` → a launch of its quantize kernel; its results
/// become their buffers.
struct DynamicQuantizeToGPU : public GPULaunchPattern<DynamicQuantizeOp> {
  using GPULaunchPattern::GPULaunchPattern;

  LogicalResult
  matchAndRewrite(DynamicQuantizeOp dq, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    // Done by the norm kernel in front (its results' buffers are set).
    if (llvm::any_of(state.fusedNormQuantize,
                     [&](auto &entry) { return entry.second == dq; })) {
      rewriter.replaceOp(dq, {state.bufferFor.lookup(dq.getResult()),
                              state.bufferFor.lookup(dq.getScale())});
      return success();
    }
    Location loc = dq.getLoc();
    gpu_kernels::QuantizeShape qs = quantizeShape(dq);
    RotateOp rot = fusableRotate(dq);
    Value input = widenedSource(rot ? rot.getInput() : dq.getInput());
    OpBuilder kb = state.kernelBuilder();
    std::string name =
        state.functionName + "_quantize" + std::to_string(state.nextQuantize++);
    gpu::GPUFuncOp kernel = gpu_kernels::buildQuantizeKernel(kb, loc, name, qs);
    SmallVector<Value> operands = {state.bufferOf(input)};
    Value rows = runtimeRows(rewriter, loc, operands[0], qs.dynamicM);
    for (Value r : {dq.getResult(), dq.getScale()})
      operands.push_back(state.resultBuffer(
          rewriter, loc, r, rows ? ValueRange{rows} : ValueRange{}));
    state.token = gpu_kernels::emitLaunch(rewriter, loc, kernel,
                                          gpu_kernels::quantizeLaunch(qs),
                                          operands, state.token, rows);
    rewriter.replaceOp(
        dq, {state.bufferFor[dq.getResult()], state.bufferFor[dq.getScale()]});
    return success();
  }
};

/// The online rotation in front of a quantize: done by its kernel.
struct FusedRotateToGPU : public GPULaunchPattern<RotateOp> {
  using GPULaunchPattern::GPULaunchPattern;

  LogicalResult
  matchAndRewrite(RotateOp rot, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    rewriter.replaceOp(rot, state.bufferOf(widenedSource(rot.getInput())));
    return success();
  }
};

/// The widening of a bf16 / f16 argument: the kernels' loads.
struct FusedWidenToGPU : public GPULaunchPattern<arith::ExtFOp> {
  using GPULaunchPattern::GPULaunchPattern;

  LogicalResult
  matchAndRewrite(arith::ExtFOp ext, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (!isa<TensorType>(ext.getType()))
      return failure();
    rewriter.replaceOp(ext, state.bufferOf(ext.getIn()));
    return success();
  }
};

} // namespace

void gpu_lowering::populateQuantizeOpPatterns(const TypeConverter &converter,
                                              RewritePatternSet &patterns,
                                              GPULaunchState &state) {
  patterns.add<DynamicQuantizeToGPU, FusedRotateToGPU, FusedWidenToGPU>(
      converter, patterns.getContext(), state);
}
