//===- TransformSearchTest.cpp - SmoothQuant alpha and AffineQuant -------===//
//
// Closed-form SmoothQuant scales (α = 0 and α = 1), the α search keeping the
// grid's best point, the affine optimizer lowering the W8A8 error
// monotonically while its matrix stays strictly diagonally dominant, the
// gradual mask, and the errors on degenerate data.
//
//===----------------------------------------------------------------------===//

#include "quant-xform/Calibration/TransformSearch.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

using namespace mlir::quant_xform;
using namespace mlir::quant_xform::calibration;

namespace {

/// Gaussian data with a few large "outlier" channels, as in LLM
/// activations, and Gaussian weights.
struct Data {
  Matrix x, w1, w2;
  ActivationSamples samples;

  Data(int64_t rows, int64_t k, int64_t n, uint64_t seed = 1)
      : x(rows, k), w1(n, k), w2(n / 2, k) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> normal;
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < k; ++c)
        x(r, c) = normal(rng) * (c % 7 == 3 ? 40.0 : 1.0);
    for (Matrix *w : {&w1, &w2})
      for (double &v : w->data())
        v = normal(rng) * 0.1;
    samples.rows = &x;
    samples.weights = {&w1, &w2};
  }

  std::vector<double> absMax() const {
    std::vector<double> m(x.cols(), 0.0);
    for (int64_t r = 0; r < x.rows(); ++r)
      for (int64_t c = 0; c < x.cols(); ++c)
        m[c] = std::max(m[c], std::fabs(x(r, c)));
    return m;
  }
};

template <typename T> T get(llvm::Expected<T> v) {
  if (!v) {
    ADD_FAILURE() << llvm::toString(v.takeError());
    return T();
  }
  return std::move(*v);
}

template <typename T> std::string errorOf(llvm::Expected<T> v) {
  if (v)
    return "";
  return llvm::toString(v.takeError());
}

/// The W8A8 error of `x · wᵀ` computed the plain way, in double.
double plainIdentityMse(const Matrix &x, llvm::ArrayRef<const Matrix *> ws) {
  auto quantize = [](const Matrix &m) {
    Matrix q(m.rows(), m.cols());
    for (int64_t r = 0; r < m.rows(); ++r) {
      double mx = 0.0;
      for (int64_t c = 0; c < m.cols(); ++c)
        mx = std::max(mx, std::fabs(m(r, c)));
      double s = mx / 127.0;
      for (int64_t c = 0; c < m.cols(); ++c)
        q(r, c) = mx > 0.0 ? std::nearbyint(m(r, c) / s) * s : 0.0;
    }
    return q;
  };
  Matrix qx = quantize(x);
  double noise = 0.0, count = 0.0;
  for (const Matrix *w : ws) {
    Matrix qw = quantize(*w);
    for (int64_t r = 0; r < x.rows(); ++r)
      for (int64_t n = 0; n < w->rows(); ++n) {
        double q = 0.0, y = 0.0;
        for (int64_t c = 0; c < x.cols(); ++c) {
          q += qx(r, c) * qw(n, c);
          y += x(r, c) * (*w)(n, c);
        }
        noise += (q - y) * (q - y);
        count += 1.0;
      }
  }
  return noise / count;
}

// The searches multiply int8 levels in single precision: exact up to
// K · 127² < 2²⁴, so the error equals the one computed in double.
TEST(TransformSearchTest, FloatLevelProductsGiveTheDoubleError) {
  for (int64_t k : {24, 1000}) {
    Data d(40, k, 12, /*seed=*/k);
    double plain = plainIdentityMse(d.x, d.samples.weights);
    EXPECT_NEAR(get(measureIdentity(d.samples)).mse, plain, 1e-12 * plain)
        << "K = " << k;
  }
}

TEST(TransformSearchTest, SmoothQuantScalesAtTheEnds) {
  std::vector<double> absMax = {4.0, 0.5, 0.0, 9.0};
  std::vector<double> wMax = {0.25, 2.0, 1.0, 0.0};
  // α = 0: s = 1 / max|W| (all difficulty moved to the activations).
  std::vector<double> s0 = smoothQuantScales(absMax, wMax, 0.0);
  EXPECT_DOUBLE_EQ(s0[0], 4.0);
  EXPECT_DOUBLE_EQ(s0[1], 0.5);
  // α = 1: s = max|x| (all difficulty moved to the weights).
  std::vector<double> s1 = smoothQuantScales(absMax, wMax, 1.0);
  EXPECT_DOUBLE_EQ(s1[0], 4.0);
  EXPECT_DOUBLE_EQ(s1[1], 0.5);
  // α = 0.5: sqrt(max|x| / max|W|).
  EXPECT_DOUBLE_EQ(smoothQuantScales(absMax, wMax, 0.5)[0], 4.0);
  EXPECT_DOUBLE_EQ(smoothQuantScales(absMax, wMax, 0.5)[1], 0.5);
  // A zero maximum on either side keeps the channel as it is.
  EXPECT_EQ(s0[2], 1.0);
  EXPECT_EQ(s1[3], 1.0);
}

TEST(TransformSearchTest, IdentityTransformsMeasureLikeNoTransform) {
  Data d(32, 16, 8);
  TransformError none = get(measureIdentity(d.samples));
  Matrix id = Matrix::identity(16);
  TransformError same = get(measureTransform(d.samples, id, id));
  TransformError ones =
      get(measureSmooth(d.samples, std::vector<double>(16, 1.0)));
  EXPECT_GT(none.mse, 0.0);
  EXPECT_DOUBLE_EQ(same.mse, none.mse);
  EXPECT_DOUBLE_EQ(ones.mse, none.mse);
  EXPECT_TRUE(std::isfinite(none.sqnrDb));
}

TEST(TransformSearchTest, RotationSpreadsOutliers) {
  Data d(64, 32, 16);
  TransformError none = get(measureIdentity(d.samples));
  Matrix h = Matrix::hadamard(32);
  TransformError rotated = get(measureTransform(d.samples, h, h));
  EXPECT_LT(rotated.mse, none.mse);
  EXPECT_GT(rotated.sqnrDb, none.sqnrDb);
}

TEST(TransformSearchTest, AlphaSearchKeepsTheBestGridPoint) {
  Data d(64, 32, 16);
  std::vector<double> grid = {0.0, 0.25, 0.5, 0.75, 1.0};
  SmoothSearchResult r = get(searchSmoothAlpha(d.samples, d.absMax(), grid));
  ASSERT_EQ(r.tried.size(), grid.size());
  for (const auto &[alpha, err] : r.tried)
    EXPECT_LE(r.error.mse, err.mse) << "alpha " << alpha;
  EXPECT_TRUE(llvm::is_contained(grid, r.alpha));
  // With outlier channels some smoothing beats none.
  EXPECT_LT(r.error.mse, get(measureIdentity(d.samples)).mse);
  // The scales are those of the chosen alpha.
  EXPECT_EQ(r.scales,
            smoothQuantScales(d.absMax(), weightColumnMax(d.samples.weights),
                              r.alpha));
}

TEST(TransformSearchTest, AffineLowersTheErrorMonotonicallyAndStaysInvertible) {
  Data d(96, 24, 20);
  std::vector<double> init =
      smoothQuantScales(d.absMax(), weightColumnMax(d.samples.weights), 0.5);
  AffineOptions options;
  options.epochs = 4;
  options.stepsPerEpoch = 6;
  int64_t epochsReported = 0;
  AffineResult r = get(learnAffine(
      d.samples, init, options, [&](int64_t epoch, int64_t epochs, double mse) {
        EXPECT_EQ(epochs, 4);
        EXPECT_EQ(epoch, ++epochsReported);
        EXPECT_TRUE(std::isfinite(mse));
      }));
  EXPECT_EQ(epochsReported, 4);
  ASSERT_FALSE(r.history.empty());
  for (size_t i = 1; i < r.history.size(); ++i)
    EXPECT_LT(r.history[i], r.history[i - 1]) << "step " << i;
  EXPECT_GT(r.accepted, 0);
  EXPECT_LT(r.final.mse, r.initial.mse);
  EXPECT_DOUBLE_EQ(r.initial.mse, get(measureSmooth(d.samples, init)).mse);
  // Strictly diagonally dominant, hence invertible, and the error it
  // reports is the error of x·A⁻¹, W·Aᵀ.
  EXPECT_TRUE(checkInvertible(r.a).diagonallyDominant);
  mlir::FailureOr<Matrix> inverse = invert(r.a);
  ASSERT_TRUE(mlir::succeeded(inverse));
  TransformError check =
      get(measureTransform(d.samples, *inverse, r.a.transpose()));
  EXPECT_NEAR(check.mse, r.final.mse, 1e-9 * r.initial.mse);
  // The mask opened off-diagonal entries.
  double off = 0.0;
  for (int64_t i = 0; i < 24; ++i)
    for (int64_t j = 0; j < 24; ++j)
      if (i != j)
        off += std::fabs(r.a(i, j));
  EXPECT_GT(off, 0.0);
}

TEST(TransformSearchTest, AffineMaskOfBandZeroKeepsADiagonal) {
  Data d(64, 16, 12);
  std::vector<double> init(16, 1.0);
  AffineOptions options;
  options.maxBand = 0;
  options.epochs = 2;
  options.stepsPerEpoch = 5;
  AffineResult r = get(learnAffine(d.samples, init, options));
  for (int64_t i = 0; i < 16; ++i)
    for (int64_t j = 0; j < 16; ++j)
      if (i != j)
        EXPECT_EQ(r.a(i, j), 0.0);
  EXPECT_LE(r.final.mse, r.initial.mse);
}

TEST(TransformSearchTest, DegenerateDataIsAnError) {
  Data d(16, 8, 4);
  std::vector<double> init(8, 1.0);
  ActivationSamples empty;
  empty.weights = {&d.w1};
  EXPECT_NE(errorOf(measureIdentity(empty)).find("no calibration rows"),
            std::string::npos);

  Matrix zeros(16, 8, 0.0);
  ActivationSamples allZero = d.samples;
  allZero.rows = &zeros;
  EXPECT_NE(errorOf(learnAffine(allZero, init, {})).find("zero"),
            std::string::npos);

  Matrix nan = d.x;
  nan(3, 2) = std::nan("");
  ActivationSamples withNan = d.samples;
  withNan.rows = &nan;
  EXPECT_NE(
      errorOf(searchSmoothAlpha(withNan, d.absMax(), {0.5})).find("NaN or Inf"),
      std::string::npos);

  Matrix narrow(4, 7, 1.0);
  ActivationSamples mismatch = d.samples;
  mismatch.weights = {&narrow};
  EXPECT_NE(errorOf(measureIdentity(mismatch)).find("input channels"),
            std::string::npos);

  EXPECT_NE(errorOf(searchSmoothAlpha(d.samples, d.absMax(), {1.5}))
                .find("outside [0, 1]"),
            std::string::npos);
  EXPECT_NE(errorOf(searchSmoothAlpha(d.samples, d.absMax(), {})).find("empty"),
            std::string::npos);
  std::vector<double> badInit(8, 1.0);
  badInit[5] = 0.0;
  EXPECT_NE(errorOf(learnAffine(d.samples, badInit, {})).find("> 0"),
            std::string::npos);
  EXPECT_NE(errorOf(measureSmooth(d.samples, std::vector<double>(8, -1.0)))
                .find("must be > 0"),
            std::string::npos);
}

} // namespace
