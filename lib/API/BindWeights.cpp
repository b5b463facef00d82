//===- BindWeights.cpp - weights given as arrays beside MLIR text ---------===//

#include "BindWeights.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/DialectResourceBlobManager.h"

#include "llvm/Support/raw_ostream.h"

#include <set>

using namespace mlir;
using namespace ::quant_xform::api;

/// Whether an array of `dtype` holds elements of `type`, byte for byte.
static bool sameElements(DType dtype, Type type) {
  switch (dtype) {
  case DType::F32:
    return type.isF32();
  case DType::F64:
    return type.isF64();
  case DType::F16:
    return type.isF16();
  case DType::I8:
    return type.isSignlessInteger(8) || type.isSignedInteger(8);
  case DType::U8:
    return type.isUnsignedInteger(8);
  case DType::I16:
    return type.isSignlessInteger(16) || type.isSignedInteger(16);
  case DType::I32:
    return type.isSignlessInteger(32) || type.isSignedInteger(32);
  case DType::I64:
    return type.isSignlessInteger(64) || type.isSignedInteger(64);
  case DType::Bool:
    return false; // i1 is stored packed in MLIR; not a raw copy.
  }
  return false;
}

/// A dense attribute of `type` holding `array`, or null with `error` set.
static DenseElementsAttr denseFrom(const std::string &key, ShapedType type,
                                   const ArrayView &array, std::string &error) {
  int64_t count = 1;
  for (int64_t d : array.shape)
    count *= d;
  if (!sameElements(array.dtype, type.getElementType())) {
    std::string declared;
    llvm::raw_string_ostream os(declared);
    os << type.getElementType();
    error = "weight '" + key + "' is " + dtypeName(array.dtype) +
            ", the IR declares " + declared;
    return {};
  }
  if (count != type.getNumElements()) {
    error = "weight '" + key + "' has " + std::to_string(count) +
            " elements, the IR declares " +
            std::to_string(type.getNumElements());
    return {};
  }
  size_t bytes = static_cast<size_t>(count) * itemSize(array.dtype);
  ArrayRef<char> raw(static_cast<const char *>(array.data), bytes);
  return DenseElementsAttr::getFromRawBuffer(type, raw);
}

bool quant_xform::api::bindWeights(
    ModuleOp module, const std::map<std::string, ArrayView> &weights,
    std::string &error) {
  std::set<std::string> used;
  WalkResult walk = module->walk([&](Operation *op) {
    for (NamedAttribute attr : op->getAttrs()) {
      auto resource = dyn_cast<DenseResourceElementsAttr>(attr.getValue());
      if (!resource)
        continue;
      std::string key = resource.getRawHandle().getKey().str();
      auto it = weights.find(key);
      if (it == weights.end()) {
        if (weights.empty() || resource.getRawHandle().getBlob())
          continue;
        error = "constant dense_resource<" + key +
                "> has no data: no weight of that key was given";
        return WalkResult::interrupt();
      }
      DenseElementsAttr dense =
          denseFrom(key, resource.getType(), it->second, error);
      if (!dense)
        return WalkResult::interrupt();
      op->setAttr(attr.getName(), dense);
      used.insert(key);
    }
    return WalkResult::advance();
  });
  if (walk.wasInterrupted())
    return false;
  for (const auto &[key, array] : weights)
    if (!used.count(key)) {
      error = "weight '" + key + "' is not used by the IR (no dense_resource<" +
              key + ">)";
      return false;
    }
  return true;
}
