//===- ConstantsAsData.h - large constants leave the JIT code ---*- C++ -*-===//
//
// Weights (and the packed forms the CPU lowering makes of them at compile
// time) are `llvm.mlir.global` constants after lowering. Left in the LLVM
// module they cost the optimizer minutes per layer (InstCombine scans every
// initializer) for nothing: no code is specialized on weight values. The JIT
// therefore moves every large constant out of the module into a buffer it
// owns, declares the global external, and resolves the symbol to the buffer.
//
//===----------------------------------------------------------------------===//

#ifndef QUANT_XFORM_TARGET_CPU_CONSTANTSASDATA_H
#define QUANT_XFORM_TARGET_CPU_CONSTANTSASDATA_H

#include "mlir/IR/BuiltinOps.h"

#include <memory>
#include <string>
#include <vector>

namespace mlir::quant_xform::cpu {

/// The bytes of constants moved out of a module, by symbol name.
struct ConstantData {
  struct Entry {
    std::string symbol;
    /// Over-allocated so that `data` can be aligned.
    std::unique_ptr<char[]> storage;
    char *data = nullptr;
    size_t bytes = 0;
  };
  std::vector<Entry> entries;
  /// Total bytes held.
  size_t totalBytes() const;
};

/// Replaces every constant `llvm.mlir.global` of an LLVM-dialect `module`
/// whose dense initializer holds at least `minBytes` by an external
/// declaration, and returns the initializers' bytes (aligned as the globals
/// ask, at least to 64 bytes).
ConstantData externalizeLargeConstants(ModuleOp module, size_t minBytes);

} // namespace mlir::quant_xform::cpu

#endif
