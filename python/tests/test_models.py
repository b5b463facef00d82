"""Build → evaluate → compile → run, checked against numpy."""
import numpy as np
import pytest

import quant_xform as qx
from helpers import inputs, rel_err, small_bert, small_decoder


@pytest.mark.parametrize("make", [small_bert, small_decoder,
                                  lambda: small_decoder(norm="layer", bias=True)])
def test_float_model_matches_numpy(make):
    model = make()
    x, mask = inputs(model)
    ref = model.reference(x, mask)
    module = model.module()
    evaluated = np.stack([module.evaluate([x[b], mask[b]])[0] for b in range(len(x))])
    assert rel_err(evaluated, ref) < 1e-5
    compiled = qx.compile(module)
    assert rel_err(compiled(x, mask), ref) < 1e-5


@pytest.mark.parametrize("make", [small_bert, small_decoder])
def test_batched_model_equals_per_sequence(make):
    # B sequences as the rows of one call: the linears on B·S rows, the
    # attention batched over B × heads; 5 sequences → 3 calls of B = 2, the
    # last padded with a masked sequence.
    model = make()
    x, mask = inputs(model, batch=5)
    ref = model.reference(x, mask)
    batched = type(model)(model.config, model.weights, model.seq_len, batch=2)
    xr, mr = batched.as_rows(x, mask)
    assert xr.shape == (3, 2 * model.seq_len, model.config.hidden) and mr.shape == (3, 32)
    module = batched.module()
    assert module.signature()["arg_shapes"] == [[32, model.config.hidden], [32]]
    evaluated = np.stack([module.evaluate([xr[c], mr[c]])[0] for c in range(3)])
    assert rel_err(batched.from_rows(evaluated, 5), ref) < 1e-5
    compiled = qx.compile(module)
    assert rel_err(batched.from_rows(compiled(xr, mr), 5), ref) < 1e-5
    # A W8A8 recipe on the batched model calibrates on [N, S, H] batches.
    q = qx.quantize(batched, qx.RECIPES["smooth+hadamard"], calibration=(x, mask),
                    progress=False)
    y = batched.from_rows(qx.compile(q)(xr, mr), 5)
    real = mask == 0
    assert rel_err(y[real], ref[real]) < 0.05


def test_padding_does_not_change_real_tokens():
    model = small_bert()
    x, mask = inputs(model, pad=4)
    y = qx.compile(model)(x, mask)
    x2 = x.copy()
    x2[:, -4:] = 123.0  # padded positions carry garbage
    y2 = qx.compile(model)(x2, mask)
    np.testing.assert_allclose(y[:, :-4], y2[:, :-4], rtol=1e-5, atol=1e-5)


def test_decoder_is_causal():
    model = small_decoder()
    x, mask = inputs(model, pad=0)
    y = qx.compile(model)(x, mask)
    x2 = x.copy()
    x2[:, 10:] += 1.0  # the future changes
    y2 = qx.compile(model)(x2, mask)
    np.testing.assert_allclose(y[:, :10], y2[:, :10], rtol=1e-5, atol=1e-5)
    assert np.abs(y[:, 10:] - y2[:, 10:]).max() > 1e-3


@pytest.mark.parametrize("recipe", sorted(qx.RECIPES))
def test_w8a8_recipes(recipe):
    model = small_bert(layers=2)
    x, mask = inputs(model)
    ref = model.reference(x, mask)
    module = qx.quantize(model, qx.RECIPES[recipe], calibration=(x, mask), progress=False)
    text = str(module)
    assert "quant_xform.qlinear" in text or "quant_xform.mixed_linear" in text
    assert "quant_xform.linear " not in text
    compiled = qx.compile(module)
    y = compiled(x, mask)
    # The CPU code computes what the reference evaluator says the W8A8 IR
    # means (up to an int8 rounding flipped by a last-bit float difference
    # in a vectorized reduction; a wrong kernel is off by O(1)).
    evaluated = np.stack([module.evaluate([x[b], mask[b]])[0] for b in range(len(x))])
    assert rel_err(y, evaluated) < 1e-3
    # And W8A8 stays close to the float model.
    real = mask == 0
    assert rel_err(y[real], ref[real]) < 0.05


def test_layer_report_and_ir_stages(capsys):
    model = small_bert()
    assert "quant_xform.linear" in model.ir()
    module = qx.quantize(model, qx.RECIPES["smooth"], progress=False, print_ir=True)
    out = capsys.readouterr().out
    assert "// ---- float model ----" in out and "// ---- W8A8 ----" in out
    layers = module.layers()
    assert [l["layer"] for l in layers if l["role"] == "attn_in"] == \
        ["layer0.attn.q", "layer0.attn.k", "layer0.attn.v"]
    assert all(l["transform"] == "smooth" and l["alpha"] == 0.5 and l["sqnr_after"] is None
               for l in layers)
    report = qx.compile(module).report()
    lines = report.splitlines()
    assert lines[0].split()[:4] == ["layer", "role", "op", "transform"]
    down = next(l for l in lines if l.startswith("layer0.mlp.down"))
    # smoothing at α = 0.5, per-token dynamic activations, no measurement
    assert down.split()[2:5] == ["qlinear", "smooth", "0.50"]
    assert "dynamic per_token" in down and down.split()[-2:] == ["-", "-"]


def test_calibration_progress(capfd):
    model = small_bert()
    x, mask = inputs(model, batch=3)
    module = qx.quantize(model, qx.Recipe(static_activations=True,
                                          activation_granularity="per_tensor"),
                         calibration=(x, mask), progress=True)
    for r in qx.report_rows(module):
        assert r["activation"] == "static" and r["activation_scale"] > 0
    assert "static " in qx.report(module)
    err = capfd.readouterr().err
    assert "quant-xform-calibrate: 1/3 samples" in err
    assert "quant-xform-calibrate: 3/3 samples" in err


def test_block_hadamard_on_a_non_power_of_two_width():
    c = qx.BertConfig(hidden=48, heads=4, intermediate=96, layers=1)  # 48 = 3 x 16
    from helpers import random_weights
    model = qx.Model(c, random_weights(c), seq_len=16)
    x, mask = inputs(model)
    module = qx.quantize(model, qx.RECIPES["hadamard"], calibration=(x, mask), progress=False)
    assert "quant_xform.rotate hadamard" in str(module) or "hadamard" in str(module)
    y = qx.compile(module)(x, mask)
    evaluated = np.stack([module.evaluate([x[b], mask[b]])[0] for b in range(len(x))])
    assert rel_err(y, evaluated) < 1e-3
    assert rel_err(y[mask == 0], model.reference(x, mask)[mask == 0]) < 0.05


def test_searched_transforms_are_reported_and_padding_is_not_calibrated(tmp_path):
    model = small_bert()
    x, mask = inputs(model, batch=3, pad=4)  # 3 x (16 - 4) real tokens
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "m.npy", mask)
    calibrated = model.module()
    calibrated.run_pipeline(
        f"quant-xform-calibrate{{inputs={tmp_path / 'x.npy'},{tmp_path / 'm.npy'} "
        "row-mask=1 row-mask-additive=true keep-rows=100}")
    text = calibrated.print(elide=0)
    assert "rows = 36 : i64" in text and "rows = 48 : i64" not in text
    assert "tensor<36x32xf32>" in text  # every real row kept, no padding row

    module = qx.quantize(model, qx.Recipe(auto=("smooth", "hadamard", "learned-affine")),
                         calibration=(x, mask), progress=False)
    searched = [l for l in module.layers() if "quant_xform.search" in l["attributes"]]
    assert {l["role"] for l in searched} == {"attn_in", "attn_out", "mlp_in", "mlp_down"}
    for l in searched:
        # The report fields come typed from the compiler, not parsed back.
        assert isinstance(l["sqnr_before"], float) and isinstance(l["transform"], str)
        assert l["weight_scale_min"] <= l["weight_scale_max"]
        assert l["activation"] == "dynamic per_token"
    rows = qx.report_rows(module)
    for r in rows:
        assert r["transform"] in ("smooth", "hadamard", "learned-affine", "none")
        assert np.isfinite(r["sqnr_before"]) and np.isfinite(r["sqnr_after"])
        # auto keeps the least error, "none" included
        assert r["sqnr_after"] >= r["sqnr_before"] - 1e-9
    report = qx.compile(module).report()
    assert f"{rows[0]['sqnr_after']:.2f}" in report.splitlines()[1]


def test_measured_report_and_plot(tmp_path):
    model = small_bert(layers=2)
    x, mask = inputs(model)
    recipe = qx.Recipe(smooth_alpha=0.5, rotation="hadamard", measure=True)
    module = qx.quantize(model, recipe, calibration=(x, mask), progress=False)
    rows = qx.report_rows(module)
    assert len(rows) == 12
    for r in rows:
        assert r["transform"] == "smooth+hadamard" and r["alpha"] == 0.5
        assert r["activation"] == "dynamic per_token"
        assert 0 < r["weight_scale_min"] <= r["weight_scale_max"]
        assert 0 < r["sqnr_before"] < 100 and 0 < r["sqnr_after"] < 100
    # On this model (random weights, N(0, 1) inputs) smoothing + Hadamard
    # help on average.
    assert np.mean([r["sqnr_after"] - r["sqnr_before"] for r in rows]) > 0
    # Without measure=True the same recipe records only what it inserted.
    plain = qx.quantize(model, qx.Recipe(smooth_alpha=0.5, rotation="hadamard"),
                        calibration=(x, mask), progress=False)
    assert all(r["sqnr_after"] is None for r in qx.report_rows(plain))
    with pytest.raises(qx.QuantXformError, match="no layer has a measured SQNR"):
        qx.plot_report(plain, str(tmp_path / "none.png"))
    out = qx.plot_report(module, str(tmp_path / "report.png"))
    with open(out, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_bad_search_options_raise():
    model = small_bert()
    x, mask = inputs(model)
    with pytest.raises(qx.QuantXformError, match="candidates must be"):
        qx.quantize(model, qx.Recipe(auto=("spin",)), calibration=(x, mask), progress=False)
