//===- HostToGPU.cpp - a bufferized host function's work onto the GPU ----===//
//
// Two passes around upstream's parallel-loop → GPU mapping, for whole
// functions (models) lowered by quant-xform-lower-to-gpu:
// quant-xform-gpu-prepare-host-loops makes every op that touches memory a
// top-level scf.parallel of one dimension (which
// convert-parallel-loops-to-gpu turns into a kernel) with the accumulators
// of its serial loops in registers, and
// quant-xform-gpu-host-buffers moves the function's buffers (allocations
// and constants) to device memory.
//
//===----------------------------------------------------------------------===//

#include "quant-xform/Conversion/QuantXformToGPU/Passes.h"

#include "mlir/Analysis/AliasAnalysis.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Utils/Utils.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include <numeric>

namespace mlir::quant_xform {
#define GEN_PASS_DEF_GPUPREPAREHOSTLOOPS
#define GEN_PASS_DEF_GPUHOSTBUFFERS
#include "quant-xform/Conversion/QuantXformToGPU/Passes.h.inc"
} // namespace mlir::quant_xform

using namespace mlir;

namespace {

/// Replaces the static-shaped `memref.copy` `copy` by an scf.parallel nest
/// of element loads and stores; fails (after an error) on dynamic shapes.
LogicalResult copyToParallelLoop(memref::CopyOp copy) {
  auto type = cast<MemRefType>(copy.getSource().getType());
  if (!type.hasStaticShape())
    return copy.emitError() << "the GPU lowering needs static shapes for "
                               "copies";
  OpBuilder b(copy);
  Location loc = copy.getLoc();
  if (type.getRank() == 0) {
    auto one = arith::ConstantIndexOp::create(b, loc, 1);
    auto zero = arith::ConstantIndexOp::create(b, loc, 0);
    scf::ParallelOp::create(
        b, loc, ValueRange{zero}, ValueRange{one}, ValueRange{one},
        [&](OpBuilder &nb, Location nloc, ValueRange) {
          Value v = memref::LoadOp::create(nb, nloc, copy.getSource());
          memref::StoreOp::create(nb, nloc, v, copy.getTarget());
        });
    copy.erase();
    return success();
  }
  SmallVector<Value> lbs, ubs, steps;
  for (int64_t d : type.getShape()) {
    lbs.push_back(arith::ConstantIndexOp::create(b, loc, 0));
    ubs.push_back(arith::ConstantIndexOp::create(b, loc, d));
    steps.push_back(arith::ConstantIndexOp::create(b, loc, 1));
  }
  scf::ParallelOp::create(
      b, loc, lbs, ubs, steps,
      [&](OpBuilder &nb, Location nloc, ValueRange iv) {
        Value v = memref::LoadOp::create(nb, nloc, copy.getSource(), iv);
        memref::StoreOp::create(nb, nloc, v, copy.getTarget(), iv);
      });
  copy.erase();
  return success();
}

/// Moves `op` into a new one-iteration scf.parallel at its place.
void wrapInSingleIteration(Operation *op) {
  OpBuilder b(op);
  Location loc = op->getLoc();
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  auto loop = scf::ParallelOp::create(b, loc, ValueRange{zero}, ValueRange{one},
                                      ValueRange{one});
  Block *body = loop.getBody();
  op->moveBefore(body->getTerminator());
}

/// Keeps the accumulator of `loop` in a register: where the body loads
/// and then stores one element of a buffer at loop-invariant indices (the
/// `C[i, j] += ...` of a lowered matmul or reduction), the element is
/// loaded once before the loop, carried as an iter_arg and stored once
/// after it. Only where nothing else in the body writes memory and every
/// other buffer it reads provably does not alias the accumulator's.
void promoteAccumulator(scf::ForOp loop, AliasAnalysis &aliases,
                        RewriterBase &rewriter) {
  Block *body = loop.getBody();
  memref::StoreOp store;
  for (Operation &op : body->without_terminator()) {
    if (auto s = dyn_cast<memref::StoreOp>(op)) {
      if (store)
        return; // more than one store
      store = s;
      continue;
    }
    auto effects = dyn_cast<MemoryEffectOpInterface>(op);
    if (op.getNumRegions() || (!effects && !isPure(&op)) ||
        (effects && effects.hasEffect<MemoryEffects::Write>()))
      return;
  }
  if (!store || !llvm::all_of(store.getIndices(), [&](Value i) {
        return loop.isDefinedOutsideOfLoop(i);
      }))
    return;
  Value acc = store.getMemRef();
  memref::LoadOp load;
  for (auto l : body->getOps<memref::LoadOp>()) {
    if (l.getMemRef() == acc) {
      if (load || l.getIndices() != store.getIndices() ||
          !l->isBeforeInBlock(store))
        return;
      load = l;
    } else if (!aliases.alias(l.getMemRef(), acc).isNo()) {
      return;
    }
  }
  if (!load)
    return;
  SmallVector<Value> indices(store.getIndices());
  rewriter.setInsertionPoint(loop);
  Value init = memref::LoadOp::create(rewriter, load.getLoc(), acc, indices);
  Value stored = store.getValueToStore();
  FailureOr<LoopLikeOpInterface> promoted = loop.replaceWithAdditionalYields(
      rewriter, init, /*replaceInitOperandUsesInLoop=*/false,
      [&](OpBuilder &, Location, ArrayRef<BlockArgument>) {
        return SmallVector<Value>{stored};
      });
  if (failed(promoted))
    return;
  auto newLoop = cast<scf::ForOp>(promoted->getOperation());
  rewriter.replaceAllUsesWith(load.getResult(),
                              newLoop.getRegionIterArgs().back());
  rewriter.eraseOp(store);
  rewriter.eraseOp(load);
  rewriter.setInsertionPointAfter(newLoop);
  memref::StoreOp::create(rewriter, newLoop.getLoc(),
                          newLoop.getResults().back(), acc, indices);
}

struct GPUPrepareHostLoops
    : public quant_xform::impl::GPUPrepareHostLoopsBase<GPUPrepareHostLoops> {
  void runOnOperation() override {
    func::FuncOp f = getOperation();
    if (f.isExternal())
      return;
    Block &entry = f.getBody().front();
    for (Operation &op : llvm::make_early_inc_range(entry)) {
      if (auto copy = dyn_cast<memref::CopyOp>(op)) {
        if (failed(copyToParallelLoop(copy)))
          return signalPassFailure();
        continue;
      }
      // An op with results (a value the host uses) cannot move into a
      // kernel: it stays, and quant-xform-gpu-host-buffers reports it.
      if (isa<scf::ForOp, memref::StoreOp>(op) && op.getNumResults() == 0)
        wrapInSingleIteration(&op);
    }
    // One dimension per loop nest, row-major (the innermost dimension
    // fastest): tiled by 256, consecutive threads of a block then walk
    // consecutive elements of every dimension, however many there are
    // and however short each is (a [B, heads, S, S] softmax, a 12-head
    // dimension).
    IRRewriter rewriter(f.getContext());
    for (auto loop : llvm::to_vector(entry.getOps<scf::ParallelOp>())) {
      if (loop.getNumLoops() < 2)
        continue;
      std::vector<unsigned> all(loop.getNumLoops());
      std::iota(all.begin(), all.end(), 0u);
      rewriter.setInsertionPoint(loop);
      mlir::collapseParallelLoops(rewriter, loop, {all});
    }
    // Accumulators of the serial loops inside the kernels in registers
    // (innermost loops first).
    AliasAnalysis &aliases = getAnalysis<AliasAnalysis>();
    SmallVector<scf::ForOp> loops;
    for (auto par : entry.getOps<scf::ParallelOp>())
      par.walk([&](scf::ForOp l) { loops.push_back(l); });
    for (scf::ForOp l : loops)
      promoteAccumulator(l, aliases, rewriter);
  }
};

/// The runtime function that returns the resident device copy of a
/// constant global with `element`s (runtime/CudaRuntime.cpp), if any.
StringRef residentCopyFunction(Type element) {
  if (element.isF32())
    return "qxGpuConstantF32";
  if (element.isInteger(8))
    return "qxGpuConstantI8";
  if (element.isInteger(32))
    return "qxGpuConstantI32";
  return StringRef();
}

struct GPUHostBuffers
    : public quant_xform::impl::GPUHostBuffersBase<GPUHostBuffers> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTable symbols(module);
    for (func::FuncOp f : llvm::to_vector(module.getOps<func::FuncOp>()))
      if (!f.isExternal() && failed(runOn(f, symbols)))
        return signalPassFailure();
  }

  /// `func.func private @name(memref<?xT>) -> memref<?xT>` with a C
  /// interface (runtime/CudaRuntime.cpp implements `_mlir_ciface_<name>`).
  func::FuncOp residentCopyDecl(StringRef name, Type element,
                                SymbolTable &symbols) {
    if (auto existing = symbols.lookup<func::FuncOp>(name))
      return existing;
    ModuleOp module = getOperation();
    OpBuilder b = OpBuilder::atBlockBegin(module.getBody());
    auto flat = MemRefType::get({ShapedType::kDynamic}, element);
    auto decl = func::FuncOp::create(b, module.getLoc(), name,
                                     b.getFunctionType({flat}, {flat}));
    decl.setPrivate();
    decl->setAttr("llvm.emit_c_interface", b.getUnitAttr());
    symbols.insert(decl);
    return decl;
  }

  LogicalResult runOn(func::FuncOp f, SymbolTable &symbols) {
    Block &entry = f.getBody().front();
    OpBuilder eb = OpBuilder::atBlockBegin(&entry);
    SmallVector<Value> buffers;
    auto deviceBuffer = [&](Location loc, MemRefType type) {
      auto alloc = gpu::AllocOp::create(eb, loc, type, Type(), ValueRange{},
                                        ValueRange{}, ValueRange{});
      buffers.push_back(alloc.getMemref());
      return alloc.getMemref();
    };
    WalkResult walk = f.walk([&](Operation *op) -> WalkResult {
      if (op->getParentOfType<gpu::LaunchOp>())
        return WalkResult::advance();
      Location loc = op->getLoc();
      if (isa<memref::AllocOp, memref::AllocaOp>(op)) {
        auto type = cast<MemRefType>(op->getResult(0).getType());
        if (!type.hasStaticShape()) {
          op->emitError() << "the GPU lowering needs static shapes for "
                             "buffers";
          return WalkResult::interrupt();
        }
        op->getResult(0).replaceAllUsesWith(deviceBuffer(
            loc, MemRefType::get(type.getShape(), type.getElementType(),
                                 type.getLayout())));
        op->erase();
        return WalkResult::advance();
      }
      if (auto global = dyn_cast<memref::GetGlobalOp>(op)) {
        // Keep the host global at the entry: the source of the device copy.
        global->moveBefore(&entry, entry.begin());
        eb.setInsertionPointAfter(global);
        MemRefType type = global.getType();
        auto def = symbols.lookup<memref::GlobalOp>(global.getName());
        StringRef resident = residentCopyFunction(type.getElementType());
        if (def && def.getConstant() && !resident.empty() &&
            type.hasStaticShape() && type.getLayout().isIdentity()) {
          // A constant (weights, norm scales): its device copy is made once
          // per process by the runtime and reused by every call.
          Type e = type.getElementType();
          int64_t n = type.getNumElements();
          auto flatStatic = MemRefType::get({n}, e);
          Value flat = memref::ReinterpretCastOp::create(
              eb, loc, flatStatic, global.getResult(), 0, ArrayRef<int64_t>{n},
              ArrayRef<int64_t>{1});
          Value dynamic = memref::CastOp::create(
              eb, loc, MemRefType::get({ShapedType::kDynamic}, e), flat);
          func::FuncOp decl = residentCopyDecl(resident, e, symbols);
          Value device =
              func::CallOp::create(eb, loc, decl, ValueRange{dynamic})
                  .getResult(0);
          Value deviceStatic =
              memref::CastOp::create(eb, loc, flatStatic, device);
          SmallVector<int64_t> strides(type.getRank(), 1);
          for (int64_t d = type.getRank() - 2; d >= 0; --d)
            strides[d] = strides[d + 1] * type.getDimSize(d + 1);
          Value shaped = memref::ReinterpretCastOp::create(
              eb, loc, type, deviceStatic, 0, type.getShape(), strides);
          global.getResult().replaceAllUsesExcept(shaped, flat.getDefiningOp());
          return WalkResult::advance();
        }
        Value device = deviceBuffer(loc, type);
        global.getResult().replaceAllUsesWith(device);
        gpu::MemcpyOp::create(eb, loc, Type(), ValueRange{}, device,
                              global.getResult());
        return WalkResult::advance();
      }
      if (isa<memref::DeallocOp>(op)) {
        op->erase();
        return WalkResult::advance();
      }
      if (isa<memref::LoadOp, memref::StoreOp, memref::CopyOp>(op)) {
        op->emitError() << "the GPU lowering left this op on the host, where "
                           "it would read device memory";
        return WalkResult::interrupt();
      }
      return WalkResult::advance();
    });
    if (walk.wasInterrupted())
      return failure();
    // The resident-copy calls are host calls: put the GPU ops of the entry
    // after the last of them, so that gpu-async-region can chain all GPU
    // ops on one stream.
    Operation *lastCall = nullptr;
    for (Operation &op : entry)
      if (auto c = dyn_cast<func::CallOp>(op))
        if (c.getCallee().starts_with("qxGpuConstant"))
          lastCall = &op;
    if (lastCall) {
      SmallVector<Operation *> gpuOps;
      for (Operation &op : entry) {
        if (&op == lastCall)
          break;
        if (isa<gpu::AllocOp, gpu::MemcpyOp>(op))
          gpuOps.push_back(&op);
      }
      for (Operation *op : llvm::reverse(gpuOps))
        op->moveAfter(lastCall);
    }
    f.walk([&](func::ReturnOp ret) {
      OpBuilder rb(ret);
      for (Value buffer : buffers)
        gpu::DeallocOp::create(rb, ret.getLoc(), Type(), ValueRange{}, buffer);
    });
    return success();
  }
};

} // namespace
