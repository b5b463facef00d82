//===- MarkOnlineTransforms.cpp - mark transforms left at run time --------===//
//
// After folding, every transform still in the IR runs at run time; mark it
// `quant_xform.online` (for the backends, which lower a Hadamard to a fast
// butterfly) and say so with a remark naming what it feeds.
//
//===----------------------------------------------------------------------===//

#include "quant-xform/Dialect/QuantXform/Transforms/Passes.h"

#include "quant-xform/Dialect/QuantXform/IR/QuantXformAttrNames.h"
#include "quant-xform/Dialect/QuantXform/IR/QuantXformOps.h"

namespace mlir::quant_xform {
#define GEN_PASS_DEF_MARKONLINETRANSFORMS
#include "quant-xform/Dialect/QuantXform/Transforms/Passes.h.inc"
} // namespace mlir::quant_xform

using namespace mlir;
using namespace mlir::quant_xform;

namespace {
struct MarkOnlineTransforms
    : public quant_xform::impl::MarkOnlineTransformsBase<MarkOnlineTransforms> {
  using MarkOnlineTransformsBase::MarkOnlineTransformsBase;
  void runOnOperation() override {
    getOperation().walk([&](TransformOpInterface op) {
      op->setAttr(kOnlineAttrName, UnitAttr::get(&getContext()));
      if (remarks)
        op.emitRemark() << "transform stays online (it could not be folded "
                           "into a neighbour)";
    });
  }
};
} // namespace
