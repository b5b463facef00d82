#!/usr/bin/env python3
"""Small transformer models from the Python package, for the GPU block runs.

Writes to the folder given: a BERT-style encoder (post-norm LayerNorm,
GELU, 4-head attention with an additive mask) and a LLaMA-style decoder
(pre-norm RMSNorm, gated SiLU MLP, causal attention), both with seeded
random weights and LLM.int8()-like outlier channels in the norm scales,
as float models and as W8A8 pipeline outputs calibrated on seeded random
inputs (.mlir text); and both as batches of 4 sequences in one call (float
and W8A8). scripts/gpu-build-blocks.sh compiles them for the GPU.

    PYTHONPATH=build/python_packages python3 bench/gpu/make_models.py <dir>
"""
import os
import sys

import numpy as np

import quant_xform as qx
from quant_xform.models import expected_weights


def random_weights(config, seed, outliers):
    rng = np.random.default_rng(seed)
    w = {}
    for k, s in expected_weights(config).items():
        if k.endswith(("norm.weight", "LayerNorm.weight", "layernorm.weight")):
            v = 1.0 + 0.1 * rng.standard_normal(s)
            for c in outliers:
                v[c] *= 10.0
        elif len(s) == 1:
            v = 0.02 * rng.standard_normal(s)
        else:
            v = rng.standard_normal(s) / np.sqrt(s[-1])
        w[k] = v.astype(np.float32)
    return w


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    bert = qx.BertConfig(hidden=64, heads=4, intermediate=128, layers=2)
    decoder = qx.DecoderConfig(hidden=64, heads=4, intermediate=128, layers=2, norm="rms",
                               bias=False)
    models = {
        "bert": qx.Model(bert, random_weights(bert, 0, (3, 17)), seq_len=32),
        "decoder": qx.Model(decoder, random_weights(decoder, 1, (5,)), seq_len=32),
        # Batches of 4 sequences as the rows of one call.
        "bert4": qx.Model(bert, random_weights(bert, 0, (3, 17)), seq_len=32, batch=4),
        "decoder4": qx.Model(decoder, random_weights(decoder, 1, (5,)), seq_len=32, batch=4),
    }
    recipes = {"w8a8": qx.RECIPES["naive"], "smooth-hadamard": qx.RECIPES["smooth+hadamard"]}
    for name, model in models.items():
        model.module().save(os.path.join(out, f"{name}-float.mlir"), bytecode=False)
        for rname, recipe in recipes.items():
            if model.batch > 1 and rname != "w8a8":
                continue
            module = qx.quantize(model, recipe, progress=False)
            module.save(os.path.join(out, f"{name}-{rname}.mlir"), bytecode=False)
        print(f"wrote {name}: float, {', '.join(recipes)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
