//===- Metrics.h - error metrics between a reference and a candidate -*- C++
//-*-===//

#ifndef QUANT_XFORM_REFERENCE_METRICS_H
#define QUANT_XFORM_REFERENCE_METRICS_H

#include "quant-xform/IO/Tensor.h"

namespace mlir::quant_xform::reference {

/// How far `candidate` is from `reference` (same shape).
struct ErrorMetrics {
  double maxAbsError = 0.0;
  /// ‖c − r‖₂ / ‖r‖₂ (0 when both are zero).
  double relativeError = 0.0;
  /// 10·log10(‖r‖² / ‖c − r‖²) in dB (inf when equal).
  double sqnrDb = 0.0;
  /// ⟨c, r⟩ / (‖c‖·‖r‖).
  double cosine = 1.0;
};

/// Compares two tensors of one shape; failure when the shapes differ.
FailureOr<ErrorMetrics> compareTensors(const io::Tensor &reference,
                                       const io::Tensor &candidate);

} // namespace mlir::quant_xform::reference

#endif
