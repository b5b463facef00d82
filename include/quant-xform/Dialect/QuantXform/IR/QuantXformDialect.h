//===- QuantXformDialect.h - quant_xform dialect ------------------*- C++
//-*-===//
//
// Declares the quant_xform dialect class.
//
//===----------------------------------------------------------------------===//

#ifndef QUANT_XFORM_DIALECT_QUANTXFORM_IR_QUANTXFORMDIALECT_H
#define QUANT_XFORM_DIALECT_QUANTXFORM_IR_QUANTXFORMDIALECT_H

#include "mlir/IR/Dialect.h"

#include "quant-xform/Dialect/QuantXform/IR/QuantXformDialect.h.inc"

#endif
