//===- Tensor.cpp - dense host tensors ------------------------------------===//

#include "quant-xform/IO/Tensor.h"

#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/APFloat.h"
#include "llvm/ADT/APInt.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <cstring>

using namespace mlir;
using namespace mlir::quant_xform::io;

bool mlir::quant_xform::io::isFloat(DType t) {
  return t == DType::F16 || t == DType::BF16 || t == DType::F32 ||
         t == DType::F64;
}

unsigned mlir::quant_xform::io::intWidth(DType t) {
  switch (t) {
  case DType::I1:
    return 1;
  case DType::I8:
  case DType::U8:
    return 8;
  case DType::I16:
    return 16;
  case DType::I32:
    return 32;
  case DType::I64:
    return 64;
  default:
    return 0;
  }
}

FailureOr<DType> mlir::quant_xform::io::dtypeOf(Type t) {
  if (t.isF16())
    return DType::F16;
  if (t.isBF16())
    return DType::BF16;
  if (t.isF32())
    return DType::F32;
  if (t.isF64())
    return DType::F64;
  if (t.isIndex())
    return DType::I64;
  if (auto i = dyn_cast<IntegerType>(t)) {
    if (i.isUnsigned()) {
      if (i.getWidth() == 8)
        return DType::U8;
      return failure();
    }
    switch (i.getWidth()) {
    case 1:
      return DType::I1;
    case 8:
      return DType::I8;
    case 16:
      return DType::I16;
    case 32:
      return DType::I32;
    case 64:
      return DType::I64;
    }
  }
  return failure();
}

const char *mlir::quant_xform::io::dtypeName(DType t) {
  switch (t) {
  case DType::F16:
    return "f16";
  case DType::BF16:
    return "bf16";
  case DType::F32:
    return "f32";
  case DType::F64:
    return "f64";
  case DType::I1:
    return "i1";
  case DType::I8:
    return "i8";
  case DType::I16:
    return "i16";
  case DType::I32:
    return "i32";
  case DType::I64:
    return "i64";
  case DType::U8:
    return "ui8";
  }
  return "?";
}

size_t mlir::quant_xform::io::storageBytes(DType t) {
  switch (t) {
  case DType::F64:
  case DType::I64:
    return 8;
  case DType::F32:
  case DType::I32:
    return 4;
  case DType::F16:
  case DType::BF16:
  case DType::I16:
    return 2;
  case DType::I1:
  case DType::I8:
  case DType::U8:
    return 1;
  }
  return 1;
}

/// A 16-bit float (IEEE half or bfloat) as a double.
static double halfToDouble(uint16_t bits, const llvm::fltSemantics &sem) {
  llvm::APFloat f(sem, llvm::APInt(16, bits));
  bool lost;
  f.convert(llvm::APFloat::IEEEdouble(), llvm::APFloat::rmNearestTiesToEven,
            &lost);
  return f.convertToDouble();
}

void Tensor::loadElement(int64_t flat, const char *p) {
  switch (type) {
  case DType::F32: {
    float v;
    std::memcpy(&v, p, 4);
    fvals[flat] = v;
    return;
  }
  case DType::F64:
    std::memcpy(&fvals[flat], p, 8);
    return;
  case DType::F16:
  case DType::BF16: {
    uint16_t bits;
    std::memcpy(&bits, p, 2);
    fvals[flat] =
        halfToDouble(bits, type == DType::F16 ? llvm::APFloat::IEEEhalf()
                                              : llvm::APFloat::BFloat());
    return;
  }
  case DType::I1:
    ivals[flat] = *p != 0;
    return;
  case DType::I8:
    ivals[flat] = static_cast<int8_t>(*p);
    return;
  case DType::U8:
    ivals[flat] = static_cast<uint8_t>(*p);
    return;
  case DType::I16: {
    int16_t v;
    std::memcpy(&v, p, 2);
    ivals[flat] = v;
    return;
  }
  case DType::I32: {
    int32_t v;
    std::memcpy(&v, p, 4);
    ivals[flat] = v;
    return;
  }
  case DType::I64:
    std::memcpy(&ivals[flat], p, 8);
    return;
  }
}

void Tensor::storeElement(int64_t flat, char *p) const {
  switch (type) {
  case DType::F32: {
    auto v = static_cast<float>(fvals[flat]);
    std::memcpy(p, &v, 4);
    return;
  }
  case DType::F64:
    std::memcpy(p, &fvals[flat], 8);
    return;
  case DType::F16:
  case DType::BF16: {
    llvm::APFloat f(fvals[flat]);
    bool lost;
    f.convert(type == DType::F16 ? llvm::APFloat::IEEEhalf()
                                 : llvm::APFloat::BFloat(),
              llvm::APFloat::rmNearestTiesToEven, &lost);
    auto bits = static_cast<uint16_t>(f.bitcastToAPInt().getZExtValue());
    std::memcpy(p, &bits, 2);
    return;
  }
  case DType::I1:
  case DType::I8:
  case DType::U8:
    *p = static_cast<char>(ivals[flat]);
    return;
  case DType::I16: {
    auto v = static_cast<int16_t>(ivals[flat]);
    std::memcpy(p, &v, 2);
    return;
  }
  case DType::I32: {
    auto v = static_cast<int32_t>(ivals[flat]);
    std::memcpy(p, &v, 4);
    return;
  }
  case DType::I64:
    std::memcpy(p, &ivals[flat], 8);
    return;
  }
}

Tensor::Tensor(ArrayRef<int64_t> shape, DType dtype)
    : dims(shape.begin(), shape.end()), type(dtype) {
  if (io::isFloat(dtype))
    fvals.assign(numElements(), 0.0);
  else
    ivals.assign(numElements(), 0);
}

Tensor Tensor::scalarFloat(double v, DType dtype) {
  Tensor t({}, dtype);
  t.fvals[0] = v;
  return t;
}

Tensor Tensor::scalarInt(int64_t v, DType dtype) {
  Tensor t({}, dtype);
  t.ivals[0] = v;
  return t;
}

Tensor Tensor::fromFloats(ArrayRef<int64_t> shape, ArrayRef<double> values,
                          DType dtype) {
  Tensor t(shape, dtype);
  assert(static_cast<int64_t>(values.size()) == t.numElements());
  t.fvals.assign(values.begin(), values.end());
  return t;
}

Tensor Tensor::fromInts(ArrayRef<int64_t> shape, ArrayRef<int64_t> values,
                        DType dtype) {
  Tensor t(shape, dtype);
  assert(static_cast<int64_t>(values.size()) == t.numElements());
  t.ivals.assign(values.begin(), values.end());
  return t;
}

int64_t Tensor::numElements() const {
  int64_t n = 1;
  for (int64_t d : dims)
    n *= d;
  return n;
}

SmallVector<int64_t> Tensor::strides() const {
  SmallVector<int64_t> s(dims.size(), 1);
  for (int64_t i = static_cast<int64_t>(dims.size()) - 2; i >= 0; --i)
    s[i] = s[i + 1] * dims[i + 1];
  return s;
}

int64_t Tensor::flatIndex(ArrayRef<int64_t> index) const {
  int64_t flat = 0;
  for (auto [i, d] : llvm::zip_equal(index, dims))
    flat = flat * d + i;
  return flat;
}

std::string Tensor::toString(int64_t maxElements) const {
  std::string out;
  llvm::raw_string_ostream os(out);
  os << "tensor<";
  for (int64_t d : dims)
    os << d << "x";
  os << dtypeName(type) << ">";
  int64_t n = numElements();
  int64_t cols = dims.empty() ? 1 : std::max<int64_t>(dims.back(), 1);
  for (int64_t i = 0; i < n && i < maxElements; ++i) {
    if (i % cols == 0)
      os << "\n ";
    if (isFloat())
      os << llvm::format(" %12.6g", fvals[i]);
    else
      os << llvm::format(" %6lld", static_cast<long long>(ivals[i]));
  }
  if (n > maxElements)
    os << "\n  ... (" << n - maxElements << " more)";
  return out;
}

int64_t mlir::quant_xform::io::wrapInt(int64_t v, DType dtype) {
  unsigned w = intWidth(dtype);
  if (w == 0 || w == 64)
    return v;
  uint64_t mask = (uint64_t(1) << w) - 1;
  uint64_t bits = static_cast<uint64_t>(v) & mask;
  if (dtype == DType::U8 || dtype == DType::I1)
    return static_cast<int64_t>(bits);
  uint64_t sign = uint64_t(1) << (w - 1);
  return static_cast<int64_t>((bits ^ sign)) - static_cast<int64_t>(sign);
}

double mlir::quant_xform::io::roundToPrecision(double v, DType dtype) {
  const llvm::fltSemantics *sem = nullptr;
  switch (dtype) {
  case DType::F16:
    sem = &llvm::APFloat::IEEEhalf();
    break;
  case DType::BF16:
    sem = &llvm::APFloat::BFloat();
    break;
  case DType::F32:
    return static_cast<double>(static_cast<float>(v));
  default:
    return v;
  }
  llvm::APFloat f(v);
  bool lost;
  f.convert(*sem, llvm::APFloat::rmNearestTiesToEven, &lost);
  f.convert(llvm::APFloat::IEEEdouble(), llvm::APFloat::rmNearestTiesToEven,
            &lost);
  return f.convertToDouble();
}
