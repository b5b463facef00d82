#!/usr/bin/env python3
"""The accuracy table of the equivalence transforms (issue 3).

Generates pre-norm and post-norm transformer blocks with LLM.int8()-like
outliers (examples/gen_block.py), compiles each with a set of
`quant-xform-w8a8` recipes, runs the float model and every variant through
the reference evaluator on the same held-out input, and prints the relative
output error and SQNR of each, plus its error reduction against plain W8A8
(per-token activations, per-channel weights).

    python3 bench/accuracy.py                 # prints the table
    python3 bench/accuracy.py --write docs/ACCURACY.md --tag default
    python3 bench/accuracy.py --hidden 256 --ffn 512 --write docs/ACCURACY.md --tag wide

Needs the build (scripts/setup.sh) and numpy. Calibration uses a different
seeded batch than the evaluation.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OPT = os.path.join(ROOT, "build", "bin", "xform-opt")
RUN = os.path.join(ROOT, "build", "bin", "xform-run")
GEN = os.path.join(ROOT, "examples", "gen_block.py")

BASELINE = "W8A8 per-token / per-channel"
# (row name, quant-xform-w8a8 options; None = the float model, canonicalized)
RECIPES = [
    ("fp32 (canonicalized)", None),
    ("W8A8 per-tensor (dynamic)", "activation-granularity=per_tensor"),
    ("W8A8 per-tensor (static, calibrated min/max)",
     "activation-granularity=per_tensor static-activations=true"),
    ("W8A8 per-tensor (static, percentile 99.99)",
     "activation-granularity=per_tensor static-activations=true "
     "range=percentile"),
    ("W8A8 per-tensor (static, MSE-optimal clip)",
     "activation-granularity=per_tensor static-activations=true range=mse"),
    ("W8A8 per-tensor (static, KL / TensorRT entropy)",
     "activation-granularity=per_tensor static-activations=true range=kl"),
    ("W8A8 per-tensor (static, EMA of per-sample max)",
     "activation-granularity=per_tensor static-activations=true range=ema"),
    (BASELINE, ""),
    ("+ SmoothQuant α=0.5", "smooth-alpha=0.5"),
    ("+ SmoothQuant α searched per layer", "smooth-search=true"),
    ("+ learned affine (AffineQuant, from the searched α)",
     "affine=true smooth-search=true"),
    ("+ per-layer choice (none/smooth/Hadamard/PCA/affine)",
     "auto=smooth,hadamard,pca,learned-affine"),
    ("+ Hadamard (randomized)", "rotation=hadamard"),
    ("+ random orthogonal", "rotation=random-orthogonal"),
    ("+ PCA rotation", "rotation=pca"),
    ("+ outlier split (static columns)", "outliers=static"),
    ("+ outlier split (dynamic threshold)", "outliers=dynamic"),
    ("+ SmoothQuant + Hadamard", "smooth-alpha=0.5 rotation=hadamard"),
    ("+ Hadamard + outlier split (static)",
     "rotation=hadamard outliers=static"),
    ("+ SmoothQuant + outlier split (static)",
     "smooth-alpha=0.5 outliers=static"),
]


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"error: {' '.join(cmd)} failed:\n{r.stderr}")
    return r.stdout


def measure(style, seq, hidden, ffn, work):
    model = os.path.join(work, f"{style}.mlir")
    calib = os.path.join(work, f"{style}-calib.npy")
    x = os.path.join(work, f"{style}-x.npy")
    base = [sys.executable, GEN, "--style", style, "--seq", str(seq),
            "--hidden", str(hidden), "--ffn", str(ffn),
            "--gamma-outliers", "off", "--balanced"]
    with open(model, "w") as f:
        f.write(run(base + ["--inputs", calib, "--input-seed", "100"]))
    run(base + ["--inputs", x, "--input-seed", "7"])
    variants = []
    for i, (name, options) in enumerate(RECIPES):
        out = os.path.join(work, f"{style}-{i}.mlir")
        if options is None:
            run([OPT, model, "-canonicalize", "-o", out])
        else:
            opts = f"{options} calibration-inputs={calib}".strip()
            run([OPT, model, f"-quant-xform-w8a8={opts}", "-o", out])
        variants.append(out)
    cmd = [RUN, "--reference", model, "--input", x, "--no-print"]
    for v in variants:
        cmd += ["--compare", v]
    rows = {}
    for line in run(cmd).splitlines():
        m = re.match(r"(\S+)\s+0\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)", line)
        if m and m.group(1) in variants:
            rows[RECIPES[variants.index(m.group(1))][0]] = (
                float(m.group(3)), float(m.group(4)))
    return rows


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seq", type=int, default=64)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--ffn", type=int, default=256)
    p.add_argument("--write", help="write the table as markdown here")
    p.add_argument("--tag", default="default",
                   help="which marked table of --write to replace")
    a = p.parse_args()
    for tool in (OPT, RUN):
        if not os.path.exists(tool):
            sys.exit(f"error: {tool} is missing; run scripts/setup.sh first")
    results = {}
    with tempfile.TemporaryDirectory() as work:
        for style in ("pre", "post"):
            print(f"measuring the {style}-norm block ...", file=sys.stderr)
            results[style] = measure(style, a.seq, a.hidden, a.ffn, work)

    header = ("| recipe | pre-norm rel. err | SQNR dB | × less error | "
              "post-norm rel. err | SQNR dB | × less error |")
    lines = [header, "|---|---:|---:|---:|---:|---:|---:|"]
    for name, _ in RECIPES:
        cells = [name]
        for style in ("pre", "post"):
            err, sqnr = results[style][name]
            base = results[style][BASELINE][0]
            gain = base / err if err > 0 else float("inf")
            cells += [f"{err:.3e}", f"{sqnr:.1f}", f"{gain:.2f}"]
        lines.append("| " + " | ".join(cells) + " |")
    table = "\n".join(lines)
    print(table)
    if a.write:
        with open(a.write) as f:
            text = f.read()
        begin = f"<!-- table:{a.tag}:begin -->"
        end = f"<!-- table:{a.tag}:end -->"
        if begin not in text or end not in text:
            sys.exit(f"error: {a.write} has no {begin} ... {end} markers")
        head, rest = text.split(begin, 1)
        _, tail = rest.split(end, 1)
        config = (f"Blocks: {a.seq} tokens × {a.hidden} features, FFN "
                  f"{a.ffn}; command: `python3 bench/accuracy.py --seq "
                  f"{a.seq} --hidden {a.hidden} --ffn {a.ffn} --write "
                  f"{a.write} --tag {a.tag}`.")
        with open(a.write + ".tmp", "w") as f:
            f.write(f"{head}{begin}\n{config}\n\n{table}\n{end}{tail}")
        os.replace(a.write + ".tmp", a.write)
        print(f"wrote {a.write}", file=sys.stderr)


if __name__ == "__main__":
    main()
