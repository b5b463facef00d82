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
          (s.m + blockRowsOf(s) - 1) / blockRowsOf(s),
          32 * kWarps,
          0,
          /*rowGridDim=*/1,
          blockRowsOf(s)};
}

namespace {

/// Generates the mma.sync kernel of one GEMM shape. The builder, location,
/// shape, warp tile and the thread's rows and columns are members; the
/// methods are the phases: the setup (this thread's rows and columns), the
/// fragment loads and the K loop of mmas, and the epilogue.
class MmaSyncKernelBuilder {
public:
  MmaSyncKernelBuilder(OpBuilder &b, Location loc, const GemmShape &s);

  /// Builds `gpu.func @name` at the builder's insertion point.
  gpu::GPUFuncOp build(StringRef name);

private:
  Value c(int64_t v);
  Value add(Value x, Value y);
  Value mul(Value x, int64_t v);
  Value minTo(Value x, int64_t v);
  Value minTo(Value x, Value v);

  /// The thread's lane, group and rows / columns (clamped: rows and
  /// columns past the end read the last one, never stored).
  void emitSetup();
  /// Four consecutive bytes of row `row` of `mem` at `kk` (zeros past K).
  Value load4(Value mem, Value row, Value kk);
  /// The A fragment of m-tile `i` at this K step.
  Value loadA(int64_t i);
  /// The B fragment of n-tile `j` at this K step.
  Value loadB(int64_t j);
  /// The K loop: its results are the accumulators, m-tile major.
  scf::ForOp mainLoop();
  /// The loop body at K offset `k0` with accumulators `accs`.
  void mainLoopStep(Value k0, ValueRange accs);
  /// Dequantizes and stores the accumulators of `loop`.
  void epilogue(scf::ForOp loop);

  OpBuilder &b;
  Location loc;
  const GemmShape &s;
  int64_t tilesM, tilesN;
  bool fullK;
  VectorType bytes4;

  gpu::GPUFuncOp fn;
  Value qx, w, inGroup, group, rowBase, colBase, zeros4;
  SmallVector<Value> rowA0, rowA1, colB;
  /// This K step's two 16-byte halves of the thread's 32 bytes.
  Value kA, kB;
};

} // namespace

MmaSyncKernelBuilder::MmaSyncKernelBuilder(OpBuilder &b, Location loc,
                                           const GemmShape &s)
    : b(b), loc(loc), s(s), tilesM(tilesMOf(s)), tilesN(tilesNOf(s)),
      fullK(s.k % kMmaK == 0), bytes4(VectorType::get({4}, b.getI8Type())) {}

Value MmaSyncKernelBuilder::c(int64_t v) {
  return arith::ConstantIndexOp::create(b, loc, v);
}
Value MmaSyncKernelBuilder::add(Value x, Value y) {
  return arith::AddIOp::create(b, loc, x, y);
}
Value MmaSyncKernelBuilder::mul(Value x, int64_t v) {
  return arith::MulIOp::create(b, loc, x, c(v));
}
Value MmaSyncKernelBuilder::minTo(Value x, int64_t v) { return minTo(x, c(v)); }
Value MmaSyncKernelBuilder::minTo(Value x, Value v) {
  return arith::MinSIOp::create(b, loc, x, v);
}

void MmaSyncKernelBuilder::emitSetup() {
  Value tid = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
  Value lane = arith::RemUIOp::create(b, loc, tid, c(32));
  Value warp = arith::DivUIOp::create(b, loc, tid, c(32));
  group = arith::DivUIOp::create(b, loc, lane, c(4));
  inGroup = arith::RemUIOp::create(b, loc, lane, c(4));
  Value blockN = gpu::BlockIdOp::create(b, loc, gpu::Dimension::x);
  Value blockM = gpu::BlockIdOp::create(b, loc, gpu::Dimension::y);
  rowBase = add(mul(blockM, blockRowsOf(s)), mul(warp, kMmaM * tilesM));
  colBase = mul(blockN, blockColsOf(s));
  Value lastRow = arith::SubIOp::create(
      b, loc, kernelRows(b, loc, fn, s.m, s.dynamicM), c(1));
  for (int64_t i = 0; i < tilesM; ++i) {
    Value r = add(rowBase, c(kMmaM * i));
    rowA0.push_back(minTo(add(r, group), lastRow));
    rowA1.push_back(minTo(add(r, add(group, c(8))), lastRow));
  }
  for (int64_t j = 0; j < tilesN; ++j)
    colB.push_back(minTo(add(colBase, add(group, c(8 * j))), s.n - 1));
}

Value MmaSyncKernelBuilder::load4(Value mem, Value row, Value kk) {
  Value at = fullK ? kk : Value(arith::MinSIOp::create(b, loc, kk, c(s.k - 4)));
  Value v = vector::LoadOp::create(b, loc, bytes4, mem, ValueRange{row, at},
                                   /*nontemporal=*/false, llvm::MaybeAlign(4));
  if (fullK)
    return v;
  Value inside =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, kk, c(s.k));
  return arith::SelectOp::create(b, loc, inside, v, zeros4);
}

Value MmaSyncKernelBuilder::loadA(int64_t i) {
  Value a = arith::ConstantOp::create(
      b, loc,
      cast<TypedAttr>(b.getZeroAttr(VectorType::get({4, 4}, b.getI8Type()))));
  Value parts[4] = {load4(qx, rowA0[i], kA), load4(qx, rowA1[i], kA),
                    load4(qx, rowA0[i], kB), load4(qx, rowA1[i], kB)};
  for (int64_t p = 0; p < 4; ++p)
    a = vector::InsertOp::create(b, loc, parts[p], a, ArrayRef<int64_t>{p});
  return a;
}

Value MmaSyncKernelBuilder::loadB(int64_t j) {
  Value bm = arith::ConstantOp::create(
      b, loc,
      cast<TypedAttr>(b.getZeroAttr(VectorType::get({2, 4}, b.getI8Type()))));
  bm = vector::InsertOp::create(b, loc, load4(w, colB[j], kA), bm,
                                ArrayRef<int64_t>{0});
  bm = vector::InsertOp::create(b, loc, load4(w, colB[j], kB), bm,
                                ArrayRef<int64_t>{1});
  return bm;
}

void MmaSyncKernelBuilder::mainLoopStep(Value k0, ValueRange accs) {
  Value t4 = arith::MulIOp::create(b, loc, inGroup, c(4));
  kA = arith::AddIOp::create(b, loc, k0, t4);
  kB = arith::AddIOp::create(b, loc, kA, c(16));
  // A fragments (one per m-tile) and B fragments (one per n-tile), each
  // loaded once and reused across the other dimension.
  SmallVector<Value> as, bs;
  for (int64_t i = 0; i < tilesM; ++i)
    as.push_back(loadA(i));
  for (int64_t j = 0; j < tilesN; ++j)
    bs.push_back(loadB(j));
  SmallVector<Value> next;
  for (int64_t i = 0; i < tilesM; ++i)
    for (int64_t j = 0; j < tilesN; ++j)
      next.push_back(
          nvgpu::MmaSyncOp::create(b, loc, as[i], bs[j], accs[i * tilesN + j],
                                   ArrayRef<int64_t>{kMmaM, 8, kMmaK}));
  scf::YieldOp::create(b, loc, next);
}

scf::ForOp MmaSyncKernelBuilder::mainLoop() {
  auto accType = VectorType::get({2, 2}, b.getI32Type());
  zeros4 =
      arith::ConstantOp::create(b, loc, cast<TypedAttr>(b.getZeroAttr(bytes4)));
  Value zeroAcc = arith::ConstantOp::create(
      b, loc, cast<TypedAttr>(b.getZeroAttr(accType)));
  auto loop = scf::ForOp::create(b, loc, c(0), c(s.k), c(kMmaK),
                                 SmallVector<Value>(tilesM * tilesN, zeroAcc));
  OpBuilder::InsertionGuard inLoop(b);
  b.setInsertionPointToStart(loop.getBody());
  mainLoopStep(loop.getInductionVar(), loop.getRegionIterArgs());
  return loop;
}

void MmaSyncKernelBuilder::epilogue(scf::ForOp loop) {
  KernelSite site{b, loc, fn, s};
  // The lanes' 2 × 2 values per (m-tile, n-tile): rows g and g + 8,
  // columns 2t and 2t + 1.
  for (int64_t i = 0; i < tilesM; ++i)
    for (int64_t r = 0; r < 2; ++r) {
      Value row = add(rowBase, add(group, c(kMmaM * i + 8 * r)));
      EpilogueRow rowValues = loadRowScale(site, row);
      for (int64_t j = 0; j < tilesN; ++j)
        for (int64_t cc = 0; cc < 2; ++cc) {
          Value col = add(colBase, add(mul(inGroup, 2), c(8 * j + cc)));
          Value dot = vector::ExtractOp::create(
              b, loc, loop.getResult(i * tilesN + j), ArrayRef<int64_t>{r, cc});
          storeDequantized(site, {row, col}, dot, rowValues,
                           loadColumnScales(site, col), /*checked=*/true);
        }
    }
}

gpu::GPUFuncOp MmaSyncKernelBuilder::build(StringRef name) {
  fn = createKernelFunc(b, loc, name, s);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&fn.getBody().front());
  qx = fn.getArgument(0);
  w = fn.getArgument(2);
  emitSetup();
  scf::ForOp loop = mainLoop();
  epilogue(loop);
  gpu::ReturnOp::create(b, loc);
  return fn;
}

gpu::GPUFuncOp gpu_kernels::buildMmaSyncKernel(OpBuilder &b, Location loc,
                                               StringRef name,
                                               const GemmShape &s) {
  return MmaSyncKernelBuilder(b, loc, s).build(name);
}
