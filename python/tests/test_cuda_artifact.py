"""GPU artifacts from Python: compile_cuda builds a loadable folder; calls
check shapes and report a missing GPU as CudaError. (Running the kernels
needs a GPU: bench/gpu/run_cuda_artifact.py does that on the device.)"""
import json
import struct
import os
import shutil

import numpy as np
import pytest

import quant_xform as qx
from quant_xform import cuda
from helpers import small_bert

HAVE_PTXAS = shutil.which("ptxas") is not None or os.path.exists("/usr/local/cuda/bin/ptxas")
pytestmark = pytest.mark.skipif(not HAVE_PTXAS, reason="needs ptxas (CUDA toolkit) to make cubins")


@pytest.fixture(scope="module")
def artifact(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("cuda") / "bert")
    model = qx.compile_cuda(qx.quantize(small_bert(), qx.RECIPES["naive"], progress=False),
                            folder, name="bert")
    return folder, model


def test_artifact_folder(artifact):
    folder, model = artifact
    for f in ("libbert.so", "libqx_cuda_runtime.so", "bert.json", "bert.h", "bert.o",
              "bert.weights.safetensors"):
        assert os.path.getsize(os.path.join(folder, f)) > 0, f
    meta = json.load(open(os.path.join(folder, "bert.json")))
    assert meta["name"] == "bert"
    assert meta["arg_shapes"] == [[16, 32], [16]] and meta["result_shapes"] == [[16, 32]]
    # The artifact loads again from its folder (what another process does).
    again = cuda.load(folder)
    assert again.arg_shapes == [(16, 32), (16,)]


def test_wrong_arguments_are_errors(artifact):
    _, model = artifact
    with pytest.raises(cuda.CudaError, match="takes 2 arguments, got 1"):
        model(np.ones((16, 32), np.float32))
    with pytest.raises(cuda.CudaError, match=r"argument 1: expected shape \[16\] \(or a batch of them\), got \[15\]"):
        model(np.ones((16, 32), np.float32), np.zeros(15, np.float32))
    # A batch needs the same leading size everywhere.
    with pytest.raises(cuda.CudaError, match=r"argument 0: expected shape \[16, 32\]"):
        model(np.ones((2, 16, 32), np.float32), np.zeros((3, 16), np.float32))


def test_without_a_gpu_the_call_fails_clearly(artifact):
    _, model = artifact
    if os.path.exists("/dev/nvidia0"):
        pytest.skip("a GPU is present: bench/gpu/run_cuda_artifact.py runs the model")
    with pytest.raises(cuda.CudaError, match="CUDA"):
        model(np.ones((16, 32), np.float32), np.zeros(16, np.float32))


def test_not_an_artifact(tmp_path):
    with pytest.raises(cuda.CudaError, match="expected one <name>.json"):
        cuda.load(str(tmp_path))
    (tmp_path / "m.json").write_text("{not json")
    with pytest.raises(cuda.CudaError, match="is not a quant-xform GPU artifact"):
        cuda.load(str(tmp_path))


def test_bad_name(tmp_path):
    with pytest.raises(qx.QuantXformError, match="C identifier"):
        qx.compile_cuda(small_bert(), str(tmp_path / "x"), name="9lives")


def test_weights_as_data(artifact, tmp_path):
    """The library holds code; the int8 weights and scales are in the
    weight file, whose layout the Python loader computes as the compiler
    does (reading the header checks that)."""
    folder, model = artifact
    meta = json.load(open(os.path.join(folder, "bert.json")))
    weights = os.path.join(folder, meta["weights"]["file"])
    header = cuda.read_weights_header(weights, verify=True)
    assert header["layout"] == meta["weights"]["layout"]
    assert header["tensors"] == meta["weights"]["tensors"] == model.weight_layout
    # Every linear of the 1-layer encoder: its 6 int8 weight matrices.
    matrices = sorted(t[2] for t in header["tensors"] if t[1] == "I8" and len(t[2]) == 2)
    assert matrices == [[32, 32]] * 4 + [[32, 64], [64, 32]], matrices
    # All constants by default, the small ones too (scales, norm weights):
    # one compiled layer can then read another layer's file.
    assert any(t[1] == "F32" and t[2] == [32] for t in header["tensors"])
    # The same model with its weights in the library. Each int8 matrix's
    # bytes (random, 1 – 2 KB: found nowhere by chance) are in that library
    # and not in the one that reads the file. (File sizes would not tell:
    # the linker pads segments to pages, a third of this model's weights.)
    embedded = str(tmp_path / "embedded")
    qx.compile_cuda(qx.quantize(small_bert(), qx.RECIPES["naive"], progress=False),
                    embedded, name="bert", weights_as_data=False)
    assert "weights" not in json.load(open(os.path.join(embedded, "bert.json")))
    raw = open(weights, "rb").read()
    size = struct.unpack("<Q", raw[:8])[0]
    entries = json.loads(raw[8:8 + size])
    code = open(os.path.join(folder, "libbert.so"), "rb").read()
    code_embedded = open(os.path.join(embedded, "libbert.so"), "rb").read()
    int8 = [(k, e["data_offsets"]) for k, e in entries.items()
            if k != "__metadata__" and e["dtype"] == "I8" and len(e["shape"]) == 2]
    assert len(int8) == 6
    for name, (b, e) in int8:
        matrix = raw[8 + size + b:8 + size + e]
        assert len(matrix) >= 1024 and matrix not in code and matrix in code_embedded, name
    with pytest.raises(cuda.CudaError, match="keeps its weights in the library"):
        cuda.load(embedded, weights=weights)


def test_weight_file_errors(artifact, tmp_path):
    """A weight file that does not match the compiled model: missing,
    truncated, corrupt, another layout — each a CudaError naming it."""
    folder, model = artifact
    meta = json.load(open(os.path.join(folder, "bert.json")))
    weights = os.path.join(folder, meta["weights"]["file"])
    data = open(weights, "rb").read()
    with pytest.raises(cuda.CudaError, match="weight file '.*nowhere.safetensors' is missing"):
        cuda.load(folder, weights=str(tmp_path / "nowhere.safetensors"))
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(data[:len(data) - 100])
    with pytest.raises(cuda.CudaError, match="truncated or corrupt"):
        cuda.load(folder, weights=str(cut))
    flipped = bytearray(data)
    flipped[-1] ^= 1
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(bytes(flipped))
    with pytest.raises(cuda.CudaError, match="SHA-256 differs"):
        cuda.load(folder, weights=str(bad))
    (tmp_path / "junk.safetensors").write_bytes(b"\xff" * 64)
    with pytest.raises(cuda.CudaError, match="runs past the end of the file"):
        cuda.load(folder, weights=str(tmp_path / "junk.safetensors"))
    # Same names, one shape changed.
    header = cuda.read_weights_header(weights)
    arrays = []
    for (name, dtype, shape), (b, e) in zip(header["tensors"], header["offsets"]):
        a = np.frombuffer(data[b:e], dtype={"F32": np.float32, "I8": np.int8,
                                            "I32": np.int32}[dtype]).reshape(shape)
        arrays.append((name, a))
    first = arrays[0]
    other = tmp_path / "other.safetensors"
    cuda.write_weights(str(other), [(first[0], first[1][None])] + arrays[1:])
    with pytest.raises(cuda.CudaError, match=f"weight '{first[0]}' is "):
        cuda.load(folder, weights=str(other))
    cuda.write_weights(str(other), arrays[1:])
    with pytest.raises(cuda.CudaError, match=f"weight '{first[0]}' .* is missing"):
        cuda.load(folder, weights=str(other))
    # The same layout with other values (re-quantized weights): accepted.
    same = tmp_path / "same.safetensors"
    assert cuda.write_weights(str(same), [(n, -a) for n, a in arrays]) == header["layout"]
    assert cuda.load(folder, weights=str(same)).weight_layout == model.weight_layout


def test_runtime_checks_the_weight_table(artifact):
    """The runtime's qxGpuWeight<T> (what the compiled code calls for each
    weight) checks the table it is given, on the host, before any kernel:
    no table, another layout, an index past the table, a size that differs
    from what the code reads. Each records an error and returns no buffer."""
    folder, _ = artifact
    import ctypes
    rt = ctypes.CDLL(os.path.join(folder, "libqx_cuda_runtime.so"))
    rt.qxGpuLastError.restype = ctypes.c_char_p
    rt.qxGpuClearError()  # e.g. an earlier test's missing driver
    desc = cuda._descriptor(1)

    def read(table, index, elements, layout, fn="_mlir_ciface_qxGpuWeightI8"):
        out, t = desc(), desc()
        if table is not None:
            cuda._fill(t, table.ctypes.data, table.shape)
        f = getattr(rt, fn)
        f.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64,
                      ctypes.c_int64]
        f(ctypes.byref(out), ctypes.byref(t) if table is not None else None, index,
          elements, layout)
        err = rt.qxGpuLastError()
        rt.qxGpuClearError()
        return out.aligned, (err or b"").decode()

    table = np.array([77, 2, 0x1000, 64, 0x2000, 16], np.int64)
    assert read(table, 0, 64, 77) == (0x1000, "")
    assert read(table, 1, 4, 77, "_mlir_ciface_qxGpuWeightF32") == (0x2000, "")
    ptr, err = read(None, 0, 64, 77)
    assert ptr is None and "none was passed" in err
    ptr, err = read(table, 0, 64, 78)
    assert ptr is None and "weight layout 000000000000004d" in err and "does not belong" in err
    ptr, err = read(table, 2, 64, 77)
    assert ptr is None and "weight 2 is not in the weight table (it holds 2)" in err
    ptr, err = read(table, 0, 65, 77)
    assert ptr is None and "the table holds 64 bytes" in err and "reads 65 i8 elements" in err
    ptr, err = read(table, 1, 16, 77, "_mlir_ciface_qxGpuWeightF32")
    assert ptr is None and "reads 16 f32 elements" in err


def test_runtime_scratch_holds_for_graphs(artifact):
    """The bookkeeping of qxGpuHoldScratch / qxGpuEndHoldScratch /
    qxGpuReleaseScratch (what cuda.capture calls around a CUDA graph
    capture), without a GPU: one hold at a time, each ended hold a new set,
    releases of unknown sets ignored. The blocks themselves are checked on
    the device (bench/gpu/llm_layers.py: a replay equals the eager call)."""
    folder, _ = artifact
    import ctypes
    rt = ctypes.CDLL(os.path.join(folder, "libqx_cuda_runtime.so"))
    rt.qxGpuEndHoldScratch.restype = ctypes.c_int64
    assert rt.qxGpuEndHoldScratch() == 0  # no hold open
    assert rt.qxGpuHoldScratch() == 0
    assert rt.qxGpuHoldScratch() == 1  # already open
    first = rt.qxGpuEndHoldScratch()
    assert first > 0 and rt.qxGpuEndHoldScratch() == 0
    assert rt.qxGpuHoldScratch() == 0
    second = rt.qxGpuEndHoldScratch()
    assert second > first
    for held in (first, second, first, 12345):
        rt.qxGpuReleaseScratch(ctypes.c_int64(held))
    with pytest.raises(cuda.CudaError, match="at least one warm-up"):
        cuda.capture(lambda: None, warmup=0)


def test_models_of_two_folders_share_one_runtime(artifact, tmp_path):
    # The loader binds every generated library to the first runtime loaded
    # (by soname): a model from another folder must talk to that one too,
    # or its stream and capture settings would reach no kernel.
    folder, _ = artifact
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    a, b = cuda.load(folder), cuda.load(str(copy))
    assert a._runtime is b._runtime
    assert len(cuda._RUNTIMES) == 1


def test_f16_attention_artifact(tmp_path):
    # An attention on f16 q, k, v with an f16 result: the artifact declares
    # f16 arguments and result, which the loader maps to numpy / torch f16.
    t, w = "tensor<1x64x2x32xf16>", "tensor<1x64x2x32xf32>"
    text = (f"func.func @main(%q: {t}, %k: {t}, %v: {t}) -> {t} {{\n"
            + "".join(f"  %{n}f = arith.extf %{n} : {t} to {w}\n" for n in "qkv")
            + f"  %y = quant_xform.attention %qf, %kf, %vf {{scale = 0.17677669529663687 : f64, causal}}"
              f" : {w}, {w}\n  %h = arith.truncf %y : {w} to {t}\n  return %h : {t}\n}}\n")
    model = qx.compile_cuda(qx.Module.parse(text.encode()), str(tmp_path / "att"), "att")
    assert model.arg_dtypes == ["f16", "f16", "f16"] and model.result_dtypes == ["f16"]
    if not os.path.exists("/dev/nvidia0"):
        q = np.ones((1, 64, 2, 32), np.float16)
        with pytest.raises(cuda.CudaError, match="CUDA"):
            model(q, q, q)


def test_half_quantize_inputs_option(tmp_path):
    # The GELU up projection's result, read only by the down projection's
    # per-token quantize, is stored in bf16 with half_quantize_inputs=True
    # (its GEMM stores and the quantize kernel loads bf16), in f32 by
    # default: other kernels, the same weights.
    module = qx.quantize(small_bert(), qx.RECIPES["naive"], progress=False)
    objects, weights = {}, {}
    for half in (True, False):
        folder = str(tmp_path / f"half{half}")
        qx.compile_cuda(module, folder, name="bert", half_quantize_inputs=half)
        with open(os.path.join(folder, "bert.o"), "rb") as f:
            objects[half] = f.read()
        weights[half] = cuda.read_weights_header(
            os.path.join(folder, "bert.weights.safetensors"))["sha256"]
    assert objects[True] != objects[False] and weights[True] == weights[False]
