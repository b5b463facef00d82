//===- StatsFile.h - calibration statistics saved next to the model -*- C++
//-*-===//
//
// A statistics file holds the `quant_xform.stats` of every linear of a
// module as a safetensors file, so that calibration (the slow part) runs
// once and its results travel with the model, or come from elsewhere (QAT
// ranges, another tool's observers). docs/DECISIONS.md, "Statistics files",
// describes the format:
//
//   __metadata__ = {"format": "quant-xform-stats", "version": "1"}
//   "<layer>/<entry>"   one tensor per entry of quant_xform.stats
//
// `<layer>` is the linear's `quant_xform.layer`, or `#<i>` for the i-th
// `quant_xform.linear` of the module (walk order) when it has no name.
// Per-channel and matrix entries are F32 (`outlier_rows`, `histogram`:
// I64), `rows` a 0-d I64, `outlier_threshold` and `histogram_max` 0-d F64.
//
//===----------------------------------------------------------------------===//

#ifndef QUANT_XFORM_DIALECT_QUANTXFORM_TRANSFORMS_STATSFILE_H
#define QUANT_XFORM_DIALECT_QUANTXFORM_TRANSFORMS_STATSFILE_H

#include "quant-xform/IO/Safetensors.h"

#include "mlir/IR/BuiltinOps.h"

namespace mlir::quant_xform {

/// The `__metadata__` "format" value of a statistics file.
inline constexpr llvm::StringLiteral kStatsFileFormat = "quant-xform-stats";

/// Writes the statistics of every linear of `module` that has them to
/// `path` (atomically). Fails with a diagnostic at the module when no
/// linear has statistics, two linears share a layer name, or the file
/// cannot be written.
LogicalResult exportStatsFile(ModuleOp module, StringRef path);

/// Attaches the statistics in `file` to the linears they name, replacing
/// what those linears had. Every entry is checked (known layer, known
/// entry, dtype, shape against the linear's K, finite values) before any
/// linear changes: on failure the module is unchanged and the diagnostic
/// names the file's tensor. Linears without statistics in the file get a
/// warning. `name` names the file in diagnostics.
LogicalResult importStatsFile(ModuleOp module, const io::SafetensorsFile &file,
                              StringRef name);

} // namespace mlir::quant_xform

#endif
