//===- QuantXformOps.td - quant_xform op definitions -------*- tablegen -*-===//
//
// The ops of the quant_xform dialect. The maths every op implements is the
// contract in DESIGN.md §1; each op's description states it exactly.
//
//===----------------------------------------------------------------------===//

#ifndef QUANT_XFORM_OPS_TD
#define QUANT_XFORM_OPS_TD

include "quant-xform/Dialect/QuantXform/IR/QuantXformBase.td"
include "quant-xform/Dialect/QuantXform/IR/QuantXformInterfaces.td"
include "mlir/IR/CommonAttrConstraints.td"
include "mlir/IR/CommonTypeConstraints.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

class QuantXform_Op<string mnemonic, list<Trait> traits = []>
    : Op<QuantXform_Dialect, mnemonic, traits>;

def QX_FloatTensor : RankedTensorOf<[AnyFloat]>;
def QX_IntTensor : RankedTensorOf<[AnyInteger]>;

//===----------------------------------------------------------------------===//
// Float linear layer and norms
//===----------------------------------------------------------------------===//

def QuantXform_LinearOp : QuantXform_Op<"linear", [Pure]> {
  let summary = "Float linear layer y = x·Wᵀ + b";
  let description = [{
    `y[..., n] = Σ_k x[..., k]·W[n, k] + b[n]` for `x: [..., K]`, `W: [N, K]`,
    optional `b: [N]`, `y: [..., N]`.

    ```mlir
    %y = quant_xform.linear %x, %w, %b
        : (tensor<4x8xf32>, tensor<16x8xf32>, tensor<16xf32>) -> tensor<4x16xf32>
    ```
  }];
  let arguments = (ins QX_FloatTensor:$input, QX_FloatTensor:$weight,
                       Optional<QX_FloatTensor>:$bias);
  let results = (outs QX_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $weight (`,` $bias^)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def QuantXform_LayerNormOp : QuantXform_Op<"layer_norm", [Pure]> {
  let summary = "LayerNorm over the last dimension: γ⊙(x−μ)/σ + β";
  let description = [{
    `y = γ ⊙ (x − μ) / sqrt(var + ε) + β`, with `μ` and `var` (biased) taken
    over the last dimension. `γ: [K]`; `β: [K]` is optional (zero).

    ```mlir
    %y = quant_xform.layer_norm %x, %gamma, %beta {epsilon = 1.0e-05 : f64}
        : (tensor<4x8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
    ```
  }];
  let arguments = (ins QX_FloatTensor:$input, QX_FloatTensor:$gamma,
                       Optional<QX_FloatTensor>:$beta,
                       DefaultValuedAttr<F64Attr, "1.0e-5">:$epsilon);
  let results = (outs QX_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $gamma (`,` $beta^)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def QuantXform_RMSNormOp : QuantXform_Op<"rms_norm", [Pure]> {
  let summary = "RMSNorm over the last dimension: γ⊙x/rms(x) + β";
  let description = [{
    `y = γ ⊙ x / sqrt(mean(x²) + ε) + β` over the last dimension. `γ: [K]`;
    `β: [K]` is optional (zero); it appears when a shift is folded into the
    norm.

    ```mlir
    %y = quant_xform.rms_norm %x, %gamma
        : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
    ```
  }];
  let arguments = (ins QX_FloatTensor:$input, QX_FloatTensor:$gamma,
                       Optional<QX_FloatTensor>:$beta,
                       DefaultValuedAttr<F64Attr, "1.0e-6">:$epsilon);
  let results = (outs QX_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $gamma (`,` $beta^)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def QuantXform_BatchNormOp : QuantXform_Op<"batch_norm", [Pure]> {
  let summary = "Inference-mode batch norm over the last dimension";
  let description = [{
    `y = γ ⊙ (x − mean) / sqrt(var + ε) + β` per feature of the last
    dimension, with the running statistics `mean`, `var` (`var ≥ 0`) and the
    learned `γ`, `β`, all `[K]`. Unlike LayerNorm it does not look at the
    row: it is a fixed per-channel affine map, which
    `quant-xform-fold-batch-norms` folds into the neighbouring linear.

    ```mlir
    %y = quant_xform.batch_norm %x, %mean, %var, %gamma, %beta
        {epsilon = 1.0e-05 : f64}
        : (tensor<4x8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>,
           tensor<8xf32>) -> tensor<4x8xf32>
    ```
  }];
  let arguments = (ins QX_FloatTensor:$input, QX_FloatTensor:$mean,
                       QX_FloatTensor:$variance, QX_FloatTensor:$gamma,
                       QX_FloatTensor:$beta,
                       DefaultValuedAttr<F64Attr, "1.0e-5">:$epsilon);
  let results = (outs QX_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $mean `,` $variance `,` $gamma `,` $beta attr-dict `:`
    functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Equivalence transforms
//===----------------------------------------------------------------------===//

def QuantXform_RotateOp : QuantXform_Op<"rotate", [Pure,
    DeclareOpInterfaceMethods<QuantXform_TransformOpInterface,
                              ["isInverse", "isIdentity", "getAppliedMatrix", "getAppliedOffset"]>]> {
  let summary = "Rotation of the feature dimension by an orthogonal matrix";
  let description = [{
    `y = x·Q` (or `y = x·Qᵀ = x·Q⁻¹` with `inverse`), for an orthogonal
    `Q: [K, K]` given as

    - `dense`: a matrix operand (e.g. PCA eigenvectors). A `Q` that is not
      orthogonal makes the op undefined; where the operand is a constant,
      `quant-xform-check-transform-matrices` (which the pipelines run first)
      checks `max |Q·Qᵀ − I| ≤ tolerance` (exactly for `K ≤ 256`, otherwise
      through 8 seeded random probes `|Qᵀ(Q·v) − v|`);
    - `hadamard`: the normalized Sylvester Hadamard matrix
      `H[i, j] = (−1)^popcount(i & j) / sqrt(K)` when `K` is a power of
      two; for any other even `K`, block-diagonal with blocks of
      `B = K & −K` (the largest power of two dividing K, e.g. 128 for
      K = 384): `H[i, j] = (−1)^popcount(i & j & (B−1)) / sqrt(B)` when
      `i / B = j / B`, else 0. Optionally randomized by `signs` (±1 per
      row): `Q = diag(signs)·H`;
    - `permutation`: `perm`, a permutation of `0..K-1`, reorders channels:
      `y[..., j] = x[..., perm[j]]`.

    The weight-side twin of a rotation is the rotation itself: `W' = W·Q`.
    Seeds of randomized Hadamards are expanded into explicit `signs` by the
    passes that insert them, so the IR says exactly what it computes.

    ```mlir
    %a = quant_xform.rotate dense %x by %q : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
    %b = quant_xform.rotate hadamard %x signs [1, -1, 1, 1] : (tensor<2x4xf32>) -> tensor<2x4xf32>
    %c = quant_xform.rotate permutation %x perm [2, 0, 1] inverse : (tensor<2x3xf32>) -> tensor<2x3xf32>
    ```
  }];
  let arguments = (ins QuantXform_RotationKind:$kind, QX_FloatTensor:$input,
                       Optional<QX_FloatTensor>:$matrix,
                       OptionalAttr<DenseI64ArrayAttr>:$perm,
                       OptionalAttr<DenseI8ArrayAttr>:$signs,
                       UnitAttr:$inverse,
                       DefaultValuedAttr<F64Attr, "1.0e-4">:$tolerance);
  let results = (outs QX_FloatTensor:$result);
  let assemblyFormat = [{
    $kind $input (`by` $matrix^)? (`perm` $perm^)? (`signs` $signs^)?
    (`inverse` $inverse^)? attr-dict `:` functional-type(operands, results)
  }];
  let extraClassDeclaration = [{
    /// Checks that a constant dense matrix is orthogonal within `tolerance`
    /// (an error on the op naming the error otherwise); O(K³), so not part
    /// of the verifier.
    ::mlir::LogicalResult verifyConstantMatrix();
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
  let hasCanonicalizer = 1;
}

def QuantXform_AffineOp : QuantXform_Op<"affine", [Pure,
    DeclareOpInterfaceMethods<QuantXform_TransformOpInterface,
                              ["isInverse", "isIdentity", "getAppliedMatrix", "getAppliedOffset"]>]> {
  let summary = "Invertible affine transform of the feature dimension (AffineQuant)";
  let description = [{
    `y = (x − δ)·A⁻¹` (or `y = x·A + δ` with `inverse`) for an invertible
    `A: [K, K]` and an optional shift `δ: [K]`. The weight-side twin is
    `W' = W·Aᵀ` (and `b' = b + δ·Wᵀ` for the shift), so a linear layer after
    the pair computes the same function.

    A singular `A` makes the op undefined. Where `A` is a constant,
    `quant-xform-check-transform-matrices` (which the pipelines run first)
    checks that it is invertible: it must be strictly diagonally dominant
    (`|a_ii| > Σ_{j≠i} |a_ij|` for every row, which implies invertibility by
    the Levy–Desplanques theorem) or, failing that, have an estimated
    1-norm condition number `≤ max_condition`.

    ```mlir
    %y = quant_xform.affine %x by %a shift %d
        : (tensor<4x8xf32>, tensor<8x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
    ```
  }];
  let arguments = (ins QX_FloatTensor:$input, QX_FloatTensor:$matrix,
                       Optional<QX_FloatTensor>:$shift, UnitAttr:$inverse,
                       DefaultValuedAttr<F64Attr, "1.0e6">:$max_condition);
  let results = (outs QX_FloatTensor:$result);
  let assemblyFormat = [{
    $input `by` $matrix (`shift` $shift^)? (`inverse` $inverse^)? attr-dict
    `:` functional-type(operands, results)
  }];
  let extraClassDeclaration = [{
    /// Checks that a constant matrix is invertible by the documented test
    /// (an error on the op naming the numbers otherwise); O(K³), so not
    /// part of the verifier.
    ::mlir::LogicalResult verifyConstantMatrix();
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
}

def QuantXform_SmoothOp : QuantXform_Op<"smooth", [Pure,
    DeclareOpInterfaceMethods<QuantXform_TransformOpInterface,
                              ["isInverse", "isIdentity", "isDiagonal", "getAppliedMatrix",
                               "getAppliedOffset"]>]> {
  let summary = "Per-channel smoothing: division by positive scales (SmoothQuant)";
  let description = [{
    `y = (x − δ) / s` (or `y = x ⊙ s + δ` with `inverse`) with positive
    per-channel scales `s: [K]` and an optional shift `δ: [K]`
    (SmoothQuant / AWQ / OmniQuant). The weight-side twin is
    `W' = W·diag(s)`. Constant scales must be finite and `> 0`.

    ```mlir
    %y = quant_xform.smooth %x by %s : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
    ```
  }];
  let arguments = (ins QX_FloatTensor:$input, QX_FloatTensor:$scales,
                       Optional<QX_FloatTensor>:$shift, UnitAttr:$inverse);
  let results = (outs QX_FloatTensor:$result);
  let assemblyFormat = [{
    $input `by` $scales (`shift` $shift^)? (`inverse` $inverse^)? attr-dict
    `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
  let hasCanonicalizer = 1;
}

//===----------------------------------------------------------------------===//
// Quantization
//===----------------------------------------------------------------------===//

def QuantXform_QuantizeOp : QuantXform_Op<"quantize", [Pure]> {
  let summary = "Float to integer with given (static) scales";
  let description = [{
    `q = clamp(round(x / s) [+ zp], qmin, qmax)` with the scheme's range and
    round-half-to-even; the scale (and zero point) tensors have the shape the
    scheme's granularity gives (see `#quant_xform.scheme`). The division is
    done in the precision of `x`'s element type, so integer results match
    what a backend computes.

    ```mlir
    %q = quant_xform.quantize %x, %s scheme<per_tensor>
        : (tensor<4x8xf32>, tensor<f32>) -> tensor<4x8xi8>
    ```
  }];
  let arguments = (ins QX_FloatTensor:$input, QX_FloatTensor:$scale,
                       Optional<QX_IntTensor>:$zero_point,
                       QuantXform_QuantSchemeAttr:$scheme);
  let results = (outs QX_IntTensor:$result);
  let assemblyFormat = [{
    $input `,` $scale (`zero_point` $zero_point^)? `scheme` `` $scheme attr-dict
    `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
}

def QuantXform_DynamicQuantizeOp : QuantXform_Op<"dynamic_quantize", [Pure]> {
  let summary = "Float to integer with scales computed at run time";
  let description = [{
    Computes the scales from the data (per tensor, per token or per group):
    symmetric `s = clip · max|x| / qmax` (a group of zeros gets `s = 1`), or
    asymmetric `s = (max(x, 0) − min(x, 0)) / (2^bits − 1)`,
    `zp = clamp(round(−min / s), 0, 2^bits − 1)`; then quantizes like
    `quantize`. Returns the integers, the scales and (asymmetric only) the
    zero points.

    ```mlir
    %q, %s = quant_xform.dynamic_quantize %x scheme<per_token>
        : (tensor<4x8xf32>) -> (tensor<4x8xi8>, tensor<4xf32>)
    ```
  }];
  let arguments = (ins QX_FloatTensor:$input, QuantXform_QuantSchemeAttr:$scheme);
  let results = (outs QX_IntTensor:$result, QX_FloatTensor:$scale,
                      Optional<QX_IntTensor>:$zero_point);
  let assemblyFormat = [{
    $input `scheme` `` $scheme attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def QuantXform_DequantizeOp : QuantXform_Op<"dequantize", [Pure]> {
  let summary = "Integer to float: x = (q − zp)·s";
  let description = [{
    `x = (q − zp) · s` with the scale layout of the scheme's granularity.

    ```mlir
    %x = quant_xform.dequantize %q, %s scheme<per_channel>
        : (tensor<16x8xi8>, tensor<16xf32>) -> tensor<16x8xf32>
    ```
  }];
  let arguments = (ins QX_IntTensor:$input, QX_FloatTensor:$scale,
                       Optional<QX_IntTensor>:$zero_point,
                       QuantXform_QuantSchemeAttr:$scheme);
  let results = (outs QX_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $scale (`zero_point` $zero_point^)? `scheme` `` $scheme attr-dict
    `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def QuantXform_FakeQuantOp : QuantXform_Op<"fake_quant", [Pure]> {
  let summary = "Quantize-dequantize for QAT export (straight-through estimator)";
  let description = [{
    `y = dequantize(quantize(x))` under `scheme`. With `clip = α` (PACT) the
    input is first clamped to `[−α, α]` and the scale is the static
    `α / qmax`; without it the scales are dynamic (absmax per the
    granularity). In training the gradient is the straight-through estimator
    (`∂y/∂x = 1` inside the clip range, 0 outside); evaluation uses the
    forward maths only.

    ```mlir
    %y = quant_xform.fake_quant %x scheme<per_tensor> clip 6.0
        : (tensor<4x8xf32>) -> tensor<4x8xf32>
    ```
  }];
  let arguments = (ins QX_FloatTensor:$input, QuantXform_QuantSchemeAttr:$scheme,
                       OptionalAttr<F64Attr>:$clip);
  let results = (outs QX_FloatTensor:$result);
  let assemblyFormat = [{
    $input `scheme` `` $scheme (`clip` $clip^)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def QuantXform_QLinearOp : QuantXform_Op<"qlinear", [Pure, AttrSizedOperandSegments]> {
  let summary = "int8×int8→int32 GEMM with the dequantization epilogue";
  let description = [{
    `y[m, n] = sx[m] · Σ_g sw[n, g] · Σ_{k∈g} (qx[m, k] − zx[m])·qw[n, k] + b[n]`,
    accumulated exactly in int32. Shapes select the granularity:
    `sx` is `tensor<f32>` (per tensor) or the shape of `qx` without its last
    dimension (per token); `sw` is `tensor<f32>`, `[N]` (per channel) or
    `[N, K/G]` (per group of `G`). The optional activation zero point `zx`
    (asymmetric activations) has the shape of `sx`.

    Per-group activation scales (`sx` of the shape of `qx` with `K/G` as
    last dimension, as `dynamic_quantize` with `per_group G` gives) scale
    each group's integer sum on its own:
    `y[m, n] = Σ_g (sx[m, g] · sw[n, g]) · Σ_{k∈g} (qx[m, k] − zx[m, g])·qw[n, k] + b[n]`
    (`sw[n, g]` read as `sw[n]` or `sw` for coarser weight scales). Both
    per-group scales must then have the same groups. This is the arithmetic
    of llama.cpp's Q8_0 dot products (groups of 32).

    The verifier rejects a `K` for which the int32 accumulator can overflow:
    `K · max|qx − zx| · max|qw| > 2^31 − 1` (for int8 operands `K ≤ 131071`,
    or `K ≤ 65793` with an unsigned zero-pointed activation).

    ```mlir
    %y = quant_xform.qlinear %qx scale %sx, %qw scale %sw, bias %b
        : (tensor<4x8xi8>, tensor<4xf32>, tensor<16x8xi8>, tensor<16xf32>, tensor<16xf32>)
          -> tensor<4x16xf32>
    ```
  }];
  let arguments = (ins QX_IntTensor:$input, QX_FloatTensor:$input_scale,
                       Optional<QX_IntTensor>:$input_zero_point,
                       QX_IntTensor:$weight, QX_FloatTensor:$weight_scale,
                       Optional<QX_FloatTensor>:$bias);
  let results = (outs QX_FloatTensor:$result);
  let assemblyFormat = [{
    $input `scale` $input_scale (`zero_point` $input_zero_point^)? `,`
    $weight `scale` $weight_scale (`,` `bias` $bias^)? attr-dict
    `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def QuantXform_MixedLinearOp : QuantXform_Op<"mixed_linear", [Pure]> {
  let summary = "LLM.int8() linear: outlier columns in float, the rest int8";
  let description = [{
    The LLM.int8() decomposition of `y = x·Wᵀ + b`. Let `O` be the outlier
    column set: the static `columns`, or, with `threshold`, the columns `k`
    with `max_m |x[m, k]| ≥ threshold` (decided at run time). Then

    `y = dequant(Q_token(x[:, ¬O]) · qw[:, ¬O]ᵀ) + x[:, O]·Wo[:, O]ᵀ + b`,

    where `Q_token` is symmetric per-token int8 quantization (absmax over the
    non-outlier columns), `qw: [N, K]` is the int8 weight with per-channel
    scales `sw: [N]` (its outlier columns are ignored) and `Wo` holds the
    float weights of the outlier columns: `[N, |O|]` for static columns,
    all `[N, K]` columns with a dynamic threshold.

    ```mlir
    %y = quant_xform.mixed_linear %x, %qw scale %sw, outliers %wo columns [1, 5]
        : (tensor<4x8xf32>, tensor<16x8xi8>, tensor<16xf32>, tensor<16x2xf32>) -> tensor<4x16xf32>
    ```
  }];
  let arguments = (ins QX_FloatTensor:$input, QX_IntTensor:$weight,
                       QX_FloatTensor:$weight_scale, QX_FloatTensor:$outlier_weight,
                       Optional<QX_FloatTensor>:$bias,
                       OptionalAttr<DenseI64ArrayAttr>:$columns,
                       OptionalAttr<F64Attr>:$threshold);
  let results = (outs QX_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $weight `scale` $weight_scale `,` `outliers` $outlier_weight
    (`columns` $columns^)? (`threshold` $threshold^)? (`,` `bias` $bias^)?
    attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Calibration
//===----------------------------------------------------------------------===//

def QuantXform_ObserveOp : QuantXform_Op<"observe",
    [AllTypesMatch<["input", "result"]>]> {
  let summary = "Calibration observer: records statistics, returns its input";
  let description = [{
    Returns `x` unchanged. When the model is run in float for calibration
    (the reference evaluator's calibration mode), records per-channel
    statistics of `x` under `name`: min, max, absmax per channel (over all
    leading dimensions) and the number of samples. The op has side effects,
    so canonicalization does not remove it.

    ```mlir
    %y = quant_xform.observe %x "block0.attn_in" : tensor<4x8xf32>
    ```
  }];
  let arguments = (ins QX_FloatTensor:$input, StrAttr:$name);
  let results = (outs QX_FloatTensor:$result);
  let assemblyFormat = "$input $name attr-dict `:` type($input)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Attention
//===----------------------------------------------------------------------===//

def QuantXform_AttentionOp : QuantXform_Op<"attention", [Pure,
    AllTypesMatch<["query", "result"]>, AllTypesMatch<["key", "value"]>]> {
  let summary = "Scaled dot-product attention of [B, S, heads, D] tensors";
  let description = [{
    For a query `q: [B, S, H, D]`, keys and values `k, v: [B, T, G, D]`
    (grouped-query attention: query head `h` reads key/value head
    `h / (H / G)`; `G` divides `H`) and an optional additive mask
    `m: [B, T]` per key of each sequence:

    `s[b, h, i, t] = scale · Σ_d q[b, i, h, d]·k[b, t, g, d] + m[b, t]`,
    with `causal`, `s = −∞` (weight 0) for keys `t > i + T − S` (the last
    query sees every key: a cache of `T − S` earlier tokens);
    `y[b, i, h, :] = Σ_t softmax_t(s[b, h, i, :])[t] · v[b, t, g, :]`.

    The layout is the linears' (`[B·S, H·D]` rows expand to it for free),
    as in FlashAttention's `(batch, seqlen, nheads, headdim)`.

    ```mlir
    %y = quant_xform.attention %q, %k, %v mask(%m : tensor<2x128xf32>)
        {scale = 0.125 : f64} : tensor<2x128x12x64xf32>, tensor<2x128x12x64xf32>
    ```
  }];
  let arguments = (ins 4DTensorOf<[F32]>:$query, 4DTensorOf<[F32]>:$key,
                       4DTensorOf<[F32]>:$value,
                       Optional<2DTensorOf<[F32]>>:$mask,
                       F64Attr:$scale, UnitAttr:$causal);
  let results = (outs 4DTensorOf<[F32]>:$result);
  let assemblyFormat = [{
    $query `,` $key `,` $value (`mask` `(` $mask^ `:` type($mask) `)`)?
    attr-dict `:` type($query) `,` type($key)
  }];
  let hasVerifier = 1;
}

def QuantXform_RotaryOp : QuantXform_Op<"rotary", [Pure,
    AllTypesMatch<["input", "result"]>, AllTypesMatch<["cos", "sin"]>]> {
  let summary = "Rotary position embedding of [T, heads, D] rows";
  let description = [{
    For `x: [T, H, D]` (`D` even, `h = D / 2`) and tables
    `cos, sin: [T, h]` of each token's angles (`cos[t, i] = cos(p_t·θ_i)`):

    `y[t, n, i] = x[t, n, i]·cos[t, i] − x[t, n, i + h]·sin[t, i]`,
    `y[t, n, i + h] = x[t, n, i + h]·cos[t, i] + x[t, n, i]·sin[t, i]`
    for `i < h`: each head's halves rotated by the token's angles (the
    "rotate half" layout of Hugging Face's LLaMA; GGUF files are read into
    it). Products and sums are f32, in this order (the reference evaluator,
    the CPU loops and the GPU kernels round alike).

    On the GPU the attention kernel applies it as it loads the query and
    keys that the rotary ops feed.

    ```mlir
    %y = quant_xform.rotary %x, %cos, %sin
        : tensor<16x4x64xf32>, tensor<16x32xf32>
    ```
  }];
  let arguments = (ins 3DTensorOf<[F32]>:$input, 2DTensorOf<[F32]>:$cos,
                       2DTensorOf<[F32]>:$sin);
  let results = (outs 3DTensorOf<[F32]>:$result);
  let assemblyFormat = [{
    $input `,` $cos `,` $sin attr-dict `:` type($input) `,` type($cos)
  }];
  let hasVerifier = 1;
}

#endif // QUANT_XFORM_OPS_TD
