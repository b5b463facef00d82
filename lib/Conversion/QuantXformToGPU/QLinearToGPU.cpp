//===- QLinearToGPU.cpp - qlinear → int8 tensor-core kernels ------------===//
//
// First slice of the GPU backend: a function whose body is `qlinear` ops on
// its arguments becomes a host function on device memrefs (results become
// out-parameters) that launches one generated kernel per `qlinear`:
// 4 warps per block, each warp a 16 × 32 output tile (64 × 64 when
// M ≥ 1024: A and B fragments reused across the warp tile), `nvgpu.mma.sync`
// m16n8k32 on s8 with i32 accumulators (the `mma.sync...s32.s8.s8.s32` PTX
// instruction), operands read from global memory in 4-byte groups, and the
// dequant + bias epilogue (the evaluator's order) fused before the store.
// Ragged M and N are clamped on load and masked on store; K must be a
// multiple of 4 (its tail is zero-filled).
//
//===----------------------------------------------------------------------===//

#include "quant-xform/Conversion/Passes.h"
#include "quant-xform/Dialect/QuantXform/IR/QuantXformOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/IR/SymbolTable.h"

namespace mlir::quant_xform {
#define GEN_PASS_DEF_CONVERTQUANTXFORMQLINEARTOGPU
#include "quant-xform/Conversion/Passes.h.inc"
} // namespace mlir::quant_xform

using namespace mlir;
using namespace mlir::quant_xform;

namespace {

constexpr int64_t kWarps = 4; // warps per block, one above the other
constexpr int64_t kMmaM = 16; // mma m
constexpr int64_t kMmaK = 32; // mma k (s8)

/// Shapes and options of one generated kernel.
struct GemmShape {
  int64_t m, n, k;
  bool perTensorX, perTensorW, bias;
  /// Warp tile: tilesM mma tiles of 16 rows × tilesN of 8 columns. Large M
  /// takes 64 × 64 (each A fragment feeds 8 mmas, each B fragment 4);
  /// small M keeps 16 × 32 so that the grid still fills the GPU.
  int64_t tilesM() const { return m >= 1024 ? 4 : 1; }
  int64_t tilesN() const { return m >= 1024 ? 8 : 4; }
  int64_t blockRows() const { return kWarps * kMmaM * tilesM(); }
  int64_t blockCols() const { return 8 * tilesN(); }
};

/// The memref form of a tensor type (identity layout).
MemRefType memrefOf(Type t) {
  auto tt = cast<RankedTensorType>(t);
  Type e = tt.getElementType();
  if (auto i = dyn_cast<IntegerType>(e))
    e = IntegerType::get(t.getContext(), i.getWidth());
  return MemRefType::get(tt.getShape(), e);
}

/// Builds `gpu.func @name(qx, sx, w, sw, [bias], y) kernel`.
gpu::GPUFuncOp buildKernel(OpBuilder &b, Location loc, StringRef name,
                           const GemmShape &s) {
  MLIRContext *ctx = b.getContext();
  Type i8 = b.getI8Type(), i32 = b.getI32Type(), f32 = b.getF32Type();
  SmallVector<Type> args = {
      MemRefType::get({s.m, s.k}, i8),
      s.perTensorX ? MemRefType::get({}, f32) : MemRefType::get({s.m}, f32),
      MemRefType::get({s.n, s.k}, i8),
      s.perTensorW ? MemRefType::get({}, f32) : MemRefType::get({s.n}, f32)};
  if (s.bias)
    args.push_back(MemRefType::get({s.n}, f32));
  args.push_back(MemRefType::get({s.m, s.n}, f32));
  auto fn =
      gpu::GPUFuncOp::create(b, loc, name, FunctionType::get(ctx, args, {}));
  fn->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), UnitAttr::get(ctx));
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&fn.getBody().front());
  Value qx = fn.getArgument(0), sx = fn.getArgument(1), w = fn.getArgument(2),
        sw = fn.getArgument(3);
  Value bias = s.bias ? fn.getArgument(4) : Value();
  Value y = fn.getArguments().back();

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
  const int64_t tilesM = s.tilesM(), tilesN = s.tilesN();
  Value rowBase = add(mul(blockM, s.blockRows()), mul(warp, kMmaM * tilesM));
  Value colBase = mul(blockN, s.blockCols());
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

  // Epilogue: y = sx·(sw·float(acc)) + bias for the lanes' 2 × 2 values
  // per n-tile (rows g and g + 8, columns 2t and 2t + 1).
  auto scalar = [&](Value mem, Value i, bool perTensor) -> Value {
    if (perTensor)
      return memref::LoadOp::create(b, loc, mem, ValueRange{});
    return memref::LoadOp::create(b, loc, mem, ValueRange{i});
  };
  for (int64_t i = 0; i < tilesM; ++i)
    for (int64_t r = 0; r < 2; ++r) {
      Value row = add(rowBase, add(group, c(kMmaM * i + 8 * r)));
      Value rowOk =
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, row, c(s.m));
      Value rowIn = minTo(row, s.m - 1);
      Value sxv = scalar(sx, rowIn, s.perTensorX);
      for (int64_t j = 0; j < tilesN; ++j) {
        for (int64_t cc = 0; cc < 2; ++cc) {
          Value col = add(colBase, add(mul(inGroup, 2), c(8 * j + cc)));
          Value colOk = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt,
                                              col, c(s.n));
          Value ok = arith::AndIOp::create(b, loc, rowOk, colOk);
          auto ifOp = scf::IfOp::create(b, loc, ok, /*withElse=*/false);
          OpBuilder::InsertionGuard inner(b);
          b.setInsertionPointToStart(&ifOp.getThenRegion().front());
          Value dot = vector::ExtractOp::create(
              b, loc, loop.getResult(i * tilesN + j), ArrayRef<int64_t>{r, cc});
          Value v = arith::SIToFPOp::create(b, loc, f32, dot);
          v = arith::MulFOp::create(b, loc, scalar(sw, col, s.perTensorW), v);
          v = arith::MulFOp::create(b, loc, sxv, v);
          if (bias)
            v = arith::AddFOp::create(
                b, loc, v,
                memref::LoadOp::create(b, loc, bias, ValueRange{col}));
          memref::StoreOp::create(b, loc, v, y, ValueRange{row, col});
        }
      }
    }
  gpu::ReturnOp::create(b, loc);
  return fn;
}

struct ConvertQuantXformQLinearToGPU
    : public quant_xform::impl::ConvertQuantXformQLinearToGPUBase<
          ConvertQuantXformQLinearToGPU> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    SmallVector<func::FuncOp> funcs(module.getOps<func::FuncOp>());
    gpu::GPUModuleOp kernels;
    SymbolTable symbols(module);
    for (func::FuncOp f : funcs) {
      // Every function must be lowered: a function with other ops (a whole
      // model, say) gets the op-by-op error of convert() rather than a
      // confusing failure later in the upstream GPU pipeline.
      if (f.isExternal())
        continue;
      if (failed(convert(f, kernels, symbols)))
        return signalPassFailure();
    }
    if (kernels)
      module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                      UnitAttr::get(ctx));
  }

  /// Checks that `f` is qlinear ops on its arguments returned directly and
  /// rewrites it into launches on memrefs.
  LogicalResult convert(func::FuncOp f, gpu::GPUModuleOp &kernels,
                        SymbolTable &symbols) {
    Block &body = f.getBody().front();
    for (Operation &op : body) {
      if (isa<func::ReturnOp>(op))
        continue;
      auto q = dyn_cast<QLinearOp>(op);
      if (!q)
        return op.emitError()
               << "the GPU lowering handles functions of qlinear ops only "
                  "(for now); this op is not one";
      for (Value v : q->getOperands())
        if (!isa<BlockArgument>(v))
          return q.emitError() << "the GPU lowering needs every qlinear "
                                  "operand to be a function argument";
      if (q.getInputZeroPoint())
        return q.emitError() << "asymmetric activations are not lowered to "
                                "the GPU yet";
      auto sw = cast<RankedTensorType>(q.getWeightScale().getType());
      if (sw.getRank() > 1)
        return q.emitError() << "per_group weight scales are not lowered to "
                                "the GPU yet";
      auto x = cast<RankedTensorType>(q.getInput().getType());
      auto y = cast<RankedTensorType>(q.getType());
      if (x.getRank() != 2 || !x.hasStaticShape() ||
          !y.getElementType().isF32() ||
          !cast<RankedTensorType>(q.getInputScale().getType())
               .getElementType()
               .isF32() ||
          !sw.getElementType().isF32() ||
          cast<IntegerType>(x.getElementType()).isUnsigned())
        return q.emitError() << "the GPU lowering needs a static [M, K] s8 "
                                "input and f32 scales and result";
      if (x.getDimSize(1) % 4 != 0)
        return q.emitError() << "the GPU int8 kernel needs K to be a "
                                "multiple of 4 (K = "
                             << x.getDimSize(1) << ")";
    }
    auto ret = cast<func::ReturnOp>(body.getTerminator());
    for (Value v : ret.getOperands())
      if (!v.getDefiningOp<QLinearOp>())
        return ret.emitError() << "the GPU lowering needs every result to "
                                  "be a qlinear result";

    if (!kernels) {
      OpBuilder mb(f->getParentOfType<ModuleOp>().getBodyRegion());
      kernels = gpu::GPUModuleOp::create(mb, f.getLoc(), "qx_gpu_kernels");
      symbols.insert(kernels);
    }
    // New signature: memref arguments, then one out-parameter per result.
    SmallVector<Type> argTypes;
    for (Type t : f.getArgumentTypes())
      argTypes.push_back(memrefOf(t));
    for (Type t : f.getResultTypes())
      argTypes.push_back(memrefOf(t));
    auto newType = FunctionType::get(&getContext(), argTypes, {});
    SmallVector<Value> outs;
    for (unsigned i = 0; i < f.getNumArguments(); ++i)
      body.getArgument(i).setType(argTypes[i]);
    for (Type t : f.getResultTypes())
      outs.push_back(body.addArgument(memrefOf(t), f.getLoc()));
    f.setType(newType);

    DenseMap<Value, Value> outFor;
    for (auto [v, out] : llvm::zip(ret.getOperands(), outs))
      if (!outFor.count(v))
        outFor[v] = out;
    unsigned next = 0;
    for (QLinearOp q : llvm::to_vector(body.getOps<QLinearOp>())) {
      auto x = cast<RankedTensorType>(q.getInput().getType());
      GemmShape s{
          x.getDimSize(0),
          cast<RankedTensorType>(q.getWeight().getType()).getDimSize(0),
          x.getDimSize(1),
          cast<RankedTensorType>(q.getInputScale().getType()).getRank() == 0,
          cast<RankedTensorType>(q.getWeightScale().getType()).getRank() == 0,
          bool(q.getBias())};
      OpBuilder kb(kernels.getBodyRegion());
      kb.setInsertionPointToEnd(&kernels.getBodyRegion().front());
      std::string name = (f.getName() + "_qlinear" + Twine(next++)).str();
      gpu::GPUFuncOp kernel = buildKernel(kb, q.getLoc(), name, s);
      OpBuilder hb(q);
      Location loc = q.getLoc();
      auto c = [&](int64_t v) -> Value {
        return arith::ConstantIndexOp::create(hb, loc, v);
      };
      Value out = outFor.lookup(q.getResult());
      if (!out) // every result must be an out-parameter (no scratch buffers)
        return q.emitError() << "the GPU lowering needs every qlinear "
                                "result to be returned";
      SmallVector<Value> operands = {q.getInput(), q.getInputScale(),
                                     q.getWeight(), q.getWeightScale()};
      if (q.getBias())
        operands.push_back(q.getBias());
      operands.push_back(out);
      int64_t gridN = (s.n + s.blockCols() - 1) / s.blockCols();
      int64_t gridM = (s.m + s.blockRows() - 1) / s.blockRows();
      gpu::LaunchFuncOp::create(
          hb, loc, kernel, gpu::KernelDim3{c(gridN), c(gridM), c(1)},
          gpu::KernelDim3{c(32 * kWarps), c(1), c(1)}, Value(), operands);
    }
    // Results are in the out-parameters: return nothing.
    OpBuilder rb(ret);
    func::ReturnOp::create(rb, ret.getLoc());
    ret.erase();
    for (QLinearOp q : llvm::to_vector(body.getOps<QLinearOp>()))
      q.erase();
    return success();
  }
};

} // namespace
