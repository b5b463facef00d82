//===- QLinearToGPU.cpp - qlinear → int8 tensor-core kernels ------------===//
//
// A function whose body is `qlinear` / per-token `dynamic_quantize` ops on
// its arguments becomes a host function on device memrefs (results become
// out-parameters) that launches one generated kernel per op on one stream:
// the quantize kernel (QuantizeKernel.cpp), the sm_90a wgmma kernel
// (WgmmaKernel.cpp) where `wgmma` is set and the shape allows it, the
// mma.sync kernel (MmaSyncKernel.cpp) otherwise. Casts at the edges are
// fused: an `arith.extf` of a bf16 / f16 argument to f32 in front of a
// quantize (or LLM.int8() linear) becomes the kernel's widening loads, an
// `arith.truncf` of a linear's f32 result to bf16 / f16 its epilogue's
// rounding stores. In any other function (a
// whole model) each such op that the kernels handle is outlined into a
// function of that kind, called through buffers; the rest is left for
// convert-quant-xform-to-linalg.
//
//===----------------------------------------------------------------------===//

#include "GemmKernels.h"
#include "quant-xform/Conversion/Passes.h"
#include "quant-xform/Dialect/QuantXform/IR/QuantXformOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/IR/SymbolTable.h"

#include <cmath>

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

/// Whether `t` is a bf16 or f16 element type (what the kernels read and
/// write besides f32).
bool isHalfFloat(Type t) { return t.isBF16() || t.isF16(); }

/// The `arith.extf` of a static rank-2 bf16 / f16 tensor to f32 that
/// defines `v`, which a quantize kernel fuses into its loads, or null.
arith::ExtFOp fusableWiden(Value v) {
  auto ext = v.getDefiningOp<arith::ExtFOp>();
  if (!ext)
    return ext;
  auto in = dyn_cast<ShapedType>(ext.getIn().getType());
  auto out = dyn_cast<RankedTensorType>(ext.getType());
  if (!in || !out || in.getRank() != 2 || !in.hasStaticShape() ||
      !isHalfFloat(in.getElementType()) || !out.getElementType().isF32())
    return arith::ExtFOp();
  return ext;
}

/// `v` seen through a fusable widening (the value a kernel reads).
Value widenedSource(Value v) {
  arith::ExtFOp ext = fusableWiden(v);
  return ext ? ext.getIn() : v;
}

/// The element type a kernel reads for `v` (through a fusable widening).
Type kernelElementType(Value v) {
  return cast<ShapedType>(widenedSource(v).getType()).getElementType();
}

/// The only user of the f32 linear result `r` when it is an `arith.truncf`
/// to bf16 / f16, which the GEMM epilogue fuses into its stores, or null.
arith::TruncFOp fusableNarrow(Value r) {
  if (!r.hasOneUse())
    return arith::TruncFOp();
  auto trunc = dyn_cast<arith::TruncFOp>(*r.getUsers().begin());
  if (!trunc || trunc.getRoundingmodeAttr() ||
      !isHalfFloat(cast<RankedTensorType>(trunc.getType()).getElementType()))
    return arith::TruncFOp();
  return trunc;
}

struct ConvertQuantXformQLinearToGPU
    : public quant_xform::impl::ConvertQuantXformQLinearToGPUBase<
          ConvertQuantXformQLinearToGPU> {
  using Base::Base;

  /// Checks the options; false (after an error) when one is out of range.
  bool checkOptions() {
    if (!llvm::is_contained({0, 32, 64, 128, 256}, wgmmaTileN)) {
      getOperation().emitError() << "wgmma-tile-n must be 0 (choose), 32, "
                                    "64, 128 or 256 (got "
                                 << static_cast<int64_t>(wgmmaTileN) << ")";
      return false;
    }
    if (!llvm::is_contained({0, 64, 128}, wgmmaTileM)) {
      getOperation().emitError()
          << "wgmma-tile-m must be 0 (choose), 64 or 128 (got "
          << static_cast<int64_t>(wgmmaTileM) << ")";
      return false;
    }
    if (!llvm::is_contained({0, 64, 128}, wgmmaTileK)) {
      getOperation().emitError()
          << "wgmma-tile-k must be 0 (choose), 64 or 128 (got "
          << static_cast<int64_t>(wgmmaTileK) << ")";
      return false;
    }
    if (wgmmaStages != 0 && (wgmmaStages < 3 || wgmmaStages > 16)) {
      getOperation().emitError()
          << "wgmma-stages must be 0 (choose) or 3 to 16 (got "
          << static_cast<int64_t>(wgmmaStages) << ")";
      return false;
    }
    if (wgmmaGroupM < 0 || wgmmaGroupM > 1024) {
      getOperation().emitError()
          << "wgmma-group-m must be 0 (choose) or 1 to 1024 (got "
          << static_cast<int64_t>(wgmmaGroupM) << ")";
      return false;
    }
    if (wgmmaTma && wgmmaPersistent) {
      getOperation().emitError()
          << "wgmma-persistent needs wgmma-tma=false (the TMA kernel is "
             "not persistent)";
      return false;
    }
    if (wgmmaMinM < 1) {
      getOperation().emitError() << "wgmma-min-m must be at least 1 (got "
                                 << static_cast<int64_t>(wgmmaMinM) << ")";
      return false;
    }
    return true;
  }

  void runOnOperation() override {
    if (!checkOptions())
      return signalPassFailure();
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    SmallVector<func::FuncOp> funcs(module.getOps<func::FuncOp>());
    gpu::GPUModuleOp kernels;
    SymbolTable symbols(module);
    for (func::FuncOp f : funcs) {
      if (f.isExternal())
        continue;
      // With `outline`, a function with other ops (a whole model) keeps
      // them and calls kernel functions for its qlinear / quantize ops;
      // without, it gets the op-by-op error of checkKernelFunction() rather
      // than a confusing failure later in the upstream GPU pipeline.
      if (outline && !isKernelFunction(f)) {
        if (failed(outlineKernels(f, kernels, symbols)))
          return signalPassFailure();
        continue;
      }
      if (failed(checkKernelFunction(f)) ||
          failed(convert(f, kernels, symbols)))
        return signalPassFailure();
    }
    if (kernels)
      module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                      UnitAttr::get(ctx));
  }

  /// The online Hadamard rotation that `dq` quantizes and that the quantize
  /// kernel can do in front (`rotate hadamard`, not inverse, used only by
  /// `dq`, K ≤ kMaxResidentK), or null.
  static RotateOp fusableRotate(DynamicQuantizeOp dq) {
    auto rot = dq.getInput().getDefiningOp<RotateOp>();
    if (!rot || rot.getKind() != RotationKind::Hadamard || rot.getInverse() ||
        !rot.getResult().hasOneUse())
      return RotateOp();
    auto x = cast<ShapedType>(rot.getInput().getType());
    if (x.getRank() != 2 || !x.hasStaticShape() ||
        x.getDimSize(1) > gpu_kernels::kMaxResidentK ||
        (x.getDimSize(1) & -x.getDimSize(1)) < 2)
      return RotateOp();
    return rot;
  }

  /// Checks that `dq` is a symmetric per-token quantize of a static f32
  /// [M, K] argument (K a multiple of 4) into s8 values and f32 scales.
  /// With `emit` false, says so without diagnostics.
  static LogicalResult checkQuantize(DynamicQuantizeOp dq, bool emit = true) {
    auto fail = [&](const Twine &message) -> LogicalResult {
      if (emit)
        dq.emitError() << message;
      return failure();
    };
    QuantSchemeAttr scheme = dq.getScheme();
    if (scheme.getGranularity() != Granularity::PerToken ||
        !scheme.getSymmetric() || dq.getZeroPoint())
      return fail("the GPU quantize kernel handles symmetric per_token "
                  "schemes only (for now)");
    auto x = cast<RankedTensorType>(dq.getInput().getType());
    auto q = cast<RankedTensorType>(dq.getResult().getType());
    auto sc = cast<RankedTensorType>(dq.getScale().getType());
    auto qi = dyn_cast<IntegerType>(q.getElementType());
    if (x.getRank() != 2 || !x.hasStaticShape() ||
        !x.getElementType().isF32() || !qi || qi.getWidth() != 8 ||
        qi.isUnsigned() || !sc.getElementType().isF32())
      return fail("the GPU quantize kernel needs a static [M, K] f32 input, "
                  "s8 values and f32 scales");
    if (x.getDimSize(1) % 4 != 0)
      return fail("the GPU quantize kernel needs K to be a multiple of 4 (K "
                  "= " +
                  Twine(x.getDimSize(1)) + ")");
    return success();
  }

  /// Checks that `q` (whatever its operands) is a W8A8 linear the GEMM
  /// kernels handle. With `emit` false, says so without diagnostics.
  static LogicalResult checkQLinear(QLinearOp q, bool emit = true) {
    auto fail = [&](const Twine &message) -> LogicalResult {
      if (emit)
        q.emitError() << message;
      return failure();
    };
    if (q.getInputZeroPoint())
      return fail("asymmetric activations are not lowered to the GPU yet");
    auto sw = cast<RankedTensorType>(q.getWeightScale().getType());
    if (sw.getRank() > 1)
      return fail("per_group weight scales are not lowered to the GPU yet");
    auto x = cast<RankedTensorType>(q.getInput().getType());
    auto y = cast<RankedTensorType>(q.getType());
    if (x.getRank() != 2 || !x.hasStaticShape() ||
        !y.getElementType().isF32() ||
        !cast<RankedTensorType>(q.getInputScale().getType())
             .getElementType()
             .isF32() ||
        !sw.getElementType().isF32() ||
        cast<IntegerType>(x.getElementType()).isUnsigned())
      return fail("the GPU lowering needs a static [M, K] s8 input and f32 "
                  "scales and result");
    if (x.getDimSize(1) % 4 != 0)
      return fail("the GPU int8 kernel needs K to be a multiple of 4 (K = " +
                  Twine(x.getDimSize(1)) + ")");
    return success();
  }

  /// Checks that the fused LLM.int8() kernels take `op`: static outlier
  /// columns (1 to kMaxFusedOutliers), a static f32 [M, K] input (K a
  /// multiple of 16, M ≥ wgmma-min-m), a signed 8-bit weight with
  /// per-channel or per-tensor f32 scales, f32 outlier weight, bias and
  /// result, and `wgmma` on. With `emit` false, says so without
  /// diagnostics.
  LogicalResult checkFusedMixed(MixedLinearOp op, bool emit = true) {
    auto fail = [&](const Twine &message) -> LogicalResult {
      if (emit)
        op.emitError() << message;
      return failure();
    };
    std::optional<ArrayRef<int64_t>> cols = op.getColumns();
    if (!cols || cols->empty() ||
        int64_t(cols->size()) > gpu_kernels::kMaxFusedOutliers)
      return fail("the fused LLM.int8() GPU kernels need 1 to " +
                  Twine(gpu_kernels::kMaxFusedOutliers) +
                  " static outlier columns");
    if (!wgmma)
      return fail("the fused LLM.int8() GPU kernels need the wgmma kernel "
                  "(sm_90a)");
    auto x = cast<RankedTensorType>(op.getInput().getType());
    auto w = cast<RankedTensorType>(op.getWeight().getType());
    auto sw = cast<RankedTensorType>(op.getWeightScale().getType());
    auto wi = dyn_cast<IntegerType>(w.getElementType());
    auto isF32 = [](Value v) {
      return !v || cast<RankedTensorType>(v.getType()).getElementType().isF32();
    };
    if (x.getRank() != 2 || !x.hasStaticShape() || !isF32(op.getInput()) ||
        !isF32(op.getResult()) || !isF32(op.getOutlierWeight()) ||
        !isF32(op.getBias()) || !isF32(op.getWeightScale()) ||
        sw.getRank() > 1 || !wi || wi.getWidth() != 8 || wi.isUnsigned())
      return fail("the fused LLM.int8() GPU kernels need a static [M, K] f32 "
                  "input, a signed 8-bit weight and f32 scales, outlier "
                  "weight, bias and result");
    if (x.getDimSize(1) % 16 != 0 || x.getDimSize(0) < wgmmaMinM)
      return fail("the fused LLM.int8() GPU kernels need K to be a multiple "
                  "of 16 and M at least wgmma-min-m (M = " +
                  Twine(x.getDimSize(0)) + ", K = " + Twine(x.getDimSize(1)) +
                  ")");
    return success();
  }

  /// Whether every op of `f` is a qlinear or dynamic_quantize (the shape
  /// that convert() takes), whether or not the kernels handle them, or an
  /// LLM.int8() mixed_linear that the fused kernels take (others are split
  /// by the outlining path).
  bool isKernelFunction(func::FuncOp f) {
    return llvm::all_of(f.getBody().front(), [&](Operation &op) {
      if (auto mixed = dyn_cast<MixedLinearOp>(op))
        return succeeded(checkFusedMixed(mixed, /*emit=*/false));
      if (auto ext = dyn_cast<arith::ExtFOp>(op))
        return bool(fusableWiden(ext));
      if (auto trunc = dyn_cast<arith::TruncFOp>(op))
        return fusableNarrow(trunc.getIn()) == trunc;
      return isa<QLinearOp, DynamicQuantizeOp, RotateOp, func::ReturnOp>(op);
    });
  }

  /// Checks that `f` is qlinear / dynamic_quantize / mixed_linear ops on its
  /// arguments (a qlinear may also read dynamic_quantize results) that the
  /// kernels handle, returning their results.
  LogicalResult checkKernelFunction(func::FuncOp f) {
    Block &body = f.getBody().front();
    for (Operation &op : body) {
      if (isa<func::ReturnOp>(op))
        continue;
      if (auto ext = dyn_cast<arith::ExtFOp>(op)) {
        if (!fusableWiden(ext) || !isa<BlockArgument>(ext.getIn()) ||
            !llvm::all_of(ext->getUsers(), [&](Operation *user) {
              return isa<DynamicQuantizeOp, RotateOp>(user) ||
                     (isa<MixedLinearOp>(user) &&
                      cast<MixedLinearOp>(user).getInput() == ext);
            }))
          return ext.emitError()
                 << "the GPU lowering fuses an arith.extf only when it "
                    "widens a static [M, K] bf16 / f16 function argument to "
                    "f32 for dynamic_quantize, rotate or mixed_linear";
        continue;
      }
      if (auto trunc = dyn_cast<arith::TruncFOp>(op)) {
        Operation *producer = trunc.getIn().getDefiningOp();
        if (!isa_and_nonnull<QLinearOp, MixedLinearOp>(producer) ||
            fusableNarrow(trunc.getIn()) != trunc)
          return trunc.emitError()
                 << "the GPU lowering fuses an arith.truncf only when it "
                    "rounds the f32 result of a qlinear or mixed_linear (its "
                    "only use) to bf16 / f16, to nearest even";
        continue;
      }
      if (auto rot = dyn_cast<RotateOp>(op)) {
        Operation *only = rot->hasOneUse() ? *rot->getUsers().begin() : nullptr;
        auto user = dyn_cast_or_null<DynamicQuantizeOp>(only);
        if (!user || fusableRotate(user) != rot ||
            !isa<BlockArgument>(widenedSource(rot.getInput())))
          return rot.emitError()
                 << "the GPU lowering takes a rotation only as an online "
                    "Hadamard of a function argument (or its arith.extf) "
                    "feeding one dynamic_quantize (K ≤ "
                 << gpu_kernels::kMaxResidentK << ")";
        continue;
      }
      if (auto dq = dyn_cast<DynamicQuantizeOp>(op)) {
        if (failed(checkQuantize(dq)))
          return failure();
        if (!isa<BlockArgument>(widenedSource(dq.getInput())) &&
            !fusableRotate(dq))
          return dq.emitError() << "the GPU lowering needs the "
                                   "dynamic_quantize input to be a function "
                                   "argument (or its arith.extf)";
        continue;
      }
      if (auto mixed = dyn_cast<MixedLinearOp>(op)) {
        if (failed(checkFusedMixed(mixed)))
          return failure();
        if (!llvm::all_of(mixed->getOperands(), [](Value v) {
              return isa<BlockArgument>(widenedSource(v));
            }))
          return mixed.emitError() << "the GPU lowering needs every "
                                      "mixed_linear operand to be a function "
                                      "argument (the input may be its "
                                      "arith.extf)";
        continue;
      }
      auto q = dyn_cast<QLinearOp>(op);
      if (!q)
        return op.emitError()
               << "the GPU lowering handles functions of qlinear, per-token "
                  "dynamic_quantize and mixed_linear ops only (without "
                  "`outline`); this op is not one";
      for (Value v : q->getOperands())
        if (!isa<BlockArgument>(v) && !v.getDefiningOp<DynamicQuantizeOp>())
          return q.emitError() << "the GPU lowering needs every qlinear "
                                  "operand to be a function argument or a "
                                  "dynamic_quantize result";
      if (failed(checkQLinear(q)))
        return failure();
    }
    auto ret = cast<func::ReturnOp>(body.getTerminator());
    for (Value v : ret.getOperands())
      if (!v.getDefiningOp<QLinearOp>() &&
          !v.getDefiningOp<DynamicQuantizeOp>() &&
          !v.getDefiningOp<MixedLinearOp>() &&
          !v.getDefiningOp<arith::TruncFOp>())
        return ret.emitError() << "the GPU lowering needs every result to "
                                  "be a qlinear, dynamic_quantize or "
                                  "mixed_linear result (or its arith.truncf)";
    return success();
  }

  /// Outlines each qlinear / dynamic_quantize of `f` that the kernels
  /// handle into a private kernel function (converted at once), called
  /// through buffers: `bufferization.to_buffer` of each operand, a
  /// `memref.alloc` per result, the call, `bufferization.to_tensor` of each
  /// result. One-shot bufferization then sees ordinary tensor code.
  LogicalResult outlineKernels(func::FuncOp f, gpu::GPUModuleOp &kernels,
                               SymbolTable &symbols) {
    // LLM.int8() linears: the fused kernels (outlined below), or their int8
    // part becomes a quantize + qlinear pair.
    for (MixedLinearOp mixed : llvm::to_vector(f.getOps<MixedLinearOp>()))
      if (failed(checkFusedMixed(mixed, /*emit=*/false)) &&
          !gpu_kernels::splitMixedLinear(mixed))
        mixed.emitWarning() << "this LLM.int8() linear is not lowered to the "
                               "tensor-core kernels: runs as generic GPU loops";
    SmallVector<Operation *> ops;
    f.walk([&](Operation *op) {
      if (auto mixed = dyn_cast<MixedLinearOp>(op)) {
        if (succeeded(checkFusedMixed(mixed, /*emit=*/false)))
          ops.push_back(op); // the others run as loop kernels
      } else if (auto dq = dyn_cast<DynamicQuantizeOp>(op)) {
        if (succeeded(checkQuantize(dq, /*emit=*/false)))
          ops.push_back(op);
      } else if (auto q = dyn_cast<QLinearOp>(op)) {
        if (succeeded(checkQLinear(q, /*emit=*/false)))
          ops.push_back(op);
        else
          q.emitWarning() << "not lowered to a tensor-core kernel (see "
                             "convert-quant-xform-qlinear-to-gpu): runs as "
                             "generic GPU loops";
      }
    });
    unsigned next = 0;
    for (Operation *op : ops) {
      Location loc = op->getLoc();
      // The kernel function: the op alone on its operands, with what the
      // kernels fuse: in front, the online Hadamard rotation of a quantize
      // and a widening of its (or a mixed_linear's) input; behind, the
      // narrowing of a linear's result.
      RotateOp rot;
      Value input;
      if (auto dq = dyn_cast<DynamicQuantizeOp>(op)) {
        rot = fusableRotate(dq);
        input = rot ? rot.getInput() : dq.getInput();
      } else if (auto mixed = dyn_cast<MixedLinearOp>(op)) {
        input = mixed.getInput();
      }
      arith::ExtFOp widen = input ? fusableWiden(input) : arith::ExtFOp();
      arith::TruncFOp narrow;
      if (isa<QLinearOp, MixedLinearOp>(op))
        narrow = fusableNarrow(op->getResult(0));
      SmallVector<Operation *> chain;
      for (Operation *o : {widen.getOperation(), rot.getOperation(), op,
                           narrow.getOperation()})
        if (o)
          chain.push_back(o);
      SmallVector<Value> operands;
      for (Operation *o : chain)
        for (Value v : o->getOperands())
          if (!llvm::is_contained(chain, v.getDefiningOp()) &&
              !llvm::is_contained(operands, v))
            operands.push_back(v);
      Operation *last = chain.back();
      OpBuilder mb(f);
      auto kernelFn = func::FuncOp::create(
          mb, loc, (f.getName() + "_gpu" + Twine(next++)).str(),
          FunctionType::get(&getContext(), ValueRange(operands).getTypes(),
                            last->getResultTypes()));
      kernelFn.setPrivate();
      symbols.insert(kernelFn);
      Block *entry = kernelFn.addEntryBlock();
      IRMapping map;
      map.map(operands, entry->getArguments());
      OpBuilder fb = OpBuilder::atBlockEnd(entry);
      Operation *clone = nullptr;
      for (Operation *o : chain)
        clone = fb.clone(*o, map);
      func::ReturnOp::create(fb, loc, clone->getResults());
      if (failed(convert(kernelFn, kernels, symbols, /*synchronous=*/true)))
        return failure();
      // The call site.
      OpBuilder b(op);
      SmallVector<Value> args;
      for (Value v : operands)
        args.push_back(bufferization::ToBufferOp::create(
            b, loc, memrefOf(v.getType()), v, /*read_only=*/true));
      SmallVector<Value> outs;
      for (Type t : last->getResultTypes()) {
        outs.push_back(memref::AllocOp::create(b, loc, memrefOf(t)));
        args.push_back(outs.back());
      }
      func::CallOp::create(b, loc, kernelFn, args);
      for (auto [r, out] : llvm::zip(last->getResults(), outs))
        r.replaceAllUsesWith(bufferization::ToTensorOp::create(
            b, loc, r.getType(), out, /*restrict=*/true, /*writable=*/true));
      // Erase the chain from its end; a widening may still feed others.
      for (Operation *o : llvm::reverse(chain))
        if (o->use_empty())
          o->erase();
    }
    return success();
  }

  /// Rewrites `f` (checked by checkKernelFunction) into kernel launches on
  /// memrefs, all on one stream: the stream is created at the entry,
  /// scratch buffers for dynamic_quantize results that are not returned
  /// are allocated on it, and the exit frees them and synchronizes.
  LogicalResult convert(func::FuncOp f, gpu::GPUModuleOp &kernels,
                        SymbolTable &symbols, bool synchronous = false) {
    Block &body = f.getBody().front();
    auto ret = cast<func::ReturnOp>(body.getTerminator());
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

    // Where each op result lives: its out-parameter when returned (the
    // first one if returned twice; later ones are copied), else scratch.
    DenseMap<Value, Value> bufferFor;
    for (auto [v, out] : llvm::zip(ret.getOperands(), outs))
      if (!bufferFor.count(v))
        bufferFor[v] = out;
    // A narrowed linear result: the kernel stores into the narrow buffer.
    for (auto trunc : body.getOps<arith::TruncFOp>())
      if (Value out = bufferFor.lookup(trunc.getResult()))
        bufferFor[trunc.getIn()] = out;
    auto tokenType = gpu::AsyncTokenType::get(&getContext());
    OpBuilder eb = OpBuilder::atBlockBegin(&body);
    // `synchronous`: plain launches, no stream of its own (a function to be
    // inlined into a caller whose GPU ops gpu-async-region chains); only
    // when it needs no scratch buffers or copies (all results are returned
    // once).
    llvm::SmallPtrSet<Value, 4> returned(ret.getOperands().begin(),
                                         ret.getOperands().end());
    synchronous = synchronous && returned.size() == ret.getNumOperands() &&
                  llvm::all_of(body, [&](Operation &op) {
                    if (isa<MixedLinearOp>(op))
                      return false; // scratch for its quantized input
                    return !isa<DynamicQuantizeOp>(op) ||
                           (returned.contains(op.getResult(0)) &&
                            returned.contains(op.getResult(1)));
                  });
    Value token = synchronous ? Value()
                              : gpu::WaitOp::create(eb, f.getLoc(), tokenType,
                                                    ValueRange{})
                                    .getAsyncToken();
    SmallVector<Value> scratch;
    unsigned nextQuantize = 0, nextGemm = 0;
    // A device buffer for an intermediate, allocated on the stream and
    // freed at the exit.
    auto allocScratch = [&](OpBuilder &hb, Location loc, MemRefType type) {
      auto alloc =
          gpu::AllocOp::create(hb, loc, type, tokenType, ValueRange{token},
                               ValueRange{}, ValueRange{});
      token = alloc.getAsyncToken();
      scratch.push_back(alloc.getMemref());
      return alloc.getMemref();
    };
    // The wgmma options of the pass.
    gpu_kernels::WgmmaOptions wo;
    wo.tileM = wgmmaTileM;
    wo.tileN = wgmmaTileN;
    wo.tileK = wgmmaTileK;
    wo.stages = wgmmaStages;
    wo.groupM = wgmmaGroupM;
    wo.persistent = wgmmaPersistent;
    wo.tma = wgmmaTma;
    wo.minM = wgmmaMinM;
    for (Operation &op : llvm::make_early_inc_range(body)) {
      OpBuilder hb(&op);
      Location loc = op.getLoc();
      if (auto mixed = dyn_cast<MixedLinearOp>(op)) {
        if (failed(convertMixed(mixed, hb, kernels, allocScratch, wo,
                                f.getName() + "_mixed" + Twine(nextGemm++),
                                bufferFor, token)))
          return failure();
        continue;
      }
      if (auto dq = dyn_cast<DynamicQuantizeOp>(op)) {
        auto x = cast<ShapedType>(dq.getInput().getType());
        QuantSchemeAttr scheme = dq.getScheme();
        gpu_kernels::QuantizeShape qs;
        qs.m = x.getDimSize(0);
        qs.k = x.getDimSize(1);
        qs.clip = scheme.getClipRatio();
        qs.qmin = scheme.getQMin();
        qs.qmax = scheme.getQMax();
        Value input = dq.getInput();
        if (RotateOp rot = fusableRotate(dq)) {
          // x·diag(signs)·H/√B: column factors sign_k/√B, as the CPU
          // lowering rounds them.
          input = rot.getInput();
          qs.hadamardBlock = qs.k & -qs.k;
          double norm = 1.0 / std::sqrt(double(qs.hadamardBlock));
          std::optional<ArrayRef<int8_t>> signs = rot.getSigns();
          for (int64_t j = 0; j < qs.k; ++j)
            qs.hadamardScale.push_back(
                float(signs ? norm * (*signs)[j] : norm));
        }
        qs.inputType = kernelElementType(input);
        input = widenedSource(input);
        OpBuilder kb = OpBuilder::atBlockEnd(&kernels.getBodyRegion().front());
        std::string name =
            (f.getName() + "_quantize" + Twine(nextQuantize++)).str();
        gpu::GPUFuncOp kernel =
            gpu_kernels::buildQuantizeKernel(kb, loc, name, qs);
        SmallVector<Value> operands = {input};
        for (Value r : {dq.getResult(), dq.getScale()}) {
          if (!bufferFor.count(r))
            bufferFor[r] = allocScratch(hb, loc, memrefOf(r.getType()));
          operands.push_back(bufferFor[r]);
        }
        token = gpu_kernels::emitLaunch(
            hb, loc, kernel, gpu_kernels::quantizeLaunch(qs), operands, token);
        continue;
      }
      auto q = dyn_cast<QLinearOp>(op);
      if (!q)
        continue;
      auto x = cast<ShapedType>(q.getInput().getType());
      gpu_kernels::GemmShape s{
          x.getDimSize(0),
          cast<ShapedType>(q.getWeight().getType()).getDimSize(0),
          x.getDimSize(1),
          cast<ShapedType>(q.getInputScale().getType()).getRank() == 0,
          cast<ShapedType>(q.getWeightScale().getType()).getRank() == 0,
          bool(q.getBias())};
      bool useWgmma = wgmma && gpu_kernels::wgmmaApplies(s, wo);
      gpu_kernels::WgmmaTile tile = gpu_kernels::chooseWgmmaTile(s, wo);
      gpu_kernels::LaunchShape launch = useWgmma
                                            ? gpu_kernels::wgmmaLaunch(s, tile)
                                            : gpu_kernels::mmaSyncLaunch(s);
      if (failed(checkSharedMemory(q, launch, tile)))
        return failure();
      Value out = bufferFor.lookup(q.getResult());
      if (!out) // a qlinear result that is not returned is unused
        continue;
      s.outType = cast<MemRefType>(out.getType()).getElementType();
      OpBuilder kb = OpBuilder::atBlockEnd(&kernels.getBodyRegion().front());
      std::string name = (f.getName() + "_qlinear" + Twine(nextGemm++)).str();
      gpu::GPUFuncOp kernel =
          useWgmma ? gpu_kernels::buildWgmmaKernel(kb, loc, name, s, tile)
                   : gpu_kernels::buildMmaSyncKernel(kb, loc, name, s);
      SmallVector<Value> operands;
      for (Value v : q->getOperands())
        operands.push_back(bufferFor.lookup(v) ? bufferFor.lookup(v) : v);
      if (useWgmma && tile.tma)
        appendTensorMapPlaceholders(hb, loc, operands);
      operands.push_back(out);
      token = gpu_kernels::emitLaunch(hb, loc, kernel, launch, operands, token);
    }
    // A value returned twice: copy it into its later out-parameters.
    OpBuilder rb(ret);
    for (auto [v, out] : llvm::zip(ret.getOperands(), outs))
      if (bufferFor.lookup(v) != out) {
        auto copy =
            gpu::MemcpyOp::create(rb, ret.getLoc(), tokenType,
                                  ValueRange{token}, out, bufferFor.lookup(v));
        token = copy.getAsyncToken();
      }
    for (Value buffer : scratch)
      token = gpu::DeallocOp::create(rb, ret.getLoc(), tokenType,
                                     ValueRange{token}, buffer)
                  .getAsyncToken();
    // Results are in the out-parameters: synchronize and return nothing.
    if (token)
      gpu::WaitOp::create(rb, ret.getLoc(), Type(), ValueRange{token});
    func::ReturnOp::create(rb, ret.getLoc());
    ret.erase();
    for (Operation &op : llvm::make_early_inc_range(llvm::reverse(body)))
      if (isa<QLinearOp, DynamicQuantizeOp, RotateOp, MixedLinearOp,
              arith::ExtFOp, arith::TruncFOp>(op))
        op.erase();
    return success();
  }

  /// Appends the placeholders of a TMA kernel's two tensor maps
  /// (quant-xform-gpu-tensor-maps makes the maps).
  static void appendTensorMapPlaceholders(OpBuilder &b, Location loc,
                                          SmallVectorImpl<Value> &operands) {
    Type type = gpu_kernels::tensorMapType(b.getContext());
    for (int i = 0; i < 2; ++i)
      operands.push_back(LLVM::PoisonOp::create(b, loc, type));
  }

  /// Checks that `launch` fits the shared memory of one H100 block (an
  /// error on `op` naming the wgmma stages otherwise).
  static LogicalResult checkSharedMemory(Operation *op,
                                         const gpu_kernels::LaunchShape &launch,
                                         const gpu_kernels::WgmmaTile &tile) {
    if (launch.sharedBytes <= gpu_kernels::kMaxSharedBytes)
      return success();
    return op->emitError()
           << "the wgmma kernel's " << tile.stages
           << " stages need more shared memory than the 227 KB of an H100 "
              "block; lower wgmma-stages";
  }

  /// Launches the fused LLM.int8() kernels of `op` (checked by
  /// checkFusedMixed) after `token`: the quantize kernel (outlier columns
  /// zeroed, and gathered into xo) into scratch buffers, then the wgmma GEMM
  /// whose epilogue adds xo·Woᵀ, into `op`'s buffer.
  LogicalResult convertMixed(
      MixedLinearOp op, OpBuilder &hb, gpu::GPUModuleOp kernels,
      llvm::function_ref<Value(OpBuilder &, Location, MemRefType)> scratch,
      const gpu_kernels::WgmmaOptions &wo, const Twine &name,
      DenseMap<Value, Value> &bufferFor, Value &token) {
    Location loc = op.getLoc();
    Value out = bufferFor.lookup(op.getResult());
    if (!out) // not returned: unused
      return success();
    auto x = cast<ShapedType>(op.getInput().getType());
    ArrayRef<int64_t> cols = *op.getColumns();
    int64_t m = x.getDimSize(0), k = x.getDimSize(1);
    int64_t o = int64_t(cols.size());
    gpu_kernels::QuantizeShape qs;
    qs.m = m;
    qs.k = k;
    qs.outlierColumns.assign(cols.begin(), cols.end());
    qs.inputType = kernelElementType(op.getInput());
    gpu_kernels::GemmShape s{
        m,
        cast<ShapedType>(op.getWeight().getType()).getDimSize(0),
        k,
        /*perTensorX=*/false,
        cast<ShapedType>(op.getWeightScale().getType()).getRank() == 0,
        bool(op.getBias())};
    s.outliers = o;
    s.outType = cast<MemRefType>(out.getType()).getElementType();
    gpu_kernels::WgmmaTile tile = gpu_kernels::chooseWgmmaTile(s, wo);
    gpu_kernels::LaunchShape launch = gpu_kernels::wgmmaLaunch(s, tile);
    if (failed(checkSharedMemory(op, launch, tile)))
      return failure();
    Type f32 = hb.getF32Type();
    Value q = scratch(hb, loc, MemRefType::get({m, k}, hb.getI8Type()));
    Value sx = scratch(hb, loc, MemRefType::get({m}, f32));
    Value xo = scratch(hb, loc, MemRefType::get({m, o}, f32));
    OpBuilder kb = OpBuilder::atBlockEnd(&kernels.getBodyRegion().front());
    std::string base = name.str();
    gpu::GPUFuncOp quantize =
        gpu_kernels::buildQuantizeKernel(kb, loc, base + "_quantize", qs);
    token = gpu_kernels::emitLaunch(
        hb, loc, quantize, gpu_kernels::quantizeLaunch(qs),
        {widenedSource(op.getInput()), q, sx, xo}, token);
    gpu::GPUFuncOp gemm =
        gpu_kernels::buildWgmmaKernel(kb, loc, base + "_gemm", s, tile);
    SmallVector<Value> operands = {q, sx, op.getWeight(), op.getWeightScale()};
    if (op.getBias())
      operands.push_back(op.getBias());
    operands.append({xo, op.getOutlierWeight()});
    if (tile.tma)
      appendTensorMapPlaceholders(hb, loc, operands);
    operands.push_back(out);
    token = gpu_kernels::emitLaunch(hb, loc, gemm, launch, operands, token);
    return success();
  }
};

} // namespace
