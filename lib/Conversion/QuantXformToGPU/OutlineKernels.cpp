//===- OutlineKernels.cpp - kernel functions out of a whole model ---------===//
//
// In a function with other ops (a whole model), each qlinear /
// dynamic_quantize / fusable mixed_linear / attention / norm op that the
// kernels handle, with the casts and the rotation its kernel fuses, is
// outlined into a private function `@<name>_gpu<i>` of that op alone,
// converted at once (with synchronous launches where it can), and called
// through buffers:
// `bufferization.to_buffer` of each operand, a `memref.alloc` per result,
// the call, `bufferization.to_tensor` of each result. One-shot
// bufferization then sees ordinary tensor code.
//
//===----------------------------------------------------------------------===//

#include "KernelLowering.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
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
      if (succeeded(checkQuantize(dq, /*emit=*/false)))
        ops.push_back(op);
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

/// The ops of `op`'s kernel function: in front, the residual add of a
/// norm, the online Hadamard rotation of a quantize and a widening of its
/// (or a mixed_linear's) input; `op`; behind, the narrowing of a linear's
/// result or the activation applied to it.
static SmallVector<Operation *> kernelChain(Operation *op) {
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
  if (isa<QLinearOp, MixedLinearOp>(op))
    narrow = fusableNarrow(op->getResult(0));
  if (isa<QLinearOp>(op))
    activation = fusableActivation(op->getResult(0));
  arith::AddFOp residual;
  if (isa<LayerNormOp, RMSNormOp>(op))
    residual = fusableResidual(op);
  SmallVector<Operation *> chain;
  for (Operation *o :
       {residual.getOperation(), widen.getOperation(), rot.getOperation(), op,
        narrow.getOperation(), activation})
    if (o)
      chain.push_back(o);
  return chain;
}

/// The values that `chain`'s kernel function returns: the last op's
/// results, and a fused residual sum that is also used outside the chain.
static SmallVector<Value> chainResults(ArrayRef<Operation *> chain) {
  SmallVector<Value> results(chain.back()->getResults());
  if (auto add = dyn_cast<arith::AddFOp>(chain.front()))
    if (llvm::any_of(add->getUsers(), [&](Operation *user) {
          return !llvm::is_contained(chain, user);
        }))
      results.push_back(add.getResult());
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
  SmallVector<Value> outs;
  for (Value r : results) {
    outs.push_back(memref::AllocOp::create(b, loc, memrefOf(r.getType())));
    args.push_back(outs.back());
  }
  func::CallOp::create(b, loc, kernelFn, args);
  for (auto [result, out] : llvm::zip(results, outs))
    Value(result).replaceAllUsesWith(bufferization::ToTensorOp::create(
        b, loc, result.getType(), out, /*restrict=*/true, /*writable=*/true));
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
  for (Operation *op : collectKernelOps(f, options)) {
    SmallVector<Operation *> chain = kernelChain(op);
    // A fused activation does not read its init: make it the linear's
    // result, so that the kernel function needs no buffer for it.
    if (auto act = dyn_cast<linalg::GenericOp>(chain.back()))
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
