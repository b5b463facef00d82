//===- QuantizeKernel.cpp - per-token dynamic quantize kernel -------------===//
//
// The kernel of a symmetric per-token `dynamic_quantize` on an f32 [M, K]
// input (or a bf16 / f16 one widened by an `arith.extf` in front, fused
// into the loads): one block of 256 threads per row (128 for bf16 / f16
// rows of K ≤ 8192, a multiple of 8, without a rotation, so that a
// register holds as many bytes in flight as for f32).
//
// 1. Each thread reads its groups of 16 bytes (4 f32 values, or 8 bf16 /
//    f16 values widened exactly to f32 when K is a multiple of 8 and
//    there is no rotation; groups tid, tid + threads, ..., or for some
//    rotations runs of 2 to 8 adjacent warp-wide pieces) and keeps the
//    NaN-ignoring maximum of |x| (maxnumf). When a thread's groups hold at
//    most 64 values the loop is unrolled and they stay in registers (all
//    loads in flight at once; step 4 reads no memory again).
// 2. The row maximum: butterfly shuffles within each warp, the warp
//    results through shared memory, every thread reducing them.
// 3. The scale exactly as the reference evaluator computes it:
//    f32((f64(absmax) · clip) / qmax), or 1 when that maximum is 0 or not
//    finite; thread 0 stores it.
// 4. Each thread quantizes its groups (from registers, or read again while
//    the row is still in L1/L2 for longer rows):
//    clamp(round_half_even(x / s), qmin, qmax), NaN → 0, with x / s the
//    IEEE f32 quotient (a correctly rounded reciprocal per row and two fma
//    corrections per value, bit-exact; a division per value for scales
//    outside [2^-90, 2^90]), stored as one int8 per value.
//
// With LLM.int8() outlier columns (static), the first O threads also copy
// x[row, column j] to xo[row, j], and every group is multiplied by the
// keep mask (0 at the outlier columns) before steps 1–4.
//
// No math-dialect ops: the NVVM conversion turns them (and llvm.fabs,
// llvm.roundeven) into libdevice calls, which need the CUDA toolkit's
// libdevice when the kernel is compiled. |x| is maxnum(x, −x) and the
// rounding an add of 1.5·2²³ whose low byte is the int8 result.
//
//===----------------------------------------------------------------------===//

#include "HadamardRow.h"
#include "QuantizeMath.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "llvm/Support/MathExtras.h"

#include <algorithm>
#include <cassert>
#include <cmath>

using namespace mlir;
using namespace mlir::quant_xform;
using namespace mlir::quant_xform::gpu_kernels;

namespace {
constexpr int64_t kThreads = 256;
constexpr int64_t kGroup = 4; // floats per load (f32, or with a rotation)
/// Most values a thread keeps in registers (K ≤ 16·1024 at 256 threads).
constexpr int64_t kMaxResidentValues = 64;

} // namespace

/// Whether x is bf16 / f16 without a rotation: 16-byte loads of 8 values.
static bool wideGroups(const QuantizeShape &s) {
  return s.inputType && s.inputType.getIntOrFloatBitWidth() == 16 &&
         !s.hadamardBlock && s.k % 8 == 0;
}

/// Threads per f32 row: 256, or the most (a multiple of 32, at least 64)
/// among which the row's 16-byte groups divide evenly, each thread's few
/// enough to stay in registers (K = 1536: 192 threads of two groups rather
/// than 256 of which half hold one; K = 384: 96 of one).
static int64_t evenThreads(int64_t k) {
  if (k % kGroup != 0)
    return kThreads;
  int64_t groups = k / kGroup;
  for (int64_t t = kThreads; t >= 64; t -= 32)
    if (groups % t == 0)
      return (groups / t) * kGroup <= kMaxResidentValues ? t : kThreads;
  return kThreads;
}

/// Threads per row: 128 for a bf16 / f16 row of at most 8192 without a
/// rotation (a 16-byte load holds 8 values: 256 threads would keep half
/// the bytes of an f32 row in flight per register), else 256; for other
/// rows without outlier columns, evenThreads(); else 256. With a rotation,
/// hadamardPlan()'s.
static int64_t quantizeThreads(const QuantizeShape &s) {
  if (s.hadamardBlock)
    return hadamardPlan(s).threads;
  if (wideGroups(s))
    return s.k <= kMaxResidentValues * 128 ? 128 : kThreads;
  return s.outlierColumns.empty() ? evenThreads(s.k) : kThreads;
}

LaunchShape gpu_kernels::quantizeLaunch(const QuantizeShape &s) {
  int64_t sharedBytes = s.hadamardBlock ? hadamardPlan(s).sharedBytes() : 0;
  return {s.m,
          1,
          quantizeThreads(s),
          sharedBytes,
          /*rowGridDim=*/0,
          /*rowsPerBlock=*/1};
}

namespace {

/// The stores of one group of values: `values` (vector<n × f32>) at the
/// columns column + i·stride of the row.
struct StoreGroup {
  Value values, column;
  int64_t stride;
};

/// Generates the quantize kernel of one shape. The builder, the location,
/// the shape, the block size and the kernel's common values (thread, row,
/// shared buffers, the row's values and scale) are members; the methods are
/// the kernel's phases: the globals and the function, the outlier copy, the
/// row loads and the thread's maximum, the reduction across the block, the
/// scale, and the quantize + store.
class QuantizeKernelBuilder {
public:
  QuantizeKernelBuilder(OpBuilder &b, Location loc, StringRef name,
                        const QuantizeShape &s);

  /// Builds `gpu.func @name` (and its globals) at the insertion point.
  gpu::GPUFuncOp build();

private:
  Value c(int64_t v);
  Value cf(double v);

  /// The keep mask, the outlier columns and the Hadamard sign words as
  /// private globals next to the kernel.
  void createGlobals();
  /// The function and its static shared memory.
  void createFunction();
  /// Thread, row, lane, warp, first column; dynamic shared memory.
  void emitSetup();
  /// The group of x at [row, k] in f32 (one load, widened exactly).
  Value loadX(OpBuilder &lb, Value k);
  /// v·keep[k ..] for the group at column k (v itself without outliers).
  Value masked(OpBuilder &mb, Value v, Value k);
  /// 0. Threads j < O copy x[row, columns[j]] to xo[row, j].
  void copyOutliers();
  /// 1a. A resident row's groups: rotated, or loaded (zeros past K).
  void loadResidentRow();
  /// The NaN-ignoring maximum of |v|'s elements.
  Value absMax(Value v);
  /// 1b. This thread's maximum of |x|.
  Value threadAbsMax();
  /// 2. The row's maximum: warp butterfly, then across the warps.
  Value rowAbsMax(Value m);
  /// 3. The scale from the row maximum; thread 0 stores it.
  void computeScale(Value absmax);
  /// Stores q of `group`, by the fast division or by a division per value.
  void quantizeStore(OpBuilder &qb, const StoreGroup &group, bool fast);
  /// The stores of the row, by one of the two divisions.
  void quantizeRow(bool fast);
  /// 4. The row quantized and stored.
  void quantizeAndStore();

  OpBuilder &b;
  Location loc;
  MLIRContext *ctx;
  StringRef name;
  const QuantizeShape &s;
  Type f32, i8, inType;
  int64_t threads, warps, width, outliers, groups;
  bool resident;
  std::string keepName, columnsName, signsName;
  MemRefType keepType, columnsType, signsType, partialType, exchangeType;
  std::vector<int32_t> signWords;
  HadamardPlan plan;
  VectorType vec;

  gpu::GPUFuncOp fn;
  Value x, q, scale, partial, exchange;
  Value tid, row, lane, warp, first, keep;
  /// Resident rows: this thread's values (zeros where not `valid`).
  SmallVector<RowGroup> values;
  /// The row's scale and its quantizer (QuantizeMath.h).
  RowQuantizer quantizer;
};

} // namespace

QuantizeKernelBuilder::QuantizeKernelBuilder(OpBuilder &b, Location loc,
                                             StringRef name,
                                             const QuantizeShape &s)
    : b(b), loc(loc), ctx(b.getContext()), name(name), s(s) {
  f32 = b.getF32Type();
  i8 = b.getI8Type();
  inType = s.inputType ? s.inputType : f32;
  threads = quantizeThreads(s);
  warps = threads / 32;
  // Values per load: 16 bytes.
  width = wideGroups(s) ? 8 : kGroup;
  outliers = int64_t(s.outlierColumns.size());
  assert(outliers <= threads && !(outliers && s.hadamardBlock) &&
         "outlier columns: at most one per thread, no rotation");
  groups = llvm::divideCeil(s.k, threads * width);
  // Groups kept in registers when they are few enough.
  resident = s.hadamardBlock || groups * width <= kMaxResidentValues;
  keepName = (name + "_keep").str();
  columnsName = (name + "_outlier_columns").str();
  signsName = (name + "_hadamard_signs").str();
  keepType = MemRefType::get({s.k}, f32);
  columnsType = MemRefType::get({outliers}, b.getI32Type());
  if (s.hadamardBlock) {
    signWords = hadamardSignWords(s);
    plan = hadamardPlan(s);
  }
  signsType = MemRefType::get({int64_t(signWords.size())}, b.getI32Type());
  auto workgroup =
      gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
  // The warp maxima and the rotation's exchange buffer: static shared
  // memory, or dynamic (HadamardPlan::dynamicShared).
  partialType =
      MemRefType::get({warps}, f32, MemRefLayoutAttrInterface{}, workgroup);
  exchangeType = MemRefType::get({plan.sharedFloats}, f32,
                                 MemRefLayoutAttrInterface{}, workgroup);
  vec = VectorType::get({width}, f32);
}

Value QuantizeKernelBuilder::c(int64_t v) {
  return arith::ConstantIndexOp::create(b, loc, v);
}

Value QuantizeKernelBuilder::cf(double v) {
  return arith::ConstantFloatOp::create(b, loc, cast<FloatType>(f32),
                                        APFloat(float(v)));
}

void QuantizeKernelBuilder::createGlobals() {
  // LLM.int8() outlier columns: the keep mask (0 at an outlier column, 1
  // elsewhere: x·keep as the CPU lowering computes x_in) and the column
  // indices.
  if (outliers) {
    std::vector<float> keepValues(s.k, 1.0f);
    std::vector<int32_t> columns;
    for (int64_t col : s.outlierColumns) {
      keepValues[col] = 0.0f;
      columns.push_back(int32_t(col));
    }
    memref::GlobalOp::create(
        b, loc, keepName, b.getStringAttr("private"), keepType,
        DenseElementsAttr::get(RankedTensorType::get({s.k}, f32),
                               ArrayRef<float>(keepValues)),
        /*constant=*/true, b.getI64IntegerAttr(16));
    memref::GlobalOp::create(
        b, loc, columnsName, b.getStringAttr("private"), columnsType,
        DenseElementsAttr::get(
            RankedTensorType::get({outliers}, b.getI32Type()),
            ArrayRef<int32_t>(columns)),
        /*constant=*/true, b.getI64IntegerAttr(4));
  }
  // The signs of the Hadamard column factors as bits.
  if (!signWords.empty())
    memref::GlobalOp::create(
        b, loc, signsName, b.getStringAttr("private"), signsType,
        DenseElementsAttr::get(
            RankedTensorType::get({int64_t(signWords.size())}, b.getI32Type()),
            ArrayRef<int32_t>(signWords)),
        /*constant=*/true, b.getI64IntegerAttr(16));
}

void QuantizeKernelBuilder::createFunction() {
  const int64_t m = memrefRows(s.m, s.dynamicM);
  SmallVector<Type> args = {MemRefType::get({m, s.k}, inType),
                            MemRefType::get({m, s.k}, i8),
                            MemRefType::get({m}, f32)};
  if (outliers)
    args.push_back(MemRefType::get({m, outliers}, f32));
  fn = gpu::GPUFuncOp::create(b, loc, name, FunctionType::get(ctx, args, {}));
  fn->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), UnitAttr::get(ctx));
  fn->setAttr(fn.getKnownBlockSizeAttrName(),
              b.getDenseI32ArrayAttr({int32_t(threads), 1, 1}));
  x = fn.getArgument(0);
  q = fn.getArgument(1);
  scale = fn.getArgument(2);
  if (plan.dynamicShared())
    return;
  // 16-byte aligned: the buffer takes 16-byte stores and loads, and the
  // warp maxima are read 4 at a time.
  auto aligned = [&](MemRefType type) -> Value {
    Value buffer = fn.addWorkgroupAttribution(type, loc);
    fn.setWorkgroupAttributionAttr(fn.getNumWorkgroupAttributions() - 1,
                                   LLVM::LLVMDialect::getAlignAttrName(),
                                   b.getI64IntegerAttr(16));
    return buffer;
  };
  partial = aligned(partialType);
  if (plan.sharedFloats)
    exchange = aligned(exchangeType);
}

void QuantizeKernelBuilder::emitSetup() {
  tid = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
  row = gpu::BlockIdOp::create(b, loc, gpu::Dimension::x);
  lane = arith::RemUIOp::create(b, loc, tid, c(32));
  warp = arith::DivUIOp::create(b, loc, tid, c(32));
  // This thread's first value: group g of a row at first + g·threads·width
  // (a warp's load is one contiguous piece).
  first = arith::MulIOp::create(b, loc, tid, c(width));
  if (!plan.dynamicShared())
    return;
  auto workgroupBytes = MemRefType::get(
      {ShapedType::kDynamic}, i8, MemRefLayoutAttrInterface{},
      gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup));
  Value dynamic = gpu::DynamicSharedMemoryOp::create(b, loc, workgroupBytes);
  exchange =
      memref::ViewOp::create(b, loc, exchangeType, dynamic, c(0), ValueRange{});
  partial = memref::ViewOp::create(b, loc, partialType, dynamic,
                                   c(plan.sharedFloats * 4), ValueRange{});
}

Value QuantizeKernelBuilder::loadX(OpBuilder &lb, Value k) {
  // 16 bytes, or 8 for bf16 / f16 rows that are not wide groups.
  int64_t bytes = width * inType.getIntOrFloatBitWidth() / 8;
  Value v = vector::LoadOp::create(
      lb, loc, VectorType::get({width}, inType), x, ValueRange{row, k},
      /*nontemporal=*/false, llvm::MaybeAlign(bytes));
  return inType == f32 ? v : arith::ExtFOp::create(lb, loc, vec, v);
}

Value QuantizeKernelBuilder::masked(OpBuilder &mb, Value v, Value k) {
  if (!keep)
    return v;
  Value mask =
      vector::LoadOp::create(mb, loc, vec, keep, ValueRange{k},
                             /*nontemporal=*/false, llvm::MaybeAlign(16));
  return arith::MulFOp::create(mb, loc, v, mask);
}

void QuantizeKernelBuilder::copyOutliers() {
  // `keep` masks the outlier columns out of the int8 part below.
  if (!outliers)
    return;
  keep = memref::GetGlobalOp::create(b, loc, keepType, keepName);
  Value isCopier = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, tid,
                                         c(outliers));
  auto ifCopier = scf::IfOp::create(b, loc, isCopier, /*withElse=*/false);
  OpBuilder::InsertionGuard inIf(b);
  b.setInsertionPointToStart(&ifCopier.getThenRegion().front());
  Value columns = memref::GetGlobalOp::create(b, loc, columnsType, columnsName);
  Value col = arith::IndexCastUIOp::create(
      b, loc, b.getIndexType(),
      memref::LoadOp::create(b, loc, columns, ValueRange{tid}));
  Value v = memref::LoadOp::create(b, loc, x, ValueRange{row, col});
  if (inType != f32)
    v = arith::ExtFOp::create(b, loc, f32, v);
  memref::StoreOp::create(b, loc, v, fn.getArgument(3), ValueRange{row, tid});
}

void QuantizeKernelBuilder::loadResidentRow() {
  if (s.hadamardBlock) {
    Value signs;
    if (!signWords.empty())
      signs = memref::GetGlobalOp::create(b, loc, signsType, signsName);
    auto load = [&](OpBuilder &lb, Value k) { return loadX(lb, k); };
    values =
        buildHadamardRow(b, loc, s, plan, {tid, x, row, load, signs, exchange});
    return;
  }
  Value zeros = vector::BroadcastOp::create(b, loc, vec, cf(0.0));
  for (int64_t g = 0; g < groups; ++g) {
    Value k = arith::AddIOp::create(b, loc, first, c(g * threads * width));
    // Only the last groups of a row that does not fill all threads' groups
    // can fall outside it.
    Value ok;
    if ((g + 1) * threads * width > s.k)
      ok = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, k, c(s.k));
    Value v;
    if (!ok) {
      v = masked(b, loadX(b, k), k);
    } else {
      auto ifIn =
          scf::IfOp::create(b, loc, TypeRange{vec}, ok, /*withElse=*/true);
      OpBuilder tb = ifIn.getThenBodyBuilder();
      scf::YieldOp::create(tb, loc, ValueRange{masked(tb, loadX(tb, k), k)});
      OpBuilder eb = ifIn.getElseBodyBuilder();
      scf::YieldOp::create(eb, loc, ValueRange{zeros});
      v = ifIn.getResult(0);
    }
    values.push_back({v, k, 1, ok});
  }
}

Value QuantizeKernelBuilder::absMax(Value v) {
  // |x| as maxnum(x, −x) (NaN stays NaN and is ignored below).
  Value abs =
      arith::MaxNumFOp::create(b, loc, v, arith::NegFOp::create(b, loc, v));
  return vector::ReductionOp::create(b, loc, vector::CombiningKind::MAXNUMF,
                                     abs)
      .getResult();
}

Value QuantizeKernelBuilder::threadAbsMax() {
  // Unrolled over the resident groups, else a loop.
  if (resident) {
    Value m = cf(0.0);
    for (const RowGroup &group : values)
      m = arith::MaxNumFOp::create(b, loc, m, absMax(group.values));
    return m;
  }
  auto maxLoop = scf::ForOp::create(b, loc, first, c(s.k), c(threads * width),
                                    ValueRange{cf(0.0)});
  OpBuilder::InsertionGuard inLoop(b);
  b.setInsertionPointToStart(maxLoop.getBody());
  Value v =
      masked(b, loadX(b, maxLoop.getInductionVar()), maxLoop.getInductionVar());
  scf::YieldOp::create(
      b, loc,
      ValueRange{arith::MaxNumFOp::create(
          b, loc, maxLoop.getRegionIterArgs().front(), absMax(v))});
  b.setInsertionPointAfter(maxLoop);
  return maxLoop.getResult(0);
}

Value QuantizeKernelBuilder::rowAbsMax(Value m) {
  for (int32_t offset = 16; offset >= 1; offset /= 2) {
    auto shuffle =
        gpu::ShuffleOp::create(b, loc, m, offset, 32, gpu::ShuffleMode::XOR);
    m = arith::MaxNumFOp::create(b, loc, m, shuffle.getShuffleResult());
  }
  {
    Value leader =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, lane, c(0));
    auto ifLeader = scf::IfOp::create(b, loc, leader, /*withElse=*/false);
    OpBuilder::InsertionGuard inIf(b);
    b.setInsertionPointToStart(&ifLeader.getThenRegion().front());
    memref::StoreOp::create(b, loc, m, partial, ValueRange{warp});
  }
  gpu::BarrierOp::create(b, loc);
  Value absmax = cf(0.0);
  for (int64_t w = 0; w < warps; ++w)
    absmax = arith::MaxNumFOp::create(
        b, loc, absmax, memref::LoadOp::create(b, loc, partial, c(w)));
  return absmax;
}

void QuantizeKernelBuilder::computeScale(Value absmax) {
  // s = f32(f64(absmax) · clip / qmax), 1 for a zero or non-finite max.
  quantizer = rowQuantizer(b, loc, absmax, s.clip, s.qmin, s.qmax);
  Value zeroThread =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, tid, c(0));
  auto ifZero = scf::IfOp::create(b, loc, zeroThread, /*withElse=*/false);
  OpBuilder::InsertionGuard inIf(b);
  b.setInsertionPointToStart(&ifZero.getThenRegion().front());
  memref::StoreOp::create(b, loc, quantizer.scale, scale, ValueRange{row});
}

void QuantizeKernelBuilder::quantizeStore(OpBuilder &qb,
                                          const StoreGroup &group, bool fast) {
  Value r = quantizedSums(qb, loc, group.values, quantizer, fast);
  int64_t n = cast<VectorType>(r.getType()).getNumElements();
  // The low byte of the sum's bits; for bytes stored one by one as the
  // integer q = sum − 1.5·2²³ (exact) instead: ptxas stores a byte of a
  // register that holds a float as a saturating float-to-u8 conversion
  // (F2IP.U8.F32), which turns every sum into 255.
  Value bytes =
      group.stride == 1
          ? sumsToInt8(qb, loc, r)
          : Value(arith::TruncIOp::create(
                qb, loc, VectorType::get({n}, i8),
                arith::FPToSIOp::create(
                    qb, loc, VectorType::get({n}, b.getI32Type()),
                    arith::SubFOp::create(
                        qb, loc, r,
                        vector::BroadcastOp::create(qb, loc, r.getType(),
                                                    roundingMagic(qb, loc))))));
  if (group.stride == 1) {
    vector::StoreOp::create(qb, loc, bytes, q, ValueRange{row, group.column},
                            /*nontemporal=*/false,
                            llvm::MaybeAlign(std::min<int64_t>(n, 16)));
    return;
  }
  for (int64_t i = 0; i < n; ++i) {
    Value byte = vector::ExtractOp::create(qb, loc, bytes, i);
    Value offset = arith::ConstantIndexOp::create(qb, loc, i * group.stride);
    Value column = arith::AddIOp::create(qb, loc, group.column, offset);
    memref::StoreOp::create(qb, loc, byte, q, ValueRange{row, column});
  }
}

void QuantizeKernelBuilder::quantizeRow(bool fast) {
  if (resident) {
    for (const RowGroup &group : values) {
      StoreGroup store{group.values, group.column, group.stride};
      if (group.valid) {
        auto ifIn = scf::IfOp::create(b, loc, group.valid, /*withElse=*/false);
        OpBuilder tb = ifIn.getThenBodyBuilder();
        quantizeStore(tb, store, fast);
      } else {
        quantizeStore(b, store, fast);
      }
    }
    return;
  }
  auto quantLoop =
      scf::ForOp::create(b, loc, first, c(s.k), c(threads * width));
  OpBuilder::InsertionGuard inLoop(b);
  b.setInsertionPointToStart(quantLoop.getBody());
  Value k = quantLoop.getInductionVar();
  quantizeStore(b, {masked(b, loadX(b, k), k), k, 1}, fast);
}

void QuantizeKernelBuilder::quantizeAndStore() {
  // q = clamp(round_half_even(x / s), qmin, qmax), NaN → 0.
  //
  // x / s: for s in [2^-90, 2^90] (every row whose maximum is finite and
  // not tiny) without a division per value: y = 1/s (one IEEE division per
  // row), q0 = x·y, then twice q' = q + (x − s·q)·y, the residual exact by
  // an fma. With y = RN(1/s), the first correction makes q faithful and the
  // second makes it RN(x / s) (Markstein's theorem; the division's own fast
  // path is this sequence behind a per-value range check). The exponent
  // range keeps every residual that matters (|x / s| ≥ 1/4) normal. Other
  // rows (an infinite or tiny maximum) divide each value.
  //
  // Then NaN → 0, the clamp (integer bounds: clamping before the rounding
  // changes no result) and round half to even by adding 1.5·2²³ in the
  // default IEEE mode: the sum's bits are 0x4B400000 + q, so their low byte
  // is q as an int8 (no float-to-int conversion, a quarter-rate
  // instruction).
  Value fast = quantizer.fast;
  auto ifFast = scf::IfOp::create(b, loc, fast, /*withElse=*/true);
  OpBuilder::InsertionGuard inIf(b);
  b.setInsertionPointToStart(&ifFast.getThenRegion().front());
  quantizeRow(true);
  b.setInsertionPointToStart(&ifFast.getElseRegion().front());
  quantizeRow(false);
}

gpu::GPUFuncOp QuantizeKernelBuilder::build() {
  createGlobals();
  createFunction();
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&fn.getBody().front());
  emitSetup();
  copyOutliers();
  // 1. This thread's maximum of |x|.
  if (resident)
    loadResidentRow();
  Value m = threadAbsMax();
  // 2. Warp butterfly, then across the warps through shared memory.
  Value absmax = rowAbsMax(m);
  // 3. The scale.
  computeScale(absmax);
  // 4. The quantized row.
  quantizeAndStore();
  gpu::ReturnOp::create(b, loc);
  return fn;
}

gpu::GPUFuncOp gpu_kernels::buildQuantizeKernel(OpBuilder &b, Location loc,
                                                StringRef name,
                                                const QuantizeShape &s) {
  return QuantizeKernelBuilder(b, loc, name, s).build();
}
