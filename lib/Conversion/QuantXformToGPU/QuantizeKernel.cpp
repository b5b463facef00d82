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

#include "GemmKernels.h"

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
/// Scales s in [2^-kFastScaleExp, 2^kFastScaleExp] take the division
/// without a division per value (see quantizeStore).
constexpr int kFastScaleExp = 90;

/// Where a thread's groups of a resident row lie: group g = j·R + h holds
/// the `width` values from ((j·warps + warp)·R + h)·32·width + lane·width.
/// With R = 1 that is g·threads·width + tid·width (a warp's load is one
/// contiguous piece, the groups one block-wide stride apart). A rotation
/// takes R > 1 (pairs, fours or eights of groups) so that its strides
/// 32·width to 32·width·R pair groups of one thread instead of threads of
/// other warps.
struct GroupLayout {
  int64_t width, warps;
  /// R: consecutive groups of a thread that hold adjacent warp-wide pieces.
  int64_t run;
  /// Groups per thread (a multiple of R; past the row they hold zeros).
  int64_t groups;

  /// Values of one warp-wide piece (a group across the 32 lanes).
  int64_t piece() const { return 32 * width; }
  /// Values of all threads' groups j·R .. j·R + R − 1.
  int64_t span() const { return warps * run * piece(); }
  /// Where group g of a thread lies, after that thread's first value.
  int64_t offset(int64_t g) const {
    return (g / run) * span() + (g % run) * piece();
  }
  /// One past the last value of group g of any thread.
  int64_t end(int64_t g) const {
    return offset(g) + ((warps - 1) * run + 1) * piece();
  }
};
} // namespace

/// The online Hadamard rotation of a row held in registers (`layout`), in
/// the order the CPU lowering computes it: each element times its factor
/// sign_k/√B, then butterflies (a + b, a − b) of strides 1, 2, 4, ...,
/// B/2. Strides 1 and 2 pair lanes of one vector. With runs of R > 1
/// groups (`groupLayout`), 4 to 64 pair threads of one warp (shuffles),
/// 128 to 64·R groups of the same thread, the next ones threads of other
/// warps (through `exchange` in shared memory); with single groups, all
/// strides between threads (4 up to 512) go through shared memory when
/// the block reaches past a warp (fewer bytes through the shared-memory
/// pipe than shuffles and an exchange), else shuffles. Strides past the
/// threads pair groups of the same thread.
///
/// Where the pair is in two threads (or two lanes), each computes its own
/// element as one fma, sign·mine + partner with sign +1 for the low
/// element and −1 for the high one: exactly a + b or a − b, rounded once.
/// Through shared memory the row goes once (in element order, 16-byte
/// units swizzled): for a single stride each thread reads its partners'
/// groups; otherwise, per phase of up to four strides, each thread reads
/// the sets of elements that differ only in those strides' bits, runs the
/// stages on them in order and writes them back, and at the end reads its
/// own groups again.
static void applyHadamard(OpBuilder &b, Location loc, const QuantizeShape &s,
                          const GroupLayout &layout,
                          SmallVectorImpl<Value> &values,
                          llvm::function_ref<Value(Value, int64_t)> loadGroup,
                          StringRef factorsName, MemRefType factorsType,
                          Value tid, Value base, Value exchange) {
  Type f32 = b.getF32Type();
  auto vec = VectorType::get({kGroup}, f32);
  auto c = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  auto cf = [&](float v) -> Value {
    return arith::ConstantFloatOp::create(b, loc, cast<FloatType>(f32),
                                          APFloat(v));
  };
  Value factors = memref::GetGlobalOp::create(b, loc, factorsType, factorsName);
  for (size_t g = 0; g < values.size(); ++g)
    values[g] = arith::MulFOp::create(b, loc, values[g],
                                      loadGroup(factors, int64_t(g)));
  // mine' = sign·mine + partner: mine + partner for the low element (sign
  // +1), partner − mine for the high one (sign −1).
  auto combine = [&](Value mine, Value partner, Value sign) -> Value {
    return LLVM::FMAOp::create(b, loc, sign, mine, partner);
  };
  // The sign of this thread's elements at thread bit `bit`.
  auto threadSign = [&](int64_t bit) -> Value {
    Value shifted = arith::ShRUIOp::create(b, loc, tid, c(bit));
    Value one = arith::AndIOp::create(b, loc, shifted, c(1));
    Value isHigh =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, one, c(0));
    return vector::BroadcastOp::create(
        b, loc, vec,
        arith::SelectOp::create(b, loc, isHigh, cf(-1.0f), cf(1.0f)));
  };
  // Butterflies of strides d, 2d, ... below `limit` on `set` (in-thread:
  // both elements of every pair here).
  auto butterflies = [&](SmallVectorImpl<Value> &set, size_t d, size_t limit) {
    for (; d < limit; d *= 2)
      for (size_t i = 0; i < set.size(); ++i) {
        if (i & d)
          continue;
        Value low = set[i], high = set[i + d];
        set[i] = arith::AddFOp::create(b, loc, low, high);
        set[i + d] = arith::SubFOp::create(b, loc, low, high);
      }
  };
  const int64_t piece = layout.piece(), run = layout.run;
  // The buffer holds whole runs of groups of all threads, in element order
  // (an element's place p: its index in the row less the chunk's first)
  // with the 16-byte units of each 128 bytes permuted by bits 6–8 of p, so
  // that the set reads below hit 32 banks: p ^ (((p >> 6) & 7) << 2).
  auto swizzle = [&](Value p) -> Value {
    Value bits = arith::AndIOp::create(
        b, loc, arith::ShRUIOp::create(b, loc, p, c(6)), c(7));
    return arith::XOrIOp::create(b, loc, p,
                                 arith::ShLIOp::create(b, loc, bits, c(2)));
  };
  auto place = [&](Value at, size_t g, size_t first) -> Value {
    return swizzle(arith::AddIOp::create(
        b, loc, at,
        c(layout.offset(int64_t(g)) - layout.offset(int64_t(first)))));
  };
  // The butterflies of `phases` (each: strides 2^c0 .. 2^(c0 + bits − 1),
  // bits c0 .. of p) through shared memory, as many groups per round trip
  // as the buffer holds. One stride: each thread reads its partners'
  // groups. Else, per phase, each thread reads the sets of 2^bits elements
  // that differ only in those bits, runs the stages on them in order and
  // writes them back; then it reads its own groups again.
  auto exchangeRow = [&](ArrayRef<std::pair<int64_t, int64_t>> phases) {
    const int64_t threads = layout.warps * 32;
    int64_t capacity = cast<MemRefType>(exchange.getType()).getDimSize(0) /
                       layout.span() * run;
    for (size_t first = 0; first < values.size(); first += capacity) {
      size_t last = std::min(values.size(), first + capacity);
      for (size_t g = first; g < last; ++g)
        vector::StoreOp::create(b, loc, values[g], exchange,
                                ValueRange{place(base, g, first)});
      gpu::BarrierOp::create(b, loc);
      if (phases.size() == 1 && phases[0].second == 1) {
        // The partner groups (thread bit c0 − 2 of the thread's base).
        int64_t c0 = phases[0].first;
        Value sign =
            threadSign(c0 - llvm::Log2_64(kGroup) - llvm::Log2_64(run));
        Value other = arith::XOrIOp::create(b, loc, base, c(int64_t(1) << c0));
        for (size_t g = first; g < last; ++g)
          values[g] = combine(
              values[g],
              vector::LoadOp::create(b, loc, vec, exchange,
                                     ValueRange{place(other, g, first)}),
              sign);
      } else {
        for (const auto &phaseBits : phases) {
          const int64_t c0 = phaseBits.first, bits = phaseBits.second;
          // Set σ: the places (σ mod 2^c0) + m·2^c0 + ⌊σ/2^c0⌋·2^(c0 +
          // bits) for members m; thread t takes σ = t, t + threads, ...
          const int64_t setSize = int64_t(1) << bits;
          const int64_t sets =
              int64_t(last - first) / run * layout.span() / setSize;
          for (int64_t round = 0; round * threads < sets; ++round) {
            Value sigma =
                arith::AddIOp::create(b, loc, tid, c(round * threads));
            auto phase = [&](OpBuilder &pb) {
              OpBuilder::InsertionGuard inPhase(b);
              b.setInsertionPoint(pb.getInsertionBlock(),
                                  pb.getInsertionPoint());
              Value low =
                  arith::RemUIOp::create(b, loc, sigma, c(int64_t(1) << c0));
              Value high = arith::MulIOp::create(
                  b, loc,
                  arith::DivUIOp::create(b, loc, sigma, c(int64_t(1) << c0)),
                  c(int64_t(1) << (c0 + bits)));
              Value setBase = arith::AddIOp::create(b, loc, low, high);
              SmallVector<Value> places, set;
              for (int64_t m = 0; m < setSize; ++m) {
                places.push_back(swizzle(
                    arith::AddIOp::create(b, loc, setBase, c(m << c0))));
                set.push_back(memref::LoadOp::create(
                    b, loc, exchange, ValueRange{places.back()}));
              }
              butterflies(set, 1, set.size());
              for (int64_t m = 0; m < setSize; ++m)
                memref::StoreOp::create(b, loc, set[m], exchange,
                                        ValueRange{places[m]});
            };
            if ((round + 1) * threads <= sets) {
              phase(b);
              continue;
            }
            auto ifSet = scf::IfOp::create(
                b, loc,
                arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, sigma,
                                      c(sets)),
                /*withElse=*/false);
            OpBuilder tb = ifSet.getThenBodyBuilder();
            phase(tb);
          }
          gpu::BarrierOp::create(b, loc);
        }
        for (size_t g = first; g < last; ++g)
          values[g] = vector::LoadOp::create(b, loc, vec, exchange,
                                             ValueRange{place(base, g, first)});
      }
      if (last < values.size()) // the next round trip writes the buffer
        gpu::BarrierOp::create(b, loc);
    }
  };
  int64_t stride = 1;
  while (stride < s.hadamardBlock) {
    if (stride < kGroup) {
      // Lanes of one vector.
      SmallVector<int64_t> perm;
      SmallVector<float> signs;
      for (int64_t e = 0; e < kGroup; ++e) {
        perm.push_back(e ^ stride);
        signs.push_back(e & stride ? -1.0f : 1.0f);
      }
      Value sign = arith::ConstantOp::create(
          b, loc, DenseElementsAttr::get(vec, ArrayRef<float>(signs)));
      for (Value &v : values) {
        Value partner = vector::ShuffleOp::create(b, loc, v, v, perm);
        v = combine(v, partner, sign);
      }
      stride *= 2;
    } else if (stride < piece && !(run == 1 && s.hadamardBlock > piece)) {
      // Threads of one warp: a shuffle per lane.
      Value sign = threadSign(llvm::Log2_64(stride / kGroup));
      for (Value &v : values) {
        Value partner = vector::BroadcastOp::create(b, loc, vec, cf(0.0f));
        for (int64_t e = 0; e < kGroup; ++e) {
          Value lane = vector::ExtractOp::create(b, loc, v, e);
          Value other =
              gpu::ShuffleOp::create(b, loc, lane, int32_t(stride / kGroup), 32,
                                     gpu::ShuffleMode::XOR)
                  .getShuffleResult();
          partner = vector::InsertOp::create(b, loc, other, partner, e);
        }
        v = combine(v, partner, sign);
      }
      stride *= 2;
    } else if (stride >= piece &&
               (stride < piece * run || stride >= layout.span())) {
      // Groups of the same thread: g and g + d.
      size_t d =
          stride < piece * run ? stride / piece : stride / layout.span() * run;
      butterflies(values, d, 2 * d);
      stride *= 2;
    } else {
      // Through shared memory: the strides between warps, and with single
      // groups (run 1) those between lanes too, instead of shuffles.
      int64_t last = std::min(s.hadamardBlock, layout.span());
      SmallVector<std::pair<int64_t, int64_t>> phases; // (first bit, bits)
      for (int64_t st = stride; st < last;) {
        int64_t bits = 0;
        while (bits < 4 && st << bits < last)
          ++bits;
        phases.push_back({int64_t(llvm::Log2_64(st)), bits});
        st <<= bits;
      }
      exchangeRow(phases);
      stride = last;
    }
  }
}

/// Whether x is bf16 / f16 without a rotation: 16-byte loads of 8 values.
static bool wideGroups(const QuantizeShape &s) {
  return s.inputType && s.inputType.getIntOrFloatBitWidth() == 16 &&
         !s.hadamardBlock && s.k % 8 == 0;
}

/// Threads per row: 128 for a bf16 / f16 row of at most 8192 without a
/// rotation (a 16-byte load holds 8 values: 256 threads would keep half
/// the bytes of an f32 row in flight per register), else 256.
static int64_t quantizeThreads(const QuantizeShape &s) {
  return wideGroups(s) && s.k <= kMaxResidentValues * 128 ? 128 : kThreads;
}

/// The layout of a thread's groups: runs of R = 2, 4 or 8 groups where
/// that leaves a rotation fewer strides between warps (R warp-wide pieces
/// within its blocks, at most as many as the thread has groups), else
/// single groups.
static GroupLayout groupLayout(const QuantizeShape &s) {
  const int64_t threads = quantizeThreads(s);
  const int64_t width = wideGroups(s) ? 8 : kGroup;
  GroupLayout layout{width, threads / 32, 1,
                     int64_t(llvm::divideCeil(s.k, threads * width))};
  // Strides between warps with runs of R: from piece·R up to the block,
  // at most log2(warps) of them.
  auto betweenWarps = [&](int64_t run) {
    int64_t n = 0;
    for (int64_t st = layout.piece() * run;
         st < s.hadamardBlock && st < layout.piece() * run * layout.warps;
         st *= 2)
      ++n;
    return n;
  };
  for (int64_t run = 2; s.hadamardBlock && run <= 8; run *= 2)
    if (run <= layout.groups && run * layout.piece() <= s.hadamardBlock &&
        betweenWarps(run) < betweenWarps(layout.run))
      layout.run = run;
  layout.groups = int64_t(llvm::alignTo(layout.groups, layout.run));
  return layout;
}

LaunchShape gpu_kernels::quantizeLaunch(const QuantizeShape &s) {
  return {s.m, 1, quantizeThreads(s), 0};
}

gpu::GPUFuncOp gpu_kernels::buildQuantizeKernel(OpBuilder &b, Location loc,
                                                StringRef name,
                                                const QuantizeShape &s) {
  MLIRContext *ctx = b.getContext();
  Type f32 = b.getF32Type(), f64 = b.getF64Type(), i8 = b.getI8Type();
  Type inType = s.inputType ? s.inputType : f32;
  const int64_t threads = quantizeThreads(s), warps = threads / 32;
  // Values per load: 16 bytes.
  const int64_t width = wideGroups(s) ? 8 : kGroup;
  assert((threads == kThreads || !s.hadamardBlock) &&
         "the rotation's butterflies assume 256 threads");
  SmallVector<Type> args = {MemRefType::get({s.m, s.k}, inType),
                            MemRefType::get({s.m, s.k}, i8),
                            MemRefType::get({s.m}, f32)};
  const int64_t outliers = int64_t(s.outlierColumns.size());
  assert(outliers <= threads && !(outliers && s.hadamardBlock) &&
         "outlier columns: at most one per thread, no rotation");
  if (outliers)
    args.push_back(MemRefType::get({s.m, outliers}, f32));
  // LLM.int8() outlier columns: the keep mask (0 at an outlier column, 1
  // elsewhere: x·keep as the CPU lowering computes x_in) and the column
  // indices, next to the kernel.
  std::string keepName = (name + "_keep").str(),
              columnsName = (name + "_outlier_columns").str();
  auto keepType = MemRefType::get({s.k}, f32);
  auto columnsType = MemRefType::get({outliers}, b.getI32Type());
  if (outliers) {
    std::vector<float> keep(s.k, 1.0f);
    std::vector<int32_t> columns;
    for (int64_t col : s.outlierColumns) {
      keep[col] = 0.0f;
      columns.push_back(int32_t(col));
    }
    memref::GlobalOp::create(
        b, loc, keepName, b.getStringAttr("private"), keepType,
        DenseElementsAttr::get(RankedTensorType::get({s.k}, f32),
                               ArrayRef<float>(keep)),
        /*constant=*/true, b.getI64IntegerAttr(16));
    memref::GlobalOp::create(
        b, loc, columnsName, b.getStringAttr("private"), columnsType,
        DenseElementsAttr::get(
            RankedTensorType::get({outliers}, b.getI32Type()),
            ArrayRef<int32_t>(columns)),
        /*constant=*/true, b.getI64IntegerAttr(4));
  }
  // The Hadamard column factors sign_k/√B, next to the kernel.
  std::string factorsName = (name + "_hadamard").str();
  auto factorsType = MemRefType::get({s.k}, f32);
  if (s.hadamardBlock)
    memref::GlobalOp::create(
        b, loc, factorsName, b.getStringAttr("private"), factorsType,
        DenseElementsAttr::get(RankedTensorType::get({s.k}, f32),
                               ArrayRef<float>(s.hadamardScale)),
        /*constant=*/true, b.getI64IntegerAttr(16));
  auto fn =
      gpu::GPUFuncOp::create(b, loc, name, FunctionType::get(ctx, args, {}));
  fn->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), UnitAttr::get(ctx));
  fn->setAttr(fn.getKnownBlockSizeAttrName(),
              b.getDenseI32ArrayAttr({int32_t(threads), 1, 1}));
  auto workgroup =
      gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
  // Shared buffers 16-byte aligned: the exchange takes 16-byte stores and
  // loads and the warp maxima are read up to 4 at a time, while a
  // workgroup attribution is only aligned to its element type otherwise.
  auto addAligned = [&](MemRefType type) -> Value {
    Value buffer = fn.addWorkgroupAttribution(type, loc);
    fn.setWorkgroupAttributionAttr(fn.getNumWorkgroupAttributions() - 1,
                                   LLVM::LLVMDialect::getAlignAttrName(),
                                   b.getI64IntegerAttr(16));
    return buffer;
  };
  Value partial = addAligned(
      MemRefType::get({warps}, f32, MemRefLayoutAttrInterface{}, workgroup));
  GroupLayout layout = groupLayout(s);
  // Butterflies between warps go through shared memory: all of a thread's
  // groups at once (up to 32 KB).
  Value exchange;
  if (s.hadamardBlock > layout.piece() * layout.run) {
    int64_t spans = std::min(layout.groups / layout.run,
                             std::max<int64_t>(1, 8192 / layout.span()));
    exchange = addAligned(MemRefType::get(
        {spans * layout.span()}, f32, MemRefLayoutAttrInterface{}, workgroup));
  }
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&fn.getBody().front());
  Value x = fn.getArgument(0), q = fn.getArgument(1), scale = fn.getArgument(2);

  auto c = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  auto cf = [&](double v) -> Value {
    return arith::ConstantFloatOp::create(b, loc, cast<FloatType>(f32),
                                          APFloat(float(v)));
  };
  Value tid = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
  Value row = gpu::BlockIdOp::create(b, loc, gpu::Dimension::x);
  Value lane = arith::RemUIOp::create(b, loc, tid, c(32));
  Value warp = arith::DivUIOp::create(b, loc, tid, c(32));
  Value first = arith::MulIOp::create(b, loc, tid, c(width));
  // This thread's first value of a resident row (`layout`).
  Value base = arith::AddIOp::create(
      b, loc,
      arith::MulIOp::create(b, loc, warp, c(layout.run * layout.piece())),
      arith::MulIOp::create(b, loc, lane, c(width)));
  auto vec = VectorType::get({width}, f32);
  // The group of x at [row, k] in f32: one load of `width` values (16
  // bytes, or 8 for bf16 / f16 rows that are not wide groups), widened
  // exactly.
  auto loadX = [&](OpBuilder &lb, Value k) -> Value {
    int64_t bytes = width * inType.getIntOrFloatBitWidth() / 8;
    Value v = vector::LoadOp::create(
        lb, loc, VectorType::get({width}, inType), x, ValueRange{row, k},
        /*nontemporal=*/false, llvm::MaybeAlign(bytes));
    return inType == f32 ? v : arith::ExtFOp::create(lb, loc, vec, v);
  };

  // 0. Outlier columns: thread j < O copies x[row, columns[j]] to
  // xo[row, j]; `keep` masks them out of the int8 part below.
  Value keep;
  if (outliers) {
    keep = memref::GetGlobalOp::create(b, loc, keepType, keepName);
    Value isCopier = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult,
                                           tid, c(outliers));
    auto ifCopier = scf::IfOp::create(b, loc, isCopier, /*withElse=*/false);
    OpBuilder::InsertionGuard inIf(b);
    b.setInsertionPointToStart(&ifCopier.getThenRegion().front());
    Value columns =
        memref::GetGlobalOp::create(b, loc, columnsType, columnsName);
    Value col = arith::IndexCastUIOp::create(
        b, loc, b.getIndexType(),
        memref::LoadOp::create(b, loc, columns, ValueRange{tid}));
    Value v = memref::LoadOp::create(b, loc, x, ValueRange{row, col});
    if (inType != f32)
      v = arith::ExtFOp::create(b, loc, f32, v);
    memref::StoreOp::create(b, loc, v, fn.getArgument(3), ValueRange{row, tid});
  }
  // v·keep[k ..] for the group at column k (v itself without outliers).
  auto masked = [&](OpBuilder &mb, Value v, Value k) -> Value {
    if (!keep)
      return v;
    Value mask =
        vector::LoadOp::create(mb, loc, vec, keep, ValueRange{k},
                               /*nontemporal=*/false, llvm::MaybeAlign(16));
    return arith::MulFOp::create(mb, loc, v, mask);
  };

  // 1. This thread's maximum of |x|: unrolled with the groups kept in
  // registers when they are few enough, else a loop.
  bool resident = layout.groups * width <= kMaxResidentValues;
  auto absMax = [&](Value v) {
    // |x| as maxnum(x, −x) (NaN stays NaN and is ignored below).
    Value abs =
        arith::MaxNumFOp::create(b, loc, v, arith::NegFOp::create(b, loc, v));
    return vector::ReductionOp::create(b, loc, vector::CombiningKind::MAXNUMF,
                                       abs)
        .getResult();
  };
  // Where group g of this thread starts in its row (resident rows).
  auto groupStart = [&](int64_t g) -> Value {
    return arith::AddIOp::create(b, loc, base, c(layout.offset(g)));
  };
  // Whether group g of this thread lies in the row (only the last groups
  // of a row that does not fill all threads' groups can fall outside).
  auto inRow = [&](int64_t g) -> Value {
    if (layout.end(g) <= s.k)
      return Value();
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult,
                                 groupStart(g), c(s.k));
  };
  SmallVector<Value> values; // resident: group g of this thread
  Value m;
  if (resident) {
    Value zeros = vector::BroadcastOp::create(b, loc, vec, cf(0.0));
    // Group g of this thread from `mem` (a row of x, or the K factors):
    // zeros past the row.
    auto loadGroup = [&](Value mem, int64_t g) -> Value {
      Value k = groupStart(g);
      auto load = [&](OpBuilder &lb) -> Value {
        if (mem == x)
          return loadX(lb, k);
        return vector::LoadOp::create(lb, loc, vec, mem, ValueRange{k},
                                      /*nontemporal=*/false,
                                      llvm::MaybeAlign(16));
      };
      Value ok = inRow(g);
      if (!ok)
        return load(b);
      auto ifIn =
          scf::IfOp::create(b, loc, TypeRange{vec}, ok, /*withElse=*/true);
      OpBuilder tb = ifIn.getThenBodyBuilder();
      scf::YieldOp::create(tb, loc, ValueRange{load(tb)});
      OpBuilder eb = ifIn.getElseBodyBuilder();
      scf::YieldOp::create(eb, loc, ValueRange{zeros});
      return ifIn.getResult(0);
    };
    for (int64_t g = 0; g < layout.groups; ++g) {
      values.push_back(loadGroup(x, g));
      if (keep)
        values.back() =
            arith::MulFOp::create(b, loc, values.back(), loadGroup(keep, g));
    }
    if (s.hadamardBlock)
      applyHadamard(b, loc, s, layout, values, loadGroup, factorsName,
                    factorsType, tid, base, exchange);
    m = cf(0.0);
    for (Value v : values)
      m = arith::MaxNumFOp::create(b, loc, m, absMax(v));
  } else {
    auto maxLoop = scf::ForOp::create(b, loc, first, c(s.k), c(threads * width),
                                      ValueRange{cf(0.0)});
    OpBuilder::InsertionGuard inLoop(b);
    b.setInsertionPointToStart(maxLoop.getBody());
    Value v = masked(b, loadX(b, maxLoop.getInductionVar()),
                     maxLoop.getInductionVar());
    scf::YieldOp::create(
        b, loc,
        ValueRange{arith::MaxNumFOp::create(
            b, loc, maxLoop.getRegionIterArgs().front(), absMax(v))});
    b.setInsertionPointAfter(maxLoop);
    m = maxLoop.getResult(0);
  }
  // 2. Warp butterfly, then across the warps through shared memory.
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

  // 3. s = f32(f64(absmax) · clip / qmax), 1 for a zero or non-finite max.
  Value wide = arith::ExtFOp::create(b, loc, f64, absmax);
  wide =
      arith::MulFOp::create(b, loc, wide,
                            arith::ConstantFloatOp::create(
                                b, loc, cast<FloatType>(f64), APFloat(s.clip)));
  Value positive =
      arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, wide,
                            arith::ConstantFloatOp::create(
                                b, loc, cast<FloatType>(f64), APFloat(0.0)));
  Value finite = arith::CmpFOp::create( // wide ≥ 0 and never NaN
      b, loc, arith::CmpFPredicate::OLT, wide,
      arith::ConstantFloatOp::create(b, loc, cast<FloatType>(f64),
                                     APFloat::getInf(APFloat::IEEEdouble())));
  Value s64 = arith::DivFOp::create(
      b, loc, wide,
      arith::ConstantFloatOp::create(b, loc, cast<FloatType>(f64),
                                     APFloat(double(s.qmax))));
  Value sv = arith::SelectOp::create(
      b, loc, arith::AndIOp::create(b, loc, positive, finite),
      arith::TruncFOp::create(b, loc, f32, s64), cf(1.0));
  {
    Value zeroThread =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, tid, c(0));
    auto ifZero = scf::IfOp::create(b, loc, zeroThread, /*withElse=*/false);
    OpBuilder::InsertionGuard inIf(b);
    b.setInsertionPointToStart(&ifZero.getThenRegion().front());
    memref::StoreOp::create(b, loc, sv, scale, ValueRange{row});
  }

  // 4. q = clamp(round_half_even(x / s), qmin, qmax), NaN → 0.
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
  Value svec = vector::BroadcastOp::create(b, loc, vec, sv);
  Value negS = arith::NegFOp::create(b, loc, svec);
  Value recip = vector::BroadcastOp::create(
      b, loc, vec, arith::DivFOp::create(b, loc, cf(1.0), sv));
  Value lo = vector::BroadcastOp::create(b, loc, vec, cf(double(s.qmin)));
  Value hi = vector::BroadcastOp::create(b, loc, vec, cf(double(s.qmax)));
  Value zero = vector::BroadcastOp::create(b, loc, vec, cf(0.0));
  Value magic = vector::BroadcastOp::create(b, loc, vec, cf(12582912.0));
  auto quantizeStore = [&](OpBuilder &qb, Value v, Value k, bool fast) {
    Value r;
    if (fast) {
      r = arith::MulFOp::create(qb, loc, v, recip);
      for (int step = 0; step < 2; ++step) {
        Value residual = LLVM::FMAOp::create(qb, loc, negS, r, v);
        r = LLVM::FMAOp::create(qb, loc, residual, recip, r);
      }
    } else {
      r = arith::DivFOp::create(qb, loc, v, svec);
    }
    Value isNan =
        arith::CmpFOp::create(qb, loc, arith::CmpFPredicate::UNO, r, r);
    r = arith::SelectOp::create(qb, loc, isNan, zero, r);
    r = arith::MinNumFOp::create(qb, loc,
                                 arith::MaxNumFOp::create(qb, loc, r, lo), hi);
    r = arith::AddFOp::create(qb, loc, r, magic);
    auto ints = VectorType::get({width}, b.getI32Type());
    Value bytes =
        arith::TruncIOp::create(qb, loc, VectorType::get({width}, i8),
                                arith::BitcastOp::create(qb, loc, ints, r));
    vector::StoreOp::create(qb, loc, bytes, q, ValueRange{row, k},
                            /*nontemporal=*/false, llvm::MaybeAlign(width));
  };
  // The stores of the row, by one of the two divisions.
  auto quantizeRow = [&](bool fast) {
    if (resident) {
      for (auto [g, v] : llvm::enumerate(values)) {
        Value k = groupStart(int64_t(g));
        if (Value ok = inRow(int64_t(g))) {
          auto ifIn = scf::IfOp::create(b, loc, ok, /*withElse=*/false);
          OpBuilder tb = ifIn.getThenBodyBuilder();
          quantizeStore(tb, v, k, fast);
        } else {
          quantizeStore(b, v, k, fast);
        }
      }
      return;
    }
    auto quantLoop =
        scf::ForOp::create(b, loc, first, c(s.k), c(threads * width));
    OpBuilder::InsertionGuard inLoop(b);
    b.setInsertionPointToStart(quantLoop.getBody());
    Value k = quantLoop.getInductionVar();
    quantizeStore(b, masked(b, loadX(b, k), k), k, fast);
  };
  auto inRange = [&](arith::CmpFPredicate p, int exp) {
    return arith::CmpFOp::create(b, loc, p, sv, cf(std::ldexp(1.0, exp)));
  };
  Value fast = arith::AndIOp::create(
      b, loc, finite,
      arith::AndIOp::create(b, loc,
                            inRange(arith::CmpFPredicate::OGE, -kFastScaleExp),
                            inRange(arith::CmpFPredicate::OLE, kFastScaleExp)));
  auto ifFast = scf::IfOp::create(b, loc, fast, /*withElse=*/true);
  {
    OpBuilder::InsertionGuard inIf(b);
    b.setInsertionPointToStart(&ifFast.getThenRegion().front());
    quantizeRow(true);
    b.setInsertionPointToStart(&ifFast.getElseRegion().front());
    quantizeRow(false);
  }
  gpu::ReturnOp::create(b, loc);
  return fn;
}
