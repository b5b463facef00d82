"""Artifacts, weight sources and error cases."""
import json
import os
import shutil
import struct

import numpy as np
import pytest

import quant_xform as qx
from helpers import inputs, random_weights, small_bert


def write_safetensors(path, tensors, header_override=None, truncate=0):
    header, blobs, offset = {}, [], 0
    for name, a in tensors.items():
        b = np.ascontiguousarray(a).tobytes()
        dtype = {np.float32: "F32", np.float16: "F16", np.int64: "I64"}[a.dtype.type]
        header[name] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    if header_override:
        header.update(header_override)
    h = json.dumps(header).encode()
    data = struct.pack("<Q", len(h)) + h + b"".join(blobs)
    with open(path, "wb") as f:
        f.write(data[:len(data) - truncate] if truncate else data)


def test_save_load_roundtrip(tmp_path):
    model = small_bert()
    x, mask = inputs(model)
    module = qx.quantize(model, qx.RECIPES["naive"], calibration=(x, mask), progress=False)
    compiled = qx.compile(module, meta={"recipe": "naive"})
    y = compiled(x, mask)
    compiled.save(str(tmp_path / "art"))
    loaded = qx.load(str(tmp_path / "art"))
    assert loaded.meta["recipe"] == "naive"
    np.testing.assert_array_equal(loaded(x, mask), y)


def test_load_rejects_bad_artifacts(tmp_path):
    with pytest.raises(qx.QuantXformError, match="not a quant-xform artifact"):
        qx.load(str(tmp_path))
    (tmp_path / "meta.json").write_text('{"format": "quant-xform-artifact", "version": 1}')
    (tmp_path / "module.mlirbc").write_bytes(b"ML\xefR garbage")
    with pytest.raises(qx.QuantXformError):
        qx.load(str(tmp_path))


def test_safetensors_roundtrip(tmp_path):
    c = qx.BertConfig(hidden=32, heads=4, intermediate=64, layers=1)
    w = random_weights(c)
    w["encoder.layer.0.output.dense.bias"] = w["encoder.layer.0.output.dense.bias"].astype(np.float16)
    write_safetensors(tmp_path / "m.safetensors", w)
    loaded = qx.load_safetensors(str(tmp_path / "m.safetensors"))
    assert loaded["encoder.layer.0.output.dense.bias"].dtype == np.float16
    np.testing.assert_array_equal(loaded["encoder.layer.0.attention.self.query.weight"],
                                  w["encoder.layer.0.attention.self.query.weight"])
    model = qx.Model.from_safetensors(str(tmp_path / "m.safetensors"), config=c, seq_len=8)
    assert model.weights["encoder.layer.0.output.dense.bias"].dtype == np.float32


@pytest.mark.parametrize("kind,match", [
    ("truncated", "truncated"),
    ("overlap", "overlap"),
    ("badjson", "not valid JSON"),
    ("dtype", "unsupported dtype"),
    ("size", "data bytes"),
])
def test_malformed_safetensors(tmp_path, kind, match):
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    b = np.ones(4, np.float32)
    p = tmp_path / "bad.safetensors"
    if kind == "truncated":
        write_safetensors(p, {"a": a, "b": b}, truncate=5)
    elif kind == "overlap":
        write_safetensors(p, {"a": a, "b": b},
                          {"b": {"dtype": "F32", "shape": [4], "data_offsets": [8, 24]}})
    elif kind == "badjson":
        p.write_bytes(struct.pack("<Q", 5) + b"{nope")
    elif kind == "dtype":
        write_safetensors(p, {"a": a}, {"a": {"dtype": "Q7", "shape": [2, 3], "data_offsets": [0, 24]}})
    elif kind == "size":
        write_safetensors(p, {"a": a}, {"a": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 24]}})
    with pytest.raises(qx.QuantXformError, match=match):
        qx.load_safetensors(str(p))


def test_missing_and_bad_weights():
    c = qx.BertConfig(hidden=32, heads=4, intermediate=64, layers=1)
    w = random_weights(c)
    missing = dict(w)
    del missing["encoder.layer.0.attention.self.key.weight"]
    with pytest.raises(qx.QuantXformError, match="missing weight 'encoder.layer.0.attention.self.key.weight'"):
        qx.Model(c, missing)
    shaped = dict(w, **{"encoder.layer.0.intermediate.dense.weight": np.zeros((64, 31), np.float32)})
    with pytest.raises(qx.QuantXformError, match=r"has shape \[64, 31\], expected \[64, 32\]"):
        qx.Model(c, shaped)
    nan = dict(w)
    nan["encoder.layer.0.output.dense.weight"] = w["encoder.layer.0.output.dense.weight"].copy()
    nan["encoder.layer.0.output.dense.weight"][0, 0] = np.nan
    with pytest.raises(qx.QuantXformError, match="NaN or Inf"):
        qx.Model(c, nan)
    with pytest.raises(qx.QuantXformError, match="not a multiple of heads"):
        qx.Model(qx.BertConfig(hidden=30, heads=4, intermediate=64, layers=1), w)


def test_wrong_shapes_at_run_time():
    model = small_bert()
    compiled = qx.compile(model)
    x, mask = inputs(model)
    with pytest.raises(qx.QuantXformError, match=r"x must be \[batch, 16, 32\]"):
        compiled(x[:, :8], mask)
    with pytest.raises(qx.QuantXformError, match=r"argument 0: expected shape \[16, 32\], got \[8, 32\]"):
        compiled.run(x[0, :8], mask[0])
    with pytest.raises(qx.QuantXformError, match="expected dtype f32, got f64"):
        compiled.run(x[0].astype(np.float64), mask[0])
    with pytest.raises(qx.QuantXformError, match="expected 2 arguments, got 1"):
        compiled.run(x[0])


def test_bad_ir_and_pipelines():
    with pytest.raises(qx.QuantXformError, match="cannot parse"):
        qx.Module.parse(b"func.func @main( {")
    module = small_bert().module()
    with pytest.raises(qx.QuantXformError, match="invalid pass pipeline"):
        module.run_pipeline("no-such-pass")
    with pytest.raises(qx.QuantXformError, match="smooth"):
        qx.quantize(small_bert(), qx.Recipe(smooth_alpha=2.0), progress=False)
    # A pass's error names the problem and the place, without the op.
    with pytest.raises(qx.QuantXformError) as failed:
        qx.quantize(small_bert(), qx.Recipe(weight_granularity="per_group", group_size=24),
                    progress=False)
    assert "group size 24 does not divide K = 32" in str(failed.value)
    assert "see current operation" not in str(failed.value)
    with pytest.raises(qx.QuantXformError, match="calibration has 1 arrays"):
        qx.quantize(small_bert(), qx.RECIPES["naive"], calibration=(np.zeros((1, 16, 32)),))


RESOURCE_LINEAR = b"""func.func @main(%x: tensor<2x3xf32>) -> tensor<2x4xf32> {
  %w = arith.constant dense_resource<w_a> : tensor<4x3xf32>
  %y = quant_xform.linear %x, %w : (tensor<2x3xf32>, tensor<4x3xf32>) -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}"""


def test_parse_with_weights_as_arrays():
    """Weights handed to the parser as arrays give the module that hex text
    gives, and every mismatch names the weight."""
    w = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    x = np.random.default_rng(1).standard_normal((2, 3)).astype(np.float32)
    bound = qx.Module.parse(RESOURCE_LINEAR, "t", {"w_a": w})
    hex_text = RESOURCE_LINEAR.replace(
        b"dense_resource<w_a>", f'dense<"0x{w.tobytes().hex().upper()}">'.encode())
    spelled = qx.Module.parse(hex_text, "t")
    assert bound.print(0) == spelled.print(0)
    # The evaluator sums in double and rounds once.
    want = (x.astype(np.float64) @ w.T.astype(np.float64)).astype(np.float32)
    np.testing.assert_array_equal(bound.evaluate([x])[0], want)
    with pytest.raises(qx.QuantXformError, match="weight 'w_a' has 9 elements, the IR declares 12"):
        qx.Module.parse(RESOURCE_LINEAR, "t", {"w_a": w[:3]})
    with pytest.raises(qx.QuantXformError, match="weight 'w_a' is f64, the IR declares f32"):
        qx.Module.parse(RESOURCE_LINEAR, "t", {"w_a": w.astype(np.float64)})
    with pytest.raises(qx.QuantXformError, match="weight 'w_b' is not used by the IR"):
        qx.Module.parse(RESOURCE_LINEAR, "t", {"w_a": w, "w_b": w})
    with pytest.raises(qx.QuantXformError, match=r"dense_resource<w_a> has no data"):
        qx.Module.parse(RESOURCE_LINEAR, "t", {"w_other": w})
    with pytest.raises(qx.QuantXformError, match="not C-contiguous"):
        qx.Module.parse(RESOURCE_LINEAR, "t", {"w_a": np.asfortranarray(w)})
    # The verifiers see the bound values: a NaN weight is refused at parse.
    nan = w.copy()
    nan[1, 2] = np.nan
    with pytest.raises(qx.QuantXformError, match="cannot parse"):
        qx.Module.parse(RESOURCE_LINEAR, "t", {"w_a": nan})


def test_torch_tensors_through_dlpack():
    torch = pytest.importorskip("torch")
    model = small_bert()
    x, mask = inputs(model)
    compiled = qx.compile(model)
    y = compiled.run(torch.from_numpy(x[0]), torch.from_numpy(mask[0]))
    assert isinstance(y, torch.Tensor)
    np.testing.assert_allclose(y.numpy(), compiled.run(x[0], mask[0]), rtol=0, atol=0)


QLINEAR = b"""
func.func @main(%q: tensor<32x64xi8>, %s: tensor<32xf32>, %w: tensor<48x64xi8>, %sw: tensor<48xf32>) -> tensor<32x48xf32> {
  %y = quant_xform.qlinear %q scale %s, %w scale %sw : (tensor<32x64xi8>, tensor<32xf32>, tensor<48x64xi8>, tensor<48xf32>) -> tensor<32x48xf32>
  return %y : tensor<32x48xf32>
}
"""


def _has_ptxas():
    import shutil
    return shutil.which("ptxas") or os.path.exists("/usr/local/cuda/bin/ptxas")


@pytest.mark.skipif(not _has_ptxas(), reason="needs ptxas (CUDA toolkit) to make a cubin")
def test_cuda_object(tmp_path):
    module = qx.Module.parse(QLINEAR)
    obj, header = qx.compile_object(module, str(tmp_path / "lin"), target="cuda", name="lin")
    assert os.path.getsize(obj) > 0
    text = open(header).read()
    assert "qx_lin" in text and "const int8_t" in text


def test_cpu_object(tmp_path):
    obj, header = qx.compile_object(small_bert(), str(tmp_path / "bert"), target="cpu")
    assert os.path.getsize(obj) > 0 and "qx_model" in open(header).read()


HAVE_PTXAS = shutil.which("ptxas") is not None or os.path.exists("/usr/local/cuda/bin/ptxas")


@pytest.mark.skipif(not HAVE_PTXAS, reason="needs ptxas (CUDA toolkit) to make cubins")
def test_cuda_object_of_a_whole_model(tmp_path):
    # A whole model compiles for the GPU: tensor-core kernels for its
    # linears, loop kernels for the rest, cubins embedded in one object.
    obj, header = qx.compile_object(small_bert(), str(tmp_path / "gpu"), target="cuda")
    assert os.path.getsize(obj) > 0
    text = open(header).read()
    assert "qx_model" in text and "_mlir_ciface_model" in text
    with pytest.raises(qx.QuantXformError, match="target must be"):
        qx.compile_object(small_bert(), str(tmp_path / "x"), target="tpu")


def test_unknown_int8_kernel_raises():
    module = qx.Module.parse(b"func.func @main(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {\n"
                             b"  return %x : tensor<2x4xf32>\n}\n")
    with pytest.raises(qx.QuantXformError, match="invalid int8 kernel 'sse' \\(expected loops"):
        module.compile_cpu("main", 1, "sse")
    assert module.compile_cpu("main", 1, "vector") is not None
