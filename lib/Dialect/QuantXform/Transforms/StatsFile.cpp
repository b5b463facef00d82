//===- StatsFile.cpp - calibration statistics saved next to the model ----===//
//
// Export and import of `quant_xform.stats` as a safetensors file, and the
// passes quant-xform-export-stats / quant-xform-import-stats around them.
//
//===----------------------------------------------------------------------===//

#include "quant-xform/Dialect/QuantXform/Transforms/StatsFile.h"

#include "quant-xform/Dialect/QuantXform/IR/QuantXformAttrNames.h"
#include "quant-xform/Dialect/QuantXform/IR/QuantXformOps.h"
#include "quant-xform/Dialect/QuantXform/Transforms/Passes.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/Endian.h"

#include <map>

namespace mlir::quant_xform {
#define GEN_PASS_DEF_EXPORTSTATS
#define GEN_PASS_DEF_IMPORTSTATS
#include "quant-xform/Dialect/QuantXform/Transforms/Passes.h.inc"
} // namespace mlir::quant_xform

using namespace mlir;
using namespace mlir::quant_xform;
using io::SafetensorsFile;
using io::SafetensorsOutput;
using io::SafetensorsTensor;

/// Version of the statistics file format written here.
static constexpr llvm::StringLiteral kStatsFileVersion = "1";

/// Linears by key, in walk order.
using LinearsByKey =
    llvm::MapVector<std::string, LinearOp, std::map<std::string, unsigned>>;

/// Every quant_xform.linear of `module` by its key: its layer name, or
/// `#<i>` (its index among the module's linears) when it has none.
static FailureOr<LinearsByKey> linearsByKey(ModuleOp module) {
  LinearsByKey linears;
  int64_t index = 0;
  WalkResult walk = module.walk([&](LinearOp op) {
    std::string key = "#" + std::to_string(index++);
    if (auto name = op->getAttrOfType<StringAttr>(kLayerAttrName))
      key = name.str();
    if (!linears.insert({key, op}).second) {
      op.emitError() << "two linears are named '" << key
                     << "'; a statistics file needs unique layer names";
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  if (walk.wasInterrupted())
    return failure();
  return linears;
}

/// The key of `op` in `linears`.
static StringRef getLayerKey(const LinearsByKey &linears, LinearOp op) {
  for (auto &[key, linear] : linears)
    if (linear == op)
      return key;
  return "";
}

//===----------------------------------------------------------------------===//
// Export
//===----------------------------------------------------------------------===//

/// Little-endian bytes of `values` as `T`.
template <typename T, typename Range>
static std::string toBytes(const Range &values) {
  std::string bytes;
  for (auto v : values) {
    char buffer[sizeof(T)];
    llvm::support::endian::write<T, llvm::endianness::little>(
        buffer, static_cast<T>(v));
    bytes.append(buffer, sizeof(T));
  }
  return bytes;
}

/// One entry of quant_xform.stats as a tensor of the file.
static SafetensorsOutput entryToTensor(StringRef key, NamedAttribute entry) {
  SafetensorsOutput out;
  out.name = (key + "/" + entry.getName().strref()).str();
  Attribute value = entry.getValue();
  if (auto ints = dyn_cast<DenseIntElementsAttr>(value)) {
    out.dtype = "I64";
    out.shape.assign(ints.getType().getShape().begin(),
                     ints.getType().getShape().end());
    SmallVector<int64_t> v;
    for (APInt x : ints.getValues<APInt>())
      v.push_back(x.getSExtValue());
    out.bytes = toBytes<int64_t>(v);
  } else if (auto floats = dyn_cast<DenseFPElementsAttr>(value)) {
    out.dtype = "F32";
    out.shape.assign(floats.getType().getShape().begin(),
                     floats.getType().getShape().end());
    SmallVector<float> v;
    for (APFloat x : floats.getValues<APFloat>())
      v.push_back(static_cast<float>(x.convertToDouble()));
    out.bytes = toBytes<float>(v);
  } else if (auto i = dyn_cast<IntegerAttr>(value)) {
    out.dtype = "I64";
    out.bytes = toBytes<int64_t>(ArrayRef<int64_t>{i.getInt()});
  } else if (auto f = dyn_cast<FloatAttr>(value)) {
    out.dtype = "F64";
    out.bytes = toBytes<double>(ArrayRef<double>{f.getValueAsDouble()});
  }
  return out;
}

LogicalResult mlir::quant_xform::exportStatsFile(ModuleOp module,
                                                 StringRef path) {
  FailureOr<LinearsByKey> linears = linearsByKey(module);
  if (failed(linears))
    return failure();
  std::vector<SafetensorsOutput> tensors;
  for (auto &[key, op] : *linears) {
    auto stats = op->getAttrOfType<DictionaryAttr>(kStatsAttrName);
    if (!stats)
      continue;
    for (NamedAttribute entry : stats) {
      tensors.push_back(entryToTensor(key, entry));
      if (tensors.back().dtype.empty())
        return op.emitError()
               << "statistics entry '" << entry.getName().strref()
               << "' has no file representation";
    }
  }
  if (tensors.empty())
    return module.emitError()
           << "no linear has calibration statistics to export to '" << path
           << "'; run quant-xform-calibrate first";
  if (llvm::Error err =
          io::writeSafetensors(path, tensors,
                               {{"format", kStatsFileFormat.str()},
                                {"version", kStatsFileVersion.str()}}))
    return module.emitError() << llvm::toString(std::move(err));
  return success();
}

//===----------------------------------------------------------------------===//
// Import
//===----------------------------------------------------------------------===//

namespace {
/// What a statistics entry must be in the file.
enum class EntryKind { FloatTensor, IntTensor, IntScalar, FloatScalar };
} // namespace

static std::optional<EntryKind> entryKind(StringRef entry) {
  return llvm::StringSwitch<std::optional<EntryKind>>(entry)
      .Cases({"absmax", "min", "max", "ema_absmax", "second_moment",
              "sampled_rows"},
             EntryKind::FloatTensor)
      .Cases({"outlier_rows", "histogram"}, EntryKind::IntTensor)
      .Case("rows", EntryKind::IntScalar)
      .Cases({"outlier_threshold", "histogram_max"}, EntryKind::FloatScalar)
      .Default(std::nullopt);
}

/// The integer values of an I64 or I32 tensor.
static std::optional<std::vector<int64_t>>
readInts(const SafetensorsTensor &t) {
  if (t.dtype != "I64" && t.dtype != "I32")
    return std::nullopt;
  std::vector<int64_t> values;
  const char *p = t.bytes.data();
  for (int64_t i = 0, n = t.numElements(); i < n; ++i)
    values.push_back(
        t.dtype == "I64"
            ? llvm::support::endian::read64le(p + 8 * i)
            : static_cast<int32_t>(llvm::support::endian::read32le(p + 4 * i)));
  return values;
}

/// The attribute of one entry, or an error message.
static FailureOr<Attribute> tensorToEntry(Builder &b,
                                          const SafetensorsTensor &t,
                                          EntryKind kind, std::string &error) {
  bool scalar = kind == EntryKind::IntScalar || kind == EntryKind::FloatScalar;
  if (scalar && t.numElements() != 1) {
    error = "must be a scalar (shape [])";
    return failure();
  }
  if (kind == EntryKind::IntScalar || kind == EntryKind::IntTensor) {
    std::optional<std::vector<int64_t>> v = readInts(t);
    if (!v) {
      error = "must be I64 or I32, not " + t.dtype;
      return failure();
    }
    if (scalar)
      return Attribute(b.getI64IntegerAttr(v->front()));
    return Attribute(DenseElementsAttr::get(
        RankedTensorType::get(t.shape, b.getI64Type()), ArrayRef(*v)));
  }
  if (scalar && t.dtype == "F64") // Keep all of a double's precision.
    return Attribute(b.getF64FloatAttr(llvm::bit_cast<double>(
        llvm::support::endian::read64le(t.bytes.data()))));
  llvm::Expected<std::vector<float>> v = io::toFloat32(t);
  if (!v) {
    error = llvm::toString(v.takeError());
    return failure();
  }
  if (scalar)
    return Attribute(b.getF64FloatAttr(v->front()));
  return Attribute(DenseElementsAttr::get(
      RankedTensorType::get(t.shape, b.getF32Type()), ArrayRef(*v)));
}

LogicalResult mlir::quant_xform::importStatsFile(ModuleOp module,
                                                 const SafetensorsFile &file,
                                                 StringRef name) {
  auto meta = file.metadata().find("format");
  if (meta == file.metadata().end() || meta->second != kStatsFileFormat)
    return module.emitError()
           << "'" << name
           << "' is not a quant-xform statistics file (its __metadata__ "
              "has no \"format\": \""
           << kStatsFileFormat << "\")";
  auto version = file.metadata().find("version");
  if (version == file.metadata().end() || version->second != kStatsFileVersion)
    return module.emitError()
           << "'" << name << "': unsupported statistics file version '"
           << (version == file.metadata().end() ? "" : version->second)
           << "' (this build reads version " << kStatsFileVersion << ")";
  FailureOr<LinearsByKey> linears = linearsByKey(module);
  if (failed(linears))
    return failure();

  Builder b(module.getContext());
  llvm::MapVector<LinearOp, SmallVector<NamedAttribute>> entries;
  for (const SafetensorsTensor &t : file.tensors()) {
    auto fail = [&](const Twine &message) {
      return module.emitError()
             << "'" << name << "': tensor '" << t.name << "' " << message;
    };
    auto [layer, entry] = StringRef(t.name).rsplit('/');
    if (entry.empty())
      return fail("is not named '<layer>/<entry>'");
    auto linear = linears->find(layer.str());
    if (linear == linears->end())
      return fail("names layer '" + layer +
                  "', which the module does not have");
    std::optional<EntryKind> kind = entryKind(entry);
    if (!kind)
      return fail("has an unknown statistics entry '" + entry + "'");
    std::string error;
    FailureOr<Attribute> value = tensorToEntry(b, t, *kind, error);
    if (failed(value))
      return fail(error);
    entries[linear->second].push_back(b.getNamedAttr(entry, *value));
  }

  // Check every dictionary before attaching any.
  Dialect *dialect = module.getContext()->getLoadedDialect<QuantXformDialect>();
  SmallVector<std::pair<LinearOp, DictionaryAttr>> attach;
  for (auto &[op, list] : entries) {
    auto dict = b.getDictionaryAttr(list);
    if (failed(dialect->verifyOperationAttribute(
            op, b.getNamedAttr(kStatsAttrName, dict)))) {
      return module.emitError()
             << "'" << name << "': the statistics of layer '"
             << getLayerKey(*linears, op) << "' do not fit the linear (see "
             << "above)";
    }
    attach.emplace_back(op, dict);
  }
  for (auto &[op, dict] : attach)
    op->setAttr(kStatsAttrName, dict);
  for (auto &[key, op] : *linears)
    if (!entries.count(op))
      op.emitWarning() << "linear '" << key << "' has no statistics in '"
                       << name << "'";
  return success();
}

//===----------------------------------------------------------------------===//
// Passes
//===----------------------------------------------------------------------===//

namespace {
struct ExportStats : public quant_xform::impl::ExportStatsBase<ExportStats> {
  using ExportStatsBase::ExportStatsBase;
  void runOnOperation() override {
    if (file.empty()) {
      getOperation().emitError()
          << "quant-xform-export-stats needs file=<path>";
      return signalPassFailure();
    }
    if (failed(exportStatsFile(getOperation(), file)))
      return signalPassFailure();
    markAllAnalysesPreserved();
  }
};

struct ImportStats : public quant_xform::impl::ImportStatsBase<ImportStats> {
  using ImportStatsBase::ImportStatsBase;
  void runOnOperation() override {
    if (file.empty()) {
      getOperation().emitError()
          << "quant-xform-import-stats needs file=<path>";
      return signalPassFailure();
    }
    llvm::Expected<SafetensorsFile> parsed = SafetensorsFile::open(file);
    if (!parsed) {
      getOperation().emitError() << llvm::toString(parsed.takeError());
      return signalPassFailure();
    }
    if (failed(importStatsFile(getOperation(), *parsed, file)))
      return signalPassFailure();
  }
};
} // namespace
