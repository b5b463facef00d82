//===- Npy.cpp - .npy reading and writing with bounds checks --------------===//
//
// Format: "\x93NUMPY", major, minor, header length (u16 for 1.x, u32 for
// 2.x/3.x), a Python dict literal {'descr': ..., 'fortran_order': ...,
// 'shape': (...)} padded with spaces, then the raw data.
//
//===----------------------------------------------------------------------===//

#include "quant-xform/IO/Npy.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <cstring>

using namespace mlir;
using namespace mlir::quant_xform::io;

/// Largest header we accept (numpy itself writes far smaller ones).
static constexpr uint32_t kMaxHeaderLength = 1 << 20;
/// Largest element count we accept (the evaluator is for small tensors).
static constexpr int64_t kMaxNpyElements = int64_t(1) << 31;

static llvm::Error npyError(StringRef name, const Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 name + ": " + msg);
}

/// The value text of `'key': value` in a header dict.
static std::optional<StringRef> headerField(StringRef header, StringRef key) {
  std::string quoted = ("'" + key + "'").str();
  size_t pos = header.find(quoted);
  if (pos == StringRef::npos)
    return std::nullopt;
  StringRef rest = header.drop_front(pos + quoted.size()).ltrim();
  if (!rest.consume_front(":"))
    return std::nullopt;
  return rest.ltrim();
}

llvm::Expected<Tensor> mlir::quant_xform::io::parseNpy(StringRef bytes,
                                                       StringRef name) {
  if (bytes.size() < 10 || !bytes.starts_with("\x93NUMPY"))
    return npyError(name, "not a .npy file (bad magic)");
  uint8_t major = bytes[6];
  uint32_t headerLen = 0;
  size_t dataStart = 0;
  if (major == 1) {
    headerLen =
        static_cast<uint8_t>(bytes[8]) | (static_cast<uint8_t>(bytes[9]) << 8);
    dataStart = 10 + headerLen;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12)
      return npyError(name, "truncated header");
    for (int b = 0; b < 4; ++b)
      headerLen |= static_cast<uint32_t>(static_cast<uint8_t>(bytes[8 + b]))
                   << (8 * b);
    dataStart = 12 + static_cast<size_t>(headerLen);
  } else {
    return npyError(name, "unsupported .npy version " + Twine(major));
  }
  if (headerLen > kMaxHeaderLength)
    return npyError(name, "header length " + Twine(headerLen) +
                              " is implausibly large");
  if (dataStart > bytes.size())
    return npyError(name, "truncated header (needs " + Twine(dataStart) +
                              " bytes, file has " + Twine(bytes.size()) + ")");
  StringRef header = bytes.slice(dataStart - headerLen, dataStart);

  std::optional<StringRef> descr = headerField(header, "descr");
  if (!descr || descr->size() < 3 || (*descr)[0] != '\'')
    return npyError(name, "header has no 'descr'");
  StringRef dtypeStr =
      descr->drop_front().take_until([](char c) { return c == '\''; });
  DType dtype;
  if (dtypeStr == "<f4") {
    dtype = DType::F32;
  } else if (dtypeStr == "<f8") {
    dtype = DType::F64;
  } else if (dtypeStr == "<f2") {
    dtype = DType::F16;
  } else if (dtypeStr == "|i1") {
    dtype = DType::I8;
  } else if (dtypeStr == "|u1") {
    dtype = DType::U8;
  } else if (dtypeStr == "<i2") {
    dtype = DType::I16;
  } else if (dtypeStr == "<i4") {
    dtype = DType::I32;
  } else if (dtypeStr == "<i8") {
    dtype = DType::I64;
  } else if (dtypeStr == "|b1") {
    dtype = DType::I1;
  } else {
    return npyError(name, "unsupported dtype '" + dtypeStr +
                              "' (expected little-endian f2/f4/f8, i1/i2/i4/"
                              "i8, u1 or b1)");
  }

  std::optional<StringRef> fortran = headerField(header, "fortran_order");
  if (!fortran)
    return npyError(name, "header has no 'fortran_order'");
  if (fortran->starts_with("True"))
    return npyError(name, "Fortran-ordered arrays are not supported; save a "
                          "C-contiguous array (np.ascontiguousarray)");

  std::optional<StringRef> shapeField = headerField(header, "shape");
  if (!shapeField || !shapeField->starts_with("("))
    return npyError(name, "header has no 'shape'");
  StringRef shapeText =
      shapeField->drop_front().take_until([](char c) { return c == ')'; });
  if (shapeText.size() == shapeField->size() - 1)
    return npyError(name, "unterminated 'shape' in header");
  SmallVector<int64_t> shape;
  int64_t count = 1;
  SmallVector<StringRef> parts;
  shapeText.split(parts, ',', -1, /*KeepEmpty=*/false);
  for (StringRef part : parts) {
    part = part.trim();
    if (part.empty())
      continue;
    int64_t d;
    if (part.getAsInteger(10, d) || d < 0)
      return npyError(name, "bad dimension '" + part + "' in shape");
    if (d > 0 && count > kMaxNpyElements / d)
      return npyError(name, "shape has too many elements");
    count *= d;
    shape.push_back(d);
  }

  size_t elemBytes = storageBytes(dtype);
  size_t need = static_cast<size_t>(count) * elemBytes;
  size_t have = bytes.size() - dataStart;
  if (have < need)
    return npyError(name, "truncated data: shape needs " + Twine(need) +
                              " bytes, file has " + Twine(have));
  if (have > need)
    return npyError(name, "file has " + Twine(have - need) +
                              " trailing bytes after the data");

  Tensor t(shape, dtype);
  const char *p = bytes.data() + dataStart;
  for (int64_t k = 0; k < count; ++k, p += elemBytes)
    t.loadElement(k, p);
  return t;
}

llvm::Expected<Tensor> mlir::quant_xform::io::readNpy(StringRef path) {
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buffer =
      llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                  /*RequiresNullTerminator=*/false);
  if (!buffer)
    return npyError(path, "cannot read: " + buffer.getError().message());
  return parseNpy((*buffer)->getBuffer(), path);
}

llvm::Error mlir::quant_xform::io::writeNpy(StringRef path, const Tensor &t) {
  const char *descr;
  switch (t.dtype()) {
  case DType::F64:
    descr = "<f8";
    break;
  case DType::F16:
  case DType::BF16:
  case DType::F32:
    descr = "<f4";
    break;
  case DType::I1:
    descr = "|b1";
    break;
  case DType::I8:
    descr = "|i1";
    break;
  case DType::U8:
    descr = "|u1";
    break;
  case DType::I16:
    descr = "<i2";
    break;
  case DType::I32:
    descr = "<i4";
    break;
  case DType::I64:
    descr = "<i8";
    break;
  }
  std::string header;
  llvm::raw_string_ostream hs(header);
  hs << "{'descr': '" << descr << "', 'fortran_order': False, 'shape': (";
  for (int64_t d : t.shape())
    hs << d << ", ";
  if (!t.shape().empty())
    header.resize(header.size() - (t.rank() == 1 ? 1 : 2));
  hs << "), }";
  // Pad so that the data starts at a multiple of 64 bytes.
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header.push_back('\n');

  std::string bytes = "\x93NUMPY";
  bytes.push_back(1);
  bytes.push_back(0);
  bytes.push_back(static_cast<char>(header.size() & 0xff));
  bytes.push_back(static_cast<char>(header.size() >> 8));
  bytes += header;
  for (int64_t k = 0, n = t.numElements(); k < n; ++k) {
    char buf[8];
    size_t len = 0;
    switch (t.dtype()) {
    case DType::F64: {
      double v = t.getFloat(k);
      std::memcpy(buf, &v, len = 8);
      break;
    }
    case DType::F16:
    case DType::BF16:
    case DType::F32: {
      float v = static_cast<float>(t.getFloat(k));
      std::memcpy(buf, &v, len = 4);
      break;
    }
    case DType::I1:
    case DType::I8:
    case DType::U8:
      buf[0] = static_cast<char>(t.getInt(k));
      len = 1;
      break;
    case DType::I16: {
      int16_t v = static_cast<int16_t>(t.getInt(k));
      std::memcpy(buf, &v, len = 2);
      break;
    }
    case DType::I32: {
      int32_t v = static_cast<int32_t>(t.getInt(k));
      std::memcpy(buf, &v, len = 4);
      break;
    }
    case DType::I64: {
      int64_t v = t.getInt(k);
      std::memcpy(buf, &v, len = 8);
      break;
    }
    }
    bytes.append(buf, len);
  }

  // Write to a temporary next to the target, then rename over it.
  SmallString<128> tmp;
  int fd;
  SmallString<128> model(path);
  model += ".tmp-%%%%%%";
  if (std::error_code ec = llvm::sys::fs::createUniqueFile(model, fd, tmp))
    return npyError(path, "cannot create: " + ec.message());
  {
    llvm::raw_fd_ostream os(fd, /*shouldClose=*/true);
    os << bytes;
    os.close();
    if (os.has_error()) {
      os.clear_error();
      llvm::sys::fs::remove(tmp);
      return npyError(path, "write failed");
    }
  }
  if (std::error_code ec = llvm::sys::fs::rename(tmp, path)) {
    llvm::sys::fs::remove(tmp);
    return npyError(path, "cannot rename into place: " + ec.message());
  }
  return llvm::Error::success();
}
