//===- ConstantsAsData.cpp - large constants leave the JIT's code --------===//
//
// See ConstantsAsData.h.
//
//===----------------------------------------------------------------------===//

#include "quant-xform/Target/CPU/ConstantsAsData.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"

#include <algorithm>
#include <cstring>

using namespace mlir;
using namespace mlir::quant_xform::cpu;

size_t ConstantData::totalBytes() const {
  size_t n = 0;
  for (const Entry &e : entries)
    n += e.bytes;
  return n;
}

/// The initializer's bytes in memory order, or empty when it is not a
/// byte-addressable dense attribute (splats, i1, strings stay in the code).
static ArrayRef<char> denseBytes(Attribute value) {
  if (auto dense = dyn_cast<DenseElementsAttr>(value)) {
    unsigned width = dense.getElementType().getIntOrFloatBitWidth();
    if (dense.isSplat() || width % 8 != 0)
      return {};
    return dense.getRawData();
  }
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(value)) {
    if (AsmResourceBlob *blob = resource.getRawHandle().getBlob())
      return blob->getData();
  }
  return {};
}

ConstantData
mlir::quant_xform::cpu::externalizeLargeConstants(ModuleOp module,
                                                  size_t minBytes) {
  ConstantData out;
  module.walk([&](LLVM::GlobalOp global) {
    if (!global.getConstant() || !global.getValueAttr())
      return;
    ArrayRef<char> bytes = denseBytes(global.getValueAttr());
    if (bytes.size() < minBytes)
      return;
    size_t align = std::max<uint64_t>(64, global.getAlignment().value_or(64));
    ConstantData::Entry e;
    e.symbol = global.getSymName().str();
    e.bytes = bytes.size();
    e.storage.reset(new char[bytes.size() + align]);
    auto address = reinterpret_cast<uintptr_t>(e.storage.get());
    e.data = e.storage.get() + (align - address % align) % align;
    std::memcpy(e.data, bytes.data(), bytes.size());
    // An external declaration: the JIT resolves the symbol to `e.data`.
    global.removeValueAttr();
    global.setLinkage(LLVM::Linkage::External);
    global.setVisibility_(LLVM::Visibility::Default);
    global.setDsoLocal(false);
    out.entries.push_back(std::move(e));
  });
  return out;
}
