"""IR of one decoder layer with rotary embeddings and grouped-query attention.

A LLaMA-family decoder is compiled layer by layer: every layer is its own
module whose functions share the layer's weights (constants; the CPU
lowering keeps one copy of each):

* ``prefill`` — one sequence of ``S`` tokens from position 0 (a compiled
  bucket; shorter prompts are padded and masked)::

      prefill(x: [S, H], cos: [S, D/2], sin: [S, D/2], mask: [S])
          -> (y: [S, H], k: [KV, S, D], v: [KV, S, D])

  ``mask`` is additive over key positions (0 for tokens, -1e9 for padding);
  causality is built in. ``k`` (rotated) and ``v`` are what the caller
  stores in its KV cache; for the GPU (``decode_attention="op"``) they are
  ``[S, KV, D]``, the layout of its decode caches.

* ``decode`` — one new token for each of ``B`` sequences against a cache of
  ``C`` positions that the caller owns::

      decode(x: [B, H], cos: [B, D/2], sin: [B, D/2], mask: [B, C],
             k_cache: [B, KV, D, C], v_cache: [B, KV, C, D])
          -> (y: [B, H], k: [B, KV, D], v: [B, KV, D])

  ``mask`` is 0 for the cache positions filled so far, -1e9 for the rest;
  the new token also attends to itself. The caller writes ``k``/``v`` into
  its cache at the token's position.

* ``main`` (private, optional) — ``prefill`` for a shorter calibration
  window: ``quant-xform-calibrate`` runs it in the reference evaluator, and
  its statistics go to the linears of the same layer names in ``prefill``
  and ``decode``. Drop it with ``symbol-dce`` after the recipe.

With ``rotation`` (QuaRot's residual rotation ``Q``: the signs of a
randomized Hadamard or a dense orthogonal matrix, ``residual_rotation``),
every function reads and writes the residual stream rotated, ``x·Q``:
``rotate … inverse`` on ``x`` and ``rotate`` on ``y``, which ``quant-xform-sink-rotations`` folds into the
weights. The caller rotates the embeddings; the head takes the rotated
stream too.

``cos``/``sin`` hold ``cos(p·θ_i)``, ``sin(p·θ_i)`` for each token's
position ``p`` and ``θ_i = base^(-2i/D)`` (``rope_tables``); the rotation is
the Hugging Face one (the halves of each head), applied to q and k after
their projections. Query head ``h`` reads key/value head ``h // (heads/KV)``.
Linears carry ``quant_xform.layer`` names (``layer{i}.attn.q`` ...) and
roles, so the recipes of ``quant-xform-w8a8`` apply per layer as for the
other models.
"""

from __future__ import annotations

import math
from typing import Dict, Optional, Sequence, Tuple

import numpy as np

from .models import DecoderConfig, _Emitter, _f, _ty


def _ty_of(dtype: str, *shape: int) -> str:
    """A tensor type of element type `dtype` ("f32", "f16")."""
    return _ty(*shape)[:-4] + dtype + ">"


def rope_tables(positions, head_dim: int, theta: float) -> Tuple[np.ndarray, np.ndarray]:
    """``cos``/``sin`` of ``positions[:, None] · θ_i`` as float32 ``[n, D/2]``."""
    pos = np.asarray(positions, dtype=np.float64).reshape(-1)
    inv = theta ** (-np.arange(0, head_dim, 2, dtype=np.float64) / head_dim)
    angles = pos[:, None] * inv[None, :]
    return np.cos(angles).astype(np.float32), np.sin(angles).astype(np.float32)


def rotate_op(e: _Emitter, x: str, rows: int, rotation: np.ndarray, inverse: bool) -> str:
    """Emits ``x·Q`` (``x·Qᵀ`` with ``inverse``) for ``x: [rows, H]``:
    ``rotation`` is the ±1 signs of a randomized Hadamard
    (``quant_xform.rotate hadamard``) or an orthogonal ``[H, H]`` matrix
    (``rotate dense`` by a constant)."""
    H = rotation.shape[0]
    inv = " inverse" if inverse else ""
    ty = _ty(rows, H)
    if rotation.ndim == 1:
        return e.op("rot", f"quant_xform.rotate hadamard {x} signs "
                           f"[{', '.join(str(int(v)) for v in rotation)}]{inv} : ({ty}) -> {ty}")
    q = e.constant("residual_rotation", rotation)
    return e.op("rot", f"quant_xform.rotate dense {x} by {q}{inv} : ({ty}, {_ty(H, H)}) -> {ty}")


def residual_rotation(hidden: int, kind: str, seed: int) -> np.ndarray:
    """The rotation of the residual stream: ``hadamard`` gives the ±1 signs
    of a randomized Hadamard (``Q = diag(signs)·H``, block-diagonal when
    ``hidden`` is not a power of two, see ``quant_xform.rotate``);
    ``random-orthogonal`` a seeded Haar-random orthogonal matrix ``Q``
    (float32, mixing every channel)."""
    rng = np.random.default_rng(seed)
    if kind == "hadamard":
        return np.where(rng.random(hidden) < 0.5, -1, 1).astype(np.int8)
    if kind == "random-orthogonal":
        q, r = np.linalg.qr(rng.standard_normal((hidden, hidden)))
        return (q * np.sign(np.diag(r))[None, :]).astype(np.float32)
    raise ValueError(f"unknown residual rotation {kind!r} (hadamard or random-orthogonal)")


class _LayerEmitter(_Emitter):
    """One decoder layer's functions (see the module docstring)."""

    def __init__(self, config: DecoderConfig, weights: Dict[str, np.ndarray], layer: int,
                 elide_weights: bool, rotation: Optional[np.ndarray] = None,
                 blobs: Optional[Dict[str, np.ndarray]] = None):
        super().__init__(weights, elide_weights, blobs)
        self.rotation = rotation
        self.c = config
        self.i = layer
        self.p = f"layers.{layer}."
        self.nh, self.kvh, self.dh = config.heads, config.n_kv_heads, config.head_dim
        self.g = self.nh // self.kvh
        self.half = self.dh // 2

    # -- small tensor helpers ------------------------------------------------
    def expand(self, x: str, src, dst, groups) -> str:
        g = ", ".join("[" + ", ".join(map(str, grp)) + "]" for grp in groups)
        return self.op("x", f"tensor.expand_shape {x} [{g}] output_shape "
                            f"[{', '.join(map(str, dst))}] : {_ty(*src)} into {_ty(*dst)}")

    def collapse(self, x: str, src, dst, groups) -> str:
        g = ", ".join("[" + ", ".join(map(str, grp)) + "]" for grp in groups)
        return self.op("x", f"tensor.collapse_shape {x} [{g}] : {_ty(*src)} into {_ty(*dst)}")

    def transpose(self, x: str, shape, perm) -> str:
        out = [shape[p] for p in perm]
        init = self.op("t", f"tensor.empty() : {_ty(*out)}")
        return self.op("t", f"linalg.transpose ins({x} : {_ty(*shape)}) outs({init} : "
                            f"{_ty(*out)}) permutation = [{', '.join(map(str, perm))}]")

    def generic(self, ins, in_maps, out_shape, out_map, iters, body, init=None) -> str:
        """A one-result linalg.generic; ``ins`` are (value, shape) pairs."""
        dims = ", ".join(f"d{k}" for k in range(len(iters)))
        maps = [f"affine_map<({dims}) -> ({m})>" for m in list(in_maps) + [out_map]]
        if init is None:
            init = self.op("g", f"tensor.empty() : {_ty(*out_shape)}")
        args = ", ".join(f"%a{k}: f32" for k in range(len(ins))) + ", %out: f32"
        v = self.fresh("g")
        its = ", ".join(f'"{t}"' for t in iters)
        self.lines.append(
            f"    {v} = linalg.generic {{indexing_maps = [{', '.join(maps)}], "
            f"iterator_types = [{its}]}} ins({', '.join(x for x, _ in ins)} : "
            f"{', '.join(_ty(*s) for _, s in ins)}) outs({init} : {_ty(*out_shape)}) {{")
        self.lines.append(f"      ^bb0({args}):")
        self.lines += [f"        {line}" for line in body]
        self.lines.append(f"    }} -> {_ty(*out_shape)}")
        return v

    def slice(self, x: str, shape, offsets, sizes) -> str:
        ones = ", ".join("1" for _ in shape)
        return self.op("sl", f"tensor.extract_slice {x}[{', '.join(map(str, offsets))}] "
                             f"[{', '.join(map(str, sizes))}] [{ones}] : {_ty(*shape)} to "
                             f"{_ty(*sizes)}")

    def insert(self, x: str, dest: str, shape, offsets, sizes) -> str:
        ones = ", ".join("1" for _ in shape)
        return self.op("in", f"tensor.insert_slice {x} into {dest}"
                             f"[{', '.join(map(str, offsets))}] [{', '.join(map(str, sizes))}] "
                             f"[{ones}] : {_ty(*sizes)} into {_ty(*shape)}")

    # -- the layer's parts ---------------------------------------------------
    def rope(self, x3: str, T: int, n: int, cos: str, sin: str) -> str:
        """Rotates each head's halves, [x1·c − x2·s, x2·c + x1·s] over
        [T, n, D]: one ``quant_xform.rotary`` (on the GPU applied by the
        attention kernel as it loads q and k)."""
        return self.op("r", f"quant_xform.rotary {x3}, {cos}, {sin} : "
                            f"{_ty(T, n, self.dh)}, {_ty(T, self.half)}")

    def causal_gqa_attention(self, q3: str, k3: str, v3: str, S: int, B: int = 1) -> str:
        """One ``quant_xform.attention`` (causal, grouped-query heads read
        in place) of q ``[B·S, heads, D]`` over k, v ``[B·S, KV, D]`` (``B``
        sequences of ``S`` tokens) with the additive ``%mask`` (``[S]`` for
        one sequence, else ``[B, S]``): the GPU's flash kernel, linalg on the
        CPU; the context as rows ``[B·S, heads·D]``."""
        nh, kvh, dh = self.nh, self.kvh, self.dh
        tq, tkv = _ty(B, S, nh, dh), _ty(B, S, kvh, dh)

        def sequences(x, n):
            return self.expand(x, [B * S, n, dh], [B, S, n, dh], [[0, 1], [2], [3]])

        m2 = self.expand("%mask", [S], [1, S], [[0, 1]]) if B == 1 else "%mask"
        ctx = self.op("ctx", f"quant_xform.attention {sequences(q3, nh)}, "
                             f"{sequences(k3, kvh)}, {sequences(v3, kvh)} "
                             f"mask({m2} : {_ty(B, S)}) {{scale = {_f(1.0 / math.sqrt(dh))} "
                             f": f64, causal}} : {tq}, {tkv}")
        return self.collapse(ctx, [B, S, nh, dh], [B * S, nh * dh], [[0, 1], [2, 3]])

    def proj(self, src: str, T: int, which: str, role: str, K: int) -> str:
        b = self.p + f"self_attn.{which}_proj.bias" if self.c.bias else None
        return self.linear(src, T, K, self.p + f"self_attn.{which}_proj.weight", b,
                           f"layer{self.i}.attn.{which}", role)

    def norm(self, x: str, T: int, name: str) -> str:
        if self.c.norm == "rms":
            return self.rms_norm(x, T, self.c.hidden, self.p + name + ".weight", self.c.eps)
        return self.layer_norm(x, T, self.c.hidden, self.p + name + ".weight",
                               self.p + name + ".bias", self.c.eps)

    def qkv(self, x: str, T: int, cos: str, sin: str):
        """Norm, projections and rotary: q [T, heads, D], k and v [T, KV, D]."""
        H, nh, kvh, dh = self.c.hidden, self.nh, self.kvh, self.dh
        n = self.norm(x, T, "input_layernorm")
        q = self.proj(n, T, "q", "attn_in", H)
        k = self.proj(n, T, "k", "attn_in", H)
        v = self.proj(n, T, "v", "attn_in", H)
        q3 = self.expand(q, [T, nh * dh], [T, nh, dh], [[0], [1, 2]])
        k3 = self.expand(k, [T, kvh * dh], [T, kvh, dh], [[0], [1, 2]])
        v3 = self.expand(v, [T, kvh * dh], [T, kvh, dh], [[0], [1, 2]])
        return self.rope(q3, T, nh, cos, sin), self.rope(k3, T, kvh, cos, sin), v3

    def rest(self, x: str, ctx: str, T: int) -> str:
        """Output projection, residual, MLP, residual."""
        H, F, L = self.c.hidden, self.c.intermediate, f"layer{self.i}."
        h = self.binary("addf", x, self.proj(ctx, T, "o", "attn_out", H), [T, H])
        n2 = self.norm(h, T, "post_attention_layernorm")
        g = self.linear(n2, T, H, self.p + "mlp.gate_proj.weight", None, L + "mlp.gate", "mlp_in")
        u = self.linear(n2, T, H, self.p + "mlp.up_proj.weight", None, L + "mlp.up", "mlp_in")
        gu = self.binary("mulf", self.silu(g, [T, F]), u, [T, F])
        d = self.linear(gu, T, F, self.p + "mlp.down_proj.weight", None, L + "mlp.down",
                        "mlp_down")
        return self.binary("addf", h, d, [T, H])

    def stream_in(self, T: int) -> str:
        """The residual stream ``%x`` in the model's basis."""
        if self.rotation is None:
            return "%x"
        return rotate_op(self, "%x", T, self.rotation, True)

    def stream_out(self, y: str, T: int) -> str:
        if self.rotation is None:
            return y
        return rotate_op(self, y, T, self.rotation, False)

    # -- the two functions ---------------------------------------------------
    def prefill(self, S: int, name: str = "prefill", private: bool = False,
                tokens_first: bool = False, batch: int = 1) -> str:
        """``tokens_first``: k and v returned as ``[S, KV, D]``, the GPU's
        cache layout (``decode(attention="op")``), as the projections and
        the rotary op leave them: no transpose, and the attention kernel
        that rotates k also writes it (emitted after the attention).
        ``batch`` > 1 (with ``tokens_first``): ``batch`` sequences of ``S``
        tokens as ``batch·S`` rows, the tables of each row's position, a
        mask ``[batch, S]``, k and v as ``[batch·S, KV, D]``."""
        if batch > 1 and not tokens_first:
            raise ValueError("a batched prefill returns its cache tokens first")
        H, kvh, dh, T = self.c.hidden, self.kvh, self.dh, batch * S
        x = self.stream_in(T)
        qr, kr, v3 = self.qkv(x, T, "%cos", "%sin")
        if not tokens_first:
            kr_out = self.transpose(kr, [S, kvh, dh], [1, 0, 2])   # [KV, S, D]
            v_out = self.transpose(v3, [S, kvh, dh], [1, 0, 2])    # [KV, S, D]
        ctx = self.causal_gqa_attention(qr, kr, v3, S, batch)
        y = self.stream_out(self.rest(x, ctx, T), T)
        if tokens_first:
            kr_out, v_out = kr, v3
        cache = _ty(T, kvh, dh) if tokens_first else _ty(kvh, S, dh)
        half = self.half
        mask = _ty(S) if batch == 1 else _ty(batch, S)
        vis = "private " if private else ""
        head = (f"  func.func {vis}@{name}(%x: {_ty(T, H)}, %cos: {_ty(T, half)}, "
                f"%sin: {_ty(T, half)}, %mask: {mask}) -> ({_ty(T, H)}, "
                f"{cache}, {cache}) {{\n")
        ret = (f"\n    return {y}, {kr_out}, {v_out} : {_ty(T, H)}, {cache}, "
               f"{cache}\n  }}\n")
        return head + "\n".join(self.lines) + ret

    def prefill_chunk(self, S: int, C: int, name: str = "prefill_chunk") -> str:
        """A prompt's next ``S`` tokens after those already in a ``C``-position
        cache: one causal ``quant_xform.attention`` over ``C + S`` keys, the
        cache's (``%k_cache``, ``%v_cache`` ``[1, C + S, KV, D]``, tokens
        first, positions from ``C`` on filled here with the chunk's own k
        and v) masked by ``%mask`` ``[1, C + S]`` (empty cache positions and
        padded tokens), then the chunk's keys up to each query. k and v are
        returned as ``prefill`` returns them, ``[KV, S, D]``."""
        H, nh, kvh, dh, T = self.c.hidden, self.nh, self.kvh, self.dh, C + S
        x = self.stream_in(S)
        qr, kr, v3 = self.qkv(x, S, "%cos", "%sin")
        k_out = self.transpose(kr, [S, kvh, dh], [1, 0, 2])   # [KV, S, D]
        v_out = self.transpose(v3, [S, kvh, dh], [1, 0, 2])
        own, keys = [1, S, kvh, dh], [1, T, kvh, dh]
        k_all = self.insert(self.expand(kr, [S, kvh, dh], own, [[0, 1], [2], [3]]),
                            "%k_cache", keys, [0, C, 0, 0], own)
        v_all = self.insert(self.expand(v3, [S, kvh, dh], own, [[0, 1], [2], [3]]),
                            "%v_cache", keys, [0, C, 0, 0], own)
        q4 = self.expand(qr, [S, nh, dh], [1, S, nh, dh], [[0, 1], [2], [3]])
        ctx = self.op("ctx", f"quant_xform.attention {q4}, {k_all}, {v_all} "
                             f"mask(%mask : {_ty(1, T)}) {{scale = {_f(1.0 / math.sqrt(dh))} "
                             f": f64, causal}} : {_ty(1, S, nh, dh)}, {_ty(*keys)}")
        ctx2 = self.collapse(ctx, [1, S, nh, dh], [S, nh * dh], [[0, 1], [2, 3]])
        y = self.stream_out(self.rest(x, ctx2, S), S)
        half, kv = self.half, _ty(kvh, S, dh)
        head = (f"  func.func @{name}(%x: {_ty(S, H)}, %cos: {_ty(S, half)}, "
                f"%sin: {_ty(S, half)}, %mask: {_ty(1, T)}, %k_cache: {_ty(*keys)}, "
                f"%v_cache: {_ty(*keys)}) -> ({_ty(S, H)}, {kv}, {kv}) {{\n")
        ret = f"\n    return {y}, {k_out}, {v_out} : {_ty(S, H)}, {kv}, {kv}\n  }}\n"
        return head + "\n".join(self.lines) + ret

    def decode(self, B: int, C: int, name: str = "decode", attention: str = "matmul",
               cache_dtype: str = "f32") -> str:
        """One token per sequence of ``B`` against a ``C``-position cache.
        ``attention="matmul"``: batch matmuls over the key cache stored
        transposed, ``[B, KV, D, C]``, and the value cache ``[B, KV, C, D]``
        (the CPU's register-blocked kernels). ``attention="op"``: one
        ``quant_xform.attention`` over caches ``[B, C + 1, KV, D]`` whose
        last slot the step fills with its own k and v (the GPU's flash
        kernel; the caller's cache buffers are written there). ``cache_dtype``
        "f16" (with "op"): the caches hold f16, the step's own k and v are
        rounded to f16 as they are written into slot ``C``, and the attention
        reads the caches widened (``arith.extf``, which the GPU kernel fuses
        into its loads)."""
        if attention not in ("matmul", "op"):
            raise ValueError(f"decode attention: 'matmul' or 'op', not {attention!r}")
        if cache_dtype not in ("f32", "f16"):
            raise ValueError(f"KV cache element type: 'f32' or 'f16', not {cache_dtype!r}")
        if cache_dtype != "f32" and attention != "op":
            raise ValueError("an f16 KV cache needs decode attention 'op'")
        H, nh, kvh, g, dh = self.c.hidden, self.nh, self.kvh, self.g, self.dh
        x = self.stream_in(B)
        qr, kr, v3 = self.qkv(x, B, "%cos", "%sin")
        if attention == "op":
            return self.decode_with_attention_op(B, C, name, x, qr, kr, v3, cache_dtype)
        q4 = self.expand(self.collapse(qr, [B, nh, dh], [B, nh * dh], [[0], [1, 2]]),
                         [B, nh * dh], [B, kvh, g, dh], [[0], [1, 2, 3]])
        scale = f"%scale = arith.constant {_f(1.0 / math.sqrt(dh))} : f32"
        mac = ["%m = arith.mulf %a0, %a1 : f32", "%s = arith.addf %out, %m : f32",
               "linalg.yield %s : f32"]
        # Scores against the cache, s[b,k,r,j] = Σ_d q[b,k,r,d]·K[b,k,d,j], as
        # a batch matmul over B·KV heads (the CPU's register-blocked kernel).
        # The key cache is stored transposed, [B, KV, D, C], so no step
        # transposes it (a transpose of the whole cache was 40 % of a step).
        BK = B * kvh
        qb = self.collapse(q4, [B, kvh, g, dh], [BK, g, dh], [[0, 1], [2], [3]])
        kt = self.collapse("%k_cache", [B, kvh, dh, C], [BK, dh, C], [[0, 1], [2], [3]])
        sc = self.op("s", f"linalg.batch_matmul ins({qb}, {kt} : {_ty(BK, g, dh)}, "
                          f"{_ty(BK, dh, C)}) outs({self.zeros([BK, g, C])} : {_ty(BK, g, C)}) "
                          f"-> {_ty(BK, g, C)}")
        sc = self.expand(sc, [BK, g, C], [B, kvh, g, C], [[0, 1], [2], [3]])
        sc = self.generic([(sc, [B, kvh, g, C]), ("%mask", [B, C])], ["d0, d1, d2, d3", "d0, d3"],
                          [B, kvh, g, C], "d0, d1, d2, d3", ["parallel"] * 4,
                          [scale, "%t = arith.mulf %a0, %scale : f32",
                           "%u = arith.addf %t, %a1 : f32", "linalg.yield %u : f32"])
        # The new token's own score.
        sn = self.generic([(q4, [B, kvh, g, dh]), (kr, [B, kvh, dh])],
                          ["d0, d1, d2, d3", "d0, d1, d3"], [B, kvh, g], "d0, d1, d2",
                          ["parallel"] * 3 + ["reduction"], mac, init=self.zeros([B, kvh, g]))
        sn = self.generic([(sn, [B, kvh, g])], ["d0, d1, d2"], [B, kvh, g], "d0, d1, d2",
                          ["parallel"] * 3,
                          [scale, "%t = arith.mulf %a0, %scale : f32", "linalg.yield %t : f32"])
        full = [B, kvh, g, C + 1]
        s_all = self.op("s", f"tensor.empty() : {_ty(*full)}")
        s_all = self.insert(sc, s_all, full, [0, 0, 0, 0], [B, kvh, g, C])
        sn4 = self.expand(sn, [B, kvh, g], [B, kvh, g, 1], [[0], [1], [2, 3]])
        s_all = self.insert(sn4, s_all, full, [0, 0, 0, C], [B, kvh, g, 1])
        pinit = self.op("p", f"tensor.empty() : {_ty(*full)}")
        probs = self.op("p", f"linalg.softmax dimension(3) ins({s_all} : {_ty(*full)}) "
                             f"outs({pinit} : {_ty(*full)}) -> {_ty(*full)}")
        pc = self.slice(probs, full, [0, 0, 0, 0], [B, kvh, g, C])
        pn = self.collapse(self.slice(probs, full, [0, 0, 0, C], [B, kvh, g, 1]),
                           [B, kvh, g, 1], [B, kvh, g], [[0], [1], [2, 3]])
        # ctx[b,k,r,d] = Σ_j p[b,k,r,j]·V[b,k,j,d] (a batch matmul over B·KV
        # heads) + p_new[b,k,r]·v_new[b,k,d].
        pcb = self.collapse(pc, [B, kvh, g, C], [BK, g, C], [[0, 1], [2], [3]])
        vcb = self.collapse("%v_cache", [B, kvh, C, dh], [BK, C, dh], [[0, 1], [2], [3]])
        ctx = self.op("ctx", f"linalg.batch_matmul ins({pcb}, {vcb} : {_ty(BK, g, C)}, "
                             f"{_ty(BK, C, dh)}) outs({self.zeros([BK, g, dh])} : "
                             f"{_ty(BK, g, dh)}) -> {_ty(BK, g, dh)}")
        ctx = self.expand(ctx, [BK, g, dh], [B, kvh, g, dh], [[0, 1], [2], [3]])
        ctx = self.generic([(ctx, [B, kvh, g, dh]), (pn, [B, kvh, g]), (v3, [B, kvh, dh])],
                           ["d0, d1, d2, d3", "d0, d1, d2", "d0, d1, d3"], [B, kvh, g, dh],
                           "d0, d1, d2, d3", ["parallel"] * 4,
                           ["%m = arith.mulf %a1, %a2 : f32", "%s = arith.addf %a0, %m : f32",
                            "linalg.yield %s : f32"])
        ctx2 = self.collapse(ctx, [B, kvh, g, dh], [B, H], [[0], [1, 2, 3]])
        y = self.stream_out(self.rest(x, ctx2, B), B)
        half = self.half
        head = (f"  func.func @{name}(%x: {_ty(B, H)}, %cos: {_ty(B, half)}, "
                f"%sin: {_ty(B, half)}, %mask: {_ty(B, C)}, "
                f"%k_cache: {_ty(B, kvh, dh, C)}, %v_cache: {_ty(B, kvh, C, dh)}) -> ({_ty(B, H)}, {_ty(B, kvh, dh)}, {_ty(B, kvh, dh)}) {{\n")
        ret = (f"\n    return {y}, {kr}, {v3} : {_ty(B, H)}, {_ty(B, kvh, dh)}, "
               f"{_ty(B, kvh, dh)}\n  }}\n")
        return head + "\n".join(self.lines) + ret

    def write_slot(self, x: str, cache: str, shape, slot, dtype: str) -> str:
        """`cache` (of element type `dtype`) with `x` (f32, `slot` sizes at
        position `C` of dimension 1) written in: an f32 `x` inserted as it
        is, else rounded by a linalg.generic whose init is the cache's slot
        itself, so that bufferization writes the rounded values in place
        (no buffer, no copy)."""
        at, sizes = f"[0, {shape[1] - 1}, 0, 0]", f"[{', '.join(map(str, slot))}]"
        if dtype == "f32":
            return self.insert(x, cache, shape, [0, shape[1] - 1, 0, 0], slot)
        st, ct = _ty_of(dtype, *slot), _ty_of(dtype, *shape)
        dest = self.op("sl", f"tensor.extract_slice {cache}{at} {sizes} [1, 1, 1, 1] : "
                             f"{ct} to {st}")
        ident = "affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>"
        v = self.fresh("h")
        self.lines += [
            f"    {v} = linalg.generic {{indexing_maps = [{ident}, {ident}], iterator_types = "
            f"[\"parallel\", \"parallel\", \"parallel\", \"parallel\"]}} ins({x} : "
            f"{_ty(*slot)}) outs({dest} : {st}) {{",
            f"      ^bb0(%a: f32, %out: {dtype}):",
            f"        %r = arith.truncf %a : f32 to {dtype}",
            f"        linalg.yield %r : {dtype}",
            f"    }} -> {st}"]
        return self.op("in", f"tensor.insert_slice {v} into {cache}{at} {sizes} [1, 1, 1, 1] : "
                             f"{st} into {ct}")

    def from_cache(self, x: str, shape, dtype: str) -> str:
        """A cache `x` of element type `dtype` as f32."""
        if dtype == "f32":
            return x
        return self.op("w", f"arith.extf {x} : {_ty_of(dtype, *shape)} to {_ty(*shape)}")

    def decode_with_attention_op(self, B: int, C: int, name: str, x: str, qr: str,
                                 kr: str, v3: str, cache_dtype: str = "f32") -> str:
        """The decode step's attention as one ``quant_xform.attention``: the
        ``g`` query heads of a KV head are its query rows (``[B, g, KV, D]``),
        the keys are the cache's ``C`` positions and, in slot ``C``, the
        step's own k and v, inserted into the cache arguments (of element
        type ``cache_dtype``)."""
        H, nh, kvh, g, dh = self.c.hidden, self.nh, self.kvh, self.g, self.dh
        q4 = self.expand(self.collapse(qr, [B, nh, dh], [B, nh * dh], [[0], [1, 2]]),
                         [B, nh * dh], [B, kvh, g, dh], [[0], [1, 2, 3]])
        rows = self.transpose(q4, [B, kvh, g, dh], [0, 2, 1, 3])           # [B, g, KV, D]
        T, one = C + 1, [B, 1, kvh, dh]
        cache = [B, T, kvh, dh]
        k_all, v_all = (
            self.from_cache(self.write_slot(self.expand(new, [B, kvh, dh], one,
                                                        [[0, 1], [2], [3]]),
                                            arg, cache, one, cache_dtype), cache, cache_dtype)
            for new, arg in ((kr, "%k_cache"), (v3, "%v_cache")))
        mask = self.insert("%mask", self.zeros([B, T]), [B, T], [0, 0], [B, C])
        ctx = self.op("ctx", f"quant_xform.attention {rows}, {k_all}, {v_all} "
                             f"mask({mask} : {_ty(B, T)}) {{scale = {_f(1.0 / math.sqrt(dh))} "
                             f": f64}} : {_ty(B, g, kvh, dh)}, {_ty(*cache)}")
        ctx = self.transpose(ctx, [B, g, kvh, dh], [0, 2, 1, 3])           # [B, KV, g, D]
        ctx2 = self.collapse(ctx, [B, kvh, g, dh], [B, H], [[0], [1, 2, 3]])
        y = self.stream_out(self.rest(x, ctx2, B), B)
        half = self.half
        writable = "{bufferization.writable = true}"  # slot C is filled in place
        head = (f"  func.func @{name}(%x: {_ty(B, H)}, %cos: {_ty(B, half)}, "
                f"%sin: {_ty(B, half)}, %mask: {_ty(B, C)}, "
                f"%k_cache: {_ty_of(cache_dtype, *cache)} {writable}, "
                f"%v_cache: {_ty_of(cache_dtype, *cache)} {writable}) -> ({_ty(B, H)}, "
                f"{_ty(B, kvh, dh)}, "
                f"{_ty(B, kvh, dh)}) {{\n")
        ret = (f"\n    return {y}, {kr}, {v3} : {_ty(B, H)}, {_ty(B, kvh, dh)}, "
               f"{_ty(B, kvh, dh)}\n  }}\n")
        return head + "\n".join(self.lines) + ret


def build_layer_ir(config: DecoderConfig, weights: Dict[str, np.ndarray], layer: int,
                   prefill_len: int, decode_batch: int, context: int,
                   calibration_len: int = 0, elide_weights: bool = False,
                   rotation: Optional[np.ndarray] = None,
                   blobs: Optional[Dict[str, np.ndarray]] = None,
                   decode_batches: Sequence[int] = (),
                   decode_attention: str = "matmul",
                   prefill_batches: Sequence[Tuple[int, int]] = (),
                   prefill_chunk: bool = False, kv_cache_dtype: str = "f32") -> str:
    """The module of decoder layer ``layer``: ``prefill`` (``prefill_len``
    tokens), ``decode`` (``decode_batch`` tokens against a ``context``-position
    cache) and, with ``calibration_len``, the private calibration ``main``;
    with ``rotation`` (``residual_rotation``), on the rotated residual
    stream. With ``blobs`` (a dict), weights are ``dense_resource<key>``
    constants whose arrays ``blobs`` receives (``Module.parse(text,
    weights=blobs)``). Each of ``decode_batches`` adds a decode step
    ``decode_b<B>`` for B sequences. ``decode_attention`` chooses the decode
    steps' attention and cache layout (``_LayerEmitter.decode``): "matmul"
    for the CPU, "op" for the GPU. Each ``(B, S)`` of ``prefill_batches``
    (with "op") adds ``prefill_b<B>s<S>``, a prefill of B sequences of S
    tokens as B·S rows. ``prefill_chunk`` adds ``prefill_chunk``, the next
    ``prefill_len`` tokens of a longer prompt after a ``context``-position
    cache (``_LayerEmitter.prefill_chunk``). ``kv_cache_dtype`` "f16" (with
    "op"): the decode steps' caches hold f16 (``_LayerEmitter.decode``)."""
    def emitter():
        return _LayerEmitter(config, weights, layer, elide_weights, rotation, blobs)
    gpu = decode_attention == "op"
    funcs = (emitter().prefill(prefill_len, tokens_first=gpu)
             + emitter().decode(decode_batch, context, attention=decode_attention,
                                cache_dtype=kv_cache_dtype))
    for B in decode_batches:
        funcs += emitter().decode(B, context, f"decode_b{B}", decode_attention,
                                  kv_cache_dtype)
    for B, S in prefill_batches:
        funcs += emitter().prefill(S, f"prefill_b{B}s{S}", tokens_first=gpu, batch=B)
    if prefill_chunk:
        funcs += emitter().prefill_chunk(prefill_len, context)
    if calibration_len:
        funcs += emitter().prefill(calibration_len, "main", private=True)
    return (f"// decoder layer {layer} of {config.layers}: hidden {config.hidden}, "
            f"{config.heads} heads ({config.n_kv_heads} KV), FFN {config.intermediate}, "
            f"rotary base {config.rope_theta:g} (generated by quant_xform.llm_ir)\n"
            f"module {{\n{funcs}}}\n")
