//===- QuantXformAttrs.h - quant_xform enums and attributes -------*- C++
//-*-===//
//
// Enums (rotation kind, granularity) and the quantization scheme attribute.
//
//===----------------------------------------------------------------------===//

#ifndef QUANT_XFORM_DIALECT_QUANTXFORM_IR_QUANTXFORMATTRS_H
#define QUANT_XFORM_DIALECT_QUANTXFORM_IR_QUANTXFORMATTRS_H

#include "mlir/IR/Attributes.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectImplementation.h"

#include "quant-xform/Dialect/QuantXform/IR/QuantXformEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "quant-xform/Dialect/QuantXform/IR/QuantXformAttrs.h.inc"

#endif
