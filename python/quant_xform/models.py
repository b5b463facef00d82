"""Transformer models from a config and weights, as quant_xform IR.

Two block styles:

* ``BertConfig``: BERT-style encoders (post-norm LayerNorm, GELU MLP,
  bidirectional attention with a padding mask), weights named as in Hugging
  Face ``BertModel`` state dicts (``encoder.layer.{i}.attention.self.query.weight``...).
* ``DecoderConfig``: LLaMA/GPT-style decoders (pre-norm RMSNorm or
  LayerNorm, gated SiLU MLP, causal attention), weights named as in Hugging
  Face ``LlamaModel`` (``layers.{i}.self_attn.q_proj.weight``...; a leading
  ``model.`` is accepted). Positions are the caller's: no rotary embedding is
  applied (see docs/python.md).

The compiled function covers one sequence: ``main(x: [S, H] f32, mask: [S]
f32) -> [S, H] f32`` where ``x`` is the summed input embeddings and ``mask``
is additive (0 for tokens, a large negative value for padding). Embedding
lookup and pooling are numpy (``Model.embed``, ``mean_pool``).
"""

from __future__ import annotations

import dataclasses
import math
import re
from typing import Dict, Mapping, Optional, Tuple

import numpy as np

from . import _core

QuantXformError = _core.QuantXformError

#: Additive mask value for padding positions.
MASK_NEG = -1.0e9


@dataclasses.dataclass
class BertConfig:
    """A BERT-style encoder (post-norm, GELU, bidirectional attention)."""

    hidden: int
    heads: int
    intermediate: int
    layers: int
    eps: float = 1e-12
    vocab: int = 0
    max_positions: int = 512
    type_vocab: int = 2

    @classmethod
    def from_hf(cls, config: Mapping) -> "BertConfig":
        """From a Hugging Face BertModel config.json dict."""
        act = config.get("hidden_act", "gelu")
        if act != "gelu":
            raise QuantXformError(f"hidden_act {act!r} is not supported (gelu only)")
        return cls(hidden=config["hidden_size"], heads=config["num_attention_heads"],
                   intermediate=config["intermediate_size"],
                   layers=config["num_hidden_layers"],
                   eps=config.get("layer_norm_eps", 1e-12),
                   vocab=config.get("vocab_size", 0),
                   max_positions=config.get("max_position_embeddings", 512),
                   type_vocab=config.get("type_vocab_size", 2))


@dataclasses.dataclass
class DecoderConfig:
    """A LLaMA/GPT-style decoder (pre-norm, gated SiLU MLP, causal attention)."""

    hidden: int
    heads: int
    intermediate: int
    layers: int
    eps: float = 1e-6
    norm: str = "rms"  # "rms" or "layer"
    bias: bool = False
    vocab: int = 0
    #: Key/value heads (grouped-query attention); 0 means ``heads``.
    kv_heads: int = 0
    #: Rotary embedding base; 0 means no rotary embedding (the caller's
    #: positions are in ``x``, as in ``build_ir``'s single-function models).
    rope_theta: float = 0.0
    #: The LM head is the token embedding (``embed_tokens.weight``).
    tie_embeddings: bool = True
    #: The longest context the model was trained for.
    max_positions: int = 2048

    @property
    def n_kv_heads(self) -> int:
        return self.kv_heads or self.heads

    @property
    def head_dim(self) -> int:
        return self.hidden // self.heads

    @classmethod
    def from_hf(cls, config: Mapping) -> "DecoderConfig":
        """From a Hugging Face LlamaModel config.json dict."""
        scaling = config.get("rope_scaling")
        if scaling:
            raise QuantXformError(f"rope_scaling {scaling!r} is not supported")
        return cls(hidden=config["hidden_size"], heads=config["num_attention_heads"],
                   intermediate=config["intermediate_size"],
                   layers=config["num_hidden_layers"],
                   eps=config.get("rms_norm_eps", 1e-6),
                   bias=config.get("attention_bias", False),
                   vocab=config.get("vocab_size", 0),
                   kv_heads=config.get("num_key_value_heads", 0) or 0,
                   rope_theta=float(config.get("rope_theta", 10000.0)),
                   tie_embeddings=bool(config.get("tie_word_embeddings", False)),
                   max_positions=config.get("max_position_embeddings", 2048))


def config_from_hf(config: Mapping):
    """A BertConfig or DecoderConfig from a Hugging Face config dict."""
    kind = config.get("model_type", "")
    if kind == "bert":
        return BertConfig.from_hf(config)
    if kind in ("llama", "mistral"):
        return DecoderConfig.from_hf(config)
    raise QuantXformError(f"model_type {kind!r} is not supported (bert, llama)")


# --------------------------------------------------------------------------
# Weight names and shapes
# --------------------------------------------------------------------------

def _bert_layer_weights(c: BertConfig, i: int) -> Dict[str, Tuple[int, ...]]:
    p = f"encoder.layer.{i}."
    H, F = c.hidden, c.intermediate
    out = {}
    for n in ("query", "key", "value"):
        out[p + f"attention.self.{n}.weight"] = (H, H)
        out[p + f"attention.self.{n}.bias"] = (H,)
    out[p + "attention.output.dense.weight"] = (H, H)
    out[p + "attention.output.dense.bias"] = (H,)
    out[p + "attention.output.LayerNorm.weight"] = (H,)
    out[p + "attention.output.LayerNorm.bias"] = (H,)
    out[p + "intermediate.dense.weight"] = (F, H)
    out[p + "intermediate.dense.bias"] = (F,)
    out[p + "output.dense.weight"] = (H, F)
    out[p + "output.dense.bias"] = (H,)
    out[p + "output.LayerNorm.weight"] = (H,)
    out[p + "output.LayerNorm.bias"] = (H,)
    return out


def _decoder_layer_weights(c: DecoderConfig, i: int) -> Dict[str, Tuple[int, ...]]:
    p = f"layers.{i}."
    H, F = c.hidden, c.intermediate
    KV = c.n_kv_heads * c.head_dim
    out = {}
    for n, rows in (("q", H), ("k", KV), ("v", KV), ("o", H)):
        out[p + f"self_attn.{n}_proj.weight"] = (rows, H)
        if c.bias:
            out[p + f"self_attn.{n}_proj.bias"] = (rows,)
    out[p + "mlp.gate_proj.weight"] = (F, H)
    out[p + "mlp.up_proj.weight"] = (F, H)
    out[p + "mlp.down_proj.weight"] = (H, F)
    out[p + "input_layernorm.weight"] = (H,)
    out[p + "post_attention_layernorm.weight"] = (H,)
    if c.norm == "layer":
        out[p + "input_layernorm.bias"] = (H,)
        out[p + "post_attention_layernorm.bias"] = (H,)
    return out


def expected_weights(config) -> Dict[str, Tuple[int, ...]]:
    """Every weight the model needs, with its shape."""
    out: Dict[str, Tuple[int, ...]] = {}
    if isinstance(config, BertConfig):
        out["embeddings.LayerNorm.weight"] = (config.hidden,)
        out["embeddings.LayerNorm.bias"] = (config.hidden,)
        for i in range(config.layers):
            out.update(_bert_layer_weights(config, i))
    else:
        for i in range(config.layers):
            out.update(_decoder_layer_weights(config, i))
        out["norm.weight"] = (config.hidden,)
        if config.norm == "layer":
            out["norm.bias"] = (config.hidden,)
    return out


def _validate_config(config) -> None:
    if not isinstance(config, (BertConfig, DecoderConfig)):
        raise QuantXformError(f"unknown config type {type(config).__name__}")
    for f in ("hidden", "heads", "intermediate", "layers"):
        v = getattr(config, f)
        if not isinstance(v, int) or v <= 0:
            raise QuantXformError(f"config.{f} must be a positive integer, got {v!r}")
    if config.hidden % config.heads:
        raise QuantXformError(f"hidden ({config.hidden}) is not a multiple of "
                              f"heads ({config.heads})")
    if not (config.eps > 0 and math.isfinite(config.eps)):
        raise QuantXformError(f"config.eps must be > 0, got {config.eps!r}")
    if isinstance(config, DecoderConfig):
        if config.norm not in ("rms", "layer"):
            raise QuantXformError(f"config.norm must be 'rms' or 'layer', got {config.norm!r}")
        kv = config.kv_heads
        if not isinstance(kv, int) or kv < 0 or (kv and config.heads % kv):
            raise QuantXformError(f"config.kv_heads ({kv!r}) must divide heads ({config.heads})")
        if not (config.rope_theta >= 0 and math.isfinite(config.rope_theta)):
            raise QuantXformError(f"config.rope_theta must be >= 0, got {config.rope_theta!r}")
        if config.rope_theta and config.head_dim % 2:
            raise QuantXformError(f"rotary embeddings need an even head dim, got {config.head_dim}")


def normalize_weights(config, weights: Mapping[str, object]) -> Dict[str, np.ndarray]:
    """Checks names, shapes and values; returns float32 arrays by our names.

    Accepts numpy arrays or anything with ``.detach().cpu().numpy()``
    (torch tensors). Leading ``bert.``/``model.`` prefixes are dropped.
    """
    _validate_config(config)
    plain: Dict[str, np.ndarray] = {}
    for name, value in weights.items():
        key = name
        for prefix in ("bert.", "model."):
            if key.startswith(prefix):
                key = key[len(prefix):]
        if hasattr(value, "detach"):
            value = value.detach().float().cpu().numpy()
        plain[key] = np.asarray(value)
    out: Dict[str, np.ndarray] = {}
    for name, shape in expected_weights(config).items():
        if name not in plain:
            raise QuantXformError(f"missing weight '{name}' (expected shape {list(shape)})")
        w = plain[name]
        if tuple(w.shape) != shape:
            raise QuantXformError(f"weight '{name}' has shape {list(w.shape)}, "
                                  f"expected {list(shape)}")
        if not np.issubdtype(w.dtype, np.floating):
            raise QuantXformError(f"weight '{name}' has dtype {w.dtype}, expected a float type")
        w = np.ascontiguousarray(w, dtype=np.float32)
        if not np.all(np.isfinite(w)):
            raise QuantXformError(f"weight '{name}' contains NaN or Inf")
        out[name] = w
    for extra in ("embeddings.word_embeddings.weight", "embeddings.position_embeddings.weight",
                  "embeddings.token_type_embeddings.weight", "embed_tokens.weight",
                  "lm_head.weight"):
        if extra in plain:
            out[extra] = np.ascontiguousarray(plain[extra], dtype=np.float32)
    return out


# --------------------------------------------------------------------------
# IR emission
# --------------------------------------------------------------------------

def _ty(*shape: int) -> str:
    return "tensor<" + "x".join(str(d) for d in shape) + "xf32>"


def _f(v: float) -> str:
    return f"{float(np.float32(v)):.9e}"


class _Emitter:
    """Builds the text of one function, with hex-encoded weight constants."""

    def __init__(self, weights: Dict[str, np.ndarray], elide_weights: bool,
                 blobs: Optional[Dict[str, np.ndarray]] = None):
        self.lines = []
        self.weights = weights
        self.elide = elide_weights
        self.blobs = blobs
        self.counter = 0
        self.consts: Dict[str, str] = {}

    def fresh(self, hint: str) -> str:
        self.counter += 1
        return f"%{hint}{self.counter}"

    def op(self, hint: str, text: str) -> str:
        v = self.fresh(hint)
        self.lines.append(f"    {v} = {text}")
        return v

    def weight(self, name: str) -> str:
        if name in self.consts:
            return self.consts[name]
        return self.constant(name, self.weights[name])

    def constant(self, name: str, w: np.ndarray) -> str:
        """The f32 constant ``name`` holding ``w`` (emitted once per function)."""
        if name in self.consts:
            return self.consts[name]
        if self.elide:
            body = "dense<0.0>"
        elif self.blobs is not None:
            body = f"dense_resource<{self._blob_key(name, w)}>"
        else:
            body = f'dense<"0x{w.astype("<f4").tobytes().hex().upper()}">'
        v = self.op("w", f"arith.constant {body} : {_ty(*w.shape)}  // {name}")
        self.consts[name] = v
        return v

    def _blob_key(self, name: str, w: np.ndarray) -> str:
        """The key of ``w`` in ``blobs`` (``Module.parse``'s ``weights``):
        ``name`` made an identifier, with a suffix where another array
        already holds it; functions sharing ``blobs`` share equal arrays."""
        w = np.ascontiguousarray(w, dtype=np.float32)
        base = "w_" + re.sub(r"[^A-Za-z0-9_.]", "_", name)
        key, n = base, 0
        while key in self.blobs:
            old = self.blobs[key]
            if old.shape == w.shape and (old is w or np.array_equal(old, w)):
                return key
            n += 1
            key = f"{base}_{n}"
        self.blobs[key] = w
        return key

    def linear(self, x: str, S: int, K: int, wname: str, bname: Optional[str],
               layer: str, role: str) -> str:
        N = self.weights[wname].shape[0]
        w = self.weight(wname)
        attrs = f'{{quant_xform.layer = "{layer}", quant_xform.role = "{role}"}}'
        if bname is not None:
            b = self.weight(bname)
            return self.op("lin", f"quant_xform.linear {x}, {w}, {b} {attrs} : "
                                  f"({_ty(S, K)}, {_ty(N, K)}, {_ty(N)}) -> {_ty(S, N)}")
        return self.op("lin", f"quant_xform.linear {x}, {w} {attrs} : "
                              f"({_ty(S, K)}, {_ty(N, K)}) -> {_ty(S, N)}")

    def binary(self, opname: str, a: str, b: str, shape) -> str:
        return self.op("e", f"arith.{opname} {a}, {b} : {_ty(*shape)}")

    def layer_norm(self, x: str, S: int, H: int, g: str, b: str, eps: float) -> str:
        gv, bv = self.weight(g), self.weight(b)
        return self.op("ln", f"quant_xform.layer_norm {x}, {gv}, {bv} {{epsilon = {eps:.6e} : f64}} : "
                             f"({_ty(S, H)}, {_ty(H)}, {_ty(H)}) -> {_ty(S, H)}")

    def rms_norm(self, x: str, S: int, H: int, g: str, eps: float) -> str:
        gv = self.weight(g)
        return self.op("rms", f"quant_xform.rms_norm {x}, {gv} {{epsilon = {eps:.6e} : f64}} : "
                              f"({_ty(S, H)}, {_ty(H)}) -> {_ty(S, H)}")

    def zeros(self, shape) -> str:
        init = self.op("z", f"tensor.empty() : {_ty(*shape)}")
        zero = self.op("z", "arith.constant 0.0 : f32")
        return self.op("z", f"linalg.fill ins({zero} : f32) outs({init} : {_ty(*shape)}) -> {_ty(*shape)}")

    def attention(self, q: str, k: str, v: str, mask: str, B: int, S: int, nh: int,
                  dh: int, causal: bool) -> str:
        """Attention of B sequences as rows: q, k, v ``[B·S, nh·dh]`` and the
        additive mask ``[B·S]`` expanded (for free) to ``[B, S, nh, dh]`` and
        ``[B, S]`` for one ``quant_xform.attention`` (the GPU's flash kernel;
        linalg on the CPU); the result collapsed back to rows."""
        t4, rows = _ty(B, S, nh, dh), _ty(B * S, nh * dh)

        def split(x):
            return self.op("x", f"tensor.expand_shape {x} [[0, 1], [2, 3]] output_shape "
                                f"[{B}, {S}, {nh}, {dh}] : {rows} into {t4}")

        m2 = self.op("m", f"tensor.expand_shape {mask} [[0, 1]] output_shape [{B}, {S}] : "
                          f"{_ty(B * S)} into {_ty(B, S)}")
        flags = ", causal" if causal else ""
        ctx = self.op("ctx", f"quant_xform.attention {split(q)}, {split(k)}, {split(v)} "
                             f"mask({m2} : {_ty(B, S)}) {{scale = {_f(1.0 / math.sqrt(dh))} "
                             f": f64{flags}}} : {t4}, {t4}")
        return self.op("ctx", f"tensor.collapse_shape {ctx} [[0, 1], [2, 3]] : {t4} into {rows}")

    def pointwise(self, x: str, shape, body) -> str:
        """One ``linalg.generic`` applying ``body`` (scalar ops on ``%a``
        ending in ``%r``) to every element of ``x``: one loop (one GPU
        kernel), and scalar constants instead of splat tensors (which
        would be stored, and on the GPU copied, at full size)."""
        rank = len(shape)
        dims = ", ".join(f"d{i}" for i in range(rank))
        init = self.op("g", f"tensor.empty() : {_ty(*shape)}")
        out = self.fresh("g")
        par = ", ".join(['"parallel"'] * rank)
        self.lines.append(
            f"    {out} = linalg.generic {{indexing_maps = [affine_map<({dims}) -> ({dims})>, "
            f"affine_map<({dims}) -> ({dims})>], iterator_types = [{par}]}} "
            f"ins({x} : {_ty(*shape)}) outs({init} : {_ty(*shape)}) {{")
        self.lines.append("      ^bb0(%a: f32, %o: f32):")
        self.lines += [f"        {line}" for line in body]
        self.lines.append("        linalg.yield %r : f32")
        self.lines.append(f"    }} -> {_ty(*shape)}")
        return out

    def gelu(self, u: str, shape) -> str:
        """u·(1 + erf(u/√2))/2 (the exact GELU)."""
        return self.pointwise(u, shape, [
            f"%c = arith.constant {_f(1 / math.sqrt(2))} : f32",
            "%s = arith.mulf %a, %c : f32",
            "%e = math.erf %s : f32",
            f"%one = arith.constant {_f(1.0)} : f32",
            "%e1 = arith.addf %e, %one : f32",
            f"%half = arith.constant {_f(0.5)} : f32",
            "%h = arith.mulf %a, %half : f32",
            "%r = arith.mulf %h, %e1 : f32"])

    def silu(self, g: str, shape) -> str:
        """g / (1 + exp(-g))."""
        return self.pointwise(g, shape, [
            "%n = arith.negf %a : f32",
            "%e = math.exp %n : f32",
            f"%one = arith.constant {_f(1.0)} : f32",
            "%d = arith.addf %e, %one : f32",
            "%r = arith.divf %a, %d : f32"])


def build_ir(config, weights: Dict[str, np.ndarray], seq_len: int,
             elide_weights: bool = False, batch: int = 1,
             blobs: Optional[Dict[str, np.ndarray]] = None) -> str:
    """The model as MLIR text: ``main(x: [S, H], mask: [S]) -> [S, H]``;
    with ``batch`` B > 1, B sequences in one call as rows: ``main(x:
    [B·S, H], mask: [B·S]) -> [B·S, H]`` (the linears see B·S rows, the
    attention is batched over B × heads).

    ``weights`` must come from ``normalize_weights``. With
    ``elide_weights``, constants are printed as zeros (for reading the
    structure only); with ``blobs`` (a dict), they are
    ``dense_resource<key>`` constants and ``blobs`` receives the arrays, for
    ``Module.parse(text, weights=blobs)`` (no hex text).
    """
    _validate_config(config)
    if not isinstance(seq_len, int) or seq_len <= 0:
        raise QuantXformError(f"seq_len must be a positive integer, got {seq_len!r}")
    if not isinstance(batch, int) or batch <= 0:
        raise QuantXformError(f"batch must be a positive integer, got {batch!r}")
    if isinstance(config, DecoderConfig) and (config.rope_theta or config.kv_heads not in
                                              (0, config.heads)):
        raise QuantXformError("a decoder with rotary embeddings or grouped-query attention "
                              "is built by quant_xform.llm (LLM.from_gguf / LLM(config, "
                              "weights)), not as one function")
    B, T, H, F = batch, seq_len, config.hidden, config.intermediate
    S = B * T  # rows of every linear, norm and activation
    nh, dh = config.heads, config.hidden // config.heads
    e = _Emitter(weights, elide_weights, blobs)
    x, mask = "%x", "%mask"

    def attention(q, k, v, causal):
        return e.attention(q, k, v, mask, B, T, nh, dh, causal=causal)

    if isinstance(config, BertConfig):
        h = e.layer_norm(x, S, H, "embeddings.LayerNorm.weight", "embeddings.LayerNorm.bias",
                         config.eps)
        for i in range(config.layers):
            p = f"encoder.layer.{i}."
            L = f"layer{i}."
            q = e.linear(h, S, H, p + "attention.self.query.weight", p + "attention.self.query.bias",
                         L + "attn.q", "attn_in")
            k = e.linear(h, S, H, p + "attention.self.key.weight", p + "attention.self.key.bias",
                         L + "attn.k", "attn_in")
            v = e.linear(h, S, H, p + "attention.self.value.weight", p + "attention.self.value.bias",
                         L + "attn.v", "attn_in")
            ctx = attention(q, k, v, causal=False)
            a = e.linear(ctx, S, H, p + "attention.output.dense.weight",
                         p + "attention.output.dense.bias", L + "attn.o", "attn_out")
            h1 = e.layer_norm(e.binary("addf", h, a, [S, H]), S, H,
                              p + "attention.output.LayerNorm.weight",
                              p + "attention.output.LayerNorm.bias", config.eps)
            u = e.linear(h1, S, H, p + "intermediate.dense.weight", p + "intermediate.dense.bias",
                         L + "mlp.up", "mlp_in")
            d = e.linear(e.gelu(u, [S, F]), S, F, p + "output.dense.weight",
                         p + "output.dense.bias", L + "mlp.down", "mlp_down")
            h = e.layer_norm(e.binary("addf", h1, d, [S, H]), S, H,
                             p + "output.LayerNorm.weight", p + "output.LayerNorm.bias",
                             config.eps)
    else:
        def norm(v, name):
            if config.norm == "rms":
                return e.rms_norm(v, S, H, name + ".weight", config.eps)
            return e.layer_norm(v, S, H, name + ".weight", name + ".bias", config.eps)

        h = x
        for i in range(config.layers):
            p = f"layers.{i}."
            L = f"layer{i}."
            n = norm(h, p + "input_layernorm")

            def proj(src, which, role, K=H):
                b = p + f"self_attn.{which}_proj.bias" if config.bias else None
                return e.linear(src, S, K, p + f"self_attn.{which}_proj.weight", b,
                                L + f"attn.{which}", role)

            q, k, v = proj(n, "q", "attn_in"), proj(n, "k", "attn_in"), proj(n, "v", "attn_in")
            ctx = attention(q, k, v, causal=True)
            h = e.binary("addf", h, proj(ctx, "o", "attn_out"), [S, H])
            n2 = norm(h, p + "post_attention_layernorm")
            g = e.linear(n2, S, H, p + "mlp.gate_proj.weight", None, L + "mlp.gate", "mlp_in")
            u = e.linear(n2, S, H, p + "mlp.up_proj.weight", None, L + "mlp.up", "mlp_in")
            gu = e.binary("mulf", e.silu(g, [S, F]), u, [S, F])
            d = e.linear(gu, S, F, p + "mlp.down_proj.weight", None, L + "mlp.down", "mlp_down")
            h = e.binary("addf", h, d, [S, H])
        h = norm(h, "norm")
    kind = "BERT-style encoder" if isinstance(config, BertConfig) else "decoder"
    head = (f"// {kind}: {config.layers} layers, hidden {H}, {nh} heads, FFN {F}, "
            f"{T} tokens per sequence" + (f", {B} sequences as rows" if B > 1 else "") +
            " (generated by quant_xform.models)\n"
            f"func.func @main(%x: {_ty(S, H)}, %mask: {_ty(S)}) -> {_ty(S, H)} {{\n")
    return head + "\n".join(e.lines) + f"\n    return {h} : {_ty(S, H)}\n}}\n"


# --------------------------------------------------------------------------
# numpy reference (float64) and embeddings
# --------------------------------------------------------------------------

def _erf(x: np.ndarray) -> np.ndarray:
    # Abramowitz & Stegun 7.1.26 is too coarse for a reference; use math.erf
    # on small arrays and the identity-based series otherwise via numpy's
    # vectorized math.erf.
    return np.vectorize(math.erf, otypes=[np.float64])(x)


def _layer_norm(x, g, b, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * g + b


def _rms_norm(x, g, eps):
    return x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * g


def _attention(q, k, v, mask, nh, causal):
    S, H = q.shape
    dh = H // nh
    qh = q.reshape(S, nh, dh).transpose(1, 0, 2)
    kh = k.reshape(S, nh, dh).transpose(1, 0, 2)
    vh = v.reshape(S, nh, dh).transpose(1, 0, 2)
    s = qh @ kh.transpose(0, 2, 1) / math.sqrt(dh) + mask[None, None, :]
    if causal:
        s = s + np.triu(np.full((S, S), MASK_NEG), 1)[None]
    s = s - s.max(-1, keepdims=True)
    p = np.exp(s)
    p /= p.sum(-1, keepdims=True)
    return (p @ vh).transpose(1, 0, 2).reshape(S, H)


def reference_forward(config, weights: Dict[str, np.ndarray], x: np.ndarray,
                      mask: np.ndarray, gelu=None) -> np.ndarray:
    """The model in float64 numpy, for one sequence (x: [S, H], mask: [S])."""
    W = {k: v.astype(np.float64) for k, v in weights.items()}
    x = x.astype(np.float64)
    mask = mask.astype(np.float64)
    erf = gelu or _erf

    def lin(h, w, b=None):
        y = h @ W[w].T
        return y + W[b] if b is not None else y

    if isinstance(config, BertConfig):
        h = _layer_norm(x, W["embeddings.LayerNorm.weight"], W["embeddings.LayerNorm.bias"],
                        config.eps)
        for i in range(config.layers):
            p = f"encoder.layer.{i}."
            q = lin(h, p + "attention.self.query.weight", p + "attention.self.query.bias")
            k = lin(h, p + "attention.self.key.weight", p + "attention.self.key.bias")
            v = lin(h, p + "attention.self.value.weight", p + "attention.self.value.bias")
            a = lin(_attention(q, k, v, mask, config.heads, False),
                    p + "attention.output.dense.weight", p + "attention.output.dense.bias")
            h1 = _layer_norm(h + a, W[p + "attention.output.LayerNorm.weight"],
                             W[p + "attention.output.LayerNorm.bias"], config.eps)
            u = lin(h1, p + "intermediate.dense.weight", p + "intermediate.dense.bias")
            g = 0.5 * u * (1.0 + erf(u / math.sqrt(2.0)))
            d = lin(g, p + "output.dense.weight", p + "output.dense.bias")
            h = _layer_norm(h1 + d, W[p + "output.LayerNorm.weight"],
                            W[p + "output.LayerNorm.bias"], config.eps)
        return h

    def norm(h, name):
        if config.norm == "rms":
            return _rms_norm(h, W[name + ".weight"], config.eps)
        return _layer_norm(h, W[name + ".weight"], W[name + ".bias"], config.eps)

    h = x
    for i in range(config.layers):
        p = f"layers.{i}."
        n = norm(h, p + "input_layernorm")
        b = (lambda w: p + f"self_attn.{w}_proj.bias") if config.bias else (lambda w: None)
        q = lin(n, p + "self_attn.q_proj.weight", b("q"))
        k = lin(n, p + "self_attn.k_proj.weight", b("k"))
        v = lin(n, p + "self_attn.v_proj.weight", b("v"))
        h = h + lin(_attention(q, k, v, mask, config.heads, True), p + "self_attn.o_proj.weight",
                    b("o"))
        n2 = norm(h, p + "post_attention_layernorm")
        g = lin(n2, p + "mlp.gate_proj.weight")
        u = lin(n2, p + "mlp.up_proj.weight")
        h = h + lin(g / (1.0 + np.exp(-g)) * u, p + "mlp.down_proj.weight")
    return norm(h, "norm")


def mean_pool(hidden: np.ndarray, attention_mask: np.ndarray, normalize: bool = True) -> np.ndarray:
    """Sentence embeddings: the mean over real tokens ([B, S, H], [B, S] 0/1)."""
    m = attention_mask.astype(hidden.dtype)[..., None]
    e = (hidden * m).sum(1) / np.maximum(m.sum(1), 1e-9)
    if normalize:
        e = e / np.maximum(np.linalg.norm(e, axis=-1, keepdims=True), 1e-12)
    return e
