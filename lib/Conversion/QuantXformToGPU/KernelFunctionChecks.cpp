//===- KernelFunctionChecks.cpp - what the GPU kernels take ---------------===//
//
// Which ops the generated kernels of convert-quant-xform-qlinear-to-gpu
// take (and which casts and rotations they fuse), checked with or without
// diagnostics: the legality of a kernel function beyond what the
// conversion target states, with an error that names the op and the reason.
//
//===----------------------------------------------------------------------===//

#include "KernelLowering.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

using namespace mlir;
using namespace mlir::quant_xform;
using namespace mlir::quant_xform::gpu_lowering;

/// The memref form of a tensor type (identity layout).
MemRefType gpu_lowering::memrefOf(Type t) {
  auto tt = cast<RankedTensorType>(t);
  Type e = tt.getElementType();
  if (auto i = dyn_cast<IntegerType>(e))
    e = IntegerType::get(t.getContext(), i.getWidth());
  return MemRefType::get(tt.getShape(), e);
}

Value gpu_lowering::runtimeRows(OpBuilder &b, Location loc, Value buffer,
                                bool dynamicM) {
  if (!dynamicM)
    return Value();
  return memref::DimOp::create(b, loc, buffer, 0);
}

/// Whether `x` is an [M, K] matrix with a static K (M may be a run-time
/// value: the kernels take either).
static bool isRowMatrix(ShapedType x) {
  return x.getRank() == 2 && !x.isDynamicDim(1);
}

/// Whether `t` is a bf16 or f16 element type (what the kernels read and
/// write besides f32).
static bool isHalfFloat(Type t) { return t.isBF16() || t.isF16(); }

/// Whether `ext` widens a static rank-4 f16 tensor to f32.
static bool widensHalfHeads(arith::ExtFOp ext) {
  auto in = dyn_cast<RankedTensorType>(ext.getIn().getType());
  auto out = dyn_cast<RankedTensorType>(ext.getType());
  return in && out && in.getRank() == 4 && in.hasStaticShape() &&
         in.getElementType().isF16() && out.getElementType().isF32();
}

/// Whether every reader of `ext` is an attention kernel that loads it in
/// f16: as q, or as k and v, both widened from f16 (the kernel takes them
/// as one type).
static bool readByHalfAttentions(arith::ExtFOp ext) {
  return llvm::all_of(ext->getUses(), [](OpOperand &use) {
    auto att = dyn_cast<AttentionOp>(use.getOwner());
    if (!att || !attentionKernelRefusal(att).empty())
      return false;
    if (use.get() == att.getQuery() && use.getOperandNumber() == 0)
      return true;
    if (use.get() == att.getMask())
      return false;
    auto k = att.getKey().getDefiningOp<arith::ExtFOp>();
    auto v = att.getValue().getDefiningOp<arith::ExtFOp>();
    return k && v && widensHalfHeads(k) && widensHalfHeads(v);
  });
}

arith::ExtFOp gpu_lowering::fusableWiden(Value v) {
  auto ext = v.getDefiningOp<arith::ExtFOp>();
  if (!ext)
    return ext;
  if (widensHalfHeads(ext))
    return readByHalfAttentions(ext) ? ext : arith::ExtFOp();
  auto in = dyn_cast<ShapedType>(ext.getIn().getType());
  auto out = dyn_cast<RankedTensorType>(ext.getType());
  if (!in || !out || !isRowMatrix(in) || !isHalfFloat(in.getElementType()) ||
      !out.getElementType().isF32())
    return arith::ExtFOp();
  return ext;
}

/// `v` seen through a fusable widening (the value a kernel reads).
Value gpu_lowering::widenedSource(Value v) {
  arith::ExtFOp ext = fusableWiden(v);
  return ext ? ext.getIn() : v;
}

/// The element type a kernel reads for `v` (through a fusable widening).
Type gpu_lowering::kernelElementType(Value v) {
  return cast<ShapedType>(widenedSource(v).getType()).getElementType();
}

/// The only user of the f32 linear result `r` when it is an `arith.truncf`
/// to bf16 / f16, which the GEMM epilogue fuses into its stores, or null.
arith::TruncFOp gpu_lowering::fusableNarrow(Value r) {
  if (!r.hasOneUse())
    return arith::TruncFOp();
  auto trunc = dyn_cast<arith::TruncFOp>(*r.getUsers().begin());
  if (!trunc || trunc.getRoundingmodeAttr() ||
      !isHalfFloat(cast<RankedTensorType>(trunc.getType()).getElementType()))
    return arith::TruncFOp();
  return trunc;
}

arith::TruncFOp gpu_lowering::fusableEpilogueNarrow(Value r) {
  Operation *producer = r.getDefiningOp();
  if (isa_and_nonnull<QLinearOp, MixedLinearOp>(producer))
    return fusableNarrow(r);
  // A fused activation's result (the gated pair's epilogue stores f32).
  if (!producer || producer->getNumResults() != 1 || gatedPairsHalf(producer) ||
      !fusedLinearResult(producer))
    return arith::TruncFOp();
  return fusableNarrow(r);
}

arith::TruncFOp gpu_lowering::fusableAttentionNarrow(AttentionOp att) {
  arith::TruncFOp narrow = fusableNarrow(att.getResult());
  if (narrow &&
      cast<RankedTensorType>(narrow.getType()).getElementType().isF16())
    return narrow;
  return arith::TruncFOp();
}

SmallVector<Value> gpu_lowering::activationInputs(Operation *act) {
  if (auto g = dyn_cast<linalg::GenericOp>(act))
    return g.getDpsInputs();
  return SmallVector<Value>(act->getOperands());
}

/// Whether the second input `other` of an activation of the linear result
/// `r` can be read by the linear's kernel: r's type, and there before r's
/// linear (whose kernel function's call reads it).
static bool isEpilogueOperand(Value other, Value r) {
  Operation *linear = r.getDefiningOp();
  Operation *def = other.getDefiningOp();
  if (other == r || other.getType() != r.getType() || !linear)
    return false;
  if (!def)
    return cast<BlockArgument>(other).getOwner() == linear->getBlock();
  return def->getBlock() == linear->getBlock() && def->isBeforeInBlock(linear);
}

/// Whether the tensor add `add` of `r` is the residual add of a norm that
/// its kernel fuses.
static bool isNormResidual(arith::AddFOp add) {
  return llvm::any_of(add->getUsers(), [&](Operation *user) {
    return isa<LayerNormOp, RMSNormOp>(user) && fusableResidual(user) == add;
  });
}

Operation *gpu_lowering::fusableActivation(Value r) {
  if (r.use_empty() ||
      !cast<RankedTensorType>(r.getType()).getElementType().isF32())
    return {};
  Operation *user = *r.getUsers().begin();
  if (llvm::any_of(r.getUsers(), [&](Operation *u) { return u != user; }))
    return {};
  if (isa<arith::AddFOp, arith::MulFOp>(user)) {
    Value lhs = user->getOperand(0), rhs = user->getOperand(1);
    Value other = lhs == r ? rhs : lhs;
    auto add = dyn_cast<arith::AddFOp>(user);
    if (user->getResult(0).getType() != r.getType() ||
        !isEpilogueOperand(other, r) || (add && isNormResidual(add)))
      return {};
    return user;
  }
  auto g = dyn_cast<linalg::GenericOp>(user);
  if (!g)
    return {};
  if (gatedPairsHalf(g)) // checked when GatedPairs.cpp made it
    return g;
  unsigned inputs = g.getNumDpsInputs();
  if (inputs < 1 || inputs > 2 || g.getNumDpsInits() != 1 ||
      g->getNumResults() != 1 || g->getResult(0).getType() != r.getType() ||
      g.getNumReductionLoops() != 0 ||
      !llvm::all_of(g.getIndexingMapsArray(),
                    [](AffineMap m) { return m.isIdentity(); }))
    return {};
  if (inputs == 2 &&
      !isEpilogueOperand(g.getDpsInputs()[g.getDpsInputs()[0] == r ? 1 : 0], r))
    return {};
  Block &body = g.getRegion().front();
  if (!body.getArgument(inputs).use_empty())
    return {};
  // Arith / math ops on values of the body or scalar constants from
  // outside (canonicalization hoists them): the kernel clones both.
  auto clonable = [&](Value v) {
    if (v.getParentBlock() == &body)
      return true;
    auto cst = v.getDefiningOp<arith::ConstantOp>();
    return cst && cst.getType().isIntOrIndexOrFloat();
  };
  for (Operation &op : body.without_terminator())
    if (!isa<arith::ArithDialect, math::MathDialect>(op.getDialect()) ||
        op.getNumRegions() != 0 || !llvm::all_of(op.getOperands(), clonable))
      return {};
  if (!clonable(body.getTerminator()->getOperand(0)))
    return {};
  return g;
}

/// The online Hadamard rotation that `dq` quantizes and that the quantize
/// kernel can do in front (`rotate hadamard`, not inverse, used only by
/// `dq`, K ≤ kMaxResidentK), or null.
RotateOp gpu_lowering::fusableRotate(DynamicQuantizeOp dq) {
  auto rot = dq.getInput().getDefiningOp<RotateOp>();
  if (!rot || rot.getKind() != RotationKind::Hadamard || rot.getInverse() ||
      !rot.getResult().hasOneUse())
    return RotateOp();
  auto x = cast<ShapedType>(rot.getInput().getType());
  if (!isRowMatrix(x) || x.getDimSize(1) > gpu_kernels::kMaxResidentK ||
      (x.getDimSize(1) & -x.getDimSize(1)) < 2)
    return RotateOp();
  return rot;
}

/// Checks that `dq` is a symmetric per-token quantize of an f32 [M, K]
/// argument (K static, M static or not) (K a multiple of 4) into s8 values and
/// f32 scales. With `emit` false, says so without diagnostics.
LogicalResult gpu_lowering::checkQuantize(DynamicQuantizeOp dq, bool emit) {
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
  if (!isRowMatrix(x) || !x.getElementType().isF32() || !qi ||
      qi.getWidth() != 8 || qi.isUnsigned() || !sc.getElementType().isF32())
    return fail("the GPU quantize kernel needs an [M, K] f32 input with a "
                "static K, s8 values and f32 scales");
  if (x.getDimSize(1) % 4 != 0)
    return fail("the GPU quantize kernel needs K to be a multiple of 4 (K "
                "= " +
                Twine(x.getDimSize(1)) + ")");
  return success();
}

/// Checks that `q` (whatever its operands) is a W8A8 linear the GEMM
/// kernels handle. With `emit` false, says so without diagnostics.
LogicalResult gpu_lowering::checkQLinear(QLinearOp q, bool emit) {
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
  if (cast<RankedTensorType>(q.getInputScale().getType()).getRank() ==
      x.getRank())
    return fail("per_group activation scales are not lowered to the GPU yet");
  auto y = cast<RankedTensorType>(q.getType());
  if (!isRowMatrix(x) ||
      !cast<RankedTensorType>(q.getWeight().getType()).hasStaticShape() ||
      !y.getElementType().isF32() ||
      !cast<RankedTensorType>(q.getInputScale().getType())
           .getElementType()
           .isF32() ||
      !sw.getElementType().isF32() ||
      cast<IntegerType>(x.getElementType()).isUnsigned())
    return fail("the GPU lowering needs an [M, K] s8 input with a static "
                "K, a static weight and f32 scales and result");
  if (x.getDimSize(1) % 4 != 0)
    return fail("the GPU int8 kernel needs K to be a multiple of 4 (K = " +
                Twine(x.getDimSize(1)) + ")");
  return success();
}

/// Checks that the fused LLM.int8() kernels take `op`: static outlier
/// columns (1 to kMaxFusedOutliers), an f32 [M, K] input (K static and a
/// multiple of 16, M ≥ wgmma-min-m or a run-time M), a signed 8-bit weight with
/// per-channel or per-tensor f32 scales, f32 outlier weight, bias and
/// result, and `wgmma` on. With `emit` false, says so without
/// diagnostics.
LogicalResult gpu_lowering::checkFusedMixed(
    MixedLinearOp op, const QuantXformToGPUOptions &options, bool emit) {
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
  if (!options.wgmma)
    return fail("the fused LLM.int8() GPU kernels need the wgmma kernel "
                "(sm_90a)");
  auto x = cast<RankedTensorType>(op.getInput().getType());
  auto w = cast<RankedTensorType>(op.getWeight().getType());
  auto sw = cast<RankedTensorType>(op.getWeightScale().getType());
  auto wi = dyn_cast<IntegerType>(w.getElementType());
  auto isF32 = [](Value v) {
    return !v || cast<RankedTensorType>(v.getType()).getElementType().isF32();
  };
  if (!isRowMatrix(x) || !w.hasStaticShape() || !isF32(op.getInput()) ||
      !isF32(op.getResult()) || !isF32(op.getOutlierWeight()) ||
      !isF32(op.getBias()) || !isF32(op.getWeightScale()) || sw.getRank() > 1 ||
      !wi || wi.getWidth() != 8 || wi.isUnsigned())
    return fail("the fused LLM.int8() GPU kernels need an [M, K] f32 "
                "input with a static K, a static signed 8-bit weight and "
                "f32 scales, outlier weight, bias and result");
  if (x.getDimSize(1) % 16 != 0 ||
      (!x.isDynamicDim(0) && x.getDimSize(0) < options.wgmmaOptions.minM))
    return fail("the fused LLM.int8() GPU kernels need K to be a multiple "
                "of 16 and M at least wgmma-min-m (M = " +
                Twine(x.getDimSize(0)) + ", K = " + Twine(x.getDimSize(1)) +
                ")");
  return success();
}

/// Checks an attention or norm op of a kernel function: its kernel takes
/// it and its operands are the function's arguments, or their fused
/// widenings (an error unless not `emit`).
static LogicalResult checkRowKernelOp(Operation *op, bool emit = true) {
  if (auto att = dyn_cast<AttentionOp>(op)) {
    if (failed(checkAttention(att)))
      return failure();
  } else if (std::string why = normKernelRefusal(op); !why.empty()) {
    return op->emitError() << "the GPU norm kernel needs " << why;
  }
  arith::AddFOp residual =
      isa<AttentionOp>(op) ? arith::AddFOp() : fusableResidual(op);
  // (An attention's f16 operands may arrive through their arith.extf.)
  auto isArgument = [](Value v) {
    return isa<BlockArgument>(widenedSource(v));
  };
  if (!llvm::all_of(op->getOperands().drop_front(residual ? 1 : 0),
                    isArgument) ||
      (residual && !llvm::all_of(residual->getOperands(), isArgument))) {
    if (!emit)
      return failure();
    return op->emitError() << "the GPU lowering needs every operand of this "
                              "op (and of a residual add in front of a norm) "
                              "to be a function argument";
  }
  return success();
}

Value gpu_lowering::fusedLinearResult(Operation *act) {
  for (Value in : activationInputs(act))
    if (auto q = in.getDefiningOp<QLinearOp>())
      if (fusableActivation(q.getResult()) == act)
        return in;
  return Value();
}

/// Whether `act` is the activation of a qlinear that its kernel fuses.
static bool isFusedActivation(Operation *act) {
  return bool(fusedLinearResult(act));
}

static bool isFusedNarrow(arith::TruncFOp trunc);

/// Whether every op of `f` is a qlinear or dynamic_quantize (the shape
/// that convert() takes), whether or not the kernels handle them, or an
/// LLM.int8() mixed_linear that the fused kernels take (others are split
/// by the outlining path).
bool gpu_lowering::isKernelFunction(func::FuncOp f,
                                    const QuantXformToGPUOptions &options) {
  return llvm::all_of(f.getBody().front(), [&](Operation &op) {
    if (auto mixed = dyn_cast<MixedLinearOp>(op))
      return succeeded(checkFusedMixed(mixed, options, /*emit=*/false));
    if (auto att = dyn_cast<AttentionOp>(op))
      return options.attentionKernel &&
             succeeded(checkAttention(att, /*emit=*/false));
    if (isa<LayerNormOp, RMSNormOp>(op))
      return normKernelRefusal(&op).empty() &&
             succeeded(checkRowKernelOp(&op, /*emit=*/false));
    if (auto add = dyn_cast<arith::AddFOp>(op))
      return isNormResidual(add) || isFusedActivation(add);
    if (isa<linalg::GenericOp, arith::MulFOp>(op))
      return isFusedActivation(&op);
    if (auto ext = dyn_cast<arith::ExtFOp>(op))
      return bool(fusableWiden(ext));
    if (auto trunc = dyn_cast<arith::TruncFOp>(op))
      return isFusedNarrow(trunc);
    return isa<QLinearOp, DynamicQuantizeOp, RotateOp, func::ReturnOp>(op);
  });
}

/// Checks that `f` is qlinear / dynamic_quantize / mixed_linear ops on its
/// arguments (a qlinear may also read dynamic_quantize results) that the
/// kernels handle, returning their results.
/// An `arith.extf` in a kernel function: of a function argument, fused
/// into the loads of the kernels that read it.
static LogicalResult checkFusedWiden(arith::ExtFOp ext) {
  if (fusableWiden(ext) && isa<BlockArgument>(ext.getIn()) &&
      llvm::all_of(ext->getUsers(), [&](Operation *user) {
        return isa<DynamicQuantizeOp, RotateOp, AttentionOp>(user) ||
               (isa<MixedLinearOp>(user) &&
                cast<MixedLinearOp>(user).getInput() == ext);
      }))
    return success();
  return ext.emitError()
         << "the GPU lowering fuses an arith.extf only when it widens a "
            "static [M, K] bf16 / f16 function argument to f32 for "
            "dynamic_quantize, rotate or mixed_linear, or a static f16 "
            "[B, S, heads, D] one for attention (q, or k and v together)";
}

/// Whether a kernel stores `trunc`'s rounding of its result: a linear's
/// to bf16 / f16, an attention's to f16.
static bool isFusedNarrow(arith::TruncFOp trunc) {
  Operation *producer = trunc.getIn().getDefiningOp();
  if (auto att = dyn_cast_or_null<AttentionOp>(producer))
    return fusableAttentionNarrow(att) == trunc;
  return fusableEpilogueNarrow(trunc.getIn()) == trunc;
}

/// An `arith.truncf` in a kernel function: fused into the stores of the
/// kernel that produces its input.
static LogicalResult checkFusedNarrow(arith::TruncFOp trunc) {
  if (isFusedNarrow(trunc))
    return success();
  return trunc.emitError()
         << "the GPU lowering fuses an arith.truncf only when it rounds the "
            "f32 result of a qlinear or mixed_linear, or of the activation "
            "its epilogue applies (its only use), to bf16 / f16, to nearest "
            "even (or that of an attention, to f16)";
}

LogicalResult
gpu_lowering::checkKernelFunction(func::FuncOp f,
                                  const QuantXformToGPUOptions &options) {
  Block &body = f.getBody().front();
  for (Operation &op : body) {
    if (isa<func::ReturnOp>(op))
      continue;
    if (auto ext = dyn_cast<arith::ExtFOp>(op)) {
      if (failed(checkFusedWiden(ext)))
        return failure();
      continue;
    }
    if (auto trunc = dyn_cast<arith::TruncFOp>(op)) {
      if (failed(checkFusedNarrow(trunc)))
        return failure();
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
          !fusableRotate(dq) && !quantizedByNorm(dq))
        return dq.emitError() << "the GPU lowering needs the "
                                 "dynamic_quantize input to be a function "
                                 "argument (or its arith.extf)";
      continue;
    }
    if (auto add = dyn_cast<arith::AddFOp>(op); add && isNormResidual(add))
      continue; // checked with its norm
    if (isa<linalg::GenericOp, arith::AddFOp, arith::MulFOp>(op) &&
        isFusedActivation(&op))
      continue; // checked with its qlinear
    if (isa<AttentionOp>(op) && !options.attentionKernel)
      return op.emitError() << "with attention-kernel=false, attention runs "
                               "as loop kernels, which only a whole model "
                               "(outline) can hold";
    if (isa<AttentionOp, LayerNormOp, RMSNormOp>(op)) {
      if (failed(checkRowKernelOp(&op)))
        return failure();
      continue;
    }
    if (auto mixed = dyn_cast<MixedLinearOp>(op)) {
      if (failed(checkFusedMixed(mixed, options)))
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
                "dynamic_quantize, mixed_linear, attention and norm ops "
                "only (without `outline`); this op is not one";
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
        !v.getDefiningOp<arith::TruncFOp>() &&
        !isa_and_nonnull<AttentionOp, LayerNormOp, RMSNormOp, arith::AddFOp,
                         arith::MulFOp, linalg::GenericOp>(v.getDefiningOp()))
      return ret.emitError() << "the GPU lowering needs every result to "
                                "be a qlinear, dynamic_quantize, "
                                "mixed_linear, attention or norm result (or "
                                "an arith.truncf of a linear's)";
  return success();
}
