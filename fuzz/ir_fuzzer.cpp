//===- ir_fuzzer.cpp - libFuzzer target: parse, verify, transform IR ------===//
//
// Treats the input as MLIR text: parses and verifies it with every
// quant-xform dialect registered, then runs the folds, canonicalization and
// the quant-xform-w8a8 pipeline (no calibration), the CPU lowering to
// linalg and the GPU lowering up to NVVM. Any crash, sanitizer report or hang
// is a finding; diagnostics are expected and ignored. Modules with large
// tensors are skipped so that each input stays fast.
//
//===----------------------------------------------------------------------===//

#include "quant-xform/Conversion/Passes.h"
#include "quant-xform/InitAll/InitAll.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/Support/raw_ostream.h"

#include <cstddef>
#include <cstdint>
#include <string>

using namespace mlir;

/// True when every ranked tensor in the module has at most `limit` elements.
static bool smallEnough(ModuleOp module, int64_t limit) {
  bool small = true;
  module.walk([&](Operation *op) {
    auto check = [&](Type t) {
      if (auto rt = dyn_cast<RankedTensorType>(t))
        if (!rt.hasStaticShape() || rt.getNumElements() > limit)
          small = false;
    };
    for (Type t : op->getResultTypes())
      check(t);
    for (Type t : op->getOperandTypes())
      check(t);
  });
  return small;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static DialectRegistry *registry = [] {
    auto *r = new DialectRegistry();
    quant_xform::registerAllDialects(*r);
    quant_xform::registerAllPasses();
    return r;
  }();
  MLIRContext ctx(*registry, MLIRContext::Threading::DISABLED);
  ctx.getDiagEngine().registerHandler([](Diagnostic &) { return success(); });
  std::string text(reinterpret_cast<const char *>(data), size);
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(text, &ctx);
  if (!module || !smallEnough(*module, 4096))
    return 0;
  for (const char *pipeline :
       {"builtin.module(canonicalize,quant-xform-fold-transforms-into-linears,"
        "quant-xform-fold-diagonals-into-norms,"
        "quant-xform-fold-norm-scales-into-linears,quant-xform-fold-batch-norms,"
        "quant-xform-layernorm-to-rmsnorm)",
        "builtin.module(quant-xform-insert-transforms{kind=hadamard},"
        "quant-xform-w8a8{rotation=hadamard})",
        "builtin.module(convert-quant-xform-to-linalg)"}) {
    OwningOpRef<ModuleOp> copy(cast<ModuleOp>((*module)->clone()));
    PassManager pm(&ctx);
    if (failed(parsePassPipeline(pipeline, pm, llvm::nulls())))
      __builtin_trap(); // The pipelines above are fixed: this is a bug.
    (void)pm.run(*copy);
  }
  // The GPU lowering up to (not including) NVVM: kernel outlining and
  // generation, bufferization, loop kernels, device buffers.
  {
    OwningOpRef<ModuleOp> copy(cast<ModuleOp>((*module)->clone()));
    PassManager pm(&ctx);
    quant_xform::buildGPUHostPipeline(pm, quant_xform::GPUPipelineOptions());
    (void)pm.run(*copy);
  }
  return 0;
}
