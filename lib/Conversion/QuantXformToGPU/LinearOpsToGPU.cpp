//===- LinearOpsToGPU.cpp - qlinear / mixed_linear to GEMM kernels --------===//
//
// The patterns of convert-quant-xform-qlinear-to-gpu for the linears: a
// `qlinear` gets the sm_90a wgmma kernel (WgmmaKernel.cpp) where `wgmma` is
// set and the shape allows it, the mma.sync kernel (MmaSyncKernel.cpp)
// otherwise; an LLM.int8() `mixed_linear` that the fused kernels take gets
// the quantize kernel (outlier columns zeroed and gathered) and the wgmma
// GEMM whose epilogue adds them. An `arith.truncf` of the result to bf16 /
// f16 becomes the epilogue's rounding stores.
//
//===----------------------------------------------------------------------===//

#include "KernelLowering.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"

using namespace mlir;
using namespace mlir::quant_xform;
using namespace mlir::quant_xform::gpu_lowering;

/// The rows a kernel of input type `x` is planned for: its M, or the
/// planned M of a run-time one.
static int64_t plannedRows(ShapedType x,
                           const QuantXformToGPUOptions &options) {
  return x.isDynamicDim(0) ? options.plannedM : x.getDimSize(0);
}

LinearKernelPlan
gpu_lowering::planQLinear(QLinearOp q, const QuantXformToGPUOptions &options) {
  auto x = cast<ShapedType>(q.getInput().getType());
  LinearKernelPlan plan;
  plan.shape = gpu_kernels::GemmShape{
      plannedRows(x, options),
      cast<ShapedType>(q.getWeight().getType()).getDimSize(0),
      x.getDimSize(1),
      cast<ShapedType>(q.getInputScale().getType()).getRank() == 0,
      cast<ShapedType>(q.getWeightScale().getType()).getRank() == 0,
      bool(q.getBias())};
  plan.shape.dynamicM = x.isDynamicDim(0);
  plan.wgmma = options.wgmma &&
               gpu_kernels::wgmmaApplies(plan.shape, options.wgmmaOptions);
  plan.tile = gpu_kernels::chooseWgmmaTile(plan.shape, options.wgmmaOptions,
                                           options.target);
  plan.launch = plan.wgmma ? gpu_kernels::wgmmaLaunch(plan.shape, plan.tile)
                           : gpu_kernels::mmaSyncLaunch(plan.shape);
  return plan;
}

LinearKernelPlan
gpu_lowering::planMixedLinear(MixedLinearOp op,
                              const QuantXformToGPUOptions &options) {
  auto x = cast<ShapedType>(op.getInput().getType());
  LinearKernelPlan plan;
  plan.shape = gpu_kernels::GemmShape{
      plannedRows(x, options),
      cast<ShapedType>(op.getWeight().getType()).getDimSize(0),
      x.getDimSize(1),
      /*perTensorX=*/false,
      cast<ShapedType>(op.getWeightScale().getType()).getRank() == 0,
      bool(op.getBias())};
  plan.shape.dynamicM = x.isDynamicDim(0);
  plan.shape.outliers = int64_t(op.getColumns()->size());
  plan.wgmma = true;
  plan.tile = gpu_kernels::chooseWgmmaTile(plan.shape, options.wgmmaOptions,
                                           options.target);
  plan.launch = gpu_kernels::wgmmaLaunch(plan.shape, plan.tile);
  return plan;
}

/// Checks that `plan` fits the shared memory of one block of `target` (an
/// error on `op` naming the wgmma stages otherwise).
static LogicalResult checkSharedMemory(Operation *op,
                                       const LinearKernelPlan &plan,
                                       const GPUTargetFacts &target) {
  if (plan.launch.sharedBytes <= target.maxSharedBytes)
    return success();
  return op->emitError() << "the wgmma kernel's " << plan.tile.stages
                         << " stages need more shared memory than the "
                         << target.sharedMemoryText() << " of "
                         << target.blockText() << "; lower wgmma-stages";
}

LogicalResult
gpu_lowering::checkSharedMemory(func::FuncOp f,
                                const QuantXformToGPUOptions &options) {
  Block &body = f.getBody().front();
  auto ret = cast<func::ReturnOp>(body.getTerminator());
  // Whether the linear result `r` (or its narrowing) is returned: an unused
  // mixed_linear gets no kernels.
  auto returned = [&](Value r) {
    arith::TruncFOp narrow = fusableNarrow(r);
    return llvm::is_contained(ret.getOperands(), r) ||
           (narrow &&
            llvm::is_contained(ret.getOperands(), narrow.getResult()));
  };
  for (Operation &op : body) {
    if (auto q = dyn_cast<QLinearOp>(op))
      if (failed(
              ::checkSharedMemory(q, planQLinear(q, options), options.target)))
        return failure();
    if (auto mixed = dyn_cast<MixedLinearOp>(op))
      if (returned(mixed.getResult()) &&
          failed(::checkSharedMemory(mixed, planMixedLinear(mixed, options),
                                     options.target)))
        return failure();
  }
  return success();
}

namespace {

/// Appends the placeholders of a TMA kernel's two tensor maps
/// (quant-xform-gpu-tensor-maps makes the maps).
void appendTensorMapPlaceholders(OpBuilder &b, Location loc,
                                 SmallVectorImpl<Value> &operands) {
  Type type = gpu_kernels::tensorMapType(b.getContext());
  for (int i = 0; i < 2; ++i)
    operands.push_back(LLVM::PoisonOp::create(b, loc, type));
}

/// The element type of the buffer `out`: y's (f32, or bf16 / f16 when
/// the epilogue narrows).
Type elementTypeOf(Value out) {
  return cast<MemRefType>(out.getType()).getElementType();
}

/// `qlinear` → a launch of its GEMM kernel into its result's buffer (none
/// for an unused result).
struct QLinearToGPU : public GPULaunchPattern<QLinearOp> {
  QLinearToGPU(const TypeConverter &converter, MLIRContext *ctx,
               GPULaunchState &state, const QuantXformToGPUOptions &options)
      : GPULaunchPattern(converter, ctx, state), options(options) {}

  LogicalResult
  matchAndRewrite(QLinearOp q, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = q.getLoc();
    Value out = state.bufferFor.lookup(q.getResult());
    if (!out && readByFusedActivation(q.getResult())) // kept in scratch
      out = state.resultBuffer(rewriter, loc, q.getResult());
    if (!out) { // a qlinear result that is not returned is unused
      if (arith::TruncFOp narrow = fusableNarrow(q.getResult()))
        rewriter.eraseOp(narrow);
      rewriter.eraseOp(q);
      return success();
    }
    LinearKernelPlan plan = planQLinear(q, options);
    plan.shape.outType = elementTypeOf(out);
    Value activationOperand;
    Operation *act = state.fusedActivation.lookup(q.getResult());
    if (int64_t half = gatedPairsHalf(act)) {
      // Both halves come from this GEMM's tile (GatedPairs.cpp chose H).
      plan.shape.activation = act;
      plan.shape.gatedHalf = half;
      if (!plan.wgmma || plan.tile.tileN % (2 * half) != 0)
        return q.emitError() << "internal: the gated pair's GEMM tile changed";
    } else if (act) {
      SmallVector<Value> inputs = activationInputs(act);
      plan.shape.activation = act;
      plan.shape.activationInput = inputs[0] == q.getResult() ? 0 : 1;
      if (inputs.size() == 2) {
        plan.shape.activationOperand = true;
        activationOperand =
            state.bufferOf(inputs[1 - plan.shape.activationInput]);
      }
    }
    OpBuilder kb = state.kernelBuilder();
    std::string name =
        state.functionName + "_qlinear" + std::to_string(state.nextGemm++);
    gpu::GPUFuncOp kernel =
        plan.wgmma ? gpu_kernels::buildWgmmaKernel(kb, loc, name, plan.shape,
                                                   plan.tile)
                   : gpu_kernels::buildMmaSyncKernel(kb, loc, name, plan.shape);
    SmallVector<Value> operands;
    for (Value v : q->getOperands())
      operands.push_back(state.bufferOf(v));
    if (activationOperand)
      operands.push_back(activationOperand);
    if (plan.wgmma && plan.tile.tma)
      appendTensorMapPlaceholders(rewriter, loc, operands);
    operands.push_back(out);
    state.token = gpu_kernels::emitLaunch(
        rewriter, loc, kernel, plan.launch, operands, state.token,
        runtimeRows(rewriter, loc, operands[0], plan.shape.dynamicM));
    rewriter.replaceOp(q, out);
    return success();
  }

private:
  /// Whether `r` is the second operand of another linear's fused
  /// activation (SwiGLU's gate, read by up's epilogue).
  bool readByFusedActivation(Value r) const {
    return llvm::any_of(state.fusedActivation, [&](auto &entry) {
      return entry.first != r &&
             llvm::is_contained(activationInputs(entry.second), r);
    });
  }

  const QuantXformToGPUOptions &options;
};

/// An LLM.int8() `mixed_linear` (checked by checkFusedMixed) → the fused
/// kernels: the quantize kernel (outlier columns zeroed, and gathered into
/// xo) into scratch buffers, then the wgmma GEMM whose epilogue adds
/// xo·Woᵀ, into its result's buffer.
struct MixedLinearToGPU : public GPULaunchPattern<MixedLinearOp> {
  MixedLinearToGPU(const TypeConverter &converter, MLIRContext *ctx,
                   GPULaunchState &state, const QuantXformToGPUOptions &options)
      : GPULaunchPattern(converter, ctx, state), options(options) {}

  LogicalResult
  matchAndRewrite(MixedLinearOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Value out = state.bufferFor.lookup(op.getResult());
    if (!out) { // not returned: unused
      if (arith::TruncFOp narrow = fusableNarrow(op.getResult()))
        rewriter.eraseOp(narrow);
      rewriter.eraseOp(op);
      return success();
    }
    Location loc = op.getLoc();
    LinearKernelPlan plan = planMixedLinear(op, options);
    plan.shape.outType = elementTypeOf(out);
    const gpu_kernels::GemmShape &s = plan.shape;
    ArrayRef<int64_t> cols = *op.getColumns();
    gpu_kernels::QuantizeShape qs;
    qs.m = s.m;
    qs.dynamicM = s.dynamicM;
    qs.k = s.k;
    qs.outlierColumns.assign(cols.begin(), cols.end());
    qs.inputType = kernelElementType(op.getInput());
    Type f32 = rewriter.getF32Type();
    Value input = state.bufferOf(widenedSource(op.getInput()));
    Value rows = runtimeRows(rewriter, loc, input, s.dynamicM);
    const int64_t m = gpu_kernels::memrefRows(s.m, s.dynamicM);
    auto scratch = [&](ArrayRef<int64_t> shape, Type type) {
      return state.allocScratch(rewriter, loc, MemRefType::get(shape, type),
                                rows ? ValueRange{rows} : ValueRange{});
    };
    Value q = scratch({m, s.k}, rewriter.getI8Type());
    Value sx = scratch({m}, f32);
    Value xo = scratch({m, s.outliers}, f32);
    OpBuilder kb = state.kernelBuilder();
    std::string base =
        state.functionName + "_mixed" + std::to_string(state.nextGemm++);
    gpu::GPUFuncOp quantize =
        gpu_kernels::buildQuantizeKernel(kb, loc, base + "_quantize", qs);
    state.token = gpu_kernels::emitLaunch(
        rewriter, loc, quantize, gpu_kernels::quantizeLaunch(qs),
        {input, q, sx, xo}, state.token, rows);
    gpu::GPUFuncOp gemm =
        gpu_kernels::buildWgmmaKernel(kb, loc, base + "_gemm", s, plan.tile);
    SmallVector<Value> operands = {q, sx, state.bufferOf(op.getWeight()),
                                   state.bufferOf(op.getWeightScale())};
    if (op.getBias())
      operands.push_back(state.bufferOf(op.getBias()));
    operands.append({xo, state.bufferOf(op.getOutlierWeight())});
    if (plan.tile.tma)
      appendTensorMapPlaceholders(rewriter, loc, operands);
    operands.push_back(out);
    state.token = gpu_kernels::emitLaunch(rewriter, loc, gemm, plan.launch,
                                          operands, state.token, rows);
    rewriter.replaceOp(op, out);
    return success();
  }

private:
  const QuantXformToGPUOptions &options;
};

/// The narrowing of a linear's result: the epilogue's rounding stores.
struct FusedNarrowToGPU : public GPULaunchPattern<arith::TruncFOp> {
  using GPULaunchPattern::GPULaunchPattern;

  LogicalResult
  matchAndRewrite(arith::TruncFOp trunc, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (!isa<TensorType>(trunc.getType()))
      return failure();
    rewriter.replaceOp(trunc, state.bufferFor.lookup(trunc.getIn()));
    return success();
  }
};

/// The activation behind a linear (a generic, or a tensor add): done by its
/// GEMM's epilogue.
template <typename ActivationOp>
struct FusedActivationToGPU : public GPULaunchPattern<ActivationOp> {
  using GPULaunchPattern<ActivationOp>::GPULaunchPattern;

  LogicalResult
  matchAndRewrite(ActivationOp act, typename ActivationOp::Adaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    GPULaunchState &state = this->state;
    Value linear;
    for (auto [result, fused] : state.fusedActivation)
      if (fused == act.getOperation())
        linear = result;
    if (!linear)
      return failure();
    Value out = state.bufferFor.lookup(act->getResult(0));
    rewriter.replaceOp(act, out ? out : state.bufferOf(linear));
    return success();
  }
};

} // namespace

void gpu_lowering::populateLinearOpPatterns(
    const TypeConverter &converter, RewritePatternSet &patterns,
    const QuantXformToGPUOptions &options, GPULaunchState &state) {
  patterns.add<QLinearToGPU, MixedLinearToGPU>(converter, patterns.getContext(),
                                               state, options);
  patterns.add<FusedNarrowToGPU, FusedActivationToGPU<linalg::GenericOp>,
               FusedActivationToGPU<arith::AddFOp>,
               FusedActivationToGPU<arith::MulFOp>>(
      converter, patterns.getContext(), state);
}
