"""quant_xform: int8 (W8A8) transformer inference through equivalence transforms.

The compiler core (``quant_xform._core``, a nanobind module) parses,
transforms, evaluates and JIT-compiles MLIR; this package adds transformer
model builders (``models``), recipes, calibration and compiled artifacts
(``compiler``). See docs/python.md.
"""

from ._core import CompiledCPU, Module, QuantXformError, load_safetensors
from .models import (BertConfig, DecoderConfig, build_ir, config_from_hf, mean_pool,
                     reference_forward)
from .compiler import (RECIPES, Compiled, Model, Recipe, compile, compile_cuda,
                       compile_object, load, plot_report, quantize, report, report_rows)
from . import llm_ir
from .llm import LLM, CompiledLLM, KVCache

__all__ = [
    "BertConfig", "Compiled", "CompiledCPU", "CompiledLLM", "DecoderConfig", "KVCache", "LLM",
    "Model", "Module",
    "QuantXformError", "RECIPES", "Recipe", "build_ir", "compile", "compile_cuda", "config_from_hf",
    "compile_object", "load", "load_safetensors", "mean_pool", "plot_report", "quantize",
    "reference_forward", "report", "report_rows",
]
