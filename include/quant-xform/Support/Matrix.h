//===- Matrix.h - small dense float64 matrices for compile-time maths ----===//
//
// A row-major float64 matrix used to talk about transform matrices across
// the dialect (verifiers, folders, passes). Heavy linear algebra (inverses,
// condition numbers) is done with Eigen in lib/Support.
//
//===----------------------------------------------------------------------===//

#ifndef QUANT_XFORM_SUPPORT_MATRIX_H
#define QUANT_XFORM_SUPPORT_MATRIX_H

#include "mlir/Support/LLVM.h"
#include "llvm/ADT/ArrayRef.h"
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mlir {
class Attribute;
class DenseFPElementsAttr;
class Location;
class OpBuilder;
class RankedTensorType;
class Value;
} // namespace mlir

namespace mlir::quant_xform {

/// A dense row-major float64 matrix.
class Matrix {
public:
  Matrix() = default;
  /// A `rows × cols` matrix filled with `fill`.
  Matrix(int64_t rows, int64_t cols, double fill = 0.0)
      : numRows(rows), numCols(cols), values(rows * cols, fill) {}

  /// The `n × n` identity.
  static Matrix identity(int64_t n);
  /// The `n × n` diagonal matrix with `diag` on its diagonal.
  static Matrix diagonal(llvm::ArrayRef<double> diag);
  /// The normalized Sylvester Hadamard matrix of size `n`, block-diagonal
  /// with blocks of `hadamardBlock(n)` when `n` is not a power of two:
  /// `H[i][j] = (-1)^popcount(i & j & (B-1)) / sqrt(B)` within a block, with
  /// rows scaled by `signs` when given.
  static Matrix hadamard(int64_t n, llvm::ArrayRef<int8_t> signs = {});

  /// The Hadamard block size for `n` features: the largest power of two
  /// dividing `n` (`n` itself when it is a power of two).
  static int64_t hadamardBlock(int64_t n) { return n & -n; }
  /// The per-feature factors of a fast (butterfly) Hadamard of `n`
  /// features: `signs[j] / sqrt(hadamardBlock(n))` (`signs` all 1 when
  /// empty). Unnormalized butterflies followed by these factors give
  /// `x·Qᵀ`; these factors followed by the butterflies give `x·Q`. The CPU
  /// and GPU lowerings take them from here, the evaluator the dense matrix
  /// above: `quant_xform.rotate hadamard` is defined once.
  static std::vector<double> hadamardFactors(int64_t n,
                                             llvm::ArrayRef<int8_t> signs);
  /// The permutation matrix `P` with `(x·P)[j] = x[perm[j]]`.
  static Matrix permutation(llvm::ArrayRef<int64_t> perm);

  int64_t rows() const { return numRows; }
  int64_t cols() const { return numCols; }
  double &operator()(int64_t r, int64_t c) { return values[r * numCols + c]; }
  double operator()(int64_t r, int64_t c) const {
    return values[r * numCols + c];
  }
  llvm::ArrayRef<double> data() const { return values; }
  std::vector<double> &data() { return values; }

  Matrix transpose() const;
  /// The matrix product `this · rhs`.
  Matrix matmul(const Matrix &rhs) const;
  /// The matrix product `this · rhsᵀ`, without forming the transpose.
  Matrix matmulTransposed(const Matrix &rhs) const;
  /// max_ij |this - rhs|.
  double maxAbsDiff(const Matrix &rhs) const;
  /// True when every entry is finite.
  bool allFinite() const;

private:
  int64_t numRows = 0, numCols = 0;
  std::vector<double> values;
};

/// How far a square matrix is from orthogonal.
struct OrthogonalityReport {
  /// max |Q·Qᵀ − I| (exact check) or max |Qᵀ(Q·v) − v| over random probes.
  double maxError = 0.0;
  /// True when the probe-based check was used (large matrices).
  bool probed = false;
};
/// Measure orthogonality; exact for n ≤ 256, probe-based above.
OrthogonalityReport checkOrthogonal(const Matrix &q);

/// Why a square matrix is (or is not) accepted as invertible.
struct InvertibilityReport {
  bool diagonallyDominant = false;
  /// First row that is not strictly dominant (when not dominant).
  int64_t failingRow = -1;
  double failingDiag = 0.0, failingOffDiagSum = 0.0;
  /// Estimated 1-norm condition number (inf when singular); only computed
  /// when the matrix is not diagonally dominant.
  double condition = 0.0;
};
/// Check strict diagonal dominance, and estimate the condition number when
/// the matrix is not dominant.
InvertibilityReport checkInvertible(const Matrix &a);

/// The inverse of a square matrix (LU with partial pivoting); failure when
/// it is numerically singular.
FailureOr<Matrix> invert(const Matrix &a);

/// A random `n × n` orthogonal matrix, Haar-distributed: the Q factor of a
/// seeded Gaussian matrix with the signs of R's diagonal folded in.
Matrix randomOrthogonal(int64_t n, uint64_t seed);

/// The principal axes of a symmetric positive semi-definite `K × K` matrix
/// (a covariance or second moment): an orthogonal matrix whose columns are
/// its eigenvectors, sorted by decreasing eigenvalue, each with its
/// largest-magnitude entry made positive (a deterministic sign convention).
/// Failure when the matrix is not square, not symmetric or not finite.
FailureOr<Matrix> principalAxes(const Matrix &symmetric);

/// The elements of a dense float attribute as float64 values (f32 and f64
/// read straight from the raw data; other float types through APFloat).
std::vector<double> getFloatValues(DenseFPElementsAttr attr);

/// Reads a constant float tensor into float64 values, when `value` is
/// produced by a constant (anything `m_Constant` matches) with elements.
std::optional<std::vector<double>> getConstantFloats(Value value);
/// Reads a constant `K × K` tensor into a Matrix.
std::optional<Matrix> getConstantMatrix(Value value);

/// The reverse of getConstantFloats: an `arith.constant` of `type` (f32 or
/// f64 elements) holding `values`; failure for other element types.
FailureOr<Value> makeFloatConstant(OpBuilder &builder, Location loc,
                                   RankedTensorType type,
                                   llvm::ArrayRef<double> values);

} // namespace mlir::quant_xform

#endif // QUANT_XFORM_SUPPORT_MATRIX_H
