//===- WeightsAsData.cpp - a GPU model's weights leave its object ---------===//
//
// quant-xform-gpu-weights-as-data: after quant-xform-gpu-host-buffers, the
// large constant globals that host code copies to the device once
// (`qxGpuConstant*` calls) are written to a safetensors file and dropped
// from the module; each entry function takes one more argument, the table
// of their device buffers, and reads each weight from it through the
// runtime (`qxGpuWeight*`, which checks the table against the compiled
// layout). See docs/DECISIONS.md, "Weights as data on the GPU".
//
//===----------------------------------------------------------------------===//

#include "quant-xform/Conversion/QuantXformToGPU/Passes.h"
#include "quant-xform/IO/Safetensors.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/Support/SHA256.h"

namespace mlir::quant_xform {
#define GEN_PASS_DEF_GPUWEIGHTSASDATA
#include "quant-xform/Conversion/QuantXformToGPU/Passes.h.inc"
} // namespace mlir::quant_xform

using namespace mlir;
using namespace mlir::quant_xform;

namespace {

/// One weight leaving the module: its global and where it is read.
struct ExternalWeight {
  memref::GlobalOp global;
  std::string dtype; // safetensors: F32, I8, I32 (the copy's suffix)
  SmallVector<func::CallOp> copies;
};

/// The runtime's resident-copy functions (quant-xform-gpu-host-buffers),
/// `qxGpuConstant<T>`: T (F32, I8, I32) is also the safetensors dtype and
/// the suffix of the weight reader `qxGpuWeight<T>`.
constexpr StringLiteral kConstantCopy = "qxGpuConstant";

/// The bytes of a global's initial value in memory order (a splat
/// repeated); empty when the value is no dense attribute.
std::string initialBytes(memref::GlobalOp global) {
  Attribute value = global.getInitialValue().value_or(Attribute());
  int64_t n = global.getType().getNumElements();
  if (auto dense = dyn_cast_or_null<DenseElementsAttr>(value)) {
    ArrayRef<char> raw = dense.getRawData();
    if (!dense.isSplat())
      return std::string(raw.data(), raw.size());
    std::string out;
    out.reserve(raw.size() * n);
    for (int64_t i = 0; i < n; ++i)
      out.append(raw.data(), raw.size());
    return out;
  }
  if (auto resource = dyn_cast_or_null<DenseResourceElementsAttr>(value))
    if (AsmResourceBlob *blob = resource.getRawHandle().getBlob())
      return std::string(blob->getData().data(), blob->getData().size());
  return std::string();
}

/// The global whose device copy `call` (a `qxGpuConstant*` call of
/// quant-xform-gpu-host-buffers: get_global → reinterpret_cast → cast)
/// makes, or null.
memref::GlobalOp copiedGlobal(func::CallOp call, SymbolTable &symbols) {
  if (!call.getCallee().starts_with(kConstantCopy) ||
      call.getNumOperands() != 1)
    return nullptr;
  auto cast = call.getOperand(0).getDefiningOp<memref::CastOp>();
  auto flat = cast ? cast.getSource().getDefiningOp<memref::ReinterpretCastOp>()
                   : nullptr;
  auto get =
      flat ? flat.getSource().getDefiningOp<memref::GetGlobalOp>() : nullptr;
  return get ? symbols.lookup<memref::GlobalOp>(get.getName()) : nullptr;
}

/// FNV-1a over the names, dtypes and shapes of `weights` in order: the
/// layout that the compiled code and a weight file must share.
uint64_t layoutFingerprint(ArrayRef<io::SafetensorsOutput> weights) {
  uint64_t h = 1469598103934665603ull;
  auto mix = [&](StringRef s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 1099511628211ull;
    }
    h ^= 0xff; // a separator
    h *= 1099511628211ull;
  };
  for (const auto &w : weights) {
    mix(w.name);
    mix(w.dtype);
    for (int64_t d : w.shape)
      mix(std::to_string(d));
  }
  return h;
}

struct GPUWeightsAsData
    : public quant_xform::impl::GPUWeightsAsDataBase<GPUWeightsAsData> {
  using GPUWeightsAsDataBase::GPUWeightsAsDataBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (file.empty())
      return;
    if (minBytes < 0) {
      module.emitError() << "min-bytes must be >= 0, got " << minBytes;
      return signalPassFailure();
    }
    SymbolTable symbols(module);
    llvm::MapVector<Operation *, ExternalWeight> weights;
    SmallVector<func::FuncOp> readers;
    for (func::FuncOp f : module.getOps<func::FuncOp>()) {
      bool reads = false;
      f.walk([&](func::CallOp call) {
        memref::GlobalOp g = copiedGlobal(call, symbols);
        if (!g || !g.getConstant())
          return;
        MemRefType type = g.getType();
        StringRef dtype = call.getCallee().drop_front(kConstantCopy.size());
        int64_t bytes =
            type.getNumElements() * type.getElementTypeBitWidth() / 8;
        if (bytes < minBytes || !g.getInitialValue())
          return;
        ExternalWeight &w = weights[g];
        w.global = g;
        w.dtype = dtype.str();
        w.copies.push_back(call);
        reads = true;
      });
      if (reads)
        readers.push_back(f);
    }
    if (weights.empty())
      return writeFile({}, layoutFingerprint({})) ? void()
                                                  : signalPassFailure();

    SmallVector<io::SafetensorsOutput> outputs;
    for (auto &[op, w] : weights) {
      io::SafetensorsOutput out;
      out.name = w.global.getSymName().str();
      out.dtype = w.dtype;
      out.shape.assign(w.global.getType().getShape().begin(),
                       w.global.getType().getShape().end());
      out.bytes = initialBytes(w.global);
      if (out.bytes.empty()) {
        w.global.emitError() << "weights as data: the initial value of "
                             << out.name << " is not dense data";
        return signalPassFailure();
      }
      outputs.push_back(std::move(out));
    }
    for (func::FuncOp f : readers)
      if (f.isPrivate() || !SymbolTable::symbolKnownUseEmpty(f, module)) {
        f.emitError() << "weights as data: @" << f.getName()
                      << " reads weights but is not an entry point (public "
                         "and not called)";
        return signalPassFailure();
      }
    uint64_t layout = layoutFingerprint(outputs);
    if (!writeFile(outputs, layout))
      return signalPassFailure();
    for (func::FuncOp f : readers)
      if (failed(readFromTable(f, weights, layout, symbols)))
        return signalPassFailure();
    // The globals and the host-copy chains are dead now.
    for (auto &[op, w] : weights) {
      for (func::CallOp call : w.copies)
        eraseCopyChain(call);
      if (SymbolTable::symbolKnownUseEmpty(w.global, module))
        w.global.erase();
    }
  }

  /// Writes `outputs` with the layout and a SHA-256 of the data.
  bool writeFile(ArrayRef<io::SafetensorsOutput> outputs, uint64_t layout) {
    llvm::SHA256 hash;
    for (const auto &o : outputs)
      hash.update(StringRef(o.bytes));
    std::map<std::string, std::string> meta;
    meta["format"] = "quant-xform-gpu-weights";
    meta["layout"] = llvm::utohexstr(layout, /*LowerCase=*/true, 16);
    meta["sha256"] = llvm::toHex(hash.final(), /*LowerCase=*/true);
    std::string order;
    for (const auto &o : outputs)
      order += (order.empty() ? "" : ",") + o.name;
    meta["order"] = order;
    if (llvm::Error e = io::writeSafetensors(file, outputs, meta)) {
      getOperation().emitError()
          << "weights as data: " << llvm::toString(std::move(e));
      return false;
    }
    return true;
  }

  /// Appends the weight-table argument to the entry point `f` and replaces
  /// each copy of a weight by a read from the table.
  LogicalResult
  readFromTable(func::FuncOp f,
                llvm::MapVector<Operation *, ExternalWeight> &weights,
                uint64_t layout, SymbolTable &symbols) {
    MLIRContext *ctx = &getContext();
    auto tableType =
        MemRefType::get({ShapedType::kDynamic}, IntegerType::get(ctx, 64));
    if (failed(
            f.insertArgument(f.getNumArguments(), tableType, {}, f.getLoc())))
      return failure();
    Value table = f.getArgument(f.getNumArguments() - 1);
    for (auto [index, entry] : llvm::enumerate(weights)) {
      ExternalWeight &w = entry.second;
      for (func::CallOp call : w.copies) {
        if (call->getParentOfType<func::FuncOp>() != f)
          continue;
        OpBuilder b(call);
        Location loc = call.getLoc();
        func::FuncOp decl = weightReader(w.dtype, w.global.getType(), symbols);
        auto i64 = [&](int64_t v) -> Value {
          return arith::ConstantIntOp::create(b, loc, v, 64);
        };
        Value read = func::CallOp::create(
                         b, loc, decl,
                         ValueRange{table, i64(index),
                                    i64(w.global.getType().getNumElements()),
                                    i64(static_cast<int64_t>(layout))})
                         .getResult(0);
        call.getResult(0).replaceAllUsesWith(read);
      }
    }
    return success();
  }

  /// `func.func private @qxGpuWeight<T>(memref<?xi64>, i64, i64, i64) ->
  /// memref<?xT>` with a C interface (runtime/CudaRuntime.cpp), for the
  /// weights of `type` (T: `dtype`).
  func::FuncOp weightReader(StringRef dtype, MemRefType type,
                            SymbolTable &symbols) {
    std::string name = ("qxGpuWeight" + dtype).str();
    Type element = type.getElementType();
    if (auto existing = symbols.lookup<func::FuncOp>(name))
      return existing;
    ModuleOp module = getOperation();
    OpBuilder b = OpBuilder::atBlockBegin(module.getBody());
    Type i64 = b.getI64Type();
    auto table = MemRefType::get({ShapedType::kDynamic}, i64);
    auto flat = MemRefType::get({ShapedType::kDynamic}, element);
    auto decl =
        func::FuncOp::create(b, module.getLoc(), name,
                             b.getFunctionType({table, i64, i64, i64}, {flat}));
    decl.setPrivate();
    decl->setAttr("llvm.emit_c_interface", b.getUnitAttr());
    symbols.insert(decl);
    return decl;
  }

  /// Erases a now unused `qxGpuConstant*` call and the casts and
  /// get_global that fed it.
  static void eraseCopyChain(func::CallOp call) {
    Operation *op = call;
    while (op && op->use_empty()) {
      Operation *next = op->getNumOperands() == 1
                            ? op->getOperand(0).getDefiningOp()
                            : nullptr;
      op->erase();
      op = next;
    }
  }
};

} // namespace
