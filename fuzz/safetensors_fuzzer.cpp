//===- safetensors_fuzzer.cpp - libFuzzer target: the safetensors reader --===//
//
// Model weights come from users' files: any byte string must give tensors
// whose byte ranges lie inside the buffer, or an error; never a crash, an
// out-of-bounds read or a huge allocation.
//
//===----------------------------------------------------------------------===//

#include "quant-xform/IO/Safetensors.h"

#include <cstddef>
#include <cstdint>

using namespace mlir::quant_xform::io;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  auto buffer = llvm::MemoryBuffer::getMemBufferCopy(
      llvm::StringRef(reinterpret_cast<const char *>(data), size),
      "fuzz-input");
  llvm::Expected<SafetensorsFile> file =
      SafetensorsFile::parse(std::move(buffer));
  if (!file) {
    llvm::consumeError(file.takeError());
    return 0;
  }
  // Touch every byte of every tensor, and convert the float ones.
  unsigned sum = 0;
  for (const SafetensorsTensor &t : file->tensors()) {
    for (char c : t.bytes)
      sum += static_cast<unsigned char>(c);
    if (t.dtype == "F32" || t.dtype == "F16" || t.dtype == "BF16" ||
        t.dtype == "F64") {
      llvm::Expected<std::vector<float>> f = toFloat32(t);
      if (!f)
        llvm::consumeError(f.takeError());
    }
  }
  (void)sum;
  return 0;
}
