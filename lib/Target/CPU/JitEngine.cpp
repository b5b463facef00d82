//===- JitEngine.cpp - ORC JIT whose machine code is shared by equal modules =//
//
// See JitEngine.h. The engine follows MLIR's ExecutionEngine (the packed
// wrappers, an RTDyld linking layer, the process's symbols) but compiles
// through a process-wide object cache instead of per engine.
//
//===----------------------------------------------------------------------===//

#include "quant-xform/Target/CPU/JitEngine.h"
#include "quant-xform/Target/CPU/HostBufferCache.h"

#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/ExecutionEngine/Orc/CompileUtils.h"
#include "llvm/ExecutionEngine/Orc/ExecutionUtils.h"
#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/ExecutionEngine/Orc/LLJIT.h"
#include "llvm/ExecutionEngine/Orc/RTDyldObjectLinkingLayer.h"
#include "llvm/ExecutionEngine/SectionMemoryManager.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SHA256.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"

#include <array>
#include <future>
#include <map>
#include <mutex>

using namespace mlir;
using namespace mlir::quant_xform::cpu;
using llvm::Expected;
using llvm::MemoryBuffer;

namespace {

using ObjectPtr = std::shared_ptr<MemoryBuffer>;
using Key = std::array<uint8_t, 32>;

/// Compiled objects by the SHA-256 of their module's IR. A failed compile
/// leaves no entry; the least recently used entry goes beyond kMaxEntries.
class ObjectCache {
public:
  static ObjectCache &get() {
    static ObjectCache cache;
    return cache;
  }

  /// The object for `key`, compiled by `compile` unless another engine
  /// already did (or is doing it: then this waits for it). `reused` says
  /// which.
  Expected<ObjectPtr>
  lookupOrCompile(const Key &key,
                  llvm::function_ref<Expected<ObjectPtr>()> compile,
                  bool &reused) {
    std::promise<ObjectPtr> promise;
    std::shared_future<ObjectPtr> pending;
    {
      std::lock_guard<std::mutex> lock(mutex);
      auto it = entries.find(key);
      if (it != entries.end()) {
        it->second.lastUse = ++clock;
        pending = it->second.object;
      } else {
        evictIfFull();
        entries[key] = {promise.get_future().share(), ++clock};
      }
    }
    if (pending.valid()) {
      ObjectPtr object = pending.get();
      if (object) {
        reused = true;
        std::lock_guard<std::mutex> lock(mutex);
        ++counts.reused;
        return object;
      }
      // The other compile failed: compile here and report its own error.
      return compile();
    }
    reused = false;
    Expected<ObjectPtr> object = compile();
    std::lock_guard<std::mutex> lock(mutex);
    if (!object) {
      entries.erase(key);
      promise.set_value(nullptr);
      return object.takeError();
    }
    ++counts.compiled;
    promise.set_value(*object);
    return object;
  }

  JitEngine::CacheCounts cacheCounts() {
    std::lock_guard<std::mutex> lock(mutex);
    return counts;
  }

private:
  static constexpr size_t kMaxEntries = 32;
  struct Entry {
    std::shared_future<ObjectPtr> object;
    uint64_t lastUse = 0;
  };

  /// Drops the least recently used finished entry when the cache is full.
  void evictIfFull() {
    if (entries.size() < kMaxEntries)
      return;
    auto oldest = entries.end();
    for (auto it = entries.begin(); it != entries.end(); ++it) {
      bool done = it->second.object.wait_for(std::chrono::seconds(0)) ==
                  std::future_status::ready;
      if (done && (oldest == entries.end() ||
                   it->second.lastUse < oldest->second.lastUse))
        oldest = it;
    }
    if (oldest != entries.end())
      entries.erase(oldest);
  }

  std::mutex mutex;
  std::map<Key, Entry> entries;
  uint64_t clock = 0;
  JitEngine::CacheCounts counts;
};

std::string packedName(llvm::StringRef name) { return ("_mlir_" + name).str(); }

/// For each defined function `f`, defines `_mlir_f(ptr)`: the arguments are
/// read through an array of pointers and the result stored through the
/// pointer after them (as MLIR's ExecutionEngine does).
void packFunctionArguments(llvm::Module &module) {
  llvm::LLVMContext &ctx = module.getContext();
  llvm::IRBuilder<> builder(ctx);
  SmallVector<llvm::Function *> defined;
  for (llvm::Function &fn : module.functions())
    if (!fn.isDeclaration())
      defined.push_back(&fn);
  for (llvm::Function *fn : defined) {
    auto *type =
        llvm::FunctionType::get(builder.getVoidTy(), builder.getPtrTy(), false);
    auto *wrapper = cast<llvm::Function>(
        module.getOrInsertFunction(packedName(fn->getName()), type)
            .getCallee());
    builder.SetInsertPoint(llvm::BasicBlock::Create(ctx, "entry", wrapper));
    llvm::Value *list = wrapper->arg_begin();
    SmallVector<llvm::Value *> args;
    for (auto [index, arg] : llvm::enumerate(fn->args())) {
      llvm::Value *slot =
          builder.CreateGEP(builder.getPtrTy(), list, builder.getInt64(index));
      llvm::Value *pointer = builder.CreateLoad(builder.getPtrTy(), slot);
      args.push_back(builder.CreateLoad(arg.getType(), pointer));
    }
    llvm::Value *result = builder.CreateCall(fn, args);
    if (!result->getType()->isVoidTy()) {
      llvm::Value *slot = builder.CreateGEP(builder.getPtrTy(), list,
                                            builder.getInt64(fn->arg_size()));
      builder.CreateStore(result, builder.CreateLoad(builder.getPtrTy(), slot));
    }
    builder.CreateRetVoid();
  }
}

/// The cache key: the module's IR and the target it compiles for.
Key keyOf(const llvm::Module &module, const llvm::TargetMachine &tm) {
  llvm::SHA256 hash;
  std::string text;
  llvm::raw_string_ostream os(text);
  module.print(os, nullptr);
  os << "\n; cpu " << tm.getTargetCPU() << " features "
     << tm.getTargetFeatureString() << " O3";
  hash.update(text);
  return hash.final();
}

/// -O3 and machine code for the host, as an object file in memory.
Expected<ObjectPtr> compileToObject(llvm::Module &module,
                                    llvm::TargetMachine &tm) {
  if (llvm::Error error = makeOptimizingTransformer(
          /*optLevel=*/3, /*sizeLevel=*/0, /*targetMachine=*/nullptr)(&module))
    return std::move(error);
  llvm::orc::SimpleCompiler compiler(tm);
  Expected<std::unique_ptr<MemoryBuffer>> object = compiler(module);
  if (!object)
    return object.takeError();
  return ObjectPtr(std::move(*object));
}

} // namespace

JitEngine::~JitEngine() {
  if (jit)
    llvm::consumeError(jit->deinitialize(jit->getMainJITDylib()));
}

JitEngine::CacheCounts JitEngine::cacheCounts() {
  return ObjectCache::get().cacheCounts();
}

Expected<std::unique_ptr<JitEngine>> JitEngine::create(ModuleOp lowered,
                                                       ConstantData constants) {
  std::unique_ptr<JitEngine> engine(new JitEngine());
  engine->constants = std::move(constants);

  Expected<llvm::orc::JITTargetMachineBuilder> builder =
      llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!builder)
    return builder.takeError();
  builder->setCodeGenOptLevel(llvm::CodeGenOptLevel::Aggressive);
  Expected<std::unique_ptr<llvm::TargetMachine>> tm =
      builder->createTargetMachine();
  if (!tm)
    return tm.takeError();

  llvm::LLVMContext context;
  std::unique_ptr<llvm::Module> module =
      translateModuleToLLVMIR(lowered, context);
  if (!module)
    return llvm::createStringError("could not translate the module to LLVM IR");
  module->setDataLayout((*tm)->createDataLayout());
  module->setTargetTriple((*tm)->getTargetTriple());
  packFunctionArguments(*module);
  llvm::DataLayout layout = module->getDataLayout();

  Expected<ObjectPtr> object = ObjectCache::get().lookupOrCompile(
      keyOf(*module, **tm), [&] { return compileToObject(*module, **tm); },
      engine->reused);
  if (!object)
    return object.takeError();
  engine->object = *object;

  auto jit =
      llvm::orc::LLJITBuilder()
          .setJITTargetMachineBuilder(std::move(*builder))
          .setDataLayout(layout)
          .setObjectLinkingLayerCreator([](llvm::orc::ExecutionSession &es) {
            return std::make_unique<llvm::orc::RTDyldObjectLinkingLayer>(
                es, [](const MemoryBuffer &) {
                  return std::make_unique<llvm::SectionMemoryManager>();
                });
          })
          .create();
  if (!jit)
    return jit.takeError();
  engine->jit = std::move(*jit);
  llvm::orc::JITDylib &main = engine->jit->getMainJITDylib();
  auto process = llvm::orc::DynamicLibrarySearchGenerator::GetForCurrentProcess(
      layout.getGlobalPrefix());
  if (!process)
    return process.takeError();
  main.addGenerator(std::move(*process));
  llvm::orc::MangleAndInterner mangle(main.getExecutionSession(), layout);
  llvm::orc::SymbolMap symbols;
  for (const ConstantData::Entry &e : engine->constants.entries)
    symbols[mangle(e.symbol)] = {llvm::orc::ExecutorAddr::fromPtr(e.data),
                                 llvm::JITSymbolFlags::Exported};
  // The generic allocation functions of finalize-memref-to-llvm (the CPU
  // pipeline's cachingAllocator): the host buffer cache.
  HostBufferCacheEntryPoints cache = hostBufferCacheEntryPoints();
  auto bind = [&](llvm::StringRef name, auto *fn) {
    symbols[mangle(name)] = {
        llvm::orc::ExecutorAddr::fromPtr(reinterpret_cast<void *>(fn)),
        llvm::JITSymbolFlags::Exported};
  };
  bind("_mlir_memref_to_llvm_alloc", cache.alloc);
  bind("_mlir_memref_to_llvm_aligned_alloc", cache.alignedAlloc);
  bind("_mlir_memref_to_llvm_free", cache.free);
  if (llvm::Error error = main.define(llvm::orc::absoluteSymbols(symbols)))
    return std::move(error);
  if (llvm::Error error = engine->jit->addObjectFile(
          main, MemoryBuffer::getMemBuffer(engine->object->getMemBufferRef(),
                                           /*RequiresNullTerminator=*/false)))
    return std::move(error);
  if (llvm::Error error = engine->jit->initialize(main))
    return std::move(error);
  return engine;
}

Expected<void (*)(void **)> JitEngine::lookupPacked(llvm::StringRef name) {
  Expected<llvm::orc::ExecutorAddr> address = jit->lookup(packedName(name));
  if (!address)
    return address.takeError();
  return address->toPtr<void (*)(void **)>();
}
