//===- InitAll.cpp - register quant-xform's dialects and passes -----------===//

#include "quant-xform/InitAll/InitAll.h"

#include "quant-xform/Conversion/Passes.h"
#include "quant-xform/Dialect/QuantXform/IR/QuantXformDialect.h"
#include "quant-xform/Dialect/QuantXformCPU/IR/QuantXformCPU.h"
#include "quant-xform/Dialect/QuantXform/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Quant/IR/Quant.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Transforms/Passes.h"

void mlir::quant_xform::registerAllDialects(DialectRegistry &registry) {
  // Upstream's dialects, extensions (bufferization and conversion
  // interfaces) and LLVM IR translations: the CPU pipeline needs them.
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  mlir::registerAllToLLVMIRTranslations(registry);
  registry.insert<QuantXformDialect, cpu_isa::QuantXformCPUDialect,
                  arith::ArithDialect, func::FuncDialect,
                  linalg::LinalgDialect, math::MathDialect, quant::QuantDialect,
                  tensor::TensorDialect>();
}

void mlir::quant_xform::registerAllPasses() {
  mlir::registerAllPasses();
  mlir::quant_xform::registerQuantXformPasses();
  mlir::quant_xform::registerQuantXformConversionPasses();
  mlir::quant_xform::registerCPUPipeline();
  mlir::quant_xform::registerGPUPipeline();
  mlir::quant_xform::registerW8A8Pipeline();
}
