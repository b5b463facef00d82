//===- TransformCandidates.h - the candidates of a transform search -*- C++
//-*-===//
//
// What quant-xform-insert-transforms searches for one activation: SmoothQuant
// scales (fixed α or α grid), AffineQuant's learned affine, a randomized
// Hadamard or the PCA rotation; each candidate measured by the W8A8 error
// of the activation's readers on the calibration rows, the lowest kept.
//
//===----------------------------------------------------------------------===//

#ifndef QUANT_XFORM_LIB_TRANSFORMS_TRANSFORMCANDIDATES_H
#define QUANT_XFORM_LIB_TRANSFORMS_TRANSFORMCANDIDATES_H

#include "TransformUtils.h"
#include "quant-xform/Calibration/TransformSearch.h"
#include "quant-xform/Dialect/QuantXform/Transforms/Passes.h"

#include <optional>
#include <random>
#include <vector>

namespace mlir::quant_xform {

/// What a search settled on for one activation, handed to the insertion.
struct TransformPreset {
  /// Smoothing scales (TransformKind::Smooth).
  std::optional<std::vector<double>> scales;
  /// The affine matrix A (TransformKind::Affine).
  std::optional<Matrix> affine;
  /// Hadamard signs (TransformKind::Hadamard).
  std::optional<SmallVector<int8_t>> signs;
};

/// One candidate of a search: its kind, preset, error and α (when
/// smoothing).
struct TransformCandidate {
  TransformKind kind;
  TransformPreset preset;
  calibration::TransformError error;
  std::optional<double> alpha;
};

/// What the candidates of one activation's search read.
struct SearchInput {
  mutable LinearOp first; // the first reader (diagnostics, layer name)
  const LinearStats &stats;
  const calibration::ActivationSamples &data;
  int64_t n; // features
};

/// The options of the searches (quant-xform-insert-transforms).
struct SearchConfig {
  std::vector<double> grid; // α grid of the SmoothQuant search
  double alpha = 0.5;       // the fixed α
  bool alphaSearch = false; // the affine starts from the searched α
  int64_t affineMaxSize = 1024;
  calibration::AffineOptions affine;
  SmallVector<TransformKind> candidates; // kind=auto
};

/// Runs a search's candidates on one activation; diagnostics go to the
/// activation's first reader.
class CandidateSearch {
public:
  CandidateSearch(const SearchConfig &config, std::mt19937_64 &rng)
      : config(config), rng(rng) {}

  /// The candidate of the lowest error for kind `k` (Smooth: the α grid,
  /// LearnedAffine, or Auto: among the configured candidates).
  FailureOr<TransformCandidate> best(const SearchInput &in, TransformKind k);

  /// SmoothQuant's scales: searched over the α grid, or at the fixed α.
  FailureOr<TransformCandidate> smooth(const SearchInput &in, bool search);
  /// AffineQuant's learned affine, started from the smoothing diagonal
  /// (kept, with a warning, where the activation is too wide or the result
  /// not strictly diagonally dominant).
  FailureOr<TransformCandidate> affine(const SearchInput &in);
  /// A randomized Hadamard or the principal axes of the second moment.
  FailureOr<TransformCandidate> rotation(const SearchInput &in,
                                         TransformKind kind);

private:
  const SearchConfig &config;
  std::mt19937_64 &rng;
};

/// `quant_xform.search = {transform, sqnr_before, sqnr_after[, alpha]}` for
/// the chosen candidate (`none`: no transform kept).
DictionaryAttr searchRecord(MLIRContext *ctx,
                            const calibration::TransformError &before,
                            const TransformCandidate &best, bool none);

} // namespace mlir::quant_xform

#endif // QUANT_XFORM_LIB_TRANSFORMS_TRANSFORMCANDIDATES_H
