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

#include "TransformCandidates.h"
#include "TransformUtils.h"
#include "quant-xform/Calibration/TransformSearch.h"
#include "quant-xform/Dialect/QuantXform/IR/QuantXformAttrNames.h"
#include "quant-xform/IO/Npy.h"

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

using Kind = TransformKind;

/// A kind of `candidates` (kind=auto): smooth, hadamard, pca or
/// learned-affine.
static std::optional<Kind> parseCandidate(StringRef name) {
  return llvm::StringSwitch<std::optional<Kind>>(name)
      .Case("hadamard", Kind::Hadamard)
      .Case("pca", Kind::Pca)
      .Case("smooth", Kind::Smooth)
      .Case("learned-affine", Kind::LearnedAffine)
      .Default(std::nullopt);
}

using Preset = TransformPreset;

/// A search's outcome for one layer's activation, reused where the same
/// layer appears again (a decoder layer's prefill, decode and calibration
/// functions read the same statistics by layer name): the learned affine
/// of one SmolLM2 layer took minutes, three times over.
struct SearchOutcome {
  std::vector<double> absMax; // the statistics it was searched on
  size_t readers = 0;
  DictionaryAttr record;
  bool none = false;
  Kind kind = Kind::Smooth;
  Preset preset;
};

/// Where one transform pair T, T⁻¹ is built: right after `input`, typed
/// like it, with diagnostics on the activation's first reader.
struct PairSite {
  PairSite(LinearOp first, Value input)
      : b(first.getContext()), loc(first.getLoc()), first(first), input(input),
        type(cast<RankedTensorType>(input.getType())),
        n(type.getShape().back()) {
    if (Operation *def = input.getDefiningOp())
      b.setInsertionPointAfter(def);
    else
      b.setInsertionPointToStart(cast<BlockArgument>(input).getOwner());
  }

  /// Transforms are folded into f32 / f64 weights only: folding them into
  /// bf16 / f16 weights would round the folded weights.
  LogicalResult unsupportedType() {
    return first.emitError()
           << "linear '" << getLayerName(first)
           << "': transforms with a matrix or scales are inserted on f32 "
              "or f64 activations only, got "
           << type.getElementType() << " (convert the model to f32 first)";
  }

  void rotation(RotationKind rk, Value matrix, DenseI64ArrayAttr perm,
                DenseI8ArrayAttr signs) {
    auto kindAttr = RotationKindAttr::get(b.getContext(), rk);
    FloatAttr tol = b.getF64FloatAttr(1e-4);
    forward = RotateOp::create(b, loc, type, kindAttr, input, matrix, perm,
                               signs, UnitAttr(), tol);
    inverse = RotateOp::create(b, loc, type, kindAttr, forward->getResult(0),
                               matrix, perm, signs, b.getUnitAttr(), tol);
  }

  LogicalResult denseRotation(const Matrix &q) {
    FailureOr<Value> c = makeFloatConstant(b, loc, squareType(), q.data());
    if (failed(c))
      return unsupportedType();
    rotation(RotationKind::Dense, *c, {}, {});
    return success();
  }

  LogicalResult affine(const Matrix &a) {
    FailureOr<Value> c = makeFloatConstant(b, loc, squareType(), a.data());
    if (failed(c))
      return unsupportedType();
    FloatAttr bound = b.getF64FloatAttr(1e6);
    forward =
        AffineOp::create(b, loc, type, input, *c, Value(), UnitAttr(), bound);
    inverse = AffineOp::create(b, loc, type, forward->getResult(0), *c, Value(),
                               b.getUnitAttr(), bound);
    return success();
  }

  LogicalResult smooth(ArrayRef<double> scales) {
    auto vectorType = RankedTensorType::get({n}, type.getElementType());
    FailureOr<Value> c = makeFloatConstant(b, loc, vectorType, scales);
    if (failed(c))
      return unsupportedType();
    forward = SmoothOp::create(b, loc, type, input, *c, Value(), UnitAttr());
    inverse = SmoothOp::create(b, loc, type, forward->getResult(0), *c, Value(),
                               b.getUnitAttr());
    return success();
  }

  RankedTensorType squareType() const {
    return RankedTensorType::get({n, n}, type.getElementType());
  }

  OpBuilder b;
  Location loc;
  LinearOp first;
  Value input;
  RankedTensorType type;
  int64_t n;
  Operation *forward = nullptr, *inverse = nullptr;
};

struct InsertTransforms
    : public quant_xform::impl::InsertTransformsBase<InsertTransforms> {
  using InsertTransformsBase::InsertTransformsBase;

  /// Outcomes by layer name and kind (this run of the pass).
  llvm::StringMap<SearchOutcome> outcomes;

  static constexpr StringLiteral kPass = "quant-xform-insert-transforms";

  void runOnOperation() override {
    ModuleOp module = getOperation();
    outcomes.clear();
    Kind chosen = kind; // the option's value
    if (failed(checkSearchOptions(module)))
      return signalPassFailure();
    if (!(alpha >= 0.0 && alpha <= 1.0)) {
      module.emitError() << kPass << ": alpha must be in [0, 1], got " << alpha;
      return signalPassFailure();
    }
    if ((chosen == Kind::Dense || chosen == Kind::Affine) &&
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
    int64_t done = 0;
    for (auto &[input, readers] : groups) {
      LogicalResult result = success();
      if (chosen == Kind::LearnedAffine || chosen == Kind::Auto ||
          (chosen == Kind::Smooth && alphaSearch))
        result = searchAndInsert(chosen, input, readers);
      else if (succeeded(result = insertPair(chosen, input, readers, {})))
        result = recordFixed(stringifyTransformKind(kind), readers);
      if (failed(result))
        return signalPassFailure();
      if (progress)
        llvm::errs() << kPass << ": " << ++done << "/" << groups.size()
                     << " activations (" << getLayerName(readers.front())
                     << ")\n";
    }
  }

  /// Checks the options of the searches.
  LogicalResult checkSearchOptions(ModuleOp module) {
    config = SearchConfig();
    std::vector<double> &grid = config.grid;
    grid.assign(alphaGrid.begin(), alphaGrid.end());
    if (grid.empty())
      for (int i = 0; i <= 10; ++i)
        grid.push_back(i / 10.0);
    for (double a : grid)
      if (!(a >= 0.0 && a <= 1.0))
        return module.emitError()
               << kPass << ": alpha-grid values must be in [0, 1], got " << a;
    config.alpha = alpha;
    config.alphaSearch = alphaSearch;
    config.affineMaxSize = affineMaxSize;
    calibration::AffineOptions &affineOptions = config.affine;
    affineOptions.epochs = affineEpochs;
    affineOptions.stepsPerEpoch = affineSteps;
    affineOptions.stepSize = affineStepSize;
    affineOptions.stability = affineStability;
    affineOptions.maxBand = affineBand;
    if (affineEpochs < 1 || affineEpochs > 1000 || affineSteps < 1 ||
        affineSteps > 100000)
      return module.emitError()
             << kPass << ": affine-epochs must be in [1, 1000] and "
             << "affine-steps in [1, 100000], got " << affineEpochs.getValue()
             << " and " << affineSteps.getValue();
    if (!(affineStepSize > 0.0 && affineStepSize <= 1.0))
      return module.emitError()
             << kPass << ": affine-step-size must be in (0, 1], got "
             << affineStepSize.getValue();
    if (!(affineStability >= 0.0 && affineStability <= 1.0))
      return module.emitError()
             << kPass << ": affine-stability must be in [0, 1], got "
             << affineStability.getValue();
    if (affineMaxSize < 1)
      return module.emitError()
             << kPass << ": affine-max-size must be >= 1, got "
             << affineMaxSize.getValue();
    if (affineBand < -1)
      return module.emitError() << kPass << ": affine-band must be >= -1, got "
                                << affineBand.getValue();
    SmallVector<std::string> names(candidates.begin(), candidates.end());
    if (names.empty())
      names = {"smooth", "hadamard"};
    for (const std::string &name : names) {
      std::optional<Kind> c = parseCandidate(name);
      if (!c)
        return module.emitError()
               << kPass << ": candidates must be smooth, hadamard, pca or "
               << "learned-affine, got '" << name << "'";
      config.candidates.push_back(*c);
    }
    return success();
  }

  /// The calibration data of the activation read by `readers`: the rows
  /// sampled in front of the first reader and every reader's weight (kept
  /// in `weights`).
  FailureOr<calibration::ActivationSamples>
  samplesFor(ArrayRef<LinearOp> readers, const LinearStats &stats,
             std::vector<Matrix> &weights) {
    LinearOp first = readers.front();
    if (!stats.sampledRows)
      return first.emitError() << "linear '" << getLayerName(first)
                               << "' has no sampled rows for the transform "
                                  "search; run quant-xform-calibrate with "
                                  "keep-rows=<n> first";
    weights.clear();
    weights.reserve(readers.size());
    for (LinearOp reader : readers)
      weights.push_back(*getConstantMatrix(reader.getWeight()));
    calibration::ActivationSamples data;
    data.rows = &*stats.sampledRows;
    for (const Matrix &w : weights)
      data.weights.push_back(&w);
    if (llvm::Error e = calibration::validateSamples(data))
      return first.emitError() << "linear '" << getLayerName(first)
                               << "': " << llvm::toString(std::move(e));
    return data;
  }

  /// Applies a stored outcome of the same layer's search to `readers`.
  LogicalResult applyOutcome(const SearchOutcome &o, Value input,
                             ArrayRef<LinearOp> readers) {
    for (LinearOp reader : readers)
      reader->setAttr(kSearchAttrName, o.record);
    return o.none ? success() : insertPair(o.kind, input, readers, o.preset);
  }

  /// Runs the search for `k` on the activation `input`, inserts the winner
  /// (if any) and records the choice on the readers.
  LogicalResult searchAndInsert(Kind k, Value input,
                                ArrayRef<LinearOp> readers) {
    LinearOp first = readers.front();
    FailureOr<LinearStats> stats = requireStats(first);
    if (failed(stats))
      return failure();
    std::vector<Matrix> weights;
    FailureOr<calibration::ActivationSamples> data =
        samplesFor(readers, *stats, weights);
    if (failed(data))
      return failure();
    int64_t n = data->rows->cols();
    if (static_cast<int64_t>(stats->absMax.size()) != n)
      return first.emitError() << "statistics have " << stats->absMax.size()
                               << " channels, the samples have " << n;
    std::string key = getLayerName(first);
    if (!key.empty())
      key += "/" + std::to_string(static_cast<int>(k));
    if (auto it = outcomes.find(key); !key.empty() && it != outcomes.end() &&
                                      it->second.absMax == stats->absMax &&
                                      it->second.readers == readers.size())
      return applyOutcome(it->second, input, readers);
    llvm::Expected<calibration::TransformError> before =
        calibration::measureIdentity(*data);
    if (!before)
      return first.emitError() << "linear '" << getLayerName(first)
                               << "': " << llvm::toString(before.takeError());
    CandidateSearch search(config, rng);
    FailureOr<TransformCandidate> best =
        search.best(SearchInput{first, *stats, *data, n}, k);
    if (failed(best))
      return failure();

    // Record the choice; auto keeps no transform when none helps.
    bool none = k == Kind::Auto && before->mse <= best->error.mse;
    SearchOutcome outcome{stats->absMax,
                          readers.size(),
                          searchRecord(&getContext(), *before, *best, none),
                          none,
                          best->kind,
                          best->preset};
    if (!key.empty())
      outcomes[key] = outcome;
    return applyOutcome(outcome, input, readers);
  }

  /// Records a requested (not searched) transform on its `readers` as
  /// `quant_xform.search = {transform = <kind>}`, with the W8A8 output SQNR
  /// without and with it when their statistics hold sampled rows and the
  /// transform is linear (x' = x·M, no offset): W' = W·M⁻ᵀ, where M⁻¹ is
  /// the matrix of the inverse inserted in front of the readers.
  LogicalResult recordFixed(StringRef kindName, ArrayRef<LinearOp> readers) {
    Builder b(&getContext());
    SmallVector<NamedAttribute> entries = {
        b.getNamedAttr("transform", b.getStringAttr(kindName))};
    if (kindName == "smooth")
      entries.push_back(b.getNamedAttr("alpha", b.getF64FloatAttr(alpha)));
    LinearOp first = readers.front();
    auto inverse = first.getInput().getDefiningOp<TransformOpInterface>();
    auto forward =
        inverse
            ? inverse.getTransformInput().getDefiningOp<TransformOpInterface>()
            : TransformOpInterface();
    std::optional<LinearStats> stats = getLinearStats(first);
    if (forward && stats && stats->sampledRows) {
      FailureOr<Matrix> m = forward.getAppliedMatrix();
      FailureOr<Matrix> mInv = inverse.getAppliedMatrix();
      FailureOr<Matrix> c = forward.getAppliedOffset();
      bool linear = succeeded(c) &&
                    llvm::all_of(c->data(), [](double v) { return v == 0.0; });
      std::vector<Matrix> weights;
      calibration::ActivationSamples data;
      data.rows = &*stats->sampledRows;
      for (LinearOp reader : readers)
        weights.push_back(*getConstantMatrix(reader.getWeight()));
      for (const Matrix &w : weights)
        data.weights.push_back(&w);
      if (succeeded(m) && succeeded(mInv) && linear &&
          !calibration::validateSamples(data).operator bool()) {
        llvm::Expected<calibration::TransformError> before =
            calibration::measureIdentity(data);
        llvm::Expected<calibration::TransformError> after =
            calibration::measureTransform(data, *m, mInv->transpose());
        if (before && after) {
          entries.push_back(
              b.getNamedAttr("sqnr_before", b.getF64FloatAttr(before->sqnrDb)));
          entries.push_back(
              b.getNamedAttr("sqnr_after", b.getF64FloatAttr(after->sqnrDb)));
        }
        if (!before)
          llvm::consumeError(before.takeError());
        if (!after)
          llvm::consumeError(after.takeError());
      }
    }
    for (LinearOp reader : readers)
      reader->setAttr(kSearchAttrName, composeRecord(reader, entries));
    return success();
  }

  /// `entries` as the reader's quant_xform.search, composed with what an
  /// earlier insertion recorded there (smoothing, then a rotation):
  /// transform "smooth+hadamard", the earlier `sqnr_before` (the input as it
  /// was before any transform) and `alpha`, the new `sqnr_after`.
  DictionaryAttr composeRecord(LinearOp reader,
                               ArrayRef<NamedAttribute> entries) {
    Builder b(&getContext());
    DictionaryAttr record = b.getDictionaryAttr(entries);
    auto earlier = reader->getAttrOfType<DictionaryAttr>(kSearchAttrName);
    auto earlierKind =
        earlier ? earlier.getAs<StringAttr>("transform") : StringAttr();
    if (!earlierKind || earlierKind.getValue() == "none")
      return record;
    NamedAttrList merged(record);
    merged.set(
        "transform",
        b.getStringAttr(earlierKind.getValue() + "+" +
                        record.getAs<StringAttr>("transform").getValue()));
    if (Attribute before = earlier.get("sqnr_before"))
      if (record.get("sqnr_after"))
        merged.set("sqnr_before", before);
    if (Attribute a = earlier.get("alpha"))
      merged.set("alpha", a);
    return merged.getDictionary(&getContext());
  }

  /// Reads `matrix-file` into `fileMatrix`.
  LogicalResult loadMatrix(ModuleOp module) {
    if (matrixFile.empty())
      return module.emitError()
             << kPass << ": kind=" << stringifyTransformKind(kind)
             << " needs matrix-file=<.npy>";
    llvm::Expected<io::Tensor> t = io::readNpy(matrixFile);
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

  /// Hadamard signs: the searched ones, or fresh random ones.
  SmallVector<int8_t> hadamardSigns(int64_t n, const Preset &preset) {
    if (preset.signs)
      return *preset.signs;
    SmallVector<int8_t> signs(n);
    for (int8_t &s : signs)
      s = (rng() & 1) ? 1 : -1;
    return signs;
  }

  /// A permutation: largest channels first when statistics exist (outliers
  /// end up next to each other, one group for per-group schemes), random
  /// otherwise.
  SmallVector<int64_t> channelPermutation(LinearOp first, int64_t n) {
    SmallVector<int64_t> perm(n);
    std::iota(perm.begin(), perm.end(), 0);
    if (std::optional<LinearStats> stats = getLinearStats(first)) {
      llvm::sort(perm.begin(), perm.end(), [&](int64_t a, int64_t c) {
        return stats->absMax[a] > stats->absMax[c] ||
               (stats->absMax[a] == stats->absMax[c] && a < c);
      });
    } else {
      std::shuffle(perm.begin(), perm.end(), rng);
    }
    return perm;
  }

  /// Fails with a diagnostic when `matrix` (matrix-file, or a searched
  /// affine) does not have the feature size's rows.
  LogicalResult checkFileMatrixSize(PairSite &site, const Matrix &matrix) {
    if (matrix.rows() == site.n)
      return success();
    return site.first.emitError()
           << "linear '" << getLayerName(site.first) << "': matrix-file is "
           << fileMatrix.rows() << "x" << fileMatrix.cols()
           << " but the feature size is " << site.n;
  }

  /// The rotation of matrix-file, checked against the feature size.
  LogicalResult fileRotation(PairSite &site) {
    if (failed(checkFileMatrixSize(site, fileMatrix)))
      return failure();
    OrthogonalityReport report = checkOrthogonal(fileMatrix);
    if (report.maxError > 1e-4)
      return site.first.emitError()
             << "matrix-file '" << matrixFile
             << "' is not orthogonal: max |Q·Qᵀ − I| = " << report.maxError;
    return site.denseRotation(fileMatrix);
  }

  /// The principal axes of the first reader's second moment.
  LogicalResult pcaRotation(PairSite &site) {
    std::optional<LinearStats> stats = getLinearStats(site.first);
    if (!stats || !stats->secondMoment)
      return site.first.emitError()
             << "linear '" << getLayerName(site.first)
             << "' has no second-moment statistics; run "
                "quant-xform-calibrate (second-moment=true) first";
    FailureOr<Matrix> axes = principalAxes(*stats->secondMoment);
    if (failed(axes))
      return site.first.emitError() << "linear '" << getLayerName(site.first)
                                    << "': the second moment is not a finite "
                                       "symmetric matrix";
    return site.denseRotation(*axes);
  }

  /// The learned affine of a search, or the one of matrix-file.
  LogicalResult affinePair(PairSite &site, const Preset &preset) {
    const Matrix &matrix = preset.affine ? *preset.affine : fileMatrix;
    if (failed(checkFileMatrixSize(site, matrix)))
      return failure();
    InvertibilityReport report = checkInvertible(matrix);
    if (!report.diagonallyDominant && !(report.condition <= 1e6))
      return site.first.emitError()
             << "matrix-file '" << matrixFile
             << "' is singular or ill-conditioned (condition number "
             << report.condition << " > 1e6)";
    return site.affine(matrix);
  }

  /// Inserts T and T⁻¹ after `input` and points `readers` at T⁻¹'s result.
  LogicalResult insertPair(Kind k, Value input, ArrayRef<LinearOp> readers,
                           const Preset &preset) {
    LinearOp first = readers.front();
    auto type = cast<RankedTensorType>(input.getType());
    if (type.isDynamicDim(type.getRank() - 1))
      return first.emitError() << "linear '" << getLayerName(first)
                               << "': the feature dimension must be static "
                                  "to insert a transform";
    PairSite site(first, input);
    int64_t n = site.n;
    LogicalResult built = success();
    switch (k) {
    case Kind::Hadamard:
      if (n % 2 != 0)
        return first.emitError()
               << "linear '" << getLayerName(first)
               << "': a Hadamard rotation needs an even feature size, got " << n
               << " (use kind=random-orthogonal)";
      site.rotation(RotationKind::Hadamard, Value(), {},
                    site.b.getDenseI8ArrayAttr(hadamardSigns(n, preset)));
      break;
    case Kind::RandomOrthogonal:
      built = site.denseRotation(randomOrthogonal(n, rng()));
      break;
    case Kind::Permutation:
      site.rotation(RotationKind::Permutation, Value(),
                    site.b.getDenseI64ArrayAttr(channelPermutation(first, n)),
                    {});
      break;
    case Kind::Dense:
      built = fileRotation(site);
      break;
    case Kind::Pca:
      built = pcaRotation(site);
      break;
    case Kind::Affine:
      built = affinePair(site, preset);
      break;
    case Kind::LearnedAffine:
    case Kind::Auto:
      llvm_unreachable("searched kinds are inserted as their result");
    case Kind::Smooth: {
      FailureOr<std::vector<double>> s =
          preset.scales ? FailureOr<std::vector<double>>(*preset.scales)
                        : smoothingScales(readers, n);
      built = failed(s) ? failure() : site.smooth(*s);
      break;
    }
    }
    if (failed(built))
      return failure();
    site.forward->setAttr(kPinnedAttrName, site.b.getUnitAttr());
    for (LinearOp reader : readers)
      reader.getInputMutable().assign(site.inverse->getResult(0));
    return success();
  }

  /// The calibration statistics of `first`; an error when it has none.
  FailureOr<LinearStats> requireStats(LinearOp first) {
    std::optional<LinearStats> stats = getLinearStats(first);
    if (!stats)
      return first.emitError() << "linear '" << getLayerName(first)
                               << "' has no calibration statistics; run "
                                  "quant-xform-calibrate first";
    return std::move(*stats);
  }

  /// SmoothQuant scales at the `alpha` option, with the weight maximum taken
  /// over every reader (calibration::smoothQuantScales).
  FailureOr<std::vector<double>> smoothingScales(ArrayRef<LinearOp> readers,
                                                 int64_t n) {
    LinearOp first = readers.front();
    FailureOr<LinearStats> stats = requireStats(first);
    if (failed(stats))
      return failure();
    if (static_cast<int64_t>(stats->absMax.size()) != n)
      return first.emitError() << "statistics have " << stats->absMax.size()
                               << " channels, the input has " << n;
    std::vector<Matrix> weights;
    for (LinearOp reader : readers)
      weights.push_back(*getConstantMatrix(reader.getWeight()));
    std::vector<const Matrix *> pointers;
    for (const Matrix &w : weights)
      pointers.push_back(&w);
    return calibration::smoothQuantScales(
        stats->absMax, calibration::weightColumnMax(pointers), alpha);
  }

  std::mt19937_64 rng;
  Matrix fileMatrix;
  SearchConfig config;
};

} // namespace

StringRef mlir::quant_xform::stringifyTransformKind(TransformKind kind) {
  switch (kind) {
  case TransformKind::Hadamard:
    return "hadamard";
  case TransformKind::RandomOrthogonal:
    return "random-orthogonal";
  case TransformKind::Permutation:
    return "permutation";
  case TransformKind::Dense:
    return "dense";
  case TransformKind::Pca:
    return "pca";
  case TransformKind::Affine:
    return "affine";
  case TransformKind::Smooth:
    return "smooth";
  case TransformKind::LearnedAffine:
    return "learned-affine";
  case TransformKind::Auto:
    return "auto";
  }
  llvm_unreachable("unknown transform kind");
}
