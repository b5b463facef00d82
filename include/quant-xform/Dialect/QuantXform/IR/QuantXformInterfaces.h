//===- QuantXformInterfaces.h - the shared transform interface ----*- C++
//-*-===//
//
// TransformOpInterface: rotate, affine and smooth as `y = x·M + c`.
//
//===----------------------------------------------------------------------===//

#ifndef QUANT_XFORM_DIALECT_QUANTXFORM_IR_QUANTXFORMINTERFACES_H
#define QUANT_XFORM_DIALECT_QUANTXFORM_IR_QUANTXFORMINTERFACES_H

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "quant-xform/Support/Matrix.h"

namespace mlir::quant_xform {
class TransformOpInterface;
namespace detail {
/// True when `b` applies exactly the inverse of `a`: the same op kind on the
/// same parameter operands and attributes, with opposite `inverse` flags.
bool areInverseTransforms(Operation *a, TransformOpInterface b);
} // namespace detail
} // namespace mlir::quant_xform

#include "quant-xform/Dialect/QuantXform/IR/QuantXformInterfaces.h.inc"

#endif
