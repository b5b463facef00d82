//===- Passes.td - the CPU lowering passes -*- tablegen -*-===//

#ifndef QUANT_XFORM_CONVERSION_QUANTXFORMTOLINALG_PASSES_TD
#define QUANT_XFORM_CONVERSION_QUANTXFORMTOLINALG_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertQuantXformToLinalg
    : Pass<"convert-quant-xform-to-linalg", "ModuleOp"> {
  let summary = "Lower quant_xform ops to linalg/tensor/arith/math on tensors";
  let description = [{
    Every `quant_xform` op becomes `linalg.generic` ops (plus `tensor`
    reshapes and slices) with the exact arithmetic of the reference
    evaluator: quantizers divide in the input's precision, round half to
    even and clamp; dynamic scales are computed in f64 and rounded to f32;
    int8 GEMMs accumulate in i32 and apply the dequant + bias epilogue in
    f32. Inputs of any rank ≥ 2 are collapsed to `[M, K]` rows.

    Transforms: a Hadamard rotation becomes log2(K) butterfly stages
    (O(K log K), never a dense matmul; the first four as one matmul by
    H16; with `cache-blocked-rotations`, all stages of one block of rows
    before the next, in an `scf.forall`), a permutation a gather, a smooth an
    elementwise op, a dense rotation a matmul; an affine with a constant
    matrix a matmul by its (compile-time) inverse. `observe` disappears.
    `linalg.softmax` is decomposed into generics (no upstream pass lowers it
    to loops). Finally, unsigned integer tensors (asymmetric uint8) become
    signless ones with the same bits everywhere, function signatures
    included, by a dialect conversion with a TypeConverter: upstream
    bufferization and LLVM lowering handle only signless integers. The three
    steps are pattern sets of their own
    (`Conversion/QuantXformToLinalg/QuantXformToLinalg.h`:
    `populateQuantXformToLinalgPatterns`, `populateDecomposeSoftmaxPatterns`,
    `populateSignlessIntegerPatterns`).

    int8 GEMMs (`qlinear`): with `int8-kernel=loops` (the default) a
    `linalg.generic` contraction. With `vector`, `avx512-vnni` or `auto`,
    a `qlinear` with a constant int8 weight, symmetric s8 activations,
    per-row or per-tensor scales and f32 results becomes a packed,
    register-blocked kernel instead: the weight is packed at compile time
    into panels of 48 columns × 4 consecutive k (the VNNI layout) with a
    per-column compensation −128·Σ_k w; the activation is shifted to u8
    once; an `scf.forall` over (panel, 8-row block) tiles keeps 8 × 48 i32
    accumulators in vector registers over the whole K and applies the
    dequant + bias epilogue before one store. `avx512-vnni` issues
    `vpdpbusd` (`llvm.x86.avx512.vpdpbusd.512`, which the target must
    support), `vector` the same arithmetic in portable vector ops, `amx`
    the AMX-INT8 tile kernel (`tdpbssd` through the upstream `amx` dialect;
    2 × 2 16 × 16 accumulator tiles per 32-row × 32-column block; the VNNI
    kernel below 16 rows), and `auto` picks `amx` when the host has AMX-INT8
    and the OS grants this process the tile data (Linux arch_prctl; only
    with `allow-amx`), else `avx512-vnni` when the host CPU has it. Other
    `qlinear`s keep the generic form.

    An op that cannot be lowered (e.g. `per_group` activation scales, an
    affine whose matrix is not a constant) is an error naming it.
  }];
  let options = [
    Option<"int8Kernel", "int8-kernel", "::mlir::quant_xform::Int8KernelChoice",
           "::mlir::quant_xform::Int8KernelChoice::Loops",
           "int8 GEMM code: loops, vector, avx512-vnni, amx or auto (the "
           "host)", [{::llvm::cl::values(
             clEnumValN(::mlir::quant_xform::Int8KernelChoice::Loops, "loops",
                        "one linalg contraction (portable, slow)"),
             clEnumValN(::mlir::quant_xform::Int8KernelChoice::Vector,
                        "vector", "packed, register-blocked vector code"),
             clEnumValN(::mlir::quant_xform::Int8KernelChoice::Avx512Vnni,
                        "avx512-vnni", "packed, vpdpbusd (AVX-512 VNNI)"),
             clEnumValN(::mlir::quant_xform::Int8KernelChoice::Amx, "amx",
                        "packed, AMX tiles (AMX-INT8)"),
             clEnumValN(::mlir::quant_xform::Int8KernelChoice::Auto, "auto",
                        "the host's best"))}]>,
    Option<"allowAmx", "allow-amx", "bool", "true",
           "Let `auto` pick AMX (false for code that other processes run: "
           "they must have asked the OS for AMX first)">,
    Option<"cacheBlockedRotations", "cache-blocked-rotations", "bool",
           "false",
           "Run all stages of a Hadamard rotation on one block of rows "
           "(≤ 32 KB) at a time, in an `scf.forall` over the blocks (the "
           "CPU pipeline's choice; the GPU pipeline does not map "
           "`scf.forall`)">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::amx::AMXDialect",
                           "::mlir::bufferization::BufferizationDialect",
                           "::mlir::LLVM::LLVMDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::quant_xform::cpu_isa::QuantXformCPUDialect",
                           "::mlir::vector::VectorDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::tensor::TensorDialect"];
}

def VectorizeForCPU : Pass<"quant-xform-vectorize-for-cpu", "func::FuncOp"> {
  let summary = "Vector code for the float linalg ops of a model (CPU)";
  let description = [{
    Runs after `convert-quant-xform-to-linalg`, on tensors. A static f32
    `linalg.matmul` / `linalg.batch_matmul` (M a multiple of min(8, M), N
    a multiple of 16) becomes an `scf.forall` over (batch, 8-row block,
    32- or 16-column block) tiles that keep the block's f32 accumulators in
    vector registers over the whole K: per step one B row load per 16
    columns, one broadcast A element per row, fused multiply-adds. With
    fewer than 8 rows against an [N, K] operand (a float `linear`), a dot
    kernel instead: an `scf.forall` over blocks of 4 (or 2) rows of B, M ×
    4 vector accumulators of A row × B row products over K in steps of
    16, reduced across lanes at the end (K % 16 == 0), with no transpose
    of B.
    Chains of elementwise generics are fused first. Every other static
    linalg op except transposes and fills is tiled down to its innermost
    dimension (reductions whole) with `scf::tileUsingSCF` and
    vectorized with `linalg::vectorize` (at most 2048 elements per
    vector); an op of at least 32768 elements outside any `scf.forall` is
    first split into chunks (≥ 8192 elements, a divisor of its outermost
    parallel dimension) in an `scf.forall`, which the CPU pipeline runs on
    its OpenMP threads. Math functions then get upstream's polynomial
    approximations (erf, exp, tanh, ...), which vectorize. What it cannot handle is left
    to the loop lowering. The CPU pipeline runs it by default
    (`vectorize=true`).
  }];
  let dependentDialects = ["::mlir::scf::SCFDialect",
                           "::mlir::vector::VectorDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect"];
}

#endif // QUANT_XFORM_CONVERSION_QUANTXFORMTOLINALG_PASSES_TD
