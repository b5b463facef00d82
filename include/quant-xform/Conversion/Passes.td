//===- Passes.td - quant_xform conversion passes -----------*- tablegen -*-===//

#ifndef QUANT_XFORM_CONVERSION_PASSES_TD
#define QUANT_XFORM_CONVERSION_PASSES_TD

// All conversion passes, for their generated reference
// (docs/generated/QuantXformConversionPasses.md); each library generates
// its declarations from its own Passes.td.
include "quant-xform/Conversion/QuantXformToLinalg/Passes.td"
include "quant-xform/Conversion/QuantXformCPUToLLVM/Passes.td"
include "quant-xform/Conversion/QuantXformToGPU/Passes.td"

#endif
