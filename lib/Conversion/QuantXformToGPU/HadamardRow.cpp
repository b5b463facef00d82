//===- HadamardRow.cpp - a row's online Hadamard rotation -----------------===//
//
// The online Hadamard rotation in front of the quantize kernel's absmax:
// a row of K = n·B elements, its blocks of B = 2^L rotated by the
// butterflies of strides 1 .. B/2 in that order (bit-exact with the CPU
// lowering, which runs them in that order too).
//
// A stride costs nothing where both elements of each pair are in one
// thread, and one pass of the row through shared memory (a store and a
// load per element) covers up to six of the others. So each thread loads
// chunks of C = 2^c consecutive elements (strides 1 .. C/2 in registers),
// stores them, and then reads sets of the elements that differ only in
// the next bits: with c = ⌈L/2⌉ ≤ 6 (B ≤ 4096) one pass does all strides,
// with no shuffles. Loads of a chunk are 16 bytes (4 values) each; a
// warp's load of one 16-byte piece of 32 chunks uses half of each sector,
// the next load the other half, out of L1.
//
// The buffer holds the row in element order with the 16-byte units of
// each 128 bytes permuted by bits 6–8 of the place p, p ^ (((p >> 6) & 7)
// << 2): the chunk stores (lanes C floats apart) and the set loads (lanes
// a float apart in runs of at least 16, the runs 2^(c0 + bits) apart) then
// hit 32 banks per wavefront.
//
//===----------------------------------------------------------------------===//

#include "HadamardRow.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
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
/// Most values a thread holds in any phase.
constexpr int64_t kMaxValues = 64;
/// Most threads of a row.
constexpr int64_t kMaxThreads = 256;
} // namespace

HadamardPlan gpu_kernels::hadamardPlan(const QuantizeShape &s) {
  assert(s.hadamardBlock >= 4 && llvm::isPowerOf2_64(s.hadamardBlock) &&
         s.k % s.hadamardBlock == 0 && s.k <= kMaxResidentK &&
         "a block of at least 4 that divides a resident row");
  const int64_t bits = llvm::Log2_64(s.hadamardBlock);
  const int64_t maxChunkBits = llvm::Log2_64(kMaxValues);
  HadamardPlan plan;
  plan.chunkBits = bits <= maxChunkBits
                       ? bits
                       : std::min<int64_t>(maxChunkBits, (bits + 1) / 2);
  int64_t rest = bits - plan.chunkBits;
  int64_t phases = llvm::divideCeil(rest, plan.chunkBits);
  for (int64_t first = plan.chunkBits, i = 0; i < phases; ++i) {
    int64_t n = llvm::divideCeil(rest, phases - i);
    plan.phases.push_back({first, n});
    first += n;
    rest -= n;
  }
  // Enough threads that a thread holds at most 64 values: with K/C chunks
  // up to 256 threads, one chunk each.
  plan.threads = std::min<int64_t>(
      kMaxThreads, llvm::alignTo(s.k >> plan.chunkBits, int64_t(32)));
  if (!plan.phases.empty())
    plan.sharedFloats = llvm::alignTo(s.k, int64_t(32));
  plan.stageRow = !plan.phases.empty() && (!s.inputType || s.inputType.isF32());
  return plan;
}

int64_t gpu_kernels::hadamardSwizzle(int64_t p) {
  return p ^ (((p >> 6) & 7) << 2);
}

PlaceTerms gpu_kernels::hadamardPlaceTerms(int64_t offset) {
  // The swizzle is linear over xor, and base + offset = base xor offset for
  // disjoint bits: swizzle(base) xor swizzle(offset). An offset without
  // bits below 32 is, after the xor of its bits 2–4, an add (base's
  // swizzle has no bits there), which folds into the access.
  int64_t swizzled = hadamardSwizzle(offset);
  if (offset % 32)
    return {swizzled, 0};
  return {swizzled ^ offset, offset};
}

std::vector<int32_t> gpu_kernels::hadamardSignWords(const QuantizeShape &s) {
  std::vector<int32_t> words(llvm::divideCeil(s.k, int64_t(32)), 0);
  bool any = false;
  for (int64_t k = 0; k < s.k; ++k)
    if (std::signbit(s.hadamardScale[k])) {
      words[k / 32] |= int32_t(uint32_t(1) << (k % 32));
      any = true;
    }
  if (!any)
    words.clear();
  return words;
}

SmallVector<RowGroup> gpu_kernels::buildHadamardRow(
    OpBuilder &b, Location loc, const QuantizeShape &s,
    const HadamardPlan &plan, Value tid, Value x, Value row,
    llvm::function_ref<Value(OpBuilder &, Value)> load4, Value signWords,
    Value exchange) {
  Type f32 = b.getF32Type(), i32 = b.getI32Type();
  // The factors are ±f32(1/√B): x·(−n) is −(x·n) exactly, so each element
  // is multiplied by n and then takes its sign bit.
  const float norm = std::fabs(s.hadamardScale.front());
  assert(llvm::all_of(s.hadamardScale,
                      [&](float f) { return std::fabs(f) == norm; }) &&
         "factors ±1/√B");
  const int64_t threads = plan.threads, chunk = int64_t(1) << plan.chunkBits;
  auto c = [&](OpBuilder &ib, int64_t v) -> Value {
    return arith::ConstantIndexOp::create(ib, loc, v);
  };
  // Butterflies of strides 1 .. n/2 on the n values of `set`, in order.
  auto butterflies = [&](OpBuilder &ib, SmallVectorImpl<Value> &set) {
    for (size_t d = 1; d < set.size(); d *= 2)
      for (size_t i = 0; i < set.size(); ++i) {
        if (i & d)
          continue;
        Value low = set[i], high = set[i + d];
        set[i] = arith::AddFOp::create(ib, loc, low, high);
        set[i + d] = arith::SubFOp::create(ib, loc, low, high);
      }
  };
  // The buffer's place of element p (hadamardSwizzle), and of base +
  // offset from swizzle(base) (hadamardPlaceTerms).
  auto swizzle = [&](OpBuilder &ib, Value p) -> Value {
    Value bits = arith::AndIOp::create(
        ib, loc, arith::ShRUIOp::create(ib, loc, p, c(ib, 6)), c(ib, 7));
    return arith::XOrIOp::create(
        ib, loc, p, arith::ShLIOp::create(ib, loc, bits, c(ib, 2)));
  };
  auto place = [&](OpBuilder &ib, Value swizzledBase, int64_t offset) {
    PlaceTerms terms = hadamardPlaceTerms(offset);
    Value p = swizzledBase;
    if (terms.xorMask)
      p = arith::XOrIOp::create(ib, loc, p, c(ib, terms.xorMask));
    if (terms.add)
      p = arith::AddIOp::create(ib, loc, p, c(ib, terms.add));
    return p;
  };
  // Runs `body` for one of a thread's chunks or sets: directly, or under
  // `valid` with zeros for its results (`types`) where it is false.
  auto guarded = [&](Value valid, TypeRange types,
                     llvm::function_ref<SmallVector<Value>(OpBuilder &)> body)
      -> SmallVector<Value> {
    if (!valid)
      return body(b);
    auto ifValid = scf::IfOp::create(b, loc, types, valid,
                                     /*withElse=*/!types.empty());
    OpBuilder tb = ifValid.getThenBodyBuilder();
    SmallVector<Value> results = body(tb);
    if (types.empty())
      return {};
    scf::YieldOp::create(tb, loc, results);
    OpBuilder eb = ifValid.getElseBodyBuilder();
    SmallVector<Value> zeros;
    for (Type t : types)
      zeros.push_back(arith::ConstantOp::create(
          eb, loc, cast<TypedAttr>(eb.getZeroAttr(t))));
    scf::YieldOp::create(eb, loc, zeros);
    return SmallVector<Value>(ifValid.getResults());
  };
  // Item `round` of `count` of this thread (tid + round·threads) and
  // whether it exists (null when every thread's does).
  auto item = [&](int64_t round, int64_t count) -> std::pair<Value, Value> {
    Value index = arith::AddIOp::create(b, loc, tid, c(b, round * threads));
    if ((round + 1) * threads <= count)
      return {index, Value()};
    return {index, arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult,
                                         index, c(b, count))};
  };

  // A staged row: its 16-byte units copied into the buffer, each to its
  // place (coalesced, past L1, no registers), before any chunk is read.
  if (plan.stageRow) {
    auto tokenType = nvgpu::DeviceAsyncTokenType::get(b.getContext());
    const int64_t units = s.k / 4;
    for (int64_t round = 0; round * threads < units; ++round) {
      auto [unit, valid] = item(round, units);
      Value column = arith::MulIOp::create(b, loc, unit, c(b, 4));
      guarded(valid, TypeRange{}, [&](OpBuilder &ib) -> SmallVector<Value> {
        nvgpu::DeviceAsyncCopyOp::create(
            ib, loc, tokenType, exchange, ValueRange{swizzle(ib, column)}, x,
            ValueRange{row, column}, ib.getIndexAttr(4), Value(),
            ib.getUnitAttr());
        return {};
      });
    }
    NVVM::CpAsyncCommitGroupOp::create(b, loc);
    NVVM::CpAsyncWaitGroupOp::create(b, loc, 0);
    gpu::BarrierOp::create(b, loc);
  }

  SmallVector<RowGroup> rotated;
  // Chunks: strides 1 .. C/2.
  const int64_t chunks = s.k / chunk;
  const bool chunksLast = plan.phases.empty();
  auto chunkType = VectorType::get({chunk}, f32);
  for (int64_t round = 0; round * threads < chunks; ++round) {
    auto [u, valid] = item(round, chunks);
    Value start = arith::MulIOp::create(b, loc, u, c(b, chunk));
    SmallVector<Value> results = guarded(
        valid, chunksLast ? TypeRange{chunkType} : TypeRange{},
        [&](OpBuilder &ib) -> SmallVector<Value> {
          SmallVector<Value> values;
          Value swizzledStart;
          if (!chunksLast)
            swizzledStart = swizzle(ib, start);
          for (int64_t j = 0; j < chunk; j += 4) {
            Value v = plan.stageRow
                          ? vector::LoadOp::create(
                                ib, loc, VectorType::get({4}, f32), exchange,
                                ValueRange{place(ib, swizzledStart, j)})
                          : load4(ib, arith::AddIOp::create(ib, loc, start,
                                                            c(ib, j)));
            for (int64_t e = 0; e < 4; ++e)
              values.push_back(vector::ExtractOp::create(ib, loc, v, e));
          }
          Value n = arith::ConstantFloatOp::create(
              ib, loc, cast<FloatType>(f32), APFloat(norm));
          for (Value &v : values)
            v = arith::MulFOp::create(ib, loc, v, n);
          if (signWords) {
            // Word w of the chunk: bit i of element 32·w + i (a chunk of
            // C < 32 starts at bit start % 32 of its word).
            Value first =
                arith::ShRUIOp::create(ib, loc, start, c(ib, 5)); // word
            SmallVector<Value> words;
            for (int64_t w = 0; w * 32 < chunk; ++w) {
              Value word = memref::LoadOp::create(
                  ib, loc, signWords,
                  ValueRange{arith::AddIOp::create(ib, loc, first, c(ib, w))});
              if (chunk < 32)
                word = arith::ShRUIOp::create(
                    ib, loc, word,
                    arith::IndexCastOp::create(
                        ib, loc, i32,
                        arith::AndIOp::create(ib, loc, start, c(ib, 31))));
              words.push_back(word);
            }
            Value signBit =
                arith::ConstantIntOp::create(ib, loc, i32, int64_t(INT32_MIN));
            for (auto [i, v] : llvm::enumerate(values)) {
              Value bit = arith::AndIOp::create(
                  ib, loc,
                  arith::ShLIOp::create(
                      ib, loc, words[i / 32],
                      arith::ConstantIntOp::create(ib, loc, i32,
                                                   31 - int64_t(i % 32))),
                  signBit);
              Value bitsOfV = arith::BitcastOp::create(ib, loc, i32, v);
              v = arith::BitcastOp::create(
                  ib, loc, f32, arith::XOrIOp::create(ib, loc, bitsOfV, bit));
            }
          }
          butterflies(ib, values);
          if (chunksLast)
            return {vector::FromElementsOp::create(ib, loc, chunkType, values)};
          for (int64_t j = 0; j < chunk; j += 4) {
            Value group = vector::FromElementsOp::create(
                ib, loc, VectorType::get({4}, f32),
                ArrayRef<Value>(values).slice(j, 4));
            vector::StoreOp::create(ib, loc, group, exchange,
                                    ValueRange{place(ib, swizzledStart, j)});
          }
          return {};
        });
    if (chunksLast)
      rotated.push_back({results.front(), start, 1, valid});
  }
  if (chunksLast)
    return rotated;
  gpu::BarrierOp::create(b, loc);

  // Phases: set σ holds the places (σ mod 2^c0) + m·2^c0 +
  // ⌊σ / 2^c0⌋·2^(c0 + bits) for its members m.
  for (auto [index, phase] : llvm::enumerate(plan.phases)) {
    const int64_t c0 = phase.first, setSize = int64_t(1) << phase.second;
    const int64_t sets = s.k / setSize;
    const bool last = index + 1 == plan.phases.size();
    auto setType = VectorType::get({setSize}, f32);
    for (int64_t round = 0; round * threads < sets; ++round) {
      auto [sigma, valid] = item(round, sets);
      Value setBase = arith::AddIOp::create(
          b, loc,
          arith::AndIOp::create(b, loc, sigma, c(b, (int64_t(1) << c0) - 1)),
          arith::ShLIOp::create(b, loc,
                                arith::ShRUIOp::create(b, loc, sigma, c(b, c0)),
                                c(b, c0 + phase.second)));
      SmallVector<Value> results = guarded(
          valid, last ? TypeRange{setType} : TypeRange{},
          [&](OpBuilder &ib) -> SmallVector<Value> {
            SmallVector<Value> places, set;
            Value swizzledBase = swizzle(ib, setBase);
            for (int64_t m = 0; m < setSize; ++m) {
              places.push_back(place(ib, swizzledBase, m << c0));
              set.push_back(memref::LoadOp::create(ib, loc, exchange,
                                                   ValueRange{places.back()}));
            }
            butterflies(ib, set);
            if (last)
              return {vector::FromElementsOp::create(ib, loc, setType, set)};
            for (int64_t m = 0; m < setSize; ++m)
              memref::StoreOp::create(ib, loc, set[m], exchange,
                                      ValueRange{places[m]});
            return {};
          });
      if (last)
        rotated.push_back({results.front(), setBase, int64_t(1) << c0, valid});
    }
    if (!last)
      gpu::BarrierOp::create(b, loc);
  }
  return rotated;
}
