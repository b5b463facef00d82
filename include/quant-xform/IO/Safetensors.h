//===- Safetensors.h - bounds-checked safetensors reading --------*- C++
//-*-===//
//
// A reader (and a writer) for the safetensors format (an 8-byte little-endian
// header length, a JSON header naming each tensor's dtype, shape and byte
// range, then the raw little-endian data). Every length, offset and shape is
// checked against the file before any byte is read: a truncated or
// malformed file gives an error that names the problem.
//
//===----------------------------------------------------------------------===//

#ifndef QUANT_XFORM_IO_SAFETENSORS_H
#define QUANT_XFORM_IO_SAFETENSORS_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/MemoryBuffer.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace mlir::quant_xform::io {

/// One tensor of a safetensors file: a view of the file's bytes.
struct SafetensorsTensor {
  std::string name;
  /// The file's dtype string: F64, F32, F16, BF16, I64, I32, I16, I8, U8,
  /// BOOL (others are rejected).
  std::string dtype;
  llvm::SmallVector<int64_t> shape;
  /// Bytes per element of `dtype`.
  size_t itemSize = 0;
  /// The tensor's little-endian data, inside the file's buffer.
  llvm::StringRef bytes;
  int64_t numElements() const;
};

/// A parsed safetensors file; tensors view its buffer, which it owns.
class SafetensorsFile {
public:
  /// Reads and parses `path`.
  static llvm::Expected<SafetensorsFile> open(llvm::StringRef path);
  /// Parses bytes already in memory (`name` is used in messages).
  static llvm::Expected<SafetensorsFile>
  parse(std::unique_ptr<llvm::MemoryBuffer> buffer);

  /// Tensors in header order of their data offsets.
  const std::vector<SafetensorsTensor> &tensors() const { return entries; }
  /// The tensor called `name`, or null.
  const SafetensorsTensor *lookup(llvm::StringRef name) const;
  /// The `__metadata__` string map (empty when absent).
  const std::map<std::string, std::string> &metadata() const { return meta; }

private:
  std::unique_ptr<llvm::MemoryBuffer> buffer;
  std::vector<SafetensorsTensor> entries;
  std::map<std::string, std::string> meta;
};

/// One tensor to write: its name, dtype string, shape and little-endian
/// bytes (`bytes.size()` must be the shape's element count × item size).
struct SafetensorsOutput {
  std::string name;
  std::string dtype;
  llvm::SmallVector<int64_t> shape;
  std::string bytes;
};

/// Writes `tensors` (and the `__metadata__` string map) to `path` in the
/// safetensors format, through a temporary file renamed into place, so a
/// failure leaves no half-written file. Names must be unique.
llvm::Error writeSafetensors(llvm::StringRef path,
                             llvm::ArrayRef<SafetensorsOutput> tensors,
                             const std::map<std::string, std::string> &meta);

/// Bytes per element of a safetensors dtype string; 0 when unknown.
size_t safetensorsItemSize(llvm::StringRef dtype);

/// Converts a float tensor (F64, F32, F16, BF16) to float32 values.
llvm::Expected<std::vector<float>> toFloat32(const SafetensorsTensor &tensor);

} // namespace mlir::quant_xform::io

#endif
