//===- QuantizeDivisionTest.cpp - the GPU quantize kernel's division -----===//
//
// The GPU quantize kernel (lib/Conversion/QuantXformToGPU/QuantizeKernel.cpp)
// divides a row by its scale s in [2^-90, 2^90] without a division per
// value: y = 1/s once, q = x·y, then twice q = q + (x − s·q)·y with fmas.
// Its results are bit-exact against the reference evaluator only if that is
// x / s correctly rounded. This checks the sequence (the same operations in
// the same order, on the host's IEEE f32) against the division: random
// scales, values over the whole row range, and values a few ulps around
// every rounding boundary (n + 1/2)·s, where one ulp of error would change
// the int8 result.
//
//===----------------------------------------------------------------------===//

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>

namespace {

/// The kernel's fast quotient (QuantizeKernel.cpp, step 4).
float correctedQuotient(float x, float s) {
  float y = 1.0f / s;
  float q = x * y;
  for (int step = 0; step < 2; ++step) {
    float residual = std::fmaf(-s, q, x);
    q = std::fmaf(residual, y, q);
  }
  return q;
}

/// `v` moved by `ulps` units in the last place (same sign).
float nudge(float v, int ulps) {
  uint32_t bits;
  std::memcpy(&bits, &v, 4);
  bits += uint32_t(ulps);
  std::memcpy(&v, &bits, 4);
  return v;
}

bool sameBits(float a, float b) { return std::memcmp(&a, &b, 4) == 0; }

TEST(QuantizeDivisionTest, CorrectedQuotientIsTheRoundedDivision) {
  std::mt19937_64 rng(20261124);
  std::uniform_int_distribution<int> exponent(-90, 89);
  std::uniform_real_distribution<double> mantissa(1.0, 2.0);
  std::uniform_real_distribution<double> unit(-1.0, 1.0);
  std::uniform_int_distribution<int> level(-127, 126), ulps(-4, 4);
  int64_t checked = 0, wrong = 0;
  for (int scales = 0; scales < 100000; ++scales) {
    float s = float(std::ldexp(mantissa(rng), exponent(rng)));
    ASSERT_TRUE(s >= 0x1p-90f && s <= 0x1p90f);
    for (int i = 0; i < 100; ++i) {
      float x = i % 2 ? float(unit(rng) * 127.0 * s)
                      : nudge(float((level(rng) + 0.5) * double(s)), ulps(rng));
      ++checked;
      if (!sameBits(correctedQuotient(x, s), x / s) && ++wrong <= 5)
        ADD_FAILURE() << "x = " << x << ", s = " << s << ": "
                      << correctedQuotient(x, s) << " != " << x / s;
    }
  }
  EXPECT_EQ(wrong, 0) << "of " << checked;
}

TEST(QuantizeDivisionTest, EdgeValuesKeepTheirMeaning) {
  // Zeros stay zero (of either sign: both quantize to 0), NaN stays NaN
  // (the kernel maps it to 0), and the row's extreme divides exactly.
  for (float s : {0x1p-90f, 1.0f, 0.0078740157f, 0x1p90f}) {
    EXPECT_TRUE(sameBits(correctedQuotient(0.0f, s), 0.0f));
    EXPECT_EQ(correctedQuotient(-0.0f, s), 0.0f);
    EXPECT_TRUE(std::isnan(correctedQuotient(std::nanf(""), s)));
    EXPECT_EQ(correctedQuotient(127.0f * s, s), (127.0f * s) / s);
  }
}

} // namespace
