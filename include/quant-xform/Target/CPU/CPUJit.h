//===- CPUJit.h - JIT-compile and run a module on the CPU ---------*- C++
//-*-===//
//
// Lowers a quant_xform module with the CPU pipeline, JIT-compiles it with
// JitEngine (ORC, machine code shared by equal modules), and runs a function on
// reference Tensors (inputs converted to the function's element types, results
// read back).
//
//===----------------------------------------------------------------------===//

#ifndef QUANT_XFORM_TARGET_CPU_CPUJIT_H
#define QUANT_XFORM_TARGET_CPU_CPUJIT_H

#include "quant-xform/Conversion/QuantXformToLinalg/Passes.h"
#include "quant-xform/IO/Tensor.h"

#include "mlir/IR/BuiltinOps.h"

#include <memory>

namespace mlir::quant_xform::cpu {

class JitEngine;

/// A function compiled for the CPU, ready to run.
class CompiledFunction {
public:
  /// Lowers a clone of `module` and JIT-compiles it; `function` must take
  /// and return statically shaped tensors. Diagnostics go to the module's
  /// context.
  static FailureOr<std::unique_ptr<CompiledFunction>>
  compile(ModuleOp module, StringRef function,
          const CPUPipelineOptions &options);
  /// Lowers and JIT-compiles `module` once and returns its `functions`
  /// (sharing one engine: code and constants are compiled once).
  static FailureOr<SmallVector<std::unique_ptr<CompiledFunction>>>
  compileAll(ModuleOp module, ArrayRef<std::string> functions,
             const CPUPipelineOptions &options);
  ~CompiledFunction();

  /// Runs the function; argument count, shapes and element kinds must match.
  FailureOr<SmallVector<io::Tensor>> run(ArrayRef<io::Tensor> args,
                                         Location loc) const;

  /// Runs the function `iterations` times on the same arguments and returns
  /// each run's wall time in seconds (for benchmarks).
  FailureOr<std::vector<double>> time(ArrayRef<io::Tensor> args,
                                      int64_t iterations, Location loc) const;

  /// Runs the function on caller-owned contiguous row-major buffers: one
  /// pointer per argument, then one per result (written). No copies; the
  /// caller guarantees sizes and element types (see getArgumentTypes).
  LogicalResult runRaw(ArrayRef<void *> buffers, Location loc) const;

  ArrayRef<RankedTensorType> getArgumentTypes() const { return argTypes; }
  ArrayRef<RankedTensorType> getResultTypes() const { return resultTypes; }

private:
  CompiledFunction() = default;
  std::shared_ptr<JitEngine> engine;
  /// The packed wrapper of `_mlir_ciface_<name>`, looked up once.
  void (*entry)(void **) = nullptr;
  std::string name;
  SmallVector<RankedTensorType> argTypes, resultTypes;
};

} // namespace mlir::quant_xform::cpu

#endif
