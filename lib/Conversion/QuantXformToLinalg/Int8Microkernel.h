//===- Int8Microkernel.h - packed, register-blocked int8 GEMM --*- C++ -*-===//
//
// The CPU lowering of a W8A8 linear whose int8 weight is a compile-time
// constant: the weight is packed at compile time into panels of 16·V
// columns × 4 consecutive k (the VNNI layout) with a per-column
// compensation −128·Σ_k w[n, k]; the activation is shifted to u8 (s8 + 128)
// once; an `scf.forall` over (column panel, row block) tiles accumulates an
// R × 16·V block in vector registers over the whole K and applies the
// dequant + bias epilogue before storing. On AVX-512 VNNI each step is one
// `vpdpbusd` (u8 × s8, four products per i32 lane); the portable variant
// spells the same arithmetic in vector ops.
//
//===----------------------------------------------------------------------===//

#ifndef QUANT_XFORM_LIB_CONVERSION_INT8MICROKERNEL_H
#define QUANT_XFORM_LIB_CONVERSION_INT8MICROKERNEL_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "quant-xform/Conversion/QuantXformToLinalg/QuantXformToLinalg.h"

#include <cstdint>
#include <vector>

namespace mlir::quant_xform::lowering {

using quant_xform::Int8Kernel;

/// True when this CPU has AMX-INT8 and the OS lets this process use the
/// tile data (asked for once, through Linux arch_prctl, on the first call).
bool amxUsable();

/// Register blocking: `rows` × 16·`vectors` i32 accumulators.
struct MicrokernelShape {
  int64_t rows = 8;
  int64_t vectors = 3;
};

/// The operands of a packed int8 linear: `qx`: [M, K] signless i8 (signed
/// values), `weight`: a constant [N, K] int8 tensor, `sx`: [M] or [] f32
/// (or [M, G] per group), `sw`: [N] or [] f32 (or [N, G]), `bias`: [N] f32
/// or null; `groups` > 1 for per-group scales (K/G a multiple of 4).
struct PackedInt8Operands {
  Value qx;
  int64_t m = 0, k = 0;
  DenseElementsAttr weight;
  Value sx, sw, bias;
  int64_t groups = 1;
};

/// y[m, n] = sx[m]·(sw[n]·Σ_k qx[m, k]·w[n, k]) + bias[n] in f32, or with
/// per-group scales bias[n] + Σ_g (sx[m, g]·sw[n, g])·Σ_{k∈g} qx·w. The
/// arithmetic is the evaluator's (exact i32 dots, then f32 products in its
/// order; per-group sums in f32 where it sums in double). `kernel` must not
/// be `Loops`.
Value buildPackedInt8Linear(OpBuilder &b, Location loc,
                            const PackedInt8Operands &ops, Int8Kernel kernel,
                            MicrokernelShape shape = {});

/// A constant int8 weight's values in row-major order (shared by the VNNI
/// and AMX kernels' compile-time packing).
std::vector<int8_t> int8WeightValues(DenseElementsAttr weight);

/// The value of a rank-0 tensor `t`, or its element `i` when it is rank 1
/// (per-tensor or per-row/per-channel scales in the kernels' epilogues).
Value scalarAt(OpBuilder &b, Location loc, Value t, Value i);

/// The same linear on AMX tiles (see Int8AmxKernel.cpp); `m` ≥ 16.
Value buildAmxInt8Linear(OpBuilder &b, Location loc, Value qx, int64_t m,
                         int64_t k, DenseElementsAttr weight, Value sx,
                         Value sw, Value bias);

/// 16 f32 columns from `col` of a scale or bias: a rank-0 tensor
/// (broadcast), [N], or [G, N] at row `g`; lanes past N read 0 unless
/// `inBounds`.
Value scaleColumns(OpBuilder &b, Location loc, Value t, Value col, Value g,
                   bool inBounds);

/// The sums' starting values for `vectors` × 16 columns from `n0`: the
/// bias's columns (see scaleColumns), or zeros without a bias.
SmallVector<Value> biasColumns(OpBuilder &b, Location loc, Value bias, Value n0,
                               int64_t vectors, bool inBounds);

/// The AMX kernels' compile-time weight: w[N, K] as a constant
/// [panel][kPadded / 4][32 columns][k % 4] i8 tensor (zeros past N and K),
/// so that a B tile of 16 columns is a load with the panel's 128-byte row
/// stride.
Value packAmxWeight(OpBuilder &b, Location loc, DenseElementsAttr weight,
                    int64_t kPadded);

/// `qx` [M, K] i8 zero-padded to [mPadded, kPadded] (a multiple of 32): an
/// `scf.forall` over blocks of `blockRows` rows, each row copied by 64- (or
/// 32-) byte vector reads whose masks supply the zeros past M and K.
Value buildPaddedInt8Rows(OpBuilder &b, Location loc, Value qx, int64_t mPadded,
                          int64_t kPadded, int64_t blockRows);

/// accs[a·|bs| + t] += as[a] · bs[t] for every A tile and B tile: one
/// signed × signed `tdpbssd` (`amx.tile_muli`) each.
void accumulateTileProducts(OpBuilder &b, Location loc, ArrayRef<Value> as,
                            ArrayRef<Value> bs, MutableArrayRef<Value> accs);

/// A fresh [shape] buffer that the kernel's vector code and tile stores
/// use as scratch: `bufferization.alloc_tensor` (never merged with another
/// value by CSE, as a `tensor.empty` of the same type would be, which then
/// aliased the kernel's output) seen as a memref.
Value scratchBuffer(OpBuilder &b, Location loc, ArrayRef<int64_t> shape,
                    Type elem);

/// The rows of an f32 `block` buffer [rows, W] written into the tensor
/// `tile` from row `row0`, one masked 1 × W transfer a row (rows past the
/// tile's and columns past its width are dropped, without a branch). Row
/// writes from memory: values written straight from the epilogue's
/// arithmetic, 16 lanes at a time, doubled the chain of tensor writes that
/// bufferization analyses (the largest part of a compile), and one 2-D
/// transfer went through a stack copy that slowed the kernel by half.
Value storeRowsInto(OpBuilder &b, Location loc, Value block, Value tile,
                    Value row0, int64_t rows, bool fullRows, bool fullCols);

/// The linear with per-group input scales on AMX tiles (see
/// Int8AmxGroupedKernel.cpp): `ops.m` ≥ 16, K/G a multiple of 32.
/// `swByGroup` is the weight scale as [G, N] when it is per group (else
/// null: `ops.sw` is per channel or per tensor).
Value buildAmxGroupedInt8Linear(OpBuilder &b, Location loc,
                                const PackedInt8Operands &ops, Value swByGroup);

/// A per-group weight scale [N, G] as [G, N], so that one group's scales
/// are contiguous columns: a new constant when `sw` is one, else a
/// `linalg.transpose`.
Value groupMajorScales(OpBuilder &b, Location loc, Value sw);

} // namespace mlir::quant_xform::lowering

#endif
