//===- TensorMaps.cpp - TMA tensor maps: host encoding, kernel parameters -===//
//
// The two ends of a TMA kernel's tensor maps (CUtensorMap, 128 bytes,
// passed by value):
// - quant-xform-gpu-tensor-maps (host): before each launch, the runtime's
//   qxGpuEncodeTensorMap fills the map of the kernel operand it describes.
// - quant-xform-gpu-tensor-map-args (kernel, after convert-gpu-to-nvvm):
//   the `!llvm.array<16 x i64>` arguments, used through
//   `unrealized_conversion_cast`s to `!llvm.ptr`, become byval, 64-byte
//   aligned, grid-constant pointer arguments (CUDA's `const
//   __grid_constant__ CUtensorMap`): the parameter stays in param space and
//   the TMA copies read it through its generic address.
//
//===----------------------------------------------------------------------===//

#include "quant-xform/Conversion/QuantXformToGPU/Passes.h"

#include "GemmKernels.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Interfaces/FunctionInterfaces.h"

namespace mlir::quant_xform {
#define GEN_PASS_DEF_GPUTENSORMAPS
#define GEN_PASS_DEF_GPUTENSORMAPARGS
#include "quant-xform/Conversion/QuantXformToGPU/Passes.h.inc"
} // namespace mlir::quant_xform

using namespace mlir;

namespace {

/// Whether `type` is the by-value form of a CUtensorMap (128 bytes).
bool isTensorMapType(Type type) {
  auto array = dyn_cast<LLVM::LLVMArrayType>(type);
  return array && array.getNumElements() == 16 &&
         array.getElementType().isInteger(64);
}

/// Whether `v` is used only by casts to `!llvm.ptr` (at least one).
bool onlyCastToPointer(Value v) {
  if (v.use_empty())
    return false;
  return llvm::all_of(v.getUsers(), [](Operation *user) {
    auto cast = dyn_cast<UnrealizedConversionCastOp>(user);
    return cast && cast->getNumOperands() == 1 && cast->getNumResults() == 1 &&
           isa<LLVM::LLVMPointerType>(cast.getResult(0).getType());
  });
}

/// Emits, before `launch`, the tensor map of int8 matrix `source` (static,
/// identity layout) for boxes of `boxRows` × `boxBytes`: a call of the
/// runtime's qxGpuEncodeTensorMap (declared in `module` when missing) into a
/// stack slot at the entry of `function`; returns the loaded map.
Value emitTensorMap(gpu::LaunchFuncOp launch, FunctionOpInterface function,
                    ModuleOp module, Value source, int64_t boxRows,
                    int64_t boxBytes) {
  MLIRContext *ctx = launch.getContext();
  Location loc = launch.getLoc();
  Type i64 = IntegerType::get(ctx, 64);
  auto ptr = LLVM::LLVMPointerType::get(ctx);
  constexpr StringLiteral kEncode = "qxGpuEncodeTensorMap";
  auto encode = module.lookupSymbol<LLVM::LLVMFuncOp>(kEncode);
  if (!encode) {
    OpBuilder mb = OpBuilder::atBlockBegin(module.getBody());
    encode = LLVM::LLVMFuncOp::create(
        mb, loc, kEncode,
        LLVM::LLVMFunctionType::get(LLVM::LLVMVoidType::get(ctx),
                                    {ptr, ptr, i64, i64, i64, i64}));
  }
  OpBuilder b(launch);
  auto k64 = [&](int64_t v) -> Value {
    return LLVM::ConstantOp::create(b, loc, i64, b.getI64IntegerAttr(v));
  };
  Type mapType = quant_xform::gpu_kernels::tensorMapType(ctx);
  Value slot;
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&function.getFunctionBody().front());
    slot = LLVM::AllocaOp::create(b, loc, ptr, mapType, k64(1),
                                  /*alignment=*/64);
  }
  auto type = cast<MemRefType>(source.getType());
  Value address = arith::IndexCastUIOp::create(
      b, loc, i64,
      memref::ExtractAlignedPointerAsIndexOp::create(b, loc, source));
  Value base = LLVM::IntToPtrOp::create(b, loc, ptr, address);
  // The rows: a constant, or a run-time M read from the memref.
  Value rows = type.isDynamicDim(0)
                   ? Value(arith::IndexCastUIOp::create(
                         b, loc, i64, memref::DimOp::create(b, loc, source, 0)))
                   : k64(type.getDimSize(0));
  LLVM::CallOp::create(b, loc, encode,
                       ValueRange{slot, base, rows, k64(type.getDimSize(1)),
                                  k64(boxRows), k64(boxBytes)});
  return LLVM::LoadOp::create(b, loc, mapType, slot);
}

struct GPUTensorMaps
    : public quant_xform::impl::GPUTensorMapsBase<GPUTensorMaps> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    WalkResult result = module.walk([&](gpu::LaunchFuncOp launch) {
      auto kernel = SymbolTable::lookupNearestSymbolFrom<gpu::GPUFuncOp>(
          launch, launch.getKernel());
      if (!kernel)
        return WalkResult::advance();
      auto function = launch->getParentOfType<FunctionOpInterface>();
      for (unsigned i = 0; i < kernel.getNumArguments(); ++i) {
        auto spec = kernel.getArgAttrOfType<DenseI64ArrayAttr>(
            i, quant_xform::gpu_kernels::kTensorMapAttrName);
        if (!spec)
          continue;
        ArrayRef<int64_t> v = spec.asArrayRef();
        Value source = v.size() == 3 && v[0] >= 0 &&
                               v[0] < int64_t(launch.getNumKernelOperands())
                           ? launch.getKernelOperand(v[0])
                           : Value();
        auto type =
            source ? dyn_cast<MemRefType>(source.getType()) : MemRefType();
        if (!type || type.getRank() != 2 || type.isDynamicDim(1) ||
            !type.getElementType().isInteger(8) ||
            !type.getLayout().isIdentity() || !function) {
          launch.emitError() << "tensor map argument " << i << " of kernel "
                             << kernel.getName()
                             << " does not describe an int8 matrix operand "
                                "of static columns and identity layout";
          return WalkResult::interrupt();
        }
        launch.getKernelOperandsMutable()[i].set(
            emitTensorMap(launch, function, module, source, v[1], v[2]));
      }
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      signalPassFailure();
  }
};

struct GPUTensorMapArgs
    : public quant_xform::impl::GPUTensorMapArgsBase<GPUTensorMapArgs> {
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    auto ptr = LLVM::LLVMPointerType::get(ctx);
    WalkResult result = getOperation().walk([&](LLVM::LLVMFuncOp f) {
      if (f.isExternal())
        return WalkResult::advance();
      bool kernel = f->hasAttr(NVVM::NVVMDialect::getKernelFuncAttrName());
      Block &entry = f.getBody().front();
      SmallVector<Type> types(f.getFunctionType().getParams());
      bool changed = false;
      for (BlockArgument arg : entry.getArguments()) {
        if (!isTensorMapType(arg.getType()) || !onlyCastToPointer(arg))
          continue;
        if (!kernel) {
          f.emitError() << "argument " << arg.getArgNumber()
                        << " is a tensor map used by address, which only a "
                           "kernel argument can be";
          return WalkResult::interrupt();
        }
        Type mapType = arg.getType();
        for (Operation *user : llvm::make_early_inc_range(arg.getUsers())) {
          user->getResult(0).replaceAllUsesWith(arg);
          user->erase();
        }
        arg.setType(ptr);
        types[arg.getArgNumber()] = ptr;
        unsigned i = arg.getArgNumber();
        f.setArgAttr(i, LLVM::LLVMDialect::getByValAttrName(),
                     TypeAttr::get(mapType));
        f.setArgAttr(i, LLVM::LLVMDialect::getAlignAttrName(),
                     IntegerAttr::get(IntegerType::get(ctx, 64), 64));
        f.setArgAttr(i, NVVM::NVVMDialect::getGridConstantAttrName(),
                     UnitAttr::get(ctx));
        changed = true;
      }
      if (changed)
        f.setFunctionType(
            LLVM::LLVMFunctionType::get(f.getFunctionType().getReturnType(),
                                        types, f.getFunctionType().isVarArg()));
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      signalPassFailure();
  }
};

} // namespace
