//===- ConstantsAsDataTest.cpp - large constants leave the JIT code ------===//

#include "TestUtils.h"

#include "quant-xform/Target/CPU/ConstantsAsData.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"

#include <cstring>

using namespace mlir;
using namespace mlir::quant_xform::cpu;

namespace {

TEST(ConstantsAsDataTest, LargeDenseGlobalsBecomeExternalData) {
  auto ctx = qxtest::makeContext();
  ctx->getOrLoadDialect<LLVM::LLVMDialect>();
  // 1024 f32 (4 KB) leave; 4 f32 and a splat of 2048 stay in the code.
  std::string big = "dense<[";
  for (int i = 0; i < 1024; ++i)
    big += (i ? ", " : "") + std::to_string(i) + ".5";
  big += "]> : tensor<1024xf32>";
  std::string ir =
      "llvm.mlir.global private constant @big(" + big +
      ") {addr_space = 0 : i32, alignment = 128 : i64} : !llvm.array<1024 x "
      "f32>\n"
      "llvm.mlir.global private constant @small(dense<[1.0, 2.0, 3.0, 4.0]> : "
      "tensor<4xf32>) {addr_space = 0 : i32} : !llvm.array<4 x f32>\n"
      "llvm.mlir.global private constant @splat(dense<3.0> : "
      "tensor<2048xf32>) {addr_space = 0 : i32} : !llvm.array<2048 x f32>\n";
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(ir, ctx.get());
  ASSERT_TRUE(module);
  ConstantData data = externalizeLargeConstants(*module, 4096);
  ASSERT_EQ(data.entries.size(), 1u);
  const ConstantData::Entry &e = data.entries.front();
  EXPECT_EQ(e.symbol, "big");
  EXPECT_EQ(e.bytes, 4096u);
  EXPECT_EQ(data.totalBytes(), 4096u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(e.data) % 128, 0u);
  float values[1024];
  std::memcpy(values, e.data, sizeof(values));
  for (int i = 0; i < 1024; ++i)
    ASSERT_EQ(values[i], i + 0.5f) << "element " << i;
  auto big_ = module->lookupSymbol<LLVM::GlobalOp>("big");
  EXPECT_FALSE(big_.getValueAttr());
  EXPECT_EQ(big_.getLinkage(), LLVM::Linkage::External);
  EXPECT_TRUE(module->lookupSymbol<LLVM::GlobalOp>("small").getValueAttr());
  EXPECT_TRUE(module->lookupSymbol<LLVM::GlobalOp>("splat").getValueAttr());
}

} // namespace
