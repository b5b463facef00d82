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

#endif // QUANT_XFORM_PASSES_TD
