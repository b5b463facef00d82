//===- Passes.h - the GPU lowering's passes -------------------*- C++ -*-===//
//
// The passes of the GPU lowering (kernels, host code, weights as data,
// tensor maps, dependent launch) and the quant-xform-lower-to-gpu pipeline.
//
//===----------------------------------------------------------------------===//

#ifndef QUANT_XFORM_CONVERSION_QUANTXFORMTOGPU_PASSES_H
#define QUANT_XFORM_CONVERSION_QUANTXFORMTOGPU_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassManager.h"

namespace mlir::quant_xform {

#define GEN_PASS_DECL
#include "quant-xform/Conversion/QuantXformToGPU/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "quant-xform/Conversion/QuantXformToGPU/Passes.h.inc"

/// Options of the GPU lowering pipeline.
struct GPUPipelineOptions {
  /// The SM to compile for: sm_90a (Hopper-only instructions: the wgmma
  /// kernel) or sm_90 (mma.sync kernels only).
  std::string chip = "sm_90a";
  /// SMs and dynamic shared memory per block (bytes) of the GPU, for
  /// another part than the chip's in GPUTargetFacts (0: the chip's).
  int64_t smCount = 0, maxSharedBytes = 0;
  /// Block shape of the wgmma kernel (0: chosen per shape).
  int64_t wgmmaTileM = 0, wgmmaTileN = 0, wgmmaTileK = 0;
  /// Shared-memory buffers of the wgmma kernel (0: chosen).
  int64_t wgmmaStages = 0;
  /// Row blocks per raster group of the wgmma kernel (0: chosen; 1: row
  /// by row).
  int64_t wgmmaGroupM = 0;
  /// The rows that kernels of a run-time M are planned for.
  int64_t plannedM = 1024;
  /// quant_xform.attention on the flash attention kernel (else loops).
  bool attentionKernel = true;
  /// A linear's result stored in bf16 where only a per-token quantize
  /// kernel reads it.
  bool halfQuantizeInputs = false;
  /// Persistent wgmma blocks where the grid has more than one wave.
  bool wgmmaPersistent = false;
  /// TMA loads (a producer warp, mbarriers) in the wgmma kernel.
  bool wgmmaTma = true;
  /// Kernels launched as dependents of the kernel before them on the
  /// stream (quant-xform-gpu-dependent-launch).
  bool dependentLaunch = true;
  /// What the gpu.binary holds: `bin` (a cubin, through ptxas) or `isa`
  /// (PTX text, for inspection and tests without ptxas).
  std::string format = "bin";
  /// The CUDA toolkit whose libdevice kernels link (empty: $CUDA_HOME,
  /// $CUDA_PATH, /usr/local/cuda).
  std::string cudaPath;
  /// Weights as data (quant-xform-gpu-weights-as-data): the safetensors
  /// file that constants of at least `weightsMinBytes` bytes go to (empty:
  /// they stay in the object).
  std::string weightsFile;
  int64_t weightsMinBytes = 0;
};

/// Adds the first part of the GPU lowering to `pm`: generated kernels for
/// the linears and quantizers, the rest bufferized into loop kernels on
/// device buffers, one stream per function (gpu dialect, not yet NVVM).
void buildGPUHostPipeline(OpPassManager &pm, const GPUPipelineOptions &options);

/// Adds the GPU lowering (qlinear functions → kernels + host code calling
/// the mgpu* runtime ABI, in the LLVM dialect) to `pm`.
void buildGPUPipeline(OpPassManager &pm, const GPUPipelineOptions &options);

/// Registers `quant-xform-lower-to-gpu`.
void registerGPUPipeline();

} // namespace mlir::quant_xform

#endif
