#!/usr/bin/env python3
"""Runs the artifact of bench/gpu/make_cuda_artifact.py on a GPU, from
Python, without quant-xform installed: cuda.py (copied next to this file)
loads <here>/bert; the model runs on numpy arrays (one sequence, then a
batch of two) and, when torch is installed, on torch CUDA tensors (the
batch); every output is compared with the reference evaluator's
(relative error ≤ 1e-5), then one sequence through torch is timed (CUDA
events, median of 20 after warm-up). Exit 1 on a mismatch."""
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import cuda  # noqa: E402  (quant_xform/cuda.py, standalone)


def rel_err(a, b):
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def main():
    model = cuda.load(os.path.join(HERE, "bert"))
    x = np.load(os.path.join(HERE, "x.npy"))
    mask = np.load(os.path.join(HERE, "mask.npy"))
    expected = np.load(os.path.join(HERE, "expected.npy"))
    ok = True
    y = model(x[0], mask[0])
    e = rel_err(y, expected[0])
    print(f"numpy in/out: relative error {e:.3e}")
    ok &= e <= 1e-5
    y = model(x, mask)
    e = rel_err(y, expected)
    print(f"numpy batch of {len(x)}: relative error {e:.3e}, result shape {list(y.shape)}")
    ok &= e <= 1e-5 and y.shape == expected.shape
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None and torch.cuda.is_available():
        xt = torch.from_numpy(x).cuda()
        mt = torch.from_numpy(mask).cuda()
        yt = model(xt, mt)
        e = rel_err(yt.cpu().numpy(), expected)
        print(f"torch CUDA tensors (batch): relative error {e:.3e}, result on {yt.device}")
        ok &= e <= 1e-5
        xt, mt = xt[0].contiguous(), mt[0].contiguous()
        for _ in range(3):
            model(xt, mt)
        ts = []
        for _ in range(20):
            s = torch.cuda.Event(enable_timing=True)
            t = torch.cuda.Event(enable_timing=True)
            s.record()
            model(xt, mt)
            t.record()
            torch.cuda.synchronize()
            ts.append(s.elapsed_time(t))
        ts.sort()
        print(f"torch CUDA tensors: median {ts[len(ts) // 2]:.3f} ms per call")
    try:
        model(x[0, :4], mask[0])
        ok = False
    except cuda.CudaError as err:
        print(f"wrong shape: CudaError: {err}")
    print("run_cuda_artifact: OK" if ok else "run_cuda_artifact: FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
