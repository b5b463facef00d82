//===- BindWeights.h - weights given as arrays beside MLIR text -*- C++ -*-===//
//
// A model's text can name its weights instead of spelling them in hex:
// `arith.constant dense_resource<key> : tensor<...>` with the array for `key`
// handed over separately. Binding them turns each into an ordinary dense
// constant, so that every pass sees the IR it would have parsed from hex.
//
//===----------------------------------------------------------------------===//

#ifndef QUANT_XFORM_LIB_API_BINDWEIGHTS_H
#define QUANT_XFORM_LIB_API_BINDWEIGHTS_H

#include "quant-xform/API/API.h"

#include "mlir/IR/BuiltinOps.h"

#include <map>
#include <string>

namespace quant_xform::api {

/// Replaces every attribute `dense_resource<key>` of an op in `module` whose
/// key is in `weights` by a dense elements attribute holding that array. The
/// array's element type and element count must be the attribute's; every
/// array must be used, and with any array given, every `dense_resource`
/// without data must have one. Returns false with `error` naming the weight
/// otherwise.
bool bindWeights(mlir::ModuleOp module,
                 const std::map<std::string, ArrayView> &weights,
                 std::string &error);

} // namespace quant_xform::api

#endif // QUANT_XFORM_LIB_API_BINDWEIGHTS_H
