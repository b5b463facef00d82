//===- W8A8Pipeline.cpp - the quant-xform-w8a8 named pipeline ------------===//
//
// From a float model to int8 IR: fold batch norms, sink residual
// rotations, calibrate, smooth,
// rotate, fold, split outliers, quantize. docs/generated/QuantXformPipelines.md
// lists the options; docs/DECISIONS.md explains the order.
//
//===----------------------------------------------------------------------===//

#include "quant-xform/Dialect/QuantXform/Transforms/Passes.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;
using namespace mlir::quant_xform;

namespace {

/// The `rotation` option of `quant-xform-w8a8`: none, or one of the
/// rotations of quant-xform-insert-transforms.
enum class Rotation { None, Hadamard, RandomOrthogonal, Pca };

/// The insert-transforms kind of a rotation other than none.
TransformKind rotationKind(Rotation rotation) {
  switch (rotation) {
  case Rotation::Hadamard:
    return TransformKind::Hadamard;
  case Rotation::RandomOrthogonal:
    return TransformKind::RandomOrthogonal;
  case Rotation::Pca:
  case Rotation::None:
    break;
  }
  return TransformKind::Pca;
}

/// Options of `quant-xform-w8a8`.
struct W8A8PipelineOptions : public PassPipelineOptions<W8A8PipelineOptions> {
  Option<Rotation> rotation{
      *this, "rotation", llvm::cl::desc("Rotation in front of every linear"),
      llvm::cl::init(Rotation::None),
      llvm::cl::values(
          clEnumValN(Rotation::None, "none", "no rotation"),
          clEnumValN(Rotation::Hadamard, "hadamard",
                     "a randomized Hadamard rotation"),
          clEnumValN(Rotation::RandomOrthogonal, "random-orthogonal",
                     "a Haar-random orthogonal rotation"),
          clEnumValN(Rotation::Pca, "pca",
                     "the activation's principal axes (calibrated)"))};
  Option<bool> residualRotation{
      *this, "residual-rotation",
      llvm::cl::desc("The functions read and write a rotated residual "
                     "stream (rotations on their arguments and results, "
                     "placed by the front end): fold the norms' γ into the "
                     "linears and sink those rotations into the weights "
                     "first (QuaRot)"),
      llvm::cl::init(false)};
  Option<double> smoothAlpha{
      *this, "smooth-alpha",
      llvm::cl::desc("SmoothQuant migration strength α in [0, 1]; negative "
                     "disables smoothing"),
      llvm::cl::init(-1.0)};
  Option<bool> smoothSearch{
      *this, "smooth-search",
      llvm::cl::desc("Smoothing with α chosen per activation by measured "
                     "W8A8 error (grid 0, 0.1, ..., 1)"),
      llvm::cl::init(false)};
  Option<bool> measure{
      *this, "measure",
      llvm::cl::desc("Keep sampled calibration rows in front of every "
                     "transform, so that each linear records the W8A8 "
                     "output SQNR without and with it (quant_xform.search; "
                     "one more calibration run per transform)"),
      llvm::cl::init(false)};
  Option<bool> affine{
      *this, "affine",
      llvm::cl::desc("AffineQuant: a learned affine per activation (from the "
                     "smoothing diagonal at smooth-alpha, 0.5 by default), "
                     "instead of smoothing"),
      llvm::cl::init(false)};
  Option<int64_t> affineEpochs{*this, "affine-epochs",
                               llvm::cl::desc("AffineQuant mask stages"),
                               llvm::cl::init(4)};
  Option<int64_t> affineSteps{
      *this, "affine-steps",
      llvm::cl::desc("AffineQuant gradient steps per stage"),
      llvm::cl::init(8)};
  ListOption<std::string> autoCandidates{
      *this, "auto",
      llvm::cl::desc("Per activation, the transform of least measured W8A8 "
                     "error among these (smooth, hadamard, pca, "
                     "learned-affine) or none; replaces smoothing and "
                     "rotation")};
  ListOption<std::string> transformRoles{
      *this, "transform-roles",
      llvm::cl::desc("Roles whose inputs get the smoothing, affine, auto or "
                     "rotation transforms (default: all)")};
  ListOption<std::string> rotationRoles{
      *this, "rotation-roles",
      llvm::cl::desc("Roles whose inputs get the rotation (default: "
                     "transform-roles)")};
  Option<int64_t> keepRows{
      *this, "keep-rows",
      llvm::cl::desc("Calibration rows kept per activation for the searches"),
      llvm::cl::init(512)};
  Option<OutlierSplit> outliers{
      *this, "outliers", llvm::cl::desc("LLM.int8() outlier split"),
      llvm::cl::init(OutlierSplit::None),
      llvm::cl::values(
          clEnumValN(OutlierSplit::None, "none", "no split"),
          clEnumValN(OutlierSplit::Static, "static",
                     "columns from calibration"),
          clEnumValN(OutlierSplit::Dynamic, "dynamic", "run-time threshold"))};
  Option<double> outlierThreshold{
      *this, "outlier-threshold",
      llvm::cl::desc("Outlier magnitude (LLM.int8(): 6.0)"),
      llvm::cl::init(6.0)};
  Option<Granularity> activationGranularity{
      *this, "activation-granularity", llvm::cl::desc("Activation scales"),
      llvm::cl::init(Granularity::PerToken),
      llvm::cl::values(clEnumValN(Granularity::PerToken, "per_token",
                                  "one scale per row (dynamic)"),
                       clEnumValN(Granularity::PerGroup, "per_group",
                                  "one scale per group-size inputs of a row "
                                  "(dynamic)"),
                       clEnumValN(Granularity::PerTensor, "per_tensor",
                                  "one scale for the tensor"))};
  Option<bool> staticActivations{
      *this, "static-activations",
      llvm::cl::desc("Per-tensor activation scales from calibration"),
      llvm::cl::init(false)};
  Option<calibration::RangeMethod> range{
      *this, "range", llvm::cl::desc("Static range chooser"),
      llvm::cl::init(calibration::RangeMethod::MinMax),
      llvm::cl::values(
          clEnumValN(calibration::RangeMethod::MinMax, "minmax",
                     "the calibrated minimum and maximum"),
          clEnumValN(calibration::RangeMethod::Percentile, "percentile",
                     "a percentile of |x| (calibration histograms)"),
          clEnumValN(calibration::RangeMethod::Mse, "mse",
                     "the clip of least quantization error"),
          clEnumValN(calibration::RangeMethod::Kl, "kl",
                     "the clip of least KL divergence"),
          clEnumValN(calibration::RangeMethod::Ema, "ema",
                     "the exponential moving average of the ranges"))};
  Option<double> percentile{*this, "percentile",
                            llvm::cl::desc("Percentile for range=percentile"),
                            llvm::cl::init(99.99)};
  Option<bool> asymmetric{
      *this, "asymmetric",
      llvm::cl::desc("Asymmetric uint8 activations with a zero point"),
      llvm::cl::init(false)};
  Option<Granularity> weightGranularity{
      *this, "weight-granularity", llvm::cl::desc("Weight scales"),
      llvm::cl::init(Granularity::PerChannel),
      llvm::cl::values(clEnumValN(Granularity::PerChannel, "per_channel",
                                  "one scale per output channel"),
                       clEnumValN(Granularity::PerGroup, "per_group",
                                  "one scale per group-size inputs"))};
  Option<int64_t> groupSize{*this, "group-size",
                            llvm::cl::desc("Group size for per_group"),
                            llvm::cl::init(128)};
  Option<int64_t> calibrationSamples{
      *this, "calibration-samples",
      llvm::cl::desc("Seeded random calibration samples (when no inputs)"),
      llvm::cl::init(4)};
  ListOption<std::string> calibrationInputs{
      *this, "calibration-inputs",
      llvm::cl::desc(".npy calibration inputs, one per function argument "
                     "(one more dimension: a stack of samples)")};
  Option<int64_t> calibrationRowMask{
      *this, "calibration-row-mask",
      llvm::cl::desc("Index of a 1-D argument whose zero entries mark rows "
                     "(padding tokens) that calibration ignores (-1: none)"),
      llvm::cl::init(-1)};
  Option<bool> calibrationRowMaskAdditive{
      *this, "calibration-row-mask-additive",
      llvm::cl::desc("The row mask is an additive attention bias (0 = keep)"),
      llvm::cl::init(false)};
  Option<bool> progress{*this, "progress",
                        llvm::cl::desc("Report calibration progress on "
                                       "stderr"),
                        llvm::cl::init(false)};
  Option<uint64_t> seed{*this, "seed",
                        llvm::cl::desc("Seed for calibration samples and "
                                       "randomized rotations"),
                        llvm::cl::init(0)};
};

/// Adds quant-xform-calibrate with the pipeline's calibration options.
/// With `forSearch`, it also keeps rows for the transform searches.
static void addCalibration(OpPassManager &pm,
                           const W8A8PipelineOptions &options,
                           bool forSearch = false) {
  CalibrateOptions calibrate;
  calibrate.samples = options.calibrationSamples;
  calibrate.progress = options.progress;
  calibrate.seed = options.seed;
  calibrate.outlierThreshold = options.outlierThreshold;
  calibrate.secondMoment = options.rotation == Rotation::Pca;
  calibrate.histogram = options.range != calibration::RangeMethod::MinMax &&
                        options.range != calibration::RangeMethod::Ema;
  calibrate.ema = options.range == calibration::RangeMethod::Ema;
  calibrate.keepRows = forSearch ? options.keepRows.getValue() : 0;
  calibrate.rowMask = options.calibrationRowMask;
  calibrate.rowMaskAdditive = options.calibrationRowMaskAdditive;
  if (llvm::is_contained(options.autoCandidates, "pca"))
    calibrate.secondMoment = true;
  calibrate.inputs.assign(options.calibrationInputs.begin(),
                          options.calibrationInputs.end());
  pm.addPass(createCalibrate(calibrate));
}

/// Inserts transforms of `kind` in front of every linear and folds them.
static void addTransform(OpPassManager &pm, TransformKind kind, double alpha,
                         const W8A8PipelineOptions &options,
                         ArrayRef<std::string> roles) {
  InsertTransformsOptions insert;
  insert.kind = kind;
  insert.alpha = alpha;
  insert.seed = options.seed;
  insert.alphaSearch = options.smoothSearch;
  insert.affineEpochs = options.affineEpochs;
  insert.affineSteps = options.affineSteps;
  insert.candidates.assign(options.autoCandidates.begin(),
                           options.autoCandidates.end());
  insert.roles.assign(roles.begin(), roles.end());
  insert.progress = options.progress;
  pm.addPass(createInsertTransforms(insert));
  pm.addPass(createFoldTransformsIntoLinears());
  pm.addPass(createFoldDiagonalsIntoNorms());
}

static void buildW8A8Pipeline(OpPassManager &pm,
                              const W8A8PipelineOptions &options) {
  double alpha = options.smoothAlpha >= 0.0 ? options.smoothAlpha : 0.5;
  // The input's constant transform matrices hold what their ops claim.
  pm.addPass(createCheckTransformMatrices());
  // Batch norms first: calibration then sees the linears' folded inputs.
  pm.addPass(createFoldBatchNorms());
  if (options.residualRotation) {
    pm.addPass(createFoldNormScalesIntoLinears());
    pm.addPass(createSinkRotations());
  }
  ArrayRef<std::string> roles = options.transformRoles;
  if (!options.autoCandidates.empty()) {
    addCalibration(pm, options, /*forSearch=*/true);
    addTransform(pm, TransformKind::Auto, alpha, options, roles);
  } else if (options.affine) {
    addCalibration(pm, options, /*forSearch=*/true);
    addTransform(pm, TransformKind::LearnedAffine, alpha, options, roles);
  } else if (options.smoothAlpha >= 0.0 || options.smoothSearch) {
    addCalibration(pm, options, options.smoothSearch || options.measure);
    addTransform(pm, TransformKind::Smooth, alpha, options, roles);
  }
  if (options.rotation != Rotation::None && options.autoCandidates.empty()) {
    if (options.rotation == Rotation::Pca || options.measure)
      addCalibration(pm, options, options.measure);
    ArrayRef<std::string> rotationRoles = options.rotationRoles;
    addTransform(pm, rotationKind(options.rotation), 0.5, options,
                 rotationRoles.empty() ? roles : rotationRoles);
  }
  pm.addPass(createMarkOnlineTransforms());
  bool split = options.outliers != OutlierSplit::None;
  if ((split && options.outliers != OutlierSplit::Dynamic) ||
      options.staticActivations)
    addCalibration(pm, options); // Statistics of the transformed inputs.
  if (split) {
    SplitOutliersOptions outliers;
    outliers.mode = options.outliers;
    outliers.threshold = options.outlierThreshold;
    pm.addPass(createSplitOutliers(outliers));
  }
  QuantizeLinearsOptions quantize;
  quantize.activationGranularity = options.activationGranularity;
  quantize.weightGranularity = options.weightGranularity;
  quantize.groupSize = options.groupSize;
  quantize.staticActivations = options.staticActivations;
  quantize.asymmetric = options.asymmetric;
  quantize.range = options.range;
  quantize.percentile = options.percentile;
  pm.addPass(createQuantizeLinears(quantize));
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

} // namespace

void mlir::quant_xform::registerW8A8Pipeline() {
  PassPipelineRegistration<W8A8PipelineOptions>(
      "quant-xform-w8a8",
      "Float model to W8A8 int8 IR: calibrate, smooth, rotate, fold, split "
      "outliers, quantize",
      buildW8A8Pipeline);
}
