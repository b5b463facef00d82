//===- WgmmaTmaProducer.cpp - the wgmma kernel's TMA pipeline -------------===//
//
// The body of a TMA wgmma kernel after its common setup (`base` + `pad`:
// the first pipeline buffer, 1024-byte aligned): mbarriers after the
// epilogue operands (full[stages], then empty[stages]), initialized by
// thread 0; the producer warp's first thread walks K, waiting for a stage to
// be empty (parity of the round before: a fresh barrier passes), announcing
// its bytes on the stage's full barrier and issuing the A and B box copies
// onto it; each warpgroup waits for its stage to be full, runs its wgmmas,
// and once those of the previous step are complete (wait 1) releases that
// step's stage (every consumer thread arrives); after the loop the epilogue
// (whose operands the consumers copy by cp.async first; the epilogue waits
// for them).
//
//===----------------------------------------------------------------------===//

#include "WgmmaKernel.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;
using namespace mlir::quant_xform;
using namespace mlir::quant_xform::gpu_kernels;
using namespace mlir::quant_xform::gpu_kernels::wgmma;

namespace {
/// Registers per thread after `setmaxnreg` in a TMA kernel of two
/// warpgroups (CUTLASS's split): 128 × 40 + 256 × 232 ≤ 65536.
constexpr int64_t kProducerRegisters = 40;
constexpr int64_t kConsumerRegisters = 232;
/// Suspend-time hint of the mbarrier waits (ns), as upstream's nvgpu uses.
constexpr int64_t kWaitTicks = 10000000;
} // namespace

Value WgmmaKernelBuilder::sharedPtr(Value offset) {
  // Shared address `base + offset` as a shared-space pointer.
  Value a =
      arith::IndexCastUIOp::create(b, loc, b.getI64Type(), add(base, offset));
  return LLVM::IntToPtrOp::create(b, loc, LLVM::LLVMPointerType::get(ctx, 3),
                                  a);
}

Value WgmmaKernelBuilder::fullBarrier(Value stage) {
  return sharedPtr(add(barriers, mul(stage, 8)));
}

Value WgmmaKernelBuilder::emptyBarrier(Value stage) {
  return sharedPtr(add(add(barriers, c(8 * stages)), mul(stage, 8)));
}

void WgmmaKernelBuilder::initBarriers() {
  {
    OpBuilder::InsertionGuard guard(b);
    auto ifFirst =
        scf::IfOp::create(b, loc, cmp(arith::CmpIPredicate::eq, tid, 0),
                          /*withElse=*/false);
    b.setInsertionPointToStart(&ifFirst.getThenRegion().front());
    for (int64_t st = 0; st < stages; ++st) {
      NVVM::MBarrierInitOp::create(b, loc, fullBarrier(c(st)), i32c(1),
                                   Value());
      NVVM::MBarrierInitOp::create(b, loc, emptyBarrier(c(st)), i32c(threads),
                                   Value());
    }
    NVVM::FenceMbarrierInitOp::create(b, loc);
  }
  gpu::BarrierOp::create(b, loc);
}

void WgmmaKernelBuilder::tmaProducer(Value mapA, Value mapB) {
  // One thread of the last warp(group), which gives its registers to the
  // consumers.
  if (producerThreads(t) == 128)
    NVVM::SetMaxRegisterOp::create(b, loc, kProducerRegisters,
                                   NVVM::SetMaxRegisterAction::decrease);
  auto ifLeader = scf::IfOp::create(
      b, loc, cmp(arith::CmpIPredicate::eq, tid, threads), /*withElse=*/false);
  b.setInsertionPointToStart(&ifLeader.getThenRegion().front());
  auto loop = scf::ForOp::create(b, loc, c(0), c(tilesK), c(1));
  b.setInsertionPointToStart(loop.getBody());
  Value kt = loop.getInductionVar();
  Value stage = arith::RemUIOp::create(b, loc, kt, c(stages));
  Value round = arith::DivUIOp::create(b, loc, kt, c(stages));
  Value parity = toI32(arith::RemUIOp::create(b, loc, add(round, c(1)), c(2)));
  NVVM::MBarrierTryWaitParityOp::create(b, loc, emptyBarrier(stage), parity,
                                        i32c(kWaitTicks));
  Value bar = fullBarrier(stage);
  NVVM::MBarrierArriveExpectTxOp::create(
      b, loc, Type(), bar, i32c(stageBytes(t)), NVVM::MemScopeKind::CTA,
      /*relaxed=*/false, Value());
  Value k = toI32(mul(kt, tileK));
  struct Box {
    Value map, firstRow;
    int64_t offset;
  } boxes[] = {{mapA, first.row, 0}, {mapB, first.col, blockM * tileK}};
  // The destination as a shared::cluster address (this block's own shared
  // memory: the .shared::cta form needs PTX 8.6).
  auto clusterPtrType = LLVM::LLVMPointerType::get(ctx, 7);
  for (const Box &box : boxes)
    NVVM::CpAsyncBulkTensorGlobalToSharedClusterOp::create(
        b, loc,
        LLVM::AddrSpaceCastOp::create(
            b, loc, clusterPtrType,
            sharedPtr(add(stageOffset(stage), c(box.offset)))),
        box.map, ValueRange{k, toI32(box.firstRow)}, bar, ValueRange{}, Value(),
        Value(), NVVM::TMALoadMode::TILE, /*isCTAOnly=*/false,
        NVVM::CTAGroupKindAttr(), Value());
}

Value WgmmaKernelBuilder::tmaConsumerLoop() {
  auto accType = LLVM::LLVMStructType::getLiteral(
      ctx, SmallVector<Type>(t.tileN / 2, b.getI32Type()));
  Value zeroAcc = LLVM::ZeroOp::create(b, loc, accType);
  auto loop =
      scf::ForOp::create(b, loc, c(0), c(tilesK), c(1), ValueRange{zeroAcc});
  {
    OpBuilder::InsertionGuard inLoop(b);
    b.setInsertionPointToStart(loop.getBody());
    Value kt = loop.getInductionVar();
    Value acc = loop.getRegionIterArgs().front();
    Value stage = arith::RemUIOp::create(b, loc, kt, c(stages));
    Value parity = toI32(arith::RemUIOp::create(
        b, loc, arith::DivUIOp::create(b, loc, kt, c(stages)), c(2)));
    NVVM::MBarrierTryWaitParityOp::create(b, loc, fullBarrier(stage), parity,
                                          i32c(kWaitTicks));
    Value stageAddress = add(base, stageOffset(stage));
    Value aAddress = add(stageAddress, mul(warpgroup, 64 * tileK));
    Value bAddress = add(stageAddress, c(blockM * tileK));
    acc = wgmmaStep(acc, aAddress, bAddress);
    // The previous step's wgmmas are complete: release its stage.
    auto ifPrevious = scf::IfOp::create(
        b, loc, cmp(arith::CmpIPredicate::ugt, kt, 0), /*withElse=*/false);
    {
      OpBuilder::InsertionGuard inIf(b);
      b.setInsertionPointToStart(&ifPrevious.getThenRegion().front());
      Value previous =
          arith::RemUIOp::create(b, loc, add(kt, c(stages - 1)), c(stages));
      NVVM::MBarrierArriveOp::create(b, loc, Type(), emptyBarrier(previous),
                                     Value());
    }
    scf::YieldOp::create(b, loc, acc);
  }
  NVVM::WgmmaWaitGroupSyncOp::create(b, loc, 0);
  return loop.getResult(0);
}

void WgmmaKernelBuilder::buildTmaBody() {
  Value epi = epilogueBuffer(c(0));
  barriers = add(pad, c(stages * stageBytes(t) + layout.bytes()));
  auto ptr = LLVM::LLVMPointerType::get(ctx);
  unsigned args = fn.getNumArguments();
  Value mapA =
      UnrealizedConversionCastOp::create(b, loc, ptr, fn.getArgument(args - 3))
          .getResult(0);
  Value mapB =
      UnrealizedConversionCastOp::create(b, loc, ptr, fn.getArgument(args - 2))
          .getResult(0);
  initBarriers();

  auto role =
      scf::IfOp::create(b, loc, cmp(arith::CmpIPredicate::uge, tid, threads),
                        /*withElse=*/true);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&role.getThenRegion().front());
    tmaProducer(mapA, mapB);
  }

  // The consumers.
  b.setInsertionPointToStart(&role.getElseRegion().front());
  if (producerThreads(t) == 128)
    NVVM::SetMaxRegisterOp::create(b, loc, kConsumerRegisters,
                                   NVVM::SetMaxRegisterAction::increase);
  if (layout.floats) {
    stageEpilogueOperands(epi, first);
    NVVM::CpAsyncCommitGroupOp::create(b, loc);
  }
  Value acc = tmaConsumerLoop();
  epilogue(acc, first, epi);
  b.setInsertionPointAfter(role);
}
