//===- Safetensors.cpp - bounds-checked safetensors reading and writing ---===//

#include "quant-xform/IO/Safetensors.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MathExtras.h"

#include <algorithm>
#include <cstring>

using namespace llvm;
using namespace mlir::quant_xform::io;

/// The format caps the header at 100 MB.
static constexpr uint64_t kMaxHeaderBytes = 100'000'000;

size_t mlir::quant_xform::io::safetensorsItemSize(StringRef dtype) {
  return StringSwitch<size_t>(dtype)
      .Cases({"F64", "I64", "U64"}, 8)
      .Cases({"F32", "I32", "U32"}, 4)
      .Cases({"F16", "BF16", "I16", "U16"}, 2)
      .Cases({"I8", "U8", "BOOL"}, 1)
      .Default(0);
}

int64_t SafetensorsTensor::numElements() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

static Error fail(StringRef file, const Twine &message) {
  return createStringError(inconvertibleErrorCode(), file + ": " + message);
}

Expected<SafetensorsFile> SafetensorsFile::open(StringRef path) {
  ErrorOr<std::unique_ptr<MemoryBuffer>> buffer =
      MemoryBuffer::getFile(path, /*IsText=*/false,
                            /*RequiresNullTerminator=*/false);
  if (!buffer)
    return fail(path, "cannot read: " + buffer.getError().message());
  return parse(std::move(*buffer));
}

Expected<SafetensorsFile>
SafetensorsFile::parse(std::unique_ptr<MemoryBuffer> buffer) {
  StringRef name = buffer->getBufferIdentifier();
  StringRef all = buffer->getBuffer();
  if (all.size() < 8)
    return fail(name, "truncated: " + Twine(all.size()) +
                          " bytes, the 8-byte header length is missing");
  uint64_t headerBytes = support::endian::read64le(all.data());
  if (headerBytes > kMaxHeaderBytes)
    return fail(name, "header length " + Twine(headerBytes) +
                          " exceeds the format's 100 MB limit");
  if (headerBytes > all.size() - 8)
    return fail(name, "truncated: the header claims " + Twine(headerBytes) +
                          " bytes but only " + Twine(all.size() - 8) +
                          " follow");
  StringRef headerText = all.substr(8, headerBytes);
  StringRef data = all.substr(8 + headerBytes);

  Expected<json::Value> header = json::parse(headerText);
  if (!header)
    return fail(name, "the header is not valid JSON: " +
                          toString(header.takeError()));
  const json::Object *object = header->getAsObject();
  if (!object)
    return fail(name, "the header is not a JSON object");

  SafetensorsFile file;
  for (const auto &[keyRef, value] : *object) {
    std::string key = keyRef.str();
    if (key == "__metadata__") {
      const json::Object *m = value.getAsObject();
      if (!m)
        return fail(name, "__metadata__ is not an object");
      for (const auto &[k, v] : *m) {
        std::optional<StringRef> s = v.getAsString();
        if (!s)
          return fail(name,
                      "__metadata__ value '" + k.str() + "' is not a string");
        file.meta[k.str()] = s->str();
      }
      continue;
    }
    const json::Object *entry = value.getAsObject();
    if (!entry)
      return fail(name, "tensor '" + key + "': entry is not an object");
    SafetensorsTensor t;
    t.name = key;
    std::optional<StringRef> dtype = entry->getString("dtype");
    if (!dtype)
      return fail(name, "tensor '" + key + "': no dtype");
    t.dtype = dtype->str();
    t.itemSize = safetensorsItemSize(*dtype);
    if (t.itemSize == 0)
      return fail(name,
                  "tensor '" + key + "': unsupported dtype '" + t.dtype + "'");
    const json::Array *shape = entry->getArray("shape");
    if (!shape)
      return fail(name, "tensor '" + key + "': no shape array");
    uint64_t elements = 1;
    for (const json::Value &d : *shape) {
      std::optional<int64_t> dim = d.getAsInteger();
      if (!dim || *dim < 0)
        return fail(name, "tensor '" + key +
                              "': shape entries must be integers >= 0");
      t.shape.push_back(*dim);
      if (*dim != 0 && elements > UINT64_MAX / uint64_t(*dim))
        return fail(name, "tensor '" + key + "': shape overflows");
      elements *= uint64_t(*dim);
    }
    if (elements > UINT64_MAX / t.itemSize)
      return fail(name, "tensor '" + key + "': shape overflows");
    const json::Array *offsets = entry->getArray("data_offsets");
    if (!offsets || offsets->size() != 2)
      return fail(name,
                  "tensor '" + key + "': data_offsets must be [begin, end]");
    std::optional<int64_t> begin = (*offsets)[0].getAsInteger();
    std::optional<int64_t> end = (*offsets)[1].getAsInteger();
    if (!begin || !end || *begin < 0 || *end < *begin)
      return fail(name, "tensor '" + key + "': data_offsets [" +
                            Twine(begin.value_or(-1)) + ", " +
                            Twine(end.value_or(-1)) + "] are not a range");
    if (uint64_t(*end) > data.size())
      return fail(name, "truncated: tensor '" + key + "' ends at byte " +
                            Twine(*end) + " of a " + Twine(data.size()) +
                            "-byte data section");
    uint64_t expected = elements * t.itemSize;
    if (uint64_t(*end - *begin) != expected)
      return fail(name, "tensor '" + key + "': " + Twine(*end - *begin) +
                            " data bytes for " + Twine(elements) + " " +
                            t.dtype + " elements (" + Twine(expected) +
                            " expected)");
    t.bytes = data.substr(*begin, *end - *begin);
    file.entries.push_back(std::move(t));
  }
  // Tensors may not overlap.
  std::sort(file.entries.begin(), file.entries.end(),
            [&](const SafetensorsTensor &a, const SafetensorsTensor &b) {
              return a.bytes.data() < b.bytes.data();
            });
  for (size_t i = 1; i < file.entries.size(); ++i) {
    const SafetensorsTensor &prev = file.entries[i - 1];
    if (prev.bytes.data() + prev.bytes.size() > file.entries[i].bytes.data())
      return fail(name, "tensors '" + prev.name + "' and '" +
                            file.entries[i].name + "' overlap");
  }
  file.buffer = std::move(buffer);
  return std::move(file);
}

const SafetensorsTensor *SafetensorsFile::lookup(StringRef name) const {
  for (const SafetensorsTensor &t : entries)
    if (t.name == name)
      return &t;
  return nullptr;
}

/// IEEE half → float.
static float halfToFloat(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else { // Subnormal: normalize.
      int e = -1;
      do {
        ++e;
        mant <<= 1;
      } while (!(mant & 0x400));
      bits = sign | uint32_t(127 - 15 - e) << 23 | (mant & 0x3ff) << 13;
    }
  } else if (exp == 0x1f) {
    bits = sign | 0x7f800000u | mant << 13;
  } else {
    bits = sign | (exp + 127 - 15) << 23 | mant << 13;
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

Expected<std::vector<float>>
mlir::quant_xform::io::toFloat32(const SafetensorsTensor &t) {
  int64_t n = t.numElements();
  std::vector<float> out(n);
  const char *p = t.bytes.data();
  if (t.dtype == "F32") {
    for (int64_t i = 0; i < n; ++i) {
      uint32_t bits = support::endian::read32le(p + 4 * i);
      std::memcpy(&out[i], &bits, 4);
    }
  } else if (t.dtype == "F64") {
    for (int64_t i = 0; i < n; ++i) {
      uint64_t bits = support::endian::read64le(p + 8 * i);
      double d;
      std::memcpy(&d, &bits, 8);
      out[i] = float(d);
    }
  } else if (t.dtype == "F16") {
    for (int64_t i = 0; i < n; ++i)
      out[i] = halfToFloat(support::endian::read16le(p + 2 * i));
  } else if (t.dtype == "BF16") {
    for (int64_t i = 0; i < n; ++i) {
      uint32_t bits = uint32_t(support::endian::read16le(p + 2 * i)) << 16;
      std::memcpy(&out[i], &bits, 4);
    }
  } else {
    return createStringError(inconvertibleErrorCode(),
                             "tensor '" + t.name + "' has dtype " + t.dtype +
                                 ", not a float type");
  }
  return out;
}

Error mlir::quant_xform::io::writeSafetensors(
    StringRef path, ArrayRef<SafetensorsOutput> tensors,
    const std::map<std::string, std::string> &meta) {
  json::Object header;
  if (!meta.empty()) {
    json::Object metaObject;
    for (const auto &[key, value] : meta)
      metaObject[key] = value;
    header["__metadata__"] = std::move(metaObject);
  }
  uint64_t offset = 0;
  for (const SafetensorsOutput &t : tensors) {
    size_t item = safetensorsItemSize(t.dtype);
    int64_t n = 1;
    for (int64_t d : t.shape)
      n *= d;
    if (item == 0 || t.bytes.size() != static_cast<uint64_t>(n) * item)
      return fail(path, "tensor '" + t.name + "': " + Twine(t.bytes.size()) +
                            " bytes do not match dtype " + t.dtype +
                            " and its shape");
    if (t.name == "__metadata__" || header.find(t.name) != header.end())
      return fail(path, "duplicate tensor name '" + t.name + "'");
    json::Array shape;
    for (int64_t d : t.shape)
      shape.push_back(d);
    header[t.name] = json::Object{
        {"dtype", t.dtype},
        {"shape", std::move(shape)},
        {"data_offsets", json::Array{offset, offset + t.bytes.size()}}};
    offset += t.bytes.size();
  }
  std::string text;
  raw_string_ostream(text) << json::Value(std::move(header));
  // Pad the header with spaces so that the data starts 8-byte aligned.
  text.append((8 - text.size() % 8) % 8, ' ');

  SmallString<128> temp;
  int fd;
  if (std::error_code ec =
          sys::fs::createUniqueFile(path + ".tmp-%%%%%%", fd, temp))
    return fail(path, "cannot create a temporary file: " + ec.message());
  {
    raw_fd_ostream out(fd, /*shouldClose=*/true);
    char length[8];
    support::endian::write64le(length, text.size());
    out.write(length, 8);
    out << text;
    for (const SafetensorsOutput &t : tensors)
      out << t.bytes;
    out.close();
    if (out.has_error()) {
      std::string message = out.error().message();
      out.clear_error();
      sys::fs::remove(temp);
      return fail(path, "cannot write: " + message);
    }
  }
  if (std::error_code ec = sys::fs::rename(temp, path)) {
    sys::fs::remove(temp);
    return fail(path, "cannot write: " + ec.message());
  }
  return Error::success();
}
