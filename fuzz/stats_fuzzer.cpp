//===- stats_fuzzer.cpp - libFuzzer target: statistics files -------------===//
//
// Calibration statistics files (quant-xform-import-stats) come from users:
// any byte string is parsed as safetensors, attached to a fixed module of
// three linears (named, unnamed '#1', and one K = 4), and then read by the
// passes that use statistics (static range choosers, the outlier split,
// PCA and SmoothQuant insertion). Diagnostics are expected; a crash, a
// sanitizer report or a hang is a finding. The seeds in fuzz/corpus/stats
// are this module's statistics: kModule saved as m.mlir, then
//   xform-opt m.mlir -quant-xform-calibrate="histogram=true keep-rows=8
//     ema=true" -quant-xform-export-stats="file=full.safetensors"
// (and without the options for minimal.safetensors).
//
//===----------------------------------------------------------------------===//

#include "quant-xform/Dialect/QuantXform/Transforms/StatsFile.h"
#include "quant-xform/InitAll/InitAll.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/Support/raw_ostream.h"

#include <cstddef>
#include <cstdint>

using namespace mlir;

/// The module the statistics are attached to.
static const char *kModule = R"mlir(
func.func @main(%x: tensor<4x8xf32>) -> (tensor<4x4xf32>, tensor<4x4xf32>) {
  %w1 = arith.constant dense<[[0.5, -1.0, 0.25, 2.0, -0.75, 0.1, 0.3, -0.2],
                              [1.5, 0.2, -0.4, 0.0, 0.9, -1.1, 0.05, 0.6],
                              [-0.3, 0.8, 1.2, -0.6, 0.3, 0.0, -1.3, 0.2],
                              [0.1, 0.1, -0.2, 0.7, -0.4, 0.5, 0.6, -0.9]]> : tensor<4x8xf32>
  %w3 = arith.constant dense<[[0.5, -0.25, 1.0, 0.75], [0.3, 0.6, -0.9, 0.2],
                              [-0.4, 0.8, 0.1, -0.7], [1.1, -0.2, 0.4, 0.3]]> : tensor<4x4xf32>
  %a = quant_xform.linear %x, %w1 {quant_xform.layer = "a"} : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x4xf32>
  %b = quant_xform.linear %x, %w1 : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x4xf32>
  %c = quant_xform.linear %a, %w3 {quant_xform.layer = "c"} : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x4xf32>
  return %b, %c : tensor<4x4xf32>, tensor<4x4xf32>
}
)mlir";

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static DialectRegistry *registry = [] {
    auto *r = new DialectRegistry();
    quant_xform::registerAllDialects(*r);
    quant_xform::registerAllPasses();
    return r;
  }();
  auto buffer = llvm::MemoryBuffer::getMemBufferCopy(
      llvm::StringRef(reinterpret_cast<const char *>(data), size),
      "fuzz-input");
  llvm::Expected<quant_xform::io::SafetensorsFile> file =
      quant_xform::io::SafetensorsFile::parse(std::move(buffer));
  if (!file) {
    llvm::consumeError(file.takeError());
    return 0;
  }
  MLIRContext ctx(*registry, MLIRContext::Threading::DISABLED);
  ctx.getDiagEngine().registerHandler([](Diagnostic &) { return success(); });
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(kModule, &ctx);
  if (!module)
    __builtin_trap(); // The module above is fixed: this is a bug.
  if (failed(quant_xform::importStatsFile(*module, *file, "fuzz-input")))
    return 0;
  if (failed(verify(*module)))
    __builtin_trap(); // Import checks everything it attaches.
  for (const char *pipeline :
       {"builtin.module(quant-xform-quantize-linears{static-activations=true "
        "activation-granularity=per_tensor range=kl})",
        "builtin.module(quant-xform-quantize-linears{static-activations=true "
        "activation-granularity=per_tensor range=ema})",
        "builtin.module(quant-xform-split-outliers)",
        "builtin.module(quant-xform-insert-transforms{kind=pca})",
        "builtin.module(quant-xform-insert-transforms{kind=smooth "
        "alpha-search=true})",
        "builtin.module(quant-xform-insert-transforms{kind=learned-affine "
        "affine-epochs=1 affine-steps=2})"}) {
    OwningOpRef<ModuleOp> copy(cast<ModuleOp>((*module)->clone()));
    PassManager pm(&ctx);
    if (failed(parsePassPipeline(pipeline, pm, llvm::nulls())))
      __builtin_trap(); // The pipelines above are fixed: this is a bug.
    (void)pm.run(*copy);
  }
  return 0;
}
