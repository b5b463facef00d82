//===- xform-aot.cpp - compile a function to an object file + C header ----===//
//
// Ahead-of-time compilation for the CPU: lowers a quant_xform module with
// the CPU pipeline, emits a native object file, and writes a C header that
// declares the generated entry point and a plain-pointer wrapper, so that a
// C or C++ program can call the model without MLIR installed:
//
//   xform-aot model.mlir --entry main -o model.o --header model.h
//   c++ app.cpp model.o -lm            (app.cpp: #include "model.h", calls
//                                       qx_model(x, y))
//
//===----------------------------------------------------------------------===//

#include "quant-xform/Conversion/Passes.h"
#include "quant-xform/Dialect/QuantXform/Transforms/Passes.h"
#include "quant-xform/InitAll/InitAll.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/OpenMP/OpenMPToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Target/TargetOptions.h"
#include "llvm/TargetParser/Host.h"

using namespace mlir;
using namespace mlir::quant_xform;
namespace cl = llvm::cl;

static cl::opt<std::string> inputFile(cl::Positional, cl::desc("<input.mlir>"),
                                      cl::Required);
static cl::opt<std::string> entry("entry", cl::desc("Function to export"),
                                  cl::init("main"));
static cl::opt<std::string>
    symbolName("name",
               cl::desc("C name of the exported function: _mlir_ciface_<name> "
                        "and the wrapper qx_<name> (default: the entry's "
                        "name, or 'model' for main)"),
               cl::init(""));
static cl::opt<std::string> outputFile("o", cl::desc("Object file to write"),
                                       cl::Required);
static cl::opt<std::string> headerFile("header", cl::desc("C header to write"),
                                       cl::Required);
static cl::opt<std::string>
    cpu("mcpu",
        cl::desc("CPU to generate code for: native (this machine) or an LLVM "
                 "CPU name such as x86-64-v3"),
        cl::init("native"));
static cl::opt<std::string>
    target("target",
           cl::desc("cpu (host code) or gpu (int8 tensor-core kernels in an "
                    "embedded cubin + host code calling the mgpu* ABI of "
                    "runtime/CudaRuntime.cpp; pointers are device memory)"),
           cl::init("cpu"));
static cl::opt<std::string>
    gpuChip("gpu-chip",
            cl::desc("SM for --target=gpu: sm_90a (wgmma kernels) or sm_90"),
            cl::init("sm_90a"));
static cl::opt<int64_t>
    gpuTileM("gpu-wgmma-tile-m",
             cl::desc("Rows per block of the wgmma kernel (64, 128; 0: "
                      "chosen per shape)"),
             cl::init(0));
static cl::opt<int64_t>
    gpuTileN("gpu-wgmma-tile-n",
             cl::desc("Columns per block of the wgmma kernel (32, 64, 128, "
                      "256; 0: chosen per shape)"),
             cl::init(0));
static cl::opt<int64_t>
    gpuTileK("gpu-wgmma-tile-k",
             cl::desc("Bytes of K per stage of the wgmma kernel (64, 128; "
                      "0: 128)"),
             cl::init(0));
static cl::opt<int64_t>
    gpuStages("gpu-wgmma-stages",
              cl::desc("Shared-memory buffers of the wgmma kernel (0: "
                       "chosen per shape)"),
              cl::init(0));
static cl::opt<int64_t>
    gpuGroupM("gpu-wgmma-group-m",
              cl::desc("Row blocks per raster group of the wgmma kernel (0: "
                       "chosen per shape; 1: row by row)"),
              cl::init(0));
static cl::opt<int64_t>
    gpuPlannedM("gpu-planned-m",
                cl::desc("Rows that the kernels of a run-time M (a "
                         "tensor<?xK> argument) are planned for: their "
                         "kernel and tile; any M runs"),
                cl::init(1024));
static cl::opt<bool> gpuAttentionKernel(
    "gpu-attention-kernel",
    cl::desc("quant_xform.attention on the flash attention kernel (f16 "
             "products); false: f32 loop kernels"),
    cl::init(true));
static cl::opt<bool> gpuHalfQuantizeInputs(
    "gpu-half-quantize-inputs",
    cl::desc("Store a linear's result in bf16 where only a per-token "
             "quantize kernel reads it (one rounding of at most 2^-9 "
             "relative in front of the int8 one; measured no faster on "
             "MiniLM, so off by default)"),
    cl::init(false));
static cl::opt<bool> gpuPersistent(
    "gpu-wgmma-persistent",
    cl::desc("Persistent wgmma blocks (one per SM) where the grid has more "
             "than one wave"),
    cl::init(false));
static cl::opt<bool> gpuTma(
    "gpu-wgmma-tma",
    cl::desc("TMA loads (a producer warp, mbarriers) in the wgmma kernel "
             "instead of cp.async (false with --gpu-wgmma-persistent)"),
    cl::init(true));
static cl::opt<bool> gpuDependentLaunch(
    "gpu-dependent-launch",
    cl::desc("Launch each kernel as a dependent of the kernel before it on "
             "the stream (it starts while that one finishes)"),
    cl::init(true));
static cl::opt<std::string> gpuWeightsFile(
    "gpu-weights-file",
    cl::desc("Weights as data: write constants of at least "
             "--gpu-weights-min-bytes bytes to this safetensors file; the "
             "entry point then takes the table of their device buffers as "
             "its last argument (default: weights stay in the object)"),
    cl::init(""));
static cl::opt<int64_t> gpuWeightsMinBytes(
    "gpu-weights-min-bytes",
    cl::desc("With --gpu-weights-file: smaller constants stay in the object"),
    cl::init(0));
static cl::opt<int64_t> threads("cpu-threads",
                                cl::desc("OpenMP threads (> 1: link libomp)"),
                                cl::init(1));

static int fail(const Twine &msg) {
  llvm::WithColor::error(llvm::errs(), "xform-aot") << msg << "\n";
  return 1;
}

/// The C element type for a tensor element type (bf16 and f16 as their bit
/// patterns in uint16_t), or "" when unsupported.
static std::string cType(Type t) {
  if (t.isF32())
    return "float";
  if (t.isF64())
    return "double";
  if (t.isBF16() || t.isF16())
    return "uint16_t"; // the raw 16-bit pattern
  if (auto i = dyn_cast<IntegerType>(t)) {
    std::string base = i.isUnsigned() ? "uint" : "int";
    if (i.getWidth() == 8 || i.getWidth() == 16 || i.getWidth() == 32 ||
        i.getWidth() == 64)
      return base + std::to_string(i.getWidth()) + "_t";
  }
  return "";
}

/// Whether `t` has a run-time first dimension (its rows).
static bool hasRuntimeRows(RankedTensorType t) {
  return t.getRank() > 0 && t.isDynamicDim(0);
}

/// Writes the header: descriptor structs, the C interface and a wrapper
/// taking contiguous row-major buffers (and, where a tensor's first
/// dimension is a run-time one, the rows `m` they all share, first).
/// Arguments are const but those of `writableArgs`.
static std::string makeHeader(StringRef entry, FunctionType fnType,
                              ArrayRef<bool> writableArgs, StringRef source,
                              bool weightTable) {
  std::string name = entry.str();
  std::string guard = "QUANT_XFORM_AOT_" + llvm::StringRef(name).upper() + "_H";
  std::string out;
  llvm::raw_string_ostream os(out);
  os << "// Generated by xform-aot from " << source << " (function @" << name
     << "). Do not edit.\n"
     << "#ifndef " << guard << "\n#define " << guard << "\n\n"
     << "#include <stdint.h>\n\n#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n";
  SmallVector<std::string> params, inits;
  auto all = llvm::to_vector(fnType.getInputs());
  llvm::append_range(all, fnType.getResults());
  unsigned numArgs = fnType.getNumInputs();
  if (llvm::any_of(all, [](Type t) {
        return hasRuntimeRows(cast<RankedTensorType>(t));
      }))
    params.push_back("int64_t m");
  for (auto [i, t] : llvm::enumerate(all)) {
    auto rt = cast<RankedTensorType>(t);
    std::string ct = cType(rt.getElementType());
    std::string sname = name + "_memref_" + std::to_string(i);
    int64_t rank = rt.getRank();
    os << "/// Descriptor of " << (i < numArgs ? "argument " : "result ")
       << (i < numArgs ? i : i - numArgs) << ": " << t << "\n";
    os << "typedef struct { " << ct << " *allocated; " << ct
       << " *aligned; int64_t offset;";
    if (rank > 0)
      os << " int64_t sizes[" << rank << "]; int64_t strides[" << rank << "];";
    os << " } " << sname << ";\n";
    bool isArg = i < numArgs;
    std::string var =
        isArg ? "in" + std::to_string(i) : "out" + std::to_string(i - numArgs);
    params.push_back((isArg && !writableArgs[i] ? "const " : "") + ct + " *" +
                     var);
    std::string init = "  " + sname + " d" + std::to_string(i) + " = {(" + ct +
                       " *)" + var + ", (" + ct + " *)" + var + ", 0";
    // Only the first dimension may be a run-time one (`m`): the strides
    // are constants.
    int64_t stride = 1;
    SmallVector<int64_t> strides(rank);
    for (int64_t d = rank - 1; d >= 0; --d) {
      strides[d] = stride;
      stride *= rt.getDimSize(d);
    }
    auto size = [&](int64_t d) {
      return rt.isDynamicDim(d) ? std::string("m")
                                : std::to_string(rt.getDimSize(d));
    };
    if (rank > 0) {
      init += ", {";
      for (int64_t d = 0; d < rank; ++d)
        init += (d ? ", " : "") + size(d);
      init += "}, {";
      for (int64_t d = 0; d < rank; ++d)
        init += (d ? ", " : "") + std::to_string(strides[d]);
      init += "}";
    }
    inits.push_back(init + "};");
  }
  if (weightTable) {
    // quant-xform-gpu-weights-as-data: the table of device weights last.
    os << "/// Descriptor of the weight table: the layout, then each "
          "weight's device address and bytes (quant_xform/cuda.py fills "
          "it from the weight file).\n"
       << "typedef struct { int64_t *allocated; int64_t *aligned; int64_t "
          "offset; int64_t sizes[1]; int64_t strides[1]; } "
       << name << "_weights;\n";
    params.push_back("const int64_t *weights");
    params.push_back("int64_t weightsLength");
    inits.push_back("  " + name + "_weights dw = {(int64_t *)weights, " +
                    "(int64_t *)weights, 0, {weightsLength}, {1}};");
  }
  os << "\n/// The generated entry point (MLIR's C interface): arguments, then "
        "results as caller-allocated out-parameters"
     << (weightTable ? ", then the weight table" : "") << ".\n"
     << "void _mlir_ciface_" << name << "(";
  for (auto [i, t] : llvm::enumerate(all))
    os << (i ? ", " : "") << name << "_memref_" << i << " *";
  if (weightTable)
    os << ", " << name << "_weights *";
  os << ");\n\n/// Runs @" << name
     << " on contiguous row-major buffers (results are written to the out "
        "buffers).\nstatic inline void qx_"
     << name << "(";
  for (auto [i, p] : llvm::enumerate(params))
    os << (i ? ", " : "") << p;
  os << ") {\n";
  for (const std::string &init : inits)
    os << init << "\n";
  os << "  _mlir_ciface_" << name << "(";
  for (size_t i = 0; i < all.size(); ++i)
    os << (i ? ", " : "") << "&d" << i;
  if (weightTable)
    os << ", &dw";
  os << ");\n}\n\n#ifdef __cplusplus\n}\n#endif\n\n#endif\n";
  return out;
}

int main(int argc, char **argv) {
  llvm::InitLLVM y(argc, argv);
  cl::ParseCommandLineOptions(argc, argv, "quant-xform AOT compiler\n");
  if (threads < 1 || threads > 1024)
    return fail("--cpu-threads must be in [1, 1024]");
  if (target != "cpu" && target != "gpu")
    return fail("--target must be cpu or gpu");

  DialectRegistry registry;
  registerAllDialects(registry);
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  registerOpenMPDialectTranslation(registry);
  registerAllToLLVMIRTranslations(registry); // gpu.binary, NVVM
  MLIRContext ctx(registry);
  // Errors name the problem and the location; a whole model is not printed.
  ctx.printOpOnDiagnostic(false);
  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler diagHandler(sourceMgr, &ctx);
  std::string error;
  auto file = openInputFile(inputFile, &error);
  if (!file)
    return fail(error);
  sourceMgr.AddNewSourceBuffer(std::move(file), llvm::SMLoc());
  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(sourceMgr, &ctx);
  if (!module || failed(quant_xform::checkTransformMatrices(*module)))
    return 1;
  auto fn = module->lookupSymbol<func::FuncOp>(entry);
  if (!fn)
    return fail("no function named '" + entry + "'");
  for (Type t :
       llvm::concat<const Type>(fn.getArgumentTypes(), fn.getResultTypes())) {
    auto rt = dyn_cast<RankedTensorType>(t);
    std::string s;
    llvm::raw_string_ostream(s) << t;
    bool rowsOnly =
        rt && rt.getRank() > 0 &&
        RankedTensorType::get(rt.getShape().drop_front(), rt.getElementType())
            .hasStaticShape();
    if (!rt || (!rt.hasStaticShape() && !rowsOnly) ||
        cType(rt.getElementType()).empty())
      return fail("@" + entry +
                  ": only tensors of f32, f64, bf16, f16 or 8–64-bit "
                  "integers with static dimensions (the first may be a "
                  "run-time one with --target=gpu) can be exported, got " +
                  s);
    if (!rt.hasStaticShape() && target != "gpu")
      return fail("@" + entry + ": a run-time first dimension (" + s +
                  ") is exported with --target=gpu only");
  }
  // Export only the entry, under a name that cannot clash with a C main.
  std::string name = symbolName.empty()
                         ? (entry == "main" ? std::string("model") : entry)
                         : symbolName.getValue();
  if (name.empty() ||
      !llvm::all_of(name,
                    [](char c) { return llvm::isAlnum(c) || c == '_'; }) ||
      llvm::isDigit(name[0]))
    return fail("--name must be a C identifier, got '" + name + "'");
  for (auto f : module->getOps<func::FuncOp>())
    if (f != fn && !f.isExternal())
      f.setPrivate();
  if (failed(SymbolTable::replaceAllSymbolUses(fn, StringAttr::get(&ctx, name),
                                               *module)))
    return fail("cannot rename @" + entry);
  fn.setSymName(name);
  FunctionType entryType = fn.getFunctionType();
  // Arguments the IR marks writable (a KV cache whose slot a step fills in
  // place) are written by the function: not const in the header.
  SmallVector<bool> writableArgs;
  for (unsigned i = 0; i < fn.getNumArguments(); ++i) {
    auto writable = fn.getArgAttrOfType<BoolAttr>(i, "bufferization.writable");
    writableArgs.push_back(writable && writable.getValue());
  }

  PassManager pm(&ctx);
  // The other functions were only there for the entry: drop them unless it
  // calls them.
  pm.addPass(createSymbolDCEPass());
  if (target == "gpu") {
    GPUPipelineOptions options;
    options.chip = gpuChip;
    options.wgmmaTileM = gpuTileM;
    options.wgmmaTileN = gpuTileN;
    options.wgmmaTileK = gpuTileK;
    options.wgmmaStages = gpuStages;
    options.wgmmaGroupM = gpuGroupM;
    options.plannedM = gpuPlannedM;
    options.attentionKernel = gpuAttentionKernel;
    options.halfQuantizeInputs = gpuHalfQuantizeInputs;
    options.wgmmaPersistent = gpuPersistent;
    options.wgmmaTma = gpuTma;
    options.dependentLaunch = gpuDependentLaunch;
    options.weightsFile = gpuWeightsFile;
    options.weightsMinBytes = gpuWeightsMinBytes;
    buildGPUPipeline(pm, options);
  } else {
    CPUPipelineOptions options;
    options.threads = threads;
    // The object runs in someone else's process, which has not asked the
    // OS for AMX tiles: VNNI at most.
    options.allowAmx = false;
    buildCPUPipeline(pm, options);
  }
  if (failed(pm.run(*module)))
    return 1;
  // Weights as data: the entry takes the weight table where any weight
  // left the object.
  bool weightTable =
      llvm::any_of(module->getOps<LLVM::LLVMFuncOp>(), [](LLVM::LLVMFuncOp f) {
        return f.getSymName().starts_with("_mlir_ciface_qxGpuWeight");
      });
  std::string header =
      makeHeader(name, entryType, writableArgs, inputFile, weightTable);

  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule =
      translateModuleToLLVMIR(*module, llvmContext);
  if (!llvmModule)
    return fail("translation to LLVM IR failed");

  llvm::Triple triple(llvm::sys::getDefaultTargetTriple());
  const llvm::Target *target =
      llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return fail(error);
  std::string cpuName =
      cpu == "native" ? llvm::sys::getHostCPUName().str() : cpu.getValue();
  std::string features;
  if (cpu == "native")
    for (const auto &[feature, on] : llvm::sys::getHostCPUFeatures())
      features += (features.empty() ? "" : ",") + std::string(on ? "+" : "-") +
                  feature.str();
  std::unique_ptr<llvm::TargetMachine> machine(target->createTargetMachine(
      triple, cpuName, features, llvm::TargetOptions(), llvm::Reloc::PIC_,
      std::nullopt, llvm::CodeGenOptLevel::Aggressive));
  if (!machine)
    return fail("cannot create a target machine for CPU '" + cpuName + "'");
  llvmModule->setDataLayout(machine->createDataLayout());
  llvmModule->setTargetTriple(triple);
  auto optimize = makeOptimizingTransformer(3, 0, machine.get());
  if (llvm::Error err = optimize(llvmModule.get()))
    return fail(llvm::toString(std::move(err)));

  // Write both outputs to temporaries first: no half-written files.
  std::error_code ec;
  auto object = std::make_unique<llvm::ToolOutputFile>(outputFile, ec,
                                                       llvm::sys::fs::OF_None);
  if (ec)
    return fail("cannot write '" + outputFile + "': " + ec.message());
  llvm::legacy::PassManager codegen;
  if (machine->addPassesToEmitFile(codegen, object->os(), nullptr,
                                   llvm::CodeGenFileType::ObjectFile))
    return fail("the target cannot emit object files");
  codegen.run(*llvmModule);
  auto headerOut = std::make_unique<llvm::ToolOutputFile>(
      headerFile, ec, llvm::sys::fs::OF_Text);
  if (ec)
    return fail("cannot write '" + headerFile + "': " + ec.message());
  headerOut->os() << header;
  object->keep();
  headerOut->keep();
  return 0;
}
