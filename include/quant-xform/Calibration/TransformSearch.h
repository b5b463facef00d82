//===- TransformSearch.h - choose transforms by measured W8A8 error -*- C++
//-*-===//
//
// Searches that pick an equivalence transform for one activation from
// calibration data: a sample of its rows X (R × K) and the float weights of
// every linear that reads it (Nᵢ × K). Each candidate transform is a pair
//
//   x' = x·F,   W' = W·G        (G = F⁻ᵀ, so x'·W'ᵀ = x·Wᵀ)
//
// and is scored by the W8A8 output error of the readers: activations
// quantized per token, weights per output channel, both symmetric int8 with
// 127 levels (the default scheme of quant-xform-quantize-linears):
//
//   err = Σᵢ ‖Q(x')·Q(Wᵢ')ᵀ − x·Wᵢᵀ‖² / Σᵢ R·Nᵢ,   SQNR = 10·log10(‖y‖² /
//   ‖err‖²)
//
// - searchSmoothAlpha: SmoothQuant's α by grid search (s = max|x|^α /
//   max|W|^(1−α); α = 0 scales by 1 / max|W|, α = 1 by max|x|).
// - learnAffine: AffineQuant. An invertible A (x' = x·A⁻¹, W' = W·Aᵀ),
//   initialized to a diagonal (SmoothQuant's scales), optimized by gradient
//   descent on the output error with straight-through rounding. A gradual
//   mask frees the diagonal first and widens a band around it each epoch;
//   off-diagonal entries move `stability` times slower. A step is taken only
//   when it lowers the measured (quantized) error and keeps A strictly
//   diagonally dominant, hence invertible (Levy–Desplanques); the error is
//   therefore monotonically non-increasing.
//
//===----------------------------------------------------------------------===//

#ifndef QUANT_XFORM_CALIBRATION_TRANSFORMSEARCH_H
#define QUANT_XFORM_CALIBRATION_TRANSFORMSEARCH_H

#include "quant-xform/Support/Matrix.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/Error.h"

#include <functional>
#include <vector>

namespace mlir::quant_xform::calibration {

/// Calibration data of one activation: sampled rows and its readers'
/// weights (not owned).
struct ActivationSamples {
  /// R × K sampled input rows.
  const Matrix *rows = nullptr;
  /// The float weight (Nᵢ × K) of every linear that reads the activation.
  std::vector<const Matrix *> weights;
};

/// The measured W8A8 output error of a transform.
struct TransformError {
  /// Mean squared error of the readers' outputs.
  double mse = 0.0;
  /// Signal-to-quantization-noise ratio of the outputs, in dB.
  double sqnrDb = 0.0;
};

/// Checks that `data` is usable: rows present, every weight K wide, all
/// values finite, at least one non-zero row. The error names the problem.
llvm::Error validateSamples(const ActivationSamples &data);

/// The W8A8 error with no transform.
llvm::Expected<TransformError> measureIdentity(const ActivationSamples &data);
/// The W8A8 error after x' = x·F, W' = W·G (both K × K).
llvm::Expected<TransformError> measureTransform(const ActivationSamples &data,
                                                const Matrix &f,
                                                const Matrix &g);
/// The W8A8 error after smoothing by `scales` (x' = x / s, W' = W·diag(s)).
llvm::Expected<TransformError> measureSmooth(const ActivationSamples &data,
                                             llvm::ArrayRef<double> scales);

/// SmoothQuant scales `s_j = absMax_j^α / wMax_j^(1−α)`, clamped to
/// [1e-5, 1e5]; channels where either maximum is zero keep 1.
std::vector<double> smoothQuantScales(llvm::ArrayRef<double> absMax,
                                      llvm::ArrayRef<double> wMax,
                                      double alpha);

/// Per input channel, max |W[:, j]| over all `weights`.
std::vector<double> weightColumnMax(llvm::ArrayRef<const Matrix *> weights);

/// The result of the α search.
struct SmoothSearchResult {
  double alpha = 0.5;
  std::vector<double> scales;
  TransformError error;
  /// (α, error) for every grid point, in grid order.
  std::vector<std::pair<double, TransformError>> tried;
};

/// Tries every α in `grid` (each in [0, 1]) with the activation maxima
/// `absMax` (all calibration rows, not only the sample) and keeps the one of
/// least error (the smallest α on ties).
llvm::Expected<SmoothSearchResult>
searchSmoothAlpha(const ActivationSamples &data, llvm::ArrayRef<double> absMax,
                  llvm::ArrayRef<double> grid);

/// Options of learnAffine.
struct AffineOptions {
  /// Mask stages; the band reaches `maxBand` in the last one.
  int64_t epochs = 5;
  /// Gradient steps per epoch.
  int64_t stepsPerEpoch = 10;
  /// Relative size of the first step: ‖ΔA‖ = stepSize·‖A‖.
  double stepSize = 1e-2;
  /// Factor on the off-diagonal gradient (AffineQuant's stability factor).
  double stability = 1e-2;
  /// Widest band |i − j| the mask opens (< 0: K − 1, the whole matrix).
  int64_t maxBand = -1;
};

/// The result of learnAffine.
struct AffineResult {
  /// The learned A (x' = x·A⁻¹, W' = W·Aᵀ).
  Matrix a;
  /// The error of the initial diagonal and of A.
  TransformError initial, final;
  /// The error after every accepted step (non-increasing), starting with
  /// the initial one.
  std::vector<double> history;
  /// Accepted steps.
  int64_t accepted = 0;
};

/// Learns A from `init` (the diagonal, each entry > 0). `progress`, when
/// set, is called after every epoch with (epoch, epochs, current mse).
llvm::Expected<AffineResult> learnAffine(
    const ActivationSamples &data, llvm::ArrayRef<double> init,
    const AffineOptions &options,
    const std::function<void(int64_t, int64_t, double)> &progress = nullptr);

} // namespace mlir::quant_xform::calibration

#endif
