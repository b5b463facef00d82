//===- QuantXformCPU.h - CPU instruction ops ----------------------*- C++
//-*-===//

#ifndef QUANT_XFORM_DIALECT_QUANTXFORMCPU_IR_QUANTXFORMCPU_H
#define QUANT_XFORM_DIALECT_QUANTXFORMCPU_IR_QUANTXFORMCPU_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/Dialect/LLVMIR/LLVMInterfaces.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "quant-xform/Dialect/QuantXformCPU/IR/QuantXformCPUDialect.h.inc"

#define GET_OP_CLASSES
#include "quant-xform/Dialect/QuantXformCPU/IR/QuantXformCPU.h.inc"

#endif
