//===- JitEngine.h - ORC JIT whose machine code is shared by equal modules ===//
//
// MLIR's ExecutionEngine compiles every module it is given. The layers of a
// decoder lower to the same LLVM IR once their weights are data (see
// ConstantsAsData.h): only the buffers their external symbols resolve to
// differ. JitEngine compiles such a module once per process and links the
// same object code into each engine with that engine's constants.
//
//===----------------------------------------------------------------------===//

#ifndef QUANT_XFORM_TARGET_CPU_JITENGINE_H
#define QUANT_XFORM_TARGET_CPU_JITENGINE_H

#include "quant-xform/Target/CPU/ConstantsAsData.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <memory>

namespace llvm {
class MemoryBuffer;
namespace orc {
class LLJIT;
} // namespace orc
} // namespace llvm

namespace mlir::quant_xform::cpu {

/// JIT-compiled code of one module in the LLVM dialect, with the constant
/// data its external symbols resolve to. The machine code is cached per
/// process, keyed by the SHA-256 of the module's LLVM IR (before
/// optimization) and the host CPU: a module whose IR equals an earlier
/// one's is linked from the cached object without optimizing or compiling
/// it again. Threads that build equal modules at once compile them once.
class JitEngine {
public:
  /// Translates `lowered` to LLVM IR, optimizes it at -O3 and compiles it
  /// for the host (or takes the cached object), then links it with
  /// `constants` and the process's symbols (libc, libomp).
  static llvm::Expected<std::unique_ptr<JitEngine>>
  create(ModuleOp lowered, ConstantData constants);
  ~JitEngine();

  /// The packed entry point `_mlir_<name>` (all arguments, then the result,
  /// through one array of pointers).
  llvm::Expected<void (*)(void **)> lookupPacked(llvm::StringRef name);

  /// Whether this engine's machine code came from the cache.
  bool reusedCode() const { return reused; }

  /// Modules compiled and modules linked from the cache in this process.
  struct CacheCounts {
    int64_t compiled = 0, reused = 0;
  };
  static CacheCounts cacheCounts();

private:
  JitEngine() = default;
  ConstantData constants;
  std::shared_ptr<llvm::MemoryBuffer> object;
  std::unique_ptr<llvm::orc::LLJIT> jit;
  bool reused = false;
};

} // namespace mlir::quant_xform::cpu

#endif
