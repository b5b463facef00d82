//===- npy_fuzzer.cpp - libFuzzer target: the .npy reader -----------------===//
//
// The .npy reader takes calibration inputs, matrix files and runner inputs
// from users: any byte string must give a tensor or an error, never a
// crash, an out-of-bounds read or a huge allocation.
//
//===----------------------------------------------------------------------===//

#include "quant-xform/IO/Npy.h"

#include "llvm/ADT/StringRef.h"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::Expected<mlir::quant_xform::io::Tensor> t =
      mlir::quant_xform::io::parseNpy(
          llvm::StringRef(reinterpret_cast<const char *>(data), size),
          "fuzz-input");
  if (!t) {
    llvm::consumeError(t.takeError());
    return 0;
  }
  // Touch every element: the shape must match the data.
  double sum = 0;
  for (int64_t i = 0, e = t->numElements(); i < e; ++i)
    sum += t->isFloat() ? t->getFloat(i) : static_cast<double>(t->getInt(i));
  (void)sum;
  return 0;
}
