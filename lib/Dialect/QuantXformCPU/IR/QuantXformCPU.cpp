//===- QuantXformCPU.cpp - CPU instruction ops ---------------------------===//

#include "quant-xform/Dialect/QuantXformCPU/IR/QuantXformCPU.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"

using namespace mlir;
using namespace mlir::quant_xform::cpu_isa;

#include "quant-xform/Dialect/QuantXformCPU/IR/QuantXformCPUDialect.cpp.inc"

void QuantXformCPUDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "quant-xform/Dialect/QuantXformCPU/IR/QuantXformCPU.cpp.inc"
      >();
}

std::string DotU8S8Op::getIntrinsicName() {
  return "llvm.x86.avx512.vpdpbusd.512";
}

#define GET_OP_CLASSES
#include "quant-xform/Dialect/QuantXformCPU/IR/QuantXformCPU.cpp.inc"
