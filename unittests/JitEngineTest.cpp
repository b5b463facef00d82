//===- JitEngineTest.cpp - equal modules share machine code --------------===//

#include "TestUtils.h"

#include "quant-xform/Target/CPU/CPUJit.h"
#include "quant-xform/Target/CPU/JitEngine.h"

#include <string>

using namespace mlir;
using namespace mlir::quant_xform;
using namespace mlir::quant_xform::cpu;
using io::Tensor;

namespace {

/// A linear of 8 inputs and `n` outputs whose weight is 8·n values from
/// `first` on (every weight ≥ 64 bytes, so it leaves the code as data).
std::string linearModule(int n, double first) {
  std::string w = "dense<[";
  for (int o = 0; o < n; ++o) {
    w += o ? ", [" : "[";
    for (int i = 0; i < 8; ++i)
      w += (i ? ", " : "") + std::to_string(first + o * 8 + i);
    w += "]";
  }
  std::string shape = std::to_string(n) + "x8xf32";
  w += "]> : tensor<" + shape + ">";
  std::string y = "tensor<2x" + std::to_string(n) + "xf32>";
  return "func.func @main(%x: tensor<2x8xf32>) -> " + y + " {\n" +
         "  %w = arith.constant " + w + "\n" +
         "  %y = quant_xform.linear %x, %w : (tensor<2x8xf32>, tensor<" +
         shape + ">) -> " + y + "\n" + "  return %y : " + y + "\n}";
}

/// Compiles `ir` for the CPU and checks its output on `x` against the
/// reference evaluator.
void compileAndCheck(const std::string &ir, const Tensor &x) {
  auto ctx = qxtest::makeContext();
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(ir, ctx.get());
  ASSERT_TRUE(module);
  auto fn = CompiledFunction::compile(*module, "main", CPUPipelineOptions());
  ASSERT_TRUE(succeeded(fn));
  auto got = (*fn)->run({x}, module->getLoc());
  ASSERT_TRUE(succeeded(got));
  auto want = qxtest::evaluate(ir, {x});
  ASSERT_EQ(want.size(), 1u);
  for (int64_t i = 0, e = want[0].numElements(); i < e; ++i)
    EXPECT_NEAR((*got)[0].getFloat(i), want[0].getFloat(i), 1e-3) << i;
}

TEST(JitEngineTest, ModulesDifferingOnlyInWeightsShareCodeNotWeights) {
  std::vector<double> xs(16);
  for (int i = 0; i < 16; ++i)
    xs[i] = 0.25 * i - 1.0;
  Tensor x = Tensor::fromFloats({2, 8}, xs);

  JitEngine::CacheCounts before = JitEngine::cacheCounts();
  compileAndCheck(linearModule(4, 1.0), x);
  JitEngine::CacheCounts first = JitEngine::cacheCounts();
  EXPECT_EQ(first.compiled, before.compiled + 1);

  // Other weights, the same code: linked from the cache, computing with its
  // own weights (checked against the evaluator).
  compileAndCheck(linearModule(4, -7.0), x);
  JitEngine::CacheCounts second = JitEngine::cacheCounts();
  EXPECT_EQ(second.compiled, first.compiled);
  EXPECT_EQ(second.reused, first.reused + 1);

  // Another shape is other code.
  compileAndCheck(linearModule(5, 1.0), x);
  EXPECT_EQ(JitEngine::cacheCounts().compiled, second.compiled + 1);
}

} // namespace
