#!/usr/bin/env python3
"""Builds a GPU artifact from Python for bench/gpu/run_cuda_artifact.py.

Here (no GPU needed): a 2-layer BERT-style encoder with seeded random
weights, quantized W8A8 (SmoothQuant + Hadamard), compiled by
``qx.compile_cuda`` into <dir>/bert, plus seeded inputs and the reference
evaluator's output on them, and a copy of quant_xform/cuda.py (the loader
needs no compiler). On the device: ``python3 <dir>/run_cuda_artifact.py``.

    PYTHONPATH=build/python_packages python3 bench/gpu/make_cuda_artifact.py <dir>
"""
import os
import shutil
import sys

import numpy as np

import quant_xform as qx

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from make_models import random_weights  # noqa: E402


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    config = qx.BertConfig(hidden=64, heads=4, intermediate=128, layers=2)
    model = qx.Model(config, random_weights(config, 0, (3, 17)), seq_len=32)
    module = qx.quantize(model, qx.RECIPES["smooth+hadamard"], progress=False)
    qx.compile_cuda(module, os.path.join(out, "bert"), name="bert")
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 32, 64)).astype(np.float32)  # a batch of two
    mask = np.zeros((2, 32), np.float32)
    mask[0, 28:] = -1e9  # padding tokens
    mask[1, 20:] = -1e9
    expected = np.stack([np.asarray(module.evaluate([x[b], mask[b]])[0], np.float32)
                         for b in range(2)])
    np.save(os.path.join(out, "x.npy"), x)
    np.save(os.path.join(out, "mask.npy"), mask)
    np.save(os.path.join(out, "expected.npy"), np.asarray(expected, np.float32))
    shutil.copyfile(os.path.join(HERE, "..", "..", "python", "quant_xform", "cuda.py"),
                    os.path.join(out, "cuda.py"))
    shutil.copyfile(os.path.join(HERE, "run_cuda_artifact.py"),
                    os.path.join(out, "run_cuda_artifact.py"))
    print(f"artifact in {out}: run python3 {out}/run_cuda_artifact.py on a GPU machine")
    return 0


if __name__ == "__main__":
    sys.exit(main())
