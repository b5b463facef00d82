//===- QuantXformInterfaces.td - shared transform interface -*- tablegen -*-===//
//
// One interface for every equivalence transform on the feature dimension
// (rotate, affine, smooth), so folding and cancellation are written once.
//
//===----------------------------------------------------------------------===//

#ifndef QUANT_XFORM_INTERFACES_TD
#define QUANT_XFORM_INTERFACES_TD

include "mlir/IR/OpBase.td"

def QuantXform_TransformOpInterface : OpInterface<"TransformOpInterface"> {
  let cppNamespace = "::mlir::quant_xform";
  let description = [{
    An invertible transform of the last (feature) dimension of an activation:
    `y = x·M + c`, with `M` a `K×K` matrix and `c` a `K` vector.

    A transform inserted in front of a linear layer keeps the layer's output
    unchanged when the weight gets the twin `W' = W·M⁻ᵀ` (and the bias
    `b' = b - c·M⁻¹·Wᵀ`):  `(x·M + c)·(W·M⁻ᵀ)ᵀ = x·Wᵀ + c·M⁻¹·Wᵀ`.

    | op | forward `M`, `c` | `inverse` `M`, `c` | weight twin `M⁻ᵀ` |
    |---|---|---|---|
    | `rotate` by `Q` | `Q`, 0 | `Qᵀ`, 0 | `Q` |
    | `affine` by `A`, shift `δ` | `A⁻¹`, `-δ·A⁻¹` | `A`, `δ` | `Aᵀ` |
    | `smooth` by `s`, shift `δ` | `diag(1/s)`, `-δ/s` | `diag(s)`, `δ` | `diag(s)` |
  }];
  let methods = [
    InterfaceMethod<"The activation being transformed (operand 0).",
      "::mlir::Value", "getTransformInput", (ins), [{}],
      [{ return $_op.getInput(); }]>,
    InterfaceMethod<"True when the op applies the inverse of its transform.",
      "bool", "isInverse">,
    InterfaceMethod<[{
        True when the op is known to be the identity (`M = I`, `c = 0`);
        cheap: it never materializes a large matrix.
      }],
      "bool", "isIdentity">,
    InterfaceMethod<"True when the matrix is diagonal (a per-channel scale).",
      "bool", "isDiagonal", (ins), [{}], [{ return false; }]>,
    InterfaceMethod<[{
        The applied matrix `M` (`y = x·M + c`), in float64, when every
        operand it depends on is a constant; failure otherwise.
      }],
      "::mlir::FailureOr<::mlir::quant_xform::Matrix>", "getAppliedMatrix">,
    InterfaceMethod<[{
        The applied offset `c` (`y = x·M + c`) as a `1×K` matrix, when known
        at compile time; a zero vector when the op has no shift.
      }],
      "::mlir::FailureOr<::mlir::quant_xform::Matrix>", "getAppliedOffset">,
    InterfaceMethod<[{
        True when `other` applies exactly the inverse of this op's
        transform, so that `other(this(x)) = x`.
      }],
      "bool", "isInverseOf", (ins "::mlir::quant_xform::TransformOpInterface":$other),
      [{}], [{
        return ::mlir::quant_xform::detail::areInverseTransforms($_op, other);
      }]>
  ];
  let extraClassDeclaration = [{
    /// The feature size `K` (the last dimension of the input).
    int64_t getFeatureSize() {
      return ::llvm::cast<::mlir::ShapedType>(getTransformInput().getType())
          .getShape().back();
    }
    /// The weight-side twin `M⁻ᵀ` of the applied matrix, when known.
    ::mlir::FailureOr<::mlir::quant_xform::Matrix> getWeightSideMatrix();
  }];
}

#endif // QUANT_XFORM_INTERFACES_TD
