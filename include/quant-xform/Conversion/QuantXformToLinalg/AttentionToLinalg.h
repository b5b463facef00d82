//===- AttentionToLinalg.h - quant_xform.attention as linalg ----*- C++ -*-===//
//
// The decomposition of `quant_xform.attention` into linalg on tensors
// (transposes, two batch matmuls, the masked scores and `linalg.softmax`):
// the CPU lowering, and the GPU lowering of what its fused kernel does not
// take.
//
//===----------------------------------------------------------------------===//

#ifndef QUANT_XFORM_CONVERSION_QUANTXFORMTOLINALG_ATTENTIONTOLINALG_H
#define QUANT_XFORM_CONVERSION_QUANTXFORMTOLINALG_ATTENTIONTOLINALG_H

#include "mlir/IR/PatternMatch.h"

namespace mlir::quant_xform {

/// Adds the patterns that rewrite `quant_xform.attention` and
/// `quant_xform.rotary` (static shapes) into linalg on tensors.
void populateAttentionToLinalgPatterns(RewritePatternSet &patterns);

} // namespace mlir::quant_xform

#endif
