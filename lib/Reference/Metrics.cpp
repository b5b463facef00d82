//===- Metrics.cpp - error metrics ----------------------------------------===//

#include "quant-xform/Reference/Metrics.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::quant_xform::io;
using namespace mlir::quant_xform::reference;

FailureOr<ErrorMetrics>
mlir::quant_xform::reference::compareTensors(const Tensor &ref,
                                             const Tensor &cand) {
  if (ref.shape() != cand.shape())
    return failure();
  ErrorMetrics m;
  double refSq = 0.0, candSq = 0.0, errSq = 0.0, dot = 0.0;
  for (int64_t k = 0, n = ref.numElements(); k < n; ++k) {
    double r = ref.asDouble(k), c = cand.asDouble(k), e = c - r;
    m.maxAbsError = std::max(m.maxAbsError, std::fabs(e));
    refSq += r * r;
    candSq += c * c;
    errSq += e * e;
    dot += r * c;
  }
  m.relativeError =
      refSq > 0.0 ? std::sqrt(errSq / refSq) : (errSq > 0.0 ? INFINITY : 0.0);
  m.sqnrDb = errSq > 0.0 ? 10.0 * std::log10(refSq / errSq)
                         : std::numeric_limits<double>::infinity();
  m.cosine = refSq > 0.0 && candSq > 0.0 ? dot / std::sqrt(refSq * candSq)
                                         : (refSq == candSq ? 1.0 : 0.0);
  return m;
}
