//===- ObserverStatisticsTest.cpp - calibration observers, alone ----------===//
//
// Calibration's ObserverStatistics as the evaluator's ObserveHook: what it
// records over several runs (ranges, outlier rows, the row mask, the EMA
// of per-run maxima, histograms, the reservoir sample) against values
// worked out by hand.

#include "TestUtils.h"

#include "quant-xform/Calibration/ObserverStatistics.h"

#include <cmath>

using namespace mlir;
using namespace mlir::quant_xform;
using calibration::ChannelStats;
using calibration::ObserverStatistics;
using io::Tensor;

namespace {

constexpr const char *kObserved = R"mlir(
func.func @main(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %y = quant_xform.observe %x "in" : tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}
)mlir";

/// Runs @main of kObserved once per tensor of `runs` with `stats` hooked.
void observe(ObserverStatistics &stats, ArrayRef<Tensor> runs) {
  auto ctx = qxtest::makeContext();
  OwningOpRef<ModuleOp> module =
      parseSourceString<ModuleOp>(kObserved, ctx.get());
  ASSERT_TRUE(module);
  reference::Evaluator evaluator(*module);
  evaluator.setObserveHook(&stats);
  for (const Tensor &x : runs) {
    FailureOr<SmallVector<Tensor>> y = evaluator.run("main", {x});
    ASSERT_TRUE(succeeded(y));
    // observe is the identity (NaN included).
    ArrayRef<double> got = (*y)[0].floats(), want = x.floats();
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i)
      EXPECT_TRUE(got[i] == want[i] ||
                  (std::isnan(got[i]) && std::isnan(want[i])));
  }
}

Tensor rows(std::vector<double> v) {
  return Tensor::fromFloats({3, 2}, v, io::DType::F32);
}

const ChannelStats &only(const ObserverStatistics &stats) {
  EXPECT_EQ(stats.byObserver().size(), 1u);
  return stats.byObserver().begin()->second;
}

TEST(ObserverStatistics, RangesAndOutlierRows) {
  ObserverStatistics stats;
  stats.setOutlierThreshold(2.0);
  observe(stats, {rows({1, -3, -0.5, 2, 4, 0}), rows({-2, 1, 0, 0, 0, 0})});
  const ChannelStats &s = only(stats);
  EXPECT_EQ(s.min, (std::vector<double>{-2, -3}));
  EXPECT_EQ(s.max, (std::vector<double>{4, 2}));
  EXPECT_EQ(s.absMax, (std::vector<double>{4, 3}));
  // |x| ≥ 2: column 0 holds 4 and -2, column 1 holds -3 and 2.
  EXPECT_EQ(s.outlierRows, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(s.rows, 6);
  EXPECT_EQ(s.runs, 2);
}

TEST(ObserverStatistics, RowMaskLeavesPaddingOut) {
  ObserverStatistics stats;
  stats.setRowMask({true, false, true});
  observe(stats, {rows({1, 1, 100, -100, 2, -1})});
  const ChannelStats &s = only(stats);
  EXPECT_EQ(s.absMax, (std::vector<double>{2, 1}));
  EXPECT_EQ(s.rows, 2);
}

TEST(ObserverStatistics, EmaAveragesTheWarmUpThenDecays) {
  ObserverStatistics stats;
  stats.setEma(/*decay=*/0.5, /*warmup=*/2);
  // Per-run maxima of column 0: 4, 2, 8.
  observe(stats, {rows({4, 0, 0, 0, 0, 0}), rows({2, 0, 0, 0, 0, 0}),
                  rows({8, 0, 0, 0, 0, 0})});
  const ChannelStats &s = only(stats);
  // Runs 1-2 averaged: 3; run 3: 0.5·3 + 0.5·8 = 5.5.
  EXPECT_DOUBLE_EQ(s.emaAbsMax[0], 5.5);
  EXPECT_DOUBLE_EQ(s.emaAbsMax[1], 0.0);
}

TEST(ObserverStatistics, HistogramCountsEveryValueButNaN) {
  ObserverStatistics stats;
  stats.setHistogramRanges({{"in", 4.0}});
  observe(stats, {rows({0, 1, NAN, 3.999, 10, -2})});
  const ChannelStats &s = only(stats);
  ASSERT_EQ(s.histogram.size(), size_t(calibration::kHistogramBins));
  int64_t total = 0;
  for (int64_t c : s.histogram)
    total += c;
  EXPECT_EQ(total, 5);
  // 10 is past the range: the last bin, with 3.999.
  EXPECT_EQ(s.histogram.back(), 2);
  EXPECT_EQ(s.histogram[0], 1);
  EXPECT_EQ(s.histogram[calibration::kHistogramBins / 4], 1); // |1|
  EXPECT_EQ(s.histogram[calibration::kHistogramBins / 2], 1); // |-2|
}

TEST(ObserverStatistics, ReservoirKeepsAtMostItsRows) {
  ObserverStatistics stats;
  stats.setKeepRows(4);
  observe(stats, {rows({1, 1, 2, 2, 3, 3}), rows({4, 4, 5, 5, 6, 6})});
  const ChannelStats &s = only(stats);
  ASSERT_EQ(s.sampledRows.size(), 8u);
  // The first four rows fill it; each kept row is a whole input row.
  for (size_t r = 0; r < 4; ++r) {
    EXPECT_EQ(s.sampledRows[2 * r], s.sampledRows[2 * r + 1]);
    EXPECT_GE(s.sampledRows[2 * r], 1.0);
    EXPECT_LE(s.sampledRows[2 * r], 6.0);
  }
}

} // namespace
