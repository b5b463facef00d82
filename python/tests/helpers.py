"""Small random models for the tests."""
import numpy as np

import quant_xform as qx
from quant_xform.models import expected_weights


def random_weights(config, seed=0, outliers=()):
    rng = np.random.default_rng(seed)
    w = {}
    for k, s in expected_weights(config).items():
        if k.endswith("norm.weight") or k.endswith("LayerNorm.weight") or \
                k.endswith("layernorm.weight"):
            v = 1.0 + 0.1 * rng.standard_normal(s)
            for c in outliers:
                v[c] *= 10.0
        elif len(s) == 1:
            v = 0.02 * rng.standard_normal(s)
        else:
            v = rng.standard_normal(s) / np.sqrt(s[-1])
        w[k] = v.astype(np.float32)
    return w


def small_bert(seq=16, layers=1, seed=0):
    c = qx.BertConfig(hidden=32, heads=4, intermediate=64, layers=layers)
    return qx.Model(c, random_weights(c, seed, outliers=(3, 17)), seq_len=seq)


def small_decoder(seq=16, norm="rms", bias=False, seed=1):
    c = qx.DecoderConfig(hidden=32, heads=4, intermediate=64, layers=2, norm=norm, bias=bias)
    return qx.Model(c, random_weights(c, seed, outliers=(5,)), seq_len=seq)


def inputs(model, batch=3, pad=4, seed=2):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, model.seq_len, model.config.hidden)).astype(np.float32)
    mask = np.zeros((batch, model.seq_len), np.float32)
    mask[:, model.seq_len - pad:] = -1e9
    return x, mask


def rel_err(a, b):
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def assert_rotated_layer_is_conjugate(llm, layer, rotation, tokens):
    """Folding γ and sinking QuaRot's residual rotation leaves no rotation in
    decoder layer ``layer``, whose prefill then computes layer(x·Q) =
    layer(x)·Q (k and v unchanged) in the evaluator. Returns Q and the float
    layer's outputs."""
    q = llm.rotation_matrix(rotation)
    module = llm.layer_module(layer, rotation=rotation)
    assert "quant_xform.rotate" in str(module)
    module.run_pipeline("quant-xform-fold-norm-scales-into-linears,quant-xform-sink-rotations")
    assert "quant_xform.rotate" not in str(module)
    args = llm.prefill_inputs(tokens)
    want = llm.layer_module(layer).evaluate(args, "prefill")
    got = module.evaluate([args[0] @ q] + args[1:], "prefill")
    assert rel_err(got[0], want[0] @ q) < 1e-5
    assert rel_err(got[1], want[1]) < 1e-5 and rel_err(got[2], want[2]) < 1e-5
    return q, want
