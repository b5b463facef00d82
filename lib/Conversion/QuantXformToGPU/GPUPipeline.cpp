//===- GPUPipeline.cpp - quant_xform → NVVM kernels + host LLVM ----------===//
//
// The named pipeline `quant-xform-lower-to-gpu`: qlinear functions become
// int8 tensor-core kernels (convert-quant-xform-qlinear-to-gpu), then
// upstream's `gpu-lower-to-nvvm-pipeline` lowers the kernels to NVVM,
// serializes them (`gpu-module-to-binary`: PTX through ptxas into a cubin,
// embedded in the module) and lowers the host code to the LLVM dialect with
// calls to the mgpu* ABI that runtime/CudaRuntime.cpp implements.
//
//===----------------------------------------------------------------------===//

#include "quant-xform/Conversion/Passes.h"

#include "mlir/InitAllPasses.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/Support/raw_ostream.h"

#include <mutex>

using namespace mlir;
using namespace mlir::quant_xform;

namespace {
struct GPUPipelineCLOptions : public PassPipelineOptions<GPUPipelineCLOptions> {
  Option<std::string> chip{*this, "chip",
                           llvm::cl::desc("SM to compile for (sm_90, sm_90a)"),
                           llvm::cl::init("sm_90")};
  Option<std::string> format{
      *this, "format",
      llvm::cl::desc("gpu.binary contents: bin (cubin, needs ptxas) or isa "
                     "(PTX text)"),
      llvm::cl::init("bin")};
};
} // namespace

void mlir::quant_xform::buildGPUPipeline(OpPassManager &pm,
                                         const GPUPipelineOptions &options) {
  static std::once_flag registered;
  std::call_once(registered, [] { mlir::registerAllPasses(); });
  pm.addPass(createConvertQuantXformQLinearToGPU());
  pm.addPass(createEmitCInterfacePass());
  // PTX 8.0 (CUDA 12.0+) is the first to know sm_90.
  std::string pipeline =
      "gpu-lower-to-nvvm-pipeline{cubin-chip=" + options.chip +
      " cubin-features=+ptx80 cubin-format=" + options.format + "}";
  if (failed(parsePassPipeline(pipeline, pm, llvm::errs())))
    llvm::report_fatal_error("quant-xform: invalid built-in GPU pipeline");
}

void mlir::quant_xform::registerGPUPipeline() {
  PassPipelineRegistration<GPUPipelineCLOptions>(
      "quant-xform-lower-to-gpu",
      "Lower qlinear functions to int8 tensor-core kernels (NVVM, embedded "
      "binary) and host code calling the mgpu* runtime ABI",
      [](OpPassManager &pm, const GPUPipelineCLOptions &cl) {
        GPUPipelineOptions options;
        options.chip = cl.chip;
        options.format = cl.format;
        buildGPUPipeline(pm, options);
      });
}
