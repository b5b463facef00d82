//===- Passes.h - all quant_xform conversion passes -------------*- C++ -*-===//
//
// The three conversion libraries, each with its own Passes.h (as upstream's
// lib/Conversion/*): the CPU lowering (QuantXformToLinalg), qx_cpu to LLVM
// (QuantXformCPUToLLVM) and the GPU lowering (QuantXformToGPU). Include the
// one you need; this header is for tools that register them all.
//
//===----------------------------------------------------------------------===//

#ifndef QUANT_XFORM_CONVERSION_PASSES_H
#define QUANT_XFORM_CONVERSION_PASSES_H

#include "quant-xform/Conversion/QuantXformCPUToLLVM/Passes.h"
#include "quant-xform/Conversion/QuantXformToGPU/Passes.h"
#include "quant-xform/Conversion/QuantXformToLinalg/Passes.h"

namespace mlir::quant_xform {

/// Registers every conversion pass (not the pipelines).
inline void registerQuantXformConversionPasses() {
  registerQuantXformToLinalgPasses();
  registerQuantXformCPUToLLVMPasses();
  registerQuantXformToGPUPasses();
}

} // namespace mlir::quant_xform

#endif
