//===- KernelFunctionToGPU.cpp - a kernel function's host side ------------===//
//
// The launch plumbing of convert-quant-xform-qlinear-to-gpu: the type
// converter (tensors → memrefs), the conversion target, and the patterns
// of the function itself: its signature (memref arguments, one
// out-parameter per result, the stream created at the entry) and its
// return (later copies of a value returned twice, scratch buffers freed,
// the stream synchronized). The ops' patterns (QuantizeOpsToGPU.cpp,
// LinearOpsToGPU.cpp) launch their kernels in between, all on that stream.
//
//===----------------------------------------------------------------------===//

#include "KernelLowering.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace mlir::quant_xform;
using namespace mlir::quant_xform::gpu_lowering;

Value GPULaunchState::bufferOf(Value v) const {
  Value buffer = bufferFor.lookup(v);
  return buffer ? buffer : v;
}

Value GPULaunchState::allocScratch(OpBuilder &b, Location loc, MemRefType type,
                                   ValueRange dynamicSizes) {
  // Without a stream (a function run synchronously, chained later by
  // gpu-async-region), a synchronous allocation.
  Type tokenType = token ? gpu::AsyncTokenType::get(b.getContext()) : Type();
  auto alloc = gpu::AllocOp::create(b, loc, type, tokenType,
                                    token ? ValueRange{token} : ValueRange{},
                                    dynamicSizes, ValueRange{});
  token = alloc.getAsyncToken();
  scratch.push_back(alloc.getMemref());
  return alloc.getMemref();
}

Value GPULaunchState::resultBuffer(OpBuilder &b, Location loc, Value r,
                                   ValueRange dynamicSizes) {
  Value &buffer = bufferFor[r];
  if (!buffer)
    buffer = allocScratch(b, loc, memrefOf(r.getType()), dynamicSizes);
  return buffer;
}

OpBuilder GPULaunchState::kernelBuilder() {
  return OpBuilder::atBlockEnd(&kernels.getBodyRegion().front());
}

void quant_xform::populateQuantXformToGPUTypeConversions(
    TypeConverter &converter) {
  converter.addConversion([](Type t) { return t; });
  converter.addConversion(
      [](RankedTensorType t) -> Type { return memrefOf(t); });
}

void quant_xform::configureQuantXformToGPUTarget(
    ConversionTarget &target, const TypeConverter &converter) {
  target.addLegalDialect<arith::ArithDialect, gpu::GPUDialect,
                         LLVM::LLVMDialect, memref::MemRefDialect>();
  target.addIllegalOp<QLinearOp, DynamicQuantizeOp, RotateOp, MixedLinearOp,
                      AttentionOp, RotaryOp, LayerNormOp, RMSNormOp>();
  target.addIllegalOp<tensor::ExpandShapeOp, tensor::CollapseShapeOp>();
  target.addDynamicallyLegalOp<arith::ExtFOp, arith::TruncFOp, arith::AddFOp,
                               arith::MulFOp>(
      [](Operation *op) { return !isa<TensorType>(op->getResultTypes()[0]); });
  target.addDynamicallyLegalOp<linalg::GenericOp>(
      [](linalg::GenericOp g) { return !g.hasPureTensorSemantics(); });
  target.addDynamicallyLegalOp<func::FuncOp>([&converter](func::FuncOp f) {
    return converter.isSignatureLegal(f.getFunctionType()) &&
           f.getNumResults() == 0;
  });
  target.addDynamicallyLegalOp<func::ReturnOp>(
      [](func::ReturnOp r) { return r.getNumOperands() == 0; });
}

namespace {

/// Whether `f` can launch synchronously: it needs no scratch buffers or
/// copies (every result is returned once, no mixed_linear, no attention
/// with split keys).
bool canLaunchSynchronously(func::FuncOp f,
                            const QuantXformToGPUOptions &options) {
  Block &body = f.getBody().front();
  auto ret = cast<func::ReturnOp>(body.getTerminator());
  llvm::SmallPtrSet<Value, 4> returned(ret.getOperands().begin(),
                                       ret.getOperands().end());
  return returned.size() == ret.getNumOperands() &&
         llvm::all_of(body, [&](Operation &op) {
           if (isa<MixedLinearOp>(op))
             return false; // scratch for its quantized input
           if (auto attention = dyn_cast<AttentionOp>(op))
             return attentionSplits(attention, options) == 1;
           return !isa<DynamicQuantizeOp>(op) ||
                  (returned.contains(op.getResult(0)) &&
                   returned.contains(op.getResult(1)));
         });
}

/// The signature of a kernel function: memref arguments, then one
/// out-parameter per result, no results. Records where each returned
/// value lives (its out-parameter, the first one if returned twice; a
/// narrowed linear result: the narrow one's) and creates the stream.
struct KernelFunctionSignature : public GPULaunchPattern<func::FuncOp> {
  using GPULaunchPattern::GPULaunchPattern;

  LogicalResult
  matchAndRewrite(func::FuncOp f, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Block &body = f.getBody().front();
    auto ret = cast<func::ReturnOp>(body.getTerminator());
    const TypeConverter &converter = *getTypeConverter();
    TypeConverter::SignatureConversion signature(f.getNumArguments());
    for (auto [i, t] : llvm::enumerate(f.getArgumentTypes()))
      signature.addInputs(i, converter.convertType(t));
    SmallVector<Type> outTypes;
    for (Type t : f.getResultTypes())
      outTypes.push_back(converter.convertType(t));
    signature.addInputs(outTypes);
    SmallVector<Value> arguments(body.getArguments());
    SmallVector<Value> returned(ret.getOperands());
    SmallVector<arith::TruncFOp> narrows(body.getOps<arith::TruncFOp>());
    SmallVector<std::pair<Value, Operation *>> activations(
        state.fusedActivation.begin(), state.fusedActivation.end());
    Block *entry = rewriter.applySignatureConversion(&body, signature);
    rewriter.modifyOpInPlace(f, [&] {
      f.setType(
          FunctionType::get(f.getContext(), signature.getConvertedTypes(), {}));
    });
    for (auto [old, now] : llvm::zip(arguments, entry->getArguments()))
      state.bufferFor[old] = now;
    state.outs.assign(entry->args_begin() + arguments.size(),
                      entry->args_end());
    for (auto [v, out] : llvm::zip(returned, state.outs))
      if (!state.bufferFor.count(v))
        state.bufferFor[v] = out;
    // A narrowed linear result: the kernel stores into the narrow buffer.
    for (arith::TruncFOp trunc : narrows)
      if (Value out = state.bufferFor.lookup(trunc.getResult()))
        state.bufferFor[trunc.getIn()] = out;
    // A linear's fused activation: the kernel stores its result.
    for (auto [linear, act] : activations)
      if (Value out = state.bufferFor.lookup(act->getResult(0)))
        state.bufferFor[linear] = out;
    if (!state.synchronous) {
      rewriter.setInsertionPointToStart(entry);
      state.token = gpu::WaitOp::create(
                        rewriter, f.getLoc(),
                        gpu::AsyncTokenType::get(f.getContext()), ValueRange{})
                        .getAsyncToken();
    }
    return success();
  }
};

/// The return of a kernel function: a value returned twice is copied into
/// its later out-parameters, the scratch buffers are freed, the stream is
/// synchronized, and nothing is returned.
struct KernelFunctionReturn : public GPULaunchPattern<func::ReturnOp> {
  using GPULaunchPattern::GPULaunchPattern;

  LogicalResult
  matchAndRewrite(func::ReturnOp ret, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = ret.getLoc();
    Value &token = state.token;
    // On the function's stream, or synchronous where it has none.
    Type tokenType =
        token ? gpu::AsyncTokenType::get(ret.getContext()) : Type();
    for (auto [v, out] : llvm::zip(ret.getOperands(), state.outs))
      if (state.bufferFor.lookup(v) != out)
        token = gpu::MemcpyOp::create(rewriter, loc, tokenType,
                                      token ? ValueRange{token} : ValueRange{},
                                      out, state.bufferFor.lookup(v))
                    .getAsyncToken();
    for (Value buffer : state.scratch)
      token = gpu::DeallocOp::create(rewriter, loc, tokenType,
                                     token ? ValueRange{token} : ValueRange{},
                                     buffer)
                  .getAsyncToken();
    // Results are in the out-parameters: synchronize and return nothing.
    if (token)
      gpu::WaitOp::create(rewriter, loc, Type(), ValueRange{token});
    rewriter.replaceOpWithNewOp<func::ReturnOp>(ret);
    return success();
  }
};

} // namespace

void quant_xform::populateQuantXformToGPUPatterns(
    const TypeConverter &converter, RewritePatternSet &patterns,
    const QuantXformToGPUOptions &options, GPULaunchState &state) {
  patterns.add<KernelFunctionSignature, KernelFunctionReturn>(
      converter, patterns.getContext(), state);
  populateQuantizeOpPatterns(converter, patterns, state);
  populateLinearOpPatterns(converter, patterns, options, state);
  populateAttentionOpPatterns(converter, patterns, options, state);
  populateNormOpPatterns(converter, patterns, state);
}

LogicalResult gpu_lowering::convertKernelFunction(
    func::FuncOp f, gpu::GPUModuleOp &kernels, SymbolTable &symbols,
    const QuantXformToGPUOptions &options, bool synchronous) {
  if (failed(checkSharedMemory(f, options)))
    return failure();
  if (!kernels) {
    OpBuilder mb(f->getParentOfType<ModuleOp>().getBodyRegion());
    kernels = gpu::GPUModuleOp::create(mb, f.getLoc(), "qx_gpu_kernels");
    symbols.insert(kernels);
  }
  MLIRContext *ctx = f.getContext();
  GPULaunchState state;
  state.kernels = kernels;
  state.functionName = f.getName().str();
  state.synchronous = synchronous && canLaunchSynchronously(f, options);
  f.walk([&](QLinearOp q) {
    if (Operation *act = fusableActivation(q.getResult()))
      state.fusedActivation[q.getResult()] = act;
  });
  f.walk([&](Operation *op) {
    if (isa<LayerNormOp, RMSNormOp>(op))
      if (DynamicQuantizeOp dq = fusableNormQuantize(op))
        state.fusedNormQuantize[op] = dq;
  });
  f.walk([&](AttentionOp att) {
    AttentionRotaries fused = fusableRotaries(att, options);
    if (fused.query || fused.keys)
      state.fusedRotaries[att] = {fused.query, fused.keys};
  });
  TypeConverter converter;
  populateQuantXformToGPUTypeConversions(converter);
  ConversionTarget target(*ctx);
  configureQuantXformToGPUTarget(target, converter);
  RewritePatternSet patterns(ctx);
  populateQuantXformToGPUPatterns(converter, patterns, options, state);
  return applyPartialConversion(f, target, std::move(patterns));
}
