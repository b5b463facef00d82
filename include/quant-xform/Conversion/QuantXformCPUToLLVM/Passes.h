//===- Passes.h - qx_cpu to LLVM -------------------*- C++ -*-===//
//
// convert-quant-xform-cpu-to-llvm: qx_cpu ops as LLVM intrinsic calls.
//
//===----------------------------------------------------------------------===//

#ifndef QUANT_XFORM_CONVERSION_QUANTXFORMCPUTOLLVM_PASSES_H
#define QUANT_XFORM_CONVERSION_QUANTXFORMCPUTOLLVM_PASSES_H

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Pass/Pass.h"
#include "quant-xform/Dialect/QuantXformCPU/IR/QuantXformCPU.h"

namespace mlir::quant_xform {

#define GEN_PASS_DECL
#include "quant-xform/Conversion/QuantXformCPUToLLVM/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "quant-xform/Conversion/QuantXformCPUToLLVM/Passes.h.inc"

} // namespace mlir::quant_xform

#endif
