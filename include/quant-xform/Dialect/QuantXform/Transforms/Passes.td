//===- Passes.td - quant_xform passes ----------------------*- tablegen -*-===//

#ifndef QUANT_XFORM_PASSES_TD
#define QUANT_XFORM_PASSES_TD

include "mlir/Pass/PassBase.td"

def QuantizeLinears : Pass<"quant-xform-quantize-linears", "ModuleOp"> {
  let summary = "Rewrite float linear layers as dynamic_quantize + qlinear (W8A8)";
  let description = [{
    Every `quant_xform.linear` whose weight (and bias) are constants becomes

    ```mlir
    %qx, %sx = quant_xform.dynamic_quantize %x scheme<per_token> : ...
    %y = quant_xform.qlinear %qx scale %sx, %qw scale %sw, bias %b : ...
    ```

    with the weight quantized at compile time: symmetric int8,
    `sw = absmax / 127` per output channel (or per group of `group-size`
    along K), `qw = round_half_even(W / sw)`. An all-zero channel gets
    `sw = 1`. Linears with non-constant weights are left in float with a
    warning. Out-of-range options are reported as errors.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
  let options = [
    Option<"activationGranularity", "activation-granularity", "std::string",
           /*default=*/"\"per_token\"",
           "Dynamic activation scales: per_token or per_tensor">,
    Option<"weightGranularity", "weight-granularity", "std::string",
           /*default=*/"\"per_channel\"",
           "Weight scales: per_channel or per_group">,
    Option<"groupSize", "group-size", "int64_t", /*default=*/"128",
           "Group size along K for per_group weights (must divide K)">
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

#endif // QUANT_XFORM_PASSES_TD
