//===- QLinearToGPU.cpp - qlinear → int8 tensor-core kernels ------------===//
//
// A function whose body is `qlinear` ops on its arguments becomes a host
// function on device memrefs (results become out-parameters) that launches
// one generated kernel per `qlinear`: the sm_90a wgmma kernel
// (WgmmaKernel.cpp) where `wgmma` is set and the shape allows it, the
// mma.sync kernel (MmaSyncKernel.cpp) otherwise.
//
//===----------------------------------------------------------------------===//

#include "GemmKernels.h"
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

/// The memref form of a tensor type (identity layout).
MemRefType memrefOf(Type t) {
  auto tt = cast<RankedTensorType>(t);
  Type e = tt.getElementType();
  if (auto i = dyn_cast<IntegerType>(e))
    e = IntegerType::get(t.getContext(), i.getWidth());
  return MemRefType::get(tt.getShape(), e);
}

struct ConvertQuantXformQLinearToGPU
    : public quant_xform::impl::ConvertQuantXformQLinearToGPUBase<
          ConvertQuantXformQLinearToGPU> {
  using Base::Base;

  void runOnOperation() override {
    if (!llvm::is_contained({0, 32, 64, 128, 256}, wgmmaTileN)) {
      getOperation().emitError() << "wgmma-tile-n must be 0 (choose), 32, "
                                    "64, 128 or 256 (got "
                                 << static_cast<int64_t>(wgmmaTileN) << ")";
      return signalPassFailure();
    }
    if (!llvm::is_contained({0, 64, 128}, wgmmaTileM)) {
      getOperation().emitError()
          << "wgmma-tile-m must be 0 (choose), 64 or 128 (got "
          << static_cast<int64_t>(wgmmaTileM) << ")";
      return signalPassFailure();
    }
    if (!llvm::is_contained({0, 64, 128}, wgmmaTileK)) {
      getOperation().emitError()
          << "wgmma-tile-k must be 0 (choose), 64 or 128 (got "
          << static_cast<int64_t>(wgmmaTileK) << ")";
      return signalPassFailure();
    }
    if (wgmmaStages != 0 && (wgmmaStages < 3 || wgmmaStages > 16)) {
      getOperation().emitError()
          << "wgmma-stages must be 0 (choose) or 3 to 16 (got "
          << static_cast<int64_t>(wgmmaStages) << ")";
      return signalPassFailure();
    }
    if (wgmmaMinM < 1) {
      getOperation().emitError() << "wgmma-min-m must be at least 1 (got "
                                 << static_cast<int64_t>(wgmmaMinM) << ")";
      return signalPassFailure();
    }
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

  /// Checks that `dq` is a symmetric per-token quantize of a static f32
  /// [M, K] argument (K a multiple of 4) into s8 values and f32 scales.
  static LogicalResult checkQuantize(DynamicQuantizeOp dq) {
    QuantSchemeAttr scheme = dq.getScheme();
    if (scheme.getGranularity() != Granularity::PerToken ||
        !scheme.getSymmetric() || dq.getZeroPoint())
      return dq.emitError() << "the GPU quantize kernel handles symmetric "
                               "per_token schemes only (for now)";
    if (!isa<BlockArgument>(dq.getInput()))
      return dq.emitError() << "the GPU lowering needs the dynamic_quantize "
                               "input to be a function argument";
    auto x = cast<RankedTensorType>(dq.getInput().getType());
    auto q = cast<RankedTensorType>(dq.getResult().getType());
    auto sc = cast<RankedTensorType>(dq.getScale().getType());
    auto qi = dyn_cast<IntegerType>(q.getElementType());
    if (x.getRank() != 2 || !x.hasStaticShape() ||
        !x.getElementType().isF32() || !qi || qi.getWidth() != 8 ||
        qi.isUnsigned() || !sc.getElementType().isF32())
      return dq.emitError() << "the GPU quantize kernel needs a static "
                               "[M, K] f32 input, s8 values and f32 scales";
    if (x.getDimSize(1) % 4 != 0)
      return dq.emitError() << "the GPU quantize kernel needs K to be a "
                               "multiple of 4 (K = "
                            << x.getDimSize(1) << ")";
    return success();
  }

  /// Checks that `f` is qlinear ops (on its arguments or on per-token
  /// dynamic_quantize results of them) returned directly, and rewrites it
  /// into kernel launches on memrefs.
  LogicalResult convert(func::FuncOp f, gpu::GPUModuleOp &kernels,
                        SymbolTable &symbols) {
    Block &body = f.getBody().front();
    for (Operation &op : body) {
      if (isa<func::ReturnOp>(op))
        continue;
      if (auto dq = dyn_cast<DynamicQuantizeOp>(op)) {
        if (failed(checkQuantize(dq)))
          return failure();
        continue;
      }
      auto q = dyn_cast<QLinearOp>(op);
      if (!q)
        return op.emitError()
               << "the GPU lowering handles functions of qlinear and "
                  "per-token dynamic_quantize ops only (for now); this op is "
                  "not one";
      for (Value v : q->getOperands())
        if (!isa<BlockArgument>(v) && !v.getDefiningOp<DynamicQuantizeOp>())
          return q.emitError() << "the GPU lowering needs every qlinear "
                                  "operand to be a function argument or a "
                                  "dynamic_quantize result";
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
    // dynamic_quantize results live in device scratch buffers (gpu.alloc,
    // freed before the return), filled by the generated quantize kernel.
    DenseMap<Value, Value> bufferFor;
    SmallVector<Value> scratch;
    unsigned nextQuantize = 0;
    for (DynamicQuantizeOp dq :
         llvm::to_vector(body.getOps<DynamicQuantizeOp>())) {
      auto x = cast<RankedTensorType>(dq.getInput().getType());
      QuantSchemeAttr scheme = dq.getScheme();
      gpu_kernels::QuantizeShape qs{x.getDimSize(0), x.getDimSize(1),
                                    scheme.getClipRatio(), scheme.getQMin(),
                                    scheme.getQMax()};
      OpBuilder kb(kernels.getBodyRegion());
      kb.setInsertionPointToEnd(&kernels.getBodyRegion().front());
      std::string name =
          (f.getName() + "_quantize" + Twine(nextQuantize++)).str();
      gpu::GPUFuncOp kernel =
          gpu_kernels::buildQuantizeKernel(kb, dq.getLoc(), name, qs);
      OpBuilder hb(dq);
      Location loc = dq.getLoc();
      SmallVector<Value> operands = {dq.getInput()};
      // gpu-to-llvm lowers the async forms: a stream, the allocations on it
      // (mgpuMemAlloc: the runtime reuses freed blocks), a synchronize.
      auto tokenType = gpu::AsyncTokenType::get(hb.getContext());
      Value token =
          gpu::WaitOp::create(hb, loc, tokenType, ValueRange{}).getAsyncToken();
      for (Value r : {dq.getResult(), dq.getScale()}) {
        auto alloc =
            gpu::AllocOp::create(hb, loc, memrefOf(r.getType()), tokenType,
                                 ValueRange{token}, ValueRange{}, ValueRange{});
        token = alloc.getAsyncToken();
        bufferFor[r] = alloc.getMemref();
        scratch.push_back(alloc.getMemref());
        operands.push_back(alloc.getMemref());
      }
      gpu::WaitOp::create(hb, loc, Type(), ValueRange{token});
      gpu_kernels::emitLaunch(hb, loc, kernel, gpu_kernels::quantizeLaunch(qs),
                              operands);
    }
    unsigned next = 0;
    for (QLinearOp q : llvm::to_vector(body.getOps<QLinearOp>())) {
      auto x = cast<RankedTensorType>(q.getInput().getType());
      gpu_kernels::GemmShape s{
          x.getDimSize(0),
          cast<RankedTensorType>(q.getWeight().getType()).getDimSize(0),
          x.getDimSize(1),
          cast<RankedTensorType>(q.getInputScale().getType()).getRank() == 0,
          cast<RankedTensorType>(q.getWeightScale().getType()).getRank() == 0,
          bool(q.getBias())};
      OpBuilder kb(kernels.getBodyRegion());
      kb.setInsertionPointToEnd(&kernels.getBodyRegion().front());
      std::string name = (f.getName() + "_qlinear" + Twine(next++)).str();
      gpu_kernels::WgmmaOptions wo;
      wo.tileM = wgmmaTileM;
      wo.tileN = wgmmaTileN;
      wo.tileK = wgmmaTileK;
      wo.stages = wgmmaStages;
      wo.minM = wgmmaMinM;
      bool useWgmma = wgmma && gpu_kernels::wgmmaApplies(s, wo);
      gpu_kernels::WgmmaTile tile = gpu_kernels::chooseWgmmaTile(s, wo);
      gpu_kernels::LaunchShape launch = useWgmma
                                            ? gpu_kernels::wgmmaLaunch(s, tile)
                                            : gpu_kernels::mmaSyncLaunch(s);
      if (launch.sharedBytes > gpu_kernels::kMaxSharedBytes)
        return q.emitError()
               << "the wgmma kernel's " << tile.stages
               << " stages need more shared memory than the 227 KB of an "
                  "H100 block; lower wgmma-stages";
      gpu::GPUFuncOp kernel =
          useWgmma
              ? gpu_kernels::buildWgmmaKernel(kb, q.getLoc(), name, s, tile)
              : gpu_kernels::buildMmaSyncKernel(kb, q.getLoc(), name, s);
      OpBuilder hb(q);
      Location loc = q.getLoc();
      Value out = outFor.lookup(q.getResult());
      if (!out) // every result must be an out-parameter (no scratch buffers)
        return q.emitError() << "the GPU lowering needs every qlinear "
                                "result to be returned";
      SmallVector<Value> operands;
      for (Value v : q->getOperands())
        operands.push_back(bufferFor.lookup(v) ? bufferFor.lookup(v) : v);
      operands.push_back(out);
      gpu_kernels::emitLaunch(hb, loc, kernel, launch, operands);
    }
    // Results are in the out-parameters: return nothing.
    OpBuilder rb(ret);
    if (!scratch.empty()) {
      auto tokenType = gpu::AsyncTokenType::get(rb.getContext());
      Value token =
          gpu::WaitOp::create(rb, ret.getLoc(), tokenType, ValueRange{})
              .getAsyncToken();
      for (Value buffer : scratch)
        token = gpu::DeallocOp::create(rb, ret.getLoc(), tokenType,
                                       ValueRange{token}, buffer)
                    .getAsyncToken();
      gpu::WaitOp::create(rb, ret.getLoc(), Type(), ValueRange{token});
    }
    func::ReturnOp::create(rb, ret.getLoc());
    ret.erase();
    for (QLinearOp q : llvm::to_vector(body.getOps<QLinearOp>()))
      q.erase();
    for (DynamicQuantizeOp dq :
         llvm::to_vector(body.getOps<DynamicQuantizeOp>()))
      dq.erase();
    return success();
  }
};

} // namespace
