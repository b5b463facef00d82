//===- API.cpp - the C++ facade behind the Python package -----------------===//

#include "quant-xform/API/API.h"
#include "BindWeights.h"

#include "quant-xform/Dialect/QuantXform/IR/QuantXformAttrNames.h"
#include "quant-xform/Dialect/QuantXform/IR/QuantXformOps.h"
#include "quant-xform/IO/Safetensors.h"
#include "quant-xform/InitAll/InitAll.h"
#include "quant-xform/Reference/Evaluator.h"
#include "quant-xform/Support/Matrix.h"
#include "quant-xform/Target/CPU/CPUJit.h"

#include "mlir/Bytecode/BytecodeWriter.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OperationSupport.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <cstring>
#include <mutex>

using namespace mlir;
using namespace ::quant_xform::api;
namespace qapi = ::quant_xform::api;
namespace io = mlir::quant_xform::io;
namespace ref = mlir::quant_xform::reference;

//===----------------------------------------------------------------------===//
// Element types
//===----------------------------------------------------------------------===//

static io::DType toHostDType(DType t);

size_t qapi::itemSize(DType t) { return io::storageBytes(toHostDType(t)); }

const char *qapi::dtypeName(DType t) {
  switch (t) {
  case DType::F32:
    return "f32";
  case DType::F64:
    return "f64";
  case DType::F16:
    return "f16";
  case DType::I8:
    return "i8";
  case DType::U8:
    return "u8";
  case DType::I16:
    return "i16";
  case DType::I32:
    return "i32";
  case DType::I64:
    return "i64";
  case DType::Bool:
    return "bool";
  }
  return "?";
}

static io::DType toHostDType(DType t) {
  switch (t) {
  case DType::F32:
    return io::DType::F32;
  case DType::F64:
    return io::DType::F64;
  case DType::F16:
    return io::DType::F16;
  case DType::I8:
    return io::DType::I8;
  case DType::U8:
    return io::DType::U8;
  case DType::I16:
    return io::DType::I16;
  case DType::I32:
    return io::DType::I32;
  case DType::I64:
    return io::DType::I64;
  case DType::Bool:
    return io::DType::I1;
  }
  return io::DType::F32;
}

/// The API dtype of a reference dtype (bf16 travels as f32).
static DType fromHostDType(io::DType t) {
  switch (t) {
  case io::DType::F16:
    return DType::F16;
  case io::DType::BF16:
  case io::DType::F32:
    return DType::F32;
  case io::DType::F64:
    return DType::F64;
  case io::DType::I1:
    return DType::Bool;
  case io::DType::I8:
    return DType::I8;
  case io::DType::I16:
    return DType::I16;
  case io::DType::I32:
    return DType::I32;
  case io::DType::I64:
    return DType::I64;
  case io::DType::U8:
    return DType::U8;
  }
  return DType::F32;
}

static std::string shapeString(const std::vector<int64_t> &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

static int64_t product(const std::vector<int64_t> &shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

//===----------------------------------------------------------------------===//
// Safetensors
//===----------------------------------------------------------------------===//

bool qapi::loadSafetensors(const std::string &path,
                           std::vector<std::string> &names,
                           std::vector<Array> &arrays, std::string &error) {
  using namespace mlir::quant_xform::io;
  llvm::Expected<SafetensorsFile> file = SafetensorsFile::open(path);
  if (!file) {
    error = llvm::toString(file.takeError());
    return false;
  }
  for (const SafetensorsTensor &t : file->tensors()) {
    Array a;
    a.shape.assign(t.shape.begin(), t.shape.end());
    if (t.dtype == "BF16") {
      llvm::Expected<std::vector<float>> f = toFloat32(t);
      if (!f) {
        error = llvm::toString(f.takeError());
        return false;
      }
      a.dtype = DType::F32;
      a.bytes.resize(f->size() * 4);
      std::memcpy(a.bytes.data(), f->data(), a.bytes.size());
    } else {
      static const std::map<std::string, DType> kinds = {
          {"F64", DType::F64}, {"F32", DType::F32}, {"F16", DType::F16},
          {"I64", DType::I64}, {"I32", DType::I32}, {"I16", DType::I16},
          {"I8", DType::I8},   {"U8", DType::U8},   {"BOOL", DType::Bool}};
      auto it = kinds.find(t.dtype);
      if (it == kinds.end()) {
        error = path + ": tensor '" + t.name + "' has dtype " + t.dtype +
                ", which numpy cannot hold";
        return false;
      }
      a.dtype = it->second;
      a.bytes.assign(t.bytes.begin(), t.bytes.end());
    }
    names.push_back(t.name);
    arrays.push_back(std::move(a));
  }
  return true;
}

//===----------------------------------------------------------------------===//
// Contexts and diagnostics
//===----------------------------------------------------------------------===//

/// A context with every dialect and pass quant-xform uses.
static std::shared_ptr<MLIRContext> makeContext() {
  static std::once_flag registered;
  std::call_once(registered, [] { mlir::quant_xform::registerAllPasses(); });
  DialectRegistry registry;
  mlir::quant_xform::registerAllDialects(registry);
  auto ctx =
      std::make_shared<MLIRContext>(registry, MLIRContext::Threading::DISABLED);
  ctx->loadAllAvailableDialects();
  // Errors raised in Python name the problem and the location; the failing
  // op with all its attributes (weights' statistics, search records) would
  // bury that.
  ctx->printOpOnDiagnostic(false);
  return ctx;
}

namespace {
/// Collects errors (and their notes) as text; warnings and remarks go to
/// stderr as they come.
class DiagnosticCollector {
public:
  explicit DiagnosticCollector(MLIRContext *ctx)
      : handler(ctx, [this](Diagnostic &d) {
          std::string line;
          llvm::raw_string_ostream os(line);
          os << d.getLocation() << ": " << d << "\n";
          for (Diagnostic &note : d.getNotes())
            os << note.getLocation() << ": note: " << note << "\n";
          if (d.getSeverity() == DiagnosticSeverity::Error)
            text += line;
          else
            llvm::errs() << line;
          return success();
        }) {}
  /// `prefix`, then the collected errors.
  std::string message(const std::string &prefix) const {
    if (text.empty())
      return prefix;
    return prefix + ":\n" + text;
  }

private:
  std::string text;
  ScopedDiagnosticHandler handler;
};
} // namespace

//===----------------------------------------------------------------------===//
// Module
//===----------------------------------------------------------------------===//

struct Module::Impl {
  std::shared_ptr<MLIRContext> ctx;
  OwningOpRef<ModuleOp> module;
};

struct CompiledCPU::Impl {
  std::shared_ptr<MLIRContext> ctx;
  std::unique_ptr<mlir::quant_xform::cpu::CompiledFunction> function;
};

qapi::Module::Module(std::unique_ptr<Impl> impl) : impl(std::move(impl)) {}
qapi::Module::~Module() = default;
qapi::CompiledCPU::CompiledCPU(std::unique_ptr<Impl> impl, Signature sig)
    : impl(std::move(impl)), sig(std::move(sig)) {}
qapi::CompiledCPU::~CompiledCPU() = default;

std::unique_ptr<Module> Module::parse(const std::string &source,
                                      const std::string &name,
                                      std::string &error) {
  return parse(source, name, {}, error);
}

std::unique_ptr<Module>
Module::parse(const std::string &source, const std::string &name,
              const std::map<std::string, ArrayView> &weights,
              std::string &error) {
  auto impl = std::make_unique<Impl>();
  impl->ctx = makeContext();
  DiagnosticCollector diags(impl->ctx.get());
  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(llvm::MemoryBuffer::getMemBuffer(source, name),
                               llvm::SMLoc());
  // Verified once the weights are bound: verifiers read constant values.
  ParserConfig config(impl->ctx.get(), /*verifyAfterParse=*/false);
  impl->module = parseSourceFile<ModuleOp>(sourceMgr, config);
  if (!impl->module) {
    error = diags.message("cannot parse '" + name + "'");
    return nullptr;
  }
  if (!bindWeights(*impl->module, weights, error)) {
    error = "'" + name + "': " + error;
    return nullptr;
  }
  if (failed(mlir::verify(*impl->module))) {
    error = diags.message("cannot parse '" + name + "'");
    return nullptr;
  }
  return std::unique_ptr<Module>(new Module(std::move(impl)));
}

std::unique_ptr<Module> Module::load(const std::string &path,
                                     std::string &error) {
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buffer =
      llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                  /*RequiresNullTerminator=*/false);
  if (!buffer) {
    error = "cannot read '" + path + "': " + buffer.getError().message();
    return nullptr;
  }
  return parse((*buffer)->getBuffer().str(), path, error);
}

std::unique_ptr<Module> Module::clone() const {
  auto copy = std::make_unique<Impl>();
  copy->ctx = impl->ctx;
  copy->module = OwningOpRef<ModuleOp>(impl->module->clone());
  return std::unique_ptr<Module>(new Module(std::move(copy)));
}

std::string Module::print(int64_t elideLimit, bool generic) const {
  OpPrintingFlags flags;
  if (elideLimit > 0)
    flags.elideLargeElementsAttrs(elideLimit);
  if (generic)
    flags.printGenericOpForm();
  std::string text;
  llvm::raw_string_ostream os(text);
  impl->module->print(os, flags);
  return text;
}

bool Module::save(const std::string &path, bool bytecode,
                  std::string &error) const {
  std::string tmp = path + ".tmp";
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(tmp, ec);
    if (ec) {
      error = "cannot write '" + tmp + "': " + ec.message();
      return false;
    }
    if (bytecode) {
      if (failed(writeBytecodeToFile(*impl->module, os))) {
        error = "cannot write bytecode to '" + tmp + "'";
        return false;
      }
    } else {
      impl->module->print(os);
    }
    os.close();
    if (os.has_error()) {
      error = "error writing '" + tmp + "': " + os.error().message();
      os.clear_error();
      llvm::sys::fs::remove(tmp);
      return false;
    }
  }
  if (std::error_code ec = llvm::sys::fs::rename(tmp, path)) {
    error = "cannot rename '" + tmp + "' to '" + path + "': " + ec.message();
    return false;
  }
  return true;
}

bool Module::runPipeline(const std::string &pipeline, std::string &error) {
  DiagnosticCollector diags(impl->ctx.get());
  std::string text = pipeline;
  if (llvm::StringRef(text).trim().starts_with("builtin.module(") == false)
    text = "builtin.module(" + text + ")";
  std::string parseErrors;
  llvm::raw_string_ostream errs(parseErrors);
  FailureOr<OpPassManager> parsed = parsePassPipeline(text, errs);
  if (failed(parsed)) {
    error = "invalid pass pipeline '" + pipeline + "': " + parseErrors;
    return false;
  }
  PassManager pm(impl->ctx.get());
  static_cast<OpPassManager &>(pm) = *parsed;
  // The module is verified once, after the whole pipeline, not after every
  // pass: verification reads every constant weight (NaN checks), which cost
  // a tenth of a decoder layer's recipe. xform-opt and the lit tests still
  // verify after each pass (docs/DECISIONS.md).
  pm.enableVerifier(false);
  if (failed(pm.run(*impl->module))) {
    error = diags.message("pass pipeline '" + pipeline + "' failed");
    return false;
  }
  if (failed(mlir::verify(*impl->module))) {
    error = diags.message("pass pipeline '" + pipeline +
                          "' produced IR that does not verify");
    return false;
  }
  return true;
}

bool Module::verify(std::string &error) const {
  DiagnosticCollector diags(impl->ctx.get());
  if (failed(mlir::verify(*impl->module))) {
    error = diags.message("the module does not verify");
    return false;
  }
  return true;
}

/// The function `name`, or an error.
static func::FuncOp findFunction(ModuleOp module, const std::string &name,
                                 std::string &error) {
  auto fn = module.lookupSymbol<func::FuncOp>(name);
  if (!fn || fn.isExternal())
    error = "the module has no function named '" + name + "'";
  return fn && !fn.isExternal() ? fn : func::FuncOp();
}

static bool describe(Type type, std::vector<int64_t> &shape, DType &dtype,
                     std::string &error) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  if (!tensor || !tensor.hasStaticShape()) {
    std::string s;
    llvm::raw_string_ostream(s) << type;
    error = "type " + s + " is not a statically shaped tensor";
    return false;
  }
  FailureOr<io::DType> t = io::dtypeOf(tensor.getElementType());
  if (failed(t)) {
    error = "unsupported element type";
    return false;
  }
  shape.assign(tensor.getShape().begin(), tensor.getShape().end());
  dtype = fromHostDType(*t);
  return true;
}

bool Module::signature(const std::string &function, Signature &sig,
                       std::string &error) const {
  func::FuncOp fn = findFunction(*impl->module, function, error);
  if (!fn)
    return false;
  sig = Signature();
  for (Type t : fn.getArgumentTypes()) {
    sig.argShapes.emplace_back();
    sig.argTypes.emplace_back();
    if (!describe(t, sig.argShapes.back(), sig.argTypes.back(), error))
      return false;
  }
  for (Type t : fn.getResultTypes()) {
    sig.resultShapes.emplace_back();
    sig.resultTypes.emplace_back();
    if (!describe(t, sig.resultShapes.back(), sig.resultTypes.back(), error))
      return false;
  }
  return true;
}

/// Checks `args` against a signature: count, shapes and dtypes.
static bool checkArguments(const Signature &sig,
                           const std::vector<ArrayView> &args,
                           std::string &error) {
  if (args.size() != sig.argShapes.size()) {
    error = "expected " + std::to_string(sig.argShapes.size()) +
            " arguments, got " + std::to_string(args.size());
    return false;
  }
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i].shape != sig.argShapes[i]) {
      error = "argument " + std::to_string(i) + ": expected shape " +
              shapeString(sig.argShapes[i]) + ", got " +
              shapeString(args[i].shape);
      return false;
    }
    if (args[i].dtype != sig.argTypes[i]) {
      error = "argument " + std::to_string(i) + ": expected dtype " +
              dtypeName(sig.argTypes[i]) + ", got " + dtypeName(args[i].dtype);
      return false;
    }
  }
  return true;
}

bool Module::evaluate(const std::string &function,
                      const std::vector<ArrayView> &args,
                      std::vector<Array> &results, std::string &error,
                      bool declaredPrecision) const {
  Signature sig;
  if (!signature(function, sig, error) || !checkArguments(sig, args, error))
    return false;
  SmallVector<io::Tensor> tensors;
  for (const ArrayView &a : args) {
    io::Tensor t(a.shape, toHostDType(a.dtype));
    const char *p = static_cast<const char *>(a.data);
    size_t bytes = io::storageBytes(t.dtype());
    for (int64_t i = 0, e = t.numElements(); i < e; ++i)
      t.loadElement(i, p + i * bytes);
    tensors.push_back(std::move(t));
  }
  DiagnosticCollector diags(impl->ctx.get());
  ref::Evaluator evaluator(*impl->module);
  evaluator.setEmulateDeclaredPrecision(declaredPrecision);
  FailureOr<SmallVector<io::Tensor>> out = evaluator.run(function, tensors);
  if (failed(out)) {
    error = diags.message("evaluation of '" + function + "' failed");
    return false;
  }
  results.clear();
  for (const io::Tensor &t : *out) {
    Array a;
    a.dtype = fromHostDType(t.dtype());
    a.shape.assign(t.shape().begin(), t.shape().end());
    // Stored in the API dtype's width (bf16 values widen to f32).
    io::Tensor stored = t;
    if (t.dtype() == io::DType::BF16) {
      stored = io::Tensor(t.shape(), io::DType::F32);
      stored.floats() = t.floats();
    }
    size_t bytes = itemSize(a.dtype);
    a.bytes.resize(t.numElements() * bytes);
    for (int64_t i = 0, e = t.numElements(); i < e; ++i)
      stored.storeElement(i, a.bytes.data() + i * bytes);
    results.push_back(std::move(a));
  }
  return true;
}

/// A short rendering of an attribute: large elements attributes become
/// their type.
static std::string renderAttribute(Attribute attr) {
  std::string s;
  llvm::raw_string_ostream os(s);
  if (auto dense = dyn_cast<ElementsAttr>(attr);
      dense && dense.getNumElements() > 16)
    os << "<" << dense.getNumElements() << " elements: " << dense.getType()
       << ">";
  else
    os << attr;
  return s;
}

/// The quantization of a qlinear / mixed_linear, for the per-layer report.
static void describeQuantization(Operation *op, LayerInfo &info) {
  using namespace mlir::quant_xform;
  Value weightScale, input;
  if (auto q = dyn_cast<QLinearOp>(op)) {
    weightScale = q.getWeightScale();
    input = q.getInput();
  } else if (auto m = dyn_cast<MixedLinearOp>(op)) {
    weightScale = m.getWeightScale();
    info.activation = "dynamic per_token (outlier columns in float)";
  } else {
    return;
  }
  if (std::optional<std::vector<double>> w = getConstantFloats(weightScale);
      w && !w->empty()) {
    auto [lo, hi] = std::minmax_element(w->begin(), w->end());
    info.weightScaleMin = *lo;
    info.weightScaleMax = *hi;
  }
  if (!input)
    return;
  if (auto dq = input.getDefiningOp<DynamicQuantizeOp>()) {
    info.activation =
        "dynamic " +
        stringifyGranularity(dq.getScheme().getGranularity()).str();
  } else if (auto sq = input.getDefiningOp<QuantizeOp>()) {
    info.activation = "static";
    std::optional<std::vector<double>> s = getConstantFloats(sq.getScale());
    if (s && s->size() == 1)
      info.activationScale = s->front();
  }
}

/// The transform record (`quant_xform.search`) of a linear, typed.
static void describeTransform(Operation *op, LayerInfo &info) {
  using namespace mlir::quant_xform;
  auto record = op->getAttrOfType<DictionaryAttr>(kSearchAttrName);
  if (!record)
    return;
  if (auto kind = record.getAs<StringAttr>("transform"))
    info.transform = kind.str();
  auto number = [&](StringRef key) -> std::optional<double> {
    if (auto f = record.getAs<FloatAttr>(key))
      return f.getValueAsDouble();
    return std::nullopt;
  };
  info.alpha = number("alpha");
  info.sqnrBefore = number("sqnr_before");
  info.sqnrAfter = number("sqnr_after");
}

std::vector<LayerInfo> Module::layers() const {
  using namespace mlir::quant_xform;
  std::vector<LayerInfo> out;
  impl->module->walk([&](Operation *op) {
    auto layer = op->getAttrOfType<StringAttr>(kLayerAttrName);
    if (!layer)
      return;
    LayerInfo info;
    info.layer = layer.str();
    if (auto role = op->getAttrOfType<StringAttr>(kRoleAttrName))
      info.role = role.str();
    info.op = op->getName().getStringRef().str();
    llvm::raw_string_ostream types(info.types);
    llvm::interleaveComma(op->getOperandTypes(), types);
    types << " -> ";
    llvm::interleaveComma(op->getResultTypes(), types);
    for (NamedAttribute a : op->getAttrs()) {
      StringRef n = a.getName().strref();
      if (n == kLayerAttrName || n == kRoleAttrName || n == kStatsAttrName)
        continue;
      info.attributes[n.str()] = renderAttribute(a.getValue());
    }
    describeQuantization(op, info);
    describeTransform(op, info);
    out.push_back(std::move(info));
  });
  return out;
}

std::unique_ptr<CompiledCPU>
qapi::Module::compileCPU(const std::string &function, int64_t threads,
                         const std::string &int8Kernel,
                         std::string &error) const {
  auto all = compileCPUFunctions({function}, threads, int8Kernel, error);
  return all.empty() ? nullptr : std::move(all.front());
}

std::vector<std::unique_ptr<CompiledCPU>> qapi::Module::compileCPUFunctions(
    const std::vector<std::string> &functions, int64_t threads,
    const std::string &int8Kernel, std::string &error) const {
  if (functions.empty()) {
    error = "no function to compile";
    return {};
  }
  std::vector<Signature> sigs(functions.size());
  for (size_t i = 0; i < functions.size(); ++i)
    if (!signature(functions[i], sigs[i], error))
      return {};
  if (threads < 1) {
    error = "threads must be >= 1, got " + std::to_string(threads);
    return {};
  }
  DiagnosticCollector diags(impl->ctx.get());
  mlir::quant_xform::CPUPipelineOptions options;
  options.threads = threads;
  std::optional<mlir::quant_xform::Int8KernelChoice> kernel =
      mlir::quant_xform::parseInt8KernelChoice(int8Kernel);
  if (!kernel) {
    error = "invalid int8 kernel '" + int8Kernel +
            "' (expected loops, vector, avx512-vnni, amx or auto)";
    return {};
  }
  options.int8Kernel = *kernel;
  auto compiled = mlir::quant_xform::cpu::CompiledFunction::compileAll(
      *impl->module, functions, options);
  if (failed(compiled)) {
    std::string names;
    for (const std::string &f : functions)
      names += (names.empty() ? "'" : ", '") + f + "'";
    error = diags.message("CPU compilation of " + names + " failed");
    return {};
  }
  std::vector<std::unique_ptr<CompiledCPU>> out;
  for (size_t i = 0; i < functions.size(); ++i) {
    auto cimpl = std::make_unique<CompiledCPU::Impl>();
    cimpl->ctx = impl->ctx;
    cimpl->function = std::move((*compiled)[i]);
    out.push_back(
        std::make_unique<CompiledCPU>(std::move(cimpl), std::move(sigs[i])));
  }
  return out;
}

//===----------------------------------------------------------------------===//
// CompiledCPU
//===----------------------------------------------------------------------===//

bool CompiledCPU::runInto(const std::vector<ArrayView> &args,
                          const std::vector<void *> &results,
                          std::string &error) const {
  if (!checkArguments(sig, args, error))
    return false;
  if (results.size() != sig.resultShapes.size()) {
    error = "expected " + std::to_string(sig.resultShapes.size()) +
            " result buffers, got " + std::to_string(results.size());
    return false;
  }
  SmallVector<void *> buffers;
  for (const ArrayView &a : args)
    buffers.push_back(const_cast<void *>(a.data));
  buffers.append(results.begin(), results.end());
  DiagnosticCollector diags(impl->ctx.get());
  if (failed(
          impl->function->runRaw(buffers, UnknownLoc::get(impl->ctx.get())))) {
    error = diags.message("run failed");
    return false;
  }
  return true;
}

bool CompiledCPU::run(const std::vector<ArrayView> &args,
                      std::vector<Array> &results, std::string &error) const {
  results.assign(sig.resultShapes.size(), Array());
  std::vector<void *> pointers;
  for (size_t i = 0; i < results.size(); ++i) {
    results[i].dtype = sig.resultTypes[i];
    results[i].shape = sig.resultShapes[i];
    results[i].bytes.resize(product(sig.resultShapes[i]) *
                            itemSize(sig.resultTypes[i]));
    pointers.push_back(results[i].bytes.data());
  }
  return runInto(args, pointers, error);
}
