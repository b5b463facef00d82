"""Models, recipes, calibration, compilation and artifacts.

Typical use::

    import quant_xform as qx
    model = qx.Model.from_safetensors("model.safetensors", seq_len=128)
    x, mask = model.embed(input_ids, attention_mask)        # [B, S, H], [B, S]
    module = qx.quantize(model, qx.RECIPES["hadamard"], calibration=(x[:16], mask[:16]))
    compiled = qx.compile(module, target="cpu")
    hidden = compiled(x, mask)                               # [B, S, H]
    compiled.save("minilm.qx"); compiled = qx.load("minilm.qx")
    print(compiled.report())
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from . import _core
from .models import (BertConfig, DecoderConfig, MASK_NEG, build_ir, config_from_hf,
                     normalize_weights, reference_forward)

QuantXformError = _core.QuantXformError

#: Artifact format version (see Compiled.save).
ARTIFACT_VERSION = 1


class Model:
    """A transformer (config + float weights) built for ``seq_len`` tokens
    per sequence and, with ``batch`` B > 1, B sequences per call as rows
    (``main(x [B·S, H], mask [B·S])``: one call, the linears on B·S rows;
    ``as_rows`` and ``from_rows`` convert ``[N, S, H]`` batches)."""

    def __init__(self, config, weights: Mapping[str, object], seq_len: int = 128,
                 batch: int = 1):
        self.config = config
        self.weights = normalize_weights(config, weights)
        if not isinstance(seq_len, int) or seq_len <= 0:
            raise QuantXformError(f"seq_len must be a positive integer, got {seq_len!r}")
        if not isinstance(batch, int) or batch <= 0:
            raise QuantXformError(f"batch must be a positive integer, got {batch!r}")
        self.seq_len = seq_len
        self.batch = batch

    # -- construction ------------------------------------------------------
    @classmethod
    def from_safetensors(cls, path: str, config=None, seq_len: int = 128,
                         batch: int = 1) -> "Model":
        """Weights from a safetensors file; the config defaults to the
        Hugging Face config.json next to it."""
        if config is None:
            cfg = os.path.join(os.path.dirname(os.path.abspath(path)), "config.json")
            if not os.path.exists(cfg):
                raise QuantXformError(f"no config given and no config.json next to '{path}'")
            with open(cfg) as f:
                config = config_from_hf(json.load(f))
        return cls(config, _core.load_safetensors(path), seq_len, batch)

    @classmethod
    def from_state_dict(cls, state_dict: Mapping[str, object], config,
                        seq_len: int = 128, batch: int = 1) -> "Model":
        """Weights from a PyTorch state dict (tensors are copied to numpy)."""
        return cls(config, state_dict, seq_len, batch)

    @classmethod
    def from_numpy(cls, weights: Mapping[str, np.ndarray], config,
                   seq_len: int = 128, batch: int = 1) -> "Model":
        return cls(config, weights, seq_len, batch)

    # -- IR ------------------------------------------------------------------
    def ir(self, elide_weights: bool = True) -> str:
        """The float model as MLIR text (weights shown as zeros unless
        ``elide_weights=False``)."""
        return build_ir(self.config, self.weights, self.seq_len, elide_weights, self.batch)

    def module(self) -> _core.Module:
        """The float model as a compiler module."""
        blobs: Dict[str, np.ndarray] = {}
        text = build_ir(self.config, self.weights, self.seq_len, batch=self.batch, blobs=blobs)
        return _core.Module.parse(text.encode(), "model.mlir", blobs)

    # -- inputs ----------------------------------------------------------------
    def embed(self, input_ids, attention_mask=None, token_type_ids=None
              ) -> Tuple[np.ndarray, np.ndarray]:
        """Input embeddings and additive masks for ``[B, seq_len]`` token ids.

        BERT: word + position + token-type embeddings; decoders: token
        embeddings. Returns ``x: [B, S, H] f32`` and ``mask: [B, S] f32``
        (0 for tokens, a large negative value for padding).
        """
        ids = np.asarray(input_ids, dtype=np.int64)
        if ids.ndim != 2 or ids.shape[1] != self.seq_len:
            raise QuantXformError(f"input_ids must be [batch, {self.seq_len}], got {list(ids.shape)}")
        am = np.ones_like(ids) if attention_mask is None else np.asarray(attention_mask)
        if am.shape != ids.shape:
            raise QuantXformError("attention_mask must have the shape of input_ids")
        W = self.weights
        if isinstance(self.config, BertConfig):
            word = W.get("embeddings.word_embeddings.weight")
            if word is None:
                raise QuantXformError("the weights have no embeddings.word_embeddings.weight")
            if ids.min() < 0 or ids.max() >= word.shape[0]:
                raise QuantXformError(f"token id out of range [0, {word.shape[0]})")
            x = word[ids] + W["embeddings.position_embeddings.weight"][None, :self.seq_len]
            tt = np.zeros_like(ids) if token_type_ids is None else np.asarray(token_type_ids)
            x = x + W["embeddings.token_type_embeddings.weight"][tt]
        else:
            emb = W.get("embed_tokens.weight")
            if emb is None:
                raise QuantXformError("the weights have no embed_tokens.weight")
            x = emb[ids]
        mask = np.where(am > 0, 0.0, MASK_NEG).astype(np.float32)
        return np.ascontiguousarray(x, dtype=np.float32), mask

    def as_rows(self, x, mask) -> Tuple[np.ndarray, np.ndarray]:
        """``x [N, S, H]``, ``mask [N, S]`` as the batched function's calls:
        ``[⌈N/B⌉, B·S, H]`` and ``[⌈N/B⌉, B·S]``, the last call padded with
        masked zero sequences."""
        x, mask = _batched(x, mask, self.seq_len, self.config.hidden)
        B, (n, S, H) = self.batch, x.shape
        calls = -(-n // B)
        xr = np.zeros((calls * B, S, H), np.float32)
        mr = np.full((calls * B, S), MASK_NEG, np.float32)
        xr[:n], mr[:n] = x, mask
        return xr.reshape(calls, B * S, H), mr.reshape(calls, B * S)

    def from_rows(self, y, n: int) -> np.ndarray:
        """The first ``n`` sequences ``[n, S, H]`` of batched results."""
        y = np.asarray(y)
        return y.reshape(-1, self.seq_len, y.shape[-1])[:n]

    def reference(self, x: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """The float64 numpy forward pass over a batch ([B, S, H], [B, S])."""
        x, mask = _batched(x, mask, self.seq_len, self.config.hidden)
        return np.stack([reference_forward(self.config, self.weights, x[b], mask[b])
                         for b in range(x.shape[0])])


def _batched(x, mask, S, H):
    x = np.asarray(x, dtype=np.float32)
    mask = np.asarray(mask, dtype=np.float32)
    if x.ndim == 2:
        x, mask = x[None], mask[None]
    if x.ndim != 3 or x.shape[1:] != (S, H):
        raise QuantXformError(f"x must be [batch, {S}, {H}], got {list(x.shape)}")
    if mask.shape != x.shape[:2]:
        raise QuantXformError(f"mask must be [batch, {S}], got {list(mask.shape)}")
    return np.ascontiguousarray(x), np.ascontiguousarray(mask)


@dataclasses.dataclass
class Recipe:
    """A W8A8 recipe: the options of the ``quant-xform-w8a8`` pipeline."""

    rotation: str = "none"            # none, hadamard, random-orthogonal, pca
    rotation_roles: Sequence[str] = ()  # roles the rotation applies to (default: transform_roles)
    residual_rotation: str = "none"   # QuaRot (LLM): none, hadamard, random-orthogonal
    smooth_alpha: Optional[float] = None  # SmoothQuant α in [0, 1]
    smooth_search: bool = False       # α per activation by measured error
    affine: bool = False              # AffineQuant: learned affine per activation
    affine_epochs: int = 4
    affine_steps: int = 8
    auto: Sequence[str] = ()          # per-activation choice among these
    transform_roles: Sequence[str] = ()  # roles the transforms apply to
    keep_rows: int = 512              # calibration rows kept for the searches
    measure: bool = False             # SQNR before/after for every transform (report)
    outliers: str = "none"            # none, static, dynamic (LLM.int8())
    outlier_threshold: float = 6.0
    activation_granularity: str = "per_token"
    static_activations: bool = False
    range: str = "minmax"             # minmax, percentile, mse, kl
    weight_granularity: str = "per_channel"
    group_size: int = 128
    seed: int = 0

    def pipeline(self, calibration_files: Sequence[str] = (), progress: bool = False,
                 row_mask: int = -1) -> str:
        opts = [f"rotation={self.rotation}",
                f"residual-rotation={str(self.residual_rotation != 'none').lower()}",
                f"smooth-alpha={-1.0 if self.smooth_alpha is None else float(self.smooth_alpha)}",
                f"outliers={self.outliers}",
                f"outlier-threshold={float(self.outlier_threshold)}",
                f"activation-granularity={self.activation_granularity}",
                f"static-activations={str(bool(self.static_activations)).lower()}",
                f"range={self.range}",
                f"weight-granularity={self.weight_granularity}",
                f"group-size={int(self.group_size)}",
                f"seed={int(self.seed)}",
                f"smooth-search={str(bool(self.smooth_search)).lower()}",
                f"affine={str(bool(self.affine)).lower()}",
                f"affine-epochs={int(self.affine_epochs)}",
                f"affine-steps={int(self.affine_steps)}",
                f"keep-rows={int(self.keep_rows)}",
                f"measure={str(bool(self.measure)).lower()}",
                f"calibration-row-mask={int(row_mask)}",
                "calibration-row-mask-additive=true",
                f"progress={str(bool(progress)).lower()}"]
        if self.auto:
            opts.append("auto=" + ",".join(self.auto))
        if self.transform_roles:
            opts.append("transform-roles=" + ",".join(self.transform_roles))
        if self.rotation_roles:
            opts.append("rotation-roles=" + ",".join(self.rotation_roles))
        if calibration_files:
            opts.append("calibration-inputs=" + ",".join(calibration_files))
        return "quant-xform-w8a8{" + " ".join(opts) + "}"


#: The recipes of the accuracy tables.
RECIPES: Dict[str, Recipe] = {
    "naive": Recipe(),
    "smooth": Recipe(smooth_alpha=0.5),
    "hadamard": Recipe(rotation="hadamard"),
    "smooth+hadamard": Recipe(smooth_alpha=0.5, rotation="hadamard"),
    "outliers": Recipe(outliers="static"),
    "smooth-search": Recipe(smooth_search=True),
    "affine": Recipe(affine=True, smooth_search=True),
    "auto": Recipe(auto=("smooth", "hadamard", "learned-affine")),
    # QuaRot: the residual stream rotated by one randomized Hadamard folded
    # into every layer (quant_xform.LLM), online Hadamards in front of the
    # output projections and down_proj.
    "quarot": Recipe(residual_rotation="hadamard", rotation="hadamard",
                     rotation_roles=("attn_out", "mlp_down")),
    "smooth+quarot": Recipe(residual_rotation="hadamard", smooth_alpha=0.5, rotation="hadamard",
                            rotation_roles=("attn_out", "mlp_down")),
    # Per-group scales on both sides (one per 32 inputs, as llama.cpp's Q8_0
    # dot products): each group of a row is quantized on its own, so one
    # outlier channel coarsens 31 neighbours instead of the whole row.
    "group32": Recipe(activation_granularity="per_group", weight_granularity="per_group",
                      group_size=32),
    "smooth+quarot+group32": Recipe(residual_rotation="hadamard", smooth_alpha=0.5,
                                    rotation="hadamard",
                                    rotation_roles=("attn_out", "mlp_down"),
                                    activation_granularity="per_group",
                                    weight_granularity="per_group", group_size=32),
    # The same with a Haar-random orthogonal residual rotation (mixes every
    # channel, where the Hadamard of a width like 576 is block-diagonal).
    "smooth+quarot-orthogonal": Recipe(residual_rotation="random-orthogonal", smooth_alpha=0.5,
                                       rotation="hadamard",
                                       rotation_roles=("attn_out", "mlp_down")),
}


def quantize(model, recipe: Recipe, calibration=None, progress: bool = True,
             print_ir: bool = False) -> _core.Module:
    """Runs ``recipe`` on the float model and returns the W8A8 module.

    ``calibration`` is a tuple of stacked function arguments (for the
    transformer models: ``(x [N, S, H], mask [N, S])``); without it the
    pipeline calibrates on seeded random inputs. For a ``Model`` the
    attention mask marks the rows calibration observes: padding tokens do
    not enter the statistics. With ``progress``, each calibration sample is
    reported on stderr.
    """
    module = model.module() if isinstance(model, Model) else model.clone()
    if isinstance(model, Model) and model.batch > 1 and calibration is not None:
        calibration = model.as_rows(*calibration)
    if print_ir:
        print("// ---- float model ----\n" + str(module))
    with tempfile.TemporaryDirectory(prefix="qx-calib-") as tmp:
        files = []
        if calibration is not None:
            sig = module.signature()
            if len(calibration) != len(sig["arg_shapes"]):
                raise QuantXformError(f"calibration has {len(calibration)} arrays; the model "
                                      f"takes {len(sig['arg_shapes'])} arguments")
            n = None
            for i, (arr, shape) in enumerate(zip(calibration, sig["arg_shapes"])):
                arr = np.ascontiguousarray(arr, dtype=np.float32)
                if arr.ndim == len(shape):
                    arr = arr[None]
                if list(arr.shape[1:]) != list(shape):
                    raise QuantXformError(f"calibration array {i}: expected [N, "
                                          f"{', '.join(map(str, shape))}], got {list(arr.shape)}")
                if n is not None and arr.shape[0] != n:
                    raise QuantXformError("calibration arrays hold different sample counts")
                n = arr.shape[0]
                path = os.path.join(tmp, f"arg{i}.npy")
                np.save(path, arr)
                files.append(path)
        start = time.time()
        # The transformer functions are main(x [S, H], mask [S]) with an
        # additive mask (0 for tokens, large negative for padding).
        row_mask = 1 if isinstance(model, Model) and calibration is not None else -1
        module.run_pipeline(recipe.pipeline(files, progress, row_mask))
        if progress:
            print(f"quant_xform: recipe done in {time.time() - start:.1f} s", file=sys.stderr)
    if print_ir:
        print("// ---- W8A8 ----\n" + str(module))
    return module


class Compiled:
    """A compiled function plus the module it came from (for saving)."""

    def __init__(self, module: _core.Module, target: str, threads: int = 1,
                 meta: Optional[dict] = None, workers: Optional[int] = None):
        if target != "cpu":
            raise QuantXformError(f"target {target!r}: only 'cpu' runs from Python; for a "
                                  "GPU artifact use quant_xform.compile_object(module, path, "
                                  "target='cuda')")
        self.module = module
        self.target = target
        self.threads = threads
        #: Sequences of a batch run concurrently on this many threads.
        self.workers = workers or max(1, (os.cpu_count() or 1) // threads)
        self.meta = dict(meta or {})
        self._fn = module.compile_cpu("main", threads)
        self.signature = self._fn.signature

    def run(self, *args):
        """Runs the function once on arrays of the signature's shapes."""
        torch_out = any(type(a).__module__.startswith("torch") for a in args)
        arrays = [a if hasattr(a, "__dlpack__") and not isinstance(a, np.ndarray)
                  else np.ascontiguousarray(a) for a in args]
        outs = self._fn.run(arrays)
        if torch_out:
            import torch  # only when the caller passed torch tensors
            outs = [torch.from_numpy(o) for o in outs]
        return outs[0] if len(outs) == 1 else outs

    def __call__(self, x, mask):
        """Transformer models: ``x [B, S, H]``, ``mask [B, S]`` → ``[B, S, H]``."""
        shapes = self.signature["arg_shapes"]
        if len(shapes) != 2:
            return self.run(x, mask)
        S, H = shapes[0]
        xb, mb = _batched(x, mask, S, H)
        out = np.empty_like(xb)

        def one(b):
            out[b] = self._fn.run([xb[b], mb[b]])[0]

        # Sequences run concurrently (the core releases the GIL), one per
        # worker; each run uses `threads` OpenMP threads inside.
        workers = min(self.workers, xb.shape[0])
        if workers <= 1:
            for b in range(xb.shape[0]):
                one(b)
        else:
            with concurrent.futures.ThreadPoolExecutor(workers) as pool:
                list(pool.map(one, range(xb.shape[0])))
        return out

    def report(self) -> str:
        return report(self.module)

    def save(self, path: str) -> None:
        """Writes the artifact: a directory with the W8A8 module (bytecode)
        and meta.json. Loading re-JITs it for the loading machine's CPU."""
        os.makedirs(path, exist_ok=True)
        self.module.save(os.path.join(path, "module.mlirbc"))
        meta = dict(self.meta, format="quant-xform-artifact", version=ARTIFACT_VERSION,
                    target=self.target, threads=self.threads)
        tmp = os.path.join(path, "meta.json.tmp")
        with open(tmp, "w") as f:
            json.dump(meta, f, indent=2)
        os.replace(tmp, os.path.join(path, "meta.json"))


def compile(module, target: str = "cpu", threads: int = 1, workers: Optional[int] = None,
            meta: Optional[dict] = None) -> Compiled:
    """Compiles a (W8A8 or float) module: ``target='cpu'`` JIT-compiles for
    this machine. A batch runs its sequences on ``workers`` concurrent
    threads (default: cores / threads), each call using ``threads`` OpenMP
    threads inside."""
    if isinstance(module, Model):
        module = module.module()
    return Compiled(module, target, threads, meta, workers)


def _xform_aot() -> str:
    """The xform-aot tool: $QX_XFORM_AOT, in the installed package
    (quant_xform/bin), next to the build's package (build/bin) or on PATH."""
    here = os.path.dirname(os.path.abspath(__file__))
    for candidate in (os.environ.get("QX_XFORM_AOT", ""),
                      os.path.join(here, "bin", "xform-aot"),
                      os.path.join(here, "..", "..", "bin", "xform-aot")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which("xform-aot")
    if not found:
        raise QuantXformError("xform-aot not found (set QX_XFORM_AOT or put build/bin on PATH)")
    return found


def compile_object(module, path: str, target: str = "cuda", name: str = "model",
                   gpu_chip: str = "sm_90a", attention_kernel: bool = True,
                   weights_file: Optional[str] = None,
                   weights_min_bytes: int = 0, entry: str = "main",
                   half_quantize_inputs: bool = False) -> Tuple[str, str]:
    """Ahead-of-time artifact: an object file plus a C header (xform-aot).

    ``target='cuda'``: the whole model for the GPU (cubins embedded, made by
    ptxas) with host code on the mgpu* ABI of runtime/CudaRuntime.cpp:
    int8 tensor-core kernels for the W8A8 linears and per-token quantizers,
    generated loop kernels for everything else; pointers are device memory
    (docs/STATUS.md says what is fast and what is merely correct).
    ``target='cpu'``: the CPU code for this machine. Returns (object path,
    header path). ``attention_kernel=False`` runs attention as f32 loop
    kernels instead of the flash attention kernel (whose products are f16).
    ``half_quantize_inputs=True`` stores a linear's result in bf16 where only
    the next per-token quantize reads it (one rounding of at most 2⁻⁹
    relative in front of the int8 one; measured no faster on MiniLM, so
    off by default).
    ``weights_file`` (``target='cuda'``): weights as data — constants of at
    least ``weights_min_bytes`` bytes go to this safetensors file instead of
    the object, and the entry point takes the table of their device
    buffers as its last argument (``quant_xform.cuda`` fills it).
    ``entry``: the function to export (the others are dropped).
    """
    if target not in ("cuda", "cpu"):
        raise QuantXformError(f"target must be 'cuda' or 'cpu', got {target!r}")
    if isinstance(module, Model):
        module = module.module()
    obj, header = path + ".o", path + ".h"
    with tempfile.TemporaryDirectory(prefix="qx-aot-") as tmp:
        src = os.path.join(tmp, "module.mlirbc")
        module.save(src)
        cmd = [_xform_aot(), src, "--target", "gpu" if target == "cuda" else "cpu",
               "--entry", entry, "--name", name, "-o", obj, "--header", header]
        if target == "cuda":
            cmd += ["--gpu-chip", gpu_chip]
            if not attention_kernel:
                cmd += ["--gpu-attention-kernel=false"]
            if half_quantize_inputs:
                cmd += ["--gpu-half-quantize-inputs=true"]
            if weights_file:
                if weights_min_bytes < 0:
                    raise QuantXformError(
                        f"weights_min_bytes must be >= 0, got {weights_min_bytes}")
                cmd += ["--gpu-weights-file", weights_file,
                        f"--gpu-weights-min-bytes={weights_min_bytes}"]
        elif weights_file:
            raise QuantXformError("weights_file is for target='cuda' (the CPU JIT and "
                                  "objects keep constants in memory)")
        env = dict(os.environ)
        if target == "cuda" and not shutil.which("ptxas") and os.path.isdir("/usr/local/cuda/bin"):
            env["PATH"] = env.get("PATH", "") + os.pathsep + "/usr/local/cuda/bin"
        p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        raise QuantXformError(f"{target} compilation failed:\n{p.stderr.strip()}")
    return obj, header


def _cuda_runtime_library() -> str:
    """libqx_cuda_runtime.so: $QX_CUDA_RUNTIME, in the installed package
    (quant_xform/lib) or next to the build's package (build/lib)."""
    here = os.path.dirname(os.path.abspath(__file__))
    for candidate in (os.environ.get("QX_CUDA_RUNTIME", ""),
                      os.path.join(here, "lib", "libqx_cuda_runtime.so"),
                      os.path.join(here, "..", "..", "lib", "libqx_cuda_runtime.so")):
        if candidate and os.path.isfile(candidate):
            return os.path.abspath(candidate)
    raise QuantXformError("libqx_cuda_runtime.so not found (build it, or set QX_CUDA_RUNTIME)")


def compile_cuda(module, directory: str, name: str = "model", gpu_chip: str = "sm_90a",
                 attention_kernel: bool = True, weights_as_data: bool = True,
                 weights_min_bytes: int = 0, entry: str = "main",
                 half_quantize_inputs: bool = False):
    """Compiles ``module`` for the GPU into the artifact folder ``directory``
    and returns it loaded (``quant_xform.cuda.CudaModel``: call it on numpy
    arrays or torch CUDA tensors). The folder holds ``lib<name>.so`` (the
    object of ``compile_object`` linked into a shared library by the C++
    compiler, $CXX or c++), ``libqx_cuda_runtime.so``, ``<name>.json``
    (the signature), ``<name>.h`` and ``<name>.o``; copy it, with
    ``quant_xform/cuda.py`` if quant-xform is not installed there, to a
    machine with an NVIDIA GPU. ``attention_kernel``, ``half_quantize_inputs``:
    see compile_object.
    ``weights_as_data`` (the default): the weights (constants of
    ``weights_min_bytes`` bytes or more) go to ``<name>.weights.safetensors`` in the folder, not into the
    library; loading the artifact reads that file onto the device, after
    checking it against the layout in ``<name>.json`` (names, dtypes,
    shapes) and its SHA-256. The library then holds code only, so a
    model's size is bounded by device memory, not by the object file.
    ``entry``: the function to compile (e.g. an LLM layer's ``prefill``)."""
    from .cuda import CudaModel
    if not name.isidentifier():
        raise QuantXformError(f"name must be a C identifier, got {name!r}")
    if isinstance(module, Model):
        module = module.module()
    sig = module.signature(entry)
    if len(sig["result_shapes"]) < 1:
        raise QuantXformError("the model returns nothing")
    os.makedirs(directory, exist_ok=True)
    weights = os.path.join(directory, f"{name}.weights.safetensors")
    if os.path.exists(weights):
        os.remove(weights)  # never pair a stale file with the new library
    obj, _ = compile_object(module, os.path.join(directory, name), target="cuda", name=name,
                            gpu_chip=gpu_chip, attention_kernel=attention_kernel,
                            weights_file=weights if weights_as_data else None,
                            weights_min_bytes=weights_min_bytes, entry=entry,
                            half_quantize_inputs=half_quantize_inputs)
    runtime = _cuda_runtime_library()
    shutil.copyfile(runtime, os.path.join(directory, "libqx_cuda_runtime.so"))
    cxx = os.environ.get("CXX") or shutil.which("c++") or shutil.which("clang++-22")
    if not cxx:
        raise QuantXformError("no C++ compiler to link the GPU artifact (set CXX)")
    lib = os.path.join(directory, f"lib{name}.so")
    p = subprocess.run([cxx, "-shared", obj, "-L", directory, "-lqx_cuda_runtime",
                        "-Wl,-rpath,$ORIGIN", "-o", lib + ".tmp"], capture_output=True, text=True)
    if p.returncode != 0:
        raise QuantXformError(f"linking {lib} failed:\n{p.stderr.strip()}")
    os.replace(lib + ".tmp", lib)
    meta = dict(name=name, **sig)
    if weights_as_data:
        from .cuda import read_weights_header
        manifest = read_weights_header(weights)
        if manifest["tensors"]:
            meta["weights"] = dict(file=os.path.basename(weights), layout=manifest["layout"],
                                   sha256=manifest["sha256"], tensors=manifest["tensors"])
        else:
            os.remove(weights)
    with open(os.path.join(directory, f"{name}.json"), "w") as f:
        json.dump(meta, f, indent=1)
    return CudaModel(os.path.join(directory, name))


def load(path: str, threads: Optional[int] = None) -> Compiled:
    """Loads an artifact written by ``Compiled.save``."""
    meta_path = os.path.join(path, "meta.json")
    if not os.path.exists(meta_path):
        raise QuantXformError(f"'{path}' is not a quant-xform artifact (no meta.json)")
    with open(meta_path) as f:
        try:
            meta = json.load(f)
        except json.JSONDecodeError as e:
            raise QuantXformError(f"'{meta_path}' is not valid JSON: {e}") from None
    if meta.get("format") != "quant-xform-artifact" or meta.get("version") != ARTIFACT_VERSION:
        raise QuantXformError(f"'{path}': unknown artifact format/version "
                              f"{meta.get('format')!r}/{meta.get('version')!r}")
    module = _core.Module.load(os.path.join(path, "module.mlirbc"))
    module.verify()
    return Compiled(module, meta.get("target", "cpu"), threads or meta.get("threads", 1), meta)


def report_rows(module: _core.Module) -> List[Dict[str, object]]:
    """The per-layer report as data: for each linear, what it became (op),
    the transform in front of it (``transform``, SmoothQuant ``alpha``), its
    quantization (``activation``, ``activation_scale`` when static per
    tensor, ``weight_scale_min``/``max``) and the W8A8 output SQNR in dB on
    calibration rows without and with the transform (``sqnr_before`` /
    ``sqnr_after``; None when not measured: use a searching recipe or
    ``Recipe(measure=True)``). The values come typed from the compiler."""
    keys = ("transform", "alpha", "activation", "activation_scale", "weight_scale_min",
            "weight_scale_max", "sqnr_before", "sqnr_after")
    rows = []
    for l in module.layers():
        row = {"layer": l["layer"], "role": l["role"],
               "op": l["op"].replace("quant_xform.", "")}
        row.update({k: l[k] for k in keys})
        rows.append(row)
    return rows


def report(module: _core.Module) -> str:
    """The per-layer report as a text table (see ``report_rows``)."""
    def num(v, fmt):
        return "-" if v is None else format(v, fmt)
    header = ("layer", "role", "op", "transform", "alpha", "activations",
              "weight scales", "SQNR before", "SQNR after (dB)")
    table = [header]
    for r in report_rows(module):
        ws = ("-" if r["weight_scale_min"] is None
              else f"{r['weight_scale_min']:.3g}..{r['weight_scale_max']:.3g}")
        act = str(r["activation"])
        if r["activation_scale"] is not None:
            act += f" {r['activation_scale']:.4g}"
        table.append((r["layer"], r["role"], r["op"], str(r["transform"]),
                      num(r["alpha"], ".2f"), act, ws,
                      num(r["sqnr_before"], ".2f"), num(r["sqnr_after"], ".2f")))
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip()
                     for row in table)


def plot_report(module: _core.Module, path: str) -> str:
    """Plots the measured SQNR before and after the transform of each
    linear (a bar pair per layer) into ``path`` (any format matplotlib
    writes: .png, .svg, .pdf) and returns ``path``. Needs matplotlib;
    raises QuantXformError when it is missing or nothing was measured."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise QuantXformError("plot_report needs matplotlib (pip install matplotlib); "
                              "report() gives the same numbers as text") from None
    rows = [r for r in report_rows(module)
            if r["sqnr_before"] is not None and r["sqnr_after"] is not None]
    if not rows:
        raise QuantXformError("no layer has a measured SQNR: quantize with a searching "
                              "recipe or Recipe(measure=True)")
    x = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(max(6.0, 0.45 * len(rows) + 2), 4))
    ax.bar(x - 0.2, [r["sqnr_before"] for r in rows], 0.4, label="W8A8, no transform")
    ax.bar(x + 0.2, [r["sqnr_after"] for r in rows], 0.4, label="W8A8 with the transform")
    ax.set_xticks(x, [f"{r['layer']}\n{r['transform']}" for r in rows], rotation=90, fontsize=7)
    ax.set_ylabel("output SQNR (dB)")
    ax.set_title("per-layer W8A8 error on calibration rows")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
