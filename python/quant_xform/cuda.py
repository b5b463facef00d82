"""Runs a model compiled for the GPU (``compile_cuda``) from Python.

This module needs only ctypes and numpy (torch optional): it does not
import the compiler, so it can be copied next to an artifact and used on a
machine where quant-xform is not installed (a GPU server with the NVIDIA
driver). An artifact is a folder with ``lib<name>.so`` (the generated
kernels and host code, linked against ``libqx_cuda_runtime.so``, which
sits next to it) and ``<name>.json`` (the entry point's signature).

    model = CudaModel("artifacts/bert")          # or quant_xform.cuda.load
    y = model(x, mask)                           # numpy in, numpy out
    y = model(x_cuda, mask_cuda)                 # torch CUDA tensors in and out

numpy arguments are copied to the device and results back (the call
waits); torch CUDA tensors (contiguous, of the declared dtypes and shapes)
are used in place, results are new torch CUDA tensors, and the work is
queued on PyTorch's current stream as a torch op's is (the call returns
before the kernels finish). Arguments with one more leading
dimension (the same for all) are a batch: one call per item, results
stacked. Errors (no GPU, no driver, a CUDA
failure, wrong shapes) raise ``CudaError`` with the runtime's message.

Weights as data: an artifact compiled with ``weights_as_data`` holds code
only; its weights are in ``<name>.weights.safetensors`` beside it (int8
weights, f32 scales and the other large constants, after the transforms).
Loading checks that file against the layout in ``<name>.json`` (names,
dtypes, shapes, in order) and against its own SHA-256, then copies it to
device memory once; ``CudaModel(path, weights=other_file)`` takes another
file of the same layout (e.g. written by ``write_weights``).

CUDA graphs: ``capture(fn)`` records the calls that ``fn`` makes on torch
tensors (any number of models, e.g. every layer of a decode step) as one
CUDA graph; ``CapturedCall.replay()`` then runs them all with one launch
from the host, on the tensors they had at capture (copy new inputs into
them first). The scratch memory of the captured calls stays with the graph
until ``close()``.
"""
import ctypes
import hashlib
import json
import mmap
import os

import numpy as np


class CudaError(RuntimeError):
    """A model could not be loaded or run on the GPU."""


# The runtime loaded, by path (one per process, see _load_runtime): a
# capture holds its scratch blocks.
_RUNTIMES = {}


def _load_runtime(path: str):
    """The process's CUDA runtime library. The dynamic loader binds every
    generated library to the first `libqx_cuda_runtime.so` loaded (it
    matches DT_NEEDED by soname), so a second folder's copy, loaded by its
    own path, would be a runtime no model calls: its stream and scratch
    settings would reach no kernel. Every model therefore talks to the
    first one."""
    if _RUNTIMES:
        return next(iter(_RUNTIMES.values()))
    runtime = ctypes.CDLL(path)
    _RUNTIMES[path] = runtime
    return runtime

_DTYPES = {"f32": np.float32, "f64": np.float64, "f16": np.float16, "i8": np.int8,
           "ui8": np.uint8, "i32": np.int32, "i64": np.int64}


_SAFETENSORS = {"F32": (np.float32, "f32"), "I8": (np.int8, "i8"), "I32": (np.int32, "i32")}
_WEIGHTS_FORMAT = "quant-xform-gpu-weights"


def layout_fingerprint(tensors):
    """The 64-bit FNV-1a of the weights' names, dtypes and shapes in order
    (hex), as quant-xform-gpu-weights-as-data computes it: the layout that a
    compiled model and its weight file share. ``tensors``: [name, dtype,
    shape] rows with safetensors dtypes."""
    h = 1469598103934665603
    mask = (1 << 64) - 1

    def mix(text):
        nonlocal h
        for c in text.encode() + b"\xff":
            h = ((h ^ c) * 1099511628211) & mask

    for name, dtype, shape in tensors:
        mix(name)
        mix(dtype)
        for d in shape:
            mix(str(d))
    return f"{h:016x}"


def _sha256(f, start, size):
    digest = hashlib.sha256()
    f.seek(start)
    left = size
    while left:
        chunk = f.read(min(left, 1 << 24))
        if not chunk:
            break
        digest.update(chunk)
        left -= len(chunk)
    return digest.hexdigest()


def read_weights_header(path, verify=False):
    """The layout of a weight file written by the GPU compiler (or
    ``write_weights``): dict(layout, sha256, tensors=[[name, dtype, shape]],
    offsets=[(begin, end)] in the file, data_start). Every length and offset
    is checked against the file; ``verify`` also checks the data's SHA-256.
    Raises CudaError naming the problem."""
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            raw = f.read(8)
            if len(raw) != 8:
                raise CudaError(f"'{path}': not a weight file (shorter than 8 bytes)")
            n = int.from_bytes(raw, "little")
            if n > min(size - 8, 1 << 28):
                raise CudaError(f"'{path}': header length {n} runs past the end of the "
                                f"file ({size} bytes): truncated or not a weight file")
            try:
                header = json.loads(f.read(n))
            except ValueError as e:
                raise CudaError(f"'{path}': the header is not JSON: {e}") from e
            if not isinstance(header, dict):
                raise CudaError(f"'{path}': the header is not a JSON object")
            meta = header.get("__metadata__") or {}
            if meta.get("format") != _WEIGHTS_FORMAT:
                raise CudaError(f"'{path}': not a quant-xform GPU weight file (metadata format "
                                f"{meta.get('format')!r}, expected {_WEIGHTS_FORMAT!r})")
            order = [o for o in meta.get("order", "").split(",") if o]
            data_start, data_size = 8 + n, size - 8 - n
            tensors, offsets = [], []
            for name in order:
                entry = header.get(name)
                if not isinstance(entry, dict):
                    raise CudaError(f"'{path}': weight '{name}' is listed but not described")
                dtype, shape, off = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
                if dtype not in _SAFETENSORS:
                    raise CudaError(f"'{path}': weight '{name}' has dtype {dtype!r} "
                                    f"(expected one of {sorted(_SAFETENSORS)})")
                if (not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape)
                        or not isinstance(off, list) or len(off) != 2
                        or not all(isinstance(o, int) for o in off)):
                    raise CudaError(f"'{path}': weight '{name}' has a malformed shape or offsets")
                want = int(np.prod(shape, dtype=np.int64)) * np.dtype(_SAFETENSORS[dtype][0]).itemsize
                if not 0 <= off[0] <= off[1] <= data_size or off[1] - off[0] != want:
                    raise CudaError(f"'{path}': weight '{name}' ({dtype}{shape}) needs {want} bytes, "
                                    f"its offsets {off} hold {off[1] - off[0]} of a {data_size}-byte "
                                    f"data section: truncated or corrupt")
                tensors.append([name, dtype, shape])
                offsets.append((data_start + off[0], data_start + off[1]))
            layout = layout_fingerprint(tensors)
            if meta.get("layout") != layout:
                raise CudaError(f"'{path}': the metadata says layout {meta.get('layout')!r}, "
                                f"the tensors have layout {layout!r}: corrupt")
            sha = meta.get("sha256", "")
            if verify and _sha256(f, data_start, data_size) != sha:
                raise CudaError(f"'{path}': the data's SHA-256 differs from the one in its header: "
                                "the file is corrupt or was edited")
    except OSError as e:
        raise CudaError(f"cannot read weight file '{path}': {e}") from e
    return dict(layout=layout, sha256=sha, tensors=tensors, offsets=offsets,
                data_start=data_start)


def write_weights(path, tensors):
    """Writes a weight file of the compiler's format: ``tensors`` is a list
    of (name, numpy array of float32, int8 or int32), in the order of the
    model's layout (``CudaModel.weight_layout``). Returns the layout."""
    rows, blobs, offset = [], [], 0
    header = {}
    for name, a in tensors:
        a = np.ascontiguousarray(a)
        dtype = {np.dtype(np.float32): "F32", np.dtype(np.int8): "I8",
                 np.dtype(np.int32): "I32"}.get(a.dtype)
        if dtype is None:
            raise CudaError(f"weight '{name}': dtype {a.dtype} (expected float32, int8 or int32)")
        rows.append([name, dtype, list(a.shape)])
        header[name] = dict(dtype=dtype, shape=list(a.shape), data_offsets=[offset, offset + a.nbytes])
        offset += a.nbytes
        blobs.append(a)
    digest = hashlib.sha256()
    for a in blobs:
        digest.update(memoryview(a).cast("B"))
    layout = layout_fingerprint(rows)
    header["__metadata__"] = dict(format=_WEIGHTS_FORMAT, layout=layout,
                                  sha256=digest.hexdigest(), order=",".join(r[0] for r in rows))
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(len(text).to_bytes(8, "little"))
        f.write(text)
        for a in blobs:
            f.write(memoryview(a).cast("B"))
    os.replace(tmp, path)
    return layout


def _descriptor(rank):
    """The ctypes struct of a rank-`rank` memref descriptor (MLIR's C ABI)."""
    fields = [("allocated", ctypes.c_void_p), ("aligned", ctypes.c_void_p),
              ("offset", ctypes.c_int64)]
    if rank:
        fields += [("sizes", ctypes.c_int64 * rank), ("strides", ctypes.c_int64 * rank)]
    return type(f"MemRef{rank}D", (ctypes.Structure,), {"_fields_": fields})


def _fill(desc, ptr, shape):
    desc.allocated = desc.aligned = ptr
    desc.offset = 0
    stride = 1
    for i in reversed(range(len(shape))):
        desc.sizes[i] = shape[i]
        desc.strides[i] = stride
        stride *= shape[i]


class CudaModel:
    """A GPU artifact loaded for calls (see the module's documentation)."""

    def __init__(self, path: str, weights: str = None):
        meta_path = path + ".json" if not os.path.isdir(path) else None
        if meta_path is None:
            metas = [f for f in os.listdir(path) if f.endswith(".json")]
            if len(metas) != 1:
                raise CudaError(f"'{path}': expected one <name>.json in the artifact folder")
            meta_path = os.path.join(path, metas[0])
        try:
            with open(meta_path) as f:
                self.meta = json.load(f)
            name = self.meta["name"]
            self.arg_shapes = [tuple(s) for s in self.meta["arg_shapes"]]
            self.arg_dtypes = self.meta["arg_dtypes"]
            self.result_shapes = [tuple(s) for s in self.meta["result_shapes"]]
            self.result_dtypes = self.meta["result_dtypes"]
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise CudaError(f"'{meta_path}' is not a quant-xform GPU artifact: {e}") from e
        folder = os.path.dirname(os.path.abspath(meta_path))
        lib_path = os.path.join(folder, f"lib{name}.so")
        try:
            self._runtime = _load_runtime(os.path.join(folder, "libqx_cuda_runtime.so"))
            self._lib = ctypes.CDLL(lib_path)
        except OSError as e:
            raise CudaError(f"cannot load '{lib_path}': {e}") from e
        rt = self._runtime
        rt.qxGpuLastError.restype = ctypes.c_char_p
        rt.qxGpuAvailable.restype = ctypes.c_int
        rt.qxGpuMalloc.restype = ctypes.c_void_p
        rt.qxGpuMalloc.argtypes = [ctypes.c_size_t]
        rt.qxGpuFree.argtypes = [ctypes.c_void_p]
        rt.qxGpuCopyToDevice.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]
        rt.qxGpuCopyToHost.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]
        rt.qxGpuSetStream.argtypes = [ctypes.c_void_p]
        rt.qxGpuEndHoldScratch.restype = ctypes.c_int64
        rt.qxGpuReleaseScratch.argtypes = [ctypes.c_int64]
        self._entry = getattr(self._lib, f"_mlir_ciface_{name}")
        self._entry.restype = None
        self._types = [_descriptor(len(s)) for s in self.arg_shapes + self.result_shapes]
        self._device_weights = None
        self._table = None
        self.weight_layout = None
        if "weights" in self.meta:
            self._open_weights(folder, weights)
        elif weights is not None:
            raise CudaError(f"'{meta_path}': this artifact keeps its weights in the library; "
                            "it takes no weight file")

    def _open_weights(self, folder, weights):
        """Checks the weight file against the artifact's layout (the data is
        copied to the device at the first call)."""
        spec = self.meta["weights"]
        try:
            self.weight_layout = [list(t) for t in spec["tensors"]]
            layout = spec["layout"]
            default = os.path.join(folder, spec["file"])
        except (KeyError, TypeError) as e:
            raise CudaError(f"the artifact's weights entry is malformed: {e}") from e
        path = weights or default
        if not os.path.exists(path):
            raise CudaError(f"the weight file '{path}' is missing: the artifact's library holds "
                            "code only (compile_cuda wrote the weights beside it)")
        header = read_weights_header(path, verify=True)
        if header["layout"] != layout:
            got = {t[0]: t for t in header["tensors"]}
            for want in self.weight_layout:
                have = got.get(want[0])
                if have is None:
                    raise CudaError(f"'{path}' does not belong to this model: weight "
                                    f"'{want[0]}' ({want[1]}{want[2]}) is missing")
                if have != want:
                    raise CudaError(f"'{path}' does not belong to this model: weight "
                                    f"'{want[0]}' is {have[1]}{have[2]} there, the model "
                                    f"reads {want[1]}{want[2]}")
            raise CudaError(f"'{path}' does not belong to this model: its weights are in "
                            f"another order or it has others (layout {header['layout']}, "
                            f"the model's {layout})")
        self._weights_path = path
        self._weights_header = header

    def _upload_weights(self):
        """Copies the weight file to device memory once and fills the table."""
        if self._table is not None:
            return
        rt = self._runtime
        header = self._weights_header
        align = 256
        sizes = [e - b for b, e in header["offsets"]]
        starts = np.cumsum([0] + [(n + align - 1) // align * align for n in sizes])
        base = rt.qxGpuMalloc(max(int(starts[-1]), 1))
        self._check("allocating device memory for the weights")
        self._device_weights = base
        with open(self._weights_path, "rb") as f, \
                mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
            data = np.frombuffer(m, dtype=np.uint8)
            for (b, e), start in zip(header["offsets"], starts):
                if e > b and rt.qxGpuCopyToDevice(base + int(start), data[b:e].ctypes.data,
                                                  e - b) != 0:
                    self._check("copying the weights to the device")
            del data
        table = [int(header["layout"], 16), len(sizes)]
        for n, start in zip(sizes, starts):
            table += [base + int(start), n]
        self._table = np.array([t - (1 << 64) if t >= 1 << 63 else t for t in table],
                               dtype=np.int64)

    def __del__(self):
        if getattr(self, "_device_weights", None):
            try:
                self._runtime.qxGpuFree(self._device_weights)
            except Exception:  # interpreter shutdown
                pass

    def _check(self, what):
        err = self._runtime.qxGpuLastError()
        if err:
            self._runtime.qxGpuClearError()
            raise CudaError(f"{what}: {err.decode()}")

    def _run(self, pointers):
        descs = []
        for t, ptr, shape in zip(self._types, pointers, self.arg_shapes + self.result_shapes):
            d = t()
            _fill(d, ptr, shape)
            descs.append(d)
        if self.weight_layout is not None:
            self._upload_weights()
            d = _descriptor(1)()
            _fill(d, self._table.ctypes.data, self._table.shape)
            descs.append(d)
        self._entry(*[ctypes.byref(d) for d in descs])
        self._check("running the model")

    def __call__(self, *args):
        if len(args) != len(self.arg_shapes):
            raise CudaError(f"the model takes {len(self.arg_shapes)} arguments, got {len(args)}")
        torch_args = [a for a in args if type(a).__module__.startswith("torch")]
        if torch_args and len(torch_args) != len(args):
            raise CudaError("pass either numpy arrays or torch CUDA tensors, not both")
        shapes = [tuple(a.shape) if torch_args else np.shape(a) for a in args]
        # A batch: every argument with one more leading dimension, the same
        # for all; one call per item, results stacked.
        batch = {s[0] for s in shapes if len(s) > 0}
        if (all(len(s) == len(d) + 1 and s[1:] == d for s, d in zip(shapes, self.arg_shapes))
                and len(batch) == 1):
            items = [self(*[a[b] for a in args]) for b in range(batch.pop())]
            if torch_args:
                import torch
                stack = torch.stack
            else:
                stack = np.stack
            if len(self.result_shapes) == 1:
                return stack(items)
            return tuple(stack([it[r] for it in items]) for r in range(len(self.result_shapes)))
        for i, (s, shape) in enumerate(zip(shapes, self.arg_shapes)):
            if tuple(s) != shape:
                raise CudaError(f"argument {i}: expected shape {list(shape)} (or a batch of "
                                f"them), got {list(s)}")
        if not self._runtime.qxGpuAvailable():
            self._check("no usable CUDA device")
            raise CudaError("no usable CUDA device")
        if torch_args:
            return self._call_torch(args)
        return self._call_numpy(args)

    def _call_torch(self, args):
        import torch
        names = {"f32": torch.float32, "f64": torch.float64, "f16": torch.float16,
                 "i8": torch.int8, "ui8": torch.uint8, "i32": torch.int32,
                 "i64": torch.int64}
        for i, (a, dt) in enumerate(zip(args, self.arg_dtypes)):
            if not a.is_cuda or a.dtype != names[dt] or not a.is_contiguous():
                raise CudaError(f"argument {i}: expected a contiguous {dt} CUDA tensor")
        outs = [torch.empty(s, dtype=names[dt], device=args[0].device)
                for s, dt in zip(self.result_shapes, self.result_dtypes)]
        # As a torch op: the work is queued on PyTorch's current stream
        # (after what produced the inputs) and the call returns at once;
        # errors found on the host raise here, those of the queued kernels
        # at the next synchronization.
        # QX_GPU_SYNC=1: each call on a stream of its own, waited for (errors
        # of the kernels then raise at the call that caused them).
        if os.environ.get("QX_GPU_SYNC") == "1":
            torch.cuda.synchronize()
            self._run([a.data_ptr() for a in args] + [o.data_ptr() for o in outs])
            return outs[0] if len(outs) == 1 else tuple(outs)
        stream = torch.cuda.current_stream(args[0].device).cuda_stream
        self._runtime.qxGpuSetStream(ctypes.c_void_p(stream))
        try:
            self._run([a.data_ptr() for a in args] + [o.data_ptr() for o in outs])
        finally:
            self._runtime.qxGpuSetSynchronous()
        return outs[0] if len(outs) == 1 else tuple(outs)

    def _call_numpy(self, args):
        rt = self._runtime
        buffers = []
        try:
            host = []
            for i, (a, dt) in enumerate(zip(args, self.arg_dtypes)):
                a = np.ascontiguousarray(a, dtype=_DTYPES[dt])
                host.append(a)
                p = rt.qxGpuMalloc(max(a.nbytes, 1))
                self._check(f"allocating argument {i}")
                buffers.append(p)
                if rt.qxGpuCopyToDevice(p, a.ctypes.data, a.nbytes) != 0:
                    self._check(f"copying argument {i}")
            results = [np.empty(s, dtype=_DTYPES[dt])
                       for s, dt in zip(self.result_shapes, self.result_dtypes)]
            for i, r in enumerate(results):
                p = rt.qxGpuMalloc(max(r.nbytes, 1))
                self._check(f"allocating result {i}")
                buffers.append(p)
            self._run(buffers)
            for i, r in enumerate(results):
                if rt.qxGpuCopyToHost(r.ctypes.data, buffers[len(args) + i], r.nbytes) != 0:
                    self._check(f"copying result {i}")
            return results[0] if len(results) == 1 else tuple(results)
        finally:
            for p in buffers:
                if p:
                    rt.qxGpuFree(p)


class CapturedCall:
    """Calls of GPU models recorded as one CUDA graph (see ``capture``)."""

    def __init__(self, graph, result, held):
        self.graph = graph
        #: What the captured function returned: the graph's output tensors,
        #: rewritten by every replay.
        self.result = result
        self._held = held

    def replay(self):
        """Queues the recorded calls on PyTorch's current stream; returns
        ``result``."""
        if self.graph is None:
            raise CudaError("this captured call was closed")
        self.graph.replay()
        return self.result

    def close(self):
        """Waits for the replays and gives the graph's scratch memory back."""
        if self.graph is None:
            return
        import torch
        torch.cuda.synchronize()
        for rt, held in self._held:
            rt.qxGpuReleaseScratch(held)
        self.graph = None

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown: the process frees it all
            pass


def capture(fn, warmup: int = 2) -> CapturedCall:
    """Records the GPU model calls that ``fn()`` makes on torch CUDA tensors
    as one CUDA graph (``torch.cuda.CUDAGraph``), after ``warmup`` ordinary
    runs of ``fn`` (they load the kernels, copy the weights and size the
    scratch memory, none of which a capture may do). Replays reuse the
    tensors ``fn`` read and wrote at capture."""
    if warmup < 1:
        raise CudaError("capture needs at least one warm-up run")
    import torch
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(warmup):
            fn()
    torch.cuda.current_stream().wait_stream(side)
    runtimes = list(_RUNTIMES.values())
    for rt in runtimes:  # the warm-up's scratch, free for the capture stream
        if rt.qxGpuSynchronize() != 0:
            raise CudaError(f"before the capture: {rt.qxGpuLastError().decode()}")
    graph = torch.cuda.CUDAGraph()
    holding = []
    for rt in runtimes:
        if rt.qxGpuHoldScratch() != 0:
            for other in holding:  # undo: no capture happens
                other.qxGpuReleaseScratch(other.qxGpuEndHoldScratch())
            raise CudaError("another capture is in progress")
        holding.append(rt)
    held, captured = [], False
    try:
        # Relaxed: a scratch block the warm-up did not leave in the pool is
        # allocated (cuMemAlloc) during the capture; it is held with the
        # graph like the others.
        with torch.cuda.graph(graph, capture_error_mode="relaxed"):
            result = fn()
        captured = True
    finally:
        for rt in runtimes:
            held.append((rt, rt.qxGpuEndHoldScratch()))
            if not captured:
                rt.qxGpuReleaseScratch(held[-1][1])
    for rt in runtimes:
        err = rt.qxGpuLastError()
        if err:
            rt.qxGpuClearError()
            raise CudaError(f"capturing the calls: {err.decode()}")
    return CapturedCall(graph, result, held)


def load(path: str, weights: str = None) -> CudaModel:
    """Loads the GPU artifact at ``path`` (its folder, or ``<folder>/<name>``);
    ``weights``: another weight file of the same layout."""
    return CudaModel(path, weights)
