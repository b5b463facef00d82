//===- CPUJit.cpp - JIT-compile and run a module on the CPU --------------===//

#include "quant-xform/Target/CPU/CPUJit.h"
#include "quant-xform/Target/CPU/ConstantsAsData.h"
#include "quant-xform/Target/CPU/JitEngine.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/OpenMP/OpenMPToLLVMIRTranslation.h"
#include "llvm/Support/DynamicLibrary.h"
#include "llvm/Support/TargetSelect.h"

#include <chrono>

using namespace mlir;
using namespace mlir::quant_xform;
using namespace mlir::quant_xform::cpu;
using io::DType;
using io::Tensor;

CompiledFunction::~CompiledFunction() = default;

/// The statically shaped tensor types of `types`, or an error naming `what`.
static LogicalResult collectTypes(func::FuncOp fn, TypeRange types,
                                  SmallVector<RankedTensorType> &into,
                                  StringRef what) {
  for (Type t : types) {
    auto rt = dyn_cast<RankedTensorType>(t);
    if (!rt || !rt.hasStaticShape() || failed(io::dtypeOf(rt.getElementType())))
      return fn.emitError() << "the CPU runner needs statically shaped "
                               "tensor "
                            << what << "s, got " << t;
    into.push_back(rt);
  }
  return success();
}

/// Constants of at least this many bytes are kept out of the LLVM module.
/// Small enough that every per-layer weight, scale and norm vector leaves:
/// then the layers of a decoder lower to the same LLVM IR and JitEngine
/// compiles it once (docs/DECISIONS.md).
static constexpr size_t kMinExternalConstantBytes = 64;

/// Lowers a clone of `module` with the CPU pipeline and JIT-compiles it.
static FailureOr<std::shared_ptr<JitEngine>>
buildEngine(ModuleOp module, const CPUPipelineOptions &options) {
  OwningOpRef<ModuleOp> lowered(cast<ModuleOp>(module->clone()));
  MLIRContext *ctx = module.getContext();
  PassManager pm(ctx);
  // Intermediate buffers come from the JIT's buffer cache (JitEngine binds
  // the generic allocation functions to it).
  CPUPipelineOptions jitOptions = options;
  jitOptions.cachingAllocator = true;
  buildCPUPipeline(pm, jitOptions);
  if (failed(pm.run(*lowered)))
    return failure();
  if (options.threads > 1) {
    // Generated OpenMP code calls libomp's __kmpc_* entry points.
    std::string error;
    if (llvm::sys::DynamicLibrary::LoadLibraryPermanently("libomp.so.5",
                                                          &error))
      return module.emitError()
             << "--cpu-threads > 1 needs the OpenMP runtime (libomp.so.5, "
                "Debian package libomp5): "
             << error;
  }
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  DialectRegistry registry;
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  registerOpenMPDialectTranslation(registry);
  ctx->appendDialectRegistry(registry);
  // Weights stay data: constants leave the LLVM module (see
  // ConstantsAsData.h) and the JIT resolves their symbols to our buffers.
  ConstantData constants =
      externalizeLargeConstants(*lowered, kMinExternalConstantBytes);
  auto engine = JitEngine::create(*lowered, std::move(constants));
  if (!engine) {
    std::string message = llvm::toString(engine.takeError());
    return module.emitError() << "JIT compilation failed: " << message;
  }
  return std::shared_ptr<JitEngine>(std::move(*engine));
}

FailureOr<std::unique_ptr<CompiledFunction>>
CompiledFunction::compile(ModuleOp module, StringRef function,
                          const CPUPipelineOptions &options) {
  auto all = compileAll(module, {function.str()}, options);
  if (failed(all))
    return failure();
  return std::move(all->front());
}

FailureOr<SmallVector<std::unique_ptr<CompiledFunction>>>
CompiledFunction::compileAll(ModuleOp module, ArrayRef<std::string> functions,
                             const CPUPipelineOptions &options) {
  SmallVector<std::unique_ptr<CompiledFunction>> out;
  for (const std::string &function : functions) {
    auto fn = module.lookupSymbol<func::FuncOp>(function);
    if (!fn)
      return module.emitError() << "no function named '" << function << "'";
    std::unique_ptr<CompiledFunction> compiled(new CompiledFunction());
    compiled->name = function;
    if (failed(collectTypes(fn, fn.getArgumentTypes(), compiled->argTypes,
                            "argument")) ||
        failed(collectTypes(fn, fn.getResultTypes(), compiled->resultTypes,
                            "result")))
      return failure();
    out.push_back(std::move(compiled));
  }
  FailureOr<std::shared_ptr<JitEngine>> engine = buildEngine(module, options);
  if (failed(engine))
    return failure();
  for (std::unique_ptr<CompiledFunction> &compiled : out) {
    compiled->engine = *engine;
    auto entry =
        compiled->engine->lookupPacked("_mlir_ciface_" + compiled->name);
    if (!entry) {
      std::string message = llvm::toString(entry.takeError());
      return module.emitError() << "JIT compilation failed: " << message;
    }
    compiled->entry = *entry;
  }
  return out;
}

namespace {

/// A memref descriptor {allocated, aligned, offset, sizes..., strides...}
/// (all 8-byte fields on 64-bit targets) of a contiguous row-major buffer.
std::vector<int64_t> makeDescriptor(RankedTensorType type, void *data) {
  int64_t rank = type.getRank();
  std::vector<int64_t> d(3 + 2 * rank, 0);
  d[0] = d[1] = reinterpret_cast<int64_t>(data);
  int64_t stride = 1;
  for (int64_t i = rank - 1; i >= 0; --i) {
    d[3 + i] = type.getDimSize(i);
    d[3 + rank + i] = stride;
    stride *= type.getDimSize(i);
  }
  return d;
}

/// A 64-byte aligned buffer holding one tensor in its element type.
struct Buffer {
  std::vector<char> bytes;
  RankedTensorType type;
  DType dtype;

  Buffer(RankedTensorType type, DType dtype) : type(type), dtype(dtype) {
    bytes.assign(std::max<int64_t>(type.getNumElements(), 1) *
                         io::storageBytes(dtype) +
                     64,
                 0);
  }
  char *data() {
    auto p = reinterpret_cast<uintptr_t>(bytes.data());
    return bytes.data() + ((64 - p % 64) % 64);
  }
  /// Writes `t` (same kind, float or integer) in this buffer's type.
  void store(const Tensor &t) {
    Tensor converted = t.dtype() == dtype ? t
                       : t.isFloat()
                           ? Tensor::fromFloats(t.shape(), t.floats(), dtype)
                           : Tensor::fromInts(t.shape(), t.ints(), dtype);
    size_t width = io::storageBytes(dtype);
    for (int64_t i = 0, e = converted.numElements(); i < e; ++i)
      converted.storeElement(i, data() + i * width);
  }
  Tensor load() {
    Tensor t(type.getShape(), dtype);
    size_t width = io::storageBytes(dtype);
    for (int64_t i = 0, e = t.numElements(); i < e; ++i)
      t.loadElement(i, data() + i * width);
    return t;
  }
};

bool supported(DType t) {
  return t == DType::F32 || t == DType::F64 || t == DType::BF16 ||
         t == DType::F16 || t == DType::I8 || t == DType::U8 ||
         t == DType::I32 || t == DType::I64;
}

} // namespace

/// Prepares buffers for `args` and the results, and their data pointers in
/// the same order; checks counts, shapes and element kinds.
static LogicalResult prepare(ArrayRef<RankedTensorType> argTypes,
                             ArrayRef<RankedTensorType> resultTypes,
                             ArrayRef<Tensor> args, Location loc,
                             std::vector<Buffer> &buffers,
                             SmallVectorImpl<void *> &pointers) {
  buffers.reserve(argTypes.size() + resultTypes.size());
  if (args.size() != argTypes.size())
    return emitError(loc) << "expected " << argTypes.size()
                          << " arguments, got " << args.size();
  for (auto [i, type] : llvm::enumerate(argTypes)) {
    DType dt = *io::dtypeOf(type.getElementType());
    if (!supported(dt))
      return emitError(loc)
             << "argument #" << i << ": element type " << type.getElementType()
             << " is not supported by the CPU runner";
    if (args[i].shape() != type.getShape())
      return emitError(loc)
             << "argument #" << i << " has the wrong shape for " << type;
    if (args[i].isFloat() != io::isFloat(dt))
      return emitError(loc) << "argument #" << i << " holds "
                            << (args[i].isFloat() ? "floats" : "integers")
                            << ", expected " << type;
    buffers.emplace_back(type, dt);
    buffers.back().store(args[i]);
  }
  for (RankedTensorType type : resultTypes) {
    DType dt = *io::dtypeOf(type.getElementType());
    if (!supported(dt))
      return emitError(loc) << "result element type " << type.getElementType()
                            << " is not supported by the CPU runner";
    buffers.emplace_back(type, dt);
  }
  for (Buffer &b : buffers)
    pointers.push_back(b.data());
  return success();
}

FailureOr<SmallVector<Tensor>> CompiledFunction::run(ArrayRef<Tensor> args,
                                                     Location loc) const {
  std::vector<Buffer> buffers;
  SmallVector<void *> pointers;
  if (failed(prepare(argTypes, resultTypes, args, loc, buffers, pointers)))
    return failure();
  if (failed(runRaw(pointers, loc)))
    return failure();
  SmallVector<Tensor> results;
  for (size_t i = argTypes.size(); i < buffers.size(); ++i)
    results.push_back(buffers[i].load());
  return results;
}

FailureOr<std::vector<double>> CompiledFunction::time(ArrayRef<Tensor> args,
                                                      int64_t iterations,
                                                      Location loc) const {
  std::vector<Buffer> buffers;
  SmallVector<void *> pointers;
  if (failed(prepare(argTypes, resultTypes, args, loc, buffers, pointers)))
    return failure();
  std::vector<double> seconds;
  for (int64_t i = 0; i < iterations; ++i) {
    auto start = std::chrono::steady_clock::now();
    if (failed(runRaw(pointers, loc)))
      return failure();
    auto stop = std::chrono::steady_clock::now();
    seconds.push_back(std::chrono::duration<double>(stop - start).count());
  }
  return seconds;
}

LogicalResult CompiledFunction::runRaw(ArrayRef<void *> buffers,
                                       Location loc) const {
  if (buffers.size() != argTypes.size() + resultTypes.size())
    return emitError(loc) << "expected " << argTypes.size() << " + "
                          << resultTypes.size() << " buffers, got "
                          << buffers.size();
  SmallVector<RankedTensorType> types(argTypes);
  types.append(resultTypes.begin(), resultTypes.end());
  std::vector<std::vector<int64_t>> descriptors;
  for (auto [type, data] : llvm::zip_equal(types, buffers))
    descriptors.push_back(makeDescriptor(type, data));
  SmallVector<void *> pointers, packed;
  for (std::vector<int64_t> &d : descriptors)
    pointers.push_back(d.data());
  for (void *&p : pointers)
    packed.push_back(&p);
  entry(packed.data());
  return success();
}
