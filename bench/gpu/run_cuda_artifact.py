#!/usr/bin/env python3
"""Runs the artifact of bench/gpu/make_cuda_artifact.py on a GPU, from
Python, without quant-xform installed: cuda.py (copied next to this file)
loads <here>/bert; the model runs on numpy arrays (one sequence, then a
batch of two) and, when torch is installed, on torch CUDA tensors (the
batch); every output is compared with the reference evaluator's
(relative error ≤ TOLERANCE), then one sequence through torch is timed (CUDA
events, median of 20 after warm-up). The weights come from the artifact's
weight file: a second model in the same process, loaded with another file
of the same layout (the int8 weights negated), must give other outputs
while the first still gives its own. Exit 1 on a mismatch."""
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import cuda  # noqa: E402  (quant_xform/cuda.py, standalone)


# A W8A8 model with attention: the flash kernel's f16 products (2e-4 on
# the attention output) flip int8 roundings of the next quantizers
# (scripts/gpu-build-blocks.sh: 1.2e-3 - 1.05e-2 measured on the blocks).
TOLERANCE = 2e-2


def rel_err(a, b):
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def other_weights(model, x, mask, expected):
    """Loads the artifact again with its int8 weights negated (another file
    of the same layout): its output must move, the first model's not."""
    path = os.path.join(HERE, "bert", model.meta["weights"]["file"])
    header = cuda.read_weights_header(path)
    data = open(path, "rb").read()
    arrays = []
    for (name, dtype, shape), (b, e) in zip(header["tensors"], header["offsets"]):
        a = np.frombuffer(data[b:e], dtype={"F32": np.float32, "I8": np.int8,
                                            "I32": np.int32}[dtype]).reshape(shape)
        arrays.append((name, -a if dtype == "I8" and len(shape) == 2 else a))
    other = os.path.join("/tmp", "negated.weights.safetensors")
    cuda.write_weights(other, arrays)
    negated = cuda.load(os.path.join(HERE, "bert"), weights=other)
    e_other = rel_err(negated(x[0], mask[0]), expected[0])
    e_first = rel_err(model(x[0], mask[0]), expected[0])
    print(f"weights as data: {len(arrays)} tensors, {len(data) / 1e6:.2f} MB file; with the "
          f"int8 weights negated the output moves by {e_other:.3e}, the first model's by "
          f"{e_first:.3e}")
    return e_other > 5 * TOLERANCE and e_first <= TOLERANCE


def main():
    model = cuda.load(os.path.join(HERE, "bert"))
    x = np.load(os.path.join(HERE, "x.npy"))
    mask = np.load(os.path.join(HERE, "mask.npy"))
    expected = np.load(os.path.join(HERE, "expected.npy"))
    ok = True
    y = model(x[0], mask[0])
    e = rel_err(y, expected[0])
    print(f"numpy in/out: relative error {e:.3e}")
    ok &= e <= TOLERANCE
    y = model(x, mask)
    e = rel_err(y, expected)
    print(f"numpy batch of {len(x)}: relative error {e:.3e}, result shape {list(y.shape)}")
    ok &= e <= TOLERANCE and y.shape == expected.shape
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
        ok &= e <= TOLERANCE
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
    if model.weight_layout is not None:
        ok &= other_weights(model, x, mask, expected)
    try:
        model(x[0, :4], mask[0])
        ok = False
    except cuda.CudaError as err:
        print(f"wrong shape: CudaError: {err}")
    print("run_cuda_artifact: OK" if ok else "run_cuda_artifact: FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
