//===- CheckTransformMatrices.cpp - the value checks of transforms --------===//
//
// quant-xform-check-transform-matrices: every rotate and affine op with a
// constant matrix runs its `verifyConstantMatrix` (orthogonality,
// invertibility); the pass fails after reporting every op that does not
// hold.
//
//===----------------------------------------------------------------------===//

#include "quant-xform/Dialect/QuantXform/Transforms/Passes.h"

#include "quant-xform/Dialect/QuantXform/IR/QuantXformOps.h"

namespace mlir::quant_xform {
#define GEN_PASS_DEF_CHECKTRANSFORMMATRICES
#include "quant-xform/Dialect/QuantXform/Transforms/Passes.h.inc"
} // namespace mlir::quant_xform

using namespace mlir;
using namespace mlir::quant_xform;

LogicalResult mlir::quant_xform::checkTransformMatrices(Operation *root) {
  bool ok = true;
  root->walk([&](Operation *op) {
    if (auto rotate = dyn_cast<RotateOp>(op))
      ok &= succeeded(rotate.verifyConstantMatrix());
    else if (auto affine = dyn_cast<AffineOp>(op))
      ok &= succeeded(affine.verifyConstantMatrix());
  });
  return success(ok);
}

namespace {
struct CheckTransformMatrices
    : public quant_xform::impl::CheckTransformMatricesBase<
          CheckTransformMatrices> {
  void runOnOperation() override {
    if (failed(checkTransformMatrices(getOperation())))
      signalPassFailure();
  }
};
} // namespace
