//===- QuantXformCPUToLLVM.cpp - qx_cpu ops → LLVM intrinsics ------------===//
//
// Each `qx_cpu` op becomes an `llvm.call_intrinsic` of the intrinsic it
// names (OneToOneIntrinsicOpInterface). Its operands are vectors, which the
// LLVM dialect accepts as they are.
//
//===----------------------------------------------------------------------===//

#include "quant-xform/Conversion/QuantXformCPUToLLVM/Passes.h"
#include "quant-xform/Dialect/QuantXformCPU/IR/QuantXformCPU.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::quant_xform {
#define GEN_PASS_DEF_CONVERTQUANTXFORMCPUTOLLVM
#include "quant-xform/Conversion/QuantXformCPUToLLVM/Passes.h.inc"
} // namespace mlir::quant_xform

using namespace mlir;
using namespace mlir::quant_xform;

namespace {

/// qx_cpu op → `llvm.call_intrinsic "<its intrinsic>"(operands)`.
struct IntrinsicOpLowering
    : OpInterfaceRewritePattern<LLVM::OneToOneIntrinsicOpInterface> {
  using OpInterfaceRewritePattern::OpInterfaceRewritePattern;
  LogicalResult matchAndRewrite(LLVM::OneToOneIntrinsicOpInterface op,
                                PatternRewriter &rewriter) const override {
    if (!isa<cpu_isa::QuantXformCPUDialect>(op->getDialect()))
      return failure();
    auto call = LLVM::CallIntrinsicOp::create(
        rewriter, op->getLoc(), op->getResultTypes(),
        rewriter.getStringAttr(op.getIntrinsicName()), op->getOperands(),
        LLVM::FastmathFlagsAttr::get(rewriter.getContext(), {}));
    rewriter.replaceOp(op, call->getResults());
    return success();
  }
};

struct ConvertQuantXformCPUToLLVM
    : public quant_xform::impl::ConvertQuantXformCPUToLLVMBase<
          ConvertQuantXformCPUToLLVM> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<IntrinsicOpLowering>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
    WalkResult left = getOperation()->walk([](Operation *op) {
      if (isa<cpu_isa::QuantXformCPUDialect>(op->getDialect())) {
        op->emitError() << "cannot lower to an LLVM intrinsic";
        return WalkResult::interrupt();
      }
      return WalkResult::advance();
    });
    if (left.wasInterrupted())
      signalPassFailure();
  }
};

} // namespace
