//===- GPUPipeline.cpp - quant_xform → NVVM kernels + host LLVM ----------===//
//
// The named pipeline `quant-xform-lower-to-gpu`: qlinear functions become
// int8 tensor-core kernels (convert-quant-xform-qlinear-to-gpu; wgmma ones
// for chip=sm_90a, the default), then
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
                           llvm::cl::desc("SM to compile for: sm_90a (wgmma "
                                          "kernels) or sm_90 (mma.sync only)"),
                           llvm::cl::init("sm_90a")};
  Option<int64_t> wgmmaTileM{
      *this, "wgmma-tile-m",
      llvm::cl::desc("Rows per block of the wgmma kernel (64, 128; 0: choose)"),
      llvm::cl::init(0)};
  Option<int64_t> wgmmaTileN{
      *this, "wgmma-tile-n",
      llvm::cl::desc("Columns per block of the wgmma kernel (32, 64, 128, "
                     "256; 0: choose)"),
      llvm::cl::init(0)};
  Option<int64_t> wgmmaTileK{
      *this, "wgmma-tile-k",
      llvm::cl::desc("Bytes of K per stage of the wgmma kernel (64, 128; 0: "
                     "128)"),
      llvm::cl::init(0)};
  Option<int64_t> wgmmaStages{
      *this, "wgmma-stages",
      llvm::cl::desc("Shared-memory buffers of the wgmma kernel (0: choose)"),
      llvm::cl::init(0)};
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
  ConvertQuantXformQLinearToGPUOptions kernelOptions;
  kernelOptions.wgmma = options.chip == "sm_90a";
  kernelOptions.wgmmaTileM = options.wgmmaTileM;
  kernelOptions.wgmmaTileN = options.wgmmaTileN;
  kernelOptions.wgmmaTileK = options.wgmmaTileK;
  kernelOptions.wgmmaStages = options.wgmmaStages;
  pm.addPass(createConvertQuantXformQLinearToGPU(kernelOptions));
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
        options.wgmmaTileM = cl.wgmmaTileM;
        options.wgmmaTileN = cl.wgmmaTileN;
        options.wgmmaTileK = cl.wgmmaTileK;
        options.wgmmaStages = cl.wgmmaStages;
        buildGPUPipeline(pm, options);
      });
}
