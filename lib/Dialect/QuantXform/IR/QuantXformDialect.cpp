//===- QuantXformDialect.cpp - quant_xform dialect registration ----------===//

#include "quant-xform/Dialect/QuantXform/IR/QuantXformDialect.h"
#include "quant-xform/Dialect/QuantXform/IR/QuantXformOps.h"

using namespace mlir;
using namespace mlir::quant_xform;

#include "quant-xform/Dialect/QuantXform/IR/QuantXformDialect.cpp.inc"

void QuantXformDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "quant-xform/Dialect/QuantXform/IR/QuantXformOps.cpp.inc"
      >();
  registerAttributes();
}
