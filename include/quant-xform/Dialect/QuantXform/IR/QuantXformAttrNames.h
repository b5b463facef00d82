//===- QuantXformAttrNames.h - discardable quant_xform attributes -*- C++
//-*-===//
//
// Names of the discardable attributes that passes attach to ops (layer names,
// roles, calibration statistics, transform markers). The dialect verifies
// them in QuantXformDialect::verifyOperationAttribute; docs/DECISIONS.md
// describes them for users.
//
//===----------------------------------------------------------------------===//

#ifndef QUANT_XFORM_DIALECT_QUANTXFORM_IR_QUANTXFORMATTRNAMES_H
#define QUANT_XFORM_DIALECT_QUANTXFORM_IR_QUANTXFORMATTRNAMES_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"

namespace mlir::quant_xform {

/// `quant_xform.layer = "blk0.attn.q"`: a linear's name, for layer selection
/// by regex and for reports.
inline constexpr llvm::StringLiteral kLayerAttrName = "quant_xform.layer";
/// `quant_xform.role = "attn_in"`: what a linear does in the block; one of
/// kLayerRoles.
inline constexpr llvm::StringLiteral kRoleAttrName = "quant_xform.role";
/// `quant_xform.stats = {...}`: calibration statistics of a linear's input
/// (see docs/DECISIONS.md, "Calibration statistics").
inline constexpr llvm::StringLiteral kStatsAttrName = "quant_xform.stats";
/// `quant_xform.pinned`: the output of this transform is what the quantizer
/// must see, so it is never folded into the linears it feeds nor cancelled
/// against its inverse; it may still move into a producing linear or norm.
inline constexpr llvm::StringLiteral kPinnedAttrName = "quant_xform.pinned";
/// `quant_xform.online`: a transform left at run time by the folding passes
/// (it could not be folded into a neighbour); lowered to a fast kernel.
inline constexpr llvm::StringLiteral kOnlineAttrName = "quant_xform.online";
/// `quant_xform.search = {transform = "smooth", alpha = 0.6, sqnr_before =
/// 31.2, sqnr_after = 35.9}`: what quant-xform-insert-transforms put in
/// front of a linear (a search's choice or the requested kind) and, when it
/// could measure it on sampled calibration rows, the W8A8 output SQNR (dB)
/// without and with it.
inline constexpr llvm::StringLiteral kSearchAttrName = "quant_xform.search";
/// The `transform` values of `quant_xform.search`.
inline constexpr llvm::StringLiteral kTransformKindNames[] = {
    "none",  "smooth",            "learned-affine", "hadamard", "pca",
    "dense", "random-orthogonal", "permutation",    "affine"};

/// The roles a linear can have in a transformer block.
inline constexpr llvm::StringLiteral kLayerRoles[] = {"attn_in", "attn_out",
                                                      "mlp_in", "mlp_down"};

} // namespace mlir::quant_xform

#endif
