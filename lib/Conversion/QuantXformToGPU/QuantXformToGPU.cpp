//===- QuantXformToGPU.cpp - the pass: quant_xform ops to GPU kernels -----===//
//
// convert-quant-xform-qlinear-to-gpu. A function whose body is `qlinear` /
// per-token `dynamic_quantize` / LLM.int8() `mixed_linear` / `attention` /
// `layer_norm` / `rms_norm` ops on its arguments (with the casts and rotations
// their kernels fuse) is checked (KernelFunctionChecks.cpp) and converted by
// the patterns of populateQuantXformToGPUPatterns() into a host function on
// device memrefs (results become out-parameters) that launches one generated
// kernel per op on one stream. In any other function (a whole model), each such
// op that the kernels handle is outlined into a function of that kind, called
// through buffers (OutlineKernels.cpp); the rest is left for
// convert-quant-xform-to-linalg.
//
//===----------------------------------------------------------------------===//

#include "KernelLowering.h"
#include "quant-xform/Conversion/QuantXformToGPU/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/SymbolTable.h"

namespace mlir::quant_xform {
#define GEN_PASS_DEF_CONVERTQUANTXFORMQLINEARTOGPU
#include "quant-xform/Conversion/QuantXformToGPU/Passes.h.inc"
} // namespace mlir::quant_xform

using namespace mlir;
using namespace mlir::quant_xform;
using namespace mlir::quant_xform::gpu_lowering;

namespace {

struct ConvertQuantXformQLinearToGPU
    : public quant_xform::impl::ConvertQuantXformQLinearToGPUBase<
          ConvertQuantXformQLinearToGPU> {
  using Base::Base;

  /// Checks the options; false (after an error) when one is out of range.
  bool checkOptions() {
    if (!llvm::is_contained({0, 32, 64, 128, 192, 256}, wgmmaTileN)) {
      getOperation().emitError() << "wgmma-tile-n must be 0 (choose), 32, "
                                    "64, 128, 192 or 256 (got "
                                 << static_cast<int64_t>(wgmmaTileN) << ")";
      return false;
    }
    if (!llvm::is_contained({0, 64, 128}, wgmmaTileM)) {
      getOperation().emitError()
          << "wgmma-tile-m must be 0 (choose), 64 or 128 (got "
          << static_cast<int64_t>(wgmmaTileM) << ")";
      return false;
    }
    if (!llvm::is_contained({0, 64, 128}, wgmmaTileK)) {
      getOperation().emitError()
          << "wgmma-tile-k must be 0 (choose), 64 or 128 (got "
          << static_cast<int64_t>(wgmmaTileK) << ")";
      return false;
    }
    if (wgmmaStages != 0 && (wgmmaStages < 3 || wgmmaStages > 16)) {
      getOperation().emitError()
          << "wgmma-stages must be 0 (choose) or 3 to 16 (got "
          << static_cast<int64_t>(wgmmaStages) << ")";
      return false;
    }
    if (wgmmaGroupM < 0 || wgmmaGroupM > 1024) {
      getOperation().emitError()
          << "wgmma-group-m must be 0 (choose) or 1 to 1024 (got "
          << static_cast<int64_t>(wgmmaGroupM) << ")";
      return false;
    }
    if (wgmmaTma && wgmmaPersistent) {
      getOperation().emitError()
          << "wgmma-persistent needs wgmma-tma=false (the TMA kernel is "
             "not persistent)";
      return false;
    }
    if (plannedM < 1) {
      getOperation().emitError() << "planned-m must be at least 1 (got "
                                 << static_cast<int64_t>(plannedM) << ")";
      return false;
    }
    if (wgmmaMinM < 1) {
      getOperation().emitError() << "wgmma-min-m must be at least 1 (got "
                                 << static_cast<int64_t>(wgmmaMinM) << ")";
      return false;
    }
    return checkTargetOptions();
  }

  /// Checks the target options (chip, sm-count, max-shared-bytes).
  bool checkTargetOptions() {
    if (smCount < 0 || maxSharedBytes < 0) {
      getOperation().emitError()
          << "sm-count and max-shared-bytes must be 0 (the chip's) or "
             "positive (got "
          << static_cast<int64_t>(smCount) << " and "
          << static_cast<int64_t>(maxSharedBytes) << ")";
      return false;
    }
    if (wgmma && !GPUTargetFacts::forChip(chip).wgmma) {
      getOperation().emitError()
          << "wgmma needs chip=sm_90a (got " << chip << ")";
      return false;
    }
    return true;
  }

  /// The kernel lowering's options, from the pass options.
  QuantXformToGPUOptions loweringOptions() const {
    QuantXformToGPUOptions o;
    o.wgmma = wgmma;
    o.wgmmaOptions.tileM = wgmmaTileM;
    o.wgmmaOptions.tileN = wgmmaTileN;
    o.wgmmaOptions.tileK = wgmmaTileK;
    o.wgmmaOptions.stages = wgmmaStages;
    o.wgmmaOptions.groupM = wgmmaGroupM;
    o.wgmmaOptions.persistent = wgmmaPersistent;
    o.wgmmaOptions.tma = wgmmaTma;
    o.wgmmaOptions.minM = wgmmaMinM;
    o.plannedM = plannedM;
    o.attentionKernel = attentionKernel;
    o.halfQuantizeInputs = halfQuantizeInputs;
    o.target = GPUTargetFacts::forChip(chip, smCount, maxSharedBytes);
    return o;
  }

  void runOnOperation() override {
    if (!checkOptions())
      return signalPassFailure();
    ModuleOp module = getOperation();
    const QuantXformToGPUOptions options = loweringOptions();
    SmallVector<func::FuncOp> funcs(module.getOps<func::FuncOp>());
    gpu::GPUModuleOp kernels;
    SymbolTable symbols(module);
    for (func::FuncOp f : funcs) {
      if (f.isExternal())
        continue;
      // With `outline`, a function with other ops (a whole model) keeps
      // them and calls kernel functions for its qlinear / quantize ops;
      // without, it gets the op-by-op error of checkKernelFunction() rather
      // than a confusing failure later in the upstream GPU pipeline.
      if (outline && !isKernelFunction(f, options)) {
        if (failed(outlineKernels(f, kernels, symbols, options)))
          return signalPassFailure();
        continue;
      }
      if (failed(checkKernelFunction(f, options)) ||
          failed(convertKernelFunction(f, kernels, symbols, options)))
        return signalPassFailure();
    }
    if (kernels)
      module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                      UnitAttr::get(&getContext()));
  }
};

} // namespace
