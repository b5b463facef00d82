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

namespace {

/// Builds the rotation of one row. The builder, location, shape, plan and
/// the kernel values it reads are members; the methods are the rotation's
/// phases: the staged copy of the row into shared memory, the in-thread
/// stages of each chunk (load, factors, butterflies of strides 1 .. C/2)
/// and the shared-memory phases (sets of elements, their butterflies).
class HadamardRowBuilder {
public:
  HadamardRowBuilder(OpBuilder &b, Location loc, const QuantizeShape &s,
                     const HadamardPlan &plan, const HadamardRowInputs &in);

  /// The thread's values after the last stride.
  SmallVector<RowGroup> build();

private:
  Value c(OpBuilder &ib, int64_t v);
  /// Butterflies of strides 1 .. n/2 on the n values of `set`, in order.
  void butterflies(OpBuilder &ib, SmallVectorImpl<Value> &set);
  /// The buffer's place of element p (hadamardSwizzle).
  Value swizzle(OpBuilder &ib, Value p);
  /// The place of base + offset from swizzle(base) (hadamardPlaceTerms).
  Value place(OpBuilder &ib, Value swizzledBase, int64_t offset);
  /// Runs `body` for one of a thread's chunks or sets: directly, or under
  /// `valid` with zeros for its results (`types`) where it is false.
  SmallVector<Value>
  guarded(Value valid, TypeRange types,
          llvm::function_ref<SmallVector<Value>(OpBuilder &)> body);
  /// Item `round` of `count` of this thread (tid + round·threads) and
  /// whether it exists (null when every thread's does).
  std::pair<Value, Value> item(int64_t round, int64_t count);

  /// Copies the row's 16-byte units into the buffer, each to its place.
  void stageRow();
  /// The chunk at `start` in f32, times the factors' magnitude.
  SmallVector<Value> loadChunk(OpBuilder &ib, Value start, Value swizzledStart);
  /// Applies the factors' signs to the chunk at `start`.
  void applySigns(OpBuilder &ib, Value start, SmallVectorImpl<Value> &values);
  /// The in-thread stages of the chunk at `start`: its values (the last
  /// stage) or nothing (stored back to the buffer).
  SmallVector<Value> rotateChunk(OpBuilder &ib, Value start);
  /// Every chunk of this thread; with no phase after, its results.
  void chunkStages(SmallVector<RowGroup> &rotated);
  /// One set of a shared-memory phase (strides 2^c0 ..): its values (the
  /// last phase) or nothing (stored back).
  SmallVector<Value> rotateSet(OpBuilder &ib, Value setBase, int64_t c0,
                               int64_t setSize, bool last);
  /// The shared-memory phases; the last one's results.
  void sharedPhases(SmallVector<RowGroup> &rotated);

  OpBuilder &b;
  Location loc;
  const QuantizeShape &s;
  const HadamardPlan &plan;
  const HadamardRowInputs &in;
  Type f32, i32;
  /// |factor| = f32(1/√B).
  float norm;
  int64_t threads, chunk;
  /// No shared-memory phase: the chunks' values are the result.
  bool chunksLast;
};

} // namespace

HadamardRowBuilder::HadamardRowBuilder(OpBuilder &b, Location loc,
                                       const QuantizeShape &s,
                                       const HadamardPlan &plan,
                                       const HadamardRowInputs &in)
    : b(b), loc(loc), s(s), plan(plan), in(in), f32(b.getF32Type()),
      i32(b.getI32Type()) {
  // The factors are ±f32(1/√B): x·(−n) is −(x·n) exactly, so each element
  // is multiplied by n and then takes its sign bit.
  norm = std::fabs(s.hadamardScale.front());
  assert(llvm::all_of(s.hadamardScale,
                      [&](float f) { return std::fabs(f) == norm; }) &&
         "factors ±1/√B");
  threads = plan.threads;
  chunk = int64_t(1) << plan.chunkBits;
  chunksLast = plan.phases.empty();
}

Value HadamardRowBuilder::c(OpBuilder &ib, int64_t v) {
  return arith::ConstantIndexOp::create(ib, loc, v);
}

void HadamardRowBuilder::butterflies(OpBuilder &ib,
                                     SmallVectorImpl<Value> &set) {
  for (size_t d = 1; d < set.size(); d *= 2)
    for (size_t i = 0; i < set.size(); ++i) {
      if (i & d)
        continue;
      Value low = set[i], high = set[i + d];
      set[i] = arith::AddFOp::create(ib, loc, low, high);
      set[i + d] = arith::SubFOp::create(ib, loc, low, high);
    }
}

Value HadamardRowBuilder::swizzle(OpBuilder &ib, Value p) {
  Value shifted = arith::ShRUIOp::create(ib, loc, p, c(ib, 6));
  Value bits = arith::AndIOp::create(ib, loc, shifted, c(ib, 7));
  Value offset = arith::ShLIOp::create(ib, loc, bits, c(ib, 2));
  return arith::XOrIOp::create(ib, loc, p, offset);
}

Value HadamardRowBuilder::place(OpBuilder &ib, Value swizzledBase,
                                int64_t offset) {
  PlaceTerms terms = hadamardPlaceTerms(offset);
  Value p = swizzledBase;
  if (terms.xorMask)
    p = arith::XOrIOp::create(ib, loc, p, c(ib, terms.xorMask));
  if (terms.add)
    p = arith::AddIOp::create(ib, loc, p, c(ib, terms.add));
  return p;
}

SmallVector<Value> HadamardRowBuilder::guarded(
    Value valid, TypeRange types,
    llvm::function_ref<SmallVector<Value>(OpBuilder &)> body) {
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
    zeros.push_back(
        arith::ConstantOp::create(eb, loc, cast<TypedAttr>(eb.getZeroAttr(t))));
  scf::YieldOp::create(eb, loc, zeros);
  return SmallVector<Value>(ifValid.getResults());
}

std::pair<Value, Value> HadamardRowBuilder::item(int64_t round, int64_t count) {
  Value index = arith::AddIOp::create(b, loc, in.tid, c(b, round * threads));
  if ((round + 1) * threads <= count)
    return {index, Value()};
  return {index, arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, index,
                                       c(b, count))};
}

void HadamardRowBuilder::stageRow() {
  // Coalesced, past L1, no registers; before any chunk is read.
  auto tokenType = nvgpu::DeviceAsyncTokenType::get(b.getContext());
  const int64_t units = s.k / 4;
  for (int64_t round = 0; round * threads < units; ++round) {
    auto [unit, valid] = item(round, units);
    Value column = arith::MulIOp::create(b, loc, unit, c(b, 4));
    guarded(valid, TypeRange{}, [&](OpBuilder &ib) -> SmallVector<Value> {
      nvgpu::DeviceAsyncCopyOp::create(
          ib, loc, tokenType, in.exchange, ValueRange{swizzle(ib, column)},
          in.x, ValueRange{in.row, column}, ib.getIndexAttr(4), Value(),
          ib.getUnitAttr());
      return {};
    });
  }
  NVVM::CpAsyncCommitGroupOp::create(b, loc);
  NVVM::CpAsyncWaitGroupOp::create(b, loc, 0);
  gpu::BarrierOp::create(b, loc);
}

SmallVector<Value> HadamardRowBuilder::loadChunk(OpBuilder &ib, Value start,
                                                 Value swizzledStart) {
  SmallVector<Value> values;
  for (int64_t j = 0; j < chunk; j += 4) {
    Value v =
        plan.stageRow
            ? vector::LoadOp::create(ib, loc, VectorType::get({4}, f32),
                                     in.exchange,
                                     ValueRange{place(ib, swizzledStart, j)})
            : in.load4(ib, arith::AddIOp::create(ib, loc, start, c(ib, j)));
    for (int64_t e = 0; e < 4; ++e)
      values.push_back(vector::ExtractOp::create(ib, loc, v, e));
  }
  Value n = arith::ConstantFloatOp::create(ib, loc, cast<FloatType>(f32),
                                           APFloat(norm));
  for (Value &v : values)
    v = arith::MulFOp::create(ib, loc, v, n);
  return values;
}

void HadamardRowBuilder::applySigns(OpBuilder &ib, Value start,
                                    SmallVectorImpl<Value> &values) {
  // Word w of the chunk: bit i of element 32·w + i (a chunk of C < 32
  // starts at bit start % 32 of its word).
  Value first = arith::ShRUIOp::create(ib, loc, start, c(ib, 5)); // word
  SmallVector<Value> words;
  for (int64_t w = 0; w * 32 < chunk; ++w) {
    Value word = memref::LoadOp::create(
        ib, loc, in.signWords,
        ValueRange{arith::AddIOp::create(ib, loc, first, c(ib, w))});
    if (chunk < 32)
      word = arith::ShRUIOp::create(
          ib, loc, word,
          arith::IndexCastOp::create(
              ib, loc, i32, arith::AndIOp::create(ib, loc, start, c(ib, 31))));
    words.push_back(word);
  }
  Value signBit =
      arith::ConstantIntOp::create(ib, loc, i32, int64_t(INT32_MIN));
  for (auto [i, v] : llvm::enumerate(values)) {
    Value bit = arith::AndIOp::create(
        ib, loc,
        arith::ShLIOp::create(
            ib, loc, words[i / 32],
            arith::ConstantIntOp::create(ib, loc, i32, 31 - int64_t(i % 32))),
        signBit);
    Value bitsOfV = arith::BitcastOp::create(ib, loc, i32, v);
    v = arith::BitcastOp::create(ib, loc, f32,
                                 arith::XOrIOp::create(ib, loc, bitsOfV, bit));
  }
}

SmallVector<Value> HadamardRowBuilder::rotateChunk(OpBuilder &ib, Value start) {
  Value swizzledStart;
  if (!chunksLast)
    swizzledStart = swizzle(ib, start);
  SmallVector<Value> values = loadChunk(ib, start, swizzledStart);
  if (in.signWords)
    applySigns(ib, start, values);
  butterflies(ib, values);
  if (chunksLast)
    return {vector::FromElementsOp::create(
        ib, loc, VectorType::get({chunk}, f32), values)};
  for (int64_t j = 0; j < chunk; j += 4) {
    Value group =
        vector::FromElementsOp::create(ib, loc, VectorType::get({4}, f32),
                                       ArrayRef<Value>(values).slice(j, 4));
    vector::StoreOp::create(ib, loc, group, in.exchange,
                            ValueRange{place(ib, swizzledStart, j)});
  }
  return {};
}

void HadamardRowBuilder::chunkStages(SmallVector<RowGroup> &rotated) {
  // Strides 1 .. C/2.
  const int64_t chunks = s.k / chunk;
  auto chunkType = VectorType::get({chunk}, f32);
  for (int64_t round = 0; round * threads < chunks; ++round) {
    auto [u, valid] = item(round, chunks);
    Value start = arith::MulIOp::create(b, loc, u, c(b, chunk));
    SmallVector<Value> results =
        guarded(valid, chunksLast ? TypeRange{chunkType} : TypeRange{},
                [&](OpBuilder &ib) { return rotateChunk(ib, start); });
    if (chunksLast)
      rotated.push_back({results.front(), start, 1, valid});
  }
}

SmallVector<Value> HadamardRowBuilder::rotateSet(OpBuilder &ib, Value setBase,
                                                 int64_t c0, int64_t setSize,
                                                 bool last) {
  SmallVector<Value> places, set;
  Value swizzledBase = swizzle(ib, setBase);
  for (int64_t m = 0; m < setSize; ++m) {
    places.push_back(place(ib, swizzledBase, m << c0));
    set.push_back(memref::LoadOp::create(ib, loc, in.exchange,
                                         ValueRange{places.back()}));
  }
  butterflies(ib, set);
  if (last)
    return {vector::FromElementsOp::create(
        ib, loc, VectorType::get({setSize}, f32), set)};
  for (int64_t m = 0; m < setSize; ++m)
    memref::StoreOp::create(ib, loc, set[m], in.exchange,
                            ValueRange{places[m]});
  return {};
}

void HadamardRowBuilder::sharedPhases(SmallVector<RowGroup> &rotated) {
  // Set σ holds the places (σ mod 2^c0) + m·2^c0 + ⌊σ / 2^c0⌋·2^(c0 +
  // bits) for its members m.
  for (auto [index, phase] : llvm::enumerate(plan.phases)) {
    const int64_t c0 = phase.first, setSize = int64_t(1) << phase.second;
    const int64_t sets = s.k / setSize;
    const bool last = index + 1 == plan.phases.size();
    auto setType = VectorType::get({setSize}, f32);
    for (int64_t round = 0; round * threads < sets; ++round) {
      auto [sigma, valid] = item(round, sets);
      Value low =
          arith::AndIOp::create(b, loc, sigma, c(b, (int64_t(1) << c0) - 1));
      Value high = arith::ShRUIOp::create(b, loc, sigma, c(b, c0));
      Value highPlaced =
          arith::ShLIOp::create(b, loc, high, c(b, c0 + phase.second));
      Value setBase = arith::AddIOp::create(b, loc, low, highPlaced);
      SmallVector<Value> results = guarded(
          valid, last ? TypeRange{setType} : TypeRange{}, [&](OpBuilder &ib) {
            return rotateSet(ib, setBase, c0, setSize, last);
          });
      if (last)
        rotated.push_back({results.front(), setBase, int64_t(1) << c0, valid});
    }
    if (!last)
      gpu::BarrierOp::create(b, loc);
  }
}

SmallVector<RowGroup> HadamardRowBuilder::build() {
  if (plan.stageRow)
    stageRow();
  SmallVector<RowGroup> rotated;
  chunkStages(rotated);
  if (chunksLast)
    return rotated;
  gpu::BarrierOp::create(b, loc);
  sharedPhases(rotated);
  return rotated;
}

SmallVector<RowGroup>
gpu_kernels::buildHadamardRow(OpBuilder &b, Location loc,
                              const QuantizeShape &s, const HadamardPlan &plan,
                              const HadamardRowInputs &in) {
  return HadamardRowBuilder(b, loc, s, plan, in).build();
}
