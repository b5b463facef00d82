"""LLaMA-family decoders from GGUF files (llama.cpp's format).

Reads the file with the ``gguf`` package (the reader llama.cpp's own Python
tools use), dequantizes every tensor to float32 (Q4_0/Q4_1/Q8_0/K-quants:
``gguf.quants.dequantize``; the result is "the fp32 model" of the file) and
renames the tensors to the Hugging Face names ``quant_xform.models`` uses.

llama.cpp's converter permutes the rows of ``q_proj`` and ``k_proj`` so that
its rotary kernel can rotate adjacent pairs (``x[2i], x[2i+1]``); Hugging
Face rotates the two halves of each head (``x[i], x[i + d/2]``). We undo the
permutation, so the model here uses the Hugging Face layout and the same
rotation as llama.cpp computes on the permuted rows.
"""

from __future__ import annotations

import os
from typing import Dict, Tuple

import numpy as np

from . import _core
from .models import DecoderConfig

QuantXformError = _core.QuantXformError

_LAYER_NAMES = {
    "attn_norm.weight": "input_layernorm.weight",
    "ffn_norm.weight": "post_attention_layernorm.weight",
    "attn_q.weight": "self_attn.q_proj.weight",
    "attn_k.weight": "self_attn.k_proj.weight",
    "attn_v.weight": "self_attn.v_proj.weight",
    "attn_output.weight": "self_attn.o_proj.weight",
    "ffn_gate.weight": "mlp.gate_proj.weight",
    "ffn_up.weight": "mlp.up_proj.weight",
    "ffn_down.weight": "mlp.down_proj.weight",
}
_GLOBAL_NAMES = {
    "token_embd.weight": "embed_tokens.weight",
    "output_norm.weight": "norm.weight",
    "output.weight": "lm_head.weight",
}


def open_gguf(path: str):
    """A ``gguf.GGUFReader`` for ``path``, with errors as QuantXformError."""
    try:
        import gguf
    except ImportError:
        raise QuantXformError("reading GGUF files needs the 'gguf' package "
                              "(pip install gguf)") from None
    if not os.path.isfile(path):
        raise QuantXformError(f"no such GGUF file: '{path}'")
    try:
        return gguf.GGUFReader(path)
    except Exception as e:  # the reader raises ValueError, struct.error, ...
        raise QuantXformError(f"'{path}' is not a readable GGUF file: {e}") from None


def field(reader, key: str, default=None):
    """The value of metadata field ``key`` (a scalar, string or list)."""
    f = reader.fields.get(key)
    if f is None:
        if default is None:
            raise QuantXformError(f"the GGUF file has no '{key}' field")
        return default
    return f.contents()


def config_from_gguf(reader) -> DecoderConfig:
    """The decoder's shape from the GGUF metadata (``llama.*`` keys)."""
    arch = field(reader, "general.architecture")
    if arch != "llama":
        raise QuantXformError(f"GGUF architecture '{arch}' is not supported (llama only)")
    heads = int(field(reader, "llama.attention.head_count"))
    hidden = int(field(reader, "llama.embedding_length"))
    rope_dims = int(field(reader, "llama.rope.dimension_count", hidden // heads))
    if rope_dims != hidden // heads:
        raise QuantXformError(f"partial rotary embeddings ({rope_dims} of {hidden // heads} "
                              "dims) are not supported")
    names = {t.name for t in reader.tensors}
    vocab = int(field(reader, "llama.vocab_size", 0)) or len(field(reader, "tokenizer.ggml.tokens"))
    return DecoderConfig(
        hidden=hidden, heads=heads,
        intermediate=int(field(reader, "llama.feed_forward_length")),
        layers=int(field(reader, "llama.block_count")),
        eps=float(field(reader, "llama.attention.layer_norm_rms_epsilon")),
        vocab=vocab,
        kv_heads=int(field(reader, "llama.attention.head_count_kv", heads)),
        rope_theta=float(field(reader, "llama.rope.freq_base", 10000.0)),
        tie_embeddings="output.weight" not in names,
        max_positions=int(field(reader, "llama.context_length", 2048)))


def unpermute_rotary_rows(w: np.ndarray, heads: int) -> np.ndarray:
    """Undoes llama.cpp's ``permute`` of q/k rows (pairs → halves per head)."""
    rows = w.shape[0]
    return (w.reshape(heads, rows // heads // 2, 2, *w.shape[1:])
            .swapaxes(1, 2).reshape(w.shape))


def _dequantized(tensor) -> np.ndarray:
    from gguf.quants import dequantize
    try:
        w = dequantize(tensor.data, tensor.tensor_type)
    except NotImplementedError:
        raise QuantXformError(f"tensor '{tensor.name}': GGUF type "
                              f"{tensor.tensor_type.name} cannot be dequantized") from None
    return np.ascontiguousarray(w, dtype=np.float32)


def load_gguf(path: str) -> Tuple[DecoderConfig, Dict[str, np.ndarray]]:
    """The config and float32 weights (Hugging Face names) of a GGUF LLaMA."""
    reader = open_gguf(path)
    config = config_from_gguf(reader)
    weights: Dict[str, np.ndarray] = {}
    for t in reader.tensors:
        name = t.name
        if name in _GLOBAL_NAMES:
            ours = _GLOBAL_NAMES[name]
        elif name.startswith("blk."):
            _, index, rest = name.split(".", 2)
            if rest not in _LAYER_NAMES:
                continue  # e.g. rope_freqs: not used by plain LLaMA rotary
            ours = f"layers.{int(index)}.{_LAYER_NAMES[rest]}"
        else:
            continue
        w = _dequantized(t)
        if rest_is(name, "attn_q.weight"):
            w = unpermute_rotary_rows(w, config.heads)
        elif rest_is(name, "attn_k.weight"):
            w = unpermute_rotary_rows(w, config.n_kv_heads)
        weights[ours] = w
    if "embed_tokens.weight" not in weights:
        raise QuantXformError(f"'{path}' has no token_embd.weight")
    return config, weights


def rest_is(name: str, suffix: str) -> bool:
    return name.startswith("blk.") and name.endswith("." + suffix)
