//===- QuantXformToLinalg.h - the CPU lowering's pattern sets ---*- C++ -*-===//
//
// The pieces of `convert-quant-xform-to-linalg`, exported so that other
// conversions and tools can reuse them (as upstream's `populate*Patterns`):
// quant_xform ops to linalg on tensors, `linalg.softmax` decomposed into
// generics, and unsigned integer tensors made signless.
//
//===----------------------------------------------------------------------===//

#ifndef QUANT_XFORM_CONVERSION_QUANTXFORMTOLINALG_QUANTXFORMTOLINALG_H
#define QUANT_XFORM_CONVERSION_QUANTXFORMTOLINALG_QUANTXFORMTOLINALG_H

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/DialectConversion.h"

namespace mlir::quant_xform {

/// How the CPU lowering computes int8 GEMMs.
enum class Int8Kernel {
  Loops,      ///< one `linalg.generic` contraction (portable, slow)
  Vector,     ///< packed, register-blocked, plain vector ops (any target)
  Avx512Vnni, ///< packed, register-blocked, `vpdpbusd` (AVX-512 VNNI)
  Amx,        ///< packed, AMX tiles, `tdpbssd` (AMX-INT8; VNNI below M = 16)
};

/// The `int8-kernel` option: one of the kernels, or `auto` (the host's
/// best: AMX where usable and allowed, else VNNI where the CPU has it,
/// else vector).
enum class Int8KernelChoice { Loops, Vector, Avx512Vnni, Amx, Auto };

/// The choice spelled `name` (loops, vector, avx512-vnni, amx, auto), or
/// none.
std::optional<Int8KernelChoice> parseInt8KernelChoice(StringRef name);

/// The kernel of `choice` on this host (`allowAmx`: whether `auto` may pick
/// AMX); fails for `amx` where the CPU or the OS does not allow AMX.
FailureOr<Int8Kernel> resolveInt8Kernel(Int8KernelChoice choice,
                                        bool allowAmx = true);

/// The conversion patterns of every quant_xform op to linalg on tensors,
/// int8 GEMMs as `kernel`; `cacheBlockedRotations` blocks the Hadamard
/// butterflies by row. Half-float ops must have been widened first
/// (`convert-quant-xform-to-linalg` does it).
void populateQuantXformToLinalgPatterns(RewritePatternSet &patterns,
                                        Int8Kernel kernel,
                                        bool cacheBlockedRotations);

/// Rewrites `linalg.softmax` (an aggregated op no upstream pass lowers to
/// loops) into the generics of its decomposition.
void populateDecomposeSoftmaxPatterns(RewritePatternSet &patterns);

/// Unsigned (and signed) integer element types become signless ones of the
/// same width, the bits unchanged: upstream bufferization and the LLVM
/// conversions handle only signless integers. Every other type is legal.
void populateSignlessIntegerTypeConversions(TypeConverter &converter);

/// The patterns that retype functions, calls, returns, constants and any
/// other op (regions included) with `converter`, and drop the
/// `tensor.bitcast`s that become no-ops.
void populateSignlessIntegerPatterns(const TypeConverter &converter,
                                     RewritePatternSet &patterns);

/// Legal: ops whose operand, result and block argument types `converter`
/// leaves unchanged (function signatures included), no no-op bitcasts.
void configureSignlessIntegerTarget(ConversionTarget &target,
                                    const TypeConverter &converter);

} // namespace mlir::quant_xform

#endif
