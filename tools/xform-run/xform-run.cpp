//===- xform-run.cpp - run a function of a quant-xform module -------------===//
//
// Runs a function on .npy or seeded random inputs with the reference
// evaluator, prints and/or saves its results, and compares other versions
// of the model (e.g. after quantization) against it:
//
//   xform-run --reference model.mlir --seed 1
//   xform-run --reference model.mlir --input x.npy --output y.npy
//   xform-run --reference float.mlir --compare int8.mlir --no-print
//   xform-run --target=cpu int8.mlir --compare-reference --time 20
//
//===----------------------------------------------------------------------===//

#include "quant-xform/Calibration/ObserverStatistics.h"
#include "quant-xform/Dialect/QuantXform/Transforms/Passes.h"
#include "quant-xform/IO/Npy.h"
#include "quant-xform/InitAll/InitAll.h"
#include "quant-xform/Reference/Evaluator.h"
#include "quant-xform/Reference/Metrics.h"
#include "quant-xform/Target/CPU/CPUJit.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/WithColor.h"

using namespace mlir;
using namespace mlir::quant_xform;
using namespace mlir::quant_xform::io;
using namespace mlir::quant_xform::reference;
namespace cl = llvm::cl;

static cl::opt<std::string> inputFile(cl::Positional, cl::desc("<input.mlir>"),
                                      cl::init("-"));
static cl::opt<bool>
    useReference("reference",
                 cl::desc("Run with the reference evaluator (float64 / exact "
                          "integers); the same as --target=reference"));
static cl::opt<std::string>
    target("target",
           cl::desc("Where to run: reference (the evaluator) or cpu (lowered, "
                    "JIT-compiled with MLIR's ExecutionEngine)"),
           cl::init(""));
static cl::opt<int64_t> threads("cpu-threads",
                                cl::desc("CPU threads (OpenMP) for "
                                         "--target=cpu"),
                                cl::init(1));
static cl::opt<Int8KernelChoice> int8Kernel(
    "cpu-int8-kernel",
    cl::desc("int8 GEMM code for --target=cpu (auto: AMX, else VNNI, when "
             "the host has it)"),
    cl::init(Int8KernelChoice::Auto),
    cl::values(
        clEnumValN(Int8KernelChoice::Auto, "auto", "the host's best"),
        clEnumValN(Int8KernelChoice::Amx, "amx", "AMX tiles"),
        clEnumValN(Int8KernelChoice::Avx512Vnni, "avx512-vnni", "AVX-512 VNNI"),
        clEnumValN(Int8KernelChoice::Vector, "vector", "plain vector code"),
        clEnumValN(Int8KernelChoice::Loops, "loops",
                   "one linalg contraction")));
static cl::opt<bool> compareReference(
    "compare-reference",
    cl::desc("With --target=cpu: compare the results with the reference "
             "evaluator's on the same module (rounding every float op to its "
             "declared type, as compiled code does)"));
static cl::opt<int64_t>
    timeIterations("time",
                   cl::desc("With --target=cpu: run this many more times "
                            "after 3 warm-up runs and print the median"),
                   cl::init(0));
static cl::opt<std::string> entry("entry", cl::desc("Function to run"),
                                  cl::init("main"));
static cl::list<std::string>
    inputs("input", cl::desc("A .npy file per argument, in order (default: "
                             "seeded random inputs)"));
static cl::opt<uint64_t> seed("seed", cl::desc("Seed for random inputs"),
                              cl::init(0));
static cl::list<std::string>
    outputs("output", cl::desc("Write result #i to the i-th .npy file"));
static cl::opt<bool> noPrint("no-print", cl::desc("Do not print the results"));
static cl::opt<int64_t> printLimit("print-limit",
                                   cl::desc("Elements printed per result"),
                                   cl::init(256));
static cl::list<std::string> compareFiles(
    "compare",
    cl::desc("Run the same function of another module on the same inputs "
             "and print its error against this one"));
static cl::opt<double> maxRelErr(
    "max-rel-err",
    cl::desc("With --compare: fail (exit 1) when a result's relative error "
             "exceeds this"),
    cl::init(-1.0));
static cl::opt<double> minSqnr(
    "min-sqnr",
    cl::desc("With --compare: fail (exit 1) when a result's SQNR in dB is "
             "below this"),
    cl::init(-1e300));
static cl::list<std::string> compareNpy(
    "compare-npy",
    cl::desc("Compare result #i with the i-th .npy file (e.g. the output of "
             "an AOT-compiled program or of another framework)"));
static cl::opt<bool> exactInts(
    "exact-ints",
    cl::desc("With --compare: fail (exit 1) unless integer results match "
             "exactly"));
static cl::opt<bool>
    printObservers("print-observers",
                   cl::desc("Print statistics of quant_xform.observe ops"));

static int fail(const Twine &msg) {
  llvm::WithColor::error(llvm::errs(), "xform-run") << msg << "\n";
  return 1;
}

/// Parses and verifies a module and checks its constant transform matrices,
/// reporting diagnostics on stderr.
static OwningOpRef<ModuleOp> loadModule(MLIRContext &ctx, StringRef path) {
  std::string error;
  llvm::SourceMgr sourceMgr;
  auto file = openInputFile(path, &error);
  if (!file) {
    fail(error);
    return nullptr;
  }
  sourceMgr.AddNewSourceBuffer(std::move(file), llvm::SMLoc());
  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(sourceMgr, &ctx);
  // The value claims of constant transform matrices (not the verifier's).
  if (module && failed(quant_xform::checkTransformMatrices(*module)))
    return nullptr;
  return module;
}

/// The function to run: --entry, or the module's only function.
static std::string pickEntry(ModuleOp module) {
  if (module.lookupSymbol<func::FuncOp>(entry))
    return entry;
  SmallVector<func::FuncOp> funcs(module.getOps<func::FuncOp>());
  if (entry.getNumOccurrences() == 0 && funcs.size() == 1)
    return funcs.front().getName().str();
  return entry;
}

int main(int argc, char **argv) {
  llvm::InitLLVM y(argc, argv);
  cl::ParseCommandLineOptions(argc, argv, "quant-xform runner\n");
  if (useReference && !target.empty() && target != "reference")
    return fail("--reference and --target=" + target + " contradict");
  if (useReference || target.empty())
    target = useReference ? "reference" : "";
  if (target != "reference" && target != "cpu")
    return fail("choose a backend: --reference (or --target=reference) or "
                "--target=cpu");
  if (threads < 1 || threads > 1024)
    return fail("--cpu-threads must be in [1, 1024]");
  bool onCpu = target == "cpu";
  if (!onCpu && (compareReference || timeIterations > 0))
    return fail("--compare-reference and --time need --target=cpu");

  DialectRegistry registry;
  registerAllDialects(registry);
  MLIRContext ctx(registry);
  llvm::SourceMgr diagSourceMgr;
  SourceMgrDiagnosticHandler diagHandler(diagSourceMgr, &ctx);

  OwningOpRef<ModuleOp> module = loadModule(ctx, inputFile);
  if (!module)
    return 1;
  std::string fn = pickEntry(*module);

  SmallVector<Tensor> args;
  if (!inputs.empty()) {
    for (const std::string &path : inputs) {
      llvm::Expected<Tensor> t = readNpy(path);
      if (!t)
        return fail(llvm::toString(t.takeError()));
      args.push_back(std::move(*t));
    }
  } else {
    FailureOr<SmallVector<Tensor>> random =
        makeRandomArguments(*module, fn, seed);
    if (failed(random))
      return 1;
    args = std::move(*random);
  }

  // Runs `fn` of `m` on the chosen backend.
  Evaluator evaluator(*module);
  calibration::ObserverStatistics observers;
  evaluator.setObserveHook(&observers);
  CPUPipelineOptions cpuOptions;
  cpuOptions.threads = threads;
  cpuOptions.int8Kernel = int8Kernel;
  // JIT-compiled functions live until main returns (not static: their
  // engines must go before LLVM's own statics).
  std::vector<std::unique_ptr<cpu::CompiledFunction>> keep;
  auto runOn = [&](ModuleOp m, Evaluator &eval,
                   const cpu::CompiledFunction **compiledOut =
                       nullptr) -> FailureOr<SmallVector<Tensor>> {
    if (!onCpu)
      return eval.run(fn, args);
    FailureOr<std::unique_ptr<cpu::CompiledFunction>> compiled =
        cpu::CompiledFunction::compile(m, fn, cpuOptions);
    if (failed(compiled))
      return failure();
    keep.push_back(std::move(*compiled));
    if (compiledOut)
      *compiledOut = keep.back().get();
    return keep.back()->run(args, m.getLoc());
  };
  const cpu::CompiledFunction *compiled = nullptr;
  FailureOr<SmallVector<Tensor>> results = runOn(*module, evaluator, &compiled);
  if (failed(results))
    return 1;
  if (!outputs.empty() && outputs.size() != results->size())
    return fail(Twine("--output given ") + Twine(outputs.size()) +
                " times but '" + fn + "' returns " + Twine(results->size()) +
                " results");

  if (!noPrint)
    for (auto [i, t] : llvm::enumerate(*results))
      llvm::outs() << "result #" << i << ": " << t.toString(printLimit) << "\n";
  for (auto [path, t] : llvm::zip(outputs, *results))
    if (llvm::Error err = writeNpy(path, t))
      return fail(llvm::toString(std::move(err)));

  if (printObservers)
    for (const auto &[name, stats] : observers.byObserver()) {
      double absMax = 0.0;
      for (double v : stats.absMax)
        absMax = std::max(absMax, v);
      llvm::outs() << "observer '" << name << "': " << stats.rows << " rows, "
                   << stats.absMax.size() << " channels, absmax " << absMax
                   << "\n";
    }

  if (onCpu && timeIterations > 0) {
    if (failed(compiled->time(args, 3, module->getLoc())))
      return 1;
    FailureOr<std::vector<double>> t =
        compiled->time(args, timeIterations, module->getLoc());
    if (failed(t))
      return 1;
    std::sort(t->begin(), t->end());
    llvm::outs() << llvm::formatv("time: median {0:f3} ms over {1} runs "
                                  "({2} thread(s))\n",
                                  (*t)[t->size() / 2] * 1e3, t->size(),
                                  threads.getValue());
  }

  if (compareFiles.empty() && !compareReference && compareNpy.empty())
    return 0;
  llvm::outs() << llvm::format("%-48s %6s %12s %12s %10s %10s\n", "model",
                               "result", "max|err|", "rel.err", "SQNR(dB)",
                               "cosine");
  int status = 0;
  // Prints one row of the table and applies --exact-ints, --max-rel-err and
  // --min-sqnr; false when the shapes differ.
  auto report = [&](const std::string &name, size_t i, const Tensor &actual,
                    const Tensor &expected) {
    FailureOr<ErrorMetrics> m = compareTensors(actual, expected);
    if (failed(m))
      return false;
    llvm::outs() << llvm::format("%-48s %6zu %12.4e %12.4e %10.2f %10.6f\n",
                                 name.c_str(), i, m->maxAbsError,
                                 m->relativeError, m->sqnrDb, m->cosine);
    bool isInt = !actual.isFloat();
    if (exactInts && isInt && m->maxAbsError != 0.0) {
      fail(name + ": integer result #" + Twine(i) + " differs (max |err| " +
           llvm::formatv("{0}", m->maxAbsError).str() + ")");
      status = 1;
    }
    if (maxRelErr >= 0.0 && !(isInt && exactInts) &&
        !(m->relativeError <= maxRelErr)) {
      fail(name + ": result #" + Twine(i) + " relative error " +
           llvm::formatv("{0:e}", m->relativeError).str() +
           " exceeds --max-rel-err " +
           llvm::formatv("{0:e}", maxRelErr.getValue()).str());
      status = 1;
    }
    if (!(m->sqnrDb >= minSqnr)) {
      fail(name + ": result #" + Twine(i) + " SQNR " +
           llvm::formatv("{0:e}", m->sqnrDb).str() +
           " dB is below --min-sqnr " +
           llvm::formatv("{0:e}", minSqnr.getValue()).str());
      status = 1;
    }
    return true;
  };
  // Compares every result with `other`, a run of another version.
  auto reportAll = [&](const std::string &name,
                       ArrayRef<Tensor> other) -> bool {
    if (other.size() != results->size()) {
      fail(name + ": '" + fn + "' returns " + Twine(other.size()) +
           " results, expected " + Twine(results->size()));
      return false;
    }
    for (auto [i, pair] : llvm::enumerate(llvm::zip_equal(*results, other)))
      if (!report(name, i, std::get<0>(pair), std::get<1>(pair))) {
        fail(name + ": result #" + Twine(i) + " has another shape");
        return false;
      }
    return true;
  };

  if (!compareNpy.empty() && compareNpy.size() != results->size())
    return fail(Twine("--compare-npy given ") + Twine(compareNpy.size()) +
                " times but '" + fn + "' returns " + Twine(results->size()) +
                " results");
  for (auto [i, path] : llvm::enumerate(compareNpy)) {
    llvm::Expected<Tensor> expected = readNpy(path);
    if (!expected)
      return fail(llvm::toString(expected.takeError()));
    if (!report(path, i, (*results)[i], *expected))
      return fail(path + ": has another shape than result #" + Twine(i));
  }
  if (compareReference) {
    Evaluator referenceEval(*module);
    // Compiled code rounds every op to f32: so does the reference here.
    referenceEval.setEmulateDeclaredPrecision(true);
    FailureOr<SmallVector<Tensor>> expected = referenceEval.run(fn, args);
    if (failed(expected) || !reportAll("reference", *expected))
      return 1;
  }
  for (const std::string &path : compareFiles) {
    OwningOpRef<ModuleOp> other = loadModule(ctx, path);
    if (!other)
      return 1;
    Evaluator otherEval(*other);
    FailureOr<SmallVector<Tensor>> otherResults = runOn(*other, otherEval);
    if (failed(otherResults) || !reportAll(path, *otherResults))
      return 1;
  }
  return status;
}
