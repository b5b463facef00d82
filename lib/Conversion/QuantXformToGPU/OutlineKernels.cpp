//===- OutlineKernels.cpp - kernel functions out of a whole model ---------===//
//
// In a function with other ops (a whole model), each qlinear /
// dynamic_quantize / fusable mixed_linear / attention / norm op that the
// kernels handle, with the casts and the rotation its kernel fuses, is
// outlined into a private function `@<name>_gpu<i>` of that op alone,
// converted at once (with synchronous launches where it can), and called
// through buffers (an attention with the rotary ops its kernels apply):
// `bufferization.to_buffer` of each operand, a `memref.alloc` per result,
// the call, `bufferization.to_tensor` of each result. One-shot
// bufferization then sees ordinary tensor code. A result that the function
// returns reshaped (a projection's [S, KV·D] as [S, KV, D]) is allocated in
// the returned type and written through a view, so that it is written in
// place rather than copied into the out-parameter.
//
//===----------------------------------------------------------------------===//

#include "KernelLowering.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"

using namespace mlir;
using namespace mlir::quant_xform;
using namespace mlir::quant_xform::gpu_lowering;

/// The ops of `f` that the kernels take, in order, after splitting the
/// LLM.int8() linears that the fused kernels do not take (their int8 part
/// becomes a quantize + qlinear pair); warns about the linears left to
/// generic loops.
static SmallVector<Operation *>
collectKernelOps(func::FuncOp f, const QuantXformToGPUOptions &options) {
  for (MixedLinearOp mixed : llvm::to_vector(f.getOps<MixedLinearOp>()))
    if (failed(checkFusedMixed(mixed, options, /*emit=*/false)) &&
        !gpu_kernels::splitMixedLinear(mixed))
      mixed.emitWarning() << "this LLM.int8() linear is not lowered to the "
                             "tensor-core kernels: runs as generic GPU loops";
  SmallVector<Operation *> ops;
  f.walk([&](Operation *op) {
    if (auto mixed = dyn_cast<MixedLinearOp>(op)) {
      if (succeeded(checkFusedMixed(mixed, options, /*emit=*/false)))
        ops.push_back(op); // the others run as loop kernels
    } else if (auto dq = dyn_cast<DynamicQuantizeOp>(op)) {
      if (!quantizedByNorm(dq) && succeeded(checkQuantize(dq, /*emit=*/false)))
        ops.push_back(op); // (one a norm's kernel does goes with the norm)
    } else if (auto att = dyn_cast<AttentionOp>(op)) {
      if (!options.attentionKernel)
        return; // loop kernels, as asked
      std::string why = attentionKernelRefusal(att);
      if (why.empty())
        ops.push_back(op);
      else
        att.emitWarning() << "attention runs as generic GPU loops: the "
                             "attention kernel needs "
                          << why;
    } else if (isa<LayerNormOp, RMSNormOp>(op)) {
      std::string why = normKernelRefusal(op);
      if (why.empty())
        ops.push_back(op);
      else
        op->emitWarning() << "this norm runs as generic GPU loops: the norm "
                             "kernel needs "
                          << why;
    } else if (auto q = dyn_cast<QLinearOp>(op)) {
      if (succeeded(checkQLinear(q, /*emit=*/false)))
        ops.push_back(op);
      else
        q.emitWarning() << "not lowered to a tensor-core kernel (see "
                           "convert-quant-xform-qlinear-to-gpu): runs as "
                           "generic GPU loops";
    }
  });
  return ops;
}

/// The ops of an attention's kernel function: the rotary ops its kernels
/// apply to q and k and the expands from their rows, then `att`.
static SmallVector<Operation *>
attentionChain(AttentionOp att, const QuantXformToGPUOptions &options) {
  AttentionRotaries fused = fusableRotaries(att, options);
  SmallVector<Operation *> chain;
  for (auto [rot, operand] : {std::pair(fused.query, att.getQuery()),
                              std::pair(fused.keys, att.getKey())})
    if (rot)
      chain.append({rot, operand.getDefiningOp()});
  // f16 operands: their widenings are the kernel's loads.
  for (Value operand : {att.getQuery(), att.getKey(), att.getValue()})
    if (arith::ExtFOp widen = fusableWiden(operand);
        widen && !llvm::is_contained(chain, widen.getOperation()))
      chain.push_back(widen);
  chain.push_back(att);
  if (arith::TruncFOp narrow = fusableAttentionNarrow(att))
    chain.push_back(narrow);
  return chain;
}

/// The ops of `op`'s kernel function: in front, the residual add of a
/// norm, the online Hadamard rotation of a quantize and a widening of its
/// (or a mixed_linear's) input; `op`; behind, the per-token quantize of a
/// norm's result, the narrowing of a linear's result or the activation
/// applied to it. An attention's: attentionChain.
static SmallVector<Operation *>
kernelChain(Operation *op, const QuantXformToGPUOptions &options) {
  if (auto att = dyn_cast<AttentionOp>(op))
    return attentionChain(att, options);
  RotateOp rot;
  Value input;
  if (auto dq = dyn_cast<DynamicQuantizeOp>(op)) {
    rot = fusableRotate(dq);
    input = rot ? rot.getInput() : dq.getInput();
  } else if (auto mixed = dyn_cast<MixedLinearOp>(op)) {
    input = mixed.getInput();
  }
  arith::ExtFOp widen = input ? fusableWiden(input) : arith::ExtFOp();
  arith::TruncFOp narrow;
  Operation *activation = nullptr;
  if (isa<QLinearOp>(op))
    activation = fusableActivation(op->getResult(0));
  if (isa<QLinearOp, MixedLinearOp>(op))
    narrow = fusableEpilogueNarrow(activation ? activation->getResult(0)
                                              : op->getResult(0));
  arith::AddFOp residual;
  DynamicQuantizeOp quantize;
  if (isa<LayerNormOp, RMSNormOp>(op)) {
    residual = fusableResidual(op);
    quantize = fusableNormQuantize(op);
  }
  SmallVector<Operation *> chain;
  // A gated pair's generic writes half the linear's columns: its init, an
  // empty tensor, goes into the kernel function (no buffer for it).
  if (gatedPairsHalf(activation))
    chain.push_back(
        cast<linalg::GenericOp>(activation).getDpsInits()[0].getDefiningOp());
  for (Operation *o :
       {residual.getOperation(), widen.getOperation(), rot.getOperation(), op,
        quantize.getOperation(), activation, narrow.getOperation()})
    if (o)
      chain.push_back(o);
  return chain;
}

/// The values that `chain`'s kernel function returns: the last op's
/// results, and a fused residual sum, rotated k or normalized rows (in front
/// of a fused quantize) that is also used outside the chain.
static SmallVector<Value> chainResults(ArrayRef<Operation *> chain) {
  SmallVector<Value> results(chain.back()->getResults());
  for (Operation *o : chain.drop_back())
    if (isa<arith::AddFOp, RotaryOp, LayerNormOp, RMSNormOp>(o) &&
        llvm::any_of(o->getUsers(), [&](Operation *user) {
          return !llvm::is_contained(chain, user);
        }))
      results.push_back(o->getResult(0));
  return results;
}

/// Creates the private function `name` of `chain` (around `op`) on
/// `operands` (the values it reads from outside) before `f`.
static func::FuncOp
createKernelFunction(func::FuncOp f, Operation *op, StringRef name,
                     ArrayRef<Operation *> chain, ArrayRef<Value> operands,
                     ArrayRef<Value> results, SymbolTable &symbols) {
  Location loc = op->getLoc();
  OpBuilder mb(f);
  auto kernelFn = func::FuncOp::create(
      mb, loc, name,
      FunctionType::get(f.getContext(), ValueRange(operands).getTypes(),
                        ValueRange(results).getTypes()));
  kernelFn.setPrivate();
  symbols.insert(kernelFn);
  Block *entry = kernelFn.addEntryBlock();
  IRMapping map;
  map.map(operands, entry->getArguments());
  OpBuilder fb = OpBuilder::atBlockEnd(entry);
  for (Operation *o : chain)
    fb.clone(*o, map);
  SmallVector<Value> returned;
  for (Value r : results)
    returned.push_back(map.lookup(r));
  func::ReturnOp::create(fb, loc, returned);
  return kernelFn;
}

/// A static tensor reshape of `r` whose result the function returns, or
/// null.
static Operation *returnedReshape(Value r) {
  for (Operation *user : r.getUsers())
    if (isa<tensor::ExpandShapeOp, tensor::CollapseShapeOp>(user) &&
        cast<RankedTensorType>(user->getResult(0).getType()).hasStaticShape() &&
        llvm::any_of(user->getUsers(),
                     [](Operation *u) { return isa<func::ReturnOp>(u); }))
      return user;
  return nullptr;
}

/// `x` reshaped back by the inverse of `reshape` (of `r`'s type), at `b`.
template <typename Collapse, typename Expand>
static Value inverseReshape(OpBuilder &b, Location loc, Operation *reshape,
                            Value x, Type rType) {
  if (auto expand = dyn_cast<tensor::ExpandShapeOp>(reshape))
    return Collapse::create(b, loc, x, expand.getReassociationIndices());
  return Expand::create(
      b, loc, rType, x,
      cast<tensor::CollapseShapeOp>(reshape).getReassociationIndices());
}

/// Replaces `chain` by a call of `kernelFn` on buffers of `operands`.
static void replaceByCall(Operation *op, ArrayRef<Operation *> chain,
                          ArrayRef<Value> operands, ArrayRef<Value> results,
                          func::FuncOp kernelFn) {
  Location loc = op->getLoc();
  OpBuilder b(op);
  SmallVector<Value> args;
  for (Value v : operands)
    args.push_back(bufferization::ToBufferOp::create(
        b, loc, memrefOf(v.getType()), v, /*read_only=*/true));
  // A result the function returns reshaped (a projection's [S, KV·D] as
  // [S, KV, D], say) is allocated in the returned type and written through
  // a view: buffer-results-to-out-params then writes it in place.
  SmallVector<Value> allocs;
  SmallVector<Operation *> reshapes;
  for (Value r : results) {
    Operation *reshape = returnedReshape(r);
    Type type = reshape ? reshape->getResult(0).getType() : r.getType();
    Value alloc = memref::AllocOp::create(b, loc, memrefOf(type));
    args.push_back(
        reshape
            ? inverseReshape<memref::CollapseShapeOp, memref::ExpandShapeOp>(
                  b, loc, reshape, alloc, memrefOf(r.getType()))
            : alloc);
    allocs.push_back(alloc);
    reshapes.push_back(reshape);
  }
  func::CallOp::create(b, loc, kernelFn, args);
  for (auto [result, alloc, reshape] : llvm::zip(results, allocs, reshapes)) {
    Value r = result;
    Value tensor = bufferization::ToTensorOp::create(
        b, loc, reshape ? reshape->getResult(0).getType() : r.getType(), alloc,
        /*restrict=*/true, /*writable=*/true);
    if (!reshape) {
      r.replaceAllUsesWith(tensor);
      continue;
    }
    reshape->getResult(0).replaceAllUsesWith(tensor);
    if (!r.hasOneUse()) // others read it back through the inverse reshape
      r.replaceUsesWithIf(
          inverseReshape<tensor::CollapseShapeOp, tensor::ExpandShapeOp>(
              b, loc, reshape, tensor, r.getType()),
          [reshapeOp = reshape](OpOperand &use) {
            return use.getOwner() != reshapeOp;
          });
    reshape->erase();
  }
  // Erase the chain from its end; a widening may still feed others.
  for (Operation *o : llvm::reverse(chain))
    if (o->use_empty())
      o->erase();
}

LogicalResult
gpu_lowering::outlineKernels(func::FuncOp f, gpu::GPUModuleOp &kernels,
                             SymbolTable &symbols,
                             const QuantXformToGPUOptions &options) {
  unsigned next = 0;
  fuseGatedPairs(f, options);
  if (options.attentionKernel)
    narrowAttentionBoundaries(f);
  if (options.halfQuantizeInputs)
    narrowQuantizedLinearOutputs(f);
  for (Operation *op : collectKernelOps(f, options)) {
    SmallVector<Operation *> chain = kernelChain(op, options);
    // A fused activation does not read its init: make it the linear's
    // result, so that the kernel function needs no buffer for it.
    for (Operation *o : chain)
      if (auto act = dyn_cast<linalg::GenericOp>(o))
        if (!gatedPairsHalf(act) && fusedLinearResult(act) == op->getResult(0))
          act.getDpsInitsMutable()[0].set(op->getResult(0));
    SmallVector<Value> operands;
    for (Operation *o : chain)
      for (Value v : o->getOperands())
        if (!llvm::is_contained(chain, v.getDefiningOp()) &&
            !llvm::is_contained(operands, v))
          operands.push_back(v);
    SmallVector<Value> results = chainResults(chain);
    func::FuncOp kernelFn = createKernelFunction(
        f, op, (f.getName() + "_gpu" + Twine(next++)).str(), chain, operands,
        results, symbols);
    if (failed(convertKernelFunction(kernelFn, kernels, symbols, options,
                                     /*synchronous=*/true)))
      return failure();
    replaceByCall(op, chain, operands, results, kernelFn);
  }
  return success();
}
