//===- QuantXformBase.td - quant_xform dialect, enums, attrs -*- tablegen -*-===//
//
// The quant_xform dialect: equivalence transforms on linear layers and the
// int8 (W8A8) ops they feed. See docs/ for the generated reference.
//
//===----------------------------------------------------------------------===//

#ifndef QUANT_XFORM_BASE_TD
#define QUANT_XFORM_BASE_TD

include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"
include "mlir/IR/OpBase.td"

def QuantXform_Dialect : Dialect {
  let name = "quant_xform";
  let cppNamespace = "::mlir::quant_xform";
  let summary = "Equivalence transforms and int8 quantization for transformers";
  let description = [{
    `quant_xform` models a transformer's linear layers together with the
    equivalence transforms that make them quantize well: rotations (dense
    orthogonal, Hadamard, permutation), invertible affine transforms,
    smoothing scales and LLM.int8()-style outlier splitting, plus the int8
    ops (`quantize`, `qlinear`, ...) that a W8A8 model is lowered to.

    All ops work on ranked tensors with value semantics. The feature (channel)
    dimension is always the innermost one: an activation `x` is
    `tensor<...xK>` and a linear weight is `tensor<NxK>` (`y = x·Wᵀ + b`).

    Every transform states its exact maths; a verifier rejects a constant
    operand that does not have the property the op claims (an orthogonal
    rotation, an invertible affine, positive smoothing scales).
  }];
  let useDefaultAttributePrinterParser = 1;
  let hasOperationAttrVerify = 1;
  // Canonicalization patterns create arith.constant matrices.
  let dependentDialects = ["::mlir::arith::ArithDialect"];
  let extraClassDeclaration = [{
    void registerAttributes();
  }];
}

//===----------------------------------------------------------------------===//
// Enums
//===----------------------------------------------------------------------===//

def QuantXform_RotationKind : I32EnumAttr<"RotationKind",
    "how the orthogonal matrix of a rotate op is given", [
      I32EnumAttrCase<"Dense", 0, "dense">,
      I32EnumAttrCase<"Hadamard", 1, "hadamard">,
      I32EnumAttrCase<"Permutation", 2, "permutation">
    ]> {
  let cppNamespace = "::mlir::quant_xform";
}

def QuantXform_Granularity : I32EnumAttr<"Granularity",
    "which elements share one quantization scale", [
      I32EnumAttrCase<"PerTensor", 0, "per_tensor">,
      I32EnumAttrCase<"PerToken", 1, "per_token">,
      I32EnumAttrCase<"PerChannel", 2, "per_channel">,
      I32EnumAttrCase<"PerGroup", 3, "per_group">
    ]> {
  let cppNamespace = "::mlir::quant_xform";
  let genSpecializedAttr = 0;
}

//===----------------------------------------------------------------------===//
// Attributes
//===----------------------------------------------------------------------===//

class QuantXform_Attr<string name, string attrMnemonic, list<Trait> traits = []>
    : AttrDef<QuantXform_Dialect, name, traits> {
  let mnemonic = attrMnemonic;
}

def QuantXform_QuantSchemeAttr : QuantXform_Attr<"QuantScheme", "scheme"> {
  let summary = "How a tensor is quantized: granularity, bit width, symmetry, clip";
  let description = [{
    A quantization scheme for the last dimension `K` of a tensor `x: [..., K]`.

    Granularity (which elements share a scale; the scale tensor's shape):
    - `per_tensor`: one scale, `tensor<f32>` (rank 0);
    - `per_token`: one scale per row of an activation, shape `[...]` (the
      shape of `x` without its last dimension);
    - `per_channel`: one scale per output channel of a weight `W: [N, K]`,
      shape `[N]` (structurally the same as `per_token`);
    - `per_group G`: one scale per `G` consecutive elements of the last
      dimension, shape `[..., K/G]`; `G` must divide `K`.

    Symmetric schemes (the default) map `x` to `q = clamp(round(x / s), -qmax,
    qmax)` with `qmax = 2^(bits-1) - 1` (so `[-127, 127]` for 8 bits) and are
    stored in a signless integer of at least `bits` bits. Asymmetric schemes
    use a zero point: `q = clamp(round(x / s) + zp, 0, 2^bits - 1)`, stored
    unsigned. `round` is round-half-to-even. Dynamic scales are
    `s = clip · absmax / qmax` (symmetric) or `(max - min) / (2^bits - 1)`
    (asymmetric, range widened to include 0).

    Syntax: `#quant_xform.scheme<per_group 128, bits = 4, asymmetric, clip = 0.9>`;
    parameters at their default (`bits = 8`, `symmetric`, `clip = 1.0`) are
    omitted.
  }];
  let parameters = (ins
    "::mlir::quant_xform::Granularity":$granularity,
    DefaultValuedParameter<"int64_t", "0">:$groupSize,
    DefaultValuedParameter<"unsigned", "8">:$bits,
    DefaultValuedParameter<"bool", "true">:$symmetric,
    DefaultValuedParameter<"::llvm::APFloat", "::llvm::APFloat(1.0)">:$clip
  );
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// Largest representable quantized value (127 for symmetric 8 bits,
    /// 255 for asymmetric 8 bits).
    int64_t getQMax() const;
    /// Smallest representable quantized value (-127 or 0).
    int64_t getQMin() const;
    /// The clip ratio as a double.
    double getClipRatio() const { return getClip().convertToDouble(); }
  }];
}

#endif // QUANT_XFORM_BASE_TD
