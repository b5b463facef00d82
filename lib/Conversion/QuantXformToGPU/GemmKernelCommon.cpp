//===- GemmKernelCommon.cpp - what every generated GEMM kernel shares -----===//
//
// The kernel signature and the fused dequant + bias epilogue.
//
//===----------------------------------------------------------------------===//

#include "GemmKernels.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/IRMapping.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::quant_xform;
using namespace mlir::quant_xform::gpu_kernels;

SmallVector<Type> gpu_kernels::kernelArgumentTypes(OpBuilder &b,
                                                   const GemmShape &s) {
  Type i8 = b.getI8Type(), f32 = b.getF32Type();
  const int64_t m = memrefRows(s.m, s.dynamicM);
  SmallVector<Type> args = {
      MemRefType::get({m, s.k}, i8),
      s.perTensorX ? MemRefType::get({}, f32) : MemRefType::get({m}, f32),
      MemRefType::get({s.n, s.k}, i8),
      s.perTensorW ? MemRefType::get({}, f32) : MemRefType::get({s.n}, f32)};
  if (s.bias)
    args.push_back(MemRefType::get({s.n}, f32));
  if (s.outliers) {
    args.push_back(MemRefType::get({m, s.outliers}, f32));
    args.push_back(MemRefType::get({s.n, s.outliers}, f32));
  }
  if (s.activationOperand)
    args.push_back(MemRefType::get({m, s.n}, f32));
  args.push_back(MemRefType::get({m, s.gatedHalf ? s.n / 2 : s.n},
                                 s.outType ? s.outType : f32));
  return args;
}

unsigned gpu_kernels::activationOperandArgument(const GemmShape &s) {
  return 4 + (s.bias ? 1 : 0) + (s.outliers ? 2 : 0);
}

Value gpu_kernels::kernelRows(OpBuilder &b, Location loc, gpu::GPUFuncOp fn,
                              int64_t m, bool dynamicM) {
  if (!dynamicM)
    return arith::ConstantIndexOp::create(b, loc, m);
  return memref::DimOp::create(b, loc, fn.getArgument(0), 0);
}

Value gpu_kernels::emitLaunch(OpBuilder &b, Location loc, gpu::GPUFuncOp kernel,
                              const LaunchShape &launch, ValueRange operands,
                              Value token, Value rows) {
  auto c = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  Value grid[2] = {c(launch.gridX), c(launch.gridY)};
  if (rows) // ⌈rows / rowsPerBlock⌉
    grid[launch.rowGridDim] =
        launch.rowsPerBlock == 1
            ? rows
            : arith::CeilDivUIOp::create(b, loc, rows, c(launch.rowsPerBlock));
  Value shared = launch.sharedBytes
                     ? Value(arith::ConstantIntOp::create(
                           b, loc, b.getI32Type(), launch.sharedBytes))
                     : Value();
  // Named first: the order of function arguments' evaluation is unspecified,
  // and the IR must not depend on the host compiler.
  gpu::KernelDim3 blocks{grid[0], grid[1], c(launch.gridZ)};
  gpu::KernelDim3 threads{c(launch.threads), c(1), c(1)};
  auto op = gpu::LaunchFuncOp::create(
      b, loc, kernel, blocks, threads, shared, operands,
      token ? gpu::AsyncTokenType::get(b.getContext()) : Type(),
      token ? ValueRange{token} : ValueRange{});
  return token ? op.getAsyncToken() : Value();
}

gpu::GPUFuncOp gpu_kernels::createKernelFunc(OpBuilder &b, Location loc,
                                             StringRef name,
                                             const GemmShape &s) {
  MLIRContext *ctx = b.getContext();
  auto fn = gpu::GPUFuncOp::create(
      b, loc, name, FunctionType::get(ctx, kernelArgumentTypes(b, s), {}));
  fn->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), UnitAttr::get(ctx));
  return fn;
}

/// Loads mem[min(i, extent − 1)], or mem[] when per-tensor.
static Value loadClamped(OpBuilder &b, Location loc, Value mem, Value i,
                         Value extent) {
  if (cast<MemRefType>(mem.getType()).getRank() == 0)
    return memref::LoadOp::create(b, loc, mem, ValueRange{});
  Value last = arith::SubIOp::create(b, loc, extent,
                                     arith::ConstantIndexOp::create(b, loc, 1));
  Value at = arith::MinSIOp::create(b, loc, i, last);
  return memref::LoadOp::create(b, loc, mem, ValueRange{at});
}

/// The kernel's rows (a constant, or the run-time M).
static Value rowsOf(KernelSite k) {
  return kernelRows(k.b, k.loc, k.fn, k.s.m, k.s.dynamicM);
}

EpilogueRow gpu_kernels::loadRowScale(KernelSite k, Value row) {
  return {loadClamped(k.b, k.loc, k.fn.getArgument(1), row, rowsOf(k))};
}

EpilogueColumn gpu_kernels::loadColumnScales(KernelSite k, Value col) {
  Value n = arith::ConstantIndexOp::create(k.b, k.loc, k.s.n);
  return {loadClamped(k.b, k.loc, k.fn.getArgument(3), col, n),
          k.s.bias ? loadClamped(k.b, k.loc, k.fn.getArgument(4), col, n)
                   : Value()};
}

Value gpu_kernels::dequantizeValue(OpBuilder &b, Location loc, Value acc,
                                   const EpilogueRow &rowValues,
                                   const EpilogueColumn &colValues) {
  Value v = arith::SIToFPOp::create(b, loc, b.getF32Type(), acc);
  v = arith::MulFOp::create(b, loc, colValues.scale, v);
  v = arith::MulFOp::create(b, loc, rowValues.scale, v);
  if (colValues.bias)
    v = arith::AddFOp::create(b, loc, v, colValues.bias);
  return v;
}

/// Moves `k.b` into a new `scf.if (row < M && col < N)`.
static void enterIfInRange(KernelSite k, Value row, Value col) {
  OpBuilder &b = k.b;
  Location loc = k.loc;
  auto lt = [&](Value x, Value bound) -> Value {
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, x, bound);
  };
  Value ok = arith::AndIOp::create(
      b, loc, lt(row, rowsOf(k)),
      lt(col, arith::ConstantIndexOp::create(b, loc, k.s.n)));
  auto ifOp = scf::IfOp::create(b, loc, ok, /*withElse=*/false);
  b.setInsertionPointToStart(&ifOp.getThenRegion().front());
}

/// The element type of the kernel's output y (its last argument).
static Type outputElementType(gpu::GPUFuncOp fn) {
  return cast<MemRefType>(fn.getArguments().back().getType()).getElementType();
}

Value gpu_kernels::applyActivation(OpBuilder &b, Location loc,
                                   Operation *activation, Value v, Value other,
                                   unsigned linearInput) {
  if (!activation)
    return v;
  // f32 addition and multiplication commute exactly.
  if (isa<arith::AddFOp>(activation))
    return arith::AddFOp::create(b, loc, v, other);
  if (isa<arith::MulFOp>(activation))
    return arith::MulFOp::create(b, loc, v, other);
  Block &body = cast<linalg::GenericOp>(activation).getRegion().front();
  IRMapping map;
  map.map(body.getArgument(linearInput), v);
  if (other)
    map.map(body.getArgument(1 - linearInput), other);
  // Scalar constants from outside the body (fusableActivation checks).
  auto cloneConstants = [&](Operation *op) {
    for (Value operand : op->getOperands())
      if (!map.contains(operand) && operand.getParentBlock() != &body)
        b.clone(*operand.getDefiningOp(), map);
  };
  for (Operation &op : body.without_terminator()) {
    cloneConstants(&op);
    b.clone(op, map);
  }
  cloneConstants(body.getTerminator());
  return map.lookup(body.getTerminator()->getOperand(0));
}

/// The activation operand's value at `at` (GemmShape::activationOperand),
/// or null.
static Value loadActivationOperand(KernelSite k, OutputIndex at) {
  if (!k.s.activationOperand)
    return Value();
  return memref::LoadOp::create(
      k.b, k.loc, k.fn.getArgument(activationOperandArgument(k.s)),
      ValueRange{at.row, at.col});
}

Value gpu_kernels::loadActivationOperandPair(KernelSite k, OutputIndex at) {
  return vector::LoadOp::create(
      k.b, k.loc, VectorType::get({2}, k.b.getF32Type()),
      k.fn.getArgument(activationOperandArgument(k.s)),
      ValueRange{at.row, at.col}, /*nontemporal=*/false, llvm::MaybeAlign(8));
}

void gpu_kernels::storeValuePair(KernelSite k, OutputIndex at, Value v0,
                                 Value v1, Value dest, Value operandPair) {
  OpBuilder &b = k.b;
  assert(!(dest && k.s.activationOperand) &&
         "a staged tile's index is not the activation operand's");
  Value o0, o1;
  if (k.s.activationOperand) {
    Value pair = operandPair ? operandPair : loadActivationOperandPair(k, at);
    o0 = vector::ExtractOp::create(b, k.loc, pair, ArrayRef<int64_t>{0});
    o1 = vector::ExtractOp::create(b, k.loc, pair, ArrayRef<int64_t>{1});
  }
  v0 = applyActivation(b, k.loc, k.s.activation, v0, o0, k.s.activationInput);
  v1 = applyActivation(b, k.loc, k.s.activation, v1, o1, k.s.activationInput);
  Value pair = vector::FromElementsOp::create(
      b, k.loc, VectorType::get({2}, b.getF32Type()), ValueRange{v0, v1});
  Type out = outputElementType(k.fn);
  if (!out.isF32()) // bf16 / f16: one cvt.rn of the pair, a 4-byte store
    pair = arith::TruncFOp::create(b, k.loc, VectorType::get({2}, out), pair);
  vector::StoreOp::create(
      b, k.loc, pair, dest ? dest : k.fn.getArguments().back(),
      ValueRange{at.row, at.col},
      /*nontemporal=*/false,
      llvm::MaybeAlign(2 * out.getIntOrFloatBitWidth() / 8));
}

void gpu_kernels::storeValue(KernelSite k, OutputIndex at, Value v,
                             bool checked) {
  OpBuilder::InsertionGuard guard(k.b);
  if (checked)
    enterIfInRange(k, at.row, at.col);
  v = applyActivation(k.b, k.loc, k.s.activation, v,
                      loadActivationOperand(k, at), k.s.activationInput);
  Type out = outputElementType(k.fn);
  if (!out.isF32())
    v = arith::TruncFOp::create(k.b, k.loc, out, v);
  memref::StoreOp::create(k.b, k.loc, v, k.fn.getArguments().back(),
                          ValueRange{at.row, at.col});
}

void gpu_kernels::storeDequantized(KernelSite k, OutputIndex at, Value acc,
                                   const EpilogueRow &rowValues,
                                   const EpilogueColumn &colValues,
                                   bool checked) {
  // The dequantize inside the guard: no work for rows and columns past
  // the edge.
  OpBuilder::InsertionGuard guard(k.b);
  if (checked)
    enterIfInRange(k, at.row, at.col);
  storeValue(k, at, dequantizeValue(k.b, k.loc, acc, rowValues, colValues),
             /*checked=*/false);
}
