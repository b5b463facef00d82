//===- QuantXformAttrs.cpp - quantization scheme attribute ---------------===//
//
// Parsing, printing and verification of #quant_xform.scheme.
//
//===----------------------------------------------------------------------===//

#include "quant-xform/Dialect/QuantXform/IR/QuantXformAttrs.h"
#include "quant-xform/Dialect/QuantXform/IR/QuantXformDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>

using namespace mlir;
using namespace mlir::quant_xform;

#include "quant-xform/Dialect/QuantXform/IR/QuantXformEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "quant-xform/Dialect/QuantXform/IR/QuantXformAttrs.cpp.inc"

void QuantXformDialect::registerAttributes() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "quant-xform/Dialect/QuantXform/IR/QuantXformAttrs.cpp.inc"
      >();
}

int64_t QuantSchemeAttr::getQMax() const {
  return getSymmetric() ? (int64_t(1) << (getBits() - 1)) - 1
                        : (int64_t(1) << getBits()) - 1;
}

int64_t QuantSchemeAttr::getQMin() const {
  return getSymmetric() ? -getQMax() : 0;
}

LogicalResult QuantSchemeAttr::verify(
    function_ref<InFlightDiagnostic()> emitError, Granularity granularity,
    int64_t groupSize, unsigned bits, bool symmetric, llvm::APFloat clipValue) {
  double clip = clipValue.convertToDouble();
  if (bits < 2 || bits > 8)
    return emitError() << "quantization bit width " << bits
                       << " is out of range [2, 8]";
  if (granularity == Granularity::PerGroup && groupSize <= 0)
    return emitError() << "per_group quantization needs a positive group "
                          "size, got "
                       << groupSize;
  if (granularity != Granularity::PerGroup && groupSize != 0)
    return emitError() << "group size " << groupSize << " given for "
                       << stringifyGranularity(granularity) << " quantization";
  if (!std::isfinite(clip) || clip <= 0.0 || clip > 1.0)
    return emitError() << "clip ratio " << clip << " is out of range (0, 1]";
  return success();
}

// <granularity [group], bits = N, symmetric|asymmetric, clip = F>
Attribute QuantSchemeAttr::parse(AsmParser &parser, Type) {
  MLIRContext *ctx = parser.getContext();
  SMLoc loc = parser.getCurrentLocation();
  StringRef keyword;
  if (parser.parseLess() || parser.parseKeyword(&keyword))
    return {};
  std::optional<Granularity> granularity = symbolizeGranularity(keyword);
  if (!granularity) {
    parser.emitError(loc) << "unknown quantization granularity '" << keyword
                          << "' (expected per_tensor, per_token, per_channel "
                             "or per_group)";
    return {};
  }
  int64_t groupSize = 0;
  if (*granularity == Granularity::PerGroup && parser.parseInteger(groupSize))
    return {};
  unsigned bits = 8;
  bool symmetric = true;
  double clip = 1.0;
  while (succeeded(parser.parseOptionalComma())) {
    SMLoc optLoc = parser.getCurrentLocation();
    StringRef option;
    if (parser.parseKeyword(&option))
      return {};
    if (option == "symmetric") {
      symmetric = true;
    } else if (option == "asymmetric") {
      symmetric = false;
    } else if (option == "bits") {
      if (parser.parseEqual() || parser.parseInteger(bits))
        return {};
    } else if (option == "clip") {
      if (parser.parseEqual() || parser.parseFloat(clip))
        return {};
    } else {
      parser.emitError(optLoc)
          << "unknown quantization scheme option '" << option
          << "' (expected bits, symmetric, asymmetric "
             "or clip)";
      return {};
    }
  }
  if (parser.parseGreater())
    return {};
  return getChecked([&] { return parser.emitError(loc); }, ctx, *granularity,
                    groupSize, bits, symmetric, llvm::APFloat(clip));
}

void QuantSchemeAttr::print(AsmPrinter &printer) const {
  printer << "<" << stringifyGranularity(getGranularity());
  if (getGranularity() == Granularity::PerGroup)
    printer << " " << getGroupSize();
  if (getBits() != 8)
    printer << ", bits = " << getBits();
  if (!getSymmetric())
    printer << ", asymmetric";
  if (getClipRatio() != 1.0) {
    printer << ", clip = ";
    printer.printFloat(getClip());
  }
  printer << ">";
}
