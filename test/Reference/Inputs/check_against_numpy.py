"""Checks xform-run --reference outputs against numpy computations.

Usage: check_against_numpy.py <case> <workdir> <xform-run> <mlir>
Writes the inputs as .npy, runs xform-run, and compares its .npy outputs
with numpy: floats to 1e-6 relative, integers exactly.
"""
import os
import subprocess
import sys

import numpy as np


def hadamard(k):
    h = np.array([[1.0]])
    while h.shape[0] < k:
        h = np.block([[h, h], [h, -h]])
    return h / np.sqrt(k)


def quantize_per_token(x):
    """Symmetric int8, scale = absmax/127 in f32, round half to even."""
    absmax = np.abs(x).max(axis=-1)
    s = np.where(absmax > 0, (absmax.astype(np.float64) / 127.0), 1.0).astype(np.float32)
    q = np.clip(np.rint(x / s[:, None]), -127, 127).astype(np.int8)
    return q, s


def main():
    case, workdir, runner, mlir = sys.argv[1:5]
    rng = np.random.default_rng(7)
    os.makedirs(workdir, exist_ok=True)
    if case == "linear":
        x = rng.standard_normal((5, 16)).astype(np.float32)
        w = rng.standard_normal((12, 16)).astype(np.float32)
        b = rng.standard_normal(12).astype(np.float32)
        inputs = [x, w, b]
        expected = [x.astype(np.float64) @ w.astype(np.float64).T + b]
    elif case == "rotate":
        x = rng.standard_normal((3, 8)).astype(np.float32)
        signs = np.array([1, -1, 1, 1, -1, -1, 1, -1], dtype=np.float64)
        q = np.diag(signs) @ hadamard(8)
        perm = [3, 0, 7, 1, 2, 6, 5, 4]
        inputs = [x]
        x64 = x.astype(np.float64)
        expected = [x64 @ q, x64 @ q.T, x64[:, perm]]
    elif case == "rotate_blocks":
        # K = 12: block-diagonal Hadamard, blocks of 4 (= 12 & -12).
        x = rng.standard_normal((3, 12)).astype(np.float32)
        signs = np.array([1, -1, 1, 1, -1, -1, 1, -1, 1, 1, 1, -1], dtype=np.float64)
        h = np.kron(np.eye(3), hadamard(4))
        q = np.diag(signs) @ h
        inputs = [x]
        x64 = x.astype(np.float64)
        expected = [x64 @ q, x64 @ q.T]
    elif case == "qlinear":
        x = rng.standard_normal((4, 32)).astype(np.float32)
        qw = rng.integers(-127, 128, (6, 32)).astype(np.int8)
        sw = (rng.random(6) * 0.01 + 0.001).astype(np.float32)
        b = rng.standard_normal(6).astype(np.float32)
        inputs = [x, qw, sw, b]
        q, s = quantize_per_token(x)
        acc = q.astype(np.int64) @ qw.astype(np.int64).T  # exact integers
        y = s.astype(np.float64)[:, None] * sw.astype(np.float64)[None, :] * acc + b
        expected = [q, s, acc.astype(np.int32), y]
    elif case == "rotary":
        # Real angles (rope_tables' formula, base 1e4) for positions 3..8.
        x = rng.standard_normal((6, 3, 8)).astype(np.float32)
        theta = 1e4 ** (-np.arange(4) * 2.0 / 8)
        angles = np.arange(3, 9)[:, None] * theta[None, :]
        cos, sin = np.cos(angles).astype(np.float32), np.sin(angles).astype(np.float32)
        inputs = [x, cos, sin]
        x1, x2 = x[..., :4].astype(np.float64), x[..., 4:].astype(np.float64)
        c, s = cos.astype(np.float64)[:, None, :], sin.astype(np.float64)[:, None, :]
        expected = [np.concatenate([x1 * c - x2 * s, x2 * c + x1 * s], -1)]
    else:
        raise SystemExit(f"unknown case {case}")

    in_paths, out_paths = [], []
    for i, a in enumerate(inputs):
        p = os.path.join(workdir, f"{case}_in{i}.npy")
        np.save(p, a)
        in_paths.append(p)
    for i in range(len(expected)):
        out_paths.append(os.path.join(workdir, f"{case}_out{i}.npy"))
    cmd = [runner, "--reference", mlir, "--no-print"]
    cmd += [f"--input={p}" for p in in_paths] + [f"--output={p}" for p in out_paths]
    subprocess.run(cmd, check=True)

    for i, (p, want) in enumerate(zip(out_paths, expected)):
        got = np.load(p)
        if got.shape != want.shape:
            raise SystemExit(f"{case} result {i}: shape {got.shape} != {want.shape}")
        if np.issubdtype(got.dtype, np.integer):
            if not np.array_equal(got.astype(np.int64), want.astype(np.int64)):
                bad = np.argwhere(got.astype(np.int64) != want.astype(np.int64))
                raise SystemExit(f"{case} result {i}: integers differ at {bad[:5].tolist()}")
            print(f"{case} result {i}: exact ({got.dtype}, {got.size} values)")
        else:
            err = np.abs(got - want).max() / max(np.abs(want).max(), 1e-30)
            if not err < 1e-6:
                raise SystemExit(f"{case} result {i}: relative error {err:.3e}")
            print(f"{case} result {i}: max relative error {err:.1e}")


if __name__ == "__main__":
    main()
