//===- Passes.td - quant_xform conversion passes -----------*- tablegen -*-===//

#ifndef QUANT_XFORM_CONVERSION_PASSES_TD
#define QUANT_XFORM_CONVERSION_PASSES_TD

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
    (O(K log K), never a dense matmul), a permutation a gather, a smooth an
    elementwise op, a dense rotation a matmul; an affine with a constant
    matrix a matmul by its (compile-time) inverse. `observe` disappears.
    `linalg.softmax` is decomposed into generics (no upstream pass lowers it
    to loops). Finally, unsigned integer tensors (asymmetric uint8) become
    signless ones with the same bits everywhere, function signatures
    included: upstream bufferization and LLVM lowering handle only signless
    integers.

    An op that cannot be lowered (e.g. `per_group` activation scales, an
    affine whose matrix is not a constant) is an error naming it.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::tensor::TensorDialect"];
}

#endif
