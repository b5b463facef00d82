//===- API.h - the C++ facade behind the Python package ----------*- C++
//-*-===//
//
// What the Python binding needs from the compiler, in plain C++ types: no
// MLIR or LLVM header is included, so that the binding (built with RTTI and
// exceptions, which the distribution's LLVM is built without) never sees an
// LLVM class. Errors come back as `false` plus a message naming the problem
// (with the MLIR diagnostics that explain it).
//
//===----------------------------------------------------------------------===//

#ifndef QUANT_XFORM_API_API_H
#define QUANT_XFORM_API_API_H

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace quant_xform::api {

/// Element types that cross the API.
enum class DType { F32, F64, F16, I8, U8, I16, I32, I64, Bool };

/// Bytes per element.
size_t itemSize(DType t);
/// "f32", "i8", ...
const char *dtypeName(DType t);

/// A borrowed, C-contiguous array (numpy's memory).
struct ArrayView {
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  const void *data = nullptr;
};

/// An owned, C-contiguous array.
struct Array {
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  std::vector<char> bytes;
};

/// Reads a safetensors file; float tensors keep F32/F64/F16, BF16 becomes
/// F32 (numpy has no bfloat16); `names` (in file order) parallels `arrays`.
bool loadSafetensors(const std::string &path, std::vector<std::string> &names,
                     std::vector<Array> &arrays, std::string &error);

/// A function's signature: shapes and element types.
struct Signature {
  std::vector<std::vector<int64_t>> argShapes, resultShapes;
  std::vector<DType> argTypes, resultTypes;
};

/// One line of the per-layer report: an op that carries `quant_xform.layer`,
/// with its transform and quantization as typed values.
struct LayerInfo {
  std::string layer, role, op;
  /// The op's operand and result types, printed.
  std::string types;
  /// Small attributes (printed), without the statistics.
  std::map<std::string, std::string> attributes;
  /// The transform in front of the linear (`quant_xform.search`'s
  /// `transform`: "smooth", "smooth+hadamard", ...; "none" without one),
  /// SmoothQuant's α, and the W8A8 output SQNR in dB without and with it.
  std::string transform = "none";
  std::optional<double> alpha, sqnrBefore, sqnrAfter;
  /// How a qlinear / mixed_linear quantizes its input: "float" (not
  /// quantized), "dynamic per_token", "dynamic per_tensor", "static",
  /// "dynamic per_token (outlier columns in float)"; the scale of a static
  /// per-tensor one.
  std::string activation = "float";
  std::optional<double> activationScale;
  /// The smallest and largest constant weight scale of a qlinear /
  /// mixed_linear.
  std::optional<double> weightScaleMin, weightScaleMax;
};

class CompiledCPU;

/// A quant_xform module with its own MLIR context.
class Module {
public:
  /// Parses MLIR text or bytecode.
  static std::unique_ptr<Module>
  parse(const std::string &source, const std::string &name, std::string &error);
  /// Parses MLIR text whose constants `dense_resource<key>` take their values
  /// from `weights` (by key), then verifies it: large weights travel as
  /// arrays instead of hex text.
  static std::unique_ptr<Module>
  parse(const std::string &source, const std::string &name,
        const std::map<std::string, ArrayView> &weights, std::string &error);
  /// Reads a file of MLIR text or bytecode.
  static std::unique_ptr<Module> load(const std::string &path,
                                      std::string &error);
  ~Module();

  /// An independent copy.
  std::unique_ptr<Module> clone() const;
  /// Prints the module; elements attributes larger than `elideLimit` (>0)
  /// are elided.
  std::string print(int64_t elideLimit, bool generic) const;
  /// Writes the module as bytecode (or text); atomically.
  bool save(const std::string &path, bool bytecode, std::string &error) const;
  /// Runs a textual pass pipeline (as `xform-opt --pass-pipeline`, or a
  /// bare list like `quant-xform-w8a8{...},canonicalize`) on the module. On
  /// failure the module may be partly transformed.
  bool runPipeline(const std::string &pipeline, std::string &error);
  /// Verifies the module.
  bool verify(std::string &error) const;

  /// The signature of `function`.
  bool signature(const std::string &function, Signature &sig,
                 std::string &error) const;
  /// Runs `function` in the reference evaluator (float64 inside; results in
  /// the declared element types). With `declaredPrecision`, every float op
  /// rounds its result to its declared type, as compiled code does.
  bool evaluate(const std::string &function, const std::vector<ArrayView> &args,
                std::vector<Array> &results, std::string &error,
                bool declaredPrecision = false) const;
  /// Ops carrying `quant_xform.layer`, in program order.
  std::vector<LayerInfo> layers() const;

  /// JIT-compiles `function` for this CPU (`int8Kernel`: auto, loops,
  /// vector, avx512-vnni).
  std::unique_ptr<CompiledCPU> compileCPU(const std::string &function,
                                          int64_t threads,
                                          const std::string &int8Kernel,
                                          std::string &error) const;
  /// JIT-compiles the module once and returns `functions` (one engine:
  /// a module's code and constants are compiled once). Empty on failure.
  std::vector<std::unique_ptr<CompiledCPU>>
  compileCPUFunctions(const std::vector<std::string> &functions,
                      int64_t threads, const std::string &int8Kernel,
                      std::string &error) const;

  struct Impl;

private:
  explicit Module(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl;
};

/// A function JIT-compiled for the CPU.
class CompiledCPU {
public:
  ~CompiledCPU();
  const Signature &signature() const { return sig; }
  /// Runs on caller buffers; checks shapes and dtypes against the
  /// signature. `results` receive freshly allocated arrays.
  bool run(const std::vector<ArrayView> &args, std::vector<Array> &results,
           std::string &error) const;
  /// Runs into caller-owned result buffers (no allocation).
  bool runInto(const std::vector<ArrayView> &args,
               const std::vector<void *> &results, std::string &error) const;

  struct Impl;
  explicit CompiledCPU(std::unique_ptr<Impl> impl, Signature sig);

private:
  std::unique_ptr<Impl> impl;
  Signature sig;
};

} // namespace quant_xform::api

#endif
