//===- EvaluatorTest.cpp - reference evaluator vs hand-computed values ---===//

#include "TestUtils.h"

#include <cmath>
#include <random>
#include <string>

using namespace mlir::quant_xform::io;
using namespace mlir::quant_xform::reference;
using qxtest::evaluate;

namespace {

TEST(EvaluatorTest, LinearMatchesHandComputation) {
  // y = x·Wᵀ + b with x = [1, 2], W = [[1, 0], [0, 1], [1, 1]].
  auto r = evaluate(R"mlir(
    func.func @main(%x: tensor<1x2xf32>) -> tensor<1x3xf32> {
      %w = arith.constant dense<[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]> : tensor<3x2xf32>
      %b = arith.constant dense<[0.5, 0.0, -1.0]> : tensor<3xf32>
      %y = quant_xform.linear %x, %w, %b : (tensor<1x2xf32>, tensor<3x2xf32>, tensor<3xf32>) -> tensor<1x3xf32>
      return %y : tensor<1x3xf32>
    })mlir",
                    {Tensor::fromFloats({1, 2}, {1.0, 2.0})});
  ASSERT_EQ(r.size(), 1u);
  EXPECT_DOUBLE_EQ(r[0].getFloat(0), 1.5);
  EXPECT_DOUBLE_EQ(r[0].getFloat(1), 2.0);
  EXPECT_DOUBLE_EQ(r[0].getFloat(2), 2.0);
}

/// The linear's sums are the evaluator's definition: b[o] + x[r, 0]·w[o, 0] +
/// x[r, 1]·w[o, 1] + … in double, in this order, whatever the shape (its
/// vectorized tiles and their scalar edges alike), bit for bit. So is a
/// dense rotation's x·Q.
TEST(EvaluatorTest, LinearSumsInInputOrderAtEveryShape) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> dist(-1.0, 1.0);
  auto random = [&](std::vector<int64_t> shape) {
    int64_t n = 1;
    for (int64_t d : shape)
      n *= d;
    std::vector<double> v(n);
    for (double &x : v)
      x = dist(rng);
    return Tensor::fromFloats(shape, v, DType::F64);
  };
  for (int64_t rows : {1, 3, 4, 9})
    for (int64_t k : {1, 7, 33})
      for (int64_t n : {1, 5, 8, 17}) {
        std::string x = "tensor<" + std::to_string(rows) + "x" +
                        std::to_string(k) + "xf64>";
        std::string w =
            "tensor<" + std::to_string(n) + "x" + std::to_string(k) + "xf64>";
        std::string b = "tensor<" + std::to_string(n) + "xf64>";
        std::string y = "tensor<" + std::to_string(rows) + "x" +
                        std::to_string(n) + "xf64>";
        std::string ir =
            "func.func @main(%x: " + x + ", %w: " + w + ", %b: " + b + ") -> " +
            y + " {\n" + "  %y = quant_xform.linear %x, %w, %b : (" + x + ", " +
            w + ", " + b + ") -> " + y + "\n" + "  return %y : " + y + "\n}";
        Tensor tx = random({rows, k}), tw = random({n, k}), tb = random({n});
        auto r = evaluate(ir, {tx, tw, tb});
        ASSERT_EQ(r.size(), 1u) << ir;
        for (int64_t row = 0; row < rows; ++row)
          for (int64_t o = 0; o < n; ++o) {
            double acc = tb.getFloat(o);
            for (int64_t i = 0; i < k; ++i) {
              double product =
                  tx.getFloat(row * k + i) * tw.getFloat(o * k + i);
              acc = acc + product;
            }
            ASSERT_EQ(r[0].getFloat(row * n + o), acc)
                << rows << "x" << k << "x" << n << " at " << row << ", " << o;
          }
      }
}

TEST(EvaluatorTest, HadamardRowsAndSigns) {
  const char *ir = R"mlir(
    func.func @main(%x: tensor<2x4xf32>) -> (tensor<2x4xf32>, tensor<2x4xf32>) {
      %a = quant_xform.rotate hadamard %x : (tensor<2x4xf32>) -> tensor<2x4xf32>
      %b = quant_xform.rotate hadamard %x signs [-1, 1, 1, 1] : (tensor<2x4xf32>) -> tensor<2x4xf32>
      return %a, %b : tensor<2x4xf32>, tensor<2x4xf32>
    })mlir";
  // Row 0 = e0 picks H's first row (all 1/2); row 1 = all ones gives
  // H's column sums: [2, 0, 0, 0].
  auto r = evaluate(ir, {Tensor::fromFloats({2, 4}, {1, 0, 0, 0, 1, 1, 1, 1})});
  ASSERT_EQ(r.size(), 2u);
  for (int j = 0; j < 4; ++j) {
    EXPECT_DOUBLE_EQ(r[0].getFloat(j), 0.5);
    EXPECT_DOUBLE_EQ(r[1].getFloat(j), -0.5); // sign flips row 0 of H
  }
  double expected[4] = {2, 0, 0, 0};
  for (int j = 0; j < 4; ++j)
    EXPECT_NEAR(r[0].getFloat(4 + j), expected[j], 1e-15);
  // computed: Σ_i s_i·H[i][j] = (−1 + 1 + 1 + 1)/2 = 1 for j = 0, and
  // (−1 − 1 + 1 − 1)/2 = −1 for j = 1, (−1 + 1 − 1 − 1)/2 = −1, (−1 − 1 − 1 +
  // 1)/2 = −1.
  double signedSums[4] = {1, -1, -1, -1};
  for (int j = 0; j < 4; ++j)
    EXPECT_NEAR(r[1].getFloat(4 + j), signedSums[j], 1e-15);
}

TEST(EvaluatorTest, QuantizeRoundsHalfToEvenAndClamps) {
  auto r = evaluate(R"mlir(
    func.func @main(%x: tensor<8xf32>) -> tensor<8xi8> {
      %s = arith.constant dense<1.0> : tensor<f32>
      %q = quant_xform.quantize %x, %s scheme<per_tensor> : (tensor<8xf32>, tensor<f32>) -> tensor<8xi8>
      return %q : tensor<8xi8>
    })mlir",
                    {Tensor::fromFloats({8}, {0.5, 1.5, 2.5, -0.5, -2.5, 200.0,
                                              -200.0, 126.6})});
  ASSERT_EQ(r.size(), 1u);
  int64_t expected[8] = {0, 2, 2, 0, -2, 127, -127, 127};
  for (int i = 0; i < 8; ++i)
    EXPECT_EQ(r[0].getInt(i), expected[i]) << "element " << i;
}

TEST(EvaluatorTest, DequantizeAndAsymmetricQuantize) {
  auto r = evaluate(R"mlir(
    func.func @main(%q: tensor<3xi8>, %x: tensor<3xf32>) -> (tensor<3xf32>, tensor<3xui8>) {
      %s = arith.constant dense<0.5> : tensor<f32>
      %y = quant_xform.dequantize %q, %s scheme<per_tensor> : (tensor<3xi8>, tensor<f32>) -> tensor<3xf32>
      %zp = arith.constant dense<10> : tensor<ui8>
      %u = quant_xform.quantize %x, %s zero_point %zp scheme<per_tensor, asymmetric> : (tensor<3xf32>, tensor<f32>, tensor<ui8>) -> tensor<3xui8>
      return %y, %u : tensor<3xf32>, tensor<3xui8>
    })mlir",
                    {Tensor::fromInts({3}, {-127, 3, 0}),
                     Tensor::fromFloats({3}, {-10.0, 1.0, 500.0})});
  ASSERT_EQ(r.size(), 2u);
  EXPECT_DOUBLE_EQ(r[0].getFloat(0), -63.5);
  EXPECT_DOUBLE_EQ(r[0].getFloat(1), 1.5);
  EXPECT_DOUBLE_EQ(r[0].getFloat(2), 0.0);
  // round(x / 0.5) + 10, clamped to [0, 255].
  EXPECT_EQ(r[1].getInt(0), 0);
  EXPECT_EQ(r[1].getInt(1), 12);
  EXPECT_EQ(r[1].getInt(2), 255);
}

TEST(EvaluatorTest, DynamicQuantizePerToken) {
  auto r = evaluate(
      R"mlir(
    func.func @main(%x: tensor<2x4xf32>) -> (tensor<2x4xi8>, tensor<2xf32>) {
      %q, %s = quant_xform.dynamic_quantize %x scheme<per_token> : (tensor<2x4xf32>) -> (tensor<2x4xi8>, tensor<2xf32>)
      return %q, %s : tensor<2x4xi8>, tensor<2xf32>
    })mlir",
      {Tensor::fromFloats({2, 4}, {127.0, 0.5, 1.5, -2.5, 0, 0, 0, 0})});
  ASSERT_EQ(r.size(), 2u);
  // Row 0: absmax 127 ⇒ s = 1; row 1 is all zeros ⇒ s = 1, q = 0.
  EXPECT_DOUBLE_EQ(r[1].getFloat(0), 1.0);
  EXPECT_DOUBLE_EQ(r[1].getFloat(1), 1.0);
  int64_t expected[8] = {127, 0, 2, -2, 0, 0, 0, 0};
  for (int i = 0; i < 8; ++i)
    EXPECT_EQ(r[0].getInt(i), expected[i]) << "element " << i;
}

TEST(EvaluatorTest, QLinearIsExactInInt32Range) {
  // K = 1024 products of 127·127 sum to 16516096 exactly; with K = 1023 and
  // one −127 the sum is 1022·16129 − 16129 = 16467709.
  constexpr int64_t k = 1024;
  std::vector<int64_t> x(k, 127), w(2 * k, 127);
  w[k] = -127; // row 1 starts with a −127
  auto r = evaluate(R"mlir(
    func.func @main(%qx: tensor<1x1024xi8>, %qw: tensor<2x1024xi8>) -> tensor<1x2xf32> {
      %sx = arith.constant dense<0.5> : tensor<1xf32>
      %sw = arith.constant dense<[1.0, 0.25]> : tensor<2xf32>
      %b = arith.constant dense<[1.0, 0.0]> : tensor<2xf32>
      %y = quant_xform.qlinear %qx scale %sx, %qw scale %sw, bias %b : (tensor<1x1024xi8>, tensor<1xf32>, tensor<2x1024xi8>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2xf32>
      return %y : tensor<1x2xf32>
    })mlir",
                    {Tensor::fromInts({1, k}, x), Tensor::fromInts({2, k}, w)});
  ASSERT_EQ(r.size(), 1u);
  EXPECT_DOUBLE_EQ(r[0].getFloat(0), 0.5 * 1.0 * 16516096.0 + 1.0);
  EXPECT_DOUBLE_EQ(r[0].getFloat(1), 0.5 * 0.25 * (16516096.0 - 2 * 16129.0));
}

TEST(EvaluatorTest, NormsMatchFormulas) {
  auto r = evaluate(R"mlir(
    func.func @main(%x: tensor<1x4xf32>) -> (tensor<1x4xf32>, tensor<1x4xf32>) {
      %g = arith.constant dense<[1.0, 1.0, 2.0, 1.0]> : tensor<4xf32>
      %b = arith.constant dense<[0.0, 0.0, 0.0, 1.0]> : tensor<4xf32>
      %l = quant_xform.layer_norm %x, %g, %b {epsilon = 1.0e-12 : f64} : (tensor<1x4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<1x4xf32>
      %r = quant_xform.rms_norm %x, %g {epsilon = 1.0e-12 : f64} : (tensor<1x4xf32>, tensor<4xf32>) -> tensor<1x4xf32>
      return %l, %r : tensor<1x4xf32>, tensor<1x4xf32>
    })mlir",
                    {Tensor::fromFloats({1, 4}, {1, 2, 3, 4})});
  ASSERT_EQ(r.size(), 2u);
  // mean 2.5, variance 1.25; mean square 7.5.
  double sd = std::sqrt(1.25), rms = std::sqrt(7.5);
  double ln[4] = {-1.5 / sd, -0.5 / sd, 2 * 0.5 / sd, 1.5 / sd + 1};
  double rn[4] = {1 / rms, 2 / rms, 6 / rms, 4 / rms};
  for (int j = 0; j < 4; ++j) {
    EXPECT_NEAR(r[0].getFloat(j), ln[j], 1e-9);
    EXPECT_NEAR(r[1].getFloat(j), rn[j], 1e-9);
  }
}

TEST(EvaluatorTest, TransformAndInverseRoundTrip) {
  auto r = evaluate(R"mlir(
    func.func @main(%x: tensor<2x2xf32>) -> (tensor<2x2xf32>, tensor<2x2xf32>) {
      %a = arith.constant dense<[[2.0, 1.0], [0.5, 3.0]]> : tensor<2x2xf32>
      %d = arith.constant dense<[1.0, -1.0]> : tensor<2xf32>
      %s = arith.constant dense<[2.0, 4.0]> : tensor<2xf32>
      %0 = quant_xform.affine %x by %a shift %d : (tensor<2x2xf32>, tensor<2x2xf32>, tensor<2xf32>) -> tensor<2x2xf32>
      %1 = quant_xform.affine %0 by %a shift %d inverse : (tensor<2x2xf32>, tensor<2x2xf32>, tensor<2xf32>) -> tensor<2x2xf32>
      %2 = quant_xform.smooth %x by %s : (tensor<2x2xf32>, tensor<2xf32>) -> tensor<2x2xf32>
      return %1, %2 : tensor<2x2xf32>, tensor<2x2xf32>
    })mlir",
                    {Tensor::fromFloats({2, 2}, {1, 2, 3, 4})});
  ASSERT_EQ(r.size(), 2u);
  double x[4] = {1, 2, 3, 4};
  for (int i = 0; i < 4; ++i)
    EXPECT_NEAR(r[0].getFloat(i), x[i], 1e-12);
  EXPECT_DOUBLE_EQ(r[1].getFloat(0), 0.5);
  EXPECT_DOUBLE_EQ(r[1].getFloat(1), 0.5);
  EXPECT_DOUBLE_EQ(r[1].getFloat(2), 1.5);
  EXPECT_DOUBLE_EQ(r[1].getFloat(3), 1.0);
}

TEST(EvaluatorTest, LinalgMatmulGenericAndSoftmax) {
  auto r = evaluate(R"mlir(
    #id = affine_map<(d0, d1) -> (d0, d1)>
    func.func @main(%a: tensor<2x2xf32>) -> (tensor<2x2xf32>, tensor<2x2xf32>, tensor<2x2xf32>) {
      %z = arith.constant 0.0 : f32
      %e = tensor.empty() : tensor<2x2xf32>
      %f = linalg.fill ins(%z : f32) outs(%e : tensor<2x2xf32>) -> tensor<2x2xf32>
      %m = linalg.matmul ins(%a, %a : tensor<2x2xf32>, tensor<2x2xf32>) outs(%f : tensor<2x2xf32>) -> tensor<2x2xf32>
      %g = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
          ins(%a : tensor<2x2xf32>) outs(%e : tensor<2x2xf32>) {
        ^bb0(%in: f32, %out: f32):
          %sq = arith.mulf %in, %in : f32
          %one = arith.constant 1.0 : f32
          %p = arith.addf %sq, %one : f32
          linalg.yield %p : f32
      } -> tensor<2x2xf32>
      %s = linalg.softmax dimension(1) ins(%a : tensor<2x2xf32>) outs(%e : tensor<2x2xf32>) -> tensor<2x2xf32>
      return %m, %g, %s : tensor<2x2xf32>, tensor<2x2xf32>, tensor<2x2xf32>
    })mlir",
                    {Tensor::fromFloats({2, 2}, {1, 2, 3, 4})});
  ASSERT_EQ(r.size(), 3u);
  double mm[4] = {7, 10, 15, 22}, gen[4] = {2, 5, 10, 17};
  for (int i = 0; i < 4; ++i) {
    EXPECT_DOUBLE_EQ(r[0].getFloat(i), mm[i]);
    EXPECT_DOUBLE_EQ(r[1].getFloat(i), gen[i]);
  }
  double p = 1.0 / (1.0 + std::exp(1.0)); // softmax([1, 2])[0]
  EXPECT_NEAR(r[2].getFloat(0), p, 1e-15);
  EXPECT_NEAR(r[2].getFloat(1), 1 - p, 1e-15);
}

TEST(EvaluatorTest, UnsupportedOpIsAnErrorNotACrash) {
  std::string message =
      qxtest::evaluateExpectingError(R"mlir(
    func.func @main(%x: tensor<2xf32>) -> tensor<2xf32> {
      %y = "mystery.op"(%x) : (tensor<2xf32>) -> tensor<2xf32>
      return %y : tensor<2xf32>
    })mlir",
                                     {Tensor::fromFloats({2}, {1.0, 2.0})});
  EXPECT_NE(message.find("not supported by the reference evaluator"),
            std::string::npos)
      << message;
}

TEST(EvaluatorTest, WrongArgumentShapeIsAnError) {
  std::string message = qxtest::evaluateExpectingError(
      R"mlir(
    func.func @main(%x: tensor<2xf32>) -> tensor<2xf32> {
      return %x : tensor<2xf32>
    })mlir",
      {Tensor::fromFloats({3}, {1.0, 2.0, 3.0})});
  EXPECT_NE(message.find("argument #0 has shape/dtype [3] f32"),
            std::string::npos)
      << message;
}

TEST(EvaluatorTest, DenseResourceConstants) {
  // 0x3F800000 = 1.0f, 0x40000000 = 2.0f (little-endian, after the 4-byte
  // alignment header of the blob).
  auto r = evaluate(R"mlir(
    func.func @main(%x: tensor<2xf32>) -> tensor<2xf32> {
      %c = arith.constant dense_resource<blob1> : tensor<2xf32>
      %y = arith.addf %x, %c : tensor<2xf32>
      return %y : tensor<2xf32>
    }
    {-#
      dialect_resources: {
        builtin: {
          blob1: "0x040000000000803F00000040"
        }
      }
    #-})mlir",
                    {Tensor::fromFloats({2}, {0.5, 0.25})});
  ASSERT_EQ(r.size(), 1u);
  EXPECT_DOUBLE_EQ(r[0].getFloat(0), 1.5);
  EXPECT_DOUBLE_EQ(r[0].getFloat(1), 2.25);
}

} // namespace
