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

#include "quant-xform/Conversion/QuantXformCPUToLLVM/Passes.h"
#include "quant-xform/Conversion/QuantXformToGPU/GPUTargetFacts.h"
#include "quant-xform/Conversion/QuantXformToGPU/Passes.h"
#include "quant-xform/Conversion/QuantXformToLinalg/Passes.h"

#include "mlir/InitAllPasses.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdlib>

#include <mutex>

using namespace mlir;
using namespace mlir::quant_xform;

namespace {
struct GPUPipelineCLOptions : public PassPipelineOptions<GPUPipelineCLOptions> {
  Option<std::string> chip{*this, "chip",
                           llvm::cl::desc("SM to compile for: sm_90a (wgmma "
                                          "kernels) or sm_90 (mma.sync only)"),
                           llvm::cl::init("sm_90a")};
  Option<int64_t> smCount{
      *this, "sm-count",
      llvm::cl::desc("SMs of the GPU, for another part of the chip (0: the "
                     "chip's)"),
      llvm::cl::init(0)};
  Option<int64_t> maxSharedBytes{
      *this, "max-shared-bytes",
      llvm::cl::desc("Dynamic shared memory one block may use, in bytes (0: "
                     "the chip's opt-in maximum)"),
      llvm::cl::init(0)};
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
  Option<int64_t> wgmmaGroupM{
      *this, "wgmma-group-m",
      llvm::cl::desc("Row blocks per raster group of the wgmma kernel (0: "
                     "choose; 1: row by row)"),
      llvm::cl::init(0)};
  Option<int64_t> plannedM{
      *this, "planned-m",
      llvm::cl::desc("Rows that the kernels of a run-time M (tensor<?xK>) "
                     "are planned for (their kernel and tile)"),
      llvm::cl::init(1024)};
  Option<bool> attentionKernel{
      *this, "attention-kernel",
      llvm::cl::desc("quant_xform.attention on the flash attention kernel "
                     "(f16 products); false: f32 loop kernels"),
      llvm::cl::init(true)};
  Option<bool> halfQuantizeInputs{
      *this, "half-quantize-inputs",
      llvm::cl::desc("A linear's result stored in bf16 where only a per-token "
                     "quantize kernel reads it (default: f32)"),
      llvm::cl::init(false)};
  Option<bool> wgmmaPersistent{
      *this, "wgmma-persistent",
      llvm::cl::desc("Persistent wgmma blocks (one per SM) where the grid "
                     "has more than one wave"),
      llvm::cl::init(false)};
  Option<bool> wgmmaTma{
      *this, "wgmma-tma",
      llvm::cl::desc("TMA loads (a producer warp, mbarriers) in the wgmma "
                     "kernel instead of cp.async (false with "
                     "wgmma-persistent)"),
      llvm::cl::init(true)};
  Option<bool> dependentLaunch{
      *this, "dependent-launch",
      llvm::cl::desc("Launch each kernel as a dependent of the kernel before "
                     "it on the stream (programmatic dependent launch: it "
                     "starts while that one finishes)"),
      llvm::cl::init(true)};
  Option<std::string> cudaPath{
      *this, "cuda-path",
      llvm::cl::desc("CUDA toolkit with the libdevice that kernels link "
                     "(default: $CUDA_HOME, $CUDA_PATH, /usr/local/cuda)"),
      llvm::cl::init("")};
  Option<std::string> weightsFile{
      *this, "weights-file",
      llvm::cl::desc("Write constants of at least weights-min-bytes bytes to "
                     "this safetensors file, read at run time (empty: keep "
                     "them in the object)"),
      llvm::cl::init("")};
  Option<int64_t> weightsMinBytes{
      *this, "weights-min-bytes",
      llvm::cl::desc("Constants smaller than this stay in the object"),
      llvm::cl::init(0)};
  Option<std::string> format{
      *this, "format",
      llvm::cl::desc("gpu.binary contents: bin (cubin, needs ptxas) or isa "
                     "(PTX text)"),
      llvm::cl::init("bin")};
};
} // namespace

/// The CUDA toolkit whose libdevice the kernels link (math functions of
/// whole models): `cudaPath`, else $CUDA_HOME / $CUDA_PATH, else
/// /usr/local/cuda; empty when none of these is given and /usr/local/cuda is
/// not a directory (no libdevice then: kernels without math functions need
/// none).
static std::string findCudaToolkit(const std::string &cudaPath) {
  std::string path = cudaPath;
  for (const char *var : {"CUDA_HOME", "CUDA_PATH"})
    if (path.empty())
      if (const char *value = std::getenv(var))
        path = value;
  if (path.empty())
    path = "/usr/local/cuda";
  // A path given explicitly is passed on (a wrong one is then an error).
  return !cudaPath.empty() || llvm::sys::fs::is_directory(path) ? path
                                                                : std::string();
}

namespace {
/// Fails (with an error naming it) when an explicitly given CUDA toolkit
/// has no libdevice: upstream gpu-module-to-binary reports a bad toolkit
/// path but carries on, leaving math functions unresolved.
struct CheckCudaToolkit
    : public PassWrapper<CheckCudaToolkit, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(CheckCudaToolkit)
  explicit CheckCudaToolkit(std::string path) : path(std::move(path)) {}
  StringRef getArgument() const final {
    return "quant-xform-check-cuda-toolkit";
  }
  void runOnOperation() override {
    llvm::SmallString<256> libdevice(path);
    llvm::sys::path::append(libdevice, "nvvm", "libdevice", "libdevice.10.bc");
    if (!llvm::sys::fs::is_directory(path)) {
      getOperation().emitError()
          << "CUDA path: " << path << " does not exist or is not a directory";
      return signalPassFailure();
    }
    if (!llvm::sys::fs::is_regular_file(libdevice)) {
      getOperation().emitError()
          << "CUDA path: " << path << " has no " << libdevice;
      return signalPassFailure();
    }
  }
  std::string path;
};
} // namespace

/// Registers the passes the textual parts below name (idempotent).
static void registerPipelinePasses() {
  static std::once_flag registered;
  std::call_once(registered, [] {
    mlir::registerAllPasses();
    registerQuantXformToLinalgPasses();
    registerQuantXformCPUToLLVMPasses();
    registerQuantXformToGPUPasses();
  });
}

void mlir::quant_xform::buildGPUHostPipeline(
    OpPassManager &pm, const GPUPipelineOptions &options) {
  registerPipelinePasses();
  ConvertQuantXformQLinearToGPUOptions kernelOptions;
  kernelOptions.chip = options.chip;
  kernelOptions.smCount = options.smCount;
  kernelOptions.maxSharedBytes = options.maxSharedBytes;
  kernelOptions.wgmma = GPUTargetFacts::forChip(options.chip).wgmma;
  kernelOptions.wgmmaTileM = options.wgmmaTileM;
  kernelOptions.wgmmaTileN = options.wgmmaTileN;
  kernelOptions.wgmmaTileK = options.wgmmaTileK;
  kernelOptions.wgmmaStages = options.wgmmaStages;
  kernelOptions.wgmmaGroupM = options.wgmmaGroupM;
  kernelOptions.plannedM = options.plannedM;
  kernelOptions.attentionKernel = options.attentionKernel;
  kernelOptions.halfQuantizeInputs = options.halfQuantizeInputs;
  kernelOptions.wgmmaPersistent = options.wgmmaPersistent;
  kernelOptions.wgmmaTma = options.wgmmaTma;
  pm.addPass(createConvertQuantXformQLinearToGPU(kernelOptions));
  // The rest of a whole model: linalg on tensors, bufferized; each
  // top-level parallel loop nest becomes a kernel (collapsed to one
  // dimension, blocks of 256 threads over it), buffers go to device memory
  // and the GPU ops of a function onto one stream.
  ConvertQuantXformToLinalgOptions lowering;
  lowering.int8Kernel = Int8KernelChoice::Loops;
  pm.addPass(createConvertQuantXformToLinalg(lowering));
  pm.addPass(createEmitCInterfacePass());
  if (failed(parsePassPipeline(
          "func.func(convert-elementwise-to-linalg),canonicalize,cse,"
          "one-shot-bufferize{bufferize-function-boundaries "
          "function-boundary-type-conversion=identity-layout-map},"
          "buffer-results-to-out-params{modify-public-functions "
          "hoist-static-allocs},"
          // The kernel functions' launches join the caller's (one stream).
          "inline,"
          // Equal subviews merged, so that the copy of a value that a
          // linalg op wrote in place into a slice of an argument (a KV
          // cache's slot) is a self-copy, which canonicalize erases.
          "func.func(cse,canonicalize,convert-linalg-to-parallel-loops,"
          "quant-xform-gpu-prepare-host-loops,canonicalize,"
          "scf-parallel-loop-tiling{parallel-loop-tile-sizes=256 "
          "no-min-max-bounds},"
          "gpu-map-parallel-loops,convert-parallel-loops-to-gpu),"
          "quant-xform-gpu-host-buffers",
          pm, llvm::errs())))
    llvm::report_fatal_error("quant-xform: invalid built-in GPU pipeline");
  GPUWeightsAsDataOptions weights;
  weights.file = options.weightsFile;
  weights.minBytes = options.weightsMinBytes;
  pm.addPass(createGPUWeightsAsData(weights));
  if (failed(parsePassPipeline(
          "gpu-kernel-outlining,func.func(gpu-async-region),"
          // TMA launches: their tensor maps, made on the host after the
          // stream is threaded (a runtime call would otherwise wait).
          "quant-xform-gpu-tensor-maps",
          pm, llvm::errs())))
    llvm::report_fatal_error("quant-xform: invalid built-in GPU pipeline");
  if (options.dependentLaunch)
    pm.addNestedPass<gpu::GPUModuleOp>(createGPUDependentLaunch());
}

void mlir::quant_xform::buildGPUPipeline(OpPassManager &pm,
                                         const GPUPipelineOptions &options) {
  registerPipelinePasses();
  if (!options.cudaPath.empty())
    pm.addPass(std::make_unique<CheckCudaToolkit>(options.cudaPath));
  buildGPUHostPipeline(pm, options);
  std::string toolkit = findCudaToolkit(options.cudaPath);
  // Upstream's gpu-lower-to-nvvm-pipeline, with the toolkit (libdevice)
  // given to gpu-module-to-binary. PTX 8.0 (CUDA 12.0+) is the first to
  // know sm_90.
  std::string pipeline =
      "convert-nvgpu-to-nvvm,convert-vector-to-scf,convert-scf-to-cf,"
      "convert-nvvm-to-llvm,convert-func-to-llvm,expand-strided-metadata,"
      "nvvm-attach-target{chip=" +
      options.chip +
      " features=+ptx80 O=2},"
      "lower-affine,convert-arith-to-llvm,convert-index-to-llvm,canonicalize,"
      "cse,"
      "gpu.module(strip-debuginfo,convert-gpu-to-nvvm,"
      "quant-xform-gpu-tensor-map-args,llvm-optimize-for-nvvm-target,"
      "canonicalize,cse,"
      "reconcile-unrealized-casts),"
      "gpu-to-llvm,gpu-module-to-binary{format=" +
      options.format + (toolkit.empty() ? "" : " toolkit=" + toolkit) +
      "},convert-math-to-llvm,canonicalize,cse,reconcile-unrealized-casts";
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
        options.smCount = cl.smCount;
        options.maxSharedBytes = cl.maxSharedBytes;
        options.format = cl.format;
        options.cudaPath = cl.cudaPath;
        options.wgmmaTileM = cl.wgmmaTileM;
        options.wgmmaTileN = cl.wgmmaTileN;
        options.wgmmaTileK = cl.wgmmaTileK;
        options.wgmmaStages = cl.wgmmaStages;
        options.wgmmaGroupM = cl.wgmmaGroupM;
        options.plannedM = cl.plannedM;
        options.attentionKernel = cl.attentionKernel;
        options.halfQuantizeInputs = cl.halfQuantizeInputs;
        options.wgmmaPersistent = cl.wgmmaPersistent;
        options.wgmmaTma = cl.wgmmaTma;
        options.dependentLaunch = cl.dependentLaunch;
        options.weightsFile = cl.weightsFile;
        options.weightsMinBytes = cl.weightsMinBytes;
        buildGPUPipeline(pm, options);
      });
}
