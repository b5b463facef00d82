//===- MatrixTest.cpp - orthogonality / invertibility checks -------------===//

#include "quant-xform/Support/Matrix.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace mlir::quant_xform;

namespace {

TEST(MatrixTest, HadamardIsOrthogonalExactAndProbed) {
  for (int64_t n : {1, 2, 64, 512}) {
    OrthogonalityReport r = checkOrthogonal(Matrix::hadamard(n));
    EXPECT_LT(r.maxError, 1e-12) << "n = " << n;
    EXPECT_EQ(r.probed, n > 256);
  }
}

TEST(MatrixTest, NonOrthogonalIsCaughtExactAndProbed) {
  for (int64_t n : {8, 300}) {
    Matrix q = Matrix::identity(n);
    q(n - 1, 0) = 0.1; // one off-diagonal entry
    EXPECT_GT(checkOrthogonal(q).maxError, 1e-3) << "n = " << n;
  }
}

TEST(MatrixTest, PermutationMovesChannels) {
  // (x·P)[j] = x[perm[j]].
  Matrix p = Matrix::permutation({2, 0, 1});
  Matrix x(1, 3);
  x(0, 0) = 10, x(0, 1) = 20, x(0, 2) = 30;
  Matrix y = x.matmul(p);
  EXPECT_EQ(y(0, 0), 30);
  EXPECT_EQ(y(0, 1), 10);
  EXPECT_EQ(y(0, 2), 20);
}

/// x·y by the definition, for checking matmul's fast paths.
static Matrix naiveProduct(const Matrix &x, const Matrix &y) {
  Matrix out(x.rows(), y.cols());
  for (int64_t r = 0; r < x.rows(); ++r)
    for (int64_t c = 0; c < y.cols(); ++c)
      for (int64_t k = 0; k < x.cols(); ++k)
        out(r, c) += x(r, k) * y(k, c);
  return out;
}

TEST(MatrixTest, BlockDiagonalProductsEqualDenseOnes) {
  // Diagonal, block-diagonal (a Hadamard of 48 = 3 × 16: blocks of 16),
  // a block structure that does not divide the size (dense path), on
  // either side of the product.
  Matrix w(5, 48), diag = Matrix::identity(48), odd = Matrix::hadamard(48);
  for (int64_t i = 0; i < w.rows() * w.cols(); ++i)
    w.data()[i] = std::sin(0.37 * i) * (1 + i % 7);
  for (int64_t j = 0; j < 48; ++j)
    diag(j, j) = 0.5 + j;
  odd(0, 47) = 0.25; // couples the first and last block
  for (const Matrix *m : {&diag, &odd}) {
    const Matrix hadamard = Matrix::hadamard(48);
    for (const Matrix *q : {m, &hadamard}) {
      EXPECT_LT(w.matmul(*q).maxAbsDiff(naiveProduct(w, *q)), 1e-12);
      Matrix wt = w.transpose();
      EXPECT_LT(q->matmul(wt).maxAbsDiff(naiveProduct(*q, wt)), 1e-12);
    }
  }
}

TEST(MatrixTest, InvertibilityByDominanceOrCondition) {
  Matrix dominant = Matrix::identity(3);
  dominant(0, 1) = 0.5;
  EXPECT_TRUE(checkInvertible(dominant).diagonallyDominant);

  Matrix notDominantButFine(2, 2);
  notDominantButFine(0, 1) = 1.0; // a swap: cond = 1
  notDominantButFine(1, 0) = 1.0;
  InvertibilityReport swap = checkInvertible(notDominantButFine);
  EXPECT_FALSE(swap.diagonallyDominant);
  EXPECT_EQ(swap.failingRow, 0);
  EXPECT_NEAR(swap.condition, 1.0, 1e-12);

  Matrix singular(2, 2, 1.0);
  EXPECT_TRUE(std::isinf(checkInvertible(singular).condition) ||
              checkInvertible(singular).condition > 1e15);
  EXPECT_TRUE(mlir::failed(invert(singular)));
}

TEST(MatrixTest, InverseTimesMatrixIsIdentity) {
  Matrix a(2, 2);
  a(0, 0) = 2, a(0, 1) = 1, a(1, 0) = 0.5, a(1, 1) = 3;
  mlir::FailureOr<Matrix> inv = invert(a);
  ASSERT_TRUE(mlir::succeeded(inv));
  EXPECT_LT(a.matmul(*inv).maxAbsDiff(Matrix::identity(2)), 1e-15);
}

TEST(MatrixTest, RandomOrthogonalIsOrthogonalAndSeeded) {
  Matrix q = randomOrthogonal(24, 7);
  EXPECT_LT(checkOrthogonal(q).maxError, 1e-12);
  EXPECT_EQ(q.maxAbsDiff(randomOrthogonal(24, 7)), 0.0);
  EXPECT_GT(q.maxAbsDiff(randomOrthogonal(24, 8)), 0.1);
}

TEST(MatrixTest, PrincipalAxesOfAKnownCovariance) {
  // C = R·diag(9, 4, 1)·Rᵀ with R a rotation by 30° in the (0, 1) plane.
  double c = std::cos(M_PI / 6), s = std::sin(M_PI / 6);
  Matrix r = Matrix::identity(3);
  r(0, 0) = c, r(0, 1) = -s, r(1, 0) = s, r(1, 1) = c;
  Matrix cov =
      r.matmul(Matrix::diagonal({9.0, 4.0, 1.0})).matmul(r.transpose());
  mlir::FailureOr<Matrix> axes = principalAxes(cov);
  ASSERT_TRUE(mlir::succeeded(axes));
  // Columns are R's columns in order of decreasing variance, each with its
  // largest entry positive: (c, s, 0), (−s, c, 0), (0, 0, 1) already are.
  EXPECT_LT(axes->maxAbsDiff(r), 1e-12);
  // Flipping the sign of the input's axes does not flip the output's.
  Matrix flipped = r;
  for (int64_t i = 0; i < 3; ++i)
    flipped(i, 0) = -r(i, 0);
  Matrix cov2 = flipped.matmul(Matrix::diagonal({9.0, 4.0, 1.0}))
                    .matmul(flipped.transpose());
  EXPECT_LT(principalAxes(cov2)->maxAbsDiff(r), 1e-12);
  // The rotated covariance Qᵀ·C·Q is diagonal, decreasing.
  Matrix d = axes->transpose().matmul(cov).matmul(*axes);
  EXPECT_NEAR(d(0, 0), 9.0, 1e-12);
  EXPECT_NEAR(d(1, 1), 4.0, 1e-12);
  EXPECT_NEAR(d(2, 2), 1.0, 1e-12);
  EXPECT_NEAR(d(0, 1), 0.0, 1e-12);
}

TEST(MatrixTest, PrincipalAxesRejectsBadInput) {
  Matrix notSymmetric = Matrix::identity(2);
  notSymmetric(0, 1) = 1.0;
  EXPECT_TRUE(mlir::failed(principalAxes(notSymmetric)));
  Matrix nan = Matrix::identity(2);
  nan(1, 1) = NAN;
  EXPECT_TRUE(mlir::failed(principalAxes(nan)));
  EXPECT_TRUE(mlir::failed(principalAxes(Matrix(2, 3))));
}

} // namespace
