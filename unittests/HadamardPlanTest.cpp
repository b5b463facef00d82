//===- HadamardPlanTest.cpp - the GPU quantize kernel's rotation plan -----===//
//
// The quantize kernel rotates a row by chunks of consecutive elements per
// thread and then phases of sets through a swizzled shared-memory buffer
// (lib/Conversion/QuantXformToGPU/HadamardRow.cpp). This replays that plan
// on the host for rows of 4 to 16384 values: every place the kernel
// computes as (swizzle(base) ^ xorMask) + add must be swizzle(base +
// offset), 16-byte aligned, inside the buffer and taken once; no thread may
// hold more than 64 values; and the replayed rotation must equal the
// reference order of butterflies (x·sign·n, then strides 1, 2, ..., B/2)
// bit for bit.
//
//===----------------------------------------------------------------------===//

#include "../lib/Conversion/QuantXformToGPU/HadamardRow.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

using namespace mlir::quant_xform::gpu_kernels;

namespace {

/// The runner's sign pattern (scripts/gpu-build-artifacts.sh).
bool negative(int64_t j) { return (j * 7 + 3) % 5 < 2; }

QuantizeShape shapeFor(int64_t k) {
  QuantizeShape s;
  s.m = 1;
  s.k = k;
  s.hadamardBlock = k & -k;
  double norm = 1.0 / std::sqrt(double(s.hadamardBlock));
  for (int64_t j = 0; j < k; ++j)
    s.hadamardScale.push_back(float(negative(j) ? -norm : norm));
  return s;
}

/// Butterflies of strides 1 .. n/2 on `v`, in order.
void butterflies(std::vector<float> &v) {
  for (size_t d = 1; d < v.size(); d *= 2)
    for (size_t i = 0; i < v.size(); ++i)
      if (!(i & d)) {
        float a = v[i], b = v[i + d];
        v[i] = a + b;
        v[i + d] = a - b;
      }
}

/// The CPU lowering's rotation of a row.
std::vector<float> reference(const std::vector<float> &x,
                             const QuantizeShape &s) {
  std::vector<float> y(x.size());
  for (size_t j = 0; j < x.size(); ++j)
    y[j] = x[j] * s.hadamardScale[j];
  for (int64_t stride = 1; stride < s.hadamardBlock; stride *= 2)
    for (int64_t j = 0; j < s.k; ++j)
      if (!(j & stride)) {
        float a = y[j], b = y[j + stride];
        y[j] = a + b;
        y[j + stride] = a - b;
      }
  return y;
}

/// x times |factor| with the sign bit flipped where the factor's is set, as
/// the kernel applies the sign words.
float scaled(float x, float norm, bool flip) {
  float v = x * norm;
  uint32_t bits;
  std::memcpy(&bits, &v, 4);
  bits ^= flip ? 0x80000000u : 0u;
  std::memcpy(&v, &bits, 4);
  return v;
}

/// The place of base + offset as the kernel computes it, checked against
/// the swizzle of the sum.
int64_t placeOf(int64_t base, int64_t offset) {
  EXPECT_EQ(base & offset, 0) << "base " << base << " offset " << offset;
  PlaceTerms terms = hadamardPlaceTerms(offset);
  int64_t p = (hadamardSwizzle(base) ^ terms.xorMask) + terms.add;
  EXPECT_EQ(p, hadamardSwizzle(base + offset))
      << "base " << base << " offset " << offset;
  return p;
}

/// The rotation of `x` by `plan`, replayed; checks the plan's invariants.
std::vector<float> replay(const std::vector<float> &x, const QuantizeShape &s,
                          const HadamardPlan &plan) {
  const int64_t k = s.k, chunk = int64_t(1) << plan.chunkBits;
  const int64_t threads = plan.threads;
  const float norm = std::fabs(s.hadamardScale[0]);
  std::vector<float> buffer(plan.sharedFloats, NAN), out(k, NAN);
  std::vector<int> written(plan.sharedFloats, 0);
  EXPECT_LE(chunk * ((k / chunk + threads - 1) / threads), 64);
  for (int64_t u = 0; u < k / chunk; ++u) {
    const int64_t start = u * chunk;
    std::vector<float> v(chunk);
    for (int64_t i = 0; i < chunk; ++i)
      v[i] = scaled(x[start + i], norm, negative(start + i));
    butterflies(v);
    if (plan.phases.empty()) {
      std::copy(v.begin(), v.end(), out.begin() + start);
      continue;
    }
    for (int64_t j = 0; j < chunk; j += 4) {
      int64_t p = placeOf(start, j);
      EXPECT_EQ(p % 4, 0);
      for (int64_t e = 0; e < 4; ++e) {
        EXPECT_LT(p + e, plan.sharedFloats);
        buffer[p + e] = v[j + e];
        ++written[p + e];
      }
    }
  }
  if (!plan.phases.empty())
    for (int64_t p = 0; p < k; ++p)
      EXPECT_EQ(written[hadamardSwizzle(p)], 1) << "place of " << p;
  for (size_t index = 0; index < plan.phases.size(); ++index) {
    const auto [c0, bits] = plan.phases[index];
    const int64_t setSize = int64_t(1) << bits, sets = k / setSize;
    const bool last = index + 1 == plan.phases.size();
    EXPECT_LE(bits, plan.chunkBits);
    EXPECT_LE(setSize * ((sets + threads - 1) / threads), 64);
    for (int64_t sigma = 0; sigma < sets; ++sigma) {
      int64_t base =
          (sigma & ((int64_t(1) << c0) - 1)) + ((sigma >> c0) << (c0 + bits));
      std::vector<float> v(setSize);
      std::vector<int64_t> places(setSize);
      for (int64_t m = 0; m < setSize; ++m) {
        places[m] = placeOf(base, m << c0);
        v[m] = buffer[places[m]];
      }
      butterflies(v);
      for (int64_t m = 0; m < setSize; ++m) {
        if (last)
          out[base + (m << c0)] = v[m];
        else
          buffer[places[m]] = v[m];
      }
    }
  }
  return out;
}

TEST(HadamardPlanTest, ReplayMatchesReference) {
  std::mt19937 rng(23);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (int64_t k : {4, 12, 32, 96, 100, 256, 272, 1000, 1024, 1536, 2048, 3072,
                    4096, 8192, 11008, 12288, 16384}) {
    SCOPED_TRACE("K = " + std::to_string(k));
    QuantizeShape s = shapeFor(k);
    HadamardPlan plan = hadamardPlan(s);
    EXPECT_EQ(plan.threads % 32, 0);
    EXPECT_GE(plan.threads, 32);
    EXPECT_LE(plan.threads, 256);
    int64_t bits = plan.chunkBits;
    for (auto [first, n] : plan.phases) {
      EXPECT_EQ(first, bits);
      bits += n;
    }
    EXPECT_EQ(int64_t(1) << bits, s.hadamardBlock);
    EXPECT_EQ(plan.sharedFloats == 0, plan.phases.empty());
    EXPECT_EQ(plan.dynamicShared(),
              (plan.sharedFloats + plan.threads / 32) * 4 > 48 * 1024);
    std::vector<float> x(k);
    for (float &v : x)
      v = normal(rng);
    std::vector<float> want = reference(x, s), got = replay(x, s, plan);
    for (int64_t j = 0; j < k; ++j)
      ASSERT_EQ(got[j], want[j]) << "column " << j;
  }
}

TEST(HadamardPlanTest, SignWords) {
  QuantizeShape s = shapeFor(100);
  std::vector<int32_t> words = hadamardSignWords(s);
  ASSERT_EQ(words.size(), 4u);
  for (int64_t j = 0; j < 100; ++j)
    EXPECT_EQ((uint32_t(words[j / 32]) >> (j % 32)) & 1, negative(j) ? 1u : 0u)
        << "column " << j;
  for (float &f : s.hadamardScale)
    f = std::fabs(f);
  EXPECT_TRUE(hadamardSignWords(s).empty());
}

} // namespace
