#!/usr/bin/env python3
"""bench/gpu_linear: the generated GPU W8A8 linear against PyTorch, in one run.

Runs on the device machine from the artifact folder that
scripts/gpu-build-artifacts.sh made (QX_GPU_SHAPES=bench, the issue's grid):
first `gpu_linear_runner` (ours: the generated int8 tensor-core GEMM with the
fused dequant + bias epilogue, checked against a CPU oracle, CUDA-event
timed), then, on the same GPU in the same process tree, PyTorch's bf16
matmul, torch._int_mm, an eager W8A8 linear and an eager LLM.int8()
decomposition (as ../shared/bench/gpu_anchors.py measures them: CUDA
events, warm-up, medians, fresh random data). Prints one table and

    gpu_w8a8_vs_int_mm=<our whole W8A8 linear TOPS / torch._int_mm TOPS at M=2048, N=K=4096>

Two of ours per shape: the GEMM alone (s8 activations + scales in, the
fused dequant + bias epilogue) and the whole W8A8 linear (f32 activations
in: the generated per-token quantize kernel, then the GEMM), which is what
the ratio line and the eager W8A8 anchor measure; `gpu_gemm_vs_int_mm` is
printed too. A third: the LLM.int8() mixed linear (f32 activations with 8
static outlier columns, as the eager anchor takes them: the generated
quantize kernel zeroes and gathers them, the GEMM's epilogue adds their f32
product), against the eager LLM.int8() anchor and bf16
(`gpu_llmint8_vs_bf16`). And both whole linears again on bf16 activations
and results, the anchors' I/O (`arith.extf` in front and `arith.truncf`
behind, fused into the kernels: half the bytes in and out), against bf16
(`gpu_w8a8_bf16_vs_bf16`, `gpu_llmint8_bf16_vs_bf16`). For where the time
goes, the GEMM alone with bf16 results (`GEMM bf16`) and the quantize of
bf16 activations alone (`bf16 quantize`, against the copy bandwidth).
"""
import json
import os
import re
import subprocess
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))


def bench(fn, reps=30, warm=5):
    for _ in range(warm):
        fn()
    torch.cuda.synchronize()
    ts = []
    for _ in range(reps):
        s = torch.cuda.Event(enable_timing=True)
        e = torch.cuda.Event(enable_timing=True)
        s.record()
        fn()
        e.record()
        torch.cuda.synchronize()
        ts.append(s.elapsed_time(e))
    ts.sort()
    return ts[len(ts) // 2] / 1e3


def anchors(M, N, K):
    dev = "cuda"
    torch.manual_seed(M * 7 + N * 3 + K)
    a = torch.randn(M, K, device=dev, dtype=torch.bfloat16)
    w = torch.randn(N, K, device=dev, dtype=torch.bfloat16)
    tb = bench(lambda: a @ w.t())
    Mi = max(M, 32)  # torch._int_mm needs M > 16
    ai = torch.randint(-127, 128, (Mi, K), device=dev, dtype=torch.int8)
    wi = torch.randint(-127, 128, (N, K), device=dev, dtype=torch.int8)
    ti = bench(lambda: torch._int_mm(ai, wi.t()))
    ws = w.float().abs().amax(1) / 127
    wq = torch.round(w.float() / ws[:, None]).clamp(-127, 127).to(torch.int8)
    a2 = torch.randn(Mi, K, device=dev, dtype=torch.bfloat16)

    def w8a8():
        s = a2.float().abs().amax(1, keepdim=True) / 127
        q = torch.round(a2.float() / s).clamp(-127, 127).to(torch.int8)
        return (torch._int_mm(q, wq.t()).float() * s * ws[None, :]).to(torch.bfloat16)
    tw = bench(w8a8)
    cols = torch.arange(0, K, K // 8, device=dev)[:8]
    keep = torch.ones(K, dtype=torch.bool, device=dev)
    keep[cols] = False
    wq_in, w_out = wq[:, keep].contiguous(), w[:, cols].contiguous()

    def llmint8():
        xo, xi = a2[:, cols], a2[:, keep]
        s = xi.float().abs().amax(1, keepdim=True) / 127
        q = torch.round(xi.float() / s).clamp(-127, 127).to(torch.int8)
        return (torch._int_mm(q, wq_in.t()).float() * s * ws[None, :]).to(torch.bfloat16) + xo @ w_out.t()
    tl = bench(llmint8)
    ops = 2.0 * M * N * K
    opsi = 2.0 * Mi * N * K
    return dict(bf16=ops / tb / 1e12, int_mm=opsi / ti / 1e12, eager_w8a8=opsi / tw / 1e12,
                eager_llmint8=opsi / tl / 1e12)


def main():
    runner = os.path.join(HERE, "gpu_linear_runner")
    if not os.path.exists(runner):  # run from the artifact folder
        runner = "./gpu_linear_runner"
    p = subprocess.run([runner], capture_output=True, text=True)
    sys.stdout.write(p.stdout)
    sys.stderr.write(p.stderr)
    gemm, fused, mixed, bfused, bmixed, bgemm, quant = {}, {}, {}, {}, {}, {}, {}
    for line in p.stdout.splitlines():
        q = re.match(r"(\S+)\s+M=(\d+)\s+K=(\d+)\s+(hadamard\+|bf16 )?quantize.*mismatches=(\d+)\s+median=([0-9.]+) ms\s+([0-9.]+) GB/s", line)
        if q:
            kind = {"hadamard+": "hadamard", "bf16 ": "bf16"}.get(q[4], "plain")
            quant.setdefault((int(q[2]), int(q[3])), {})[kind] = (float(q[7]), int(q[5]))
        m = re.match(r"(\S+)\s+M=(\d+)\s+N=(\d+)\s+K=(\d+).*mismatches=(\d+)\s+median=([0-9.]+) ms\s+([0-9.]+) TOPS", line)
        if m:
            # f…: the fused entries (quantize + GEMM); l…: LLM.int8(); bf…
            # and bl…: the same on bf16 activations and results; bg…: the
            # GEMM alone with bf16 results; the others: GEMM alone.
            table = {"bf": bfused, "bl": bmixed, "bg": bgemm}.get(m[1][:2]) if " bf16 " in line else None
            if table is None:
                table = {"f": fused, "l": mixed}.get(m[1][0], gemm)
            table[(int(m[2]), int(m[3]), int(m[4]))] = (float(m[7]), int(m[5]))
    print(torch.__version__, torch.cuda.get_device_name())
    print(f"{'M':>5} {'N':>6} {'K':>6} | {'GEMM':>7} {'W8A8':>7} {'_int_mm':>8} {'bf16':>7} {'eager W8A8':>10} "
          f"{'eager LLM.int8':>14} {'LLM.int8':>8} | GEMM/_int_mm  W8A8/_int_mm  W8A8/bf16  "
          f"LLM.int8/eager  LLM.int8/bf16 | {'W8A8 bf16':>9} {'LLM.int8 bf16':>13} | W8A8 bf16/bf16  "
          f"LLM.int8 bf16/bf16 | {'GEMM bf16':>9}   (TOPS; bf16 TFLOP/s)")
    rows = []
    grid = {(M, N, K) for M in (16, 128, 2048, 8192)
            for N, K in ((4096, 4096), (11008, 4096), (4096, 11008))} | {(8192, 8192, 8192)}
    for (M, N, K), (tops, bad) in sorted(gemm.items()):
        if (M, N, K) not in grid:
            continue  # the correctness shapes
        ftops, fbad = fused.get((M, N, K), (float("nan"), 0))
        ltops, lbad = mixed.get((M, N, K), (float("nan"), 0))
        bftops, bfbad = bfused.get((M, N, K), (float("nan"), 0))
        bltops, blbad = bmixed.get((M, N, K), (float("nan"), 0))
        bgtops, bgbad = bgemm.get((M, N, K), (float("nan"), 0))
        a = anchors(M, N, K)
        rows.append(dict(M=M, N=N, K=K, ours=tops, ours_fused=ftops, ours_llmint8=ltops,
                         ours_fused_bf16=bftops, ours_llmint8_bf16=bltops, ours_gemm_bf16=bgtops,
                         mismatches=bad + fbad + lbad + bfbad + blbad + bgbad, **a))
        print(f"{M:5d} {N:6d} {K:6d} | {tops:7.1f} {ftops:7.1f} {a['int_mm']:8.1f} {a['bf16']:7.1f} "
              f"{a['eager_w8a8']:10.1f} {a['eager_llmint8']:14.1f} {ltops:8.1f} | {tops / a['int_mm']:12.3f} "
              f"{ftops / a['int_mm']:13.3f} {ftops / a['bf16']:10.3f} {ltops / a['eager_llmint8']:15.3f} "
              f"{ltops / a['bf16']:14.3f} | {bftops:9.1f} {bltops:13.1f} | {bftops / a['bf16']:14.3f} "
              f"{bltops / a['bf16']:18.3f} | {bgtops:9.1f}", flush=True)
    # The quantize kernel alone against a device copy of its input (read
    # and write 4·M·K bytes), in GB/s.
    qrows = []
    if quant:
        print(f"{'M':>5} {'K':>6} | {'quantize GB/s':>13} {'+Hadamard':>10} {'bf16 in':>8} {'copy GB/s':>10} | "
              f"quantize/copy  +Hadamard/copy  bf16/copy")
    for (M, K), kinds in sorted(quant.items()):
        src = torch.randn(M, K, device="cuda")
        dst = torch.empty_like(src)
        tc = bench(lambda: dst.copy_(src))
        copy = 8.0 * M * K / tc / 1e9
        gbs, bad = kinds.get("plain", (float("nan"), 0))
        hgbs, hbad = kinds.get("hadamard", (float("nan"), 0))
        bgbs, bbad = kinds.get("bf16", (float("nan"), 0))
        qrows.append(dict(M=M, K=K, quantize_gbs=gbs, hadamard_quantize_gbs=hgbs, bf16_quantize_gbs=bgbs,
                          copy_gbs=copy, mismatches=bad + hbad + bbad))
        print(f"{M:5d} {K:6d} | {gbs:13.1f} {hgbs:10.1f} {bgbs:8.1f} {copy:10.1f} | {gbs / copy:13.3f} "
              f"{hgbs / copy:15.3f} {bgbs / copy:10.3f}", flush=True)
    key = [r for r in rows if (r["M"], r["N"], r["K"]) == (2048, 4096, 4096)]
    if key:
        print(f"gpu_llmint8_vs_bf16={key[0]['ours_llmint8'] / key[0]['bf16']:.3f}")
        print(f"gpu_gemm_vs_int_mm={key[0]['ours'] / key[0]['int_mm']:.3f}")
        print(f"gpu_w8a8_bf16_vs_bf16={key[0]['ours_fused_bf16'] / key[0]['bf16']:.3f}")
        print(f"gpu_llmint8_bf16_vs_bf16={key[0]['ours_llmint8_bf16'] / key[0]['bf16']:.3f}")
        print(f"gpu_w8a8_vs_int_mm={key[0]['ours_fused'] / key[0]['int_mm']:.3f}")
    out = os.environ.get("OUT")
    if out:
        with open(os.path.join(out, "gpu_linear.json"), "w") as f:
            json.dump(dict(linears=rows, quantize=qrows), f, indent=1)
    return p.returncode


if __name__ == "__main__":
    sys.exit(main())
