//===- TransformCandidates.cpp - the candidates of a transform search -----===//
//
// SmoothQuant, AffineQuant, Hadamard and PCA candidates for one activation,
// measured on its calibration rows (lib/Calibration/TransformSearch.cpp).
//
//===----------------------------------------------------------------------===//

#include "TransformCandidates.h"

using namespace mlir;
using namespace mlir::quant_xform;

using Kind = TransformKind;

/// The error `e` of a search, on the activation's first reader.
static LogicalResult searchFailed(const SearchInput &in, llvm::Error e) {
  return in.first.emitError() << "linear '" << getLayerName(in.first)
                              << "': " << llvm::toString(std::move(e));
}

FailureOr<TransformCandidate> CandidateSearch::smooth(const SearchInput &in,
                                                      bool search) {
  TransformCandidate c{Kind::Smooth, {}, {}, {}};
  if (search) {
    auto r =
        calibration::searchSmoothAlpha(in.data, in.stats.absMax, config.grid);
    if (!r)
      return searchFailed(in, r.takeError());
    c.alpha = r->alpha;
    c.preset.scales = r->scales;
    c.error = r->error;
    return c;
  }
  std::vector<double> s = calibration::smoothQuantScales(
      in.stats.absMax, calibration::weightColumnMax(in.data.weights),
      config.alpha);
  auto e = calibration::measureSmooth(in.data, s);
  if (!e)
    return searchFailed(in, e.takeError());
  c.alpha = config.alpha;
  c.preset.scales = std::move(s);
  c.error = *e;
  return c;
}

FailureOr<TransformCandidate> CandidateSearch::affine(const SearchInput &in) {
  FailureOr<TransformCandidate> init = smooth(in, config.alphaSearch);
  if (failed(init))
    return failure();
  std::string layer = getLayerName(in.first);
  if (in.n > config.affineMaxSize) {
    in.first.emitWarning() << "linear '" << layer << "': " << in.n
                           << " features exceed affine-max-size="
                           << config.affineMaxSize
                           << "; keeping the smoothing diagonal";
    return init;
  }
  auto r =
      calibration::learnAffine(in.data, *init->preset.scales, config.affine);
  if (!r)
    return searchFailed(in, r.takeError());
  if (!checkInvertible(r->a).diagonallyDominant) {
    in.first.emitWarning() << "linear '" << layer
                           << "': the learned affine is not strictly "
                              "diagonally dominant; keeping the smoothing "
                              "diagonal";
    return init;
  }
  TransformCandidate c{Kind::Affine, {}, r->final, init->alpha};
  c.preset.affine = std::move(r->a);
  return c;
}

FailureOr<TransformCandidate> CandidateSearch::rotation(const SearchInput &in,
                                                        Kind kind) {
  TransformCandidate c{kind, {}, {}, {}};
  std::string layer = getLayerName(in.first);
  Matrix q;
  if (kind == Kind::Hadamard) {
    if (in.n % 2 != 0)
      return in.first.emitError()
             << "linear '" << layer
             << "': a Hadamard rotation needs an even feature size, got "
             << in.n;
    SmallVector<int8_t> signs(in.n);
    for (int8_t &s : signs)
      s = (rng() & 1) ? 1 : -1;
    q = Matrix::hadamard(in.n, signs);
    c.preset.signs = std::move(signs);
  } else {
    if (!in.stats.secondMoment)
      return in.first.emitError()
             << "linear '" << layer
             << "' has no second-moment statistics for the pca candidate";
    FailureOr<Matrix> axes = principalAxes(*in.stats.secondMoment);
    if (failed(axes))
      return in.first.emitError() << "linear '" << layer
                                  << "': the second moment is not a finite "
                                     "symmetric matrix";
    q = std::move(*axes);
  }
  auto e = calibration::measureTransform(in.data, q, q);
  if (!e)
    return searchFailed(in, e.takeError());
  c.error = *e;
  return c;
}

FailureOr<TransformCandidate> CandidateSearch::best(const SearchInput &in,
                                                    Kind k) {
  if (k == Kind::Smooth)
    return smooth(in, /*search=*/true);
  if (k == Kind::LearnedAffine)
    return affine(in);
  std::optional<TransformCandidate> best;
  for (Kind c : config.candidates) {
    FailureOr<TransformCandidate> cand = c == Kind::Smooth ? smooth(in, true)
                                         : c == Kind::LearnedAffine
                                             ? affine(in)
                                             : rotation(in, c);
    if (failed(cand))
      return failure();
    if (!best || cand->error.mse < best->error.mse)
      best = std::move(*cand);
  }
  if (!best)
    return in.first.emitError() << "no search candidates";
  return std::move(*best);
}

DictionaryAttr
mlir::quant_xform::searchRecord(MLIRContext *ctx,
                                const calibration::TransformError &before,
                                const TransformCandidate &best, bool none) {
  Builder b(ctx);
  StringRef name = none                          ? "none"
                   : best.kind == Kind::Smooth   ? "smooth"
                   : best.kind == Kind::Affine   ? "learned-affine"
                   : best.kind == Kind::Hadamard ? "hadamard"
                                                 : "pca";
  SmallVector<NamedAttribute> entries = {
      b.getNamedAttr("transform", b.getStringAttr(name)),
      b.getNamedAttr("sqnr_before", b.getF64FloatAttr(before.sqnrDb)),
      b.getNamedAttr(
          "sqnr_after",
          b.getF64FloatAttr(none ? before.sqnrDb : best.error.sqnrDb))};
  if (!none && best.alpha)
    entries.push_back(b.getNamedAttr("alpha", b.getF64FloatAttr(*best.alpha)));
  return b.getDictionaryAttr(entries);
}
