//===- AttentionHalfCopyKernel.cpp - k and v rounded to f16 -------------===//
//
// The first kernel of a prefill attention: k and v (f32) rounded to f16
// into scratch of the same shape, four elements a thread (16-byte loads,
// 8-byte stores). The attention kernel then copies its key tiles into
// shared memory with `cp.async`, a tile ahead of its use, instead of
// loading, rounding and storing them through registers between barriers.
// The rounding is the one the attention kernel applied itself before, so
// the results are unchanged.
//
//===----------------------------------------------------------------------===//

#include "AttentionKernel.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::quant_xform;
using namespace mlir::quant_xform::gpu_kernels;

namespace {
constexpr int64_t kCopyThreads = 256;
constexpr int64_t kCopyWidth = 4; // elements a thread
} // namespace

bool gpu_kernels::attentionWantsHalfKeys(const AttentionShape &s) {
  return s.splits == 1 && s.queries > kAttentionBlockRows;
}

MemRefType gpu_kernels::attentionHalfKeysType(OpBuilder &b,
                                              const AttentionShape &s) {
  return MemRefType::get({s.batch, s.keys, s.kvHeads, s.headDim},
                         b.getF16Type());
}

LaunchShape gpu_kernels::halfCopyLaunch(MemRefType type) {
  int64_t perBlock = kCopyThreads * kCopyWidth;
  return {(type.getNumElements() + perBlock - 1) / perBlock, 1, kCopyThreads,
          0};
}

gpu::GPUFuncOp gpu_kernels::buildHalfCopyKernel(OpBuilder &b, Location loc,
                                                StringRef name,
                                                MemRefType type) {
  MLIRContext *ctx = b.getContext();
  Type f16 = b.getF16Type(), f32 = b.getF32Type();
  auto halfType = MemRefType::get(type.getShape(), f16);
  auto fn = gpu::GPUFuncOp::create(
      b, loc, name,
      FunctionType::get(ctx, {type, type, halfType, halfType}, {}));
  fn->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), UnitAttr::get(ctx));
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&fn.getBody().front());
  auto c = [&](int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); };
  Value tid = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
  Value block = gpu::BlockIdOp::create(b, loc, gpu::Dimension::x);
  Value first = arith::MulIOp::create(
      b, loc,
      arith::AddIOp::create(
          b, loc, arith::MulIOp::create(b, loc, block, c(kCopyThreads)), tid),
      c(kCopyWidth));
  Value inside = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, first,
                                       c(type.getNumElements()));
  auto ifInside = scf::IfOp::create(b, loc, inside, /*withElseRegion=*/false);
  b.setInsertionPointToStart(ifInside.thenBlock());
  // The shape's innermost dimension (the head size) is a multiple of 16:
  // four elements never cross a row, and each group is 16-byte aligned.
  SmallVector<ReassociationIndices> all(1);
  for (int64_t i = 0; i < type.getRank(); ++i)
    all[0].push_back(i);
  auto f32x4 = VectorType::get({kCopyWidth}, f32);
  auto f16x4 = VectorType::get({kCopyWidth}, f16);
  for (unsigned which = 0; which < 2; ++which) {
    Value from =
        memref::CollapseShapeOp::create(b, loc, fn.getArgument(which), all);
    Value to =
        memref::CollapseShapeOp::create(b, loc, fn.getArgument(2 + which), all);
    Value x =
        vector::LoadOp::create(b, loc, f32x4, from, ValueRange{first},
                               /*nontemporal=*/false, llvm::MaybeAlign(16));
    vector::StoreOp::create(b, loc, arith::TruncFOp::create(b, loc, f16x4, x),
                            to, ValueRange{first}, /*nontemporal=*/false,
                            llvm::MaybeAlign(8));
  }
  b.setInsertionPointAfter(ifInside);
  gpu::ReturnOp::create(b, loc);
  return fn;
}
