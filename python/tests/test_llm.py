"""Decoders with rotary embeddings, grouped-query attention, an LM head and a
KV cache (quant_xform.llm), checked against float64 numpy and the evaluator."""
import numpy as np
import pytest

import quant_xform as qx
from quant_xform.llm import LLM, reference_logits, sample
from quant_xform.models import DecoderConfig
from helpers import assert_rotated_layer_is_conjugate, random_weights, rel_err


def tiny_llm(prefill_len=8, context=16, decode_batch=1, seed=3, long_prompts="decode"):
    """Calibration windows of 4 tokens."""
    c = DecoderConfig(hidden=64, heads=4, intermediate=96, layers=2, kv_heads=2,
                      rope_theta=10000.0, vocab=50, max_positions=64, eps=1e-5)
    w = random_weights(c, seed=seed, outliers=(7,))
    w["embed_tokens.weight"] = np.random.default_rng(seed).standard_normal(
        (50, 64)).astype(np.float32)
    return LLM(c, w, prefill_len=prefill_len, context=context, decode_batch=decode_batch,
               calibration_len=4, long_prompts=long_prompts)


TOKENS = [3, 7, 1, 9, 22, 5]


@pytest.fixture(scope="module")
def fp32():
    llm = tiny_llm()
    return llm, llm.compile(None, progress=False)


def test_prefill_logits_match_numpy(fp32):
    llm, model = fp32
    ref = reference_logits(llm.config, llm.weights, TOKENS)
    assert rel_err(model.logits(TOKENS), ref) < 1e-5


def test_layer_matches_evaluator(fp32):
    llm, model = fp32
    args = llm.prefill_inputs(TOKENS)
    module = llm.layer_module(0)
    for got, want in zip(model.layers[0].prefill.run(args), module.evaluate(args, "prefill")):
        assert rel_err(got, want) < 1e-5
    cache = model.new_cache()
    model.prefill(TOKENS[:4], cache)
    cos, sin = qx.llm_ir.rope_tables([4], llm.config.head_dim, llm.config.rope_theta)
    x = llm.embed(TOKENS[4:5])
    dargs = [x, cos, sin, cache.mask(), cache.k[0], cache.v[0]]
    for got, want in zip(model.layers[0].decode.run(dargs), module.evaluate(dargs, "decode")):
        assert rel_err(got, want) < 1e-5


def test_kv_cache_decode_equals_prefill(fp32):
    llm, model = fp32
    ref = reference_logits(llm.config, llm.weights, TOKENS)
    cache = model.new_cache()
    steps = [model.prefill(TOKENS[:2], cache)]
    steps += [model.decode([t], cache)[0] for t in TOKENS[2:]]
    assert cache.length[0] == len(TOKENS)
    assert rel_err(np.stack(steps), ref[1:]) < 1e-5


def test_prompt_longer_than_prefill_bucket(fp32):
    llm, model = fp32
    tokens = TOKENS + [11, 12, 13, 14, 15]  # 11 > prefill_len 8
    ref = reference_logits(llm.config, llm.weights, tokens)
    cache = model.new_cache()
    assert rel_err(model.prefill(tokens, cache), ref[-1]) < 1e-5


LONG = [(7 * i + 3) % 50 for i in range(21)]  # 21 tokens: 8 + 8 + 5 with prefill_len 8


def test_long_prompt_in_chunks_matches_numpy_and_the_evaluator():
    llm = tiny_llm(context=32, long_prompts="chunks")
    model = llm.compile(None, progress=False)
    assert model.layers[0].prefill_chunk is not None
    ref = reference_logits(llm.config, llm.weights, LONG + [4])
    cache = model.new_cache()
    assert rel_err(model.prefill(LONG, cache), ref[len(LONG) - 1]) < 1e-5
    assert cache.length[0] == len(LONG)
    # The chunks' k and v sit in the cache where decode reads them.
    assert rel_err(model.decode([4], cache)[0], ref[-1]) < 1e-5
    # One chunk function call against the evaluator, after 8 cached tokens.
    cache = model.new_cache()
    model.prefill(LONG[:8], cache)
    S, C = llm.prefill_len, llm.cache_len
    cos, sin = qx.llm_ir.rope_tables(8 + np.arange(S), llm.config.head_dim,
                                     llm.config.rope_theta)
    x = np.zeros((S, llm.config.hidden), np.float32)
    x[:5] = llm.embed(LONG[8:13])
    mask = np.full((1, C + S), -1e30, np.float32)
    mask[0, :8] = 0.0
    mask[0, C:C + 5] = 0.0
    kc = np.zeros((1, C + S, 2, llm.config.head_dim), np.float32)
    vc = np.zeros_like(kc)
    kc[0, :C] = cache.k[0][0].transpose(2, 0, 1)
    vc[0, :C] = cache.v[0][0].transpose(1, 0, 2)
    args = [x, cos, sin, mask, kc, vc]
    module = llm.layer_module(0)
    got = model.layers[0].prefill_chunk.run(args)
    want = module.evaluate(args, "prefill_chunk")
    for g, w in zip(got, want):
        assert rel_err(g[:5] if g.shape[0] == S else g[:, :5], w[:5] if w.shape[0] == S
                       else w[:, :5]) < 1e-5


def test_long_prompt_w8a8_chunks_equal_token_by_token():
    cal = [LONG[:4], LONG[4:8]]
    logits = {}
    for mode in ("decode", "chunks"):
        llm = tiny_llm(context=32, long_prompts=mode)
        model = llm.compile(qx.RECIPES["smooth"], calibration=cal, progress=False)
        assert (model.layers[0].prefill_chunk is not None) == (mode == "chunks")
        logits[mode] = model.prefill(LONG, model.new_cache())
    ref = reference_logits(llm.config, llm.weights, LONG)[-1]
    # The same int8 linears on the same rows; the attention's sums run in
    # another order, which can flip a rounding of the next quantizer.
    assert rel_err(logits["chunks"], logits["decode"]) < 1e-3
    assert rel_err(logits["chunks"], ref) < 5e-2


def test_long_prompts_option_is_checked():
    with pytest.raises(qx.QuantXformError, match="long_prompts must be"):
        tiny_llm(long_prompts="stream")


def test_generate_greedy_streams_and_stops(fp32):
    llm, model = fp32
    ids = model.generate(TOKENS, max_new_tokens=5)
    assert len(ids) == 5
    # Greedy = argmax of the reference at every step.
    seq = list(TOKENS)
    for t in ids:
        assert t == int(np.argmax(reference_logits(llm.config, llm.weights, seq)[-1]))
        seq.append(t)
    assert list(model.generate(TOKENS, max_new_tokens=5, stream=True)) == ids
    stop = ids[2]
    assert model.generate(TOKENS, max_new_tokens=5, stop=[stop]) == ids[:ids.index(stop)]
    # Sampling: deterministic per seed, restricted to the top-k.
    a = model.generate(TOKENS, max_new_tokens=4, temperature=1.0, top_k=3, seed=5)
    assert a == model.generate(TOKENS, max_new_tokens=4, temperature=1.0, top_k=3, seed=5)


def test_sampling_filters():
    rng = np.random.default_rng(0)
    logits = np.array([0.0, 5.0, 4.9, -3.0])
    assert sample(logits, 0.0, 0, 1.0, rng) == 1
    picks = {sample(logits, 1.0, 2, 1.0, rng) for _ in range(200)}
    assert picks == {1, 2}
    assert {sample(logits, 1.0, 0, 0.4, rng) for _ in range(50)} == {1}


def test_full_cache_and_bad_input(fp32):
    llm, model = fp32
    cache = model.new_cache()
    model.prefill(list(range(1, 17)), cache)  # fills all 16 positions
    with pytest.raises(qx.QuantXformError, match="KV cache is full"):
        model.decode([1], cache)
    with pytest.raises(qx.QuantXformError, match="KV cache holds 16"):
        model.prefill(list(range(20)), model.new_cache())
    with pytest.raises(qx.QuantXformError, match="token id out of range"):
        model.logits([1, 99])
    with pytest.raises(qx.QuantXformError, match="decode takes 1 tokens"):
        model.decode([1, 2], model.new_cache())
    with pytest.raises(qx.QuantXformError, match="top_p"):
        model.generate(TOKENS, top_p=0.0)
    # generation ends when the cache is full
    assert len(model.generate(list(range(1, 15)), max_new_tokens=10, stop=[])) == 3


def test_config_errors():
    c = DecoderConfig(hidden=64, heads=4, intermediate=96, layers=1, kv_heads=3,
                      rope_theta=1e4)
    with pytest.raises(qx.QuantXformError, match="kv_heads"):
        LLM(c, {})
    c = DecoderConfig(hidden=64, heads=4, intermediate=96, layers=1, rope_theta=1e4)
    with pytest.raises(qx.QuantXformError, match="quant_xform.llm"):
        qx.build_ir(c, random_weights(c), 8)
    with pytest.raises(qx.QuantXformError, match="context 100 exceeds"):
        tiny_llm(context=100)


def test_w8a8_decoder_matches_evaluator_and_stays_close():
    llm = tiny_llm()
    windows = [TOKENS[:4], [9, 8, 7, 6], [1, 2, 3, 4]]
    model = llm.compile(qx.RECIPES["smooth"], calibration=windows, progress=False)
    text = model.layers[0].module.__str__()
    assert "quant_xform.qlinear" in text and "quant_xform.linear " not in text
    args = llm.prefill_inputs(TOKENS)
    got = model.layers[1].prefill.run(args)[0]
    want = model.layers[1].module.evaluate(args, "prefill")[0]
    assert rel_err(got, want) < 1e-3
    ref = reference_logits(llm.config, llm.weights, TOKENS)
    assert rel_err(model.logits(TOKENS), ref) < 0.05
    # The decode function's linears got main's statistics: smoothed too.
    rows = qx.report_rows(model.layers[0].module)
    assert len(rows) == 14 and all(r["transform"] == "smooth" for r in rows)


@pytest.mark.parametrize("kind", ["hadamard", "random-orthogonal"])
def test_residual_rotation_folds_into_the_weights_exactly(fp32, kind):
    """QuaRot's rotation of the residual stream: with rotations on each
    layer's boundary, folding γ and sinking the rotations leaves none online,
    and the layer computes layer(x·Q) = layer(x)·Q; the head reads x·Q."""
    llm, _ = fp32
    signs = qx.llm_ir.residual_rotation(llm.config.hidden, kind, seed=5)
    q, want = assert_rotated_layer_is_conjugate(llm, 0, signs, TOKENS)
    np.testing.assert_allclose(q @ q.T, np.eye(llm.config.hidden), atol=1e-5)
    assert np.abs(q).max() < 0.6  # it mixes channels (a 64-wide Hadamard: 1/8)
    with pytest.raises(ValueError, match="unknown residual rotation"):
        qx.llm_ir.residual_rotation(64, "pca", seed=0)
    head = llm.head_module(constant_weight=True, rotation=signs)
    head.run_pipeline("quant-xform-fold-norm-scales-into-linears,quant-xform-sink-rotations")
    assert "quant_xform.rotate" not in str(head)
    h = want[0]
    ref = llm.head_module(constant_weight=True).evaluate([h], "prefill")[0]
    assert rel_err(head.evaluate([h @ q], "prefill")[0], ref) < 1e-5


def test_quarot_recipe_w8a8():
    llm = tiny_llm()
    windows = [TOKENS[:4], [9, 8, 7, 6], [1, 2, 3, 4]]
    model = llm.compile(qx.RECIPES["smooth+quarot"], calibration=windows, progress=False)
    assert model.embedding is not None
    rows = qx.report_rows(model.layers[0].module)
    # Smoothing everywhere; online Hadamards only in front of o_proj and down_proj.
    roles = {r["layer"].split(".", 1)[1]: r["transform"] for r in rows}
    assert roles["attn.q"] == "smooth" and roles["mlp.gate"] == "smooth"
    assert "hadamard" in roles["attn.o"] and "hadamard" in roles["mlp.down"]
    assert_layer_and_logits_close(llm, model, layer_tolerance=1e-3)


def assert_layer_and_logits_close(llm, model, layer_tolerance):
    """Layer 1's compiled prefill against the evaluator (relative error below
    `layer_tolerance`), and the logits of a prefill and of prefill + decode
    steps within 5 % of float64 numpy."""
    args = llm.prefill_inputs(TOKENS, model.embedding)
    got = model.layers[1].prefill.run(args)[0]
    want = model.layers[1].module.evaluate(args, "prefill")[0]
    assert rel_err(got, want) < layer_tolerance
    ref = reference_logits(llm.config, llm.weights, TOKENS)
    assert rel_err(model.logits(TOKENS), ref) < 0.05
    cache = model.new_cache()
    steps = [model.prefill(TOKENS[:2], cache)] + [model.decode([t], cache)[0]
                                                  for t in TOKENS[2:]]
    assert rel_err(np.stack(steps), ref[1:]) < 0.05


def test_group32_recipe_matches_evaluator():
    """Per-group scales (32 inputs) on activations and weights, with
    SmoothQuant and QuaRot: every linear of prefill and decode quantizes its
    input group by group, the packed CPU kernel agrees with the evaluator
    (per-group sums in f32 against its doubles), and the model stays close to
    float."""
    llm = tiny_llm()
    windows = [TOKENS[:4], [9, 8, 7, 6], [1, 2, 3, 4]]
    model = llm.compile(qx.RECIPES["smooth+quarot+group32"], calibration=windows,
                        progress=False)
    text = str(model.layers[0].module)
    # Four quantizes a function (q/k/v share one, gate/up one), prefill and decode.
    assert text.count("scheme<per_group 32>") == 8 and "scheme<per_token>" not in text
    assert_layer_and_logits_close(llm, model, layer_tolerance=1e-5)


@pytest.mark.parametrize("batch", [1, 3])
def test_decode_attention_op_equals_matmuls(batch):
    """The GPU's decode step (one quant_xform.attention over caches
    [B, C + 1, KV, D] whose last slot the step fills) computes what the
    CPU's batch matmuls over the transposed key cache do, in the evaluator
    and in the CPU JIT, masked positions included."""
    from quant_xform import _core
    from quant_xform.llm_ir import build_layer_ir, rope_tables
    llm = tiny_llm()
    c, C, B = llm.config, 16, batch
    rng = np.random.default_rng(5)
    kv, dh = c.n_kv_heads, c.head_dim
    x = rng.standard_normal((B, c.hidden)).astype(np.float32)
    cos, sin = rope_tables([11] * B, dh, c.rope_theta)
    mask = np.zeros((B, C), np.float32)
    mask[:, 11:] = -np.inf
    k_t = rng.standard_normal((B, kv, dh, C)).astype(np.float32)
    v = rng.standard_normal((B, kv, C, dh)).astype(np.float32)
    k_op = np.concatenate([k_t.transpose(0, 3, 1, 2), np.full((B, 1, kv, dh), 7.0, np.float32)], 1)
    v_op = np.concatenate([v.transpose(0, 2, 1, 3), np.full((B, 1, kv, dh), 7.0, np.float32)], 1)

    def module(attention):
        text = build_layer_ir(c, llm.weights, 0, 4, B, C, decode_attention=attention)
        return _core.Module.parse(text.encode(), f"{attention}.mlir")

    want = module("matmul").evaluate([x, cos, sin, mask, k_t, v], "decode")
    op = module("op")
    got = op.evaluate([x, cos, sin, mask, k_op.copy(), v_op.copy()], "decode")
    for g, w in zip(got, want):
        assert rel_err(np.asarray(g), np.asarray(w)) < 1e-5
    jit = op.compile_cpu_functions(["decode"], 1)[0]
    for g, w in zip(jit.run([x, cos, sin, mask, k_op.copy(), v_op.copy()]), want):
        assert rel_err(np.asarray(g), np.asarray(w)) < 1e-5
    with pytest.raises(ValueError, match="'matmul' or 'op'"):
        build_layer_ir(c, llm.weights, 0, 4, B, C, decode_attention="flash")


def test_decode_with_f16_cache():
    """The GPU's decode step over f16 caches (``kv_cache_dtype="f16"``: the
    step rounds its own k and v to f16 as it writes them, the attention
    reads the caches widened) computes what the f32 step does on the same
    cache values, up to that one rounding of the new token's k and v; the
    CPU JIT computes what the evaluator does. Another cache type is refused."""
    from quant_xform import _core
    from quant_xform.llm_ir import build_layer_ir, rope_tables
    llm = tiny_llm()
    c, C, B = llm.config, 16, 2
    rng = np.random.default_rng(6)
    kv, dh = c.n_kv_heads, c.head_dim
    x = rng.standard_normal((B, c.hidden)).astype(np.float32)
    cos, sin = rope_tables([9] * B, dh, c.rope_theta)
    mask = np.zeros((B, C), np.float32)
    mask[:, 9:] = -1e9
    k16 = rng.standard_normal((B, C + 1, kv, dh)).astype(np.float16)
    v16 = rng.standard_normal((B, C + 1, kv, dh)).astype(np.float16)

    def module(dtype):
        text = build_layer_ir(c, llm.weights, 0, 4, B, C, decode_attention="op",
                              kv_cache_dtype=dtype)
        return _core.Module.parse(text.encode(), f"{dtype}.mlir")

    half = module("f16")
    assert "xf16> {bufferization.writable = true}" in str(half)
    want = module("f32").evaluate([x, cos, sin, mask, k16.astype(np.float32),
                                   v16.astype(np.float32)], "decode")
    got = half.evaluate([x, cos, sin, mask, k16.copy(), v16.copy()], "decode")
    assert rel_err(np.asarray(got[0]), np.asarray(want[0])) < 2e-3
    for g, w in zip(got[1:], want[1:]):  # the step's own k and v, returned in f32
        assert rel_err(np.asarray(g), np.asarray(w)) < 1e-6
    jit = half.compile_cpu_functions(["decode"], 1)[0]
    for j, g in zip(jit.run([x, cos, sin, mask, k16.copy(), v16.copy()]), got):
        assert rel_err(np.asarray(j), np.asarray(g)) < 1e-5
    with pytest.raises(ValueError, match="'f32' or 'f16'"):
        build_layer_ir(c, llm.weights, 0, 4, B, C, decode_attention="op",
                       kv_cache_dtype="bf16")
    with pytest.raises(ValueError, match="needs decode attention 'op'"):
        build_layer_ir(c, llm.weights, 0, 4, B, C, kv_cache_dtype="f16")


def test_batched_prefill_equals_one_sequence_at_a_time():
    """``prefill_b<B>s<S>`` (the GPU's batched prefill: B sequences as B·S
    rows, a [B, S] mask) computes, in the evaluator, what ``prefill`` does
    for each sequence alone: y, and k and v in the GPU's [tokens, KV, D]
    layout; a padded key of the second sequence stays hidden."""
    from quant_xform import _core
    from quant_xform.llm_ir import build_layer_ir, rope_tables
    llm = tiny_llm()
    c, B, S = llm.config, 2, 4
    text = build_layer_ir(c, llm.weights, 0, S, 1, 8, decode_attention="op",
                          prefill_batches=[(B, S)])
    module = _core.Module.parse(text.encode(), "batched.mlir")
    rng = np.random.default_rng(9)
    x = rng.standard_normal((B * S, c.hidden)).astype(np.float32)
    cos, sin = rope_tables(np.arange(S), c.head_dim, c.rope_theta)
    mask = np.zeros((B, S), np.float32)
    mask[1, 3] = -1e9
    got = module.evaluate([x, np.tile(cos, (B, 1)), np.tile(sin, (B, 1)), mask],
                          f"prefill_b{B}s{S}")
    for b in range(B):
        rows = slice(b * S, (b + 1) * S)
        want = module.evaluate([x[rows], cos, sin, mask[b]], "prefill")
        for g, w in zip(got, want):
            assert rel_err(np.asarray(g)[rows], np.asarray(w)) < 1e-6
    with pytest.raises(ValueError, match="tokens first"):
        build_layer_ir(c, llm.weights, 0, S, 1, 8, prefill_batches=[(B, S)])
