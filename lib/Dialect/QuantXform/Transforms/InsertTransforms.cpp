//===- InsertTransforms.cpp - insert transform pairs in front of linears --===//
//
// For each activation `x` read by selected linears, inserts the identity pair
//
//   %t = T(x)   {quant_xform.pinned}   — what the quantizer will see
//   %u = T⁻¹(%t)                       — folded into the readers' weights
//
// and makes the selected readers read %u. The pair changes nothing; the
// fold passes then move T⁻¹ into the weights (W·Mᵀ, the weight-side twin)
// and T into a producing linear or norm where it can go.
//
//===----------------------------------------------------------------------===//

#include "quant-xform/Dialect/QuantXform/Transforms/Passes.h"

#include "TransformUtils.h"
#include "quant-xform/Dialect/QuantXform/IR/QuantXformAttrNames.h"
#include "quant-xform/Reference/Npy.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/bit.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

namespace mlir::quant_xform {
#define GEN_PASS_DEF_INSERTTRANSFORMS
#include "quant-xform/Dialect/QuantXform/Transforms/Passes.h.inc"
} // namespace mlir::quant_xform

using namespace mlir;
using namespace mlir::quant_xform;

namespace {

/// The transform kinds the pass can insert.
enum class Kind {
  Hadamard,
  RandomOrthogonal,
  Permutation,
  Dense,
  Pca,
  Affine,
  Smooth
};

static std::optional<Kind> parseKind(StringRef name) {
  return llvm::StringSwitch<std::optional<Kind>>(name)
      .Case("hadamard", Kind::Hadamard)
      .Case("random-orthogonal", Kind::RandomOrthogonal)
      .Case("permutation", Kind::Permutation)
      .Case("dense", Kind::Dense)
      .Case("pca", Kind::Pca)
      .Case("affine", Kind::Affine)
      .Case("smooth", Kind::Smooth)
      .Default(std::nullopt);
}

struct InsertTransforms
    : public quant_xform::impl::InsertTransformsBase<InsertTransforms> {
  using InsertTransformsBase::InsertTransformsBase;

  static constexpr StringLiteral kPass = "quant-xform-insert-transforms";

  void runOnOperation() override {
    ModuleOp module = getOperation();
    std::optional<Kind> parsed = parseKind(kind);
    if (!parsed) {
      module.emitError() << kPass << ": unknown kind '" << kind
                         << "' (expected hadamard, random-orthogonal, "
                            "permutation, dense, pca, affine or smooth)";
      return signalPassFailure();
    }
    if (!(alpha >= 0.0 && alpha <= 1.0)) {
      module.emitError() << kPass << ": alpha must be in [0, 1], got " << alpha;
      return signalPassFailure();
    }
    if ((*parsed == Kind::Dense || *parsed == Kind::Affine) &&
        failed(loadMatrix(module)))
      return signalPassFailure();
    FailureOr<LayerSelector> selector =
        LayerSelector::create(module, kPass, layers, roles);
    if (failed(selector))
      return signalPassFailure();

    // Selected linears, grouped by the activation they read: readers of one
    // activation share one transform.
    llvm::MapVector<Value, SmallVector<LinearOp>> groups;
    module.walk([&](LinearOp op) {
      if (!selector->selects(op))
        return;
      if (!getConstantMatrix(op.getWeight())) {
        op.emitWarning() << "linear '" << getLayerName(op)
                         << "' has a non-constant weight; no transform "
                            "inserted";
        return;
      }
      groups[op.getInput()].push_back(op);
    });

    rng.seed(seed);
    for (auto &[input, readers] : groups)
      if (failed(insertPair(*parsed, input, readers)))
        return signalPassFailure();
  }

  /// Reads `matrix-file` into `fileMatrix`.
  LogicalResult loadMatrix(ModuleOp module) {
    if (matrixFile.empty())
      return module.emitError()
             << kPass << ": kind=" << kind << " needs matrix-file=<.npy>";
    llvm::Expected<reference::Tensor> t = reference::readNpy(matrixFile);
    if (!t)
      return module.emitError()
             << kPass << ": cannot read matrix-file '" << matrixFile
             << "': " << llvm::toString(t.takeError());
    if (t->shape().size() != 2 || t->shape()[0] != t->shape()[1] ||
        !t->isFloat())
      return module.emitError() << kPass << ": matrix-file '" << matrixFile
                                << "' must hold a square float matrix";
    fileMatrix = Matrix(t->shape()[0], t->shape()[1]);
    for (int64_t i = 0, e = t->numElements(); i < e; ++i)
      fileMatrix(i / t->shape()[1], i % t->shape()[1]) = t->getFloat(i);
    if (!fileMatrix.allFinite())
      return module.emitError() << kPass << ": matrix-file '" << matrixFile
                                << "' holds NaN or Inf";
    return success();
  }

  /// Inserts T and T⁻¹ after `input` and points `readers` at T⁻¹'s result.
  LogicalResult insertPair(Kind k, Value input, ArrayRef<LinearOp> readers) {
    LinearOp first = readers.front();
    auto type = cast<RankedTensorType>(input.getType());
    if (type.isDynamicDim(type.getRank() - 1))
      return first.emitError() << "linear '" << getLayerName(first)
                               << "': the feature dimension must be static "
                                  "to insert a transform";
    int64_t n = type.getShape().back();
    MLIRContext *ctx = &getContext();
    OpBuilder b(ctx);
    if (Operation *def = input.getDefiningOp())
      b.setInsertionPointAfter(def);
    else
      b.setInsertionPointToStart(cast<BlockArgument>(input).getOwner());
    Location loc = first.getLoc();
    auto elem = type.getElementType();
    auto square = RankedTensorType::get({n, n}, elem);
    auto vector = RankedTensorType::get({n}, elem);
    Operation *forward = nullptr, *inverse = nullptr;

    auto rotation = [&](RotationKind rk, Value matrix, DenseI64ArrayAttr perm,
                        DenseI8ArrayAttr signs) {
      auto kindAttr = RotationKindAttr::get(ctx, rk);
      FloatAttr tol = b.getF64FloatAttr(1e-4);
      forward = RotateOp::create(b, loc, type, kindAttr, input, matrix, perm,
                                 signs, UnitAttr(), tol);
      inverse = RotateOp::create(b, loc, type, kindAttr, forward->getResult(0),
                                 matrix, perm, signs, b.getUnitAttr(), tol);
    };
    auto denseRotation = [&](const Matrix &q) -> LogicalResult {
      FailureOr<Value> c = makeFloatConstant(b, loc, square, q.data());
      if (failed(c))
        return first.emitError() << "unsupported element type " << elem;
      rotation(RotationKind::Dense, *c, {}, {});
      return success();
    };

    switch (k) {
    case Kind::Hadamard: {
      if (n % 2 != 0)
        return first.emitError()
               << "linear '" << getLayerName(first)
               << "': a Hadamard rotation needs an even feature size, got "
               << n << " (use kind=random-orthogonal)";
      SmallVector<int8_t> signs(n);
      for (int8_t &s : signs)
        s = (rng() & 1) ? 1 : -1;
      rotation(RotationKind::Hadamard, Value(), {},
               b.getDenseI8ArrayAttr(signs));
      break;
    }
    case Kind::RandomOrthogonal:
      if (failed(denseRotation(randomOrthogonal(n, rng()))))
        return failure();
      break;
    case Kind::Permutation: {
      SmallVector<int64_t> perm(n);
      std::iota(perm.begin(), perm.end(), 0);
      if (std::optional<LinearStats> stats = getLinearStats(first)) {
        // Largest channels first: outliers end up next to each other (one
        // group for per-group schemes).
        llvm::sort(perm.begin(), perm.end(), [&](int64_t a, int64_t c) {
          return stats->absMax[a] > stats->absMax[c] ||
                 (stats->absMax[a] == stats->absMax[c] && a < c);
        });
      } else {
        std::shuffle(perm.begin(), perm.end(), rng);
      }
      rotation(RotationKind::Permutation, Value(), b.getDenseI64ArrayAttr(perm),
               {});
      break;
    }
    case Kind::Dense: {
      if (fileMatrix.rows() != n)
        return first.emitError()
               << "linear '" << getLayerName(first) << "': matrix-file is "
               << fileMatrix.rows() << "x" << fileMatrix.cols()
               << " but the feature size is " << n;
      OrthogonalityReport report = checkOrthogonal(fileMatrix);
      if (report.maxError > 1e-4)
        return first.emitError()
               << "matrix-file '" << matrixFile
               << "' is not orthogonal: max |Q·Qᵀ − I| = " << report.maxError;
      if (failed(denseRotation(fileMatrix)))
        return failure();
      break;
    }
    case Kind::Pca: {
      std::optional<LinearStats> stats = getLinearStats(first);
      if (!stats || !stats->secondMoment)
        return first.emitError()
               << "linear '" << getLayerName(first)
               << "' has no second-moment statistics; run "
                  "quant-xform-calibrate (second-moment=true) first";
      FailureOr<Matrix> axes = principalAxes(*stats->secondMoment);
      if (failed(axes))
        return first.emitError() << "linear '" << getLayerName(first)
                                 << "': the second moment is not a finite "
                                    "symmetric matrix";
      if (failed(denseRotation(*axes)))
        return failure();
      break;
    }
    case Kind::Affine: {
      if (fileMatrix.rows() != n)
        return first.emitError()
               << "linear '" << getLayerName(first) << "': matrix-file is "
               << fileMatrix.rows() << "x" << fileMatrix.cols()
               << " but the feature size is " << n;
      InvertibilityReport report = checkInvertible(fileMatrix);
      if (!report.diagonallyDominant && !(report.condition <= 1e6))
        return first.emitError()
               << "matrix-file '" << matrixFile
               << "' is singular or ill-conditioned (condition number "
               << report.condition << " > 1e6)";
      FailureOr<Value> a = makeFloatConstant(b, loc, square, fileMatrix.data());
      if (failed(a))
        return first.emitError() << "unsupported element type " << elem;
      FloatAttr bound = b.getF64FloatAttr(1e6);
      forward =
          AffineOp::create(b, loc, type, input, *a, Value(), UnitAttr(), bound);
      inverse = AffineOp::create(b, loc, type, forward->getResult(0), *a,
                                 Value(), b.getUnitAttr(), bound);
      break;
    }
    case Kind::Smooth: {
      FailureOr<std::vector<double>> s = smoothingScales(readers, n);
      if (failed(s))
        return failure();
      FailureOr<Value> c = makeFloatConstant(b, loc, vector, *s);
      if (failed(c))
        return first.emitError() << "unsupported element type " << elem;
      forward = SmoothOp::create(b, loc, type, input, *c, Value(), UnitAttr());
      inverse = SmoothOp::create(b, loc, type, forward->getResult(0), *c,
                                 Value(), b.getUnitAttr());
      break;
    }
    }
    forward->setAttr(kPinnedAttrName, b.getUnitAttr());
    for (LinearOp reader : readers)
      reader.getInputMutable().assign(inverse->getResult(0));
    return success();
  }

  /// SmoothQuant scales `s_j = max|x_j|^α / max|W_j|^(1−α)`, with the weight
  /// maximum taken over every reader; channels with a zero maximum keep 1.
  FailureOr<std::vector<double>> smoothingScales(ArrayRef<LinearOp> readers,
                                                 int64_t n) {
    LinearOp first = readers.front();
    std::optional<LinearStats> stats = getLinearStats(first);
    if (!stats)
      return first.emitError() << "linear '" << getLayerName(first)
                               << "' has no calibration statistics; run "
                                  "quant-xform-calibrate first";
    if (static_cast<int64_t>(stats->absMax.size()) != n)
      return first.emitError() << "statistics have " << stats->absMax.size()
                               << " channels, the input has " << n;
    std::vector<double> wMax(n, 0.0);
    for (LinearOp reader : readers) {
      Matrix w = *getConstantMatrix(reader.getWeight());
      for (int64_t r = 0; r < w.rows(); ++r)
        for (int64_t j = 0; j < n; ++j)
          wMax[j] = std::max(wMax[j], std::fabs(w(r, j)));
    }
    std::vector<double> s(n, 1.0);
    for (int64_t j = 0; j < n; ++j) {
      if (stats->absMax[j] <= 0.0 || wMax[j] <= 0.0)
        continue;
      double v = std::pow(stats->absMax[j], alpha.getValue()) /
                 std::pow(wMax[j], 1.0 - alpha.getValue());
      s[j] = std::clamp(v, 1e-5, 1e5);
    }
    return s;
  }

  std::mt19937_64 rng;
  Matrix fileMatrix;
};

} // namespace
