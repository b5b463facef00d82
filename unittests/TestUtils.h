//===- TestUtils.h - helpers for the unit tests -------------------*- C++
//-*-===//

#ifndef QUANT_XFORM_UNITTESTS_TESTUTILS_H
#define QUANT_XFORM_UNITTESTS_TESTUTILS_H

#include "quant-xform/InitAll/InitAll.h"
#include "quant-xform/Reference/Evaluator.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"

#include <gtest/gtest.h>

namespace qxtest {

/// An MLIRContext with every dialect quant-xform uses.
inline std::unique_ptr<mlir::MLIRContext> makeContext() {
  mlir::DialectRegistry registry;
  mlir::quant_xform::registerAllDialects(registry);
  auto ctx = std::make_unique<mlir::MLIRContext>(registry);
  ctx->loadAllAvailableDialects();
  return ctx;
}

/// Parses `ir`, runs @main on `args` and returns the results (fails the
/// test on any error).
inline llvm::SmallVector<mlir::quant_xform::io::Tensor>
evaluate(llvm::StringRef ir,
         llvm::ArrayRef<mlir::quant_xform::io::Tensor> args) {
  auto ctx = makeContext();
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceString<mlir::ModuleOp>(ir, ctx.get());
  EXPECT_TRUE(module) << "IR does not parse";
  if (!module)
    return {};
  mlir::quant_xform::reference::Evaluator evaluator(*module);
  auto results = evaluator.run("main", args);
  EXPECT_TRUE(mlir::succeeded(results)) << "evaluation failed";
  if (mlir::failed(results))
    return {};
  return *results;
}

/// Parses `ir` (unregistered ops allowed), runs @main on `args`, expects a
/// failure and returns the diagnostic it emitted.
inline std::string
evaluateExpectingError(llvm::StringRef ir,
                       llvm::ArrayRef<mlir::quant_xform::io::Tensor> args) {
  auto ctx = makeContext();
  ctx->allowUnregisteredDialects();
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceString<mlir::ModuleOp>(ir, ctx.get());
  EXPECT_TRUE(module) << "IR does not parse";
  if (!module)
    return "";
  std::string message;
  mlir::ScopedDiagnosticHandler handler(ctx.get(), [&](mlir::Diagnostic &d) {
    message = d.str();
    return mlir::success();
  });
  mlir::quant_xform::reference::Evaluator evaluator(*module);
  EXPECT_TRUE(mlir::failed(evaluator.run("main", args)));
  return message;
}

} // namespace qxtest

#endif
