//===- CPUJit.cpp - JIT-compile and run a module on the CPU --------------===//

#include "quant-xform/Target/CPU/CPUJit.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/OpenMP/OpenMPToLLVMIRTranslation.h"
#include "llvm/Support/DynamicLibrary.h"
#include "llvm/Support/TargetSelect.h"

#include <chrono>
#include <cstring>

using namespace mlir;
using namespace mlir::quant_xform;
using namespace mlir::quant_xform::cpu;
using reference::DType;
using reference::Tensor;

CompiledFunction::~CompiledFunction() = default;

FailureOr<std::unique_ptr<CompiledFunction>>
CompiledFunction::compile(ModuleOp module, StringRef function,
                          const CPUPipelineOptions &options) {
  auto fn = module.lookupSymbol<func::FuncOp>(function);
  if (!fn)
    return module.emitError() << "no function named '" << function << "'";
  std::unique_ptr<CompiledFunction> out(new CompiledFunction());
  out->name = function.str();
  auto collect = [&](TypeRange types, SmallVector<RankedTensorType> &into,
                     StringRef what) -> LogicalResult {
    for (Type t : types) {
      auto rt = dyn_cast<RankedTensorType>(t);
      if (!rt || !rt.hasStaticShape() ||
          failed(reference::dtypeOf(rt.getElementType())))
        return fn.emitError() << "the CPU runner needs statically shaped "
                                 "tensor "
                              << what << "s, got " << t;
      into.push_back(rt);
    }
    return success();
  };
  if (failed(collect(fn.getArgumentTypes(), out->argTypes, "argument")) ||
      failed(collect(fn.getResultTypes(), out->resultTypes, "result")))
    return failure();

  OwningOpRef<ModuleOp> lowered(cast<ModuleOp>(module->clone()));
  MLIRContext *ctx = module.getContext();
  PassManager pm(ctx);
  buildCPUPipeline(pm, options);
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

  // The options hold a function_ref: keep the transformer alive.
  std::function<llvm::Error(llvm::Module *)> optimize =
      makeOptimizingTransformer(/*optLevel=*/3, /*sizeLevel=*/0,
                                /*targetMachine=*/nullptr);
  ExecutionEngineOptions engineOptions;
  engineOptions.transformer = optimize;
  engineOptions.jitCodeGenOptLevel = llvm::CodeGenOptLevel::Aggressive;
  auto engine = ExecutionEngine::create(*lowered, engineOptions);
  if (!engine) {
    std::string message = llvm::toString(engine.takeError());
    return module.emitError() << "JIT compilation failed: " << message;
  }
  out->engine = std::move(*engine);
  return out;
}

namespace {

/// A dense buffer and its memref descriptor {allocated, aligned, offset,
/// sizes..., strides...} (all 8-byte fields on 64-bit targets).
struct Buffer {
  std::vector<char> bytes;
  std::vector<int64_t> descriptor;
  DType dtype;
  SmallVector<int64_t> shape;

  Buffer(RankedTensorType type, DType dtype) : dtype(dtype) {
    shape.assign(type.getShape().begin(), type.getShape().end());
    int64_t n = type.getNumElements();
    bytes.assign(std::max<int64_t>(n, 1) * reference::storageBytes(dtype) + 64,
                 0);
    int64_t rank = type.getRank();
    descriptor.assign(3 + 2 * rank, 0);
    auto ptr = reinterpret_cast<int64_t>(data());
    descriptor[0] = descriptor[1] = ptr;
    int64_t stride = 1;
    for (int64_t d = rank - 1; d >= 0; --d) {
      descriptor[3 + d] = shape[d];
      descriptor[3 + rank + d] = stride;
      stride *= shape[d];
    }
  }
  /// 64-byte aligned start of the elements.
  char *data() {
    auto p = reinterpret_cast<uintptr_t>(bytes.data());
    return bytes.data() + ((64 - p % 64) % 64);
  }

  void store(const Tensor &t) {
    char *p = data();
    for (int64_t i = 0, e = t.numElements(); i < e; ++i) {
      switch (dtype) {
      case DType::F32: {
        float v = static_cast<float>(t.getFloat(i));
        std::memcpy(p + 4 * i, &v, 4);
        break;
      }
      case DType::F64: {
        double v = t.getFloat(i);
        std::memcpy(p + 8 * i, &v, 8);
        break;
      }
      case DType::I8:
      case DType::U8:
        p[i] = static_cast<char>(t.getInt(i));
        break;
      case DType::I32: {
        auto v = static_cast<int32_t>(t.getInt(i));
        std::memcpy(p + 4 * i, &v, 4);
        break;
      }
      case DType::I64: {
        int64_t v = t.getInt(i);
        std::memcpy(p + 8 * i, &v, 8);
        break;
      }
      default:
        break;
      }
    }
  }

  Tensor load() {
    char *p = data();
    int64_t n = 1;
    for (int64_t d : shape)
      n *= d;
    std::vector<double> f;
    std::vector<int64_t> ints;
    for (int64_t i = 0; i < n; ++i) {
      switch (dtype) {
      case DType::F32: {
        float v;
        std::memcpy(&v, p + 4 * i, 4);
        f.push_back(v);
        break;
      }
      case DType::F64: {
        double v;
        std::memcpy(&v, p + 8 * i, 8);
        f.push_back(v);
        break;
      }
      case DType::I8:
        ints.push_back(static_cast<int8_t>(p[i]));
        break;
      case DType::U8:
        ints.push_back(static_cast<uint8_t>(p[i]));
        break;
      case DType::I32: {
        int32_t v;
        std::memcpy(&v, p + 4 * i, 4);
        ints.push_back(v);
        break;
      }
      case DType::I64: {
        int64_t v;
        std::memcpy(&v, p + 8 * i, 8);
        ints.push_back(v);
        break;
      }
      default:
        break;
      }
    }
    return reference::isFloat(dtype) ? Tensor::fromFloats(shape, f, dtype)
                                     : Tensor::fromInts(shape, ints, dtype);
  }
};

bool supported(DType t) {
  return t == DType::F32 || t == DType::F64 || t == DType::I8 ||
         t == DType::U8 || t == DType::I32 || t == DType::I64;
}

} // namespace

/// Prepares buffers for `args` and the results; checks shapes.
static LogicalResult prepare(ArrayRef<RankedTensorType> argTypes,
                             ArrayRef<RankedTensorType> resultTypes,
                             ArrayRef<Tensor> args, Location loc,
                             std::vector<Buffer> &buffers) {
  if (args.size() != argTypes.size())
    return emitError(loc) << "expected " << argTypes.size()
                          << " arguments, got " << args.size();
  for (auto [i, type] : llvm::enumerate(argTypes)) {
    DType dt = *reference::dtypeOf(type.getElementType());
    if (!supported(dt))
      return emitError(loc)
             << "argument #" << i << ": element type " << type.getElementType()
             << " is not supported by the CPU runner";
    if (args[i].shape() != type.getShape())
      return emitError(loc)
             << "argument #" << i << " has the wrong shape for " << type;
    buffers.emplace_back(type, dt);
    buffers.back().store(args[i]);
  }
  for (RankedTensorType type : resultTypes) {
    DType dt = *reference::dtypeOf(type.getElementType());
    if (!supported(dt))
      return emitError(loc) << "result element type " << type.getElementType()
                            << " is not supported by the CPU runner";
    buffers.emplace_back(type, dt);
  }
  return success();
}

FailureOr<SmallVector<Tensor>> CompiledFunction::run(ArrayRef<Tensor> args,
                                                     Location loc) const {
  std::vector<Buffer> buffers;
  buffers.reserve(argTypes.size() + resultTypes.size());
  if (failed(prepare(argTypes, resultTypes, args, loc, buffers)))
    return failure();
  SmallVector<void *> descriptors, packed;
  for (Buffer &b : buffers)
    descriptors.push_back(b.descriptor.data());
  for (void *&d : descriptors)
    packed.push_back(&d);
  if (llvm::Error error = engine->invokePacked("_mlir_ciface_" + name, packed))
    return emitError(loc) << "running '" << name
                          << "' failed: " << llvm::toString(std::move(error));
  SmallVector<Tensor> results;
  for (size_t i = argTypes.size(); i < buffers.size(); ++i)
    results.push_back(buffers[i].load());
  return results;
}

FailureOr<std::vector<double>> CompiledFunction::time(ArrayRef<Tensor> args,
                                                      int64_t iterations,
                                                      Location loc) const {
  std::vector<Buffer> buffers;
  buffers.reserve(argTypes.size() + resultTypes.size());
  if (failed(prepare(argTypes, resultTypes, args, loc, buffers)))
    return failure();
  SmallVector<void *> descriptors, packed;
  for (Buffer &b : buffers)
    descriptors.push_back(b.descriptor.data());
  for (void *&d : descriptors)
    packed.push_back(&d);
  auto fn = engine->lookupPacked("_mlir_ciface_" + name);
  if (!fn)
    return emitError(loc) << llvm::toString(fn.takeError());
  std::vector<double> seconds;
  for (int64_t i = 0; i < iterations; ++i) {
    auto start = std::chrono::steady_clock::now();
    (*fn)(packed.data());
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
  std::vector<std::vector<int64_t>> descriptors;
  SmallVector<RankedTensorType> types(argTypes);
  types.append(resultTypes.begin(), resultTypes.end());
  for (auto [type, data] : llvm::zip_equal(types, buffers)) {
    int64_t rank = type.getRank();
    std::vector<int64_t> d(3 + 2 * rank, 0);
    d[0] = d[1] = reinterpret_cast<int64_t>(data);
    int64_t stride = 1;
    for (int64_t i = rank - 1; i >= 0; --i) {
      d[3 + i] = type.getDimSize(i);
      d[3 + rank + i] = stride;
      stride *= type.getDimSize(i);
    }
    descriptors.push_back(std::move(d));
  }
  SmallVector<void *> pointers, packed;
  for (std::vector<int64_t> &d : descriptors)
    pointers.push_back(d.data());
  for (void *&p : pointers)
    packed.push_back(&p);
  if (llvm::Error error = engine->invokePacked("_mlir_ciface_" + name, packed))
    return emitError(loc) << "running '" << name
                          << "' failed: " << llvm::toString(std::move(error));
  return success();
}
