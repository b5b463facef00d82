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
// The rotary embeddings of q and (in a prefill) k are applied by those
// kernels as they load them: a `quant_xform.rotary` fused so becomes no
// kernel (its result's buffer is its input's, which the attention reads
// rotating); a rotated k that the function returns is stored by the
// half-copy kernel. Tensor reshapes become views of their source's buffer.
//
//===----------------------------------------------------------------------===//

#include "AttentionKernel.h"
#include "KernelLowering.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

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

/// The rotary op of [B·S, H, D] rows that `v` ([B, S, H, D]) expands, when
/// that expand is `v`'s only definition and use, or null.
static RotaryOp rotaryBehind(Value v) {
  auto expand = v.getDefiningOp<tensor::ExpandShapeOp>();
  if (!expand || !expand->hasOneUse())
    return {};
  auto rot = expand.getSrc().getDefiningOp<RotaryOp>();
  SmallVector<ReassociationIndices> rows = {{0, 1}, {2}, {3}};
  if (!rot || expand.getReassociationIndices() != rows ||
      !rot.getInput().getType().hasStaticShape() ||
      !rot.getCos().getType().hasStaticShape())
    return {};
  return rot;
}

AttentionRotaries
gpu_lowering::fusableRotaries(AttentionOp op,
                              const QuantXformToGPUOptions &options) {
  AttentionRotaries fused;
  if (!attentionKernelRefusal(op).empty())
    return fused;
  if (RotaryOp rot = rotaryBehind(op.getQuery()); rot && rot->hasOneUse())
    fused.query = rot;
  gpu_kernels::AttentionShape shape = gpu_kernels::attentionShape(op);
  shape.splits = attentionSplits(op, options);
  RotaryOp rot = rotaryBehind(op.getKey());
  if (!rot || rot == fused.query || op.getKey() == op.getValue() ||
      !gpu_kernels::attentionWantsHalfKeys(shape))
    return fused;
  // Its other readers (the KV cache returned) see the result the half-copy
  // stores, so they must come after the attention.
  Operation *expand = op.getKey().getDefiningOp();
  if (llvm::all_of(rot->getUsers(), [&](Operation *user) {
        return user == expand || (user->getBlock() == op->getBlock() &&
                                  op->isBeforeInBlock(user));
      }))
    fused.keys = rot;
  return fused;
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
    // f16 operands (an arith.extf the loads fuse) are read as they are.
    bool halfSources = fusableWiden(op.getKey()) && fusableWiden(op.getValue());
    shape.halfQuery = bool(fusableWiden(op.getQuery()));
    shape.halfKeys = halfSources || gpu_kernels::attentionWantsHalfKeys(shape);
    OpBuilder kb = state.kernelBuilder();
    std::string name = state.functionName + "_attention" +
                       std::to_string(state.nextAttention++);
    auto [rotQ, rotK] = rotariesOf(op);
    shape.rotaryQuery = bool(rotQ);
    SmallVector<Value> operands;
    for (Value v : op->getOperands())
      operands.push_back(state.bufferOf(widenedSource(v)));
    if (rotQ) {
      operands.push_back(state.bufferOf(rotQ.getCos()));
      operands.push_back(state.bufferOf(rotQ.getSin()));
    }
    shape.halfOutput = bool(fusableAttentionNarrow(op));
    gpu::GPUFuncOp kernel =
        gpu_kernels::buildAttentionKernel(kb, loc, name, shape);
    if (shape.halfKeys && !halfSources)
      roundKeysToHalf(rewriter, loc, kb, name, shape, rotK, operands);
    Value out = resultBuffer(rewriter, loc, op);
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
  /// The buffer of `op`'s result: its own, or where an arith.truncf to f16
  /// is its only use, the narrow one (returned: the function's; else f16
  /// scratch), which the kernel's stores round into.
  Value resultBuffer(ConversionPatternRewriter &rewriter, Location loc,
                     AttentionOp op) const {
    arith::TruncFOp narrow = fusableAttentionNarrow(op);
    if (!narrow)
      return state.resultBuffer(rewriter, loc, op.getResult());
    Value &buffer = state.bufferFor[op.getResult()];
    if (!buffer)
      buffer = state.allocScratch(rewriter, loc, memrefOf(narrow.getType()));
    return buffer;
  }

  /// The rotary ops fused into `op` (found before the conversion).
  std::pair<RotaryOp, RotaryOp> rotariesOf(AttentionOp op) const {
    auto [q, k] = state.fusedRotaries.lookup(op);
    return {dyn_cast_or_null<RotaryOp>(q), dyn_cast_or_null<RotaryOp>(k)};
  }

  /// Launches the half-copy of k and v (operands 1 and 2) into f16
  /// scratch, which replaces them in `operands`; with `rotK`, rotating k
  /// first (and storing it into the rotary result's buffer where it has
  /// one: returned).
  void roundKeysToHalf(ConversionPatternRewriter &rewriter, Location loc,
                       OpBuilder &kb, StringRef name,
                       const gpu_kernels::AttentionShape &shape, RotaryOp rotK,
                       SmallVector<Value> &operands) const {
    auto type = cast<MemRefType>(operands[1].getType());
    MemRefType halfType = gpu_kernels::attentionHalfKeysType(rewriter, shape);
    Value kHalf = state.allocScratch(rewriter, loc, halfType);
    Value vHalf = state.allocScratch(rewriter, loc, halfType);
    SmallVector<Value> args = {operands[1], operands[2]};
    auto rotary = gpu_kernels::HalfCopyRotary::None;
    Value stored;
    if (rotK) {
      rotary = gpu_kernels::HalfCopyRotary::Rotate;
      args.append(
          {state.bufferOf(rotK.getCos()), state.bufferOf(rotK.getSin())});
      if (Value result = state.bufferFor.lookup(rotK.getResult())) {
        rotary = gpu_kernels::HalfCopyRotary::RotateAndStore;
        stored = memref::ExpandShapeOp::create(
            rewriter, loc,
            MemRefType::get(type.getShape(), type.getElementType()), result,
            ArrayRef<ReassociationIndices>{{0, 1}, {2}, {3}});
      }
    }
    args.append({kHalf, vHalf});
    if (stored)
      args.push_back(stored);
    gpu::GPUFuncOp copy = gpu_kernels::buildHalfCopyKernel(
        kb, loc, (name + "_keys").str(),
        MemRefType::get(type.getShape(), type.getElementType()), rotary);
    state.token = gpu_kernels::emitLaunch(rewriter, loc, copy,
                                          gpu_kernels::halfCopyLaunch(halfType),
                                          args, state.token);
    operands[1] = kHalf;
    operands[2] = vHalf;
  }

  const QuantXformToGPUOptions &options;
};

/// A `rotary` that an attention's kernels apply: no kernel; its result
/// stands for its input's buffer, which the attention reads (through a
/// reshape) and rotates.
struct FusedRotaryToGPU : public GPULaunchPattern<RotaryOp> {
  using GPULaunchPattern::GPULaunchPattern;

  LogicalResult
  matchAndRewrite(RotaryOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    bool fused = llvm::any_of(state.fusedRotaries, [&](auto &entry) {
      return entry.second.first == op || entry.second.second == op;
    });
    if (!fused)
      return op.emitError() << "a rotary embedding runs in a GPU kernel only "
                               "where an attention kernel applies it to the "
                               "q or k it loads";
    rewriter.replaceOp(op, adaptor.getInput());
    return success();
  }
};

/// A tensor reshape → the same reshape of its source's buffer (a view),
/// which becomes the result's buffer.
template <typename TensorReshape, typename MemRefReshape>
struct ReshapeToGPU : public GPULaunchPattern<TensorReshape> {
  using GPULaunchPattern<TensorReshape>::GPULaunchPattern;
  using OpAdaptor = typename TensorReshape::Adaptor;

  LogicalResult
  matchAndRewrite(TensorReshape op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto type = cast<RankedTensorType>(op.getResult().getType());
    if (!type.hasStaticShape())
      return rewriter.notifyMatchFailure(op, "needs a static shape");
    Value view =
        MemRefReshape::create(rewriter, op.getLoc(), memrefOf(type),
                              adaptor.getSrc(), op.getReassociationIndices());
    this->state.bufferFor[op.getResult()] = view;
    rewriter.replaceOp(op, view);
    return success();
  }
};

} // namespace

void gpu_lowering::populateAttentionOpPatterns(
    const TypeConverter &converter, RewritePatternSet &patterns,
    const QuantXformToGPUOptions &options, GPULaunchState &state) {
  MLIRContext *ctx = patterns.getContext();
  patterns.add<AttentionToGPU>(converter, ctx, state, options);
  patterns.add<FusedRotaryToGPU,
               ReshapeToGPU<tensor::ExpandShapeOp, memref::ExpandShapeOp>,
               ReshapeToGPU<tensor::CollapseShapeOp, memref::CollapseShapeOp>>(
      converter, ctx, state);
}
