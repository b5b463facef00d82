//===- Passes.td - quant_xform passes ----------------------*- tablegen -*-===//

#ifndef QUANT_XFORM_PASSES_TD
#define QUANT_XFORM_PASSES_TD

include "mlir/Pass/PassBase.td"

def QuantizeLinears : Pass<"quant-xform-quantize-linears", "ModuleOp"> {
  let summary = "Rewrite float linear layers as dynamic_quantize + qlinear (W8A8)";
  let description = [{
    Every selected `quant_xform.linear` whose weight (and bias) are
    constants becomes

    ```mlir
    %qx, %sx = quant_xform.dynamic_quantize %x scheme<per_token> : ...
    %y = quant_xform.qlinear %qx scale %sx, %qw scale %sw, bias %b : ...
    ```

    with the weight quantized at compile time: symmetric int8,
    `sw = absmax / 127` per output channel (or per group of `group-size`
    along K), `qw = round_half_even(W / sw)`. An all-zero channel gets
    `sw = 1`. Linears with non-constant weights are left in float with a
    warning. Out-of-range options are reported as errors.

    With `static-activations`, the activation scale is a per-tensor constant
    from the linear's calibration statistics (`max |x| / 127`, or
    `(max − min) / 255` with a zero point when `asymmetric`) and the
    activation goes through `quant_xform.quantize`. `range` picks the clip
    threshold t from the calibration histogram instead (scale t / 127):
    `percentile`, `mse` (minimum expected squared error) or `kl` (TensorRT
    entropy calibration). `asymmetric` quantizes
    activations to uint8 with a zero point (dynamic or static). The layer
    name and role move to the `qlinear`.

    QAT import: a linear that reads `quant_xform.fake_quant` (as
    quant-xform-insert-fake-quant emits, or a trainer writes) takes its
    ranges from it: a PACT clip `α` on the input becomes the static
    per-tensor scale `α / 127` (whatever `static-activations` says), a
    fake_quant without a clip is replaced by the configured activation
    scheme, and a fake-quantized constant weight is quantized from the
    constant under it. Fake-quantizers other than 8-bit are an error.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
  let options = [
    Option<"activationGranularity", "activation-granularity",
           "::mlir::quant_xform::Granularity",
           /*default=*/"::mlir::quant_xform::Granularity::PerToken",
           "Activation scales: per_token, per_group or per_tensor",
           [{::llvm::cl::values(
             clEnumValN(::mlir::quant_xform::Granularity::PerToken,
                        "per_token", "one scale per row (dynamic)"),
             clEnumValN(::mlir::quant_xform::Granularity::PerGroup,
                        "per_group", "one scale per group-size inputs of a "
                        "row (dynamic)"),
             clEnumValN(::mlir::quant_xform::Granularity::PerTensor,
                        "per_tensor", "one scale for the tensor"))}]>,
    Option<"weightGranularity", "weight-granularity",
           "::mlir::quant_xform::Granularity",
           /*default=*/"::mlir::quant_xform::Granularity::PerChannel",
           "Weight scales: per_channel or per_group", [{::llvm::cl::values(
             clEnumValN(::mlir::quant_xform::Granularity::PerChannel,
                        "per_channel", "one scale per output channel"),
             clEnumValN(::mlir::quant_xform::Granularity::PerGroup,
                        "per_group", "one scale per group-size inputs of a "
                        "channel"))}]>,
    Option<"groupSize", "group-size", "int64_t", /*default=*/"128",
           "Group size along K for per_group weights and activations (must "
           "divide K)">,
    Option<"staticActivations", "static-activations", "bool",
           /*default=*/"false",
           "Static per-tensor activation scales from quant_xform.stats "
           "(min/max range) instead of run-time ones">,
    Option<"asymmetric", "asymmetric", "bool", /*default=*/"false",
           "Asymmetric uint8 activations with a zero point">,
    Option<"range", "range", "::mlir::quant_xform::calibration::RangeMethod",
           /*default=*/"::mlir::quant_xform::calibration::RangeMethod::MinMax",
           "Static range chooser (all but minmax need static-activations "
           "and a symmetric scheme)", [{::llvm::cl::values(
             clEnumValN(::mlir::quant_xform::calibration::RangeMethod::MinMax,
                        "minmax", "the calibrated minimum and maximum"),
             clEnumValN(
                 ::mlir::quant_xform::calibration::RangeMethod::Percentile,
                 "percentile", "a percentile of |x| (calibration "
                 "histograms)"),
             clEnumValN(::mlir::quant_xform::calibration::RangeMethod::Mse,
                        "mse", "the clip of least quantization error "
                        "(calibration histograms)"),
             clEnumValN(::mlir::quant_xform::calibration::RangeMethod::Kl,
                        "kl", "the clip of least KL divergence (calibration "
                        "histograms)"),
             clEnumValN(::mlir::quant_xform::calibration::RangeMethod::Ema,
                        "ema", "the exponential moving average of the "
                        "calibrated ranges (calibrate ema=true)"))}]>,
    Option<"percentile", "percentile", "double", /*default=*/"99.99",
           "Percentile in (0, 100] for range=percentile">,
    Option<"layers", "layers", "std::string", /*default=*/"\"\"",
           "Only linears whose quant_xform.layer fully matches this regex">,
    ListOption<"roles", "roles", "std::string",
               "Only linears with one of these quant_xform.role values">
  ];
}

def InsertFakeQuant : Pass<"quant-xform-insert-fake-quant", "ModuleOp"> {
  let summary = "QAT export: fake-quantize the inputs and weights of linears";
  let description = [{
    Puts `quant_xform.fake_quant` (8-bit, symmetric) in front of every
    selected linear's input and on its constant weight (per output
    channel), so the float model computes what the W8A8 model will:

    ```mlir
    %fx = quant_xform.fake_quant %x scheme<per_token> : ...
    %fw = quant_xform.fake_quant %w scheme<per_channel> : ...
    %y = quant_xform.linear %fx, %fw : ...
    ```

    This is the graph a quantization-aware trainer fine-tunes (straight-
    through gradients, see the op). With `pact`, the input gets a PACT clip
    `α` (per tensor) initialized from the calibrated `max |x|` (run
    quant-xform-calibrate first) that training can learn; without, the
    input is fake-quantized per token. quant-xform-quantize-linears reads
    the (possibly retrained) clip values back: that is the import path for
    ranges learned by QAT elsewhere.
  }];
  let options = [
    Option<"pact", "pact", "bool", /*default=*/"false",
           "Per-tensor PACT clip on the inputs, from calibration">,
    Option<"layers", "layers", "std::string", /*default=*/"\"\"",
           "Only linears whose quant_xform.layer fully matches this regex">,
    ListOption<"roles", "roles", "std::string",
               "Only linears with one of these quant_xform.role values">
  ];
}

def FoldTransformsIntoLinears
    : Pass<"quant-xform-fold-transforms-into-linears", "ModuleOp"> {
  let summary = "Fold transforms into the weights and biases of adjacent linears";
  let description = [{
    For any transform op `T(x) = x·M + c` (rotate, affine, smooth) whose
    matrix is known at compile time, and linears with constant weights:

    - input side: `linear(T(x), W, b) = linear(x, W·Mᵀ, b + c·Wᵀ)`, applied to
      every linear that reads `T(x)`; `T` disappears once nothing else reads
      it;
    - output side: `T(linear(x, W, b)) = linear(x, Mᵀ·W, b·M + c)` when the
      linear has no other reader.

    New weights are computed in float64 and stored in the weight's element
    type (f32 or f64). Transforms that cannot fold (non-constant matrices or
    weights, or readers that are not linears) stay where they are.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

def Calibrate : Pass<"quant-xform-calibrate", "ModuleOp"> {
  let summary = "Run the float model and attach input statistics to linears";
  let description = [{
    Runs the entry function through the reference evaluator on calibration
    inputs (`inputs`: one .npy per argument; otherwise `samples` seeded
    N(0, 1) inputs) with an observer in front of every `quant_xform.linear`,
    and attaches what it saw to the linear as

    ```mlir
    quant_xform.stats = {absmax = dense<...> : tensor<Kxf32>,
                         min = ..., max = ..., rows = 64 : i64,
                         outlier_threshold = 6.0 : f64,
                         outlier_rows = dense<...> : tensor<Kxi64>,
                         second_moment = dense<...> : tensor<KxKxf32>}
    ```

    (`outlier_rows[k]`: rows with `|x[:, k]| ≥ outlier_threshold`;
    `second_moment`: `Σ x·xᵀ / rows`, only with `second-moment` and
    K ≤ 4096; with `histogram`, also `histogram = dense<...> :
    tensor<2048xi64>` of |x| over `[0, histogram_max]`, the tensor's
    absmax; with `keep-rows=R`, `sampled_rows = dense<...> :
    tensor<R'xKxf32>`, a uniform (reservoir) sample of at most R input rows,
    which the transform searches of quant-xform-insert-transforms use; with
    `ema`, `ema_absmax = dense<...> : tensor<Kxf32>`, per channel the
    exponential moving average of each sample's |x| maximum, the first
    `ema-warmup` samples averaged plainly, read by `range=ema`). Passes
    that change a linear's input drop its statistics;
    recalibrate before a pass that needs them. NaN or Inf in an observed
    input is an error; a linear that the function does not reach gets a
    warning and no statistics.
  }];
  let options = [
    Option<"entry", "entry", "std::string", /*default=*/"\"\"",
           "Function to run (default: main, or the only function)">,
    ListOption<"inputs", "inputs", "std::string",
               ".npy calibration inputs, one per function argument; an "
               "input of one more dimension than its argument is a stack "
               "of samples">,
    Option<"progress", "progress", "bool", /*default=*/"false",
           "Report each calibration sample on stderr">,
    Option<"samples", "samples", "int64_t", /*default=*/"4",
           "Number of seeded random samples when no inputs are given">,
    Option<"seed", "seed", "uint64_t", /*default=*/"0",
           "Seed of the first random sample">,
    Option<"outlierThreshold", "outlier-threshold", "double",
           /*default=*/"6.0", "Magnitude counted in outlier_rows">,
    Option<"secondMoment", "second-moment", "bool", /*default=*/"true",
           "Record the K × K second moment (needed for PCA rotations)">,
    Option<"histogram", "histogram", "bool", /*default=*/"false",
           "Also record a 2048-bin histogram of |x| over [0, absmax] (a "
           "second pass over the samples; needed by the percentile, MSE and "
           "KL range choosers)">,
    Option<"rowMask", "row-mask", "int64_t", /*default=*/"-1",
           "Index of a 1-D function argument (e.g. an attention mask of S "
           "tokens): observers of S-row inputs see only the rows where it "
           "is non-zero, so padding does not enter the statistics (-1: "
           "every row)">,
    Option<"rowMaskAdditive", "row-mask-additive", "bool", /*default=*/"false",
           "The row-mask argument is an additive attention bias: rows where "
           "it is 0 are observed, the others (large negative) are padding">,
    Option<"keepRows", "keep-rows", "int64_t", /*default=*/"0",
           "Keep a uniform sample of at most this many input rows per "
           "linear (0 to 65536; needed by the alpha and affine searches)">,
    Option<"ema", "ema", "bool", /*default=*/"false",
           "Track the moving average of each sample's |x| maximum">,
    Option<"emaDecay", "ema-decay", "double", /*default=*/"0.9",
           "EMA decay in [0, 1)">,
    Option<"emaWarmup", "ema-warmup", "int64_t", /*default=*/"2",
           "Samples averaged plainly before the EMA starts (>= 1)">
  ];
}

def ExportStats : Pass<"quant-xform-export-stats", "ModuleOp"> {
  let summary = "Save the linears' calibration statistics to a file";
  let description = [{
    Writes the `quant_xform.stats` of every linear to `file`, a safetensors
    file (docs/DECISIONS.md, "Statistics files"): one tensor
    `<layer>/<entry>` per entry, `<layer>` being the linear's
    `quant_xform.layer` (or `#<i>`, its index among the module's linears,
    when it has none), and `__metadata__` `{"format":
    "quant-xform-stats", "version": "1"}`. The IR is not changed. The file
    is written to a temporary and renamed, so a failure leaves nothing
    half-written. No statistics at all, or two linears with one name, is
    an error.

    ```sh
    xform-opt m.mlir -quant-xform-calibrate="inputs=calib.npy histogram=true" \
        -quant-xform-export-stats="file=m.stats.safetensors" -o /dev/null
    ```
  }];
  let options = [
    Option<"file", "file", "std::string", /*default=*/"\"\"",
           "The statistics file to write">
  ];
}

def ImportStats : Pass<"quant-xform-import-stats", "ModuleOp"> {
  let summary = "Attach calibration statistics from a file to the linears";
  let description = [{
    Reads a statistics file written by quant-xform-export-stats (or by
    anything else that follows its format: ranges learned by QAT, another
    tool's observers) and attaches each layer's entries as its
    `quant_xform.stats`, replacing what it had. Every tensor is checked
    before anything changes: a layer the module does not have, an unknown
    entry, a wrong dtype, a shape that does not match the linear's K, NaN
    or Inf, or a file that is not a statistics file is an error naming the
    tensor. A linear that the file does not cover gets a warning.

    ```sh
    xform-opt m.mlir -quant-xform-import-stats="file=m.stats.safetensors" \
        -quant-xform-quantize-linears="static-activations=true activation-granularity=per_tensor range=kl"
    ```
  }];
  let options = [
    Option<"file", "file", "std::string", /*default=*/"\"\"",
           "The statistics file to read">
  ];
}

def InsertTransforms : Pass<"quant-xform-insert-transforms", "ModuleOp"> {
  let summary = "Insert identity transform pairs in front of selected linears";
  let description = [{
    For each activation `x` read by selected linears, inserts `T(x)`
    (marked `quant_xform.pinned`: the quantizer will see it) followed by
    `T⁻¹`, and makes the selected readers read `T⁻¹(T(x))`. The function is
    unchanged; quant-xform-fold-transforms-into-linears then folds `T⁻¹` into
    the readers' weights (the weight-side twin) and `T` moves into a
    producing linear or norm where it can, or stays online. Readers of one
    activation share one transform.

    Kinds:
    - `hadamard`: randomized Hadamard (seeded ±1 signs); K a power of two;
    - `random-orthogonal`: a seeded Haar-random orthogonal matrix;
    - `permutation`: channels sorted by decreasing calibrated `absmax`
      (outliers side by side), or a seeded shuffle without statistics;
    - `dense`: the orthogonal matrix in `matrix-file` (.npy, K × K);
    - `pca`: the principal axes of the calibrated second moment;
    - `affine`: `x·A⁻¹` with the invertible `A` in `matrix-file`;
    - `smooth`: SmoothQuant `s_j = max|x_j|^α / max|W_j|^(1−α)` from the
      calibrated `absmax` and the readers' weights; with `alpha-search`, α
      is chosen per activation from `alpha-grid` by the measured W8A8
      output error of its readers;
    - `learned-affine`: AffineQuant: an invertible `A` (x·A⁻¹, W·Aᵀ)
      learned per activation by gradient descent on the readers' W8A8
      output error with straight-through rounding, from SmoothQuant's
      diagonal (α as for `smooth`), under a gradual mask that widens a band
      around the diagonal each of `affine-epochs` epochs; steps that would
      raise the error or break strict diagonal dominance are refused, so A
      stays invertible;
    - `auto`: per activation, the candidate of least measured W8A8 output
      error among `candidates` and no transform at all.

    The searches (`alpha-search`, `learned-affine`, `auto`) measure on the
    rows sampled by quant-xform-calibrate (`keep-rows`), quantizing
    activations per token and weights per channel (int8, symmetric), and
    record on each reader `quant_xform.search = {transform = "smooth",
    alpha = 0.6, sqnr_before = 31.2, sqnr_after = 35.9}` (SQNR of the
    readers' outputs in dB, without and with the transform), which
    quantization keeps and the layer report shows.

    Layers are chosen by `layers` (a regex on `quant_xform.layer`) and
    `roles` (`attn_in`, `attn_out`, `mlp_in`, `mlp_down`); by default all.
    Missing statistics, a bad matrix file, an odd-sized Hadamard or an
    out-of-range option is an error naming the op.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
  let options = [
    Option<"kind", "kind", "::mlir::quant_xform::TransformKind",
           /*default=*/"::mlir::quant_xform::TransformKind::Hadamard",
           "The transform: hadamard, random-orthogonal, permutation, dense, "
           "pca, affine, smooth, learned-affine or auto",
           [{::llvm::cl::values(
             clEnumValN(::mlir::quant_xform::TransformKind::Hadamard,
                        "hadamard", "a randomized Hadamard rotation"),
             clEnumValN(::mlir::quant_xform::TransformKind::RandomOrthogonal,
                        "random-orthogonal", "a Haar-random orthogonal "
                        "rotation"),
             clEnumValN(::mlir::quant_xform::TransformKind::Permutation,
                        "permutation", "a random permutation"),
             clEnumValN(::mlir::quant_xform::TransformKind::Dense, "dense",
                        "the orthogonal matrix of matrix-file"),
             clEnumValN(::mlir::quant_xform::TransformKind::Pca, "pca",
                        "the activation's principal axes (calibration "
                        "second moments)"),
             clEnumValN(::mlir::quant_xform::TransformKind::Affine, "affine",
                        "the invertible matrix of matrix-file"),
             clEnumValN(::mlir::quant_xform::TransformKind::Smooth, "smooth",
                        "SmoothQuant scales (alpha, or alpha-search)"),
             clEnumValN(::mlir::quant_xform::TransformKind::LearnedAffine,
                        "learned-affine", "AffineQuant: an affine matrix "
                        "learned per activation"),
             clEnumValN(::mlir::quant_xform::TransformKind::Auto, "auto",
                        "the best of candidates per activation, or none"))}]>,
    Option<"seed", "seed", "uint64_t", /*default=*/"0",
           "Seed of randomized transforms">,
    Option<"alpha", "alpha", "double", /*default=*/"0.5",
           "SmoothQuant migration strength in [0, 1]">,
    Option<"matrixFile", "matrix-file", "std::string", /*default=*/"\"\"",
           ".npy matrix for kind=dense or kind=affine">,
    Option<"layers", "layers", "std::string", /*default=*/"\"\"",
           "Only linears whose quant_xform.layer fully matches this regex">,
    ListOption<"roles", "roles", "std::string",
               "Only linears with one of these quant_xform.role values">,
    Option<"alphaSearch", "alpha-search", "bool", /*default=*/"false",
           "Choose SmoothQuant's alpha per activation by measured error">,
    ListOption<"alphaGrid", "alpha-grid", "double",
               "alpha values tried by the search (default 0, 0.1, ..., 1)">,
    Option<"affineEpochs", "affine-epochs", "int64_t", /*default=*/"4",
           "learned-affine: mask stages (the band reaches affine-band in "
           "the last)">,
    Option<"affineSteps", "affine-steps", "int64_t", /*default=*/"8",
           "learned-affine: gradient steps per epoch">,
    Option<"affineStepSize", "affine-step-size", "double", /*default=*/"0.01",
           "learned-affine: first step as a fraction of the norm of A">,
    Option<"affineStability", "affine-stability", "double",
           /*default=*/"0.01",
           "learned-affine: factor on the off-diagonal gradient, in [0, 1]">,
    Option<"affineBand", "affine-band", "int64_t", /*default=*/"-1",
           "learned-affine: widest band |i - j| opened (-1: all)">,
    Option<"affineMaxSize", "affine-max-size", "int64_t", /*default=*/"1024",
           "learned-affine: wider activations keep the smoothing diagonal "
           "(with a warning); each step costs O(K^3)">,
    ListOption<"candidates", "candidates", "std::string",
               "kind=auto: transforms to compare (smooth, hadamard, pca, "
               "learned-affine; default smooth, hadamard)">,
    Option<"progress", "progress", "bool", /*default=*/"false",
           "Report each searched activation on stderr">
  ];
}

def FoldNormScalesIntoLinears
    : Pass<"quant-xform-fold-norm-scales-into-linears", "ModuleOp"> {
  let summary = "Fold LayerNorm/RMSNorm γ and β into the linears that read them";
  let description = [{
    When every reader of `y = γ⊙n(x) + β` is a linear with constant weights:
    `W' = W·diag(γ)`, `b' = b + β·Wᵀ`, and the norm keeps `γ = 1` and no `β`.
    Afterwards an orthogonal rotation commutes with an RMSNorm
    (`‖x·Q‖ = ‖x‖`). Norms with other readers are left alone. The readers'
    calibration statistics are dropped (their input changed).
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

def FoldBatchNorms : Pass<"quant-xform-fold-batch-norms", "ModuleOp"> {
  let summary = "Fold inference-mode batch norms into the adjacent linears";
  let description = [{
    A `batch_norm` with constant statistics is the per-channel map
    `y = x⊙s + t`, `s = γ/sqrt(var + ε)`, `t = β − mean⊙s`. It folds:

    - into the linear that produces `x`, when the norm is that linear's
      only reader (the usual conv/linear → BN order): `W' = diag(s)·W`,
      `b' = s⊙b + t`;
    - otherwise into the linears that read `y`, when every reader is a
      linear with constant weights: `W' = W·diag(s)`, `b' = b + W·t`, and
      they read `x` (their calibration statistics are dropped: their input
      changed).

    A norm with non-constant parameters or other neighbours stays; it runs
    as a per-channel map (`convert-quant-xform-to-linalg`).
    `quant-xform-w8a8` runs this pass first; run it before
    `quant-xform-calibrate` and `quant-xform-insert-fake-quant` when
    building a QAT export by hand.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

def FoldDiagonalsIntoNorms
    : Pass<"quant-xform-fold-diagonals-into-norms", "ModuleOp"> {
  let summary = "Fold diagonal transforms after a norm into its γ and β";
  let description = [{
    A transform with a diagonal matrix (`smooth`, or any transform whose
    matrix is diagonal) whose input is a LayerNorm/RMSNorm read by nothing
    else: `T(γ⊙n + β) = (γ⊙d)⊙n + (β⊙d + c)`; the norm takes the new γ, β.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

def HoistRotationsThroughNorms
    : Pass<"quant-xform-hoist-rotations-through-norms", "ModuleOp"> {
  let summary = "Move rotations from after a γ-free RMSNorm to before it";
  let description = [{
    `RMSNorm(x)·Q = RMSNorm(x·Q)` for an orthogonal `Q` when the norm has
    `γ = 1` and no `β` (‖x·Q‖ = ‖x‖). The rotation moves to the norm's input,
    where it can fold into the linear that produces it
    (quant-xform-fold-transforms-into-linears, output side). Run
    quant-xform-layernorm-to-rmsnorm and
    quant-xform-fold-norm-scales-into-linears first to get such norms.
  }];
}

def SinkRotations : Pass<"quant-xform-sink-rotations", "ModuleOp"> {
  let summary = "Move rotations down the residual stream into the linears";
  let description = [{
    QuaRot's rotation of the residual stream: a front end that runs a block
    on a rotated stream `x·Q` puts `rotate … inverse` on the argument and
    `rotate` on the result; this pass moves those rotations until they fold
    into weights or cancel, so that no rotation is left online:

    - `rms_norm(x·Q) = rms_norm(x)·Q` when the norm has `γ = 1` and no `β`
      (run quant-xform-fold-norm-scales-into-linears first);
    - `x·Q + b = (x + b·Qᵀ)·Q` when `b·Qᵀ` folds into the linear producing
      `b` (read by nothing else: `W' = Q·W`, `b' = b·Qᵀ`) or cancels
      (`b = c·Q`);
    - `linear(x·Q, W)` = `linear(x, W·Q)`, and a rotation meets its inverse.

    Every step is exact in real arithmetic. Pinned rotations (those the
    quantizer must see) stay where they are; a rotation that cannot move is
    left in place, computing the same function online.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

def LayerNormToRMSNorm : Pass<"quant-xform-layernorm-to-rmsnorm", "ModuleOp"> {
  let summary = "Turn LayerNorms into RMSNorms by centering the residual stream";
  let description = [{
    `LayerNorm(x) = RMSNorm(x − mean(x))`. For each LayerNorm, the residual
    stream is the set of values connected to its input through `arith.addf`.
    Every writer of the stream is centered: a linear read only there gets
    `W' = (I − 11ᵀ/N)·W`, `b' = b − mean(b)` (no run-time cost); any other
    writer (a function argument, a value read elsewhere too) gets an online
    `x − mean(x)` on that edge (linalg reduce + broadcast). Then every
    LayerNorm reading the stream becomes an RMSNorm with the same γ, β, ε,
    so that an orthogonal rotation commutes with it.

    Centering changes the stream, so every reader must be invariant to the
    per-token mean: LayerNorms or further adds. Any other reader (a return,
    a linear, an RMSNorm) keeps the LayerNorm, with a warning naming that
    reader. In a whole model the residual stream ends in a final norm; a
    single block that returns its residual stream is left alone.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect"];
}

def ImportQuantTypes : Pass<"quant-xform-import-quant-types", "ModuleOp"> {
  let summary = "quant.qcast/dcast on !quant.uniform tensors → quant_xform quantizers";
  let description = [{
    `quant.qcast %x : tensor<...xf32> to tensor<...x!quant.uniform<...>>`
    becomes `quant_xform.quantize` with constant scales followed by a
    `quant.scast` back to the quantized type (so other users stay valid);
    `quant.dcast` becomes `quant.scast` to the storage type and
    `quant_xform.dequantize`. After `-canonicalize` the storage casts between
    the two cancel. Per-layer types map to `per_tensor`, per-axis types on
    axis 0 of a rank-2 tensor to `per_channel` (one scale per row).

    quant_xform rounds half to even (upstream's `-lower-quant-ops`
    truncates). Only symmetric narrow-range signed storage
    (`!quant.uniform<i8<-127:127>:f32, s>`, zero point 0) has an exact
    quant_xform equivalent; any other type is an error naming the op.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::quant::QuantDialect",
                           "::mlir::quant_xform::QuantXformDialect"];
}

def ExportQuantTypes : Pass<"quant-xform-export-quant-types", "ModuleOp"> {
  let summary = "quant_xform quantizers with static scales → !quant.uniform types";
  let description = [{
    The reverse of quant-xform-import-quant-types: a `quant_xform.quantize`
    or `dequantize` with constant per-tensor (or per-row of a rank-2 tensor)
    scales and a symmetric scheme becomes `quant.qcast` + `quant.scast`
    (or `quant.scast` + `quant.dcast`) on the matching `!quant.uniform`
    type. Others stay, with a remark saying why.
  }];
  let dependentDialects = ["::mlir::quant::QuantDialect"];
}

def CheckTransformMatrices
    : Pass<"quant-xform-check-transform-matrices", "ModuleOp"> {
  let summary = "Check the constant matrices of rotate and affine ops";
  let description = [{
    The value-dependent claims of the transform ops, which cost O(K³) and
    change as constants propagate, so the verifier leaves them here: a
    constant dense `rotate` matrix is orthogonal within its `tolerance`, a
    constant `affine` matrix is invertible (strictly diagonally dominant or
    of estimated condition number ≤ `max_condition`). Each op that fails
    gets an error naming the numbers; the pass then fails. The W8A8
    pipeline, the CPU and GPU lowerings and `xform-run` run it first;
    folding passes check the ops they fold.
  }];
}

def MarkOnlineTransforms
    : Pass<"quant-xform-mark-online-transforms", "ModuleOp"> {
  let summary = "Mark the transforms left after folding as online";
  let description = [{
    Sets `quant_xform.online` on every transform op still present: it runs at
    run time and the backends lower it to a fast kernel (a Hadamard as an
    O(K log K) butterfly). With `remarks`, says so for each.
  }];
  let options = [
    Option<"remarks", "remarks", "bool", /*default=*/"false",
           "Emit a remark for each online transform">
  ];
}

def SplitOutliers : Pass<"quant-xform-split-outliers", "ModuleOp"> {
  let summary = "LLM.int8() outlier split: linear → mixed_linear";
  let description = [{
    `mode=static`: from calibration statistics, feature `k` is an outlier of
    a linear when `|x[:, k]| ≥ threshold` in at least `min-token-fraction` of
    the rows; it is kept when it is an outlier in at least
    `min-layer-fraction` of the selected linears with the same feature size
    (LLM.int8(): 6.0, 6%, 25%). Linears with kept columns become
    `mixed_linear ... columns [...]` (outlier columns in float, the rest int8
    per token × per channel); others are left for quant-xform-quantize-linears.
    The statistics must have been collected at the same threshold. At most
    `max-columns-fraction` of the features stay in float: when more qualify
    (a rotation spreads outliers over every feature), the largest are kept
    and a warning says so.

    `mode=dynamic`: every selected linear becomes `mixed_linear ... threshold
    t`, which picks the columns at run time.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
  let options = [
    Option<"mode", "mode", "::mlir::quant_xform::OutlierSplit",
           /*default=*/"::mlir::quant_xform::OutlierSplit::Static",
           "static (columns from calibration) or dynamic (run-time)", [{::llvm::cl::values(
             clEnumValN(::mlir::quant_xform::OutlierSplit::Static, "static",
                        "columns from calibration"),
             clEnumValN(::mlir::quant_xform::OutlierSplit::Dynamic, "dynamic",
                        "a run-time threshold"))}]>,
    Option<"threshold", "threshold", "double", /*default=*/"6.0",
           "Outlier magnitude">,
    Option<"minTokenFraction", "min-token-fraction", "double",
           /*default=*/"0.06", "Fraction of rows a feature must be large in">,
    Option<"minLayerFraction", "min-layer-fraction", "double",
           /*default=*/"0.25",
           "Fraction of linears (same feature size) a feature must be an "
           "outlier in">,
    Option<"maxColumnsFraction", "max-columns-fraction", "double",
           /*default=*/"0.1",
           "At most this fraction of a linear's features stay in float (the "
           "largest by calibrated absmax; a warning says when the cap bites)">,
    Option<"layers", "layers", "std::string", /*default=*/"\"\"",
           "Only linears whose quant_xform.layer fully matches this regex">,
    ListOption<"roles", "roles", "std::string",
               "Only linears with one of these quant_xform.role values">
  ];
}

#endif // QUANT_XFORM_PASSES_TD
