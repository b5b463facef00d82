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

numpy arguments are copied to the device and results back; torch CUDA
tensors (contiguous float32 of the declared shapes) are used in place and
results are new torch CUDA tensors. Arguments with one more leading
dimension (the same for all) are a batch: one call per item, results
stacked. Errors (no GPU, no driver, a CUDA
failure, wrong shapes) raise ``CudaError`` with the runtime's message.
"""
import ctypes
import json
import os

import numpy as np


class CudaError(RuntimeError):
    """A model could not be loaded or run on the GPU."""


_DTYPES = {"f32": np.float32, "f64": np.float64, "i8": np.int8, "ui8": np.uint8,
           "i32": np.int32, "i64": np.int64}


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

    def __init__(self, path: str):
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
            self._runtime = ctypes.CDLL(os.path.join(folder, "libqx_cuda_runtime.so"))
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
        self._entry = getattr(self._lib, f"_mlir_ciface_{name}")
        self._entry.restype = None
        self._types = [_descriptor(len(s)) for s in self.arg_shapes + self.result_shapes]

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
        names = {"f32": torch.float32, "f64": torch.float64, "i8": torch.int8,
                 "ui8": torch.uint8, "i32": torch.int32, "i64": torch.int64}
        for i, (a, dt) in enumerate(zip(args, self.arg_dtypes)):
            if not a.is_cuda or a.dtype != names[dt] or not a.is_contiguous():
                raise CudaError(f"argument {i}: expected a contiguous {dt} CUDA tensor")
        outs = [torch.empty(s, dtype=names[dt], device=args[0].device)
                for s, dt in zip(self.result_shapes, self.result_dtypes)]
        torch.cuda.synchronize()  # the generated code runs on its own stream
        self._run([a.data_ptr() for a in args] + [o.data_ptr() for o in outs])
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


def load(path: str) -> CudaModel:
    """Loads the GPU artifact at ``path`` (its folder, or ``<folder>/<name>``)."""
    return CudaModel(path)
