//===- GPUTargetFacts.h - what the kernels know of the GPU ------*- C++ -*-===//
//
// The facts of the target GPU that the kernel generators plan with: the SM
// count (grid sizes, persistent blocks), the dynamic shared memory one
// block may opt into (pipeline stages) and the instructions there are
// (wgmma, TMA). They come from the chip string (a small table of the
// chips the kernels are made for), optionally overridden by pass options.
//
//===----------------------------------------------------------------------===//

#ifndef QUANT_XFORM_CONVERSION_QUANTXFORMTOGPU_GPUTARGETFACTS_H
#define QUANT_XFORM_CONVERSION_QUANTXFORMTOGPU_GPUTARGETFACTS_H

#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <optional>
#include <string>

namespace mlir::quant_xform {

/// What the kernel generators know of the GPU they compile for.
struct GPUTargetFacts {
  /// The SM (`sm_90a`, ...) as nvvm-attach-target takes it.
  std::string chip;
  /// The part the numbers are those of (`H100`), empty when an option
  /// overrode them or the chip is not in the table.
  std::string part;
  /// Streaming multiprocessors (0: unknown).
  int64_t smCount = 0;
  /// Dynamic shared memory one block may use after opting in (0: unknown).
  int64_t maxSharedBytes = 0;
  /// `wgmma.mma_async` (sm_90a only: an arch-specific feature).
  bool wgmma = false;
  /// TMA (`cp.async.bulk.tensor`) and transaction-count mbarriers (sm_90+).
  bool tma = false;

  /// The facts of `chip` from the table (sm_80, sm_86, sm_89, sm_90,
  /// sm_90a); for another chip, only its name (no SM count, no shared
  /// memory, no wgmma, no TMA).
  static GPUTargetFacts forChip(llvm::StringRef chip);
  /// Whether `chip` is in the table.
  static bool isKnownChip(llvm::StringRef chip);
  /// The facts of `chip` with the options that override them (0: the
  /// chip's).
  static GPUTargetFacts forChip(llvm::StringRef chip, int64_t smCount,
                                int64_t maxSharedBytes);
  /// The shared memory per block as diagnostics name it: `227 KB` (whole
  /// KB) or `N bytes`.
  std::string sharedMemoryText() const;
  /// The block as diagnostics name it: `an H100 block` or `a block`.
  std::string blockText() const;
};

} // namespace mlir::quant_xform

#endif
