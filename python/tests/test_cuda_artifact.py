"""GPU artifacts from Python: compile_cuda builds a loadable folder; calls
check shapes and report a missing GPU as CudaError. (Running the kernels
needs a GPU: bench/gpu/run_cuda_artifact.py does that on the device.)"""
import json
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
    for f in ("libbert.so", "libqx_cuda_runtime.so", "bert.json", "bert.h", "bert.o"):
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
