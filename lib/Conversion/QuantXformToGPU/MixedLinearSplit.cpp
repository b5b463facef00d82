//===- MixedLinearSplit.cpp - LLM.int8() linears for the GPU kernels ------===//
//
// Rewrites a `mixed_linear` (LLM.int8(): outlier columns in float, the rest
// int8) that the fused kernels do not take (a dynamic threshold, more than
// kMaxFusedOutliers columns, no wgmma; see convert-quant-xform-qlinear-to-gpu)
// into ops the GPU lowering has kernels for, in the order the CPU
// lowering computes it: the outlier column mask (static `columns`, or the
// column maxima of |x| against `threshold`), x_in = x with the outlier
// columns zeroed, a per-token `dynamic_quantize` of x_in and a `qlinear`
// with the int8 weight (the generated tensor-core kernels), then
// + x_out·Woᵀ in float (loop kernels: the gathered outlier columns against
// the compact Wo, or x with the other columns zeroed against all of Wo).
//
//===----------------------------------------------------------------------===//

#include "GemmKernels.h"
#include "quant-xform/Conversion/QuantXformToLinalg/LinalgBuilders.h"
#include "quant-xform/Dialect/QuantXform/IR/QuantXformOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

using namespace mlir;
using namespace mlir::quant_xform;
using namespace mlir::quant_xform::lowering;

bool gpu_kernels::splitMixedLinear(MixedLinearOp op) {
  auto x = cast<RankedTensorType>(op.getInput().getType());
  auto w = cast<RankedTensorType>(op.getWeight().getType());
  auto y = cast<RankedTensorType>(op.getType());
  auto wi = dyn_cast<IntegerType>(w.getElementType());
  if (x.getRank() != 2 || !x.hasStaticShape() || !x.getElementType().isF32() ||
      !y.getElementType().isF32() || !wi || wi.getWidth() != 8 ||
      wi.isUnsigned() || x.getDimSize(1) % 4 != 0 ||
      cast<RankedTensorType>(op.getWeightScale().getType()).getRank() > 1 ||
      !cast<RankedTensorType>(op.getWeightScale().getType())
           .getElementType()
           .isF32() ||
      !cast<RankedTensorType>(op.getOutlierWeight().getType())
           .getElementType()
           .isF32())
    return false;
  OpBuilder b(op);
  Location loc = op.getLoc();
  MLIRContext *ctx = b.getContext();
  Type ft = x.getElementType();
  int64_t m = x.getDimSize(0), k = x.getDimSize(1);
  std::optional<ArrayRef<int64_t>> cols = op.getColumns();
  OutlierSplit split =
      splitOutlierColumns(b, loc, op.getInput(), m, k, cols,
                          cols ? 0.0 : op.getThreshold()->convertToDouble());
  // The int8 part: the GPU quantize and GEMM kernels.
  auto scheme = QuantSchemeAttr::get(ctx, Granularity::PerToken, 0, 8, true,
                                     llvm::APFloat(1.0));
  auto dq = DynamicQuantizeOp::create(
      b, loc, RankedTensorType::get({m, k}, w.getElementType()),
      RankedTensorType::get({m}, ft), Type(), split.inliers, scheme);
  Value result =
      QLinearOp::create(b, loc, y, dq.getResult(), dq.getScale(), Value(),
                        op.getWeight(), op.getWeightScale(), op.getBias());
  // + x_out·Woᵀ in float.
  result = matmulFloat(b, loc, split.outliers, op.getOutlierWeight(), result,
                       /*rhsKN=*/false);
  op.getResult().replaceAllUsesWith(result);
  op.erase();
  return true;
}
