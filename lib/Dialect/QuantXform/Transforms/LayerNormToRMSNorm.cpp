//===- LayerNormToRMSNorm.cpp - LayerNorm → RMSNorm by centering writers --===//
//
// LayerNorm(x) = RMSNorm(x − mean(x)): when every value of the residual
// stream a LayerNorm reads has zero mean per token, the LayerNorm is an
// RMSNorm, and an orthogonal rotation commutes with it.
//
// The residual stream of a LayerNorm is the set of values connected to its
// input through `arith.addf`. The pass centers every writer of that stream
// (an operand of one of its adds that is not itself an add):
//   - a linear read only there: W' = (I − 11ᵀ/N)·W, b' = b − mean(b);
//   - anything else (a function argument, a norm's output read elsewhere):
//     an online `x − mean(x)` on that edge (linalg reduce + broadcast).
// Centering changes the stream's values, so every reader of the stream must
// be invariant to a per-token mean: LayerNorms (all converted) or further
// adds. Any other reader (a return, a linear, an RMSNorm) blocks the
// conversion with a warning naming it; the IR is then left as it was.
//
//===----------------------------------------------------------------------===//

#include "quant-xform/Dialect/QuantXform/Transforms/Passes.h"

#include "TransformUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/ADT/SetVector.h"

namespace mlir::quant_xform {
#define GEN_PASS_DEF_LAYERNORMTORMSNORM
#include "quant-xform/Dialect/QuantXform/Transforms/Passes.h.inc"
} // namespace mlir::quant_xform

using namespace mlir;
using namespace mlir::quant_xform;

namespace {

/// The residual stream around one LayerNorm.
struct ResidualStream {
  llvm::SetVector<Value> values;
  /// Writers that are not adds: operands of the stream's adds.
  SmallVector<OpOperand *> writers;
  /// The stream's input when it is not an add result (its uses are all in
  /// the stream, checked).
  Value rootLeaf;
  llvm::SetVector<Operation *> norms;
  /// The first reader that is not invariant to the mean, if any.
  Operation *blocker = nullptr;
};

static ResidualStream collectStream(LayerNormOp start) {
  ResidualStream s;
  SmallVector<Value> worklist = {start.getInput()};
  while (!worklist.empty()) {
    Value v = worklist.pop_back_val();
    if (!s.values.insert(v))
      continue;
    if (auto add = v.getDefiningOp<arith::AddFOp>()) {
      for (OpOperand &operand : add->getOpOperands()) {
        if (operand.get().getDefiningOp<arith::AddFOp>())
          worklist.push_back(operand.get());
        else
          s.writers.push_back(&operand);
      }
    } else {
      s.rootLeaf = v;
    }
    for (OpOperand &use : v.getUses()) {
      Operation *user = use.getOwner();
      if (auto ln = dyn_cast<LayerNormOp>(user);
          ln && use.getOperandNumber() == 0) {
        s.norms.insert(ln);
      } else if (isa<arith::AddFOp>(user)) {
        worklist.push_back(user->getResult(0));
      } else if (!s.blocker) {
        s.blocker = user;
      }
    }
  }
  return s;
}

/// `x − mean(x)` over the last dimension of a rank-2 tensor, built with
/// linalg; failure for other ranks.
static FailureOr<Value> buildCentering(OpBuilder &b, Location loc, Value x) {
  auto type = dyn_cast<RankedTensorType>(x.getType());
  if (!type || type.getRank() != 2 || !type.hasStaticShape())
    return failure();
  Type elem = type.getElementType();
  int64_t m = type.getDimSize(0), k = type.getDimSize(1);
  auto rowType = RankedTensorType::get({m}, elem);
  Value zero = arith::ConstantOp::create(b, loc, b.getFloatAttr(elem, 0.0));
  Value init = tensor::EmptyOp::create(b, loc, rowType.getShape(), elem);
  Value acc = linalg::FillOp::create(b, loc, zero, init).getResult(0);
  auto reduce = linalg::ReduceOp::create(
      b, loc, ValueRange{x}, ValueRange{acc}, ArrayRef<int64_t>{1},
      [](OpBuilder &nb, Location nl, ValueRange args) {
        Value sum = arith::AddFOp::create(nb, nl, args[0], args[1]);
        linalg::YieldOp::create(nb, nl, sum);
      });
  FailureOr<Value> invK = makeFloatConstant(
      b, loc, rowType, std::vector<double>(m, 1.0 / static_cast<double>(k)));
  if (failed(invK))
    return failure();
  Value mean = arith::MulFOp::create(b, loc, reduce->getResult(0), *invK);
  Value full = tensor::EmptyOp::create(b, loc, type.getShape(), elem);
  Value wide =
      linalg::BroadcastOp::create(b, loc, mean, full, ArrayRef<int64_t>{1})
          ->getResult(0);
  return Value(arith::SubFOp::create(b, loc, x, wide));
}

/// Centers the outputs of a linear by its weights: W' = (I − 11ᵀ/N)·W,
/// b' = b − mean(b). Failure when the weights are not constants.
static LogicalResult centerLinear(LinearOp linear) {
  std::optional<Matrix> w = getConstantMatrix(linear.getWeight());
  if (!w)
    return failure();
  int64_t n = w->rows(), k = w->cols();
  std::vector<double> bias(n, 0.0);
  if (linear.getBias()) {
    std::optional<std::vector<double>> b = getConstantFloats(linear.getBias());
    if (!b)
      return failure();
    bias = *b;
  }
  for (int64_t j = 0; j < k; ++j) {
    double mean = 0.0;
    for (int64_t r = 0; r < n; ++r)
      mean += (*w)(r, j);
    mean /= n;
    for (int64_t r = 0; r < n; ++r)
      (*w)(r, j) -= mean;
  }
  double meanB = 0.0;
  for (double v : bias)
    meanB += v;
  meanB /= n;
  for (double &v : bias)
    v -= meanB;
  OpBuilder b(linear);
  auto wType = cast<RankedTensorType>(linear.getWeight().getType());
  FailureOr<Value> newW =
      makeFloatConstant(b, linear.getLoc(), wType, w->data());
  FailureOr<Value> newB = makeFloatConstant(
      b, linear.getLoc(), RankedTensorType::get({n}, wType.getElementType()),
      bias);
  if (failed(newW) || failed(newB))
    return failure();
  linear.getWeightMutable().assign(*newW);
  linear.getBiasMutable().assign(*newB);
  return success();
}

struct LayerNormToRMSNorm
    : public quant_xform::impl::LayerNormToRMSNormBase<LayerNormToRMSNorm> {
  void runOnOperation() override {
    SmallVector<LayerNormOp> norms;
    getOperation().walk([&](LayerNormOp op) { norms.push_back(op); });
    llvm::DenseSet<Operation *> done;
    for (LayerNormOp ln : norms) {
      if (done.contains(ln))
        continue;
      ResidualStream stream = collectStream(ln);
      for (Operation *norm : stream.norms)
        done.insert(norm);
      if (stream.blocker) {
        InFlightDiagnostic diag = ln.emitWarning()
                                  << "LayerNorm kept: its residual stream is "
                                     "also read by '"
                                  << stream.blocker->getName()
                                  << "', which is not invariant to the "
                                     "per-token mean";
        diag.attachNote(stream.blocker->getLoc()) << "that reader is here";
        continue;
      }
      if (failed(convert(stream)))
        return signalPassFailure();
    }
  }

  LogicalResult convert(ResidualStream &stream) {
    // Check every online centering can be built before changing anything.
    auto needsOnline = [](Value v) {
      auto linear = v.getDefiningOp<LinearOp>();
      return !linear || !v.hasOneUse() ||
             !getConstantMatrix(linear.getWeight()) ||
             (linear.getBias() && !getConstantFloats(linear.getBias()));
    };
    SmallVector<Value> leaves;
    for (OpOperand *w : stream.writers)
      leaves.push_back(w->get());
    if (stream.rootLeaf)
      leaves.push_back(stream.rootLeaf);
    for (Value v : leaves) {
      auto type = dyn_cast<RankedTensorType>(v.getType());
      if (needsOnline(v) &&
          (!type || type.getRank() != 2 || !type.hasStaticShape())) {
        stream.norms.front()->emitWarning()
            << "LayerNorm kept: centering a rank-" << type.getRank()
            << " writer online is not supported";
        return success();
      }
    }

    for (OpOperand *w : stream.writers) {
      Value v = w->get();
      if (v == stream.rootLeaf)
        continue; // Centered once below, for all its uses.
      if (!needsOnline(v) &&
          succeeded(centerLinear(v.getDefiningOp<LinearOp>())))
        continue;
      OpBuilder b(w->getOwner());
      FailureOr<Value> centered = buildCentering(b, v.getLoc(), v);
      if (failed(centered))
        return w->getOwner()->emitError() << "cannot center this writer";
      w->set(*centered);
    }
    if (Value root = stream.rootLeaf) {
      if (needsOnline(root) ||
          failed(centerLinear(root.getDefiningOp<LinearOp>()))) {
        // Every use of the root is in the stream (checked): all of them
        // read the centered value.
        SmallVector<OpOperand *> uses;
        for (OpOperand &use : root.getUses())
          uses.push_back(&use);
        OpBuilder b(&getContext());
        b.setInsertionPointAfterValue(root);
        FailureOr<Value> centered = buildCentering(b, root.getLoc(), root);
        if (failed(centered))
          return stream.norms.front()->emitError() << "cannot center input";
        for (OpOperand *use : uses)
          use->set(*centered);
      }
    }
    for (Operation *op : stream.norms) {
      auto ln = cast<LayerNormOp>(op);
      OpBuilder b(ln);
      auto rms =
          RMSNormOp::create(b, ln.getLoc(), ln.getType(), ln.getInput(),
                            ln.getGamma(), ln.getBeta(), ln.getEpsilonAttr());
      rms->setDiscardableAttrs(ln->getDiscardableAttrDictionary());
      ln.replaceAllUsesWith(rms.getResult());
      ln.erase();
    }
    return success();
  }
};

} // namespace
