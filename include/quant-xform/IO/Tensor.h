//===- Tensor.h - dense host tensors ------------------------------*- C++
//-*-===//
//
// A dense row-major host tensor of float64 (for every float type) or exact
// int64 (for every integer type): what the .npy and safetensors readers
// return, the reference evaluator computes on and the CPU JIT takes and
// returns.
//
//===----------------------------------------------------------------------===//

#ifndef QUANT_XFORM_IO_TENSOR_H
#define QUANT_XFORM_IO_TENSOR_H

#include "mlir/IR/Types.h"
#include "mlir/Support/LLVM.h"
#include "llvm/ADT/SmallVector.h"

#include <cstdint>
#include <string>
#include <vector>

namespace mlir::quant_xform::io {

/// Element types the evaluator (and its .npy files) know.
enum class DType { F16, BF16, F32, F64, I1, I8, I16, I32, I64, U8 };

/// True for F16, BF16, F32, F64.
bool isFloat(DType t);
/// Bit width of an integer dtype.
unsigned intWidth(DType t);
/// The dtype of an MLIR element type; failure for types the evaluator does
/// not model (index is treated as i64).
FailureOr<DType> dtypeOf(Type elementType);
/// Bytes per element in little-endian storage (.npy data, dense_resource
/// blobs): 1 for i1/i8/ui8, 2 for f16/bf16/i16, 4 for f32/i32, 8 for f64/i64.
size_t storageBytes(DType t);
/// A short name for messages: "f32", "i8", ...
const char *dtypeName(DType t);

/// A dense row-major tensor. Floats are held as float64 whatever their
/// declared type; integers as int64 in their canonical form (sign-extended
/// for signless/signed types, zero-extended for unsigned ones).
class Tensor {
public:
  Tensor() = default;
  /// A zero-filled tensor.
  Tensor(ArrayRef<int64_t> shape, DType dtype);

  /// A rank-0 tensor holding `v`.
  static Tensor scalarFloat(double v, DType dtype = DType::F64);
  static Tensor scalarInt(int64_t v, DType dtype = DType::I64);
  /// A tensor with the given values (size must match the shape).
  static Tensor fromFloats(ArrayRef<int64_t> shape, ArrayRef<double> values,
                           DType dtype = DType::F32);
  static Tensor fromInts(ArrayRef<int64_t> shape, ArrayRef<int64_t> values,
                         DType dtype = DType::I8);

  ArrayRef<int64_t> shape() const { return dims; }
  int64_t rank() const { return dims.size(); }
  int64_t numElements() const;
  DType dtype() const { return type; }
  bool isFloat() const { return io::isFloat(type); }

  /// Element access by flat (row-major) index.
  double getFloat(int64_t flat) const { return fvals[flat]; }
  int64_t getInt(int64_t flat) const { return ivals[flat]; }
  void setFloat(int64_t flat, double v) { fvals[flat] = v; }
  void setInt(int64_t flat, int64_t v) { ivals[flat] = v; }
  /// The element as a double whatever the dtype.
  double asDouble(int64_t flat) const {
    return isFloat() ? fvals[flat] : static_cast<double>(ivals[flat]);
  }

  std::vector<double> &floats() { return fvals; }
  const std::vector<double> &floats() const { return fvals; }
  std::vector<int64_t> &ints() { return ivals; }
  const std::vector<int64_t> &ints() const { return ivals; }

  /// Row-major strides.
  SmallVector<int64_t> strides() const;
  /// Flat index of a multi-index.
  int64_t flatIndex(ArrayRef<int64_t> index) const;

  /// Reads one little-endian element of this tensor's dtype from `bytes`
  /// (storageBytes(dtype()) bytes) into element `flat`.
  void loadElement(int64_t flat, const char *bytes);
  /// The reverse: writes element `flat` as storageBytes(dtype())
  /// little-endian bytes of this tensor's dtype (floats rounded to nearest).
  void storeElement(int64_t flat, char *bytes) const;

  /// Renders shape, dtype and values (numpy-like), at most `maxElements`.
  std::string toString(int64_t maxElements = 256) const;

private:
  SmallVector<int64_t> dims;
  DType type = DType::F32;
  std::vector<double> fvals;
  std::vector<int64_t> ivals;
};

/// Wraps an integer to the range of `dtype` (two's complement for signless
/// and signed types, modulo 2^w for unsigned ones).
int64_t wrapInt(int64_t v, DType dtype);

/// Rounds a float64 to the precision of `dtype` (f16/bf16/f32 round to
/// nearest even; f64 is unchanged).
double roundToPrecision(double v, DType dtype);

} // namespace mlir::quant_xform::io

#endif
