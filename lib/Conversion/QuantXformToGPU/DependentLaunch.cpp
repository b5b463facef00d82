//===- DependentLaunch.cpp - programmatic dependent launch of kernels -----===//
//
// quant-xform-gpu-dependent-launch: every kernel of a gpu.module waits for
// the grids it depends on at its entry (`griddepcontrol.wait`) and then
// lets the next kernel on the stream be scheduled
// (`griddepcontrol.launch_dependents`); the module carries the marker
// global the runtime looks for to launch its kernels with programmatic
// stream serialization. A kernel's blocks then become resident (and its
// launch latency is spent) while the kernel before it finishes: the GEMM
// behind a quantize kernel starts the moment the quantize completes.
//
// Waiting at the entry keeps stream order for memory: no access of the
// kernel to global memory (reads of its inputs, writes of a buffer the
// kernel before it still reads, scratch reused in stream order) comes
// before the kernels it depends on have completed.
//
//===----------------------------------------------------------------------===//

#include "quant-xform/Conversion/QuantXformToGPU/Passes.h"

#include "GemmKernels.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/IR/SymbolTable.h"

namespace mlir::quant_xform {
#define GEN_PASS_DEF_GPUDEPENDENTLAUNCH
#include "quant-xform/Conversion/QuantXformToGPU/Passes.h.inc"
} // namespace mlir::quant_xform

using namespace mlir;
using quant_xform::gpu_kernels::kDependentLaunchMarker;

namespace {

/// Whether `kernel` already waits for the grids it depends on.
bool waitsForDependencies(gpu::GPUFuncOp kernel) {
  WalkResult found = kernel.walk([](NVVM::GriddepcontrolOp op) {
    return op.getKind() == NVVM::GridDepActionKind::wait
               ? WalkResult::interrupt()
               : WalkResult::advance();
  });
  return found.wasInterrupted();
}

struct GPUDependentLaunch
    : public quant_xform::impl::GPUDependentLaunchBase<GPUDependentLaunch> {
  void runOnOperation() override {
    gpu::GPUModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    Operation *existing = SymbolTable::lookupSymbolIn(
        module, StringAttr::get(ctx, kDependentLaunchMarker));
    auto marker = dyn_cast_or_null<LLVM::GlobalOp>(existing);
    if (existing && (!marker || !marker.getConstant() ||
                     !marker.getGlobalType().isInteger(32))) {
      existing->emitError()
          << "'" << kDependentLaunchMarker
          << "' is the runtime's marker of kernels launched as dependents "
             "(an i32 constant global): another symbol cannot have its name";
      return signalPassFailure();
    }
    bool anyKernel = false;
    for (auto kernel : module.getOps<gpu::GPUFuncOp>()) {
      if (!kernel.isKernel())
        continue;
      anyKernel = true;
      if (waitsForDependencies(kernel))
        continue;
      OpBuilder b = OpBuilder::atBlockBegin(&kernel.getBody().front());
      NVVM::GriddepcontrolOp::create(b, kernel.getLoc(),
                                     NVVM::GridDepActionKind::wait);
      NVVM::GriddepcontrolOp::create(
          b, kernel.getLoc(), NVVM::GridDepActionKind::launch_dependents);
    }
    if (!anyKernel || marker)
      return;
    OpBuilder b = OpBuilder::atBlockBegin(module.getBody());
    Type i32 = b.getI32Type();
    LLVM::GlobalOp::create(b, module.getLoc(), i32, /*isConstant=*/true,
                           LLVM::Linkage::External, kDependentLaunchMarker,
                           b.getI32IntegerAttr(1), /*alignment=*/4,
                           /*addrSpace=*/1);
  }
};

} // namespace
