//===- InitAll.h - register quant-xform's dialects and passes -----*- C++
//-*-===//

#ifndef QUANT_XFORM_INITALL_INITALL_H
#define QUANT_XFORM_INITALL_INITALL_H

namespace mlir {
class DialectRegistry;
} // namespace mlir

namespace mlir::quant_xform {

/// Adds quant_xform and the upstream dialects a transformer model uses
/// (func, arith, math, tensor, linalg, quant) to `registry`.
void registerAllDialects(DialectRegistry &registry);

/// Registers quant-xform's passes and the upstream passes that pipelines use
/// (canonicalize, cse, ...).
void registerAllPasses();

} // namespace mlir::quant_xform

#endif
