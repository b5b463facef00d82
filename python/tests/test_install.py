"""`pip install .` (pyproject.toml, scikit-build-core): the installed package
imports without the build tree, finds its own xform-aot and CUDA runtime,
and compiles and runs a model that matches the reference evaluator."""
import os
import subprocess
import sys

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

SMOKE = r"""
import os, sys
import numpy as np
import quant_xform as qx
from quant_xform import compiler
here = os.path.dirname(qx.__file__)
assert here.startswith(sys.argv[1]), here
assert compiler._xform_aot() == os.path.join(here, "bin", "xform-aot")
assert compiler._cuda_runtime_library() == os.path.join(here, "lib", "libqx_cuda_runtime.so")
c = qx.BertConfig(hidden=32, heads=4, intermediate=64, layers=1)
rng = np.random.default_rng(0)
w = {k: (1.0 + 0.1 * rng.standard_normal(s) if k.endswith("LayerNorm.weight")
         else 0.1 * rng.standard_normal(s)).astype(np.float32)
     for k, s in qx.models.expected_weights(c).items()}
m = qx.Model(c, w, seq_len=8)
x = rng.standard_normal((2, 8, 32)).astype(np.float32)
mask = np.zeros((2, 8), np.float32)
module = qx.quantize(m, qx.RECIPES["smooth"], calibration=(x, mask), progress=False)
y = qx.compile(module)(x, mask)
ref = np.stack([module.evaluate([x[b], mask[b]])[0] for b in range(2)])
err = np.abs(y - ref).max() / np.abs(ref).max()
assert err < 1e-3, err
obj, header = qx.compile_object(module, os.path.join(sys.argv[2], "m"), target="cpu")
assert os.path.getsize(obj) > 0 and os.path.isfile(header)
print("installed package ok", err)
"""


def test_pip_install_and_run(tmp_path):
    # scikit-build-core comes from scripts/setup.sh (pip).
    target = tmp_path / "site"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    p = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                        "--no-build-isolation", "--target", str(target), ROOT],
                       capture_output=True, text=True, env=env)
    assert p.returncode == 0, p.stdout + p.stderr
    for rel in ("quant_xform/__init__.py", "quant_xform/bin/xform-aot",
                "quant_xform/lib/libqx_cuda_runtime.so"):
        assert (target / rel).exists(), rel
    env["PYTHONPATH"] = str(target)
    p = subprocess.run([sys.executable, "-c", SMOKE, str(target), str(tmp_path)],
                       capture_output=True, text=True, env=env, cwd=tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "installed package ok" in p.stdout
