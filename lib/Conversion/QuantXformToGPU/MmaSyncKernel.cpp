//===- MmaSyncKernel.cpp - int8 GEMM kernel on mma.sync m16n8k32 ---------===//
//
// The sm_80+ kernel of convert-quant-xform-qlinear-to-gpu: 4 warps per
// block, each warp a 16 × 32 output tile (64 × 64 when M ≥ 1024: A and B
// fragments reused across the warp tile), `nvgpu.mma.sync` m16n8k32 on s8
// with i32 accumulators, operands read from global memory in 4-byte groups,
// the dequant + bias epilogue fused before the store. Ragged M and N are
// clamped on load and masked on store; K must be a multiple of 4 (its tail
// is zero-filled). Small M and sm_90 (without the `a`) take this kernel.
//
//===----------------------------------------------------------------------===//

#include "GemmKernels.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::quant_xform;
using namespace mlir::quant_xform::gpu_kernels;

namespace {

constexpr int64_t kWarps = 4; // warps per block, one above the other
constexpr int64_t kMmaM = 16; // mma m
constexpr int64_t kMmaK = 32; // mma k (s8)

/// Warp tile: tilesM mma tiles of 16 rows × tilesN of 8 columns. Large M
/// takes 64 × 64 (each A fragment feeds 8 mmas, each B fragment 4); small
/// M keeps 16 × 32 so that the grid still fills the GPU.
int64_t tilesMOf(const GemmShape &s) { return s.m >= 1024 ? 4 : 1; }
int64_t tilesNOf(const GemmShape &s) { return s.m >= 1024 ? 8 : 4; }
int64_t blockRowsOf(const GemmShape &s) { return kWarps * kMmaM * tilesMOf(s); }
int64_t blockColsOf(const GemmShape &s) { return 8 * tilesNOf(s); }

} // namespace

LaunchShape gpu_kernels::mmaSyncLaunch(const GemmShape &s) {
  return {(s.n + blockColsOf(s) - 1) / blockColsOf(s),
          (s.m + blockRowsOf(s) - 1) / blockRowsOf(s), 32 * kWarps, 0};
}

gpu::GPUFuncOp gpu_kernels::buildMmaSyncKernel(OpBuilder &b, Location loc,
                                               StringRef name,
                                               const GemmShape &s) {
  Type i8 = b.getI8Type(), i32 = b.getI32Type();
  gpu::GPUFuncOp fn = createKernelFunc(b, loc, name, s);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&fn.getBody().front());
  Value qx = fn.getArgument(0), w = fn.getArgument(2);

  auto c = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  auto add = [&](Value x, Value y) -> Value {
    return arith::AddIOp::create(b, loc, x, y);
  };
  auto mul = [&](Value x, int64_t v) -> Value {
    return arith::MulIOp::create(b, loc, x, c(v));
  };
  auto minTo = [&](Value x, int64_t v) -> Value {
    return arith::MinSIOp::create(b, loc, x, c(v));
  };
  Value tid = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
  Value lane = arith::RemUIOp::create(b, loc, tid, c(32));
  Value warp = arith::DivUIOp::create(b, loc, tid, c(32));
  Value group = arith::DivUIOp::create(b, loc, lane, c(4));
  Value inGroup = arith::RemUIOp::create(b, loc, lane, c(4));
  Value blockN = gpu::BlockIdOp::create(b, loc, gpu::Dimension::x);
  Value blockM = gpu::BlockIdOp::create(b, loc, gpu::Dimension::y);
  const int64_t tilesM = tilesMOf(s), tilesN = tilesNOf(s);
  Value rowBase = add(mul(blockM, blockRowsOf(s)), mul(warp, kMmaM * tilesM));
  Value colBase = mul(blockN, blockColsOf(s));
  // Rows / columns past the end read the last one (never stored).
  SmallVector<Value> rowA0, rowA1;
  for (int64_t i = 0; i < tilesM; ++i) {
    Value r = add(rowBase, c(kMmaM * i));
    rowA0.push_back(minTo(add(r, group), s.m - 1));
    rowA1.push_back(minTo(add(r, add(group, c(8))), s.m - 1));
  }
  SmallVector<Value> colB;
  for (int64_t j = 0; j < tilesN; ++j)
    colB.push_back(minTo(add(colBase, add(group, c(8 * j))), s.n - 1));

  auto bytes4 = VectorType::get({4}, i8);
  auto accType = VectorType::get({2, 2}, i32);
  Value zeros4 =
      arith::ConstantOp::create(b, loc, cast<TypedAttr>(b.getZeroAttr(bytes4)));
  Value zeroAcc = arith::ConstantOp::create(
      b, loc, cast<TypedAttr>(b.getZeroAttr(accType)));
  bool fullK = s.k % kMmaK == 0;
  auto loop = scf::ForOp::create(
      b, loc, c(0), c(s.k), c(kMmaK),
      SmallVector<Value>(tilesM * tilesN, zeroAcc),
      [&](OpBuilder &lb, Location ll, Value k0, ValueRange accs) {
        auto lc = [&](int64_t v) -> Value {
          return arith::ConstantIndexOp::create(lb, ll, v);
        };
        Value t4 = arith::MulIOp::create(lb, ll, inGroup, lc(4));
        Value kA = arith::AddIOp::create(lb, ll, k0, t4);
        Value kB = arith::AddIOp::create(lb, ll, kA, lc(16));
        // Four consecutive bytes of row `row` at `kk` (zeros past K).
        auto load4 = [&](Value mem, Value row, Value kk) -> Value {
          Value at =
              fullK ? kk
                    : Value(arith::MinSIOp::create(lb, ll, kk, lc(s.k - 4)));
          Value v = vector::LoadOp::create(
              lb, ll, bytes4, mem, ValueRange{row, at},
              /*nontemporal=*/false, llvm::MaybeAlign(4));
          if (fullK)
            return v;
          Value inside = arith::CmpIOp::create(
              lb, ll, arith::CmpIPredicate::slt, kk, lc(s.k));
          return arith::SelectOp::create(lb, ll, inside, v, zeros4);
        };
        // A fragments (one per m-tile) and B fragments (one per n-tile),
        // each loaded once and reused across the other dimension.
        SmallVector<Value> as, bs;
        for (int64_t i = 0; i < tilesM; ++i) {
          Value a = arith::ConstantOp::create(
              lb, ll,
              cast<TypedAttr>(lb.getZeroAttr(VectorType::get({4, 4}, i8))));
          Value parts[4] = {load4(qx, rowA0[i], kA), load4(qx, rowA1[i], kA),
                            load4(qx, rowA0[i], kB), load4(qx, rowA1[i], kB)};
          for (int64_t p = 0; p < 4; ++p)
            a = vector::InsertOp::create(lb, ll, parts[p], a,
                                         ArrayRef<int64_t>{p});
          as.push_back(a);
        }
        for (int64_t j = 0; j < tilesN; ++j) {
          Value bm = arith::ConstantOp::create(
              lb, ll,
              cast<TypedAttr>(lb.getZeroAttr(VectorType::get({2, 4}, i8))));
          bm = vector::InsertOp::create(lb, ll, load4(w, colB[j], kA), bm,
                                        ArrayRef<int64_t>{0});
          bm = vector::InsertOp::create(lb, ll, load4(w, colB[j], kB), bm,
                                        ArrayRef<int64_t>{1});
          bs.push_back(bm);
        }
        SmallVector<Value> next;
        for (int64_t i = 0; i < tilesM; ++i)
          for (int64_t j = 0; j < tilesN; ++j)
            next.push_back(nvgpu::MmaSyncOp::create(
                lb, ll, as[i], bs[j], accs[i * tilesN + j],
                ArrayRef<int64_t>{kMmaM, 8, kMmaK}));
        scf::YieldOp::create(lb, ll, next);
      });

  // Epilogue: the lanes' 2 × 2 values per (m-tile, n-tile): rows g and
  // g + 8, columns 2t and 2t + 1.
  for (int64_t i = 0; i < tilesM; ++i)
    for (int64_t r = 0; r < 2; ++r) {
      Value row = add(rowBase, add(group, c(kMmaM * i + 8 * r)));
      EpilogueRow rowValues = loadRowScale(b, loc, fn, s, row);
      for (int64_t j = 0; j < tilesN; ++j)
        for (int64_t cc = 0; cc < 2; ++cc) {
          Value col = add(colBase, add(mul(inGroup, 2), c(8 * j + cc)));
          Value dot = vector::ExtractOp::create(
              b, loc, loop.getResult(i * tilesN + j), ArrayRef<int64_t>{r, cc});
          storeDequantized(b, loc, fn, s, row, col, dot, rowValues,
                           loadColumnScales(b, loc, fn, s, col),
                           /*checked=*/true);
        }
    }
  gpu::ReturnOp::create(b, loc);
  return fn;
}
