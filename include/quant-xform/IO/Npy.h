//===- Npy.h - .npy file reading and writing ----------------------*- C++
//-*-===//

#ifndef QUANT_XFORM_IO_NPY_H
#define QUANT_XFORM_IO_NPY_H

#include "quant-xform/IO/Tensor.h"

#include "llvm/Support/Error.h"

namespace mlir::quant_xform::io {

/// Reads a little-endian, C-ordered .npy file (format 1.0–3.0) of dtype
/// f2/f4/f8, i1/i2/i4/i8, u1 or b1. Every malformed or truncated file gives
/// an error that names the problem.
llvm::Expected<Tensor> readNpy(StringRef path);

/// Parses .npy bytes already in memory (`name` is used in messages).
llvm::Expected<Tensor> parseNpy(StringRef bytes, StringRef name);

/// Writes `tensor` as .npy (floats as f4 or f8 by their dtype, bf16 as f4).
/// The file appears atomically: a partly written file is never left behind.
llvm::Error writeNpy(StringRef path, const Tensor &tensor);

} // namespace mlir::quant_xform::io

#endif
