//===- CPUPipeline.cpp - quant_xform → LLVM dialect for the CPU ----------===//
//
// The named pipeline `quant-xform-lower-to-cpu`: quant_xform → linalg on
// tensors → one-shot bufferization (results become out-parameters) → loops
// (parallel loops through OpenMP when threads > 1) → LLVM dialect. Every
// function gets a C interface (`_mlir_ciface_<name>`) taking memref
// descriptors.
//
//===----------------------------------------------------------------------===//

#include "quant-xform/Conversion/QuantXformCPUToLLVM/Passes.h"
#include "quant-xform/Conversion/QuantXformToLinalg/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/Support/raw_ostream.h"

#include <mutex>

using namespace mlir;
using namespace mlir::quant_xform;

namespace {

/// Marks every public function with `llvm.emit_c_interface`, and its tensor
/// arguments `bufferization.writable = false`: callers' input buffers are
/// read-only (the C header declares them const), unless the IR marks an
/// argument writable itself (a KV cache whose slot the step fills in
/// place). A tensor returned more
/// than once is copied for each repeat (`bufferization.alloc_tensor
/// copy(...)`): each result is its own out-parameter, and upstream's
/// buffer-results-to-out-params crashes on a buffer returned twice.
struct EmitCInterface
    : public PassWrapper<EmitCInterface, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(EmitCInterface)
  StringRef getArgument() const final { return "quant-xform-emit-c-interface"; }
  StringRef getDescription() const final {
    return "Give every function a C interface (_mlir_ciface_<name>) with "
           "read-only tensor arguments and distinct results";
  }
  void getDependentDialects(DialectRegistry &registry) const override {
    registry.insert<bufferization::BufferizationDialect>();
  }
  void runOnOperation() override {
    getOperation().walk([&](func::FuncOp f) {
      if (f.isPrivate()) // internal (e.g. outlined GPU kernel functions)
        return;
      f->setAttr(LLVM::LLVMDialect::getEmitCWrapperAttrName(),
                 UnitAttr::get(&getContext()));
      if (f.isExternal())
        return;
      for (unsigned i = 0; i < f.getNumArguments(); ++i)
        if (isa<TensorType>(f.getArgumentTypes()[i]) &&
            !f.getArgAttr(i, "bufferization.writable"))
          f.setArgAttr(i, "bufferization.writable",
                       BoolAttr::get(&getContext(), false));
      f.walk(copyRepeatedResults);
    });
  }

  static void copyRepeatedResults(func::ReturnOp ret) {
    llvm::SmallPtrSet<Value, 8> seen;
    OpBuilder b(ret);
    for (OpOperand &result : ret->getOpOperands()) {
      auto type = dyn_cast<RankedTensorType>(result.get().getType());
      if (!type || seen.insert(result.get()).second)
        continue;
      result.set(bufferization::AllocTensorOp::create(
          b, ret.getLoc(), type, ValueRange{}, result.get()));
    }
  }
};

/// Drops the `contract` flag from the bf16 / f16 casts that
/// `arith-emulate-unsupported-floats` puts around each emulated op, so
/// that folding cannot remove an `extf(truncf(x))` pair: every bf16 op
/// then rounds its result, as the IR (and the reference evaluator) says.
struct StrictHalfFloatCasts
    : public PassWrapper<StrictHalfFloatCasts, OperationPass<func::FuncOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(StrictHalfFloatCasts)
  StringRef getArgument() const final {
    return "quant-xform-strict-half-float-casts";
  }
  StringRef getDescription() const final {
    return "Keep the rounding of every emulated bf16 / f16 op (no "
           "contract flag on their casts)";
  }
  void runOnOperation() override {
    auto none = arith::FastMathFlagsAttr::get(&getContext(),
                                              arith::FastMathFlags::none);
    getOperation().walk([&](Operation *op) {
      if (isa<arith::ExtFOp, arith::TruncFOp>(op))
        op->setAttr("fastmath", none);
    });
  }
};

/// Rewrites a `memref.copy` between buffers that are not both contiguous
/// (a slice of a tensor inserted into a wider one, say) as `linalg.copy`,
/// which becomes loops: the LLVM lowering would call the runtime's generic
/// `memrefCopy`, which neither the JIT nor an AOT object links.
struct StridedCopiesToLinalg
    : public PassWrapper<StridedCopiesToLinalg, OperationPass<func::FuncOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(StridedCopiesToLinalg)
  StringRef getArgument() const final {
    return "quant-xform-strided-copies-to-linalg";
  }
  StringRef getDescription() const final {
    return "Copies between non-contiguous memrefs as linalg.copy (loops), "
           "not calls to memrefCopy";
  }
  void getDependentDialects(DialectRegistry &registry) const override {
    registry.insert<linalg::LinalgDialect>();
  }
  static bool contiguous(Value v) {
    auto type = dyn_cast<MemRefType>(v.getType());
    return type && type.getLayout().isIdentity();
  }
  void runOnOperation() override {
    SmallVector<memref::CopyOp> copies;
    getOperation().walk([&](memref::CopyOp copy) {
      if (!contiguous(copy.getSource()) || !contiguous(copy.getTarget()))
        copies.push_back(copy);
    });
    for (memref::CopyOp copy : copies) {
      OpBuilder b(copy);
      linalg::CopyOp::create(b, copy.getLoc(), copy.getSource(),
                             copy.getTarget());
      copy.erase();
    }
  }
};

struct CPUPipelineCLOptions : public PassPipelineOptions<CPUPipelineCLOptions> {
  Option<int64_t> threads{
      *this, "threads",
      llvm::cl::desc("OpenMP threads for the outer parallel loops (1: none)"),
      llvm::cl::init(1)};
  Option<Int8KernelChoice> int8Kernel{
      *this, "int8-kernel",
      llvm::cl::desc("int8 GEMM code (auto: AMX, else VNNI, when the host CPU "
                     "has it)"),
      llvm::cl::init(Int8KernelChoice::Auto),
      llvm::cl::values(
          clEnumValN(Int8KernelChoice::Loops, "loops",
                     "one linalg contraction (portable, slow)"),
          clEnumValN(Int8KernelChoice::Vector, "vector",
                     "packed, register-blocked vector code"),
          clEnumValN(Int8KernelChoice::Avx512Vnni, "avx512-vnni",
                     "packed, vpdpbusd (AVX-512 VNNI)"),
          clEnumValN(Int8KernelChoice::Amx, "amx",
                     "packed, AMX tiles (AMX-INT8)"),
          clEnumValN(Int8KernelChoice::Auto, "auto", "the host's best"))};
  Option<bool> allowAmx{*this, "allow-amx",
                        llvm::cl::desc("Let auto pick AMX (code run by this "
                                       "process)"),
                        llvm::cl::init(true)};
  Option<bool> vectorize{*this, "vectorize",
                         llvm::cl::desc("Vector code for the float linalg ops "
                                        "(quant-xform-vectorize-for-cpu)"),
                         llvm::cl::init(true)};
};

} // namespace

std::unique_ptr<Pass> mlir::quant_xform::createEmitCInterfacePass() {
  return std::make_unique<EmitCInterface>();
}

void mlir::quant_xform::buildCPUPipeline(OpPassManager &pm,
                                         const CPUPipelineOptions &options) {
  // The upstream part is written as a textual pipeline, which needs the
  // upstream passes registered (idempotent; tools register them too).
  static std::once_flag registered;
  std::call_once(registered, [] { mlir::registerAllPasses(); });
  ConvertQuantXformToLinalgOptions lowering;
  lowering.int8Kernel = options.int8Kernel;
  lowering.allowAmx = options.allowAmx;
  lowering.cacheBlockedRotations = true;
  pm.addPass(createConvertQuantXformToLinalg(lowering));
  pm.addPass(createEmitCInterfacePass());
  std::string loops = options.threads > 1 ? "convert-linalg-to-parallel-loops,"
                                          : "convert-linalg-to-loops,";
  // After scf-to-openmp, memref.alloca_scope must be lowered before the
  // inner loops become multi-block CFGs.
  const std::string finalizeMemRef =
      options.cachingAllocator
          ? "finalize-memref-to-llvm{use-generic-functions=true}"
          : "finalize-memref-to-llvm";
  std::string omp = options.threads > 1 ? "convert-scf-to-openmp{num-threads=" +
                                              std::to_string(options.threads) +
                                              "}," + finalizeMemRef + ","
                                        : "";
  if (failed(parsePassPipeline(
          "func.func(convert-elementwise-to-linalg),canonicalize,cse", pm,
          llvm::errs())))
    llvm::report_fatal_error("quant-xform: invalid built-in CPU pipeline");
  if (options.vectorize) {
    pm.addNestedPass<func::FuncOp>(createVectorizeForCPU());
    pm.addPass(createCanonicalizerPass());
    pm.addPass(createCSEPass());
  }
  std::string pipeline =
      "one-shot-bufferize{bufferize-function-boundaries "
      "function-boundary-type-conversion=identity-layout-map},"
      "buffer-results-to-out-params{modify-public-functions "
      "hoist-static-allocs},"
      "buffer-deallocation-pipeline";
  if (failed(parsePassPipeline(pipeline, pm, llvm::errs())))
    llvm::report_fatal_error("quant-xform: invalid built-in CPU pipeline");
  pm.addNestedPass<func::FuncOp>(std::make_unique<StridedCopiesToLinalg>());
  // convert-vector-to-scf fully unrolled: otherwise it lowers an n-D
  // transfer through a stack temporary allocated where the transfer is; in
  // a loop (an odd-sized batch matmul's tiles) each iteration grew the
  // stack until it overflowed (attention over 127 keys, 8 × 4 heads).
  pipeline = "func.func(" +
             std::string(options.threads > 1 ? "scf-forall-to-parallel,"
                                             : "scf-forall-to-for,") +
             loops + "lower-affine),canonicalize," + omp +
             "convert-vector-to-scf{full-unroll=true},"
             "convert-scf-to-cf,expand-strided-metadata,"
             "lower-affine";
  if (failed(parsePassPipeline(pipeline, pm, llvm::errs())))
    llvm::report_fatal_error("quant-xform: invalid built-in CPU pipeline");
  // bf16 arithmetic in f32, each op rounded, and the bf16 <-> f32 casts as
  // integer ops: x86 has no bf16 ALU, and LLVM would call compiler-rt's
  // __truncsfbf2, which the JIT cannot resolve.
  if (failed(parsePassPipeline("func.func(arith-emulate-unsupported-floats{"
                               "source-types=bf16 target-type=f32})",
                               pm, llvm::errs())))
    llvm::report_fatal_error("quant-xform: invalid built-in CPU pipeline");
  pm.addNestedPass<func::FuncOp>(std::make_unique<StrictHalfFloatCasts>());
  pipeline =
      std::string("func.func(arith-expand{include-bf16=true}),"
                  "convert-vector-to-llvm{enable-amx},") +
      finalizeMemRef +
      ",convert-math-to-llvm,convert-math-to-libm,"
      "convert-arith-to-llvm,convert-index-to-llvm,convert-cf-to-llvm," +
      (options.threads > 1 ? std::string("convert-openmp-to-llvm,") : "") +
      "convert-func-to-llvm,convert-ub-to-llvm,reconcile-unrealized-casts";
  if (failed(parsePassPipeline(pipeline, pm, llvm::errs())))
    llvm::report_fatal_error("quant-xform: invalid built-in CPU pipeline");
  pm.addPass(createConvertQuantXformCPUToLLVM());
}

void mlir::quant_xform::registerCPUPipeline() {
  PassRegistration<EmitCInterface>();
  PassRegistration<StrictHalfFloatCasts>();
  PassRegistration<StridedCopiesToLinalg>();
  PassPipelineRegistration<CPUPipelineCLOptions>(
      "quant-xform-lower-to-cpu",
      "Lower quant_xform (and linalg/tensor) to the LLVM dialect for the CPU",
      [](OpPassManager &pm, const CPUPipelineCLOptions &cl) {
        CPUPipelineOptions options;
        options.threads = cl.threads;
        options.int8Kernel = cl.int8Kernel;
        options.allowAmx = cl.allowAmx;
        options.vectorize = cl.vectorize;
        buildCPUPipeline(pm, options);
      });
}
