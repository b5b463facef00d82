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

} // namespace
