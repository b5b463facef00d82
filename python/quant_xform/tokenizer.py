"""A GGUF model's tokenizer, rebuilt from the GGUF metadata.

``GGUFTokenizer.from_gguf(path)`` reads ``tokenizer.ggml.*`` and
``tokenizer.chat_template`` from a GGUF file and builds a byte-level BPE
``tokenizers.Tokenizer`` that tokenizes as llama.cpp does:

* vocabulary and merges from ``tokenizer.ggml.tokens`` / ``tokenizer.ggml.merges``;
* the pre-tokenizer of ``tokenizer.ggml.pre``, the same regular expressions,
  applied one after the other, as llama.cpp's ``llama_vocab::impl::load``
  (src/llama-vocab.cpp): ``smollm`` (and the other members of its family)
  isolates every digit (``\\p{N}``) and then splits with the GPT-2 expression;
* control (type 3), user-defined (4) and unknown (2) tokens are matched in the
  text as whole tokens, as llama.cpp's special-token partition does;
  ``parse_special=False`` treats control tokens as plain text (llama.cpp's
  ``parse_special``), user-defined ones are always matched;
* ``add_special=True`` prepends BOS / appends EOS when the GGUF says so
  (``tokenizer.ggml.add_bos_token`` / ``add_eos_token``).

Decoding maps every token back to its bytes (byte-level BPE) and decodes
UTF-8; ``IncrementalDecoder`` yields text as tokens arrive and holds back an
incomplete UTF-8 sequence until its last byte comes.

``apply_chat_template`` renders ``tokenizer.chat_template`` with jinja2 in a
sandboxed environment, as Hugging Face ``transformers`` does.

Only ``tokenizer.ggml.model == "gpt2"`` (byte-level BPE) is supported; other
tokenizer models, unknown pre-tokenizers or a GGUF without a tokenizer raise
``QuantXformError``.
"""

from __future__ import annotations

import os
from typing import Dict, Iterable, Iterator, List, Mapping, Optional, Sequence

from . import _core

QuantXformError = _core.QuantXformError

#: GGUF token types (gguf.TokenType / llama_token_type).
TOKEN_NORMAL, TOKEN_UNKNOWN, TOKEN_CONTROL, TOKEN_USER_DEFINED, TOKEN_UNUSED, TOKEN_BYTE = \
    1, 2, 3, 4, 5, 6

#: GPT-2's pre-tokenizer expression (llama.cpp implements it by hand as
#: unicode_regex_split_custom_gpt2, with the trailing ``\s+`` alternative).
GPT2_REGEX = (r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+"
              r"|\s+(?!\S)|\s+")

#: tokenizer.ggml.pre -> the expressions llama.cpp applies in turn
#: (src/llama-vocab.cpp, LLAMA_VOCAB_PRE_TYPE_*).
PRE_TOKENIZER_REGEXES: Dict[str, Sequence[str]] = {
    # LLAMA_VOCAB_PRE_TYPE_STARCODER, REFACT, COMMAND_R, SMOLLM, CODESHELL,
    # EXAONE, MINERVA: every digit on its own, then GPT-2.
    **{name: (r"\p{N}", GPT2_REGEX)
       for name in ("smollm", "starcoder", "refact", "command-r", "codeshell",
                    "exaone", "minerva-7b")},
    # LLAMA_VOCAB_PRE_TYPE_GPT2 ("gpt-2"), MPT, OLMO, JAIS: GPT-2 alone.
    **{name: (GPT2_REGEX,) for name in ("gpt-2", "mpt", "olmo", "jais")},
}


def _bytes_to_unicode() -> Dict[int, str]:
    """GPT-2's byte -> printable character table (byte-level BPE)."""
    bs = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("\u00a1"), ord("\u00ac") + 1))
          + list(range(ord("\u00ae"), ord("\u00ff") + 1)))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


_BYTE_OF_CHAR = {c: b for b, c in _bytes_to_unicode().items()}


# GGUF metadata value types (gguf.GGUFValueType) -> struct format.
_SCALAR_FORMATS = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?",
                   10: "Q", 11: "q", 12: "d"}
_GGUF_STRING, _GGUF_ARRAY = 8, 9


def read_gguf_metadata(path) -> Dict[str, object]:
    """The key/value metadata of a GGUF file (v2/v3, little-endian) as Python
    values (arrays as lists), without the tensors. Much faster than
    ``gguf.GGUFReader`` on a file with a large vocabulary."""
    import mmap
    import struct

    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            buf = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError) as e:
        raise QuantXformError(f"{path}: cannot read: {e}") from e
    try:
        if buf[:4] != b"GGUF":
            raise QuantXformError(f"{path}: not a GGUF file (no GGUF magic)")
        version, = struct.unpack_from("<I", buf, 4)
        if version not in (2, 3):
            raise QuantXformError(f"{path}: GGUF version {version} is not supported (2 or 3)")
        _, n_kv = struct.unpack_from("<QQ", buf, 8)
        pos = 24

        def string(pos):
            n, = struct.unpack_from("<Q", buf, pos)
            return bytes(buf[pos + 8:pos + 8 + n]).decode("utf-8", errors="replace"), pos + 8 + n

        def value(vtype, pos):
            if vtype == _GGUF_STRING:
                return string(pos)
            if vtype == _GGUF_ARRAY:
                etype, n = struct.unpack_from("<IQ", buf, pos)
                pos += 12
                if etype in _SCALAR_FORMATS:
                    fmt = "<%d%s" % (n, _SCALAR_FORMATS[etype])
                    return list(struct.unpack_from(fmt, buf, pos)), pos + struct.calcsize(fmt)
                out = []
                for _ in range(n):
                    v, pos = value(etype, pos)
                    out.append(v)
                return out, pos
            if vtype not in _SCALAR_FORMATS:
                raise QuantXformError(f"{path}: unknown GGUF value type {vtype}")
            fmt = "<" + _SCALAR_FORMATS[vtype]
            return struct.unpack_from(fmt, buf, pos)[0], pos + struct.calcsize(fmt)

        meta: Dict[str, object] = {}
        for _ in range(n_kv):
            key, pos = string(pos)
            vtype, = struct.unpack_from("<I", buf, pos)
            meta[key], pos = value(vtype, pos + 4)
        return meta
    except struct.error as e:
        raise QuantXformError(f"{path}: truncated GGUF metadata: {e}") from e
    finally:
        buf.close()


def _metadata(path_or_reader):
    """(metadata dict, name for messages) from a path or a gguf.GGUFReader."""
    if hasattr(path_or_reader, "fields") and hasattr(path_or_reader, "tensors"):
        name = getattr(getattr(path_or_reader, "data", None), "filename", None)
        return ({k: f.contents() for k, f in path_or_reader.fields.items()
                 if not k.startswith("GGUF.")}, str(name or "GGUF"))
    return read_gguf_metadata(path_or_reader), os.fspath(path_or_reader)


class GGUFTokenizer:
    """A GGUF file's tokenizer (byte-level BPE), tokenizing as llama.cpp does.

    Attributes: ``tokenizer`` (the ``tokenizers.Tokenizer``), ``tokens``
    (id -> token string), ``token_types`` (id -> GGUF token type),
    ``bos_id`` / ``eos_id`` / ``unk_id`` / ``pad_id`` (None when absent),
    ``add_bos`` / ``add_eos``, ``chat_template`` (None when absent),
    ``pre`` (the tokenizer.ggml.pre name), ``vocab_size``.
    """

    def __init__(self, tokens: Sequence[str], merges: Sequence[str],
                 token_types: Optional[Sequence[int]] = None, *, pre: str = "smollm",
                 bos_id: Optional[int] = None, eos_id: Optional[int] = None,
                 unk_id: Optional[int] = None, pad_id: Optional[int] = None,
                 add_bos: bool = False, add_eos: bool = False,
                 chat_template: Optional[str] = None, source: str = "GGUF"):
        try:
            import tokenizers
            from tokenizers import decoders, models, pre_tokenizers
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise QuantXformError(
                "the GGUF tokenizer needs the `tokenizers` package (pip install tokenizers)") from e
        if pre not in PRE_TOKENIZER_REGEXES:
            raise QuantXformError(
                f"{source}: tokenizer.ggml.pre {pre!r} is not supported (supported: "
                f"{', '.join(sorted(PRE_TOKENIZER_REGEXES))})")
        self.tokens: List[str] = list(tokens)
        n = len(self.tokens)
        self.token_types: List[int] = (list(token_types) if token_types is not None
                                       else [TOKEN_NORMAL] * n)
        if len(self.token_types) != n:
            raise QuantXformError(f"{source}: {len(self.token_types)} token types for "
                                  f"{n} tokens")
        for name, tid in (("bos", bos_id), ("eos", eos_id), ("unknown", unk_id),
                          ("padding", pad_id)):
            if tid is not None and not 0 <= tid < n:
                raise QuantXformError(f"{source}: tokenizer.ggml.{name}_token_id {tid} is "
                                      f"outside the vocabulary ({n} tokens)")
        self.pre = pre
        self.bos_id, self.eos_id, self.unk_id, self.pad_id = bos_id, eos_id, unk_id, pad_id
        self.add_bos, self.add_eos = bool(add_bos), bool(add_eos)
        self.chat_template = chat_template
        self.source = source

        vocab: Dict[str, int] = {}
        for i, t in enumerate(self.tokens):
            vocab.setdefault(t, i)   # llama.cpp's token_to_id keeps the first as well
        pairs = []
        for m in merges:
            a, sep, b = m.partition(" ")
            if not sep:
                raise QuantXformError(f"{source}: merge {m!r} is not two tokens")
            pairs.append((a, b))
        bpe = models.BPE(vocab=vocab, merges=pairs, unk_token=None, fuse_unk=False,
                         byte_fallback=False)
        tok = tokenizers.Tokenizer(bpe)
        tok.pre_tokenizer = pre_tokenizers.Sequence(
            [pre_tokenizers.Split(tokenizers.Regex(r), behavior="isolated", invert=False)
             for r in PRE_TOKENIZER_REGEXES[pre]]
            + [pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
        tok.decoder = decoders.ByteLevel()
        added = []
        for i, (t, ty) in enumerate(zip(self.tokens, self.token_types)):
            if ty in (TOKEN_CONTROL, TOKEN_UNKNOWN, TOKEN_USER_DEFINED) and t:
                added.append(tokenizers.AddedToken(
                    t, special=ty != TOKEN_USER_DEFINED, normalized=False,
                    lstrip=False, rstrip=False, single_word=False))
        if added:
            tok.add_special_tokens(added)
        self.tokenizer = tok
        # What each id decodes to: byte-level BPE characters back to bytes;
        # control/unknown/user-defined tokens are their text (UTF-8).
        self._bytes: List[bytes] = []
        for t, ty in zip(self.tokens, self.token_types):
            if ty in (TOKEN_CONTROL, TOKEN_UNKNOWN, TOKEN_USER_DEFINED, TOKEN_UNUSED) or \
                    any(c not in _BYTE_OF_CHAR for c in t):
                self._bytes.append(t.encode("utf-8"))
            else:
                self._bytes.append(bytes(_BYTE_OF_CHAR[c] for c in t))

    # -- construction ------------------------------------------------------
    @classmethod
    def from_gguf(cls, path_or_reader) -> "GGUFTokenizer":
        """From a GGUF file path or an open ``gguf.GGUFReader`` (a path is
        faster: only the metadata is read)."""
        meta, source = _metadata(path_or_reader)
        model = meta.get("tokenizer.ggml.model")
        if model is None:
            raise QuantXformError(
                f"{source}: no tokenizer in this GGUF (tokenizer.ggml.model is missing)")
        if model != "gpt2":
            raise QuantXformError(
                f"{source}: tokenizer.ggml.model {model!r} is not supported "
                "(only 'gpt2', byte-level BPE)")
        tokens = meta.get("tokenizer.ggml.tokens")
        merges = meta.get("tokenizer.ggml.merges")
        if not tokens:
            raise QuantXformError(f"{source}: tokenizer.ggml.tokens is missing or empty")
        if merges is None:
            raise QuantXformError(f"{source}: tokenizer.ggml.merges is missing "
                                  "(needed by a 'gpt2' tokenizer)")
        pre = meta.get("tokenizer.ggml.pre", "default")
        if pre == "default":
            raise QuantXformError(
                f"{source}: tokenizer.ggml.pre is missing or 'default'; its pre-tokenizer "
                "is not supported")

        def opt_id(key):
            v = meta.get(key)
            return None if v is None else int(v)

        return cls(tokens, merges, meta.get("tokenizer.ggml.token_type"), pre=pre,
                   bos_id=opt_id("tokenizer.ggml.bos_token_id"),
                   eos_id=opt_id("tokenizer.ggml.eos_token_id"),
                   unk_id=opt_id("tokenizer.ggml.unknown_token_id"),
                   pad_id=opt_id("tokenizer.ggml.padding_token_id"),
                   # llama.cpp's defaults for these pre-tokenizers: neither
                   add_bos=bool(meta.get("tokenizer.ggml.add_bos_token", False)),
                   add_eos=bool(meta.get("tokenizer.ggml.add_eos_token", False)),
                   chat_template=meta.get("tokenizer.chat_template"),
                   source=source)

    # -- properties --------------------------------------------------------
    @property
    def vocab_size(self) -> int:
        return len(self.tokens)

    def is_control(self, token_id: int) -> bool:
        return self.token_types[token_id] == TOKEN_CONTROL

    def token_to_id(self, token: str) -> Optional[int]:
        return self.tokenizer.token_to_id(token)

    # -- encode / decode ---------------------------------------------------
    def encode(self, text: str, add_special: bool = True, parse_special: bool = True) -> List[int]:
        """Token ids of ``text``, as llama.cpp's ``llama_tokenize(vocab, text,
        add_special, parse_special)``: ``add_special`` adds BOS/EOS where the
        GGUF asks for them (add_bos_token / add_eos_token; for SmolLM2 neither),
        ``parse_special`` matches control tokens such as ``<|im_start|>`` in the
        text (otherwise they are tokenized as plain text)."""
        self.tokenizer.encode_special_tokens = not parse_special
        ids = self.tokenizer.encode(text, add_special_tokens=False).ids
        if add_special:
            if self.add_bos and self.bos_id is not None:
                ids.insert(0, self.bos_id)
            if self.add_eos and self.eos_id is not None:
                ids.append(self.eos_id)
        return ids

    def encode_batch(self, texts: Iterable[str], add_special: bool = True,
                     parse_special: bool = True) -> List[List[int]]:
        return [self.encode(t, add_special, parse_special) for t in texts]

    def token_bytes(self, token_id: int) -> bytes:
        """The bytes token ``token_id`` stands for (control tokens: their text)."""
        return self._bytes[token_id]

    def decode_bytes(self, ids: Iterable[int], skip_special: bool = False) -> bytes:
        return b"".join(self._bytes[i] for i in ids
                        if not (skip_special and self.token_types[i] == TOKEN_CONTROL))

    def decode(self, ids: Iterable[int], skip_special: bool = False) -> str:
        """The text of ``ids`` (invalid UTF-8 becomes U+FFFD). ``skip_special``
        leaves control tokens out (llama.cpp's detokenize with special=False)."""
        return self.decode_bytes(ids, skip_special).decode("utf-8", errors="replace")

    def decoder(self, skip_special: bool = False) -> "IncrementalDecoder":
        """A streaming decoder: ``d.push(id) -> str`` gives the text that is
        complete so far; ``d.flush()`` the rest."""
        return IncrementalDecoder(self, skip_special)

    def decode_incremental(self, ids: Iterable[int], skip_special: bool = False) -> Iterator[str]:
        """Yields the new text after each token of ``ids`` (possibly ''), holding
        back incomplete UTF-8 sequences; the pieces join to ``decode(ids)``."""
        d = IncrementalDecoder(self, skip_special)
        for i in ids:
            yield d.push(i)
        rest = d.flush()
        if rest:
            yield rest

    # -- chat template -----------------------------------------------------
    def apply_chat_template(self, messages: Sequence[Mapping[str, str]],
                            add_generation_prompt: bool = True,
                            template: Optional[str] = None, **kwargs) -> str:
        """Renders the GGUF's ``tokenizer.chat_template`` (or ``template``) for
        ``messages`` (dicts with ``role`` and ``content``) with jinja2 in an
        immutable sandbox (trim_blocks, lstrip_blocks), with the variables
        Hugging Face passes: messages, add_generation_prompt, bos_token,
        eos_token, unk_token, pad_token and the functions raise_exception and
        strftime_now; ``kwargs`` are passed too."""
        template = template if template is not None else self.chat_template
        if not template:
            raise QuantXformError(f"{self.source}: no chat template (tokenizer.chat_template)")
        return _render_chat_template(template, messages, add_generation_prompt, {
            "bos_token": self._text(self.bos_id), "eos_token": self._text(self.eos_id),
            "unk_token": self._text(self.unk_id), "pad_token": self._text(self.pad_id),
            **kwargs})

    def _text(self, tid: Optional[int]) -> str:
        return "" if tid is None else self.tokens[tid]

    def __repr__(self) -> str:
        return (f"GGUFTokenizer(vocab={self.vocab_size}, pre={self.pre!r}, bos={self.bos_id}, "
                f"eos={self.eos_id}, add_bos={self.add_bos})")


class IncrementalDecoder:
    """Streams text token by token: ``push(id)`` returns the newly completed
    text, keeping back the bytes of a UTF-8 sequence that is not complete
    yet; ``flush()`` returns what is left (an incomplete tail as U+FFFD)."""

    def __init__(self, tok: GGUFTokenizer, skip_special: bool = False):
        import codecs
        self._tok = tok
        self._skip = skip_special
        self._dec = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def push(self, token_id: int) -> str:
        if self._skip and self._tok.token_types[token_id] == TOKEN_CONTROL:
            return ""
        return self._dec.decode(self._tok.token_bytes(token_id))

    def flush(self) -> str:
        return self._dec.decode(b"", final=True)


def _render_chat_template(template: str, messages, add_generation_prompt: bool,
                          variables: Mapping) -> str:
    try:
        import jinja2
        from jinja2.sandbox import ImmutableSandboxedEnvironment
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise QuantXformError("chat templates need the `jinja2` package "
                              "(pip install jinja2)") from e
    import datetime
    import json

    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent,
                          separators=separators, sort_keys=sort_keys)

    def strftime_now(fmt):
        return datetime.datetime.now().strftime(fmt)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=["jinja2.ext.loopcontrols"])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    try:
        compiled = env.from_string(template)
        return compiled.render(messages=[dict(m) for m in messages],
                               add_generation_prompt=add_generation_prompt, **variables)
    except jinja2.exceptions.TemplateError as e:
        raise QuantXformError(f"chat template: {e}") from e
