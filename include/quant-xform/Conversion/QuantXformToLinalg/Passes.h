//===- Passes.h - the CPU lowering's passes -------------------*- C++ -*-===//
//
// The passes of the CPU lowering (convert-quant-xform-to-linalg,
// quant-xform-vectorize-for-cpu) and the quant-xform-lower-to-cpu pipeline.
//
//===----------------------------------------------------------------------===//

#ifndef QUANT_XFORM_CONVERSION_QUANTXFORMTOLINALG_PASSES_H
#define QUANT_XFORM_CONVERSION_QUANTXFORMTOLINALG_PASSES_H

#include "mlir/Dialect/AMX/AMXDialect.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassManager.h"
#include "quant-xform/Conversion/QuantXformToLinalg/QuantXformToLinalg.h"
#include "quant-xform/Dialect/QuantXformCPU/IR/QuantXformCPU.h"

namespace mlir::quant_xform {

#define GEN_PASS_DECL
#include "quant-xform/Conversion/QuantXformToLinalg/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "quant-xform/Conversion/QuantXformToLinalg/Passes.h.inc"

/// Registers `quant-xform-lower-to-cpu`: convert-quant-xform-to-linalg, then
/// bufferization and the conversions to the LLVM dialect.
void registerCPUPipeline();

/// Options of the CPU lowering pipeline.
struct CPUPipelineOptions {
  /// OpenMP threads for the outer parallel loops (1: sequential).
  int64_t threads = 1;
  /// int8 GEMM code (`convert-quant-xform-to-linalg{int8-kernel}`): `auto`
  /// picks the AMX kernel when the host has AMX-INT8 (and `allowAmx`), else
  /// the VNNI microkernel when the host CPU has AVX-512 VNNI.
  Int8KernelChoice int8Kernel = Int8KernelChoice::Auto;
  /// Whether `auto` may pick AMX: true for the JIT (its process asks the OS
  /// for the tiles), false for objects that other processes load.
  bool allowAmx = true;
  /// Vector code for the float linalg ops (quant-xform-vectorize-for-cpu).
  bool vectorize = true;
  /// memref.alloc / dealloc call the generic
  /// `_mlir_memref_to_llvm_{alloc,aligned_alloc,free}` (which the JIT binds
  /// to its buffer cache) instead of malloc and free.
  bool cachingAllocator = false;
};

/// Adds the CPU lowering (quant_xform → ... → LLVM dialect) to `pm`.
void buildCPUPipeline(OpPassManager &pm, const CPUPipelineOptions &options);

/// `quant-xform-emit-c-interface`: every function gets a C interface
/// (`_mlir_ciface_<name>`); tensor arguments become read-only.
std::unique_ptr<Pass> createEmitCInterfacePass();

} // namespace mlir::quant_xform

#endif
