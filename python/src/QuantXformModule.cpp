//===- QuantXformModule.cpp - the nanobind module quant_xform._core -------===//
//
// Binds the plain-C++ facade (quant-xform/API/API.h) for Python: modules
// (parse, print, pass pipelines, reference evaluation, the per-layer
// report), CPU JIT compilation and safetensors reading. Arrays come in as
// anything nanobind's ndarray accepts (numpy, or torch and others through
// DLPack) and go out as numpy arrays. Errors raise
// quant_xform.QuantXformError with the compiler's diagnostics.
//
//===----------------------------------------------------------------------===//

#include "quant-xform/API/API.h"

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/map.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/unique_ptr.h>
#include <nanobind/stl/vector.h>

#include <stdexcept>

namespace nb = nanobind;
using namespace quant_xform::api;

namespace {

/// Raised (as quant_xform.QuantXformError) for every compiler error.
struct QuantXformError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

void check(bool ok, const std::string &error) {
  if (!ok)
    throw QuantXformError(error);
}

using AnyArray = nb::ndarray<nb::ro, nb::device::cpu>;

DType toDType(const nb::dlpack::dtype &t) {
  using Code = nb::dlpack::dtype_code;
  if (t.lanes == 1) {
    if (t.code == uint8_t(Code::Float) && t.bits == 32)
      return DType::F32;
    if (t.code == uint8_t(Code::Float) && t.bits == 64)
      return DType::F64;
    if (t.code == uint8_t(Code::Float) && t.bits == 16)
      return DType::F16;
    if (t.code == uint8_t(Code::Int) && t.bits == 8)
      return DType::I8;
    if (t.code == uint8_t(Code::Int) && t.bits == 16)
      return DType::I16;
    if (t.code == uint8_t(Code::Int) && t.bits == 32)
      return DType::I32;
    if (t.code == uint8_t(Code::Int) && t.bits == 64)
      return DType::I64;
    if (t.code == uint8_t(Code::UInt) && t.bits == 8)
      return DType::U8;
    if (t.code == uint8_t(Code::Bool))
      return DType::Bool;
  }
  throw QuantXformError("unsupported array element type (code " +
                        std::to_string(t.code) + ", " + std::to_string(t.bits) +
                        " bits)");
}

nb::dlpack::dtype fromDType(DType t) {
  switch (t) {
  case DType::F32:
    return nb::dtype<float>();
  case DType::F64:
    return nb::dtype<double>();
  case DType::F16:
    return {uint8_t(nb::dlpack::dtype_code::Float), 16, 1};
  case DType::I8:
    return nb::dtype<int8_t>();
  case DType::U8:
    return nb::dtype<uint8_t>();
  case DType::I16:
    return nb::dtype<int16_t>();
  case DType::I32:
    return nb::dtype<int32_t>();
  case DType::I64:
    return nb::dtype<int64_t>();
  case DType::Bool:
    return nb::dtype<bool>();
  }
  return nb::dtype<float>();
}

/// A view of a C-contiguous CPU array.
ArrayView view(const AnyArray &a, size_t index) {
  ArrayView v;
  v.dtype = toDType(a.dtype());
  for (size_t d = 0; d < a.ndim(); ++d)
    v.shape.push_back(a.shape(d));
  // Strides are in elements; require row-major contiguity.
  int64_t expected = 1;
  for (size_t d = a.ndim(); d-- > 0;) {
    if (a.shape(d) != 1 && a.stride(d) != expected)
      throw QuantXformError("argument " + std::to_string(index) +
                            " is not C-contiguous (use numpy."
                            "ascontiguousarray)");
    expected *= a.shape(d);
  }
  v.data = a.data();
  return v;
}

std::vector<ArrayView> views(const std::vector<AnyArray> &args) {
  std::vector<ArrayView> out;
  for (size_t i = 0; i < args.size(); ++i)
    out.push_back(view(args[i], i));
  return out;
}

/// A numpy array that owns `a`'s bytes.
nb::object toNumpy(Array &&a) {
  auto *bytes = new std::vector<char>(std::move(a.bytes));
  nb::capsule owner(bytes, [](void *p) noexcept {
    delete static_cast<std::vector<char> *>(p);
  });
  std::vector<size_t> shape(a.shape.begin(), a.shape.end());
  nb::ndarray<nb::numpy> arr(bytes->data(), shape.size(), shape.data(), owner,
                             nullptr, fromDType(a.dtype));
  return nb::cast(arr, nb::rv_policy::reference);
}

nb::list toNumpyList(std::vector<Array> &&arrays) {
  nb::list out;
  for (Array &a : arrays)
    out.append(toNumpy(std::move(a)));
  return out;
}

nb::dict signatureDict(const Signature &sig) {
  auto names = [](const std::vector<DType> &types) {
    std::vector<std::string> out;
    for (DType t : types)
      out.push_back(dtypeName(t));
    return out;
  };
  nb::dict d;
  d["arg_shapes"] = sig.argShapes;
  d["arg_dtypes"] = names(sig.argTypes);
  d["result_shapes"] = sig.resultShapes;
  d["result_dtypes"] = names(sig.resultTypes);
  return d;
}

} // namespace

NB_MODULE(_core, m) {
  m.doc() = "quant-xform's compiler core (nanobind over the C++ API)";
  nb::exception<QuantXformError>(m, "QuantXformError", PyExc_RuntimeError);

  m.def(
      "load_safetensors",
      [](const std::string &path) {
        std::vector<std::string> names;
        std::vector<Array> arrays;
        std::string error;
        bool ok;
        {
          nb::gil_scoped_release release;
          ok = loadSafetensors(path, names, arrays, error);
        }
        check(ok, error);
        nb::dict out;
        for (size_t i = 0; i < names.size(); ++i)
          out[nb::str(names[i].c_str())] = toNumpy(std::move(arrays[i]));
        return out;
      },
      nb::arg("path"),
      "Reads a safetensors file (bounds-checked) into a dict of numpy "
      "arrays; bfloat16 becomes float32.");

  nb::class_<CompiledCPU>(m, "CompiledCPU",
                          "A function JIT-compiled for this CPU.")
      .def_prop_ro(
          "signature",
          [](const CompiledCPU &c) { return signatureDict(c.signature()); })
      .def(
          "run",
          [](const CompiledCPU &c, const std::vector<AnyArray> &args) {
            std::vector<ArrayView> v = views(args);
            std::vector<Array> results;
            std::string error;
            bool ok;
            {
              nb::gil_scoped_release release;
              ok = c.run(v, results, error);
            }
            check(ok, error);
            return toNumpyList(std::move(results));
          },
          nb::arg("args"),
          "Runs on C-contiguous arrays of the signature's shapes and dtypes; "
          "returns the results as numpy arrays.");

  nb::class_<Module>(m, "Module", "An MLIR module with its own context.")
      .def_static(
          "parse",
          [](nb::bytes source, const std::string &name,
             const std::map<std::string, AnyArray> &weights) {
            std::string error;
            std::unique_ptr<Module> mod;
            std::string text(source.c_str(), source.size());
            std::map<std::string, ArrayView> bound;
            size_t index = 0;
            for (const auto &[key, array] : weights)
              bound.emplace(key, view(array, index++));
            {
              nb::gil_scoped_release release;
              mod = Module::parse(text, name, bound, error);
            }
            check(mod != nullptr, error);
            return mod;
          },
          nb::arg("source"), nb::arg("name") = "<string>",
          nb::arg("weights") = std::map<std::string, AnyArray>(),
          "Parses MLIR text or bytecode (bytes). `weights` maps keys to "
          "arrays: each `dense_resource<key>` constant in the text becomes a "
          "dense constant holding that array (element type and count "
          "checked; every array must be used), so that large weights need "
          "not travel as hex text.")
      .def_static(
          "load",
          [](const std::string &path) {
            std::string error;
            std::unique_ptr<Module> mod;
            {
              nb::gil_scoped_release release;
              mod = Module::load(path, error);
            }
            check(mod != nullptr, error);
            return mod;
          },
          nb::arg("path"), "Reads a file of MLIR text or bytecode.")
      .def("clone", &Module::clone)
      .def("print", &Module::print, nb::arg("elide") = 16,
           nb::arg("generic") = false,
           "The module as text; elements attributes with more than `elide` "
           "values are elided (0: print everything).")
      .def("__str__", [](const Module &mod) { return mod.print(16, false); })
      .def(
          "save",
          [](const Module &mod, const std::string &path, bool bytecode) {
            std::string error;
            check(mod.save(path, bytecode, error), error);
          },
          nb::arg("path"), nb::arg("bytecode") = true,
          "Writes the module (bytecode by default) atomically.")
      .def(
          "run_pipeline",
          [](Module &mod, const std::string &pipeline) {
            std::string error;
            bool ok;
            {
              nb::gil_scoped_release release;
              ok = mod.runPipeline(pipeline, error);
            }
            check(ok, error);
          },
          nb::arg("pipeline"),
          "Runs a textual pass pipeline (e.g. 'quant-xform-w8a8{...}').")
      .def("verify",
           [](const Module &mod) {
             std::string error;
             check(mod.verify(error), error);
           })
      .def(
          "signature",
          [](const Module &mod, const std::string &function) {
            Signature sig;
            std::string error;
            check(mod.signature(function, sig, error), error);
            return signatureDict(sig);
          },
          nb::arg("function") = "main")
      .def(
          "evaluate",
          [](const Module &mod, const std::vector<AnyArray> &args,
             const std::string &function, bool declaredPrecision) {
            std::vector<ArrayView> v = views(args);
            std::vector<Array> results;
            std::string error;
            bool ok;
            {
              nb::gil_scoped_release release;
              ok = mod.evaluate(function, v, results, error, declaredPrecision);
            }
            check(ok, error);
            return toNumpyList(std::move(results));
          },
          nb::arg("args"), nb::arg("function") = "main",
          nb::arg("declared_precision") = false,
          "Runs a function in the reference evaluator.")
      .def(
          "layers",
          [](const Module &mod) {
            nb::list out;
            for (const LayerInfo &l : mod.layers()) {
              nb::dict d;
              d["layer"] = l.layer;
              d["role"] = l.role;
              d["op"] = l.op;
              d["types"] = l.types;
              d["attributes"] = l.attributes;
              d["transform"] = l.transform;
              d["alpha"] = l.alpha;
              d["sqnr_before"] = l.sqnrBefore;
              d["sqnr_after"] = l.sqnrAfter;
              d["activation"] = l.activation;
              d["activation_scale"] = l.activationScale;
              d["weight_scale_min"] = l.weightScaleMin;
              d["weight_scale_max"] = l.weightScaleMax;
              out.append(d);
            }
            return out;
          },
          "Ops carrying quant_xform.layer, in program order, as dicts: "
          "layer, role, op, types, attributes (printed), and typed "
          "report fields (transform, alpha, sqnr_before, sqnr_after, "
          "activation, activation_scale, weight_scale_min/max; None when "
          "absent).")
      .def(
          "compile_cpu",
          [](const Module &mod, const std::string &function, int64_t threads,
             const std::string &int8Kernel) {
            std::string error;
            std::unique_ptr<CompiledCPU> c;
            {
              nb::gil_scoped_release release;
              c = mod.compileCPU(function, threads, int8Kernel, error);
            }
            check(c != nullptr, error);
            return c;
          },
          nb::arg("function") = "main", nb::arg("threads") = 1,
          nb::arg("int8_kernel") = "auto",
          "JIT-compiles a function for this CPU.")
      .def(
          "compile_cpu_functions",
          [](const Module &mod, const std::vector<std::string> &functions,
             int64_t threads, const std::string &int8Kernel) {
            std::string error;
            std::vector<std::unique_ptr<CompiledCPU>> all;
            {
              nb::gil_scoped_release release;
              all = mod.compileCPUFunctions(functions, threads, int8Kernel,
                                            error);
            }
            check(!all.empty(), error);
            return all;
          },
          nb::arg("functions"), nb::arg("threads") = 1,
          nb::arg("int8_kernel") = "auto",
          "JIT-compiles the module once; returns the named functions.");
}
