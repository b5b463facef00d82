//===- GPUTargetFacts.cpp - the table of target GPUs ----------------------===//
//
// The chips the kernels are made for and the numbers of one data-centre
// part of each (the SM count differs between the parts of one chip; the
// `sm-count` option gives another part's).
//
//===----------------------------------------------------------------------===//

#include "quant-xform/Conversion/QuantXformToGPU/GPUTargetFacts.h"

#include "llvm/ADT/STLExtras.h"

using namespace mlir;
using namespace mlir::quant_xform;

namespace {

/// One row of the table.
struct ChipRow {
  const char *chip, *part;
  int64_t smCount, maxSharedBytes;
  bool wgmma, tma;
};

/// Opt-in dynamic shared memory per block (CUDA's
/// sharedMemPerBlockOptin): 163 KB on sm_80, 99 KB on sm_86 / sm_89,
/// 227 KB on sm_90.
constexpr ChipRow kChips[] = {
    {"sm_80", "A100", 108, 163 * 1024, false, false},
    {"sm_86", "A10", 72, 99 * 1024, false, false},
    {"sm_89", "L40S", 142, 99 * 1024, false, false},
    {"sm_90", "H100", 132, 227 * 1024, false, true},
    {"sm_90a", "H100", 132, 227 * 1024, true, true},
};

const ChipRow *findChip(llvm::StringRef chip) {
  const ChipRow *row =
      llvm::find_if(kChips, [&](const ChipRow &r) { return chip == r.chip; });
  return row == std::end(kChips) ? nullptr : row;
}

} // namespace

bool GPUTargetFacts::isKnownChip(llvm::StringRef chip) {
  return findChip(chip) != nullptr;
}

GPUTargetFacts GPUTargetFacts::forChip(llvm::StringRef chip) {
  GPUTargetFacts facts;
  facts.chip = chip.str();
  if (const ChipRow *row = findChip(chip)) {
    facts.part = row->part;
    facts.smCount = row->smCount;
    facts.maxSharedBytes = row->maxSharedBytes;
    facts.wgmma = row->wgmma;
    facts.tma = row->tma;
  }
  return facts;
}

GPUTargetFacts GPUTargetFacts::forChip(llvm::StringRef chip, int64_t smCount,
                                       int64_t maxSharedBytes) {
  GPUTargetFacts facts = forChip(chip);
  if (smCount || maxSharedBytes)
    facts.part.clear();
  if (smCount)
    facts.smCount = smCount;
  if (maxSharedBytes)
    facts.maxSharedBytes = maxSharedBytes;
  return facts;
}

std::string GPUTargetFacts::sharedMemoryText() const {
  if (maxSharedBytes % 1024 == 0)
    return std::to_string(maxSharedBytes / 1024) + " KB";
  return std::to_string(maxSharedBytes) + " bytes";
}

std::string GPUTargetFacts::blockText() const {
  // Every part in the table takes "an" (H, A, L).
  return part.empty() ? "a block" : "an " + part + " block";
}
