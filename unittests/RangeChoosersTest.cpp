//===- RangeChoosersTest.cpp - calibration range choosers ----------------===//
//
// Closed-form cases for min/max, percentile, MSE and KL thresholds, and the
// errors on degenerate data.
//
//===----------------------------------------------------------------------===//

#include "quant-xform/Calibration/RangeChoosers.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace mlir::quant_xform::calibration;

namespace {

Histogram uniform(int64_t bins, double max, int64_t perBin = 1) {
  Histogram h;
  h.counts.assign(bins, perBin);
  h.max = max;
  return h;
}

double threshold(const Histogram &h, RangeMethod m, RangeOptions o = {}) {
  llvm::Expected<double> t = chooseThreshold(h, m, o);
  if (!t) {
    ADD_FAILURE() << llvm::toString(t.takeError());
    return -1;
  }
  return *t;
}

TEST(RangeChoosersTest, MinMaxAndPercentile) {
  Histogram h = uniform(2048, 8.0);
  EXPECT_EQ(threshold(h, RangeMethod::MinMax), 8.0);
  RangeOptions half;
  half.percentile = 50.0;
  // Half of a uniform histogram lies below the 1024th bin edge: max / 2.
  EXPECT_DOUBLE_EQ(threshold(h, RangeMethod::Percentile, half), 4.0);
  RangeOptions all;
  all.percentile = 100.0;
  EXPECT_DOUBLE_EQ(threshold(h, RangeMethod::Percentile, all), 8.0);
}

TEST(RangeChoosersTest, MseClipsARareOutlierOnlyWhenItPays) {
  // Values in [0, 1) and one value near 10 (1000 bins over [0, 10]).
  // Keeping the outlier costs every value a step of 10/127 (≈ 5.2e-4 mean
  // squared error each); clipping at ~1 costs the outlier (≈ 9)² = 81.
  Histogram many;
  many.max = 10.0;
  many.counts.assign(1000, 0);
  for (int i = 0; i < 100; ++i)
    many.counts[i] = 10000; // 1e6 values: keeping costs ≈ 516 > 81.
  many.counts[999] = 1;
  EXPECT_LT(threshold(many, RangeMethod::Mse), 5.0);

  Histogram few = many;
  for (int i = 0; i < 100; ++i)
    few.counts[i] = 10; // 1000 values: keeping costs ≈ 0.5 < 81.
  EXPECT_GT(threshold(few, RangeMethod::Mse), 9.9);
}

TEST(RangeChoosersTest, KlKeepsUniformAndClipsALongTail) {
  // Clipping a uniform distribution moves mass into the last bin: KL is
  // smallest with (nearly) no clipping.
  Histogram flat = uniform(2048, 4.0, 100);
  EXPECT_GT(threshold(flat, RangeMethod::Kl), 0.9 * 4.0);

  // A Laplace-like |x| (counts ∝ e^(−bin/40)) over 2048 bins up to 16: the
  // long, thin tail costs resolution where the mass is, so KL clips it
  // (t < max / 2) but keeps the bulk (t above the decay length, 40 bins).
  Histogram laplace;
  laplace.max = 16.0;
  for (int i = 0; i < 2048; ++i)
    laplace.counts.push_back(
        static_cast<int64_t>(std::llround(1e6 * std::exp(-i / 40.0))));
  double t = threshold(laplace, RangeMethod::Kl);
  EXPECT_LT(t, 8.0);
  EXPECT_GT(t, 40 * laplace.binWidth());

  // A sparse tail (one value every 97 bins) is represented exactly by Q
  // (each group spreads its mass over its non-empty bins only), so KL does
  // not clip it: TensorRT's known behaviour.
  Histogram sparse;
  sparse.max = 16.0;
  sparse.counts.assign(2048, 0);
  for (int i = 0; i < 128; ++i)
    sparse.counts[i] = 1000;
  for (int i = 128; i < 2048; i += 97)
    sparse.counts[i] = 1;
  EXPECT_EQ(threshold(sparse, RangeMethod::Kl), 16.0);
}

TEST(RangeChoosersTest, KlDivergenceClosedForm) {
  EXPECT_DOUBLE_EQ(klDivergence({1, 2, 3}, {2, 4, 6}), 0.0);
  EXPECT_NEAR(klDivergence({1, 0}, {1, 1}), std::log(2.0), 1e-12);
}

TEST(RangeChoosersTest, DegenerateDataIsAnError) {
  Histogram empty;
  auto failsWith = [](const Histogram &h, RangeMethod m, RangeOptions o,
                      llvm::StringRef text) {
    llvm::Expected<double> t = chooseThreshold(h, m, o);
    ASSERT_FALSE(static_cast<bool>(t));
    std::string msg = llvm::toString(t.takeError());
    EXPECT_NE(msg.find(text.str()), std::string::npos) << msg;
  };
  failsWith(empty, RangeMethod::MinMax, {}, "empty");
  Histogram zeros = uniform(16, 0.0);
  failsWith(zeros, RangeMethod::Mse, {}, "not a positive finite");
  Histogram nan = uniform(16, NAN);
  failsWith(nan, RangeMethod::Kl, {}, "not a positive finite");
  RangeOptions bad;
  bad.percentile = 0.0;
  failsWith(uniform(16, 1.0), RangeMethod::Percentile, bad, "percentile");
  bad.percentile = 101.0;
  failsWith(uniform(16, 1.0), RangeMethod::Percentile, bad, "percentile");
}

TEST(RangeChoosersTest, NamesMethodsAsTheOptionDoes) {
  EXPECT_EQ(rangeMethodName(RangeMethod::Kl), "kl");
  EXPECT_EQ(rangeMethodName(RangeMethod::Mse), "mse");
  EXPECT_EQ(rangeMethodName(RangeMethod::MinMax), "minmax");
  EXPECT_EQ(rangeMethodName(RangeMethod::Percentile), "percentile");
  EXPECT_EQ(rangeMethodName(RangeMethod::Ema), "ema");
}

} // namespace
