//===- QuantXformOps.h - quant_xform ops --------------------------*- C++
//-*-===//
//
// Declares the ops of the quant_xform dialect (and pulls in the dialect,
// attributes and interfaces they use).
//
//===----------------------------------------------------------------------===//

#ifndef QUANT_XFORM_DIALECT_QUANTXFORM_IR_QUANTXFORMOPS_H
#define QUANT_XFORM_DIALECT_QUANTXFORM_IR_QUANTXFORMOPS_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "quant-xform/Dialect/QuantXform/IR/QuantXformAttrs.h"
#include "quant-xform/Dialect/QuantXform/IR/QuantXformDialect.h"
#include "quant-xform/Dialect/QuantXform/IR/QuantXformInterfaces.h"

#define GET_OP_CLASSES
#include "quant-xform/Dialect/QuantXform/IR/QuantXformOps.h.inc"

#endif
