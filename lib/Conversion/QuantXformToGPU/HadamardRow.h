//===- HadamardRow.h - A row's online Hadamard rotation ---------*- C++ -*-===//
//
// The online Hadamard rotation the quantize kernel runs in front of its
// absmax (QuantizeKernel.cpp): which elements each thread holds, and the
// builder of the rotated row in registers.
//
//===----------------------------------------------------------------------===//

#ifndef QUANT_XFORM_LIB_CONVERSION_QUANTXFORMTOGPU_HADAMARDROW_H
#define QUANT_XFORM_LIB_CONVERSION_QUANTXFORMTOGPU_HADAMARDROW_H

#include "GemmKernels.h"

#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/SmallVector.h"

#include <utility>

namespace mlir::quant_xform::gpu_kernels {

/// How a row of K = n·B elements (B = 2^L, QuantizeShape::hadamardBlock)
/// is rotated: each thread loads chunks of C = 2^c consecutive elements
/// and runs the butterflies of strides 1 .. C/2 on them in registers; each
/// later phase covers the strides 2^c0 .. 2^(c0 + bits − 1), each thread
/// taking sets of the 2^bits elements of the row (in shared memory) that
/// differ only in those bits. At most 64 values per thread in any phase.
struct HadamardPlan {
  /// Threads per row: a multiple of 32, at most 256.
  int64_t threads = 0;
  /// c: log2 of a thread's chunk of consecutive elements.
  int64_t chunkBits = 0;
  /// (c0, bits) of each phase after the chunks, in stride order.
  llvm::SmallVector<std::pair<int64_t, int64_t>> phases;
  /// Floats of the shared-memory exchange buffer (0 without phases).
  int64_t sharedFloats = 0;
  /// Whether the row is first copied into the buffer (cp.async, f32 rows
  /// with phases) and the chunks read from there, instead of each thread
  /// loading its chunks from global memory (a warp's load of one 16-byte
  /// piece of 32 chunks touches 16 to 32 cache lines).
  bool stageRow = false;

  /// Whether the buffer and the kernel's warp maxima take dynamic shared
  /// memory: past the 48 KB a block can have statically (K > 12256). The
  /// kernel then has no static shared memory: gpu.dynamic_shared_memory
  /// lowers to a static symbol at the start of the block's shared memory,
  /// which other static buffers would overlap.
  bool dynamicShared() const {
    return (sharedFloats + threads / 32) * 4 > 48 * 1024;
  }
  /// Bytes of dynamic shared memory: the buffer, then the warp maxima;
  /// 0 when static.
  int64_t sharedBytes() const {
    return dynamicShared() ? (sharedFloats + threads / 32) * 4 : 0;
  }
};

/// The plan for `s` (hadamardBlock ≥ 4, K ≤ kMaxResidentK): c = L for
/// L ≤ 6 (no phase), else c = min(6, ⌈L/2⌉) and the remaining bits in
/// phases of at most c bits each, as even as possible.
HadamardPlan hadamardPlan(const QuantizeShape &s);

/// The exchange buffer's place of element p: the 16-byte units of each 128
/// bytes permuted by bits 6–8 of p, p ^ (((p >> 6) & 7) << 2), so that the
/// chunk stores (lanes 2^c floats apart) and the set loads (lanes a float
/// apart in runs of at least 16) hit 32 banks per wavefront.
int64_t hadamardSwizzle(int64_t p);

/// The place of base + offset as (hadamardSwizzle(base) ^ xorMask) + add,
/// for a base with no bits where the constant offset has some (and none in
/// the offset's bits at or above 5 after the swizzle).
struct PlaceTerms {
  int64_t xorMask, add;
};
PlaceTerms hadamardPlaceTerms(int64_t offset);

/// The sign bits of the column factors: bit k % 32 of word k / 32 set when
/// factor k is negative; empty when none is.
std::vector<int32_t> hadamardSignWords(const QuantizeShape &s);

/// Values of a thread's rotated row: `values` (vector<n × f32>) at the
/// columns column + i·stride, in the row when `valid` is true (null:
/// always).
struct RowGroup {
  Value values;
  Value column;
  int64_t stride;
  Value valid;
};

/// The kernel values the rotation reads: the thread id, the f32 input `x`
/// and this block's `row` (for a staged row), `load4(builder, column)`
/// giving x[row, column .. column + 3] as vector<4 × f32>, the
/// hadamardSignWords() global `signWords` (null when there are no signs)
/// and the plan's `exchange` buffer (null without phases).
struct HadamardRowInputs {
  Value tid, x, row;
  llvm::function_ref<Value(OpBuilder &, Value)> load4;
  Value signWords, exchange;
};

/// Builds the rotation of this block's row at `b`, in the order the CPU
/// lowering computes it (each element times its factor sign_k/√B, then
/// the butterflies (a + b, a − b) of strides 1, 2, ..., B/2) and returns
/// the thread's values after the last stride (HadamardRow.cpp's
/// HadamardRowBuilder).
llvm::SmallVector<RowGroup> buildHadamardRow(OpBuilder &b, Location loc,
                                             const QuantizeShape &s,
                                             const HadamardPlan &plan,
                                             const HadamardRowInputs &in);

} // namespace mlir::quant_xform::gpu_kernels

#endif
