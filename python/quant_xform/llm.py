"""Decoder LLMs (LLaMA family) on the CPU: prefill, KV-cache decode, generation.

Typical use::

    import quant_xform as qx
    llm = qx.LLM.from_gguf("SmolLM2-135M-Instruct.Q4_1.gguf", context=1024)
    model = llm.compile(recipe=qx.RECIPES["naive"], threads=2)   # W8A8; None: fp32
    for piece in model.generate("The GNU General Public License is", max_new_tokens=32,
                                stream=True):
        print(piece, end="", flush=True)

Every decoder layer is its own compiled module (``quant_xform.llm_ir``) with
a prefill function (``prefill_len`` tokens, a compiled bucket: shorter
prompts are padded) and a decode function (``decode_batch`` sequences, one
token each, against a KV cache of ``context`` positions). The token
embedding, the KV cache and the sampling are numpy; the final norm and the
LM head are a compiled module too (the head's weight, the token embedding
when tied, is an argument: it is data, not code).
"""

from __future__ import annotations

import concurrent.futures
import math
import os
import sys
import time
from typing import Dict, List, Optional, Sequence, Union

import numpy as np

from . import _core
from .llm_ir import build_layer_ir, residual_rotation, rope_tables, rotate_op
from .models import (MASK_NEG, DecoderConfig, _Emitter, _ty, _validate_config,
                     normalize_weights)

QuantXformError = _core.QuantXformError


def _progress(enabled: bool, message: str) -> None:
    if enabled:
        print(f"quant_xform: {message}", file=sys.stderr, flush=True)


def build_head_ir(config: DecoderConfig, weights: Dict[str, np.ndarray], rows: Sequence[int],
                  elide_weights: bool = False, head_weight: Optional[str] = None,
                  rotation: Optional[np.ndarray] = None,
                  blobs: Optional[Dict[str, np.ndarray]] = None) -> str:
    """Final norm + LM head: ``prefill(h: [R, H], w: [V, H]) -> [R, V]`` for
    the first row count, ``decode`` for the second. The head weight ``w`` (the
    token embedding when tied) is an argument, or with ``head_weight`` (its
    name in ``weights``) a constant: ``prefill(h) -> [R, V]``. With
    ``rotation`` (``llm_ir.residual_rotation``), ``h`` is the rotated
    residual stream. ``blobs``: as ``llm_ir.build_layer_ir``'s."""
    H, V = config.hidden, config.vocab
    funcs = []
    for name, R in zip(("prefill", "decode"), rows):
        e = _Emitter(weights, elide_weights, blobs)
        h = "%h" if rotation is None else rotate_op(e, "%h", R, rotation, True)
        if config.norm == "rms":
            n = e.rms_norm(h, R, H, "norm.weight", config.eps)
        else:
            n = e.layer_norm(h, R, H, "norm.weight", "norm.bias", config.eps)
        w = e.weight(head_weight) if head_weight else "%w"
        logits = e.op("lin", f'quant_xform.linear {n}, {w} {{quant_xform.layer = "lm_head"}} : '
                             f"({_ty(R, H)}, {_ty(V, H)}) -> "
                             f"{_ty(R, V)}")
        args = f"%h: {_ty(R, H)}" + ("" if head_weight else f", %w: {_ty(V, H)}")
        funcs.append(f"  func.func @{name}({args}) -> {_ty(R, V)} {{\n"
                     + "\n".join(e.lines) + f"\n    return {logits} : {_ty(R, V)}\n  }}\n")
    return "module {\n" + "".join(funcs) + "}\n"


def reference_logits(config: DecoderConfig, weights: Dict[str, np.ndarray],
                     tokens: Sequence[int]) -> np.ndarray:
    """The decoder in float64 numpy: logits ``[len(tokens), V]`` of a causal
    pass over ``tokens`` from position 0 (the oracle of the tests)."""
    W = {k: v.astype(np.float64) for k, v in weights.items()}
    S, H, nh, kvh, dh = len(tokens), config.hidden, config.heads, config.n_kv_heads, config.head_dim
    x = W["embed_tokens.weight"][np.asarray(tokens)]
    cos, sin = rope_tables(np.arange(S), dh, config.rope_theta)
    cos, sin = cos.astype(np.float64)[:, None, :], sin.astype(np.float64)[:, None, :]

    def rope(t):  # [S, n, dh]
        a, b = t[..., :dh // 2], t[..., dh // 2:]
        return np.concatenate([a * cos - b * sin, b * cos + a * sin], -1)

    def rms(t, g):
        return t / np.sqrt((t * t).mean(-1, keepdims=True) + config.eps) * g

    causal = np.triu(np.full((S, S), -np.inf), 1)
    for i in range(config.layers):
        p = f"layers.{i}."
        n = rms(x, W[p + "input_layernorm.weight"])
        q = rope((n @ W[p + "self_attn.q_proj.weight"].T).reshape(S, nh, dh))
        k = rope((n @ W[p + "self_attn.k_proj.weight"].T).reshape(S, kvh, dh))
        v = (n @ W[p + "self_attn.v_proj.weight"].T).reshape(S, kvh, dh)
        k = np.repeat(k, nh // kvh, axis=1)
        v = np.repeat(v, nh // kvh, axis=1)
        s = np.einsum("ihd,jhd->hij", q, k) / math.sqrt(dh) + causal
        s = np.exp(s - s.max(-1, keepdims=True))
        s /= s.sum(-1, keepdims=True)
        ctx = np.einsum("hij,jhd->ihd", s, v).reshape(S, H)
        x = x + ctx @ W[p + "self_attn.o_proj.weight"].T
        n2 = rms(x, W[p + "post_attention_layernorm.weight"])
        g = n2 @ W[p + "mlp.gate_proj.weight"].T
        u = n2 @ W[p + "mlp.up_proj.weight"].T
        x = x + (g / (1.0 + np.exp(-g)) * u) @ W[p + "mlp.down_proj.weight"].T
    head = W.get("lm_head.weight", W["embed_tokens.weight"])
    return rms(x, W["norm.weight"]) @ head.T


class LLM:
    """A decoder LLM (config + float weights, a tokenizer when known) ready
    to compile for the CPU."""

    def __init__(self, config: DecoderConfig, weights, tokenizer=None,
                 prefill_len: int = 512, context: int = 1024, decode_batch: int = 1,
                 calibration_len: int = 128, long_prompts: str = "decode"):
        if not isinstance(config, DecoderConfig) or not config.rope_theta:
            raise QuantXformError("LLM needs a DecoderConfig with rope_theta > 0")
        _validate_config(config)
        if config.norm != "rms":
            raise QuantXformError("LLM supports RMSNorm decoders (config.norm='rms')")
        for name, v in (("prefill_len", prefill_len), ("context", context),
                        ("decode_batch", decode_batch), ("calibration_len", calibration_len)):
            if not isinstance(v, int) or v <= 0:
                raise QuantXformError(f"{name} must be a positive integer, got {v!r}")
        if long_prompts not in ("decode", "chunks"):
            raise QuantXformError(f"long_prompts must be 'decode' or 'chunks', got "
                                  f"{long_prompts!r}")
        if context > config.max_positions:
            raise QuantXformError(f"context {context} exceeds the model's "
                                  f"{config.max_positions} positions")
        self.config = config
        self.weights = normalize_weights(config, weights)
        if "embed_tokens.weight" not in self.weights:
            raise QuantXformError("the weights have no embed_tokens.weight")
        emb = self.weights["embed_tokens.weight"]
        if config.vocab == 0:
            config.vocab = emb.shape[0]
        head = self.weights.get("lm_head.weight", emb if config.tie_embeddings else None)
        if head is None:
            raise QuantXformError("untied LM head: the weights have no lm_head.weight")
        for name, w in (("embed_tokens.weight", emb), ("lm_head.weight", head)):
            if w.shape != (config.vocab, config.hidden):
                raise QuantXformError(f"'{name}' has shape {list(w.shape)}, expected "
                                      f"[{config.vocab}, {config.hidden}]")
        self.head_weight = np.ascontiguousarray(head)
        self.tokenizer = tokenizer
        self.prefill_len, self.context, self.decode_batch = prefill_len, context, decode_batch
        #: Positions the compiled decode reads: ``context`` rounded up to a
        #: multiple of 64, so that its attention runs on the CPU's
        #: register-blocked matmul kernel (the extra positions stay masked).
        self.cache_len = -(-context // 64) * 64
        #: Tokens per calibration window (the private ``main`` of a layer).
        self.calibration_len = min(calibration_len, prefill_len)
        #: How a prompt longer than ``prefill_len`` continues: "decode" (token
        #: by token through the decode step) or "chunks" (a third compiled
        #: function per layer, ``prefill_chunk``: ``prefill_len`` tokens at a
        #: time against the cache; more compile time, much faster prompts).
        self.long_prompts = long_prompts
        self.chunked = long_prompts == "chunks" and context > prefill_len
        self._calibration_memo: Dict[tuple, List[List[np.ndarray]]] = {}

    @classmethod
    def from_gguf(cls, path: str, tokenizer: bool = True, **kwargs) -> "LLM":
        """A LLaMA-family model from a GGUF file (weights dequantized to f32;
        its tokenizer and chat template when ``tokenizer``)."""
        from .gguf_file import load_gguf
        config, weights = load_gguf(path)
        tok = None
        if tokenizer:
            from .tokenizer import GGUFTokenizer
            tok = GGUFTokenizer.from_gguf(path)
        kwargs.setdefault("context", min(1024, config.max_positions))
        return cls(config, weights, tok, **kwargs)

    # -- IR --------------------------------------------------------------------
    def layer_ir(self, layer: int, elide_weights: bool = True,
                 calibration: bool = False, rotation: Optional[np.ndarray] = None,
                 blobs: Optional[Dict[str, np.ndarray]] = None,
                 decode_attention: str = "matmul", kv_cache_dtype: str = "f32") -> str:
        """Decoder layer ``layer`` as MLIR text (``prefill``, ``decode`` and,
        with ``calibration``, the private calibration ``main``; with
        ``rotation`` (``llm_ir.residual_rotation``), on the rotated residual
        stream; with ``blobs``, weights as ``dense_resource`` keys into it;
        ``decode_attention="op"``: the GPU's decode step and cache layout,
        with ``kv_cache_dtype="f16"`` its caches in f16,
        ``llm_ir.build_layer_ir``)."""
        if not 0 <= layer < self.config.layers:
            raise QuantXformError(f"layer {layer} out of range [0, {self.config.layers})")
        return build_layer_ir(self.config, self.weights, layer, self.prefill_len,
                              self.decode_batch, self.cache_len,
                              self.calibration_len if calibration else 0, elide_weights,
                              rotation, blobs, decode_attention=decode_attention,
                              prefill_chunk=self.chunked and decode_attention == "matmul",
                              kv_cache_dtype=kv_cache_dtype)

    def layer_module(self, layer: int, calibration: bool = False,
                     rotation: Optional[np.ndarray] = None,
                     decode_attention: str = "matmul",
                     kv_cache_dtype: str = "f32") -> _core.Module:
        """Decoder layer ``layer`` as a compiler module (weights handed to the
        parser as arrays, not hex text)."""
        blobs: Dict[str, np.ndarray] = {}
        text = self.layer_ir(layer, elide_weights=False, calibration=calibration,
                             rotation=rotation, blobs=blobs, decode_attention=decode_attention,
                             kv_cache_dtype=kv_cache_dtype)
        return _core.Module.parse(text.encode(), f"layer{layer}.mlir", blobs)

    def head_module(self, constant_weight: bool = False,
                    rotation: Optional[np.ndarray] = None) -> _core.Module:
        """The final norm and LM head; its weight an argument, or a constant
        (``constant_weight``: then a recipe can quantize it)."""
        name = None
        if constant_weight:
            name = "lm_head.weight" if "lm_head.weight" in self.weights else "embed_tokens.weight"
        blobs: Dict[str, np.ndarray] = {}
        text = build_head_ir(self.config, self.weights, (self.prefill_len, self.decode_batch),
                             head_weight=name, rotation=rotation, blobs=blobs)
        return _core.Module.parse(text.encode(), "head.mlir", blobs)

    def rotation_matrix(self, rotation: np.ndarray) -> np.ndarray:
        """``Q`` of a residual rotation (``x' = x·Q``) as
        ``quant_xform.rotate`` defines it: the evaluator rotates the
        identity."""
        H = self.config.hidden
        e = _Emitter({}, False)
        q = rotate_op(e, "%x", H, rotation, False)
        text = (f"func.func @main(%x: {_ty(H, H)}) -> {_ty(H, H)} {{\n" + "\n".join(e.lines)
                + f"\n    return {q} : {_ty(H, H)}\n}}\n")
        module = _core.Module.parse(text.encode(), "rotation.mlir")
        return module.evaluate([np.eye(H, dtype=np.float32)])[0]

    # -- inputs ----------------------------------------------------------------
    def embed(self, tokens, table: Optional[np.ndarray] = None) -> np.ndarray:
        """Rows of the token embedding (or of ``table``, a rotated one)."""
        ids = np.asarray(tokens, dtype=np.int64)
        if ids.size and (ids.min() < 0 or ids.max() >= self.config.vocab):
            raise QuantXformError(f"token id out of range [0, {self.config.vocab})")
        return (self.weights["embed_tokens.weight"] if table is None else table)[ids]

    def prefill_inputs(self, tokens, table: Optional[np.ndarray] = None) -> List[np.ndarray]:
        """``prefill``'s arguments for one window of at most ``prefill_len``
        tokens from position 0 (padded and masked)."""
        n, S = len(tokens), self.prefill_len
        if not 0 < n <= S:
            raise QuantXformError(f"a prefill takes 1..{S} tokens, got {n}")
        x = np.zeros((S, self.config.hidden), np.float32)
        x[:n] = self.embed(tokens, table)
        cos, sin = rope_tables(np.arange(S), self.config.head_dim, self.config.rope_theta)
        mask = np.zeros(S, np.float32)
        mask[n:] = MASK_NEG
        return [x, cos, sin, mask]

    def reference_logits(self, tokens) -> np.ndarray:
        return reference_logits(self.config, self.weights, tokens)

    # -- compilation ------------------------------------------------------------
    def calibration_inputs(self, windows: Sequence[Sequence[int]], threads: int = 1,
                           progress: bool = True, float_model: Optional["CompiledLLM"] = None
                           ) -> List[List[np.ndarray]]:
        """Each layer's calibration-function inputs on ``windows`` of exactly
        ``calibration_len`` tokens, from the float model compiled for this
        CPU (``float_model``, else compiled now): ``[layer][arg] -> [N, ...]``.
        Remembered per set of windows."""
        n = self.calibration_len
        for w in windows:
            if len(w) != n:
                raise QuantXformError(f"calibration windows must hold {n} tokens, "
                                      f"got {len(w)}")
        key = tuple(tuple(int(t) for t in w) for w in windows)
        if key in self._calibration_memo:
            return self._calibration_memo[key]
        fp32 = float_model or self.compile(None, threads=threads, progress=progress)
        per_layer: List[List[List[np.ndarray]]] = [[] for _ in range(self.config.layers)]
        for count, w in enumerate(windows):
            # Causal: the first n rows of a padded prefill are those of n tokens.
            args = self.prefill_inputs(w)
            for i, layer in enumerate(fp32.layers):
                per_layer[i].append([args[0][:n], args[1][:n], args[2][:n], args[3][:n]])
                args = [layer.prefill.run(args)[0]] + args[1:]
            _progress(progress, f"calibration window {count + 1}/{len(windows)} through "
                                "the float model")
        out = [[np.stack([a[j] for a in rows]) for j in range(4)] for rows in per_layer]
        self._calibration_memo = {key: out}
        return out

    def compile(self, recipe=None, calibration: Optional[Sequence[Sequence[int]]] = None,
                threads: int = 1, jobs: Optional[int] = None,
                progress: bool = True, quantize_head: bool = True,
                float_model: Optional["CompiledLLM"] = None) -> "CompiledLLM":
        """JIT-compiles every layer (fp32 when ``recipe`` is None, else
        through the W8A8 ``recipe``, calibrated on ``calibration`` — windows
        of token ids — when given) and the head. ``jobs`` layers compile at
        once (default: the cores); each runs on ``threads`` threads. With a
        recipe and ``quantize_head``, the LM head is W8A8 (naive recipe).
        ``float_model`` (this model compiled without a recipe) saves the
        compile that calibration needs. A recipe with ``residual_rotation``
        runs every layer on the residual stream rotated by one ``Q`` (a
        randomized Hadamard or a Haar-random orthogonal matrix, seeded by
        the recipe's seed): the rotations fold into the weights and the
        embedding table is rotated once here."""
        from .compiler import quantize
        start = time.time()
        rotation = embedding = None
        if recipe is not None and recipe.residual_rotation != "none":
            rotation = residual_rotation(self.config.hidden, recipe.residual_rotation, recipe.seed)
            q = self.rotation_matrix(rotation)
            embedding = self.weights["embed_tokens.weight"] @ q
        cal = None
        if recipe is not None and calibration is not None:
            cal = self.calibration_inputs(calibration, threads, progress, float_model)
            if rotation is not None:  # the layers read the rotated stream
                cal = [[layer[0] @ q] + layer[1:] for layer in cal]
        jobs = jobs or os.cpu_count() or 1
        done = [0]

        def one(i: int):
            module = self.layer_module(i, calibration=recipe is not None, rotation=rotation)
            if recipe is not None:
                module = quantize(module, recipe, None if cal is None else cal[i],
                                  progress=False)
                module.run_pipeline("symbol-dce")  # the calibration function
            names = ["prefill", "decode"] + (["prefill_chunk"] if self.chunked else [])
            fns = module.compile_cpu_functions(names, threads)
            done[0] += 1
            _progress(progress, f"compiled layer {i} ({done[0]}/{self.config.layers}, "
                                f"{time.time() - start:.1f} s)")
            return _CompiledLayer(module, *fns)

        def head():
            # With a recipe the head is W8A8 too, with the recipe's scale
            # granularity (per-token activations and per-channel weights,
            # or per-group ones) and no transforms: it needs no calibration.
            if recipe is None or not quantize_head:
                # A rotation stays online here: the head's weight is an argument.
                module = self.head_module(rotation=rotation)
                return module.compile_cpu_functions(["prefill", "decode"], threads)
            head_recipe = _naive_recipe()
            head_recipe.residual_rotation = recipe.residual_rotation
            head_recipe.activation_granularity = recipe.activation_granularity
            head_recipe.weight_granularity = recipe.weight_granularity
            head_recipe.group_size = recipe.group_size
            module = quantize(self.head_module(constant_weight=True, rotation=rotation),
                              head_recipe, progress=False)
            return module.compile_cpu_functions(["prefill", "decode"], threads)

        with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
            head_job = pool.submit(head)
            layers = list(pool.map(one, range(self.config.layers)))
            head_fns = head_job.result()
        seconds = time.time() - start
        _progress(progress, f"{self.config.layers} layers compiled in {seconds:.1f} s")
        weight = None if recipe is not None and quantize_head else self.head_weight
        return CompiledLLM(self, layers, (head_fns[0], head_fns[1], weight), recipe, seconds,
                           embedding)


def _naive_recipe():
    from .compiler import Recipe
    return Recipe()


class _CompiledLayer:
    def __init__(self, module, prefill, decode, prefill_chunk=None):
        self.module, self.prefill, self.decode = module, prefill, decode
        self.prefill_chunk = prefill_chunk


class KVCache:
    """The caller-owned KV cache: per layer keys ``[B, KV heads, D,
    capacity]`` (transposed, as decode's score product reads them) and
    values ``[B, KV heads, capacity, D]`` (``capacity`` ≥ ``context``, the
    positions it may fill), and each sequence's filled length."""

    def __init__(self, config: DecoderConfig, batch: int, context: int,
                 capacity: Optional[int] = None):
        self.capacity = capacity or context
        kv = (batch, config.n_kv_heads)
        self.k = [np.zeros(kv + (config.head_dim, self.capacity), np.float32)
                  for _ in range(config.layers)]
        self.v = [np.zeros(kv + (self.capacity, config.head_dim), np.float32)
                  for _ in range(config.layers)]
        self.length = np.zeros(batch, np.int64)
        self.context = context

    def mask(self) -> np.ndarray:
        """0 for filled positions, MASK_NEG for the rest: ``[B, context]``."""
        pos = np.arange(self.capacity)[None, :]
        return np.where(pos < self.length[:, None], 0.0, MASK_NEG).astype(np.float32)


class CompiledLLM:
    """Compiled layers and head: logits, prefill and decode over a KV cache,
    and text generation."""

    def __init__(self, llm: LLM, layers, head, recipe, compile_seconds,
                 embedding: Optional[np.ndarray] = None):
        self.llm, self.config = llm, llm.config
        #: The token embedding the layers read (rotated with the residual
        #: stream), or None: the model's.
        self.embedding = embedding
        self.layers = layers
        #: The head's functions and its weight argument (None: a constant).
        self.head_prefill, self.head_decode, self.head_weight = head
        self.recipe = recipe
        #: Wall time of ``LLM.compile`` (calibration, recipe and JIT).
        self.compile_seconds = compile_seconds

    # -- whole windows ----------------------------------------------------------
    def _prefill_hidden(self, tokens, cache: Optional[KVCache] = None, slot: int = 0):
        args = self.llm.prefill_inputs(tokens, self.embedding)
        n = len(tokens)
        for i, layer in enumerate(self.layers):
            y, k, v = layer.prefill.run(args)
            if cache is not None:
                cache.k[i][slot, :, :, :n] = k[:, :n].transpose(0, 2, 1)
                cache.v[i][slot, :, :n] = v[:, :n]
            args = [y] + args[1:]
        if cache is not None:
            cache.length[slot] = n
        return args[0]

    def logits(self, tokens) -> np.ndarray:
        """Logits ``[len(tokens), V]`` of one window from position 0 (at
        most ``prefill_len`` tokens): for perplexity."""
        h = self._prefill_hidden(tokens)
        return self._head(self.head_prefill, h)[:len(tokens)]

    # -- KV cache ----------------------------------------------------------------
    def new_cache(self) -> KVCache:
        return KVCache(self.config, self.llm.decode_batch, self.llm.context,
                       self.llm.cache_len)

    def prefill(self, tokens, cache: KVCache, slot: int = 0) -> np.ndarray:
        """Runs a prompt into ``cache`` (sequence ``slot``) and returns the
        logits of its last token ``[V]``. A prompt longer than
        ``prefill_len`` continues ``prefill_len`` tokens at a time through
        ``prefill_chunk`` (``LLM(long_prompts="chunks")``), else token by
        token through ``decode``."""
        tokens = list(tokens)
        if not tokens:
            raise QuantXformError("the prompt is empty")
        if len(tokens) > cache.context:
            raise QuantXformError(f"the prompt has {len(tokens)} tokens; the KV cache holds "
                                  f"{cache.context}")
        S = self.llm.prefill_len
        first = tokens[:S]
        h = self._prefill_hidden(first, cache, slot)
        done = last = len(first)
        if self.layers[0].prefill_chunk is not None:
            for done in range(S, len(tokens), S):
                chunk = tokens[done:done + S]
                h, last = self._prefill_chunk(chunk, cache, slot), len(chunk)
            done = len(tokens)
        rows = np.zeros((self.llm.decode_batch, self.config.hidden), np.float32)
        rows[slot] = h[last - 1]
        logits = self._head(self.head_decode, rows)[slot]
        for t in tokens[done:]:
            step = np.full(self.llm.decode_batch, -1, np.int64)
            step[slot] = t
            logits = self.decode(step, cache)[slot]
        return logits

    def _prefill_chunk(self, tokens, cache: KVCache, slot: int) -> np.ndarray:
        """The next at most ``prefill_len`` tokens of sequence ``slot``
        through every layer's ``prefill_chunk``, their k and v appended to
        the cache; returns the hidden rows ``[prefill_len, H]``."""
        n, S, C = len(tokens), self.llm.prefill_len, cache.capacity
        p = int(cache.length[slot])
        x = np.zeros((S, self.config.hidden), np.float32)
        x[:n] = self.llm.embed(tokens, self.embedding)
        cos, sin = rope_tables(p + np.arange(S), self.config.head_dim, self.config.rope_theta)
        mask = np.full((1, C + S), MASK_NEG, np.float32)
        mask[0, :C] = cache.mask()[slot]
        mask[0, C:C + n] = 0.0
        kv, dh = self.config.n_kv_heads, self.config.head_dim
        for i, layer in enumerate(self.layers):
            kc = np.zeros((1, C + S, kv, dh), np.float32)
            vc = np.zeros((1, C + S, kv, dh), np.float32)
            kc[0, :C] = cache.k[i][slot].transpose(2, 0, 1)   # [KV, D, C] -> [C, KV, D]
            vc[0, :C] = cache.v[i][slot].transpose(1, 0, 2)   # [KV, C, D] -> [C, KV, D]
            x, k, v = layer.prefill_chunk.run([x, cos, sin, mask, kc, vc])
            cache.k[i][slot, :, :, p:p + n] = k[:, :n].transpose(0, 2, 1)
            cache.v[i][slot, :, p:p + n] = v[:, :n]
        cache.length[slot] = p + n
        return x

    def decode(self, tokens, cache: KVCache) -> np.ndarray:
        """One token per sequence (``-1``: the slot is idle) at each
        sequence's next position; returns logits ``[B, V]``."""
        tokens = np.asarray(tokens, dtype=np.int64).reshape(-1)
        B = self.llm.decode_batch
        if tokens.shape[0] != B:
            raise QuantXformError(f"decode takes {B} tokens (one per sequence), "
                                  f"got {tokens.shape[0]}")
        active = tokens >= 0
        if np.any(cache.length[active] >= cache.context):
            raise QuantXformError(f"the KV cache is full ({cache.context} positions)")
        x = np.zeros((B, self.config.hidden), np.float32)
        x[active] = self.llm.embed(tokens[active], self.embedding)
        cos, sin = rope_tables(cache.length, self.config.head_dim, self.config.rope_theta)
        mask = cache.mask()
        rows = np.arange(B)[active]
        pos = cache.length[active]
        for i, layer in enumerate(self.layers):
            x, k, v = layer.decode.run([x, cos, sin, mask, cache.k[i], cache.v[i]])
            cache.k[i][rows, :, :, pos] = k[active]
            cache.v[i][rows, :, pos] = v[active]
        cache.length[active] += 1
        return self._head(self.head_decode, x)

    def _head(self, fn, h: np.ndarray) -> np.ndarray:
        args = [h] if self.head_weight is None else [h, self.head_weight]
        return fn.run(args)[0]

    # -- generation ----------------------------------------------------------------
    def generate(self, prompt: Union[str, Sequence[int]], max_new_tokens: int = 64,
                 temperature: float = 0.0, top_k: int = 0, top_p: float = 1.0,
                 stop: Optional[Sequence[int]] = None, seed: int = 0, stream: bool = False,
                 chat: bool = False):
        """Generates text after ``prompt`` (a string, or token ids).

        ``temperature`` 0 is greedy; otherwise tokens are sampled from the
        softmax at ``temperature`` restricted to the ``top_k`` most likely
        (0: all) and to the smallest set whose probability reaches
        ``top_p``. Generation ends at a ``stop`` token (default: the
        tokenizer's end-of-sequence), after ``max_new_tokens``, or when the
        KV cache is full. ``chat`` wraps a string prompt in the model's chat
        template as one user message. With ``stream`` an iterator yields
        text pieces as tokens come; otherwise the whole text is returned
        (token ids when there is no tokenizer)."""
        it = self._generate(prompt, max_new_tokens, temperature, top_k, top_p, stop, seed,
                            chat)
        if stream:
            return it
        pieces = list(it)
        if pieces and isinstance(pieces[0], str):
            return "".join(pieces)
        return pieces

    def _generate(self, prompt, max_new_tokens, temperature, top_k, top_p, stop, seed, chat):
        tok = self.llm.tokenizer
        if isinstance(prompt, str):
            if tok is None:
                raise QuantXformError("a text prompt needs a tokenizer (pass token ids)")
            if chat:
                prompt = tok.apply_chat_template([{"role": "user", "content": prompt}])
            ids = tok.encode(prompt)
        else:
            ids = [int(t) for t in prompt]
        if not (temperature >= 0 and math.isfinite(temperature)):
            raise QuantXformError(f"temperature must be >= 0, got {temperature!r}")
        if not 0 < top_p <= 1:
            raise QuantXformError(f"top_p must be in (0, 1], got {top_p!r}")
        if not isinstance(max_new_tokens, int) or max_new_tokens < 0:
            raise QuantXformError(f"max_new_tokens must be >= 0, got {max_new_tokens!r}")
        stops = set(stop if stop is not None else ([tok.eos_id] if tok is not None else []))
        rng = np.random.default_rng(seed)
        cache = self.new_cache()
        logits = self.prefill(ids, cache)
        decoder = tok.decoder() if tok is not None else None
        for _ in range(max_new_tokens):
            t = sample(logits, temperature, top_k, top_p, rng)
            if t in stops:
                return
            if decoder is not None:
                piece = decoder.push(t)
                if piece:
                    yield piece
            else:
                yield t
            if cache.length[0] >= cache.context:
                return
            step = np.full(self.llm.decode_batch, -1, np.int64)
            step[0] = t
            logits = self.decode(step, cache)[0]


def sample(logits: np.ndarray, temperature: float, top_k: int, top_p: float,
           rng: np.random.Generator) -> int:
    """One token from ``logits`` (greedy at temperature 0)."""
    if temperature == 0:
        return int(np.argmax(logits))
    z = logits.astype(np.float64) / temperature
    order = np.argsort(-z)
    if top_k > 0:
        order = order[:top_k]
    p = np.exp(z[order] - z[order[0]])
    p /= p.sum()
    if top_p < 1.0:
        keep = int(np.searchsorted(np.cumsum(p), top_p) + 1)
        order, p = order[:keep], p[:keep] / p[:keep].sum()
    return int(order[rng.choice(len(order), p=p)])
