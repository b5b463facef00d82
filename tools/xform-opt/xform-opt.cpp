//===- xform-opt.cpp - mlir-opt with quant-xform registered ---------------===//

#include "quant-xform/InitAll/InitAll.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  mlir::quant_xform::registerAllDialects(registry);
  mlir::quant_xform::registerAllPasses();
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "quant-xform optimizer driver\n", registry));
}
