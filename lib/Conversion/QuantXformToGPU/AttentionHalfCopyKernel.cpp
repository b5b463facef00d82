//===- AttentionHalfCopyKernel.cpp - k and v rounded to f16 -------------===//
//
// The first kernel of a prefill attention: k and v (f32) rounded to f16
// into scratch of the same shape, four elements a thread (16-byte loads,
// 8-byte stores). The attention kernel then copies its key tiles into
// shared memory with `cp.async`, a tile ahead of its use, instead of
// loading, rounding and storing them through registers between barriers.
// The rounding is the one the attention kernel applied itself before, so
// the results are unchanged. Where k arrives before its rotary embedding
// (a `quant_xform.rotary` that only this attention and the function's
// results read), the kernel rotates it first and, where it is returned
// (the KV cache), stores the rotated f32 k too: the rotary op costs no
// kernel of its own.
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

MemRefType gpu_kernels::rotaryTableType(OpBuilder &b, int64_t rows,
                                        int64_t headDim) {
  return MemRefType::get({rows, headDim / 2}, b.getF32Type());
}

namespace {
/// The rotated k of the four elements at flat index `first` of k ([B, T, G,
/// D] with D = `headDim`): each with its partner in the other half and the
/// token's cos / sin, in RotaryOp's order.
Value rotateFour(OpBuilder &b, Location loc, Value k, Value cos, Value sin,
                 Value first, Value x, int64_t rowSize, int64_t headDim) {
  auto c = [&](int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); };
  auto f32x4 = VectorType::get({kCopyWidth}, b.getF32Type());
  int64_t half = headDim / 2;
  Value token = arith::DivUIOp::create(b, loc, first, c(rowSize));
  Value d = arith::RemUIOp::create(b, loc, first, c(headDim));
  Value low =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, d, c(half));
  Value i = arith::RemUIOp::create(b, loc, d, c(half));
  Value partner = arith::SelectOp::create(
      b, loc, low, arith::AddIOp::create(b, loc, first, c(half)),
      arith::SubIOp::create(b, loc, first, c(half)));
  auto load = [&](Value mem, ValueRange idx) -> Value {
    return vector::LoadOp::create(b, loc, f32x4, mem, idx,
                                  /*nontemporal=*/false, llvm::MaybeAlign(16));
  };
  Value xp = load(k, {partner});
  Value cs = load(cos, {token, i}), sn = load(sin, {token, i});
  Value xc = arith::MulFOp::create(b, loc, x, cs);
  Value ps = arith::MulFOp::create(b, loc, xp, sn);
  // Created one after the other: operands of one call are evaluated in an
  // unspecified order, and the IR's order must not depend on the compiler.
  Value diff = arith::SubFOp::create(b, loc, xc, ps);
  Value sum = arith::AddFOp::create(b, loc, xc, ps);
  return arith::SelectOp::create(b, loc, low, diff, sum);
}
} // namespace

gpu::GPUFuncOp gpu_kernels::buildHalfCopyKernel(OpBuilder &b, Location loc,
                                                StringRef name, MemRefType type,
                                                HalfCopyRotary rotary) {
  MLIRContext *ctx = b.getContext();
  Type f16 = b.getF16Type(), f32 = b.getF32Type();
  auto halfType = MemRefType::get(type.getShape(), f16);
  ArrayRef<int64_t> shape = type.getShape(); // [B, T, G, D]
  bool rotate = rotary != HalfCopyRotary::None;
  bool store = rotary == HalfCopyRotary::RotateAndStore;
  SmallVector<Type> args = {type, type};
  if (rotate)
    args.append(2, rotaryTableType(b, shape[0] * shape[1], shape[3]));
  args.append({halfType, halfType});
  if (store)
    args.push_back(type);
  auto fn =
      gpu::GPUFuncOp::create(b, loc, name, FunctionType::get(ctx, args, {}));
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
  // four elements never cross a row (or a half of it), and each group is
  // 16-byte aligned.
  SmallVector<ReassociationIndices> all(1);
  for (int64_t i = 0; i < type.getRank(); ++i)
    all[0].push_back(i);
  auto flat = [&](Value m) {
    return memref::CollapseShapeOp::create(b, loc, m, all);
  };
  auto f32x4 = VectorType::get({kCopyWidth}, f32);
  auto f16x4 = VectorType::get({kCopyWidth}, f16);
  unsigned halves = rotate ? 4 : 2;
  for (unsigned which = 0; which < 2; ++which) {
    Value from = flat(fn.getArgument(which));
    Value to = flat(fn.getArgument(halves + which));
    Value x =
        vector::LoadOp::create(b, loc, f32x4, from, ValueRange{first},
                               /*nontemporal=*/false, llvm::MaybeAlign(16));
    if (rotate && which == 0) {
      x = rotateFour(b, loc, from, fn.getArgument(2), fn.getArgument(3), first,
                     x, shape[2] * shape[3], shape[3]);
      if (store)
        vector::StoreOp::create(b, loc, x, flat(fn.getArgument(halves + 2)),
                                ValueRange{first}, /*nontemporal=*/false,
                                llvm::MaybeAlign(16));
    }
    vector::StoreOp::create(b, loc, arith::TruncFOp::create(b, loc, f16x4, x),
                            to, ValueRange{first}, /*nontemporal=*/false,
                            llvm::MaybeAlign(8));
  }
  b.setInsertionPointAfter(ifInside);
  gpu::ReturnOp::create(b, loc);
  return fn;
}
